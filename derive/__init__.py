"""derive: step-by-step gradients of softmax and cross-entropy, every step checked.

Importing the package is cheap (no SymPy): ``derive --help`` must stay fast. SymPy is loaded when a
derivation is built.

    derive.derivation("softmax-cross-entropy", logits=r"\\theta")   # -> .steps, .latex(), .markdown(), .to_json()
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .errors import DeriveError, EngineError, InputError, UsageError

if TYPE_CHECKING:
    from .api import DerivationResult

__version__ = "0.1.0"
__all__ = ["derivation", "check", "DeriveError", "UsageError", "InputError", "EngineError", "__version__"]


def derivation(name: str, method: str = "index", **notation: Any) -> "DerivationResult":
    """The catalogued derivation ``name``, verified, in the given notation (keys of contract §3)."""
    from .api import derivation as build

    return build(name, method, **notation)


def check(path_or_text: Any, **notation: Any) -> Any:
    """Check a hand-written derivation (a path, or the text itself); returns the report (contract §5)."""
    from .checking import check as run

    return run(path_or_text, **notation)
