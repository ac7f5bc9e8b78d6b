"""Give a parsed side of an equation its meaning under the notation: logits, probabilities, labels, loss,
indices, sums, derivatives — the same SymPy model the engine uses (``derive.model``).

Function application and big operators are decided here, by meaning: ``softmax(\\theta)_k`` is ŷ_k,
``\\sum_{j \\neq k}`` takes the rest of the product as its body, ``\\frac{\\partial}{\\partial z_k}`` too.
"""

from __future__ import annotations

import functools
import operator
from dataclasses import dataclass, field

import sympy as sp

from .. import matrices as mtx, model as mdl
from ..engine.rules import sum_excluding
from ..model import D
from ..notation import Notation
from .syntax import (Accent, Cases, Frac, Frobenius, Group, Indicator, Node, Num, Product, Rel, Scripted, Sum,
                     Unsupported, Word)
from .syntax import parse

TRANSPARENT_ACCENTS = {"boldsymbol", "mathbf", "bm", "mathit", "mathsf", "mathbfit"}
LOG_NAMES = {"log", "ln"}
ALWAYS_PROB_FUNCTIONS = {"softmax"}
GREEK_INDEX = {"alpha", "beta"}
TRANSPOSE = ("T", "top", "intercal", "mathsf(T)")


def key_of(node: Node | None) -> str | None:
    """A canonical name for name-like nodes: ``\\hat{y}`` -> hat(y), ``\\boldsymbol{\\theta}`` -> theta."""
    if isinstance(node, Word):
        return node.name
    if isinstance(node, Accent):
        inner = key_of(node.body)
        if inner is None:
            return None
        return inner if node.kind in TRANSPARENT_ACCENTS else f"{node.kind}({inner})"
    if isinstance(node, Group) and node.kind == "" and len(node.items) == 1:
        return key_of(node.items[0])
    if isinstance(node, Scripted) and node.sup is None and node.sub is not None and not node.primes:
        base, sub = key_of(node.base), key_of(node.sub)
        return f"{base}_{sub}" if base and sub else None
    return None


def notation_key(value: str) -> str:
    """The key of a notation value, read with the same parser as the document."""
    try:
        return key_of(parse(value)) or value
    except Unsupported:
        return value


@dataclass
class Vocabulary:
    """What each name means in one document."""

    logits: str
    prob_symbols: set[str]
    prob_functions: set[str]
    labels: str
    loss: set[str]
    classes: str
    batch: str
    label_name: str | None
    weights: str = "W"
    inputs: str = "x"
    bias: str = "b"
    definitions: dict[str, tuple[sp.Symbol | None, sp.Expr]] = field(default_factory=dict)

    @classmethod
    def from_notation(cls, notation: Notation) -> "Vocabulary":
        from ..notation import FUNCTION_NAMES

        symbols: set[str] = set()
        functions = set(ALWAYS_PROB_FUNCTIONS)
        for value in notation.probs:
            (functions if value in FUNCTION_NAMES else symbols).add(notation_key(value))
        label = notation_key(notation.target.name) if notation.target.name else None
        _, weights, inputs, bias = (notation_key(v) for v in notation.linear_names)
        return cls(logits=notation_key(notation.logits), prob_symbols=symbols, prob_functions=functions,
                   labels=notation_key(notation.labels), loss={notation_key(notation.loss), "CE", "L"},
                   classes=notation_key(notation.classes), batch=notation_key(notation.batch), label_name=label,
                   weights=weights, inputs=inputs, bias=bias)

    def vectors(self) -> dict[str, str]:
        """Names of whole vectors and matrices -> canonical names (``model.MATRICES``)."""
        table = {self.logits: "z", self.labels: "y", self.weights: "W", self.inputs: "x", self.bias: "b"}
        if len(self.weights) == 1 and self.weights.islower():  # rows w_j: the whole matrix is W
            table[self.weights.upper()] = "W"
        table.update({s: "yhat" for s in self.prob_symbols})
        return table


class Interpreter:
    """Turns syntax trees into expressions of ``derive.model``."""

    def __init__(self, vocabulary: Vocabulary) -> None:
        self.v = vocabulary
        self.example_indices: set[sp.Symbol] = set()
        self.uses_linear = False

    # -- indices ------------------------------------------------------------------------------------------

    def index_symbol(self, name: str, col: int = 0) -> sp.Expr:
        if self.v.label_name and name == self.v.label_name:
            return mdl.c
        if name == self.v.classes:
            return mdl.n
        if len(name) == 1 or name in GREEK_INDEX:
            return sp.Symbol(name, integer=True)
        raise Unsupported(f"cannot read {name!r} as an index", col)

    def indices(self, node: Node) -> tuple[sp.Expr, ...]:
        key = key_of(node)
        if key is not None and self.v.label_name and key == self.v.label_name:
            return (mdl.c,)
        if isinstance(node, Word) and not node.command:
            if node.name == self.v.label_name:
                return (mdl.c,)
            return tuple(self.index_symbol(ch, node.col) for ch in node.name)
        if isinstance(node, Num):
            return (sp.Integer(int(float(node.value))),)
        if isinstance(node, Group) and node.kind in ("", ","):
            return tuple(ix for item in node.items for ix in self.indices(item))
        if isinstance(node, Product):
            return tuple(ix for item in node.items for ix in self.indices(item))
        raise Unsupported("cannot read this subscript as an index", _col(node))

    # -- names --------------------------------------------------------------------------------------------

    def entry(self, base: Node, sub: Node) -> sp.Expr:
        """An indexed quantity: z_k, ŷ_j, y_{tk}, a defined f_j."""
        key = key_of(base)
        idx = self.indices(sub)
        if key in self.v.loss:
            return mdl.L
        table = {self.v.logits: mdl.z, self.v.labels: mdl.y, self.v.weights: mdl.W, self.v.inputs: mdl.x,
                 self.v.bias: mdl.b}
        table.update({s: mdl.yhat for s in self.v.prob_symbols})
        if key in table:
            if table[key] in (mdl.W, mdl.x, mdl.b):
                self.uses_linear = True
                if table[key] == mdl.W and len(idx) == 1:  # W_k, w_k: row k of the weights
                    return mtx.RowOf(mtx.MATRICES["W"], idx[0])
                if table[key] == mdl.W and len(idx) != 2:
                    raise Unsupported(f"{key} takes one index (a row) or two, as in {key}_{{kl}}", _col(base))
                if table[key] == mdl.W:
                    return mdl.W[idx]
            if len(idx) == 2:
                self.example_indices.add(idx[0])
            if len(idx) not in (1, 2):
                raise Unsupported(f"{key} takes one or two indices", _col(base))
            return table[key][idx]
        if key in self.v.definitions:
            param, body = self.v.definitions[key]
            if param is None or len(idx) != 1:
                raise Unsupported(f"{key} is defined without an index", _col(base))
            return body.xreplace({param: idx[0]})
        if key == "delta":
            if len(idx) != 2:
                raise Unsupported("the Kronecker delta takes two indices", _col(base))
            return sp.KroneckerDelta(*idx)
        raise Unsupported(f"unknown symbol {_display(key or '?')}", _col(base))

    def name(self, node: Node) -> sp.Expr:
        key = key_of(node)
        if key in self.v.loss:
            return mdl.L
        vectors = self.v.vectors()
        if isinstance(node, Word) and not node.command and len(node.name) > 1 and node.name[0] == "d" \
                and (node.name[1:] in vectors or node.name[1:] in self.v.loss):  # dW, db, dL: differentials
            return mtx.differential(self.name(Word(node.name[1:], node.col + 1)))
        if key == "I" and "I" not in self.v.definitions:
            return mtx.IDENTITY
        if key in vectors:
            if vectors[key] in ("W", "x", "b"):
                self.uses_linear = True
            return mtx.MATRICES[vectors[key]]
        if key == self.v.classes:
            return mdl.n
        if key == self.v.batch:
            return mdl.N
        if key == "m":
            return mdl.M
        if key in self.v.definitions and self.v.definitions[key][0] is None:
            return self.v.definitions[key][1]
        if key == "e":
            return sp.E
        if isinstance(node, Word) and not node.command and len(node.name) > 1:
            return sp.Mul(*(self.name(Word(ch, node.col + n)) for n, ch in enumerate(node.name)))
        raise Unsupported(f"unknown symbol {_display(key or '?')}", _col(node))

    # -- expressions --------------------------------------------------------------------------------------

    def expr(self, node: Node) -> sp.Expr:
        if isinstance(node, Num):
            return sp.Rational(node.value)
        if isinstance(node, Sum):
            terms = [sign * self.expr(term) for sign, term in node.terms]
            if not _has_matrix(terms):
                return sp.Add(*terms)
            if not all(isinstance(term, sp.MatrixExpr) for term in terms):  # pᵀp is a number, diag(p) is not
                raise mtx.ShapeMismatch("cannot add " + " and ".join(_term_text(t) for t in terms))
            return functools.reduce(operator.add, terms)
        if isinstance(node, Product):
            return self.product(list(node.items))
        if isinstance(node, Group):
            if len(node.items) != 1:
                raise Unsupported("a list of values is not an expression", node.col)
            if isinstance(node.items[0], Rel):
                raise Unsupported("a relation is not an expression", node.col)
            return self.expr(node.items[0])
        if isinstance(node, Frac):
            derivative = self.derivative_variable(node)
            if derivative is not None:
                var, body = derivative
                if body is None:
                    raise Unsupported("a derivative operator needs something to differentiate", node.col)
                return D(self.expr(body), var)
            return self.expr(node.num) / self.expr(node.den)
        if isinstance(node, Scripted):
            return self.scripted(node)
        if isinstance(node, (Word, Accent)):
            return self.name(node)
        if isinstance(node, Cases):
            return self.cases(node)
        if isinstance(node, Frobenius):
            left, right = self.expr(node.left), self.expr(node.right)
            if not (isinstance(left, sp.MatrixExpr) and isinstance(right, sp.MatrixExpr)):
                raise Unsupported("A : B is the inner product of two vectors or matrices", node.col)
            return mtx.Frobenius(left, right)
        if isinstance(node, Indicator):  # \mathbf{1} with no condition: the vector of ones
            return mtx.ONES
        raise Unsupported("cannot read this expression", _col(node))

    def scripted(self, node: Scripted) -> sp.Expr:
        if node.primes:
            raise Unsupported("primes (u') are not read; write the derivative out", _col(node.base))
        base = node.base
        if isinstance(base, Word) and base.name == "e" and not base.command and node.sub is None:
            return sp.exp(self.expr(node.sup))
        if isinstance(base, Indicator) and node.sub is not None:
            return self.indicator(node.sub, base.col)
        if isinstance(base, Word) and not base.command and len(base.name) > 1 and node.sub is None \
                and not self.known(base.name):  # yx^T, pp^T: TeX puts the superscript on the last letter
            head, last = base.name[:-1], base.name[-1]
            return self.product([Word(head, base.col), Scripted(Word(last, base.col + len(head)), None, node.sup)])
        if isinstance(base, Word) and base.name in ("sum", "partial"):
            raise Unsupported(f"\\{base.name} without a body", base.col)
        if isinstance(base, Num) and base.value == "1" and node.sub is None and key_of(node.sup) in TRANSPOSE:
            return sp.Transpose(mtx.ONES)  # 1^T: the vector of ones, as a row
        value = self.entry(base, node.sub) if node.sub is not None else self.expr(base)
        if node.sup is not None:
            if isinstance(value, sp.MatrixExpr) and key_of(node.sup) in TRANSPOSE:
                return sp.Transpose(value)
            if isinstance(value, sp.MatrixSymbol) and (example := self.example_of(node.sup)) is not None:
                return example(value)
            if isinstance(value, sp.MatrixExpr):
                return self.matrix_power(value, node.sup)
            value = value ** self.power(node.sup)
        return value

    def known(self, name: str) -> bool:
        """Whether letters stand for one name (a loss, a function, a definition, dW) rather than a product."""
        vectors = self.v.vectors()
        return name in self.v.loss or name in self.v.prob_functions or name in self.v.definitions \
            or name in vectors or name in LOG_NAMES | {"exp", "diag", "Diag"} \
            or (name[0] == "d" and (name[1:] in vectors or name[1:] in self.v.loss))

    def matrix_power(self, value: sp.MatrixExpr, sup: Node) -> sp.Expr:
        """Aᵀ or A⁻¹; other powers of a matrix are not read."""
        if key_of(sup) in TRANSPOSE:
            return sp.Transpose(value)
        if self.power(sup) == -1:
            return sp.Inverse(value)
        raise Unsupported("only the transpose and the inverse of a matrix are read", _col(sup))

    def example_of(self, sup: Node):  # type: ignore[no-untyped-def]
        """x^{(t)}: the vector of example t of a batch; x^{(t)\top} its transpose. None if ``sup`` is not one."""
        items = list(sup.items) if isinstance(sup, Group) and sup.kind == "" and len(sup.items) == 1 else [sup]
        if len(items) == 1 and isinstance(items[0], Product):
            items = list(items[0].items)
        transposed = len(items) == 2 and key_of(items[1]) in TRANSPOSE
        if not items or not (isinstance(items[0], Group) and items[0].kind == "(" and len(items) == 1 + transposed):
            return None
        (index,) = self.indices(items[0].items[0]) if len(items[0].items) == 1 else (None,)
        if not isinstance(index, sp.Symbol):
            return None
        self.example_indices.add(index)
        return lambda vector: sp.Transpose(mtx.ExampleOf(vector, index)) if transposed else mtx.ExampleOf(vector, index)

    def power(self, node: Node) -> sp.Expr:
        exponent = self.expr(node)
        if not exponent.is_Number or abs(exponent) > 10:
            raise Unsupported("only small numeric powers are read", _col(node))
        return exponent

    def indicator(self, condition: Node, col: int) -> sp.Expr:
        rel = condition.items[0] if isinstance(condition, Group) and len(condition.items) == 1 else condition
        if not isinstance(rel, Rel) or rel.op != "=":
            raise Unsupported("an indicator needs a condition a = b", col)
        (a,), (b,) = self.indices(rel.lhs), self.indices(rel.rhs)
        return sp.KroneckerDelta(a, b)

    def cases(self, node: Cases) -> sp.Expr:
        pieces = []
        for value, condition in node.rows:
            pieces.append((self.expr(value), sp.true if condition is None else self.condition(condition)))
        if pieces[-1][1] is not sp.true:
            pieces.append((sp.nan, sp.true))
        return sp.Piecewise(*pieces)

    def condition(self, node: Node) -> sp.Basic:
        if isinstance(node, Group) and node.kind == ",":
            return sp.And(*(self.condition(item) for item in node.items))
        if not isinstance(node, Rel):
            raise Unsupported("a case needs a condition such as i = j", _col(node))
        (a,), (b,) = self.indices(node.lhs), self.indices(node.rhs)
        if node.op == "=":
            return sp.Eq(a, b)
        if node.op in ("\\neq", "\\ne"):
            return sp.Ne(a, b)
        raise Unsupported(f"condition {node.op} is not read", _col(node.lhs))

    # -- products: where operators take their arguments ---------------------------------------------------

    def product(self, items: list[Node]) -> sp.Expr:
        factors = _Factors()
        position = 0
        while position < len(items):
            item, rest = items[position], items[position + 1:]
            if isinstance(item, Word) and item.name == "d" and not item.command and rest:
                factors.differential_next = True  # \mathrm{d}X: the differential of the next factor
                position += 1
                continue
            head = item.base if isinstance(item, Scripted) else item
            if isinstance(head, Word) and head.command and head.name == "sum":
                factors.append(self.big_sum(item, rest))
                break
            if isinstance(item, Frac) and (found := self.derivative_variable(item)) and found[1] is None:
                if not rest:
                    raise Unsupported("a derivative operator needs something to differentiate", item.col)
                used = _operand_length(rest)
                if used is None:  # no brackets: the operator takes the rest of the product
                    factors.append(D(self.product(rest), found[0]))
                    break
                factors.append(D(self.product(rest[:used]), found[0]))
                position += 1 + used
                continue
            applied = self.application(item, rest)
            if applied is not None:
                value, used = applied
                factors.append(value)
                position += 1 + used
                continue
            factors.append(self.expr(item))
            if isinstance(item, Num) and item.value == "1":
                factors.literal_ones.append(len(factors) - 1)
            position += 1
        factors.ones_as_vectors()
        if factors.differential_next:
            raise Unsupported("a differential d needs something after it", _col(items[-1]))
        if not _has_matrix(factors):
            return sp.Mul(*factors)
        value = functools.reduce(operator.mul, factors)
        if isinstance(value, sp.MatrixExpr) and _shape_or_none(value) == (1, 1):  # w_k x, 1ᵀy: a number
            return mtx.matrix_entry(value, sp.Integer(1), sp.Integer(1))
        return value

    def application(self, item: Node, rest: list[Node]) -> tuple[sp.Expr, int] | None:
        """A function applied to the next factor: log, exp, softmax(θ)_k, σ(θ_j), L(θ), 1(k = c)."""
        key = key_of(item)
        following = rest[0] if rest else None
        if isinstance(item, Word) and item.name in LOG_NAMES | {"exp"}:
            if following is None:
                raise Unsupported(f"\\{item.name} without an argument", item.col)
            argument = self.expr(following)
            if isinstance(argument, sp.MatrixExpr):
                if item.name == "exp":
                    raise Unsupported("exp of a vector is not read (it would be the matrix exponential)", item.col)
                return mtx.ElementwiseLog(argument), 1  # log(p) entry by entry
            return (sp.exp(argument) if item.name == "exp" else sp.log(argument)), 1
        if key in self.v.loss and _is_call(following):
            return mdl.L, 1
        if key in ("diag", "Diag") and following is not None and _is_call(following):
            script = following.sup if isinstance(following, Scripted) and following.sub is None else None
            argument = following.base if script is not None and isinstance(following, Scripted) else following
            vector = self.expr(argument)  # diag(p)^{-1}: the superscript is diag's, not p's
            if not isinstance(vector, sp.MatrixExpr):
                raise Unsupported("diag of something that is not a vector", _col(item))
            diagonal = sp.DiagMatrix(vector)
            return (self.matrix_power(diagonal, script) if script is not None else diagonal), 1
        if key in self.v.prob_functions and _is_call(following):
            return self.probability_call(following), 1
        is_one = (isinstance(item, Num) and item.value == "1") or isinstance(item, Indicator)
        if is_one and isinstance(following, Group) and len(following.items) == 1 \
                and isinstance(following.items[0], Rel):
            return self.indicator(following, _col(item)), 1
        return None

    def probability_call(self, call: Node) -> sp.Expr:
        """softmax(θ)_k, softmax(θ_k), σ(θ_j): all mean entry k (or j) of the probabilities."""
        group, outer = (call.base, call.sub) if isinstance(call, Scripted) else (call, None)
        assert isinstance(group, Group)
        if len(group.items) != 1:
            raise Unsupported("softmax takes one argument", group.col)
        inner = group.items[0]
        if outer is not None:
            if key_of(inner) != self.v.logits:
                raise Unsupported("softmax of something other than the logits", group.col)
            return mdl.yhat[self.indices(outer)]
        if isinstance(inner, Scripted) and key_of(inner.base) == self.v.logits and inner.sub is not None:
            return mdl.yhat[self.indices(inner.sub)]
        raise Unsupported("softmax of the whole vector needs an index, as in softmax(z)_k", group.col)

    def big_sum(self, item: Node, rest: list[Node]) -> sp.Expr:
        sub = item.sub if isinstance(item, Scripted) else None
        sup = item.sup if isinstance(item, Scripted) else None
        if sub is None:
            raise Unsupported("a sum needs its index, as in \\sum_{j}", _col(item))
        if not rest:
            raise Unsupported("a sum without a body", _col(item))
        body = self.product(rest)
        limit = sub.items[0] if isinstance(sub, Group) and len(sub.items) == 1 else sub
        upper = self.expr(sup) if sup is not None else None
        if isinstance(limit, Rel) and isinstance(body, sp.MatrixExpr) and limit.op == "=" \
                and isinstance(limit.rhs, Num) and self.expr(limit.rhs) == 1:
            (var,) = self.indices(limit.lhs)
            return mtx.BatchSum(body, var, upper if upper is not None else mdl.N)
        if isinstance(limit, Rel):
            (var,) = self.indices(limit.lhs)
            other = self.expr(limit.rhs) if isinstance(limit.rhs, Num) else self.indices(limit.rhs)[0]
            if limit.op in ("\\neq", "\\ne"):
                return sum_excluding(body, var, other, upper if upper is not None else mdl.n)
            if limit.op == "=" and isinstance(limit.rhs, Num):
                return sp.Sum(body, (var, other, upper if upper is not None else mdl.n))
            if limit.op == "=" and upper is None:
                return body.xreplace({var: other})  # \sum_{j=i}: the single term j = i
            raise Unsupported("cannot read the limits of this sum", _col(item))
        indices = self.indices(limit)
        if len(indices) != 1:
            raise Unsupported("a sum over several indices at once is not read", _col(item))
        if isinstance(body, sp.MatrixExpr):  # Σ_t over the examples of a batch
            return mtx.BatchSum(body, indices[0], upper if upper is not None else mdl.N)
        return sp.Sum(body, (indices[0], 1, upper if upper is not None else mdl.n))

    def derivative_variable(self, frac: Frac) -> tuple[sp.Expr, Node | None] | None:
        """For ∂F/∂x or d/dx: (x, F) with F None for the operator form; None if not a derivative."""
        den = _items(frac.den)
        num = _items(frac.num)
        marker = _derivative_marker(den[0]) if den else None
        if marker is None or not num:
            return None
        numerator_marker = _derivative_marker(num[0])
        if numerator_marker is None:
            return None
        var_nodes = marker[1] + den[1:]
        if len(var_nodes) != 1:
            raise Unsupported("cannot read the variable of this derivative", frac.col)
        var = self.expr(var_nodes[0])
        if not isinstance(var, (sp.Indexed, sp.MatrixSymbol, mtx.RowOf)):
            raise Unsupported("derivatives are read by entries of a vector, as in \\partial z_k", frac.col)
        body_nodes = numerator_marker[1] + num[1:]
        if not body_nodes:
            return var, None
        body = body_nodes[0] if len(body_nodes) == 1 else Product(tuple(body_nodes))
        return var, body


def _term_text(term: sp.Expr) -> str:
    if not isinstance(term, sp.MatrixExpr):
        return "a number"
    rows, cols = _shape_or_none(term) or ("?", "?")
    return f"a matrix of shape {rows}×{cols}"


def _shape_or_none(value: sp.MatrixExpr) -> tuple[sp.Expr, sp.Expr] | None:
    """The shape, or None when the factors do not fit (the judge reports that, with both shapes)."""
    try:
        return mtx.shape_of(value)
    except mtx.ShapeMismatch:
        return None


class _Factors(list):
    """The factors of a product read so far; after a differential marker d the next one is wrapped in d."""

    def __init__(self) -> None:
        super().__init__()
        self.differential_next = False
        self.literal_ones: list[int] = []

    def append(self, value: sp.Expr) -> None:
        if self.differential_next:
            value, self.differential_next = mtx.differential(value), False
        super().append(value)

    def ones_as_vectors(self) -> None:
        """A 1 right before a row vector is the vector of ones: 1 pᵀ (nobody multiplies pᵀ by the number 1)."""
        for position in self.literal_ones:
            following = self[position + 1] if position + 1 < len(self) else None
            if isinstance(following, sp.MatrixExpr) and (_shape_or_none(following) or (0,))[0] == 1:
                self[position] = mtx.ONES


def _has_matrix(values: list[sp.Expr]) -> bool:
    return any(isinstance(v, sp.MatrixExpr) for v in values)


def _operand_length(rest: list[Node]) -> int | None:
    """How many factors an operator ∂/∂x takes: a bracketed group, or log/exp of one; else all (None)."""
    first = rest[0]
    if isinstance(first, Group) and first.kind in ("(", "["):
        return 1
    if isinstance(first, Word) and first.name in LOG_NAMES | {"exp"} and len(rest) > 1 \
            and isinstance(rest[1], Group):
        return 2
    return None


def _derivative_marker(node: Node) -> tuple[str, list[Node]] | None:
    """∂ or d at the start of a numerator or denominator; returns the marker and what follows it in the node."""
    if isinstance(node, Word) and node.command and node.name == "partial":
        return "partial", []
    if isinstance(node, Word) and not node.command and node.name == "d":
        return "d", []
    if isinstance(node, Word) and not node.command and node.name.startswith("d") and len(node.name) > 1:
        return "d", [Word(node.name[1:], node.col + 1)]
    if isinstance(node, Scripted) and isinstance(node.base, Word) and not node.base.command \
            and node.base.name.startswith("d") and len(node.base.name) > 1 and node.sup is None:
        return "d", [Scripted(Word(node.base.name[1:], node.base.col + 1), node.sub, None, node.primes)]
    if isinstance(node, Scripted) and isinstance(node.base, Word) and node.base.name == "partial":
        raise Unsupported("higher derivatives are not read", node.base.col)
    return None


def _items(node: Node) -> list[Node]:
    if isinstance(node, Product):
        return list(node.items)
    return [node]


def _is_call(node: Node | None) -> bool:
    group = node.base if isinstance(node, Scripted) else node
    return isinstance(group, Group) and group.kind == "("


def _col(node: Node | None) -> int:
    for attr in ("col",):
        if hasattr(node, attr):
            return getattr(node, attr)
    if isinstance(node, Scripted):
        return _col(node.base)
    if isinstance(node, (Sum,)):
        return _col(node.terms[0][1])
    if isinstance(node, Product):
        return _col(node.items[0])
    if isinstance(node, Rel):
        return _col(node.lhs)
    return 0


def _display(key: str) -> str:
    return key if not key.isalpha() or len(key) == 1 else f"\\{key}" if key in _COMMANDS else key


_COMMANDS = {"theta", "sigma", "alpha", "beta", "delta", "int", "prod", "lim", "infty", "input", "sqrt"}
