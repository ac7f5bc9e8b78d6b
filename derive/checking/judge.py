"""Judge every step of a hand-written derivation with the engine's verifier.

For a step that fails: a counterexample, the condition under which it would hold (a case i = j / i ≠ j,
or Σ y = 1), and the classic mistake it matches at every sample point (``MISTAKES``, data).
"""

from __future__ import annotations

import dataclasses
import re
import signal
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

import sympy as sp
from sympy.matrices.exceptions import ShapeError

from .. import matrices as mtx, model as mdl
from ..errors import InputError, UsageError
from ..model import Model
from ..notation import Notation
from ..record import Case
from ..numeric import free_indices
from ..verify import Outcome, check_equal
from .document import Chain, Document, load
from .interpret import Interpreter, Vocabulary, key_of
from .report import Definition, Report, StepVerdict
from .syntax import Group, Node, Product, Rel, Scripted, Unsupported, Word, parse

STEP_SECONDS = 5


class StepTimeout(Exception):
    pass


@contextmanager
def time_limit(seconds: int) -> Iterator[None]:
    """Bound a step check in time (main thread only; elsewhere the caps on input size bound it)."""
    if threading.current_thread() is not threading.main_thread() or not hasattr(signal, "SIGALRM"):
        yield
        return

    def expire(*_: object) -> None:
        raise StepTimeout

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@dataclass(frozen=True)
class Mistake:
    """A classic mistake: how the student's right-hand side was obtained from the left-hand side."""

    key: str
    message: str
    applies: Callable[[sp.Expr], bool]
    student: Callable[["Checker", sp.Expr, sp.Expr], tuple[sp.Expr, sp.Expr, Model]]


def _by_logits(expr: sp.Expr) -> bool:
    return any(isinstance(d.variables[0], sp.Indexed) and d.variables[0].base == mdl.z
               for d in expr.atoms(sp.Derivative))


def _student_model(checker: "Checker", lhs: sp.Expr, rhs: sp.Expr, mistake: str):  # type: ignore[no-untyped-def]
    model = dataclasses.replace(checker.model, mistake=mistake)
    return lhs, rhs, model


def _sigmoid(checker: "Checker", lhs: sp.Expr, rhs: sp.Expr):  # type: ignore[no-untyped-def]
    """As if each probability depended on its own logit only: ∂ŷ_j/∂z_k read as ∂ŷ_j/∂z_j."""
    own = lhs.replace(lambda e: isinstance(e, sp.Derivative) and isinstance(e.expr, sp.Indexed)
                      and e.expr.base == mdl.yhat and e.variables[0].base == mdl.z,
                      lambda e: mdl.D(e.expr, mdl.z[e.expr.indices]))
    return own, rhs, dataclasses.replace(checker.model, mistake="sigmoid")


def _probability_for_logit(checker: "Checker", lhs: sp.Expr, rhs: sp.Expr):  # type: ignore[no-untyped-def]
    swapped = lhs.replace(lambda e: isinstance(e, sp.Derivative) and e.variables[0].base == mdl.z,
                          lambda e: mdl.D(e.expr, mdl.yhat[e.variables[0].indices]))
    return swapped, rhs, checker.model


MISTAKES = (
    Mistake("sigmoid", "softmax treated like the sigmoid: the j != k terms are missing",
            _by_logits, _sigmoid),
    Mistake("denominator", "the denominator's dependence on the logits was forgotten",
            _by_logits, lambda c, lhs, rhs: _student_model(c, lhs, rhs, "denominator")),
    Mistake("probability-for-logit", "a derivative by the probabilities passed off as one by the logits",
            _by_logits, _probability_for_logit),
    Mistake("flipped-sign", "the sign is flipped", lambda lhs: True, lambda c, lhs, rhs: (lhs, -rhs, c.model)),
)


class Checker:
    """Checks the chains of one document under one notation."""

    def __init__(self, document: Document, notation: Notation) -> None:
        self.document, self.notation = document, notation
        self.vocabulary = Vocabulary.from_notation(notation)
        self.interpreter = Interpreter(self.vocabulary)
        self.model = Model(target=notation.target, probs_defined=True)
        kind = notation.target.assumption
        self.assumes: tuple[str, ...] = (kind,) if kind else ()
        self.definitions: list[Definition] = []
        self.steps: list[StepVerdict] = []
        self.declared_sizes = declared_sizes(notation.shapes, document.path) if notation.shapes else {}
        if notation.linear:
            self.model = dataclasses.replace(self.model, linear=True)

    @property
    def index_names(self) -> dict[str, str]:
        names = {mdl.h.name: "hot index"}
        if self.vocabulary.label_name:
            names[mdl.c.name] = self.vocabulary.label_name
        return names

    def run(self) -> Report:
        for chain in self.document.chains:
            self.check_chain(chain)
        return Report(self.document.path, self.steps, self.definitions)

    # -- chains -------------------------------------------------------------------------------------------

    def check_chain(self, chain: Chain) -> None:
        case, case_error = self.case_of(chain)
        first = 0
        if self.maybe_define(chain):
            first = 1
        for number in range(first, len(chain.equals)):
            left, right = chain.sides[number], chain.sides[number + 1]
            line, column = self.document.position(chain.equals[number])
            verdict = StepVerdict(line=line, column=column, lhs=left.text.strip(), rhs=right.text.strip(),
                                  case=chain.case if case else None)
            if case_error:
                verdict.unknown(case_error)
            else:
                self.judge(verdict, left, right, case)
            self.steps.append(verdict)

    def case_of(self, chain: Chain) -> tuple[Case | None, str | None]:
        if not chain.case:
            return None, None
        try:
            node = parse(chain.case)
            rels = list(node.items) if isinstance(node, Group) else [node]
            equal: list[tuple[str, str]] = []
            distinct: list[tuple[str, str]] = []
            for rel in rels:
                if not isinstance(rel, Rel):
                    raise Unsupported("not a relation")
                (a,), (b,) = self.interpreter.indices(rel.lhs), self.interpreter.indices(rel.rhs)
                (equal if rel.op == "=" else distinct).append((str(a), str(b)))
            return Case(tuple(equal), tuple(distinct)), None
        except (Unsupported, ValueError):
            line, _ = self.document.position(chain.case_offset or 0)
            return None, f"cannot read the case {chain.case!r} declared on line {line}"

    def maybe_define(self, chain: Chain) -> bool:
        """``X = expr`` with X fresh, the loss or a probability: a definition, not a step."""
        left, right = chain.sides[0], chain.sides[1]
        try:
            node = parse(left.text)
        except Unsupported:
            return False
        role = self.defined_role(node)
        if role is None:
            return False
        line, column = self.document.position(chain.equals[0])
        self.definitions.append(Definition(line, left.text.strip(), right.text.strip()))
        try:
            value = self.read(right)
        except Unsupported as error:
            verdict = StepVerdict(line=line, column=column, lhs=left.text.strip(), rhs=right.text.strip())
            verdict.unknown(f"cannot read this definition: {error.message}", error.column)
            self.steps.append(verdict)
            return True
        if role == "loss":
            self.model = dataclasses.replace(self.model, defined_loss=value)
        elif role == "fresh":
            param = self.parameter(node)
            self.vocabulary.definitions[key_of(node.base if isinstance(node, Scripted) else node) or ""] = (
                param, value)
        return True

    def defined_role(self, node: Node) -> str | None:
        head = node.items[0] if isinstance(node, Product) and len(node.items) == 2 else node
        base = head.base if isinstance(head, Scripted) else head
        key = key_of(base)
        if key in self.vocabulary.loss:
            return "loss"
        if key in self.vocabulary.prob_symbols | self.vocabulary.prob_functions:
            return "probs"
        if not isinstance(base, Word) or base.command or key in (self.vocabulary.logits, self.vocabulary.labels):
            return None
        if isinstance(node, Product):
            return None
        try:
            self.interpreter.expr(node)
        except Unsupported:
            return "fresh"
        return None

    def parameter(self, node: Node) -> sp.Symbol | None:
        if isinstance(node, Scripted) and node.sub is not None:
            indices = self.interpreter.indices(node.sub)
            return indices[0] if len(indices) == 1 and isinstance(indices[0], sp.Symbol) else None
        return None

    # -- one step -----------------------------------------------------------------------------------------

    def judge(self, verdict: StepVerdict, left, right, case: Case | None) -> None:  # type: ignore[no-untyped-def]
        """One step's verdict; sizes that do not fit anywhere in it make it invalid, with the shapes."""
        try:
            self.judge_step(verdict, left, right, case)
        except (mtx.ShapeMismatch, ShapeError) as error:
            verdict.invalid_shape(f"shape mismatch: {self.sizes_in(str(error))}")
        except TypeError as error:  # SymPy refuses to combine what was read (a matrix where a number goes)
            verdict.unknown(f"cannot combine these quantities: {error}")

    def judge_step(self, verdict: StepVerdict, left, right, case: Case | None) -> None:  # type: ignore[no-untyped-def]
        try:
            lhs = self.read(left)
            rhs = self.read(right)
        except Unsupported as error:
            verdict.unknown(error.message, error.column)
            return
        self.sync_batch()
        if lhs.has(mtx.Frobenius) or rhs.has(mtx.Frobenius):  # A : B, written out as Σ_ab A_ab B_ab
            try:
                lhs, rhs = mtx.index_form(lhs), mtx.index_form(rhs)
            except mtx.ShapeMismatch as error:
                verdict.invalid_shape(f"shape mismatch: {self.sizes_in(str(error))}")
                return
        if mtx.is_matrix(lhs) or mtx.is_matrix(rhs):
            compared = self.matrix_sides(verdict, lhs, rhs)
            if compared is None:
                return
            lhs, rhs = compared
        try:
            with time_limit(STEP_SECONDS):
                outcome = self.equal(lhs, rhs, case, self.assumes)
                if outcome.error:
                    verdict.unknown(f"cannot evaluate: {outcome.error}")
                elif outcome.holds:
                    verdict.valid(outcome.points)
                else:
                    verdict.invalid(outcome.counterexample, self.index_names)
                    verdict.holds_when = self.holds_when(lhs, rhs, case)
                    verdict.diagnosis = self.diagnose(lhs, rhs, case, verdict.holds_when)
        except StepTimeout:
            verdict.unknown(f"checking took longer than {STEP_SECONDS} s")
        except (RecursionError, OverflowError, MemoryError) as error:
            verdict.unknown(f"too large to check ({type(error).__name__})")

    def matrix_sides(self, verdict: StepVerdict, lhs: sp.Expr, rhs: sp.Expr) -> tuple[sp.Expr, sp.Expr] | None:
        """Shapes first (a mismatch is invalid, with both shapes and the one expected), then entry by entry."""
        derivative = next((d for d in (lhs, rhs) if _matrix_derivative(d)), None)
        want = ""
        if derivative is not None:
            names = {canonical: user for user, canonical in self.vocabulary.vectors().items()}
            var, inner = derivative.variables[0], derivative.expr
            if isinstance(var, mtx.RowOf):  # w_k, row k of W
                variable = f"{self.vocabulary.weights}_{var.args[1]}"
            else:
                variable = names.get(var.name, var.name)
            what = f"the shape of {variable}" if not isinstance(inner, sp.MatrixExpr) else \
                f"the Jacobian of {names.get(str(inner), inner)} by {variable}"
            want = f"; {self.shape_text(mtx.shape_of(derivative))} expected, {what}"
        try:
            left, right = mtx.shape_of(lhs), mtx.shape_of(rhs)
        except mtx.ShapeMismatch as error:
            verdict.invalid_shape(f"shape mismatch: {self.sizes_in(str(error))}{want}")
            return None
        if left != right:
            verdict.invalid_shape(f"shape mismatch: the left side is {self.shape_text(left)}, the right side "
                                  f"{self.shape_text(right)}{want}")
            return None
        row = _entry_index(left[0])
        col = (mdl.j if row == mdl.k else mdl.k) if left[1] == mdl.n else _entry_index(left[1])
        return mtx.index_form(lhs, row, col), mtx.index_form(rhs, row, col)

    def shape_text(self, shape: tuple[sp.Expr, sp.Expr]) -> str:
        return self.sizes_in(f"{shape[0]}×{shape[1]}")

    def sizes_in(self, text: str) -> str:
        """Shapes in the declared sizes (4×3) when the notation gives them, else symbolic (n×m)."""
        for symbol, value in self.declared_sizes.items():
            text = re.sub(rf"(?<![A-Za-z]){symbol}(?![A-Za-z])", str(value), text)
        return text

    def read(self, side) -> sp.Expr:  # type: ignore[no-untyped-def]
        try:
            return self.interpreter.expr(parse(side.text))
        except Unsupported as error:
            line, column = self.document.position(side.offset + max((error.column or 1) - 1, 0))
            raise Unsupported(error.message, column) from None

    def sync_batch(self) -> None:
        examples = tuple(sorted(self.interpreter.example_indices, key=str))
        if examples and not self.model.batch:
            self.model = dataclasses.replace(self.model, batch=True, example_indices=examples)
        if self.interpreter.uses_linear and not self.model.linear:
            self.model = dataclasses.replace(self.model, linear=True)

    def equal(self, lhs: sp.Expr, rhs: sp.Expr, case: Case | None, assumes: tuple[str, ...],
              model: Model | None = None) -> Outcome:
        model = model or self.model
        return check_equal(model, model.to_base(lhs), model.to_base(rhs), case, assumes)

    def holds_when(self, lhs: sp.Expr, rhs: sp.Expr, case: Case | None) -> str | None:
        if "one-hot" not in self.assumes and "sum-to-one" not in self.assumes:
            if self.equal(lhs, rhs, case, ("sum-to-one",)).holds:
                return "sum of y = 1"
        names = sorted({s.name for s in free_indices(self.model.to_base(lhs)) | free_indices(self.model.to_base(rhs))
                        if s.is_integer and s not in mdl.SIZE_SYMBOLS})
        if "one-hot" in self.assumes and self.model.label_index is None:
            names.append(mdl.h.name)
        base = case or Case()
        for position, a in enumerate(names):
            for b in names[position + 1:]:
                for equal in (True, False):
                    pair = ((a, b),)
                    trial = Case(base.equal + pair, base.distinct) if equal else Case(base.equal, base.distinct + pair)
                    if self.equal(lhs, rhs, trial, self.assumes).holds:
                        relation = "=" if equal else "!="
                        a_name, b_name = (self.index_names.get(x, x) for x in (a, b))
                        return f"{a_name} {relation} {b_name}"
        return None

    def diagnose(self, lhs: sp.Expr, rhs: sp.Expr, case: Case | None, holds_when: str | None) -> str | None:
        if holds_when == "sum of y = 1":
            return "sum of y = 1 used, but the declared target does not guarantee it"
        for mistake in MISTAKES:
            if not mistake.applies(lhs):
                continue
            left, right, model = mistake.student(self, lhs, rhs)
            if self.equal(left, right, case, self.assumes, model).holds:
                return mistake.message
        return None




def _matrix_derivative(expr: sp.Expr) -> bool:
    return isinstance(expr, sp.Derivative) and isinstance(expr.variables[0], sp.MatrixExpr)


def _entry_index(size: sp.Expr) -> sp.Expr:
    """The index that runs along a dimension: k over classes, l over inputs, nothing over 1."""
    return {mdl.n: mdl.k, mdl.M: mdl.l}.get(size, sp.Integer(1))


_SHAPE = re.compile(r"^\s*(?P<name>[A-Za-z]+)\s*:\s*(?P<rows>\d{1,4})\s*(?:[x×]\s*(?P<cols>\d{1,4}))?\s*$")


def declared_sizes(shapes: str, path: str) -> dict[str, int]:
    """``W: 4x3, x: 3, b: 4`` -> {n: 4, m: 3}; sizes under which Wx or Wx + b is undefined are an input error."""
    found: dict[str, tuple[int, int]] = {}
    for item in shapes.split(","):
        match = _SHAPE.match(item)
        if not match:
            raise InputError(f"notation shapes: cannot read {item.strip()!r}; expected e.g. 'W: 4x3, x: 3, b: 4'",
                             path)
        found[match["name"]] = (int(match["rows"]), int(match["cols"] or 1))
    sizes: dict[str, int] = {}
    if "W" in found:
        rows, cols = found["W"]
        sizes.update(n=rows, m=cols)
        if "x" in found and found["x"][0] != cols:
            raise InputError(f"shapes: W is {rows}×{cols} and x has {found['x'][0]} entries, so Wx is undefined",
                             path)
        if "b" in found and found["b"][0] != rows:
            raise InputError(f"shapes: W is {rows}×{cols} and b has {found['b'][0]} entries, so Wx + b is "
                             "undefined", path)
    return sizes


def check(path_or_text: str | Path, name: str | None = None, **notation: str) -> Report:
    """Check a derivation file (or its text); notation given here overrides the file's own."""
    document = load(path_or_text, name)
    if not document.chains:
        what = "no display math" if document.math_blocks == 0 else "no equation chain (A = B) in the display math"
        raise InputError(f"{what} found to check", document.path)
    try:
        chosen = Notation().with_values(document.settings)
    except UsageError as error:
        raise InputError(f"notation in the file: {error}", document.path, 1) from None
    chosen = chosen.with_values(notation)
    report = Checker(document, chosen).run()
    if not report.steps:
        raise InputError("only definitions found: no step A = B to check", document.path)
    return report
