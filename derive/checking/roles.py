"""Which symbol of a document plays which role (logits, probabilities, labels, loss, classes, target), read
off its own definitions and prose, the way a reader would.

``p_j = \\frac{e^{a_j}}{\\sum_k e^{a_k}}`` makes p the probabilities and a the logits; ``L = -\\sum_j y_j \\log p_j``
makes y the labels and L the loss; ``L = -\\log p_c`` says the target is a class index c; "one-hot" or "y is a
probability distribution" in the prose says what the labels are. Where the definitions are silent, the
derivatives the document takes (∂p_j/∂z_k) tell probabilities from logits. Front matter overrides all of this.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import sympy as sp

from .scope import OWN, Scope, name_of

ROLE_KEYS = ("logits", "probs", "labels", "loss", "classes", "batch")


@dataclass
class Roles:
    """Role -> the document's key (``key_of`` form: ``hat(y)``, ``theta``, ``p``); plus the target."""

    found: dict[str, str] = field(default_factory=dict)
    target: str | None = None          # "one-hot", "distribution", "class c", "any"
    probs_line: int | None = None      # the definition that made the probabilities (not a step)
    loss_line: int | None = None
    guessed: bool = False              # probabilities and logits read off the derivatives, not a definition
    loss_guessed: bool = False         # the loss read off ∂L/∂z_k, not a definition
    defined: set[str] = field(default_factory=set)   # every key the document defines
    layer: tuple[str, ...] | None = None              # the logits as Σ_r W_jr x_r + b_j: W, x, b, input size
    scope: Scope | None = None                          # the definitions as first read, with no role assigned
    functions: set[str] = field(default_factory=set)     # every function the document defines, anywhere
    label_inputs: dict[str, int] = field(default_factory=dict)  # undefined arrays multiplying log p in a loss
    # (Y_nk), with the position of their class index

    def layer_of(self, logits: str) -> tuple[str, ...] | None:
        """(W, x, b) when the document defines ``logits`` as a linear layer Σ_r W_jr x_r + b_j."""
        quantity = self.scope.quantities.get(OWN + logits) if self.scope else None
        if quantity is None or len(quantity.indices) > 1:
            return None
        if not quantity.indices:  # z = Wx + b, whole vectors
            terms = sp.Add.make_args(quantity.body)
            product = next((t for t in terms if isinstance(t, sp.Mul)), None)
            bias = next((t for t in terms if t is not product), None)
            if len(terms) != 2 or product is None or len(product.args) != 2 or bias is None:
                return None
            keys = (_key(product.args[1]), _key(product.args[0]), _key(bias))  # SymPy sorts W after x: u.W, u.x
            names = sorted(keys[:2], key=lambda k: (not k[:1].isupper(), k)) if all(keys) else []
            return (names[0], names[1], keys[2], "") if len(names) == 2 and keys[2] else None
        return match_layer(quantity.body, quantity.indices[0])

    def __bool__(self) -> bool:
        return bool(self.found) or self.target is not None


def _key(expr: sp.Basic) -> str | None:
    name = name_of(expr) if isinstance(expr, (sp.Indexed, sp.IndexedBase, sp.Symbol)) else ""
    return name[len(OWN):] if name.startswith(OWN) else None


def _factors(expr: sp.Expr) -> list[sp.Expr]:
    return list(sp.Mul.make_args(expr))


def match_softmax(body: sp.Expr, index: sp.Symbol) -> tuple[str, sp.Expr] | None:
    """``e^{a_index} / Σ_d e^{a_d}`` -> (key of a, upper limit of the sum); None if it is not softmax."""
    numerator, sums = None, []
    for factor in _factors(body):
        if isinstance(factor, sp.exp) and isinstance(factor.args[0], sp.Indexed) \
                and factor.args[0].indices == (index,):
            numerator = factor.args[0].base
        elif isinstance(factor, sp.Pow) and factor.exp == -1 and isinstance(factor.base, sp.Sum):
            sums.append(factor.base)
        else:
            return None
    if numerator is None or len(sums) != 1 or len(sums[0].limits) != 1:
        return None
    total = sums[0]
    var, _, upper = total.limits[0]
    inner = total.function
    if isinstance(inner, sp.exp) and isinstance(inner.args[0], sp.Indexed) \
            and inner.args[0].base == numerator and inner.args[0].indices == (var,):
        key = _key(numerator)
        return (key, upper) if key else None
    return None


def match_layer(body: sp.Expr, index: sp.Symbol) -> tuple[str, str, str, str] | None:
    """``Σ_r W_{index r} x_r + b_index`` -> the keys of W, x, b: a linear layer, as derive's own model has it."""
    terms = sp.Add.make_args(body)
    if len(terms) != 2:
        return None
    total = next((t for t in terms if isinstance(t, sp.Sum)), None)
    bias = next((t for t in terms if isinstance(t, sp.Indexed) and t.indices == (index,)), None)
    if total is None or bias is None or len(total.limits) != 1:
        return None
    var = total.limits[0][0]
    factors = _factors(total.function)
    weight = next((f for f in factors if isinstance(f, sp.Indexed) and f.indices == (index, var)), None)
    vector = next((f for f in factors if isinstance(f, sp.Indexed) and f.indices == (var,)), None)
    if len(factors) != 2 or weight is None or vector is None:
        return None
    keys = (_key(weight), _key(vector), _key(bias))
    if not all(keys) or len(set(keys)) != 3:
        return None
    return keys + (_key(total.limits[0][2]) or "",)  # type: ignore[return-value]


def match_cross_entropy(body: sp.Expr, probs: str | None) -> tuple[str, str | None] | None:
    """``-Σ_j y_j log p_j`` -> (labels key, None); ``-log p_c`` -> ("", c): the class-index target."""
    terms = _factors(body)
    if sp.S.NegativeOne not in terms:
        return None
    rest = [t for t in terms if t != sp.S.NegativeOne]
    if len(rest) == 1 and isinstance(rest[0], sp.log) and isinstance(rest[0].args[0], sp.Indexed):
        entry = rest[0].args[0]
        if _key(entry) == probs and len(entry.indices) == 1 and isinstance(entry.indices[0], sp.Symbol):
            return "", str(entry.indices[0])
        return None
    if len(rest) != 1 or not isinstance(rest[0], sp.Sum):
        return None
    total = rest[0]
    var = total.limits[0][0]
    pieces = _factors(total.function)
    logs = [p for p in pieces if isinstance(p, sp.log)]
    labels = [p for p in pieces if isinstance(p, sp.Indexed)]
    if len(logs) == 1 and len(labels) == 1 and len(pieces) == 2 and labels[0].indices == (var,):
        inside = logs[0].args[0]
        if isinstance(inside, sp.Indexed) and inside.indices == (var,) and (probs is None or _key(inside) == probs):
            key = _key(labels[0])
            return (key, None) if key else None
    return None


def class_axis(body: sp.Expr, indices: tuple[sp.Symbol, ...]) -> int | None:
    """Where a quantity's entries are softmax probabilities, ``e^{Z_{nk}} / Σ_j e^{Z_{nj}}`` (rows) or
    ``e^{Z_{ki}} / Σ_j e^{Z_{ji}}`` (columns): the position of the class index, else None."""
    if not indices:
        return None
    numerator, sums = None, []
    for factor in _factors(body):
        if isinstance(factor, sp.exp) and isinstance(factor.args[0], sp.Indexed) \
                and factor.args[0].indices == indices:
            numerator = factor.args[0].base
        elif isinstance(factor, sp.Pow) and factor.exp == -1 and isinstance(factor.base, sp.Sum):
            sums.append(factor.base)
        else:
            return None
    if numerator is None or len(sums) != 1 or len(sums[0].limits) != 1:
        return None
    var = sums[0].limits[0][0]
    inner = sums[0].function
    if not (isinstance(inner, sp.exp) and isinstance(inner.args[0], sp.Indexed) and inner.args[0].base == numerator):
        return None
    summed = inner.args[0].indices
    differing = [position for position, (a, b) in enumerate(zip(summed, indices)) if a != b]
    if len(summed) != len(indices) or len(differing) != 1 or summed[differing[0]] != var:
        return None
    return differing[0]


def label_inputs(scope: Scope) -> dict[str, int]:
    """The undefined arrays that multiply the log of a probability in some definition (the labels Y of
    L = -1/N Σ_n Σ_k Y_nk log P_nk), each with the position of its class index: the sampler draws them as the
    target says (one-hot along that index...)."""
    axes = {name: axis for name, q in scope.quantities.items()
            if (axis := class_axis(q.body, q.indices)) is not None}
    found: dict[str, int] = {}
    for quantity in scope.quantities.values():
        for term in quantity.body.atoms(sp.Mul):
            logs = [f.args[0] for f in term.args if isinstance(f, sp.log) and isinstance(f.args[0], sp.Indexed)
                    and name_of(f.args[0]) in axes]
            entries = [f for f in term.args if isinstance(f, sp.Indexed) and _key(f)   # free where the loss is
                       and (name_of(f) not in scope.quantities or scope.quantities[name_of(f)].line > quantity.line)]
            if len(logs) != 1 or len(entries) != 1 or len(entries[0].indices) != len(logs[0].indices):
                continue
            class_index = logs[0].indices[axes[name_of(logs[0])]]
            if class_index in entries[0].indices:
                found[_key(entries[0]) or ""] = list(entries[0].indices).index(class_index)
    found.pop("", None)
    return found


_ONE_HOT = re.compile(r"(?<!not a )(?<!not )(?<!non-)one[- ]?hot", re.I)
_ANY = re.compile(r"multi[- ]?(hot|label)", re.I)
_DISTRIBUTION = re.compile(r"soft (labels?|targets?)|label smoothing|smoothed labels?|"
                           r"(labels?|targets?)[^.]{0,80}(probability )?distribution|"
                           r"distribution[^.]{0,40}(labels?|targets?)", re.I)
_CLASS = re.compile(r"\$\\?([A-Za-z](?:_\{?[A-Za-z]\}?)?)\$\s+(?:is|denotes|be)\s+the\s+(?:index\s+of\s+the\s+)?"
                    r"(?:correct|true|target|right|ground[- ]truth)\s+(?:class|label)", re.I)


_HOT_AT = re.compile(r"only\s+\$\\?[A-Za-z]+_\{?([a-z])\}?\$\s+is\s+(?:non-?zero|one|1|equal to (?:1|one))", re.I)


def target_in_prose(text: str) -> str | None:
    """The target a document states in words: "c is the correct class", multi-hot (anything), a
    distribution, one-hot — the more specific statement first, since a text often names the others in
    passing ("not a one-hot vector")."""
    if (found := _CLASS.search(text)) is not None:
        return f"class {found.group(1)}"
    if (found := _HOT_AT.search(text)) is not None:
        return f"one-hot {found.group(1)}"
    if _ANY.search(text):
        return "any"
    if _DISTRIBUTION.search(text):
        return "distribution"
    if _ONE_HOT.search(text):
        return "one-hot"
    return None


def infer(scope: Scope, derivative_pairs: list[tuple[str, str]], loss_candidates: list[str]) -> Roles:
    """Roles from the definitions in ``scope`` (folded bodies in the document's own names), then from the
    derivatives the document takes when no definition decides."""
    roles = Roles()
    for name, quantity in scope.quantities.items():
        key = name[len(OWN):]
        if len(quantity.indices) == 1 and "probs" not in roles.found:
            found = match_softmax(quantity.body, quantity.indices[0]) \
                or match_softmax(scope.expand(quantity.body), quantity.indices[0])
            if found is not None:
                logits, upper = found
                roles.found.update(probs=key, logits=logits)
                roles.probs_line = quantity.line
                if _key(upper):
                    roles.found["classes"] = _key(upper) or ""
    for name, quantity in scope.quantities.items():
        key = name[len(OWN):]
        if quantity.indices or "loss" in roles.found:
            continue
        found_ce = match_cross_entropy(quantity.body, roles.found.get("probs")) \
            or match_cross_entropy(scope.expand(quantity.body, frozenset({OWN + roles.found.get("probs", "")})),
                                   roles.found.get("probs"))  # E = -Σ_j ℓ_j, the ℓ_j written out
        if found_ce is not None:
            labels, label_index = found_ce
            roles.found["loss"] = key
            roles.loss_line = quantity.line
            if labels:
                roles.found["labels"] = labels
            if label_index:
                roles.target = f"class {label_index}"
    if "probs" not in roles.found and derivative_pairs:
        numerators = {a for a, _ in derivative_pairs}
        for probs, logits in derivative_pairs:
            if probs != logits and OWN + probs not in scope and logits not in numerators | {"y"}:
                roles.found.setdefault("probs", probs)
                roles.found.setdefault("logits", logits)
                roles.guessed = True
                break
    if "loss" not in roles.found and loss_candidates:
        roles.found["loss"] = loss_candidates[0]
        roles.loss_guessed = True
    roles.label_inputs = {key: axis for key, axis in label_inputs(scope).items() if key not in roles.found.values()}
    return roles
