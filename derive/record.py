"""The record of a derivation: ordered steps, each a rule applied to an expression under a case.

These are plain data: the engine (``derive.engine``) makes them, the verifier checks them, the renderers
(``derive.render``) print them. Expressions are kept folded (ŷ, L as symbols); see ``derive.model``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import sympy as sp

    from .model import Model
    from .notation import Notation


@dataclass(frozen=True)
class Case:
    """Index equalities and inequalities under which a step holds, e.g. j = k, or j ≠ k."""

    equal: tuple[tuple[str, str], ...] = ()
    distinct: tuple[tuple[str, str], ...] = ()

    @property
    def latex(self) -> str:
        parts = [f"{a} = {b}" for a, b in self.equal] + [f"{a} \\neq {b}" for a, b in self.distinct]
        return ", ".join(parts)

    @property
    def text(self) -> str:
        return self.latex.replace("\\neq", "≠")

    def as_dict(self) -> dict[str, Any]:
        return {"latex": self.latex, "equal": [list(p) for p in self.equal],
                "distinct": [list(p) for p in self.distinct]}

    def __bool__(self) -> bool:
        return bool(self.equal or self.distinct)


@dataclass
class Step:
    """One rule application: ``before`` equals ``after`` under ``case`` and ``assumes``.

    ``detail`` picks the variant of a rule's prose (e.g. which algebraic move); ``facts`` are small named
    expressions the prose refers to (u and v of the quotient rule). ``verified`` (numeric) and ``symbolic``
    (exact, where cheap) are set by the verifier only; the prose itself is rendered from the templates.
    A grouped step (``--detail notes`` or ``brief``) keeps the rule applications it combines in ``merged``;
    its own ``before`` and ``after`` are exact and verified as one step. ``shown`` are results of rules folded
    into it that a reader still sees, unnumbered, before its line (the definition written out, the case
    written in): each is an intermediate of ``merged`` and is verified against ``before`` too.
    """

    rule: str
    before: "sp.Expr"
    after: "sp.Expr"
    part: str
    case: Case | None = None
    assumes: tuple[str, ...] = ()
    detail: str | None = None
    facts: dict[str, "sp.Expr"] = field(default_factory=dict)
    verified: bool = False
    symbolic: bool | None = None
    merged: tuple["Step", ...] = ()
    shown: tuple["sp.Expr", ...] = ()

    @property
    def rules(self) -> tuple[str, ...]:
        """Every rule this step applies, in order (one for a single rule application)."""
        return tuple(s.rule for s in self.merged) if self.merged else (self.rule,)

    @property
    def folded(self) -> tuple["Step", ...]:
        """The rule applications combined into this one besides its main rule, in order."""
        main = next((s for s in self.merged if s.rule == self.rule and s.detail == self.detail), None)
        return tuple(s for s in self.merged if s is not main)


@dataclass(frozen=True)
class Part:
    """A named part of a derivation (the Jacobian, the loss derivative, the chain rule)."""

    key: str
    title: str
    goal: "sp.Expr"
    model: "Model | None" = None  # when the part differentiates another model (a batch of the same layer)


@dataclass
class Derivation:
    """A complete, verified derivation as built by a catalogue plan."""

    name: str
    title: str
    model: "Model"
    notation: "Notation"
    parts: list[Part]
    steps: list[Step]
    result: "sp.Expr"
    result_lhs: "sp.Expr"
    method: str = "index"
    detail: str = "full"

    def steps_of(self, part: str) -> list[Step]:
        return [s for s in self.steps if s.part == part]

    def index_names(self) -> frozenset[str]:
        """The names of the indices and the input size its steps print (i, j, k; t, s of a batch; l, r and m of a
        layer): a role named so would read as an index (``labels=t`` gives t_{tk})."""
        import sympy as sp

        from .model import INDEX_SYMBOLS, M, c, h

        printed = (*INDEX_SYMBOLS, M)
        found = set()
        for step in self.steps:
            for each in (step, *step.merged):
                for expr in (each.before, each.after):
                    found |= {s.name for s in sp.sympify(expr).atoms(sp.Symbol) if s in printed and s not in (c, h)}
        return frozenset(found)
