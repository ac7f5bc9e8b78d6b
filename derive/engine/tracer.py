"""The tracer: applies rules and moves to the current expression and records each as a Step.

A catalogue plan drives a tracer; the tracer never writes an expression itself. Every recorded step is
verified by :func:`verify_steps` before a derivation is returned, and a step that fails stops everything.
"""

from __future__ import annotations

import sympy as sp

from ..record import Case, Part, Step
from ..errors import EngineError
from .. import matrices as mtx
from ..matrices import index_form, shape_of
from ..model import Model
from ..verify import check_equal, symbolically_equal
from .algebra import MOVES
from .rules import Rule, RuleDoesNotApply, rewrite_everywhere


class Tracer:
    """Holds the expression being transformed within one part and case."""

    def __init__(self, model: Model) -> None:
        self.base_model = self.model = model
        self.steps: list[Step] = []
        self.part: Part | None = None
        self.parts: list[Part] = []
        self.current: sp.Expr = sp.S.Zero
        self.case: Case | None = None
        self.entry: tuple[sp.Expr, sp.Expr] | None = None
        self.final: Step | None = None  # the step whose result is the derivation's (default: the last)

    def begin(self, part: Part, expr: sp.Expr | None = None, entry: tuple[sp.Expr, sp.Expr] | None = None) -> None:
        """Start a part at its goal (the left-hand side being derived). A part about a whole vector or matrix
        names the ``entry`` (row, col) by which its steps are verified."""
        self.part, self.case, self.entry = part, None, entry
        self.model = part.model or self.base_model
        self.parts.append(part)
        self.current = part.goal if expr is None else expr

    def _record(self, rule: str, after: sp.Expr, detail: str | None = None,
                facts: dict[str, sp.Expr] | None = None, assumes: tuple[str, ...] = ()) -> sp.Expr:
        assert self.part is not None, "begin() a part first"
        facts = dict(facts or {})
        if self.entry is not None:
            facts.setdefault("row", self.entry[0])
            facts.setdefault("col", self.entry[1])
        self.steps.append(Step(rule=rule, before=self.current, after=after, part=self.part.key,
                               case=self.case, assumes=assumes, detail=detail, facts=facts))
        self.current = after
        return after

    def apply(self, rule: Rule, detail: str | None = None, assumes: tuple[str, ...] = ()) -> sp.Expr:
        """Rewrite every node of the current expression that ``rule`` matches: one step."""
        rule.facts.clear()
        after, count = rewrite_everywhere(self.current, rule)
        if not count:
            raise RuleDoesNotApply(f"{rule.id} does not apply to {self.current}")
        return self._record(rule.id, after, detail, rule.facts, assumes)

    def move(self, detail: str, rule: str = "algebra") -> sp.Expr:
        """An algebraic regrouping named by ``detail`` (see ``algebra.MOVES``)."""
        after = MOVES[detail](self.current)
        if after == self.current:
            raise RuleDoesNotApply(f"algebra move {detail} changes nothing in {self.current}")
        return self._record(rule, after, detail)

    def rewrite(self, rule: str, after: sp.Expr, detail: str | None = None,
                assumes: tuple[str, ...] = (), facts: dict[str, sp.Expr] | None = None) -> sp.Expr:
        """A step whose result a rule module computed outside ``rewrite_everywhere`` (substitution, merge)."""
        return self._record(rule, after, detail, facts, assumes)

    def split_case(self, case: Case, substitution: dict[sp.Symbol, sp.Expr], from_expr: sp.Expr) -> sp.Expr:
        """case-split: specialise ``from_expr`` to ``case`` (δ evaluated, equal indices identified)."""
        self.case = None
        self.current = from_expr
        after = from_expr.xreplace(substitution)
        for delta in after.atoms(sp.KroneckerDelta):
            a, b = delta.args
            if (a.name, b.name) in case.distinct or (b.name, a.name) in case.distinct:
                after = after.xreplace({delta: sp.S.Zero})
        self.case = case
        assert self.part is not None, "begin() a part first"
        return self._record("case-split", powers_of_exponentials(after), "split",
                            facts={"lhs": self.part.goal.xreplace(substitution)})

    def matrix_form(self, lhs: sp.Derivative, entry: tuple[sp.Expr, sp.Expr]) -> sp.Expr:
        """matrix-form: the index result written as one matrix, e.g. (p − y) xᵀ or diag(p) − p pᵀ, or, when the
        row is a fixed entry, one row vector; its shape must be that of the derivative (the variable's own
        shape for a scalar loss)."""
        row_only = isinstance(lhs.variables[0], mtx.RowOf)
        matrix = mtx.row_form(self.current, entry[1]) if row_only else mtx.matrix_form(self.current, *entry)
        rows, cols = shape_of(matrix)
        if (rows, cols) != shape_of(lhs):
            raise EngineError(f"internal error: {matrix} has shape {rows}×{cols}, {lhs} has {shape_of(lhs)}")
        self.case = None
        facts = {"lhs": lhs, "rows": rows, "cols": cols, "row": sp.Integer(1) if row_only else entry[0],
                 "col": entry[1], "outer": sp.Integer(int(matrix.has(sp.Transpose))), "variable": lhs.variables[0],
                 "lhs_row": entry[0]}
        detail = "row" if row_only else "batch" if matrix.has(mtx.BatchSum) else \
            "diagonal" if matrix.has(sp.DiagMatrix) else None
        return self._record("matrix-form", matrix, detail=detail, facts=facts)


def powers_of_exponentials(expr: sp.Expr) -> sp.Expr:
    """e^{z_j} e^{z_j} as the product it is, (e^{z_j})², not SymPy's e^{2 z_j}: the reader sees what the
    quotient rule produced."""
    def power(node: sp.exp) -> sp.Expr:
        count, inner = node.args[0].as_coeff_Mul()
        return sp.Pow(sp.exp(inner), count, evaluate=False)

    def repeated(node: sp.Basic) -> bool:
        return isinstance(node, sp.exp) and node.args[0].as_coeff_Mul()[0].is_Integer and \
            node.args[0].as_coeff_Mul()[0] > 1
    with sp.evaluate(False):
        return expr.replace(repeated, power)


SYMBOLIC_RULES = ("algebra", "fold-definition")  # regroupings: exact checks are cheap and meaningful there


def base_of(model: Model, expr: sp.Expr, step: Step | None = None) -> sp.Expr:
    """An expression in base quantities; a matrix by the entry its step names (facts ``row``, ``col``)."""
    facts = step.facts if step is not None else {}
    return model.to_base(index_form(expr, facts.get("row"), facts.get("col")))


def verify_steps(model: Model, steps: list[Step]) -> None:
    """Check every step numerically; a step that does not hold is an engine bug, never printed as valid."""
    for number, step in enumerate(steps, 1):
        before, after = base_of(model, step.before, step), base_of(model, step.after, step)
        for side in (*step.shown, step.after):  # what a reader sees of a combined step holds as well as its ends
            shown = after if side is step.after else base_of(model, side, step)
            outcome = check_equal(model, before, shown, step.case, step.assumes)
            if not outcome.holds:
                why = outcome.error or f"counterexample {outcome.counterexample}"
                raise EngineError(f"internal error: step {number} ({step.rule}) does not verify: {why}")
        step.verified = True
        if all(rule in SYMBOLIC_RULES for rule in step.rules) and step.case is None and not step.assumes:
            step.symbolic = symbolically_equal(before, after)
