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
from ..notation import GREEK, Notation
from ..numeric import CLASS_INDEX, MAX_ORDER, Sigmoid
from .scope import OWN, Scope, is_own, name_of, own_function, own_scalar, own_vector
from .syntax import (Accent, Cases, Divide, Frac, Frobenius, Group, Indicator, Node, Num, Product, Rel, Scripted, Sum,
                     Unsupported, Word)
from .syntax import parse

TRANSPARENT_ACCENTS = {"boldsymbol", "mathbf", "bm", "mathit", "mathsf", "mathbfit"}
LOG_NAMES = {"log", "ln"}
ALWAYS_PROB_FUNCTIONS = {"softmax"}
GREEK_INDEX = {"alpha", "beta"}
FUNCTION_LETTERS = {"f", "g", "h", "phi", "psi", "varphi"}   # f(x), g'(u): arbitrary functions unless defined
PRELUDE_FUNCTIONS = {"tanh": sp.tanh, "sin": sp.sin, "cos": sp.cos}
LOG_SUM_EXP = {"LSE", "logsumexp", "lse"}
SIGMOID_NAMES = {"sigmoid", "logistic"}
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
    if isinstance(node, Scripted) and node.sup is None and node.sub is None and node.primes:
        base = key_of(node.base)
        return base + "'" * node.primes if base else None   # z': a name of its own
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
    scope: Scope = field(default_factory=Scope)
    functions: dict[str, "FunctionDefinition"] = field(default_factory=dict)
    vector_keys: set[str] = field(default_factory=set)   # names the document writes with a subscript
    sigma: str | None = None                             # what an undefined σ is: "sigmoid", "softmax" or None
    sizes: dict[str, str] = field(default_factory=dict)  # K, N, m as upper limits: "classes" or "batch"
    own_logits: str | None = None   # the logits when they are the document's own quantity (a layer's output)
    own_labels: str | None = None   # the labels when the document defines them (label smoothing)
    label_inputs: dict[str, int] = field(default_factory=dict)  # own arrays drawn as labels: the class index's place
    arbitrary: set[str] = field(default_factory=set)     # function letters already read as arbitrary functions
    arity: dict[str, int] = field(default_factory=dict)  # how many indices each name takes at most (x^{(i)}_d: 2)
    columns: set[str] = field(default_factory=set)       # names written transposed and never indexed (ψ^T x)
    loss_defined: bool = False                            # the document wrote its loss out (L_i is then its own)
    matrix_shapes: dict[str, tuple[str, str]] = field(default_factory=dict)  # X of X_{nd}: the sizes of n and d
    later_functions: set[str] = field(default_factory=set)  # functions the document defines somewhere
    own_layer: bool = False         # a declared layer whose inputs the document defines (h = tanh(a))
    unreadable: dict[str, int] = field(default_factory=dict)   # names whose definition could not be read: line
    matrix_names: set[str] = field(default_factory=set)  # names declared as vectors/matrices (front matter)

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


@dataclass(frozen=True)
class FunctionDefinition:
    r"""``\sigma(x) = \frac{1}{1+e^{-x}}``, ``LS(z)_i = z_i - \log\sum_j e^{z_j}``: a body in its parameters
    (scalars, or whole vectors), and the index of the entry when the function is vector-valued."""

    parameters: tuple[sp.Expr, ...]
    body: sp.Expr
    index: sp.Symbol | None = None
    of_entry: bool = False   # S(z_i) = ...: written as a function of one entry, read as S(z)_i


class Interpreter:
    """Turns syntax trees into expressions of ``derive.model`` and of the document's own quantities."""

    def __init__(self, vocabulary: Vocabulary) -> None:
        self.v = vocabulary
        self.example_indices: set[sp.Symbol] = set()
        self.uses_linear = False
        self.bound: dict[str, sp.Expr] = {}      # parameters of the function definition being read
        self.whole_vectors = False               # inside softmax(...), LSE(...): names are whole vectors
        self.own_vectors = False                 # a step read θ_j or x^{(i)} as a vector of the document's own
        self.roles_as_vectors = False            # read y, p, z written bare as whole vectors (beside a vector)
        self.conditions: list[tuple[str, sp.Symbol, sp.Expr]] = []   # y_{k=i}, θ_{i≠k}: relations in subscripts

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
        if isinstance(node, Sum):  # z_{n-1}, x_{i+1}
            return (sp.Add(*(sign * self.index_value(term) for sign, term in node.terms)),)
        if isinstance(node, Rel) and node.op in ("=", "\\neq", "\\ne"):  # y_{k=i}: entry i; θ_{i≠k}: i, i ≠ k
            (left,), (right,) = self.indices(node.lhs), self.indices(node.rhs)
            if node.op == "=":
                self.conditions.append(("=", left, right))
                return (right,)
            self.conditions.append(("!=", left, right))
            return (left,)
        if isinstance(node, Accent) and node.kind in TRANSPARENT_ACCENTS:
            return self.indices(node.body)
        if isinstance(node, Scripted) and node.sub is not None and node.sup is None and not node.primes \
                and isinstance(node.base, Word) and not node.base.command and len(node.base.name) == 1 \
                and not self.built_in(node.base.name) and OWN + node.base.name not in self.v.scope:
            inner = self.indices(node.sub)   # p_{n c_n}, δ_{v w_t}: the class of example n, an index itself
            self.v.label_inputs[node.base.name] = CLASS_INDEX
            return (own_vector(node.base.name)[inner],)
        if isinstance(node, Scripted) and node.primes and node.sub is None and node.sup is None \
                and isinstance(node.base, Word) and not node.base.command and node.base.name.isalpha():
            *first, last = node.base.name   # k', n k': a primed letter is an index of its own
            return tuple(self.index_symbol(ch, node.base.col) for ch in first) + \
                (sp.Symbol(last + "'" * node.primes, integer=True),)
        raise Unsupported("cannot read this subscript as an index", _col(node))

    def index_value(self, node: Node) -> sp.Expr:
        found = self.indices(node)
        if len(found) != 1:
            raise Unsupported("cannot read this index arithmetic", _col(node))
        return found[0]

    # -- names --------------------------------------------------------------------------------------------

    def entry(self, base: Node, sub: Node | None, leading: tuple[sp.Expr, ...] = ()) -> sp.Expr:
        """An indexed quantity: z_k, ŷ_j, y_{tk}, a defined f_j; ``leading`` indices come first (the i of
        x^{(i)}_d, an example)."""
        key = key_of(base)
        idx = leading + (self.indices(sub) if sub is not None else ())
        single = f"{key}_{'_'.join(str(ix) for ix in idx)}"
        if all(ix.is_Integer for ix in idx) and OWN + single in self.v.scope:  # p_1, y_0 defined on their own
            return own_scalar(single)
        if key in self.bound:
            bound = self.bound[key]
            if not isinstance(bound, sp.IndexedBase):
                raise Unsupported(f"{_display(key)} is a number here, it takes no index", _col(base))
            return bound[idx]
        if key in self.v.loss and OWN + key not in self.v.scope:  # L_t: the loss of example t, derive's own
            # unless the document wrote its loss (or L_i itself) its way
            if self.v.loss_defined or len(idx) != 1:
                raise Unsupported(f"{_display(key)} with an index, a loss per example, is not defined: define it "
                                  f"(as in {_display(key)}_i = ...)", _col(base))
            self.example_indices.add(idx[0])
            return mdl.ell[idx[0]]
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
        if key == "delta" or (key in ("I", "1") and len(idx) == 2 and OWN + "I" not in self.v.scope):
            if len(idx) != 2:
                raise Unsupported("the Kronecker delta takes two indices", _col(base))
            return sp.KroneckerDelta(*idx)   # δ_ij, and I_ij: the entries of the identity
        self.check_readable(key, base)
        if key in self.v.functions:
            raise Unsupported(f"{_display(key)} is a function: write its argument, as in {_display(key)}(x)",
                              _col(base))
        if key is None and isinstance(base, Group) and base.kind in ("[", "(") and len(base.items) == 1:
            return self.entry_of(self.expr(base), idx, base)   # [X^T (P - Y)]_{dk}, [∇_a L]_k
        if key is None or not _is_name(base):
            raise Unsupported("cannot read this subscripted expression", _col(base))
        if len(idx) > 3:
            raise Unsupported(f"{_display(key)} with {len(idx)} indices is not read", _col(base))
        return own_vector(key)[idx]   # an entry of a quantity the document defined, or of a free input

    def applied_to_its_own(self, key: str, node: Node) -> sp.Expr | None:
        """A function of one argument written bare, H for H(q), when its parameter has the name of one of the
        document's quantities: the function of that quantity. None otherwise."""
        definition = self.v.functions[key]
        if len(definition.parameters) != 1 or definition.index is not None or definition.of_entry:
            return None
        parameter = definition.parameters[0]
        name = str(parameter.label if isinstance(parameter, sp.IndexedBase) else parameter).rsplit(".", 1)[-1]
        vector = isinstance(parameter, sp.IndexedBase)
        if OWN + name not in self.v.scope and name not in self.v.vectors() and name not in self.v.prob_symbols:
            return None
        saved, self.whole_vectors = self.whole_vectors, vector
        try:
            argument = self.name(Word(name, _col(node)))
        finally:
            self.whole_vectors = saved
        if vector and isinstance(argument, sp.MatrixSymbol):
            argument = {"z": mdl.z, "yhat": mdl.yhat, "y": mdl.y}.get(argument.name, argument)
        if vector != isinstance(argument, sp.IndexedBase):
            return None
        return definition.body.xreplace({parameter: argument})

    def entry_of(self, value: sp.Expr, idx: tuple[sp.Expr, ...], base: Node) -> sp.Expr:
        """Entry ``idx`` of a vector or matrix written in brackets: one index for a vector, two for a matrix."""
        if not mtx.is_matrix(value):
            raise Unsupported("an index on a bracket that holds a number", _col(base))
        rows, cols = mtx.shape_of(value)
        if len(idx) == 2:
            return mtx.index_form(value, idx[0], idx[1])
        if len(idx) == 1 and (cols == 1 or rows == 1):
            return mtx.index_form(value, idx[0], sp.Integer(1)) if cols == 1 else \
                mtx.index_form(value, sp.Integer(1), idx[0])
        raise Unsupported("the index does not fit the shape of this bracket", _col(base))

    def as_row_vector(self, term: sp.Expr) -> sp.Expr:
        """A term added to a vector: θ_j (times numbers) of a name written θ_{jd} is row j of θ, as a vector."""
        if isinstance(term, sp.MatrixExpr):
            return term
        factors = sp.Mul.make_args(term)
        entries = [f for f in factors if isinstance(f, sp.Indexed) and is_own(f) and len(f.indices) == 1
                   and self.v.arity.get(name_of(f)[len(OWN):], 1) == 2]
        if len(entries) != 1 or any(f.free_symbols & set(entries[0].free_symbols) for f in factors
                                    if f is not entries[0]):
            return term
        rest = sp.Mul(*(f for f in factors if f is not entries[0]))
        row = self.own_row(name_of(entries[0])[len(OWN):], entries[0].indices[0])
        return row if rest == 1 else sp.MatMul(rest, row, evaluate=False)

    def own_row(self, key: str, index: sp.Expr) -> sp.MatrixExpr:
        """θ_j or x^{(i)} of a name the document also writes with two indices: the column vector of its
        entries (θ_{jd})_d. Its length is the inputs' size, the same for every such vector."""
        self.own_vectors = True
        return mtx.ExampleOf(sp.MatrixSymbol(OWN + key, mdl.M, 1), index)

    def name(self, node: Node) -> sp.Expr:
        key = key_of(node)
        if key in self.bound:
            return self.bound[key]
        if key:
            self.check_readable(key, node)
        if key in self.v.loss:
            return mdl.L
        vectors = self.v.vectors()
        if isinstance(node, Word) and not node.command and len(node.name) > 1 and node.name[0] == "d" \
                and (node.name[1:] in vectors or node.name[1:] in self.v.loss):  # dW, db, dL: differentials
            return mtx.differential(self.name(Word(node.name[1:], node.col + 1)))
        if key == "I" and "I" not in self.v.definitions:
            return mtx.IDENTITY
        if key in vectors and self.whole_vectors and vectors[key] in ("z", "yhat", "y", "b"):
            return {"z": mdl.z, "yhat": mdl.yhat, "y": mdl.y, "b": mdl.b}[vectors[key]]  # softmax(z / T)
        if key in vectors and key not in self.v.matrix_names and not self.whole_vectors \
                and not self.roles_as_vectors:
            self.own_vectors = True   # y written whole but read as a number: its shape is a guess, never a verdict
        if key in vectors and (key in self.v.matrix_names or self.roles_as_vectors):  # a whole vector where the
            # document does matrix algebra, or beside one (∂L/∂b = y - p)
            if vectors[key] in ("W", "x", "b"):
                self.uses_linear = True
            return mtx.MATRICES[vectors[key]]
        if key == self.v.classes:
            return mdl.n
        if key == self.v.batch:
            return mdl.N
        if key in self.v.sizes:
            return {"batch": mdl.N, "inputs": mdl.M}.get(self.v.sizes[key], mdl.n)
        if key == "m" and self.uses_linear:
            return mdl.M
        if key in self.v.definitions and self.v.definitions[key][0] is None:
            return self.v.definitions[key][1]
        if key in self.bound:
            return self.bound[key]
        if key == "e":
            return sp.E
        if key == "pi":
            return sp.pi
        if isinstance(node, Word) and not node.command and len(node.name) > 1 and "'" not in node.name \
                and not self.known(node.name):
            return sp.Mul(*(self.name(Word(ch, node.col + n)) for n, ch in enumerate(node.name)))
        if key is None or (isinstance(node, Word) and node.command and node.name not in GREEK) \
                or not _is_name(node):
            raise Unsupported(f"unsupported command {_display(key or '?')}" if isinstance(node, Word)
                              and node.command else f"cannot read {_display(key or '?')}", _col(node))
        self.check_readable(key, node)
        if key in self.v.functions and (value := self.applied_to_its_own(key, node)) is not None:
            return value   # ∂H/∂η_j with H(q) = -Σ q_k log q_k: H of the document's q
        if key in self.v.functions or key in PRELUDE_FUNCTIONS or key in LOG_SUM_EXP | SIGMOID_NAMES | {"softmax"}:
            raise Unsupported(f"{_display(key)} is a function: write its argument (and the entry, as in "
                              f"softmax(z)_k)", _col(node))
        defined = self.v.scope.quantities.get(OWN + key)
        if key in self.v.matrix_shapes and not self.whole_vectors and (defined is None or len(defined.indices) == 2):
            rows, cols = (self.name(Word(size, _col(node))) for size in self.v.matrix_shapes[key])
            self.own_vectors = True   # X of X_{nd}, written whole: a matrix of the sizes its sums give n and d
            return sp.MatrixSymbol(OWN + key, rows, cols)
        if defined is not None and defined.indices or defined is None and self.whole_vectors \
                and key in self.v.vector_keys:
            return own_vector(key)     # a whole vector, as in softmax(z)
        if key in self.v.columns and defined is None and not self.whole_vectors:  # ψ of ψ^T x: a vector
            self.own_vectors = True
            return sp.MatrixSymbol(OWN + key, mdl.M, 1)
        return own_scalar(key)         # a scalar the document defined, or a free scalar input (T, θ, x, y)

    # -- expressions --------------------------------------------------------------------------------------

    def expr(self, node: Node) -> sp.Expr:
        if isinstance(node, Num):
            return sp.Rational(node.value)
        if isinstance(node, Sum) and any(_is_dots(term) for _, term in node.terms):
            return self.elided_sum(node)
        if isinstance(node, Sum):
            terms = [sign * self.expr(term) for sign, term in _attach_sum_bodies(node.terms)]
            if not _has_matrix(terms):
                return sp.Add(*terms)
            terms = [self.as_row_vector(term) for term in terms]   # (θ_j - ψ), ... + λθ_r: θ_j a vector here
            if not all(isinstance(term, sp.MatrixExpr) for term in terms):  # pᵀp is a number, diag(p) is not
                raise mtx.ShapeMismatch("cannot add " + " and ".join(_term_text(t) for t in terms))
            return functools.reduce(operator.add, terms)
        if isinstance(node, Product):
            return self.product(list(node.items))
        if isinstance(node, Group):
            if len(node.items) != 1:
                raise Unsupported("a list of values is not an expression", node.col)
            if isinstance(node.items[0], Rel) and node.kind == "[":  # [k = j]: Iverson's bracket, an indicator
                return self.indicator(node, node.col)
            if isinstance(node.items[0], Rel):
                raise Unsupported("a relation is not an expression", node.col)
            return self.expr(node.items[0])
        if isinstance(node, Frac):
            derivative = self.derivative_variable(node)
            if derivative is not None:
                variables, body = derivative
                if body is None:
                    raise Unsupported("a derivative operator needs something to differentiate", node.col)
                return _differentiated(self.expr(body), variables)
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

    def elided_sum(self, node: Sum) -> sp.Expr:
        """``e^{z_1} + \\dots + e^{z_n}``: the sum of the pattern over every index, Σ_{d=1}^{n} e^{z_d}."""
        signs = {sign for sign, _ in node.terms}
        concrete = [self.expr(term) for _, term in node.terms if not _is_dots(term)]
        if len(signs) != 1 or len(concrete) < 2:
            raise Unsupported("cannot read this elided sum", _col(node))
        first, last = concrete[0], concrete[-1]
        dummy = sp.Symbol("d·dots", integer=True)
        template = first.replace(lambda e: isinstance(e, sp.Indexed) and sp.S.One in e.indices,
                                 lambda e: e.base[tuple(dummy if ix == 1 else ix for ix in e.indices)])
        for upper in sorted(last.free_symbols, key=str):
            if upper.is_integer and template.xreplace({dummy: upper}) == last:
                return signs.pop() * sp.Sum(template, (dummy, 1, upper))
        raise Unsupported("cannot read this elided sum: write its first and last terms, as in "
                          "e^{z_1} + \\dots + e^{z_n}", _col(node))

    def scripted(self, node: Scripted) -> sp.Expr:
        if node.primes and _is_name(node.base) and key_of(node.base):  # z'_k: an entry of the vector z'
            node = Scripted(Word(f"{key_of(node.base)}{chr(39) * node.primes}", _col(node.base)), node.sub, node.sup)
        if node.primes:
            raise Unsupported("primes (u') are not read here; write the derivative out", _col(node.base))
        base = node.base
        if isinstance(base, Word) and base.name == "e" and not base.command and node.sub is None:
            return sp.exp(self.expr(node.sup))
        if (isinstance(base, Indicator) or isinstance(base, Num) and base.value == "1") and node.sub is not None \
                and _holds_relation(node.sub):   # \mathbb{1}_{i=j}, 1_{k = c}
            return self.indicator(node.sub, _col(base))
        if isinstance(base, Word) and not base.command and len(base.name) > 1 and node.sub is None \
                and not self.known(base.name):  # yx^T, pp^T: TeX puts the superscript on the last letter
            head, last = base.name[:-1], base.name[-1]
            return self.product([Word(head, base.col), Scripted(Word(last, base.col + len(head)), None, node.sup)])
        if isinstance(base, Word) and base.name in ("sum", "partial"):
            raise Unsupported(f"\\{base.name} without a body", base.col)
        if isinstance(base, Num) and base.value == "1" and node.sub is None and key_of(node.sup) in TRANSPOSE:
            return sp.Transpose(mtx.ONES)  # 1^T: the vector of ones, as a row
        labelled = example_label(node.sup) if node.sup is not None else None
        key = key_of(base) if _is_name(base) else None
        if labelled is not None and key and not self.built_in(key):  # x^{(i)}_d, y^{(i)}, x^{(i)}: example i
            letter, transposed = labelled
            example = self.indices(letter)
            value = self.own_row(key, example[0]) if node.sub is None and self.v.arity.get(key, 1) == 2 \
                else self.entry(base, node.sub, leading=example)
            if transposed:
                if not isinstance(value, sp.MatrixExpr):
                    raise Unsupported("the transpose of a number", _col(node.sup))
                return sp.Transpose(value)
            return value
        if node.sub is not None and key and key_of(node.sup) in TRANSPOSE and not self.built_in(key) \
                and (self.v.arity.get(key, 1) == 2 or _bold(base)) and len(idx := self.indices(node.sub)) == 1:
            return sp.Transpose(self.own_row(key, idx[0]))   # θ_j^T of θ_{jd}, 𝐰_k^T: vector k, as a row
        if node.sub is not None and node.sup is None and key and _bold(base) and not self.built_in(key) \
                and OWN + key not in self.v.scope and len(idx := self.indices(node.sub)) == 1:
            return self.own_row(key, idx[0])   # 𝛟_n, 𝐱_n: the n-th vector of a family, written bold
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

    def built_in(self, key: str) -> bool:
        """Whether ``key`` names one of derive's own quantities here (the logits, labels, layer...)."""
        return key in {self.v.logits, self.v.labels, self.v.weights, self.v.inputs, self.v.bias} \
            or key in self.v.prob_symbols or key in self.v.loss or key in self.bound

    def with_superscript(self, value: sp.Expr, call: Node | None) -> sp.Expr:
        """σ(t)^2: a superscript written on a call applies to the function's value."""
        sup = call.sup if isinstance(call, Scripted) else None
        return self.superscript(value, sup) if sup is not None else value

    def superscript(self, value: sp.Expr, sup: Node) -> sp.Expr:
        """What a superscript does to a value: σ(θ)^T, σ(θ)^{(t)}, a power."""
        if isinstance(value, sp.MatrixExpr):
            if key_of(sup) in TRANSPOSE:
                return sp.Transpose(value)
            if isinstance(value, sp.MatrixSymbol) and (example := self.example_of(sup)) is not None:
                return example(value)
            return self.matrix_power(value, sup)
        return value ** self.power(sup)

    def known(self, name: str) -> bool:
        """Whether letters stand for one name (a loss, a function, a definition, dW) rather than a product."""
        vectors = self.v.vectors()
        return name in self.v.loss or name in self.v.prob_functions or name in self.v.definitions \
            or name in vectors or name in LOG_NAMES | {"exp", "diag", "Diag"} \
            or name in self.v.functions or OWN + name in self.v.scope or name in self.v.vector_keys \
            or name in PRELUDE_FUNCTIONS or name in LOG_SUM_EXP | SIGMOID_NAMES | {"softmax", "max", "min"} \
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
        if not isinstance(rel, Rel):
            raise Unsupported("an indicator needs a condition, as in 1[k = c] or 1[t > 0]", col)
        if rel.op == "=":
            try:
                (a,), (b,) = self.indices(rel.lhs), self.indices(rel.rhs)
                return sp.KroneckerDelta(a, b)
            except (Unsupported, ValueError):
                pass
        relation = _RELATIONS.get(rel.op)
        if relation is None:
            raise Unsupported(f"an indicator of {rel.op} is not read", col)
        if rel.op == "=":  # 1{y^{(i)} = j}: y holds class indices, one per example
            for entry_node, index_node in ((rel.lhs, rel.rhs), (rel.rhs, rel.lhs)):
                try:
                    (index,) = self.indices(index_node)
                except (Unsupported, ValueError):
                    continue
                entry = self.expr(entry_node)
                if isinstance(entry, sp.Indexed) and is_own(entry) and isinstance(index, sp.Symbol):
                    self.v.label_inputs[name_of(entry)[len(OWN):]] = CLASS_INDEX
                    return sp.KroneckerDelta(entry, index)  # (a Piecewise would leave its Sum)
        return sp.Piecewise((1, relation(self.expr(rel.lhs), self.expr(rel.rhs))), (0, True))  # 1[s_j - s_y + Δ > 0]

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
            if isinstance(item, Word) and item.command and item.name in ("odot", "circ") and factors and rest:
                factors.hadamard_next = True      # a ⊙ b: entry by entry with the factor before
                position += 1
                continue
            head = item.base if isinstance(item, Scripted) else item
            if isinstance(item, Scripted) and isinstance(item.base, Word) and item.base.command \
                    and item.base.name == "nabla" and item.sub is not None and item.sup is None and rest:
                factors.append(_differentiated(self.product(rest), (self.gradient_variable(item.sub),)))
                break   # \nabla_{\theta_r} J(\theta): the gradient of what follows, by θ_r
            if self.is_partial_operator(item) and rest:  # D_j S_i, \partial_j (...): by the j-th logit
                assert isinstance(item, Scripted) and item.sub is not None
                factors.append(D(self.expr(rest[0]), self.logit(item.sub, _col(item))))
                position += 2
                continue
            if isinstance(head, Word) and head.command and head.name == "sum":
                factors.append(self.big_sum(item, rest))
                break
            if isinstance(item, Frac) and (found := self.derivative_variable(item)) and found[1] is None:
                if not rest:
                    raise Unsupported("a derivative operator needs something to differentiate", item.col)
                used = _operand_length(rest)
                if used is None:  # no brackets: the operator takes the rest of the product
                    factors.append(_differentiated(self.product(rest), found[0]))
                    break
                factors.append(_differentiated(self.product(rest[:used]), found[0]))
                position += 1 + used
                continue
            if isinstance(item, Divide):  # a/b c: the product so far divided by b
                if _is_big_operator(item.divisor):  # e^{z_j} / \sum_k e^{z_k}: the sum takes the rest
                    divisor, position = self.big_sum(item.divisor, rest), len(items)
                    whole = sp.Mul(*factors) / divisor
                    factors.clear()
                    factors.append(whole)
                    continue
                divisor = self.expr(item.divisor)
                if not factors:
                    raise Unsupported("/ with nothing before it", item.col)
                whole = sp.Mul(*factors) / divisor
                factors.clear()
                factors.append(whole)
                position += 1
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

    def check_readable(self, key: str, node: Node) -> None:
        """A symbol whose definition could not be read is not a free input: the step cannot be decided."""
        if key in self.v.unreadable:
            raise Unsupported(f"{_display(key)} is defined on line {self.v.unreadable[key]} in a way derive cannot "
                              "read yet", _col(node))

    def is_partial_operator(self, item: Node) -> bool:
        """``\\partial_j`` or ``D_j`` (D not defined by the document): the derivative by the j-th input."""
        if not (isinstance(item, Scripted) and item.sub is not None and item.sup is None and not item.primes
                and isinstance(item.base, Word)):
            return False
        name = item.base.name
        return (item.base.command and name == "partial") or (not item.base.command and name == "D"
                                                              and OWN + "D" not in self.v.scope)

    def logit(self, sub: Node, col: int) -> sp.Expr:
        """Entry ``sub`` of the logits, whichever quantity holds them."""
        (index,) = self.indices(sub)
        if self.v.logits != "\x00" and not self.v.own_logits:
            return mdl.z[index]
        if self.v.own_logits:
            return own_vector(self.v.own_logits)[index]
        raise Unsupported("a derivative by the j-th input needs the document to say what the inputs are", col)

    def application(self, item: Node, rest: list[Node]) -> tuple[sp.Expr, int] | None:
        """A function applied to the next factor: log, exp, softmax(θ)_k, σ(θ_j), L(θ), 1(k = c)."""
        primed = isinstance(item, Scripted) and item.primes and item.sub is None and item.sup is None
        key = key_of(item.base) if isinstance(item, Scripted) and primed else key_of(item)
        following = rest[0] if rest else None
        if isinstance(item, Word) and item.name in LOG_NAMES | {"exp"}:
            if following is None:
                raise Unsupported(f"\\{item.name} without an argument", item.col)
            if _is_big_operator(following):  # \ln \sum_d e^{a_d}: the log of the whole sum
                argument = self.product(rest)
                return (sp.exp(argument) if item.name == "exp" else sp.log(argument)), len(rest)
            if len(rest) > 1 and _is_call(rest[1]) and self.application(following, rest[1:]) is not None:
                argument, used = self.application(following, rest[1:])  # \log \sigma(u): log of σ(u)
                return (sp.exp(argument) if item.name == "exp" else sp.log(argument)), 1 + used
            argument = self.expr(following)
            if isinstance(argument, sp.MatrixExpr):
                if item.name == "exp":
                    raise Unsupported("exp of a vector is not read (it would be the matrix exponential)", item.col)
                return mtx.ElementwiseLog(argument), 1  # log(p) entry by entry
            return (sp.exp(argument) if item.name == "exp" else sp.log(argument)), 1
        if key in self.v.loss and _is_call(following):
            return mdl.L, 1
        if key in ("max", "min") and isinstance(following, Group) and following.kind == "(" and len(following.items) > 1:
            values = [self.expr(node) for node in following.items]   # max(0, t)
            return self.with_superscript((sp.Max if key == "max" else sp.Min)(*values), following), 1
        if key in ("diag", "Diag") and following is not None and _is_call(following):
            script = following.sup if isinstance(following, Scripted) and following.sub is None else None
            argument = following.base if script is not None and isinstance(following, Scripted) else following
            vector = self.expr(argument)  # diag(p)^{-1}: the superscript is diag's, not p's
            if not isinstance(vector, sp.MatrixExpr):
                raise Unsupported("diag of something that is not a vector", _col(item))
            diagonal = sp.DiagMatrix(vector)
            return (self.matrix_power(diagonal, script) if script is not None else diagonal), 1
        head = item.base if isinstance(item, Scripted) and item.sub is None and not item.primes else item
        if isinstance(head, Word) and head.command and head.name in PRELUDE_FUNCTIONS and following is not None \
                and not _is_call(following):  # \tanh t, \tanh^2 a_j: the next factor is the argument
            value = PRELUDE_FUNCTIONS[head.name](self.expr(following))
            return (self.superscript(value, item.sup) if isinstance(item, Scripted) and item.sup is not None
                    else value), 1
        if key in self.v.functions and _is_call(following):
            return self.with_superscript(self.apply_defined(key, item, following), following), 1
        if key in self.v.later_functions and _is_call(following) and key not in self.v.prob_functions \
                and key not in PRELUDE_FUNCTIONS and key not in LOG_SUM_EXP | SIGMOID_NAMES | {"softmax", "sigma"}:
            # J = -log q_c - β H(q), with H(q) = ... only after it
            raise Unsupported(f"{_display(key)} is used before the line that defines it", _col(item))
        if key in self.v.prob_functions and _is_call(following) and not self.sigmoid_here(key, following):
            value = self.probability_call(following)
            sup = following.sup if isinstance(following, Scripted) else None
            return (self.superscript(value, sup) if sup is not None else value), 1
        if _is_call(following) and (applied := self.prelude_call(item, key, following)) is not None:
            return self.with_superscript(applied, following), 1
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
                return self.softmax_of(inner, self.indices(outer)[0], group.col)
            return mdl.yhat[self.indices(outer)]
        if isinstance(inner, Scripted) and key_of(inner.base) == self.v.logits and inner.sub is not None:
            return mdl.yhat[self.indices(inner.sub)]
        if isinstance(inner, Scripted) and inner.sub is not None and inner.sup is None and _is_name(inner.base):
            return self.softmax_of(inner.base, self.indices(inner.sub)[0], group.col)  # softmax(a_j): entry j
        if key_of(inner) == self.v.logits:  # σ(θ), the whole vector of probabilities
            return mtx.MATRICES["yhat"]
        raise Unsupported("softmax of the whole vector needs an index, as in softmax(z)_k", group.col)

    # -- functions: the prelude, the document's own, and arbitrary ones ------------------------------------

    def softmax_of(self, argument: Node, index: sp.Expr, col: int) -> sp.Expr:
        """Entry ``index`` of softmax(v) for any vector expression v (z/T, a - max a): e^{v_i} / Σ_d e^{v_d}."""
        vector = self.vector_value(argument, col)
        dummy = sp.Symbol(f"d·{index}", integer=True)
        return sp.exp(vector(index)) / sp.Sum(sp.exp(vector(dummy)), (dummy, 1, mdl.n))

    def vector_value(self, node: Node, col: int):  # type: ignore[no-untyped-def]
        """A vector-valued expression as a function of the entry index: z/T -> (i -> z_i / T)."""
        saved, self.whole_vectors = self.whole_vectors, True
        try:
            value = self.expr(node)
        finally:
            self.whole_vectors = saved
        if isinstance(value, sp.MatrixSymbol) and value.name in ("z", "yhat", "y", "b"):
            base = {"z": mdl.z, "yhat": mdl.yhat, "y": mdl.y, "b": mdl.b}[value.name]
            return lambda index: base[index]
        bases = [a for a in sp.preorder_traversal(value) if isinstance(a, sp.IndexedBase)] \
            if isinstance(value, sp.Basic) else []
        if not bases:
            raise Unsupported("this function takes a vector, as in softmax(z)", col)
        return lambda index: value.xreplace({b: b[index] for b in bases})

    def sigmoid_here(self, key: str | None, call: Node) -> bool:
        """Whether σ(...) is the logistic sigmoid here: σ of a scalar, or σ the document calls the sigmoid."""
        if key not in ("sigma", "sigmoid"):
            return False
        group = call.base if isinstance(call, Scripted) else call
        if isinstance(call, Scripted) and call.sub is not None:
            return False                                   # σ(z)_i: an entry of a vector
        if self.v.sigma == "sigmoid":
            return True
        inner = group.items[0] if isinstance(group, Group) and len(group.items) == 1 else None
        return inner is not None and not (isinstance(inner, Scripted) and inner.sub is not None) \
            and key_of(inner) not in self.v.vector_keys and key_of(inner) != self.v.logits

    def prelude_call(self, item: Node, key: str | None, call: Node) -> sp.Expr | None:
        """tanh(u), σ(u) the sigmoid, LSE(z), softmax(v)_i, and f(u), g'(u) arbitrary functions."""
        group = call.base if isinstance(call, Scripted) else call
        if not isinstance(group, Group):
            return None
        primes = item.primes if isinstance(item, Scripted) and item.sub is None and item.sup is None else 0
        head = item.base if primes else item
        key = key_of(head)
        if len(group.items) != 1:
            if key in FUNCTION_LETTERS or (key in self.v.functions):
                raise Unsupported(f"{_display(key or '?')} of several arguments is not read", group.col)
            return None
        inner, outer = group.items[0], call.sub if isinstance(call, Scripted) else None
        if key in PRELUDE_FUNCTIONS and not primes and outer is None:
            return PRELUDE_FUNCTIONS[key](self.expr(inner))
        if key in ("softmax", "sigma") and outer is not None and not primes:
            return self.softmax_of(inner, self.indices(outer)[0], group.col)
        if key in SIGMOID_NAMES or (key == "sigma" and self.sigmoid_here(key, call)):
            if outer is not None:
                return None
            argument = self.expr(inner)
            if primes > 1:
                raise Unsupported("σ'' is not read", _col(item))
            return Sigmoid(argument) * (1 - Sigmoid(argument)) if primes else Sigmoid(argument)
        if key == "sigma":
            raise Unsupported("\\sigma here could be the sigmoid or the softmax: define it, e.g. "
                              "\\sigma(x) = \\frac{1}{1+e^{-x}}, or write softmax(z)_i", _col(item))
        if key in LOG_SUM_EXP and not primes and outer is None:
            vector, dummy = self.vector_value(inner, group.col), sp.Symbol("d·lse", integer=True)
            return sp.log(sp.Sum(sp.exp(vector(dummy)), (dummy, 1, mdl.n)))
        defined = self.v.scope.quantities.get(OWN + key) if key else None
        if key in FUNCTION_LETTERS and outer is None and (primes or (defined is None or defined.indices) and (
                isinstance(item, Word) or defined is None and key not in self.v.vector_keys)):  # g(x), g'(x): a
            # call, even where g_i names a vector; g (1 - p) with g a number of the document's is a product
            self.v.arbitrary.add(key)
            return own_function(key + "'" * primes)(self.expr(inner))
        return None

    def apply_defined(self, key: str, item: Node, call: Node) -> sp.Expr:
        """A function the document defined, applied: its body with the arguments put in."""
        definition = self.v.functions[key]
        group, outer = (call.base, call.sub) if isinstance(call, Scripted) else (call, None)
        assert isinstance(group, Group)
        if len(group.items) != len(definition.parameters):
            raise Unsupported(f"{_display(key)} takes {len(definition.parameters)} argument(s)", group.col)
        primes = item.primes if isinstance(item, Scripted) else 0
        body = definition.body
        if definition.of_entry:  # S(z_k): the vector z, entry k
            entry = group.items[0]
            if primes or outer is not None or not (isinstance(entry, Scripted) and entry.sub is not None
                                                   and entry.sup is None):
                raise Unsupported(f"{_display(key)} is written of one entry, as in {_display(key)}(z_k)", group.col)
            call = Scripted(Group("(", (entry.base,), group.col), entry.sub)
            group, outer = call.base, call.sub
        if primes:
            if len(definition.parameters) != 1 or not isinstance(definition.parameters[0], sp.Symbol):
                raise Unsupported(f"{_display(key)}' of a vector is not read", _col(item))
            for _ in range(primes):
                body = sp.diff(body, definition.parameters[0])
        mapping: dict[sp.Basic, sp.Basic] = {}
        for parameter, node in zip(definition.parameters, group.items):
            if isinstance(parameter, sp.IndexedBase):
                saved, self.whole_vectors = self.whole_vectors, True
                try:
                    argument = self.expr(node)
                finally:
                    self.whole_vectors = saved
                if isinstance(argument, sp.MatrixSymbol):  # the canonical logits, say
                    argument = {"z": mdl.z, "yhat": mdl.yhat, "y": mdl.y}.get(argument.name, argument)
                if not isinstance(argument, sp.IndexedBase):
                    raise Unsupported(f"{_display(key)} takes a vector here", group.col)
                mapping[parameter] = argument
            else:
                mapping[parameter] = self.expr(node)
        if definition.index is not None:
            if outer is None:
                raise Unsupported(f"{_display(key)} is vector-valued: write the entry, as in "
                                  f"{_display(key)}(z)_i", group.col)
            mapping[definition.index] = self.indices(outer)[0]
        elif outer is not None:
            raise Unsupported(f"{_display(key)} is not vector-valued", group.col)
        return body.xreplace(mapping)

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
                if _runs_over_inputs(body, var):
                    upper = mdl.M
                return sp.Sum(body, (var, other, upper if upper is not None else mdl.n))
            if limit.op == "=" and upper is None:
                return body.xreplace({var: other})  # \sum_{j=i}: the single term j = i
            raise Unsupported("cannot read the limits of this sum", _col(item))
        indices = self.indices(limit)
        if len(indices) != 1:
            raise Unsupported("a sum over several indices at once is not read", _col(item))
        if isinstance(body, sp.MatrixExpr):  # Σ_t over the examples of a batch
            return mtx.BatchSum(body, indices[0], upper if upper is not None else mdl.N)
        if _runs_over_inputs(body, indices[0]):  # Σ_r W_jr x_r: r counts the layer's inputs, whatever its name
            upper = mdl.M
        return sp.Sum(body, (indices[0], 1, upper if upper is not None else mdl.n))

    def derivative_variable(self, frac: Frac) -> tuple[tuple[sp.Expr, ...], Node | None] | None:
        """For ∂F/∂x or d/dx: ((x,), F) with F None for the operator form; ∂²F/∂x∂y and ∂²F/∂x² give both
        variables; None if not a derivative."""
        den = _items(frac.den)
        num = _items(frac.num)
        order = _order(num[0]) if num else 1
        if order > 1:
            return self.higher_derivative(frac, order, num, den)
        marker = _derivative_marker(den[0]) if den else None
        if marker is None or not num:
            return None
        numerator_marker = _derivative_marker(num[0])
        if numerator_marker is None:
            return None
        var = self.variable(marker[1] + den[1:], frac)
        body_nodes = numerator_marker[1] + num[1:]
        if not body_nodes:
            return (var,), None
        body = body_nodes[0] if len(body_nodes) == 1 else Product(tuple(body_nodes))
        return (var,), body

    def variable(self, var_nodes: list[Node], frac: Frac) -> sp.Expr:
        """The variable of a derivative: an entry of a vector, a whole vector or matrix, or a scalar."""
        if not var_nodes:
            raise Unsupported("cannot read the variable of this derivative", frac.col)
        var = self.expr(var_nodes[0]) if len(var_nodes) == 1 else self.product(var_nodes)  # ∂σ(θ)_k
        if isinstance(var, sp.Symbol) and var.name.startswith(OWN):  # d/dt, ∂ℓ/∂u: by a scalar
            return var
        if not isinstance(var, (sp.Indexed, sp.MatrixSymbol, mtx.RowOf)):
            raise Unsupported("derivatives are read by entries of a vector, as in \\partial z_k", frac.col)
        return var

    def gradient_variable(self, sub: Node) -> sp.Expr:
        """The v of ∇_v: a vector (θ_r, x^{(i)}, ψ) or a matrix derive knows the shape of, or one entry."""
        var = self.expr(sub)
        if isinstance(var, sp.Indexed) and is_own(var) and len(var.indices) == 1 \
                and self.v.arity.get(name_of(var)[len(OWN):], 1) == 2:
            return self.own_row(name_of(var)[len(OWN):], var.indices[0])   # ∇_{θ_r}: by row r of θ_{rd}
        if isinstance(var, sp.MatrixExpr):
            return var
        raise Unsupported("∇ is read by a vector derive knows the entries of (θ_r of θ_{rd}, or the logits)",
                          _col(sub))

    def higher_derivative(self, frac: Frac, order: int, num: list[Node],
                          den: list[Node]) -> tuple[tuple[sp.Expr, ...], Node | None]:
        """∂²L/∂z_j∂z_k, ∂²L/∂z_j², d²/dt²: the variables, one per differentiation, and the body."""
        if order > MAX_ORDER:
            raise Unsupported(f"derivatives of order {order} are not read (at most {MAX_ORDER})", frac.col)
        chunks: list[list[Node]] = []
        for node in den:
            marker = _derivative_marker(_without_power(node))
            if marker is not None:
                power = _power(node)
                chunks.append(marker[1] if power is None else [_with_power(marker[1], power)])
            elif chunks:
                chunks[-1].append(node)
            else:
                raise Unsupported("cannot read the variables of this derivative", frac.col)
        variables: list[sp.Expr] = []
        for chunk in chunks:
            power = _power(chunk[-1]) if chunk else None
            if power is not None:
                chunk = chunk[:-1] + [_without_power(chunk[-1])]
            variables += [self.variable(chunk, frac)] * (power or 1)
        if len(variables) != order:
            raise Unsupported(f"a derivative of order {order} needs {order} variables below the line", frac.col)
        body_nodes = num[1:]
        if not body_nodes:
            return tuple(variables), None
        return tuple(variables), body_nodes[0] if len(body_nodes) == 1 else Product(tuple(body_nodes))


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
        self.hadamard_next = False
        self.literal_ones: list[int] = []

    def append(self, value: sp.Expr) -> None:
        if self.differential_next:
            value, self.differential_next = mtx.differential(value), False
        if self.hadamard_next:
            self.hadamard_next = False
            previous = self.pop()
            if isinstance(previous, sp.MatrixExpr) and isinstance(value, sp.MatrixExpr):
                value = sp.HadamardProduct(previous, value)
            elif isinstance(previous, sp.MatrixExpr) or isinstance(value, sp.MatrixExpr):
                raise mtx.ShapeMismatch("⊙ multiplies two vectors (or matrices) of one shape entry by entry")
            else:
                value = previous * value   # entries: δ_j ⊙ f'(a_j) is their product
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
    return None


def _order(node: Node) -> int:
    """∂²  or d² at the start of a numerator: the order of the derivative (1 for anything else)."""
    if isinstance(node, Scripted) and isinstance(node.base, Word) and node.sub is None \
            and (node.base.name == "partial" and node.base.command or node.base.name == "d") \
            and isinstance(node.sup, (Num, Group)):
        power = _power(node)
        if power is None:
            raise Unsupported("cannot read the order of this derivative", node.base.col)
        return power
    return 1


def _power(node: Node) -> int | None:
    """The whole-number exponent of a node (z_j^2, dt^2), else None."""
    sup = node.sup if isinstance(node, Scripted) else None
    if isinstance(sup, Group) and len(sup.items) == 1:
        sup = sup.items[0]
    if isinstance(sup, Num) and sup.value.isdigit() and 1 < int(sup.value) <= 9:
        return int(sup.value)
    return None


def _without_power(node: Node) -> Node:
    if isinstance(node, Scripted) and _power(node) is not None:
        return node.base if node.sub is None and not node.primes else Scripted(node.base, node.sub, None, node.primes)
    return node


def _with_power(nodes: list[Node], power: int) -> Node:
    """The variable nodes after a marker (dt^2 -> t) with the power put back, for the chunk to strip."""
    last = nodes[-1] if nodes else None
    if isinstance(last, Scripted):
        return Scripted(last.base, last.sub, Num(str(power), 0), last.primes)
    return Scripted(last, None, Num(str(power), 0)) if last is not None else Num(str(power), 0)


def example_label(sup: Node) -> tuple[Node, bool] | None:
    """x^{(i)} and x^{(i)\\top}: (the letter i, transposed) when a superscript labels an example; else None."""
    items = list(sup.items) if isinstance(sup, Group) and sup.kind == "" else [sup]
    if len(items) == 1 and isinstance(items[0], Product):
        items = list(items[0].items)
    if not items or len(items) > 2 or not (isinstance(items[0], Group) and items[0].kind == "("
                                           and len(items[0].items) == 1):
        return None
    letter = items[0].items[0]
    if not (isinstance(letter, Word) and not letter.command and len(letter.name) == 1 and letter.name.isalpha()):
        return None
    if len(items) == 2 and key_of(items[1]) not in TRANSPOSE:
        return None
    return letter, len(items) == 2


def _bold(node: Node) -> bool:
    """\\mathbf{w}, \\boldsymbol{\\phi}, \\vec{x}: a name written as a vector."""
    return isinstance(node, Accent) and node.kind in ("mathbf", "boldsymbol", "bm", "vec", "mathbfit")


def _differentiated(body: sp.Expr, variables: tuple[sp.Expr, ...]) -> sp.Expr:
    """∂/∂x_1 ... ∂/∂x_n of ``body``, nested one derivative per variable (each level keeps its variable)."""
    for var in variables:
        body = D(body, var)
    return body


def _items(node: Node) -> list[Node]:
    if isinstance(node, Product):
        return list(node.items)
    return [node]


_RELATIONS = {"=": sp.Eq, ">": sp.Gt, "<": sp.Lt, "\\geq": sp.Ge, "\\ge": sp.Ge, "\\leq": sp.Le, "\\le": sp.Le,
              "\\neq": sp.Ne, "\\ne": sp.Ne}


def _runs_over_inputs(body: sp.Expr, var: sp.Expr) -> bool:
    """Whether ``var`` indexes the inputs of derive's linear layer in ``body`` (x_r, or the column of W_jr)."""
    for entry in body.atoms(sp.Indexed) if isinstance(body, sp.Basic) else ():
        if entry.base == mdl.x and entry.indices[-1] == var:
            return True
        if entry.base == mdl.W and len(entry.indices) == 2 and entry.indices[1] == var:
            return True
    return False


def _holds_relation(node: Node) -> bool:
    inner = node.items[0] if isinstance(node, Group) and len(node.items) == 1 else node
    return isinstance(inner, Rel)


def _is_dots(node: Node) -> bool:
    return isinstance(node, Word) and node.command and node.name == "dots"


def _attach_sum_bodies(terms: tuple[tuple[int, Node], ...]) -> list[tuple[int, Node]]:
    """``\\sum_{k \\neq i} -s_k t_k``: a sum whose body starts with a sign takes the signed term as its body."""
    out: list[tuple[int, Node]] = []
    pending: tuple[int, list[Node]] | None = None
    for sign, term in terms:
        if pending is not None:
            outer_sign, items = pending
            body = Sum(((sign, term),))
            out.append((outer_sign, Product(tuple(items) + (body,))))
            pending = None
            continue
        items = list(term.items) if isinstance(term, Product) else [term]
        last = items[-1]
        if _is_big_operator(last) and (isinstance(last, Scripted) and last.sub is not None):
            pending = (sign, items)
            continue
        out.append((sign, term))
    if pending is not None:
        out.append((pending[0], Product(tuple(pending[1]))))
    return out


def _is_name(node: Node | None) -> bool:
    """A letter, a Greek letter, or either under an accent: something that can name a quantity."""
    if isinstance(node, Word):
        return not node.command or node.name.split("^")[0].split("_")[0] in GREEK   # θ^new: labelled
    if isinstance(node, Accent):
        return _is_name(node.body)
    if isinstance(node, Group) and node.kind == "" and len(node.items) == 1:
        return _is_name(node.items[0])
    return False


def _is_big_operator(node: Node | None) -> bool:
    head = node.base if isinstance(node, Scripted) else node
    return isinstance(head, Word) and head.command and head.name in ("sum", "prod")


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
