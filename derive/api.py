"""The Python API (contract §6): ``derivation(NAME, **notation)``, renderable in Jupyter."""

from __future__ import annotations

from typing import Any

from .catalogue import entry
from .record import Derivation, Step
from .errors import UsageError
from .notation import Notation, notation_from


class DerivationResult:
    """A verified derivation in a notation; renders as LaTeX, Markdown, text, JSON or a notebook."""

    def __init__(self, derivation: Derivation, notation: Notation) -> None:
        self.derivation, self.notation = derivation, notation

    @property
    def steps(self) -> list[Step]:
        return self.derivation.steps

    @property
    def name(self) -> str:
        return self.derivation.name

    def render(self, fmt: str = "text", **options: Any) -> str:
        from .render import render

        return render(self.derivation, self.notation, fmt, **options)

    def latex(self, standalone: bool = False) -> str:
        return self.render("latex", standalone=standalone)

    def markdown(self, flavor: str = "dollar") -> str:
        return self.render("markdown", flavor=flavor)

    def text(self) -> str:
        return self.render("text")

    def to_json(self) -> str:
        return self.render("json")

    def _repr_latex_(self) -> str:
        """One display of every chain: Jupyter renders math, not LaTeX sectioning."""
        from .render import View

        return "$$" + View(self.derivation, self.notation).display_math() + "$$"

    def _repr_markdown_(self) -> str:
        return self.markdown()

    def __str__(self) -> str:
        return self.text()


def derivation(name: str, method: str = "index", detail: str = "notes", **notation: str) -> DerivationResult:
    """Build (or reuse) the catalogued derivation ``name`` in the given notation."""
    info = entry(name)
    if method not in info.methods:
        raise UsageError(f"derivation {name!r} has no method {method!r} (known: {', '.join(info.methods)})")
    chosen = notation_from(notation)
    from .plans import build

    return DerivationResult(build(name, chosen.target, method, detail), chosen)
