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


def derivation(name: str, method: str = "index", detail: str = "notes", **notation: Any) -> "DerivationResult":
    """The catalogued derivation ``name`` (``derive list`` names them), every step verified, in your notation.

    ``method`` picks the route where a derivation has several (``index`` or ``differentials``); ``detail`` is
    ``notes`` (the steps a course shows), ``full`` (every rule application) or ``brief`` (the key lines).
    ``notation`` renames what is printed, values being LaTeX: ``logits="\\theta"``, ``probs="p"``, ``labels``,
    ``classes``, ``loss``, ``batch``, ``target`` (``one-hot``, ``class c``, ``distribution``, ``any``),
    ``linear`` (``"o = Wx + b"``), ``shapes``. The result has ``.steps`` (each with ``before_latex`` and
    ``after_latex``), ``.latex()``, ``.markdown()``, ``.text()``, ``.to_json()`` and displays itself in Jupyter.
    Raises UsageError for an unknown name, method, detail or notation value.
    """
    from .api import derivation as build

    return build(name, method, detail, **notation)


def check(path_or_text: Any, **notation: Any) -> Any:
    """Check a hand-written derivation, given as a path (``"-"`` reads standard input) or as the text itself.

    Each equation chain ``A = B = C`` in display math is split into steps and each step is judged valid, invalid
    (with a counterexample and the likely mistake) or unknown. ``notation`` overrides the file's own (YAML front
    matter ``derive:`` or ``% derive: KEY = VALUE`` lines). The report has ``.steps``, ``.summary``,
    ``.exit_code``, ``.text()`` and ``.to_json()``, and displays as a table in Jupyter. Raises InputError for a
    file that cannot be read or holds no equation to check.
    """
    from .checking import check as run

    return run(path_or_text, **notation)
