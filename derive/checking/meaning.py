"""What a document's symbols mean before any step is judged: which names are vectors, what each definition
says, and which symbol plays which role (``roles``), so that steps are read in the document's own terms.

Two passes over the document: a first one reads every definition with no role assigned (all names are the
document's own) and infers the roles from them; the checker's own pass then reads the document in order with
the roles known, defining each quantity where the document defines it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import sympy as sp

from .. import model as mdl
from ..notation import Notation
from .document import Chain, Document
from .interpret import FunctionDefinition, Interpreter, Vocabulary, example_label, key_of, notation_key
from .roles import Roles, infer, target_in_prose
from .scope import OWN, Quantity, own_scalar, own_vector
from .syntax import Accent, Frac, Group, Node, Num, Product, Rel, Scripted, Unsupported, Word, parse, walk

NOBODY = "\x00"  # a key no document can write: a role that is not mapped onto derive's built-in names
INDEX_LETTERS = set("ijkl")  # a bare i = ... states an index value, not a definition


def parse_or_none(text: str) -> Node | None:
    try:
        return parse(text)
    except Unsupported:
        return None
    except Exception:  # noqa: BLE001 - the grammar must never take a document down; the step says unknown
        return None


_MATRIX_SIGNS = re.compile(r"\^\s*\{?\s*(?:T|\\mathsf\{T\})\b|\\top\b|\\intercal\b|\^\s*\{\s*\(|\\mathbin\s*\{\s*:\s*\}|\s:\s|"
                           r"\\operatorname\{[Dd]iag\}|\\odot|\\mathrm\{d\}|\bd[LWb]\b")


@dataclass
class Usage:
    """How the document writes its symbols, from every side of every chain."""

    vector_keys: set[str] = field(default_factory=set)
    derivative_pairs: list[tuple[str, str]] = field(default_factory=list)
    loss_candidates: list[str] = field(default_factory=list)
    sizes: dict[str, str] = field(default_factory=dict)   # upper limits of sums: "classes" or "batch"
    size_votes: dict[str, list[int]] = field(default_factory=dict)
    matrix_mode: bool = False   # the document writes transposes, A : B, diag(...), differentials
    arity: dict[str, int] = field(default_factory=dict)   # the most indices each name is written with
    labelled: set[str] = field(default_factory=set)       # names written with an example label, x^{(i)}
    labelled_entries: set[str] = field(default_factory=set)   # ... and an index of their own, x^{(i)}_d
    transposed: set[str] = field(default_factory=set)     # names written with a transpose, ψ^T
    compared: set[str] = field(default_factory=set)       # names a side of an equation inside an expression
    letter_sizes: dict[str, str] = field(default_factory=dict)   # a summation letter -> its upper limit (d -> D)
    index_letters: dict[str, tuple[str, str]] = field(default_factory=dict)  # X_{nd}: X -> (n, d), as first written
    # (1{y^{(i)} = j}: y holds class indices)

    @classmethod
    def of(cls, document: Document) -> "Usage":
        usage = cls()
        usage.matrix_mode = any(_MATRIX_SIGNS.search(side.text) for chain in document.chains for side in chain.sides)
        for chain in document.chains:
            for side in chain.sides:
                node = parse_or_none(side.text)
                if node is not None:
                    usage.visit(node)
        return usage

    def visit(self, node: object) -> None:
        for item in walk(node):
            if isinstance(item, Scripted) and item.sub is not None:
                key = key_of(item.base)
                key = key + "'" * item.primes if key else key
                if key and _namelike(item.base):
                    self.vector_keys.add(key)
            if isinstance(item, Scripted) and _namelike(item.base) and (key := key_of(item.base)):
                labelled = item.sup is not None and example_label(item.sup) is not None
                if labelled:
                    self.labelled.add(key)
                    if item.sub is not None:
                        self.labelled_entries.add(key)
                if item.sup is not None and key_of(item.sup) in ("T", "top", "intercal") and item.sub is None:
                    self.transposed.add(key)
                count = _index_count(item.sub) + labelled
                self.arity[key] = max(self.arity.get(key, 0), count)
                letters = _letters(item.sub)
                if len(letters) == 2 and not labelled:
                    self.index_letters.setdefault(key, (letters[0], letters[1]))
            if isinstance(item, Rel) and item.op == "=":
                for side in (item.lhs, item.rhs):
                    if isinstance(side, Scripted) and _namelike(side.base) and (key := key_of(side.base)):
                        self.compared.add(key)
            if isinstance(item, Frac):
                self.derivative(item)
            if isinstance(item, Product):
                self.sums(list(item.items))

    def sums(self, items: list[Node]) -> None:
        """``\\sum_{n=1}^{N} ... y_{nj}``: N counts examples when the summation index leads a double index;
        any other upper limit counts classes."""
        for position, item in enumerate(items):
            if not (isinstance(item, Scripted) and isinstance(item.base, Word) and item.base.name == "sum"
                    and item.sup is not None):
                continue
            size = key_of(item.sup)
            if not size or not _namelike(item.sup):
                continue
            var = key_of(_sum_variable(item.sub))
            if not var:
                continue
            self.letter_sizes.setdefault(var, size)
            batch, classes = _index_positions(items[position + 1:], var)
            votes = self.size_votes.setdefault(size, [0, 0])
            votes[0] += batch
            votes[1] += classes
            self.sizes[size] = "batch" if votes[0] and not votes[1] else "classes"

    def derivative(self, frac: Frac) -> None:
        num = list(frac.num.items) if isinstance(frac.num, Product) else [frac.num]
        den = list(frac.den.items) if isinstance(frac.den, Product) else [frac.den]
        if len(num) != 2 or len(den) != 2 or not _is_marker(num[0]) or not _is_marker(den[0]):
            return
        top, bottom = num[1], den[1]
        if isinstance(bottom, Scripted) and bottom.sub is not None and _namelike(bottom.base):
            variable = key_of(bottom.base)
            if isinstance(top, Scripted) and top.sub is not None and _namelike(top.base):
                self.derivative_pairs.append((key_of(top.base) or "", variable or ""))
            elif _namelike(top) and key_of(top):
                self.loss_candidates.append(key_of(top) or "")


def _index_count(sub: Node | None) -> int:
    """How many indices a subscript holds, as written: ``jd`` and ``{j,d}`` two, ``k`` one."""
    if sub is None:
        return 0
    if isinstance(sub, Group) and sub.kind in ("", ","):
        return sum(_index_count(item) for item in sub.items)
    if isinstance(sub, Product):
        return len(sub.items)
    if isinstance(sub, Word) and not sub.command and sub.name.isalpha():
        return len(sub.name)
    return 1


def _letters(sub: Node | None) -> tuple[str, ...]:
    """The index letters of a subscript written as letters only (``nd``, ``{n,d}``), else ()."""
    if isinstance(sub, Word) and not sub.command and sub.name.isalpha():
        return tuple(sub.name)
    if isinstance(sub, Group) and sub.kind in ("", ","):
        found = tuple(letter for item in sub.items for letter in _letters(item))
        return found if len(found) == sum(_index_count(item) for item in sub.items) else ()
    return ()


def _sum_variable(sub: Node | None) -> Node | None:
    inner = sub.items[0] if isinstance(sub, Group) and len(sub.items) == 1 else sub
    return inner.lhs if isinstance(inner, Rel) else inner


def _index_positions(nodes: list[Node], var: str) -> tuple[int, int]:
    """How often ``var`` leads a double index (y_{nj}: an example index) and stands alone (y_j: a class)."""
    leads = alone = 0
    for item in walk(tuple(nodes)):
        if isinstance(item, Scripted) and item.sup is not None \
                and any(isinstance(n, Group) and n.kind == "(" for n in walk(item.sup)) \
                and any(isinstance(n, Word) and n.name == var for n in walk(item.sup)):
            leads += 1   # x^{(t)}: example t
        if isinstance(item, Scripted) and item.sub is not None and key_of(item.base) not in ("delta", "I"):
            sub = item.sub.items[0] if isinstance(item.sub, Group) and len(item.sub.items) == 1 else item.sub
            if isinstance(sub, Word) and not sub.command and sub.name == var:
                alone += 1
            elif isinstance(sub, Word) and not sub.command and len(sub.name) == 2 and sub.name[0] == var:
                leads += 1
            elif isinstance(sub, (Group, Product)) and len(sub.items) == 2 and key_of(sub.items[0]) == var:
                leads += 1
    return leads, alone


def _is_marker(node: Node) -> bool:
    return (isinstance(node, Word) and ((node.command and node.name == "partial") or node.name == "d"))


def _namelike(node: Node) -> bool:
    if isinstance(node, Word):   # (y^LS, D_mean: a name with a label of its own)
        return node.name != "partial" and (node.command or len(re.split(r"[_^]", node.name)[0]) <= 3)
    if isinstance(node, Accent):
        return _namelike(node.body)
    return isinstance(node, Group) and node.kind == "" and len(node.items) == 1 and _namelike(node.items[0])


@dataclass(frozen=True)
class Head:
    """The left side of a definition: ``S``, ``p_j``, ``w_{ij}``, ``\\sigma(x)``, ``LS(z)_i``."""

    key: str
    indices: Node | None = None
    parameters: tuple[Node, ...] | None = None
    outer: Node | None = None


def head_of(node: Node) -> Head | None:
    """The defined name, if ``node`` is something a definition can introduce."""
    if isinstance(node, Product) and len(node.items) == 2:
        name, call = node.items
        group, outer = (call.base, call.sub) if isinstance(call, Scripted) and call.sup is None else (call, None)
        if _namelike(name) and isinstance(group, Group) and group.kind == "(" and not isinstance(name, Scripted):
            key = key_of(name)
            return Head(key, parameters=group.items, outer=outer) if key else None
        return None
    if isinstance(node, Scripted) and node.sup is not None and not node.primes and _namelike(node.base):
        labelled = example_label(node.sup)   # p^{(i)}_j = ...: entries by example i (and class j)
        key = key_of(node.base)
        if labelled is None or labelled[1] or not key:
            return None
        subscript = () if node.sub is None else (node.sub,)
        return Head(key, indices=Group("", (labelled[0], *subscript), _col_of(node)))
    if isinstance(node, Scripted):
        if node.sup is not None or node.primes or node.sub is None or not _namelike(node.base):
            return None
        key = key_of(node.base)
        return Head(key, indices=node.sub) if key else None
    if _namelike(node) and not (isinstance(node, Word) and node.name in INDEX_LETTERS and len(node.name) == 1):
        key = key_of(node)
        return Head(key) if key else None
    return None


class Definer:
    """Reads definitions into an interpreter's vocabulary: quantities into the scope, functions apart."""

    def __init__(self, interpreter: Interpreter) -> None:
        self.interpreter = interpreter
        self.v = interpreter.v

    def defines(self, head: Head, rhs: Node) -> bool:
        """Whether ``head = rhs`` introduces ``head``: a name not yet defined, not the labels, not recursive."""
        key = head.key
        if key in self.v.functions or (OWN + key in self.v.scope or key in self.v.definitions) \
                and not (head.indices is not None and self._whole_only(key)):
            return False
        if key == self.v.labels and not _numeric(head.indices) or key == self.v.logits and head.indices is None:
            return False   # y_k = 1 states a value; y_0 = 1 - y defines one entry
        if len(key) > 1 and key[0] == "d" and self.interpreter.known(key):  # dL, dW: differentials, not names
            return False
        if key in self.v.arbitrary and head.parameters is not None:  # f used for any function so far: a later
            # f(t) = log(1 + e^t) is an example
            return False
        return not _mentions(rhs, key)

    def _whole_only(self, key: str) -> bool:
        """Whether ``key`` was defined as a whole (Z = XW + b) with no entries: a definition of its entries
        (Z_{nk} = ...) then says more, and replaces it."""
        if key in self.v.definitions:
            return self.v.definitions[key][0] is None
        return not self.v.scope.quantities[OWN + key].indices

    def define(self, head: Head, rhs: Node, line: int) -> None:
        """Read ``rhs`` and record it; raises Unsupported when the body cannot be read."""
        reader = self.interpreter
        if head.parameters is not None:
            parameters, outer = head.parameters, head.outer
            of_entry = len(parameters) == 1 and outer is None and isinstance(parameters[0], Scripted) \
                and parameters[0].sub is not None and parameters[0].sup is None and _namelike(parameters[0].base)
            if of_entry:  # S(z_i) = e^{z_i} / Σ_j e^{z_j}: a function of one entry, read as S(z)_i
                parameters, outer = (parameters[0].base,), parameters[0].sub
            if not all(key_of(p) and _namelike(p) for p in parameters) and head.outer is None \
                    and not of_entry and OWN + head.key not in self.v.scope:
                # E(𝐰_1, ..., 𝐰_K) = ...: the arguments only name what E depends on; E is a quantity
                self.v.scope.define(Quantity(OWN + head.key, (), reader.expr(rhs), line))
                return
            bound: dict[str, sp.Expr] = {}
            for parameter in parameters:
                name = key_of(parameter)
                if not name or not _namelike(parameter):
                    raise Unsupported("a function's parameters must be names, as in \\sigma(x)")
                vector = outer is not None or _indexed_in(rhs, name) or name in self.v.vector_keys \
                    and not _bare_in(rhs, name)   # σ(z) = 1/(1 + e^{-z}): z a number here, even if z_t elsewhere
                internal = f"{head.key}.{name}"
                bound[name] = own_vector(internal) if vector else own_scalar(internal)
            index = reader.indices(outer)[0] if outer is not None else None
            saved, reader.bound = reader.bound, {**reader.bound, **bound}
            try:
                body = reader.expr(rhs)
            finally:
                reader.bound = saved
            if not isinstance(index, sp.Symbol) and index is not None:
                raise Unsupported("a function's entry index must be a letter, as in LS(z)_i")
            self.v.functions[head.key] = FunctionDefinition(tuple(bound.values()), body, index, of_entry)
            return
        indices: tuple[sp.Symbol, ...] = ()
        if head.indices is not None:
            self.v.definitions.pop(head.key, None)
            self.v.scope.quantities.pop(OWN + head.key, None)
        whole = _whole_vector_call(rhs)
        if head.indices is None and whole is not None:  # p = softmax(z): entry by entry, p_ι = softmax(z)_ι
            index = sp.Symbol("ι", integer=True)
            body = reader.softmax_of(whole, index, 0)
            self.v.scope.define(Quantity(OWN + head.key, (index,), body, line))
            return
        if head.indices is not None:
            found = reader.indices(head.indices)
            if all(ix.is_Integer for ix in found):  # p_1 = ...: that entry alone, a scalar of its own
                single = f"{head.key}_{'_'.join(str(ix) for ix in found)}"
                self.v.scope.define(Quantity(OWN + single, (), reader.expr(rhs), line))
                return
            if not all(isinstance(ix, sp.Symbol) for ix in found):
                raise Unsupported("a definition's indices must be letters, as in p_j")
            indices = tuple(found)  # type: ignore[arg-type]
        body = reader.expr(rhs)
        if isinstance(body, sp.MatrixExpr) and not indices:  # P = Diag(p): a matrix, used where it is named
            self.v.definitions[head.key] = (None, body)
            return
        if isinstance(body, (sp.MatrixExpr, sp.IndexedBase)):
            raise Unsupported("a definition of a whole vector is read entry by entry: write p_j = ...")
        self.v.scope.define(Quantity(OWN + head.key, indices, body, line))


def _col_of(node: Node) -> int:
    while not hasattr(node, "col") and hasattr(node, "base"):
        node = node.base  # type: ignore[attr-defined]
    return getattr(node, "col", 0)


def _indexed_in(node: Node, key: str) -> bool:
    return any(isinstance(item, Scripted) and item.sub is not None and key_of(item.base) == key for item in walk(node))


def _bare_in(node: Node, key: str) -> bool:
    """Whether ``key`` appears in ``node`` without an index (as a number would)."""
    subscripted = {id(item.base) for item in walk(node) if isinstance(item, Scripted) and item.sub is not None}
    return any(isinstance(item, (Word, Accent)) and key_of(item) == key and id(item) not in subscripted
               for item in walk(node))


def _numeric(indices: Node | None) -> bool:
    """Whether a subscript is made of numbers only (y_0, p_{12})."""
    if isinstance(indices, Num):
        return True
    return isinstance(indices, Group) and bool(indices.items) and all(isinstance(i, Num) for i in indices.items)


def _whole_vector_call(rhs: Node) -> Node | None:
    """The argument of ``softmax(z)`` or ``\\sigma(z)`` written without an index, else None."""
    if isinstance(rhs, Product) and len(rhs.items) == 2 and key_of(rhs.items[0]) in ("softmax", "sigma", "S") \
            and isinstance(rhs.items[1], Group) and rhs.items[1].kind == "(" and len(rhs.items[1].items) == 1:
        argument = rhs.items[1].items[0]
        return argument if _namelike(argument) else None
    return None


def _mentions(node: object, key: str) -> bool:
    return any(isinstance(item, (Word, Accent)) and key_of(item) == key for item in walk(node))


def provisional_roles(document: Document, usage: Usage) -> Roles:
    """Read every definition with no role assigned, and infer the roles from what they say."""
    vocabulary = Vocabulary(logits=NOBODY, prob_symbols=set(), prob_functions=set(), labels=NOBODY,
                            loss={NOBODY}, classes=NOBODY, batch=NOBODY, label_name=None, weights=NOBODY,
                            inputs=NOBODY, bias=NOBODY, vector_keys=set(usage.vector_keys))
    vocabulary.sizes = dict(usage.sizes)
    definer = Definer(Interpreter(vocabulary))
    for chain in document.chains:
        head, rhs = first_equation(chain)
        if head is None or rhs is None or not definer.defines(head, rhs):
            continue
        try:
            definer.define(head, rhs, document.position(chain.equals[0])[0])
        except Exception:  # noqa: BLE001 - a definition the first pass cannot read is read again in order
            continue
    try:
        roles = infer(vocabulary.scope, usage.derivative_pairs, usage.loss_candidates)
    except (ValueError, RecursionError, TypeError):  # definitions that contradict each other: infer nothing
        roles = Roles()
    roles.defined = {name[len(OWN):] for name in vocabulary.scope.quantities} | set(vocabulary.functions)
    roles.functions = set(vocabulary.functions)
    roles.scope = vocabulary.scope
    if roles.target is None:
        roles.target = target_in_prose(document.prose())
    return roles


def first_equation(chain: Chain) -> tuple[Head | None, Node | None]:
    """The head and body of a chain's first equation, when its left side can be a definition's head.
    Inline math defines only with a body that is more than a number or a name (``$k = 1$`` states a value)."""
    left = parse_or_none(chain.sides[0].text)
    if left is None:
        return None, None
    head = head_of(left)
    if head is None:
        return None, None
    right = parse_or_none(chain.sides[1].text)
    if chain.inline and (right is None or isinstance(right, (Word, Num)) or _namelike(right) and not chain.equals
                         or isinstance(left, Word) and isinstance(right, Num)):
        return None, None
    return head, right


def vocabulary_for(notation: Notation, explicit: set[str], roles: Roles, usage: Usage,
                   document_defines: set[str], heads: set[str] = frozenset()) -> tuple[Vocabulary, dict[str, str]]:
    """The vocabulary a document is read in: front matter first, then what the document says, then the
    defaults; no built-in name shadows one of the document's. Returns it with the role -> symbol table."""
    vocabulary = Vocabulary.from_notation(notation)
    vocabulary.vector_keys = set(usage.vector_keys)
    vocabulary.sizes = dict(usage.sizes)
    vocabulary.arity = {key: count for key, count in usage.arity.items() if count <= 2}
    vocabulary.later_functions = set(roles.functions)
    vocabulary.columns = {key for key in usage.transposed if not usage.arity.get(key) and key not in usage.labelled
                          and key not in vocabulary.vectors()}
    vocabulary.matrix_shapes = {key: (usage.letter_sizes[a], usage.letter_sizes[b])   # X of X_{nd}: N × D
                                for key, (a, b) in usage.index_letters.items()
                                if usage.arity.get(key) == 2 and a in usage.letter_sizes and b in usage.letter_sizes}
    if "linear" in explicit and {vocabulary.weights, vocabulary.inputs, vocabulary.bias} & roles.defined:
        explicit = explicit - {"linear"}   # f = Uh + b with h = tanh(a) defined: the document's own layer
        vocabulary.own_layer = True
    if "linear" in explicit:
        vocabulary.matrix_names |= {vocabulary.weights, vocabulary.inputs, vocabulary.bias, vocabulary.logits}
    found = dict(roles.found)
    if "linear" in explicit:
        explicit = explicit | {"logits"}
    if roles.guessed and ({"logits", "probs"} & explicit):  # a guess from usage never overrides a declaration
        found.pop("logits", None)
        found.pop("probs", None)
    if "logits" not in explicit and "logits" in found:
        vocabulary.logits = found["logits"]
    if "probs" not in explicit and "probs" in found:
        vocabulary.prob_symbols = {found["probs"]}
    if "labels" not in explicit and "labels" in found:
        vocabulary.labels = found["labels"]
    if roles.loss_guessed and found.get("loss") in heads:   # S = (something unreadable) is not the loss
        found.pop("loss")
    if "loss" not in explicit and "loss" in found:
        vocabulary.loss = {found["loss"], "CE"}
    if "classes" not in explicit and "classes" in found:
        vocabulary.classes = found["classes"]
    if "batch" not in explicit and usage.sizes.get(vocabulary.batch) != "batch":
        vocabulary.batch = next((k for k, v in sorted(usage.sizes.items()) if v == "batch"), NOBODY)
    if "classes" not in explicit and "classes" not in found and vocabulary.classes not in usage.sizes:
        vocabulary.classes = next((k for k, v in sorted(usage.sizes.items()) if v == "classes"),
                                  vocabulary.classes)
    # A role symbol the document defines means what its definition says: the logits of a layer, or
    # probabilities that are not the plain softmax of the logits (a temperature), are its own quantities.
    roles.layer = roles.layer_of(vocabulary.logits) if "linear" not in explicit else None
    if roles.layer and set(roles.layer[:3]) & roles.defined:  # a layer over defined quantities (h = tanh(a))
        roles.layer = None
    if roles.layer:
        vocabulary.weights, vocabulary.inputs, vocabulary.bias, size = roles.layer   # derive's own linear layer
        if size:
            vocabulary.sizes[size] = "inputs"
        vocabulary.matrix_names |= set(roles.layer[:3]) | {vocabulary.logits}
    elif vocabulary.logits in (document_defines | roles.defined) and "linear" not in explicit:
        vocabulary.own_logits = vocabulary.logits
        vocabulary.logits, vocabulary.prob_symbols = NOBODY, set()
    if any(p in roles.defined and p != roles.found.get("probs") for p in vocabulary.prob_symbols):
        vocabulary.prob_symbols = set()
    if vocabulary.labels in roles.defined and not _one_hot(roles, vocabulary.labels):  # smoothed labels q_k =
        # (1 - ε) 1{k = c} + ε/K: the document's own (y_k = 1[k = c] only restates a one-hot target)
        vocabulary.own_labels, vocabulary.labels = vocabulary.labels, NOBODY
    vocabulary.label_inputs = {key: axis for key, axis in roles.label_inputs.items() if key != vocabulary.labels}
    for role in ("logits", "labels"):  # a default name written per example with an index of its own (x^{(i)}_d)
        name = getattr(vocabulary, role)  # or compared with one (1{y^{(i)} = j}) is the document's own quantity
        if role not in explicit and role not in roles.found and name in usage.labelled \
                and (name in usage.labelled_entries or name in usage.compared):
            setattr(vocabulary, role, NOBODY)
    taken = {vocabulary.logits, vocabulary.labels, *vocabulary.prob_symbols, *vocabulary.loss}
    if usage.matrix_mode:  # pᵀ, A : B, diag(p), dW: whole vectors and matrices are written as such (a
        # default name the document never indexes, the z of g(z), stays a scalar of its own)
        vocabulary.matrix_names |= {name for name in vocabulary.vectors() if explicit or name in usage.vector_keys
                                    or name in found.values() or name in usage.transposed}
    if "linear" not in explicit and not roles.layer:
        for role in ("weights", "inputs", "bias"):
            name = getattr(vocabulary, role)
            if name in taken or name in document_defines or (role == "weights" and name.upper() in taken) \
                    or vocabulary.own_logits or name in usage.labelled_entries:   # a layer of the document's own: its W, x, b are its own too
                setattr(vocabulary, role, NOBODY)
    table = {"logits": vocabulary.logits, "probs": next(iter(sorted(vocabulary.prob_symbols)), NOBODY),
             "labels": vocabulary.labels, "loss": next((k for k in sorted(vocabulary.loss) if k != "CE"), "CE"),
             "classes": vocabulary.classes}
    return vocabulary, {role: _shown(key) for role, key in table.items() if key != NOBODY}


def _one_hot(roles: Roles, key: str) -> bool:
    """Whether the document's definition of ``key`` is an indicator, y_k = 1[k = c]: a one-hot label."""
    quantity = roles.scope.quantities.get(OWN + key) if roles.scope else None
    return quantity is not None and isinstance(quantity.body, (sp.KroneckerDelta, sp.Piecewise))


def _shown(key: str) -> str:
    """A key as LaTeX for the report: hat(y) -> \\hat{y}, theta -> \\theta."""
    if "(" in key and key.endswith(")"):
        accent, inner = key[:-1].split("(", 1)
        return f"\\{accent}{{{_shown(inner)}}}"
    return f"\\{key}" if len(key) > 1 and key.isalpha() and key not in ("CE", "LS", "LSE") else key


__all__ = ["Usage", "Head", "head_of", "Definer", "provisional_roles", "vocabulary_for", "first_equation",
           "NOBODY", "notation_key", "mdl"]
