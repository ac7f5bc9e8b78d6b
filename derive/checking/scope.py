"""A document's own quantities: what each symbol it defines means, and the inputs it leaves free.

The document's definitions are its semantics (contract §5): ``S = \\sum_m e^{z_m}``, ``\\ell_j = y_j \\log p_j``
or a layer ``z_j = \\sum_i w_{ij} o_i + b_j`` each become a :class:`Quantity` whose entries are its body. A step
is read with these quantities *folded* (``S``, ``p_j`` as written) and judged in base form, where every defined
quantity is replaced by its body — except, inside a derivative by a defined quantity, that quantity itself,
which is then an independent variable (∂L/∂p_j treats the p_j as free, as people mean it).

Names of a document's own quantities carry the prefix ``OWN`` so that they never meet derive's built-in names
(a document's ``x`` is not the layer input ``x`` of the catalogue).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import count

import sympy as sp

OWN = "u."  # prefix of every name a document introduces (inputs and definitions)


def own_vector(key: str) -> sp.IndexedBase:
    return sp.IndexedBase(OWN + key)


def own_scalar(key: str) -> sp.Symbol:
    return sp.Symbol(OWN + key, real=True)


def own_function(key: str) -> type[sp.Function]:
    return sp.Function(OWN + key)  # type: ignore[return-value]


def is_own(expr: sp.Basic) -> bool:
    """Whether ``expr`` is a name (vector base, entry or scalar) the document introduced."""
    if isinstance(expr, sp.Indexed):
        return str(expr.base.label).startswith(OWN)
    if isinstance(expr, sp.IndexedBase):
        return str(expr.label).startswith(OWN)
    return isinstance(expr, sp.Symbol) and expr.name.startswith(OWN)


def name_of(expr: sp.Basic) -> str:
    """The internal name of an entry, a vector or a scalar."""
    if isinstance(expr, sp.Indexed):
        return str(expr.base.label)
    if isinstance(expr, sp.IndexedBase):
        return str(expr.label)
    return expr.name  # type: ignore[no-any-return, attr-defined]


_fresh = count(1)


def rename_bound(expr: sp.Expr) -> sp.Expr:
    """Give every summation index of a definition's body a name of its own, so that substituting the
    definition's indices can never capture one (p_i = e^{z_i}/Σ_k e^{z_k} used as p_k)."""
    def fresh(s: sp.Sum) -> sp.Sum:
        body, limits = s.function, []
        for var, lo, hi in s.limits:
            new = sp.Symbol(f"{var.name}·{next(_fresh)}", integer=True)
            body = body.xreplace({var: new})
            limits.append((new, lo, hi))
        return sp.Sum(body, *limits)
    return expr.replace(lambda e: isinstance(e, sp.Sum), fresh)


@dataclass(frozen=True)
class Quantity:
    """A defined quantity: ``name`` (internal), the indices of its entries, its body (folded), and where."""

    name: str
    indices: tuple[sp.Symbol, ...]
    body: sp.Expr
    line: int


@dataclass
class Scope:
    """The quantities a document has defined so far, in order."""

    quantities: dict[str, Quantity] = field(default_factory=dict)

    def define(self, quantity: Quantity) -> None:
        self.quantities[quantity.name] = Quantity(quantity.name, quantity.indices, rename_bound(quantity.body),
                                                  quantity.line)

    def __contains__(self, name: str) -> bool:
        return name in self.quantities

    def expand(self, expr: sp.Expr, keep: frozenset[str] = frozenset(), depth: int = 0) -> sp.Expr:
        """Replace defined quantities by their bodies, recursively, keeping ``keep`` (the variables of the
        derivatives around) as they are."""
        if depth > 12:
            raise RecursionError("definitions refer to each other in a circle")
        if not self.quantities or not expr.args and not isinstance(expr, sp.Symbol):
            return expr
        if isinstance(expr, sp.Indexed):
            name = name_of(expr)
            quantity = self.quantities.get(name)
            if quantity is None or name in keep:
                return expr
            if len(quantity.indices) != len(expr.indices):
                raise ValueError(f"{name[len(OWN):]} is defined with {len(quantity.indices)} indices "
                                 f"and used with {len(expr.indices)}")
            body = quantity.body.xreplace(dict(zip(quantity.indices, expr.indices)))
            return self.expand(body, keep, depth + 1)
        if isinstance(expr, sp.Symbol):
            quantity = self.quantities.get(expr.name)
            if quantity is None or quantity.indices or expr.name in keep:
                return expr
            return self.expand(quantity.body, keep, depth + 1)
        if isinstance(expr, sp.Derivative):
            var = expr.variables[0]
            inner = self.expand(expr.expr, keep | {name_of(var)} if is_own(var) else keep, depth)
            return sp.Derivative(inner, *expr.variable_count, evaluate=False)
        if isinstance(expr, sp.Sum):
            return sp.Sum(self.expand(expr.function, keep, depth), *expr.limits)
        args = [self.expand(a, keep, depth) for a in expr.args]
        if all(a is b for a, b in zip(args, expr.args)):
            return expr
        return expr.func(*args)

    def defined_in(self, expr: sp.Expr) -> set[str]:
        """The defined quantities ``expr`` still mentions (kept leaves, after expansion)."""
        found = {name_of(e) for e in expr.atoms(sp.Indexed) if name_of(e) in self.quantities}
        return found | {s.name for s in expr.atoms(sp.Symbol) if s.name in self.quantities}
