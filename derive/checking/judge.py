"""Judge every step of a hand-written derivation with the engine's verifier.

For a step that fails: a counterexample, the condition under which it would hold (a case i = j / i ≠ j,
or Σ y = 1), and the classic mistake it matches at every sample point (``MISTAKES``, data).
"""

from __future__ import annotations

import dataclasses
import re
import signal
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

import sympy as sp
from sympy.matrices.exceptions import ShapeError

from .. import matrices as mtx, model as mdl
from ..errors import InputError, UsageError
from ..model import Model
from ..notation import Notation, Target
from ..record import Case
from ..numeric import free_indices
from ..verify import DEADLINE, Outcome, Quantities, check_equal
from .scope import OWN, is_own, name_of
from .document import _CASE_WORDS, Chain, Document, load
from .interpret import Interpreter, key_of, notation_key
from .meaning import Definer, Head, Usage, _shown, first_equation, provisional_roles, vocabulary_for
from .report import Definition, Report, StepVerdict
from .syntax import Group, Node, Product, Rel, Scripted, Unsupported, Word, parse, walk

STEP_SECONDS = 5
DOCUMENT_SECONDS = 120


class StepTimeout(Exception):
    pass


@contextmanager
def time_limit(seconds: int) -> Iterator[None]:
    """Bound a step check in time: by SIGALRM in the main thread, and everywhere cooperatively, since the
    sampler checks the deadline between sample points (a thread of the Python API has no signals)."""
    token = DEADLINE.set(time.monotonic() + seconds)
    try:
        if threading.current_thread() is not threading.main_thread() or not hasattr(signal, "SIGALRM"):
            yield
            return
        with _alarm(seconds):
            yield
    finally:
        DEADLINE.reset(token)


@contextmanager
def _alarm(seconds: int) -> Iterator[None]:
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
    """Checks the chains of one document: its own definitions give its symbols their meaning (contract §5),
    front matter (``explicit``) overrides them, and derive's defaults fill in the rest."""

    def __init__(self, document: Document, notation: Notation, explicit: set[str] | None = None) -> None:
        self.document, self.notation = document, notation
        explicit = explicit or set()
        usage = Usage.of(document)
        roles = provisional_roles(document, usage)
        target = notation.target
        if "target" not in explicit and roles.target:
            try:
                target = Target.parse(roles.target)
            except UsageError:
                pass
        self.notation = dataclasses.replace(notation, target=target)
        defines = self.defined_keys(usage)
        heads = {head.key for chain in document.chains if (head := first_equation(chain)[0]) is not None}
        self.vocabulary, self.roles = vocabulary_for(self.notation, explicit, roles, usage, defines, heads)
        if target.name:
            self.vocabulary.label_name = notation_key(target.name)
        self.source = "front matter" if explicit else "document" if roles else "default"
        self.interpreter = Interpreter(self.vocabulary)
        self.definer = Definer(self.interpreter)
        self.model = Model(target=target, probs_defined=True, bias=notation.linear_bias)  # f_j = w_j x: no b
        kind = target.assumption
        self.assumes: tuple[str, ...] = (kind,) if kind else ()
        self.definitions: list[Definition] = []
        self.steps: list[StepVerdict] = []
        self.declared_sizes = declared_sizes(notation.shapes, document.path) if notation.shapes else {}
        prose = document.prose()
        self.condition: str | None = None   # a special value stated inline for the next display (q_k = 1/C)
        self.assumed_distinct = tuple(dict.fromkeys(   # "labels $a \neq b$", not "in the case $i \neq j$"
            (m[1], m[2]) for m in _ASSUMED_DISTINCT.finditer(prose)
            if not _CASE_WORDS.search(prose[max(0, m.start() - 30):m.start()])))
        if (notation.linear and not self.vocabulary.own_layer) or \
                (roles.layer and self.vocabulary.weights == roles.layer[0]):
            self.model = dataclasses.replace(self.model, linear=True)

    def defined_keys(self, usage: Usage) -> set[str]:
        """Every name some chain of the document starts by defining (a layer's logits among them)."""
        keys = set()
        for chain in self.document.chains:
            head, rhs = first_equation(chain)
            if head is not None and rhs is not None and head.indices is not None:
                keys.add(head.key)
        return keys

    @property
    def index_names(self) -> dict[str, str]:
        names = {mdl.h.name: "hot index"}
        if self.vocabulary.label_name:
            names[mdl.c.name] = self.vocabulary.label_name
        return names

    def run(self) -> Report:
        started = time.monotonic()
        for chain in _functions_first(self.document.chains):
            if time.monotonic() - started > DOCUMENT_SECONDS:  # the steps judged so far are reported
                self.out_of_time(chain)
                continue
            self.check_chain(chain)
        notation = {"source": self.source, "roles": self.roles, "target": str(self.notation.target)}
        return Report(self.document.path, self.steps, self.definitions, notation)

    # -- chains -------------------------------------------------------------------------------------------

    def check_chain(self, chain: Chain) -> None:
        if chain.inline:  # inline math only ever defines, or states a condition for what follows
            head = first_equation(chain)[0]
            if not self.maybe_define(chain) or head is not None and self.defined_role(head) == "probs":
                self.condition = self.special_value(chain) or self.condition
            return
        condition, self.condition = self.condition, None
        case, case_error = self.case_of(chain)
        if condition and not case_error:
            case_error = f"holds only where the text before it says {condition}, which derive does not impose"
        _drop_elided_sides(chain)
        if len(chain.sides) < 2:
            return
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

    def special_value(self, chain: Chain) -> str | None:
        """"When all logits are equal, $q_k = 1/C$": an inline equation giving a defined quantity a value it
        does not have in general is a condition on the display after it. Returns its text, else None."""
        head = first_equation(chain)[0]
        if head is None or len(chain.sides) != 2 or OWN + head.key not in self.vocabulary.scope \
                and head.key not in self.vocabulary.vectors() and head.key not in self.vocabulary.prob_symbols:
            return None
        trial = StepVerdict(line=0, column=0, lhs=chain.sides[0].text, rhs=chain.sides[1].text)
        try:
            self.judge(trial, chain.sides[0], chain.sides[1], None)
        except Exception:  # noqa: BLE001 - a condition that cannot be read is no condition
            return None
        return f"${chain.sides[0].text.strip()} = {chain.sides[1].text.strip()}$" if trial.verdict == "invalid" \
            else None

    def out_of_time(self, chain: Chain) -> None:
        if chain.inline:
            return
        for number in range(len(chain.equals)):
            line, column = self.document.position(chain.equals[number])
            verdict = StepVerdict(line=line, column=column, lhs=chain.sides[number].text.strip(),
                                  rhs=chain.sides[number + 1].text.strip())
            verdict.unknown(f"not checked: the document took longer than {DOCUMENT_SECONDS} s")
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
        """``X = expr`` that introduces X (or restates the loss or the probabilities): a definition."""
        head, rhs = first_equation(chain)
        if head is None:
            return False
        role = self.defined_role(head)
        if role is None and (rhs is None or not self.definer.defines(head, rhs)):
            return False
        left, right = chain.sides[0], chain.sides[1]
        line, column = self.document.position(chain.equals[0])
        self.definitions.append(Definition(line, left.text.strip(), right.text.strip()))
        try:
            if rhs is None:
                self.read(right)  # raises, with the column
            if role == "loss":
                self.interpreter.conditions.clear()
                self.model = dataclasses.replace(self.model, defined_loss=self.read(right))
                self.vocabulary.loss_defined = True
            elif role is None and rhs is not None:
                self.definer.define(head, rhs, line)
        except Unsupported as error:
            if role != "probs":  # the loss or a quantity of the document's: its steps cannot be decided
                self.vocabulary.unreadable[head.key] = line
            if chain.inline:
                return True
            verdict = StepVerdict(line=line, column=column, lhs=left.text.strip(), rhs=right.text.strip())
            verdict.unknown(f"cannot read this definition: {error.message}", error.column)
            self.steps.append(verdict)
        except Exception as error:  # noqa: BLE001 - SymPy refused the definition: say so, go on
            if role is None:
                self.vocabulary.unreadable[head.key] = line
            if chain.inline:
                return True
            verdict = StepVerdict(line=line, column=column, lhs=left.text.strip(), rhs=right.text.strip())
            verdict.unknown(f"cannot read this definition ({_plain(error)})")
            self.steps.append(verdict)
        return True

    def defined_role(self, head: Head) -> str | None:
        """The loss and the probabilities are defined wherever the document writes them out."""
        if head.key in self.vocabulary.loss and head.indices is None:
            return "loss"
        if head.key in self.vocabulary.prob_symbols | self.vocabulary.prob_functions:
            return "probs"
        return None

    # -- one step -----------------------------------------------------------------------------------------

    def judge(self, verdict: StepVerdict, left, right, case: Case | None) -> None:  # type: ignore[no-untyped-def]
        """One step's verdict; sizes that do not fit anywhere in it make it invalid, with the shapes."""
        self.explain: tuple[sp.Expr, sp.Expr, Case | None] | None = None
        try:
            with time_limit(STEP_SECONDS):  # the step's whole life: reading, interpreting, sampling, comparing
                self.judge_step(verdict, left, right, case)
        except (mtx.ShapeMismatch, ShapeError) as error:
            self.shapes_differ(verdict, f"shape mismatch: {self.sizes_in(str(error))}")
        except StepTimeout:
            verdict.unknown(f"checking took longer than {STEP_SECONDS} s")
        except (RecursionError, MemoryError, OverflowError):
            verdict.unknown("too large to check")
        except Exception as error:  # noqa: BLE001 - SymPy refused what was read (a matrix where a number goes)
            verdict.unknown(f"cannot combine these quantities ({_plain(error)})")
        if verdict.verdict == "invalid" and self.explain is not None:
            self.explain_invalid(verdict, *self.explain)

    def explain_invalid(self, verdict: StepVerdict, lhs: sp.Expr, rhs: sp.Expr, case: Case | None) -> None:
        """Where the step would hold and which classic mistake it matches: a bounded extra, never a verdict."""
        try:
            with time_limit(STEP_SECONDS):
                verdict.holds_when = self.holds_when(lhs, rhs, case)
                verdict.diagnosis = self.diagnose(lhs, rhs, case, verdict.holds_when)
        except Exception:  # noqa: BLE001 - a diagnosis that cannot be made is left out
            pass

    def judge_step(self, verdict: StepVerdict, left, right, case: Case | None) -> None:  # type: ignore[no-untyped-def]
        self.interpreter.conditions.clear()
        self.interpreter.own_vectors = False
        self.step_note: str | None = None
        try:
            lhs = self.read(left)
            rhs = self.read(right)
            if self.bare_roles(lhs, rhs):   # ∂L/∂b = y - p: y, p and b whole vectors, if both sides read so
                lhs, rhs = self.as_whole_vectors(left, right) or (lhs, rhs)
        except Unsupported as error:
            verdict.unknown(error.message, error.column)
            return
        case = self.with_document_assumptions(self.with_subscript_conditions(case))
        if case and _about_summation_indices(case, lhs, rhs):
            verdict.case = None   # a case about a summation index (prose about the sum) is not this step's case
        self.sync_batch()
        if lhs.has(mtx.Frobenius) or rhs.has(mtx.Frobenius):  # A : B, written out as Σ_ab A_ab B_ab
            try:
                lhs, rhs = mtx.index_form(lhs), mtx.index_form(rhs)
            except mtx.ShapeMismatch as error:
                self.shapes_differ(verdict, f"shape mismatch: {self.sizes_in(str(error))}")
                return
        if mtx.is_matrix(lhs) or mtx.is_matrix(rhs):
            compared = self.matrix_sides(verdict, lhs, rhs)
            if compared is None:
                return
            lhs, rhs = compared
        if (bare := self.bare_role(lhs, rhs)) is not None:
            verdict.unknown(f"{bare} is written without an index, as a number, where derive's {bare} is a vector: "
                            f"write its entries ({bare}_k), or declare the notation in front matter")
            return
        outcome = self.equal(lhs, rhs, case, self.assumes)
        if outcome.error:
            verdict.unknown(f"cannot evaluate: {outcome.error}")
        elif outcome.holds:
            verdict.valid(outcome.points)
            if self.step_note:
                verdict.message += f"; {self.step_note}"
        else:
            verdict.invalid(outcome.counterexample, self.index_names)
            self.explain = (lhs, rhs, case)

    def matrix_sides(self, verdict: StepVerdict, lhs: sp.Expr, rhs: sp.Expr) -> tuple[sp.Expr, sp.Expr] | None:
        """Shapes first (a mismatch is invalid, with both shapes and the one expected), then entry by entry."""
        derivative = next((d for d in (lhs, rhs) if _matrix_derivative(d)), None)
        want = ""
        if derivative is not None:
            names = {canonical: user for user, canonical in self.vocabulary.vectors().items()}
            var, inner = derivative.variables[0], derivative.expr
            if isinstance(var, mtx.RowOf):  # w_k, row k of W
                variable = f"{self.vocabulary.weights}_{var.args[1]}"
            elif isinstance(var, mtx.ExampleOf):  # θ_r, x^{(i)}: a vector of the document's own
                variable = f"{str(var.args[0].name).removeprefix(OWN)}_{var.args[1]}"
            else:
                variable = names.get(var.name, var.name)
            what = f"the shape of {variable}" if not isinstance(inner, sp.MatrixExpr) else \
                f"the Jacobian of {names.get(str(inner), inner)} by {variable}"
            want = f"; {self.shape_text(mtx.shape_of(derivative))} expected, {what}"
        try:
            left, right = mtx.shape_of(lhs), mtx.shape_of(rhs)
        except mtx.ShapeMismatch as error:
            self.shapes_differ(verdict, f"shape mismatch: {self.sizes_in(str(error))}{want}")
            return None
        declared = self.notation.linear or (derivative is not None and isinstance(derivative.variables[0], mtx.RowOf))
        if left != right and left == right[::-1] and sp.Integer(1) in left and not declared:  # a row against a
            rhs, right = sp.Transpose(rhs), left   # column where no convention is declared: compared entry by entry
            self.step_note = "one side is a row vector, the other a column: compared entry by entry"
        if left != right:
            self.shapes_differ(verdict, f"shape mismatch: the left side is {self.shape_text(left)}, the right side "
                                  f"{self.shape_text(right)}{want}")
            return None
        row = _entry_index(left[0])
        col = (mdl.j if row == mdl.k else mdl.k) if left[1] == mdl.n else _entry_index(left[1])
        return mtx.index_form(lhs, row, col), mtx.index_form(rhs, row, col)

    def as_whole_vectors(self, left, right) -> tuple[sp.Expr, sp.Expr] | None:  # type: ignore[no-untyped-def]
        """Both sides read again with the roles' bare names as whole vectors; None (and nothing changed) unless
        both then are vectors or matrices."""
        reader = self.interpreter
        saved = (reader.uses_linear, set(reader.example_indices), list(reader.conditions), reader.own_vectors)
        reader.roles_as_vectors = True
        try:
            whole = self.read(left), self.read(right)
        except Exception:  # noqa: BLE001 - that reading does not fit: keep the first one
            whole = None
        finally:
            reader.roles_as_vectors = False
        if whole is not None and all(mtx.is_matrix(side) and not _function_of_matrix(side) for side in whole):
            return whole
        reader.uses_linear, reader.example_indices, reader.conditions, reader.own_vectors = saved
        return None

    def bare_roles(self, lhs: sp.Expr, rhs: sp.Expr) -> bool:
        """Whether a role's name (y, p, z) was read as a number of the document's in this step."""
        roles = {OWN + key for key in self.vocabulary.vectors()}
        return any(s.name in roles for side in (lhs, rhs) for s in side.free_symbols)

    def bare_role(self, lhs: sp.Expr, rhs: sp.Expr) -> str | None:
        """A role's name read as a number of the document's (∂L/∂z with z never indexed) in a step that also
        involves derive's own vectors (the loss through the logits): the two cannot be related, so the step is
        not decided either way. Returns the name, else None."""
        roles = {OWN + key: canonical for key, canonical in self.vocabulary.vectors().items()}
        named = {roles[s.name]: s.name[len(OWN):] for side in (lhs, rhs) for s in side.free_symbols
                 if s.name in roles}
        if not named:
            return None
        used = {e.base.label.name for side in (lhs, rhs) for e in self.to_base(side).atoms(sp.Indexed)}
        clash = sorted(key for canonical, key in named.items() if canonical in used)
        return _shown(clash[0]) if clash else None   # z the number and z the vector in one step

    def shapes_differ(self, verdict: StepVerdict, message: str) -> None:
        """Invalid, with the shapes; unknown when a vector of the document's own was read from θ_j or x^{(i)}
        (its shape is derive's reading, not something the document stated)."""
        if self.interpreter.own_vectors:
            verdict.unknown(f"cannot combine these quantities as read ({message})")
        else:
            verdict.invalid_shape(message)

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

    def with_document_assumptions(self, case: Case | None) -> Case | None:
        """"with class labels $a \\neq b$": an inequality of two letters stated once in the prose holds in
        every step that has both (the case filter drops it from the others)."""
        if not self.assumed_distinct:
            return case
        equal = case.equal if case else ()
        distinct = tuple(pair for pair in self.assumed_distinct
                         if pair not in equal and pair[::-1] not in equal)
        return Case(equal, (case.distinct if case else ()) + distinct)

    def with_subscript_conditions(self, case: Case | None) -> Case | None:
        """y_{k=i} and θ_{i≠k} state a case inside a subscript: add it to the step's case."""
        if not self.interpreter.conditions:
            return case
        equal, distinct = list(case.equal if case else ()), list(case.distinct if case else ())
        for relation, a, b in self.interpreter.conditions:
            (equal if relation == "=" else distinct).append((str(a), str(b)))
        return Case(tuple(equal), tuple(distinct))

    def to_base(self, expr: sp.Expr, model: Model | None = None) -> sp.Expr:
        """Every defined quantity replaced by its definition: the document's own ones (``scope``) and the
        built-in ones (``model``), in turns, since each may mention the other."""
        model = model or self.model
        scope = self.vocabulary.scope
        for _ in range(8):
            expanded = model.to_base(scope.expand(expr))
            if expanded == expr:
                break
            expr = expanded
        return expr

    def quantities(self, *sides: sp.Expr) -> Quantities:
        """What the sampler needs about the document's own names in these sides (in base form)."""
        scope = self.vocabulary.scope
        kept = set().union(*(scope.defined_in(side) for side in sides))
        defined = tuple((name, scope.quantities[name].indices, self.to_base(scope.quantities[name].body))
                        for name in sorted(kept) if name in scope.quantities)
        everything = list(sides) + [body for _, _, body in defined]
        labels = tuple((OWN + key, axis) for key, axis in sorted(self.vocabulary.label_inputs.items()))
        return Quantities(frozenset(positive_names(everything)) - {name for name, _ in labels}, defined, labels)

    def equal(self, lhs: sp.Expr, rhs: sp.Expr, case: Case | None, assumes: tuple[str, ...],
              model: Model | None = None) -> Outcome:
        left, right = self.to_base(lhs, model), self.to_base(rhs, model)
        case = relevant(case, free_indices(left) | free_indices(right))
        return check_equal(model or self.model, left, right, case, assumes, self.quantities(left, right))

    def holds_when(self, lhs: sp.Expr, rhs: sp.Expr, case: Case | None) -> str | None:
        if "one-hot" not in self.assumes and "sum-to-one" not in self.assumes:
            if self.equal(lhs, rhs, case, ("sum-to-one",)).holds:
                return "sum of y = 1"
        names = sorted({s.name for s in free_indices(self.to_base(lhs)) | free_indices(self.to_base(rhs))
                        if s.is_integer and s not in mdl.SIZE_SYMBOLS})
        if "one-hot" in self.assumes and self.model.label_index is None:
            names.append(mdl.h.name)
        base = case or Case()
        for position, a in enumerate(names):
            for b in names[position + 1:]:
                for equal in (True, False):
                    pair = ((a, b),)
                    if _contradicts(base, a, b, equal):  # never "it would hold when i = j" under i ≠ j
                        continue
                    trial = Case(base.equal + pair, base.distinct) if equal else Case(base.equal, base.distinct + pair)
                    outcome = self.equal(lhs, rhs, trial, self.assumes)
                    if outcome.holds and outcome.points:
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
        terms = sp.Add.make_args(rhs)
        if 1 < len(terms) <= 8:  # one term written with the wrong sign
            for term in terms:
                if self.equal(lhs, rhs - 2 * term, case, self.assumes).holds:
                    return "the sign of one term is flipped"
        return None




def _function_of_matrix(expr: sp.Expr) -> bool:
    """σ(z), e^{-z}, log p with z, p whole vectors: not what the document meant by a bare name."""
    return any(isinstance(f, (sp.Function, sp.Pow)) and f.atoms(sp.MatrixSymbol) and not isinstance(f, sp.MatrixExpr)
               for f in sp.preorder_traversal(expr))


def _functions_first(chains: list[Chain]) -> list[Chain]:
    """``J = -log q_c - β H(q), \\qquad H(q) = -Σ_k q_k log q_k``: a function defined right after the
    definition that uses it (in the same row) is read first."""
    ordered = list(chains)
    for position in range(len(ordered) - 1):
        here, after = ordered[position], ordered[position + 1]
        head = first_equation(after)[0]
        if head is None or head.parameters is None or len(here.sides) != 2 or len(after.sides) != 2 \
                or after.sides[0].offset - (here.sides[1].offset + len(here.sides[1].text)) > 40:
            continue
        if first_equation(here)[0] is not None and head.key in _keys_in(here.sides[1].text):
            ordered[position], ordered[position + 1] = after, here
    return ordered


def _keys_in(text: str) -> set[str]:
    try:
        node = parse(text)
    except Unsupported:
        return set()
    return {key for item in walk(node) if (key := key_of(item)) is not None}


_ASSUMED_DISTINCT = re.compile(r"\$\s*([A-Za-z])\s*\\neq?\s*([A-Za-z])\s*\$")

_ELIDED = {"\\dots", "\\cdots", "\\ldots", "...", "\\vdots"}


def _drop_elided_sides(chain: Chain) -> None:
    """``A = \\dots = C``: steps left out; A = C is the step to check."""
    for position in range(len(chain.sides) - 1, 0, -1):
        if chain.sides[position].text.strip() in _ELIDED:
            del chain.sides[position]
            del chain.equals[position if position < len(chain.equals) else -1]


def _plain(error: Exception) -> str:
    """An exception from SymPy as a short reason a person can read."""
    text = str(error).split("\n")[0][:120]
    if isinstance(error, NotImplementedError) or "noncommutative" in text:
        return "a matrix where a number is expected, or the other way round"
    return text or type(error).__name__


def _about_summation_indices(case: Case, *sides: sp.Expr) -> bool:
    bound = {limit[0].name for side in sides for total in side.atoms(sp.Sum) for limit in total.limits}
    free = {s.name for side in sides for s in free_indices(side)}
    named = {name for pair in case.equal + case.distinct for name in pair}
    return bool(named & bound - free)


def _contradicts(case: Case, a: str, b: str, equal: bool) -> bool:
    pairs = case.distinct if equal else case.equal
    return (a, b) in pairs or (b, a) in pairs


def relevant(case: Case | None, free: set[sp.Symbol]) -> Case | None:
    """The part of a case that speaks of the step's own free indices: a case about a summation index, or
    declared for another chain, says nothing here."""
    if not case:
        return case
    names = {s.name for s in free} | {mdl.c.name, mdl.h.name}  # the hot index is always in play
    keep = lambda pairs: tuple(p for p in pairs if p[0] in names and p[1] in names)  # noqa: E731
    return Case(keep(case.equal), keep(case.distinct))


def positive_names(expressions: list[sp.Expr]) -> set[str]:
    """The document's own inputs that sit in a logarithm or a denominator: drawn positive."""
    found: set[str] = set()
    for expr in expressions:
        for node in sp.preorder_traversal(expr):
            inside = node.args[0] if isinstance(node, sp.log) else \
                node.base if isinstance(node, sp.Pow) and node.exp.is_number and node.exp < 0 else None
            if inside is not None:
                found |= {name_of(e) for e in inside.atoms(sp.Indexed, sp.Symbol) if is_own(e)}
    return found


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
    explicit = {key for key in (*document.settings, *notation) if key != "case"}
    report = Checker(document, chosen, explicit).run()
    if not report.steps:
        raise InputError("only definitions found: no step A = B to check", document.path)
    return report
