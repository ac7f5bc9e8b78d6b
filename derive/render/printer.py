"""Expression printers in the user's notation: LaTeX (for documents, Markdown, KaTeX) and Unicode text.

The canonical SymPy names (z, y, yhat, n, L, c) are mapped onto the notation here and only here. Notation
values were validated to a safe LaTeX vocabulary (``derive.notation``), so they may be emitted as they are.
"""

from __future__ import annotations

from functools import cached_property, lru_cache
from typing import Callable

import sympy as sp
from sympy.printing.latex import LatexPrinter
from sympy.printing.str import StrPrinter

from .. import model as mdl
from ..matrices import PARAMETERS, ElementwiseLog, ExampleOf, Frobenius, MatrixDifferential
from ..engine.rules import excluded_index
from ..families.softmax import model as family
from ..notation import Notation

SPARE_INDEX_NAMES = ("l", "q", "r", "u", "v")


class NotationMixin:
    """Name lookups shared by both printers."""

    notation: Notation
    label_name: str
    _print: Callable[..., str]  # from the SymPy printer this is mixed into

    def setup(self, notation: Notation, model: mdl.Model) -> None:
        self.notation = notation
        self.label_name = notation.target.name or "c"
        used = {s.name for s in mdl.INDEX_SYMBOLS if s != mdl.c}
        self.index_names = {s: s.name for s in mdl.INDEX_SYMBOLS}
        self.index_names[mdl.c] = self.label_name
        weights, inputs, bias = notation.linear_names[1:]
        self.quantity_names = {"yhat": notation.probs_symbol, "y": notation.labels, "z": notation.logits,
                               "ell": notation.loss, "W": weights, "x": inputs, "b": bias,
                               "ysmooth": f"{{{notation.labels}}}^{{\\mathrm{{LS}}}}",
                               "W1": "{W^{(1)}}", "b1": "{b^{(1)}}", "W2": "{W^{(2)}}", "b2": "{b^{(2)}}"}  # the network
        if self.label_name in used:
            spare = next(x for x in SPARE_INDEX_NAMES if x not in used)
            self.index_names[sp.Symbol(self.label_name, integer=True)] = spare

    def symbol_name(self, symbol: sp.Symbol) -> str:
        fixed = {mdl.n: self.notation.classes, mdl.N: self.notation.batch, mdl.L: self.notation.loss,
                 family.T: self.notation.temperature, family.varepsilon: self.notation.smoothing, family.shift: "c"}
        return fixed.get(symbol) or self.index_names.get(symbol, symbol.name)

    def index_text(self, indices: tuple[sp.Expr, ...]) -> str:
        return "".join(self.index_names.get(i, str(i)) if isinstance(i, sp.Symbol) else str(i) for i in indices)

    def quantity_name(self, name: str) -> str:
        """The user's symbol for a canonical quantity (yhat, y, z, W, ...), whole or indexed."""
        return self.quantity_names.get(name, name)

    def matrix_name(self, name: str) -> str:
        """The user's symbol for a whole vector or matrix: with rows written w_j, the matrix is W."""
        symbol = self.quantity_name(name)
        if name == "W" and self.notation.linear_rows and len(symbol) == 1 and symbol.islower():
            return symbol.upper()
        return symbol

    def row_text(self, expr: sp.Expr, row_only: str) -> str:
        """Row k of W: w_k when the layer was written row by row, else W_{k,:} (``row_only`` formats k)."""
        index = self.index_text((expr.args[1],))
        if self.notation.linear_rows:
            return f"{self.quantity_name('W')}_{row_only.format(index)}"
        return f"{self._print(expr.args[0])}_{row_only.format(index + ',:')}"

    @staticmethod
    def matrix_terms(expr: sp.MatAdd) -> list[tuple[bool, sp.Expr]]:
        """(negative, term) pairs of a matrix sum, positive terms first."""
        out = []
        for term in expr.args:
            coeff, rest = (term.args[0], sp.MatMul(*term.args[1:], evaluate=False)) if isinstance(term, sp.MatMul) and \
                term.args[0].is_Number else (sp.S.One, term)
            out.append((bool(coeff < 0), rest if abs(coeff) == 1 else term))
        return sorted(out, key=lambda pair: pair[0])

    def matrix_product(self, expr: sp.MatMul, bracket) -> str:  # type: ignore[no-untyped-def]
        """A B C as juxtaposition; sums and inner products (1ᵀy) in brackets, a sign in front."""
        number, scalar = sp.Mul(*(a for a in expr.args if not isinstance(a, sp.MatrixExpr))).as_coeff_Mul()
        grouped = (sp.MatAdd, sp.MatMul)  # and a family's u ⊙ v (bracket_in_product): the product binds across it
        texts = [bracket(self._print(a)) if isinstance(a, grouped) or getattr(a, "bracket_in_product", False)
                 else self._print(a) for a in expr.args if isinstance(a, sp.MatrixExpr)]
        if scalar != 1:  # a scalar factor such as (ŷ_k − 1[k = c]) in front of xᵀ
            texts.insert(0, bracket(self._print(scalar)) if isinstance(scalar, sp.Add) else self._print(scalar))
        if abs(number) != 1:
            texts.insert(0, self._print(abs(number)))
        return (self.MINUS if number < 0 else "") + " ".join(texts)

    def frobenius(self, expr: sp.Expr, colon: str, bracket) -> str:  # type: ignore[no-untyped-def]
        """A : B, sums bracketed (the product binds tighter than the colon)."""
        left, right = (bracket(self._print(a)) if isinstance(a, sp.MatAdd) else self._print(a) for a in expr.args)
        return f"{left} {colon} {right}"

    def differential(self, expr: sp.Expr, d: str, bracket) -> str:  # type: ignore[no-untyped-def]
        """dX, d log(v), d(Wx + b)."""
        inner = expr.args[0]
        text = self._print(inner)
        if isinstance(inner, ElementwiseLog):
            return f"{d} {text}" if d == "d" else f"{d}{text}"
        return f"{d}{text}" if isinstance(inner, (sp.Symbol, sp.MatrixSymbol)) else f"{d}{bracket(text)}"

    MINUS = "-"

    def join_terms(self, texts: list[str]) -> str:
        """Printed terms joined with their signs: a + b - c (the first keeps its own sign)."""
        out = []
        for number, text in enumerate(texts):
            negative = text.startswith(("-", "−"))
            if number == 0:
                out.append(self.MINUS + text[1:] if negative else text)
            else:
                out.append(f" {self.MINUS} {text[1:].lstrip()}" if negative else f" + {text}")
        return "".join(out)

    _more_terms = False  # the product being printed is followed by more terms of a sum

    def _print_Add(self, expr: sp.Add, order: str | None = None) -> str:
        terms = self.ordered_terms(expr)
        texts = []
        for number, term in enumerate(terms):
            self._more_terms = number < len(terms) - 1 and isinstance(term, sp.Mul)  # read by _print_Mul only
            try:
                text = self._print(term)
            finally:
                self._more_terms = False
            texts.append(self.bracket_open_sum(term, text) if number < len(terms) - 1 else text)
        return self.join_terms(texts)

    def bracket_open_sum(self, term: sp.Expr, text: str) -> str:
        """A term that is an open Σ (Σ_j y_j ŷ_k, −Σ_j a_j) is bracketed when more terms follow, so the reader
        sees where the sum ends; its sign stays outside. (Σ as a factor of a product is always bracketed.)"""
        core = term.as_coeff_Mul()[1] if isinstance(term, sp.Mul) else term
        if not isinstance(core, sp.Sum) or (isinstance(term, sp.Mul) and abs(term.as_coeff_Mul()[0]) != 1):
            return text
        if not isinstance(core.function, sp.Mul) or len(split_product(core.function)[1]) < 2:
            return text  # Σ_i e^{z_i} − e^{z_j}: a single factor cannot run on
        if text.startswith(("-", "−")):
            return f"{text[0]}{self.paren(text[1:].lstrip())}"
        return self.paren(text)

    def paren(self, text: str) -> str:
        return f"({text})"

    def _print_MatAdd(self, expr: sp.MatAdd) -> str:
        return self.join_terms([("- " if negative else "") + self._print(term)
                                for negative, term in self.matrix_terms(expr)])

    @staticmethod
    def ordered_terms(expr: sp.Add) -> list[sp.Expr]:
        """Positive terms first (ŷ_k − y_k rather than −y_k + ŷ_k), otherwise SymPy's order; inner products
        with the parameters' differentials in the order of the parameters (G : dW + H : db)."""
        def key(term: sp.Expr) -> tuple[bool, bool, int]:
            moved = term.args[1].args[0] if isinstance(term, Frobenius) and \
                isinstance(term.args[1], MatrixDifferential) else None
            rank = PARAMETERS.index(moved.name) if isinstance(moved, sp.MatrixSymbol) and moved.name in PARAMETERS \
                else -1
            inner = term.expr if isinstance(term, sp.Derivative) else term  # a constant written last: s_j − s_c + Δ
            return getattr(inner, "written_last", False), term.could_extract_minus_sign(), rank
        return sorted(expr.as_ordered_terms(), key=key)


def factor_rank(factor: sp.Expr) -> int:
    """Order of factors in a printed product, as in textbooks: 1/N, labels, probabilities and weights, deltas,
    exponentials, logs, brackets, sums, inputs, derivatives — y_j log ŷ_j, ŷ_j(1 − ŷ_j), (p_k − y_k) x_l."""
    if factor.is_Number:
        return 0
    if isinstance(factor, sp.Add) and not factor.atoms(sp.Function, sp.Sum) and \
            all(entry.base == mdl.y for entry in factor.atoms(sp.Indexed)):
        return 0  # so does a bracket of scalars and labels: (1 − y) log(1 − σ(z)), (1 − y_t) log(1 − σ(z_t))
    if isinstance(factor, sp.Indexed):
        return {mdl.y: 1, mdl.x: 8}.get(factor.base, 2)
    if isinstance(factor, (sp.Symbol, sp.KroneckerDelta)):
        return 3
    if isinstance(factor, (sp.exp, sp.Pow)):
        return 4
    if isinstance(factor, sp.Function):
        return 5
    if isinstance(factor, sp.Add):
        return 6
    if isinstance(factor, sp.Sum):
        return 7
    return 9


def split_product(expr: sp.Mul) -> tuple[bool, list[sp.Expr], list[sp.Expr]]:
    """(negative, numerator factors, denominator factors), each list in reading order."""
    coeff, rest = expr.as_coeff_Mul()
    negative = coeff < 0
    coeff = abs(coeff)
    numer, denom = [], []
    if coeff.p != 1:
        numer.append(sp.Integer(coeff.p))
    if coeff.q != 1:
        denom.append(sp.Integer(coeff.q))
    for factor in sp.Mul.make_args(rest):
        base, exponent = factor.as_base_exp()
        if exponent.is_Number and exponent < 0:
            denom.append(base if exponent == -1 else sp.Pow(base, -exponent))
        else:
            numer.append(factor)
    key = lambda f: factor_rank(f)  # noqa: E731  stable: equal ranks keep SymPy's order
    return negative, sorted(numer, key=key), sorted(denom, key=key)


def _second_order(expr: sp.Derivative) -> bool:
    """A plain quantity F differentiated by two entries (SymPy keeps ∂/∂a (∂F/∂b) as Derivative(F, b, a))."""
    return len(expr.variables) == 2 and isinstance(expr.expr, (sp.Symbol, sp.Indexed)) and \
        all(isinstance(v, sp.Indexed) for v in expr.variables)


def _of_one_entry(expr: sp.Basic) -> bool:
    """A function of one symbol or entry, log ŷ_j or σ(z): its derivative is written as one fraction, ∂σ(z)/∂z."""
    return isinstance(expr, sp.Function) and len(expr.args) == 1 and isinstance(expr.args[0], (sp.Symbol, sp.Indexed))


def _is_unevaluated_mul(expr: sp.Basic) -> bool:
    return isinstance(expr, sp.Mul) and any(isinstance(a, sp.Mul) for a in expr.args)


class MathLatexPrinter(NotationMixin, LatexPrinter):
    """LaTeX in the user's notation; no ``\\substack``, ``{z}_{j}`` or ``d`` for partial derivatives."""

    printmethod = "_derive_latex"  # ignore SymPy objects' own ``_latex`` so every node goes through here

    def __init__(self, notation: Notation, model: mdl.Model) -> None:
        LatexPrinter.__init__(self, {"mul_symbol": None})
        self.setup(notation, model)

    @cached_property
    def probs_function(self) -> str | None:
        name = self.notation.probs_symbol
        if not self.notation.probs_is_function:
            return None
        return r"\operatorname{softmax}" if name == "softmax" else name

    def _print_Symbol(self, expr: sp.Symbol, style: str = "plain") -> str:
        return self.symbol_name(expr)

    def _print_Indexed(self, expr: sp.Indexed) -> str:
        sub = self.index_text(expr.indices)
        base = expr.base
        if base == mdl.yhat and self.probs_function:
            return f"{self.probs_function}({self.notation.logits})_{{{sub}}}"
        return f"{self.quantity_name(base.label.name)}_{{{sub}}}"

    def _print_MatrixSymbol(self, expr: sp.MatrixSymbol, style: str = "plain") -> str:
        if expr.name == "yhat" and self.probs_function:
            return f"{self.probs_function}({self.notation.logits})"
        return self.matrix_name(expr.name)

    def _print_Transpose(self, expr: sp.Transpose) -> str:
        if isinstance(expr.arg, ExampleOf):  # x^{(t)\top}, not a double superscript
            return self._print_ExampleOf(expr.arg, transposed=True)
        inner = self._print(expr.arg)
        return (rf"\left({inner}\right)" if isinstance(expr.arg, sp.MatAdd) else inner) + r"^{\top}"

    def _print_DiagMatrix(self, expr: sp.DiagMatrix) -> str:
        return rf"\operatorname{{diag}}\left({self._print(expr.args[0])}\right)"

    def _print_MatMul(self, expr: sp.MatMul) -> str:
        return self.matrix_product(expr, lambda text: rf"\left({text}\right)")

    def _print_Inverse(self, expr: sp.Inverse) -> str:
        return f"{self._print(expr.arg)}^{{-1}}"

    def _print_RowOf(self, expr: sp.Expr) -> str:
        return self.row_text(expr, "{{{}}}")

    def _print_ExampleOf(self, expr: sp.Expr, transposed: bool = False) -> str:
        top = r"\top" if transposed else ""
        return f"{self._print(expr.args[0])}^{{({self.index_text((expr.args[1],))}){top}}}"

    def _print_BatchSum(self, expr: sp.Expr) -> str:
        body, example, upper = expr.args
        text = self._print(body)
        text = rf"\left({text}\right)" if isinstance(body, sp.MatAdd) else text
        return rf"\sum_{{{self._print(example)}=1}}^{{{self._print(upper)}}} {text}"

    def _print_Identity(self, expr: sp.Identity) -> str:
        return "I"

    def _print_OneMatrix(self, expr: sp.OneMatrix) -> str:
        return r"\mathbf{1}"

    def _print_ElementwiseLog(self, expr: sp.Expr) -> str:
        return rf"\log\left({self._print(expr.args[0])}\right)"

    def _print_Frobenius(self, expr: sp.Expr) -> str:
        return self.frobenius(expr, r"\mathbin{:}", lambda text: rf"\left({text}\right)")

    def _print_TotalDifferential(self, expr: sp.Expr) -> str:
        return self.differential(expr, r"\mathrm{d}", lambda text: rf"\left({text}\right)")

    _print_MatrixDifferential = _print_TotalDifferential

    def _print_KroneckerDelta(self, expr: sp.KroneckerDelta, exp: str | None = None) -> str:
        a, b = expr.args
        if mdl.c in (a, b):
            other = b if a == mdl.c else a
            text = rf"\mathbf{{1}}[{self._print(other)} = {self._print(mdl.c)}]"  # amssymb has no \mathbb{{1}}
        else:
            text = rf"\delta_{{{self.index_text((a, b))}}}"
        return f"{text}^{{{exp}}}" if exp else text

    def _print_ExpBase(self, expr: sp.Expr, exp: str | None = None) -> str:
        """e^{u}; an exponent divided by a scalar (a temperature) as e^{z_{k}/T}, not a fraction in a superscript."""
        numer, denom = sp.fraction(expr.args[0])
        if isinstance(denom, sp.Symbol) and not denom.is_integer:
            top = self._print(numer)
            inner = f"{self.paren(top)}/{self._print(denom)}" if isinstance(numer, sp.Add) else f"{top}/{self._print(denom)}"
        else:
            inner = self._print(expr.args[0])
        return self._do_exponent(f"e^{{{inner}}}", exp)

    def _print_Derivative(self, expr: sp.Derivative) -> str:
        """∂a/∂b as a fraction; inside a fraction as \\dfrac (a fraction in a fraction would be too small)."""
        inner, var = expr.expr, expr.variables[0]
        frac = r"\dfrac" if self._frac_depth > 0 else r"\frac"
        if _second_order(expr):  # ∂/∂z_j (∂L/∂z_k), SymPy's Derivative(L, z_k, z_j), is written ∂²L/∂z_j∂z_k
            variables = " ".join(rf"\partial {self._print(v)}" for v in reversed(expr.variables))
            return rf"{frac}{{\partial^{{2}} {self._print(inner)}}}{{{variables}}}"
        if isinstance(inner, (sp.Symbol, sp.Indexed, sp.exp, sp.MatrixSymbol, sp.Number)) or _of_one_entry(inner):
            return rf"{frac}{{\partial {self._print(inner)}}}{{\partial {self._print(var)}}}"
        body = self._print(inner)
        if isinstance(inner, (sp.Add, sp.Mul, sp.Sum)) or inner.could_extract_minus_sign():
            body = rf"\left({body}\right)"
        return rf"{frac}{{\partial}}{{\partial {self._print(var)}}} {body}"

    def _print_Sum(self, expr: sp.Sum) -> str:
        out, body = [], expr.function
        for var, lo, hi in expr.limits:
            found = excluded_index(body, var) if len(expr.limits) == 1 else None
            if found:
                excluded, body = found
                out.append(rf"\sum_{{{self._print(var)} \neq {self._print(excluded)}}}")
            else:
                out.append(rf"\sum_{{{self._print(var)}={self._print(lo)}}}^{{{self._print(hi)}}}")
        text = self._print(body)
        if isinstance(body, sp.Add):
            text = rf"\left({text}\right)"
        return " ".join(out) + " " + text

    def _print_Piecewise(self, expr: sp.Piecewise) -> str:
        rows = []
        for value, cond in expr.args:
            if cond is sp.true and len(expr.args) == 2 and isinstance(expr.args[0][1], sp.Eq):
                first = expr.args[0][1]
                cond_text = rf"{self._print(first.lhs)} \neq {self._print(first.rhs)}"
            else:
                cond_text = self._print(cond)
            rows.append(rf"{self._print(value)} & {cond_text}")
        return r"\begin{cases} " + r" \\ ".join(rows) + r" \end{cases}"

    def _print_Equality(self, expr: sp.Eq) -> str:
        return f"{self._print(expr.lhs)} = {self._print(expr.rhs)}"

    def paren(self, text: str) -> str:
        return rf"\left({text}\right)"

    def _factor(self, factor: sp.Expr, bracket_sum: bool) -> str:
        text = self._print(factor)
        if isinstance(factor, sp.Add) or isinstance(factor, sp.Sum) and bracket_sum:
            return self.paren(text)
        return text

    _frac_depth = 0

    def _print_Mul(self, expr: sp.Mul) -> str:
        """Products and quotients. A Σ among other factors is bracketed; a derivative stands after the
        fraction, not inside it (y_j/ŷ_j · ∂ŷ_j/∂ŷ_k); a fraction inside a fraction is a \\dfrac, to stay
        legible."""
        if _is_unevaluated_mul(expr):
            return " ".join(self.paren(self._print(a)) for a in expr.args)
        negative, numer, denom = split_product(expr)
        after = [f for f in numer if isinstance(f, sp.Derivative)] if denom else []
        numer = [f for f in numer if f not in after]
        # a Σ among other factors is bracketed where something follows it: a factor, or another term
        open_end, self._more_terms = self._more_terms, False
        many = len(numer) + len(after) > 1
        self._frac_depth += bool(denom)
        try:
            alone = len(numer) == 1 and not after and bool(denom)
            top = (self._print(numer[0]) if alone else " ".join(
                self._factor(f, many and (number < len(numer) - 1 or bool(after) or open_end))
                for number, f in enumerate(numer))) or "1"
            if denom:
                bottom = self._print(denom[0]) if len(denom) == 1 and isinstance(denom[0], sp.Add) else \
                    " ".join(self._factor(f, len(denom) > 1) for f in denom)  # a lone bracket: \frac{1}{1 + e^{-z}}
                frac = r"\dfrac" if self._frac_depth > 1 else r"\frac"
                top = rf"{frac}{{{top}}}{{{bottom}}}"
        finally:
            self._frac_depth -= bool(denom)
        tail = " ".join(self._factor(f, True) for f in after)  # after the fraction, at the outer depth
        return ("- " if negative else "") + " ".join(t for t in (top, tail) if t)

    def _print_Pow(self, expr: sp.Pow) -> str:
        if expr.exp.is_Number and expr.exp < 0:
            return self._print_Mul(expr)  # type: ignore[arg-type]
        base = self._print(expr.base)
        if not isinstance(expr.base, (sp.Symbol, sp.Indexed)):
            base = rf"\left({base}\right)"
        return f"{base}^{{{self._print(expr.exp)}}}"


class MathTextPrinter(NotationMixin, StrPrinter):
    """Readable Unicode for the terminal: ∂L/∂z_k = ŷ_k − y_k."""

    printmethod = "_derive_text"
    MINUS = "−"

    def __init__(self, notation: Notation, model: mdl.Model) -> None:
        StrPrinter.__init__(self)
        self.setup(notation, model)

    def _sym(self, latex_value: str) -> str:
        return latex_to_unicode(latex_value)

    def _print_Symbol(self, expr: sp.Symbol) -> str:
        return self._sym(self.symbol_name(expr))

    def _print_Indexed(self, expr: sp.Indexed) -> str:
        sub = self.index_text(expr.indices)
        base = self._sym(self.quantity_name(expr.base.label.name))
        if expr.base == mdl.yhat and self.notation.probs_is_function:
            return f"{base}({self._sym(self.notation.logits)})_{sub}"
        return f"{base}_{sub}"

    def _print_MatrixSymbol(self, expr: sp.MatrixSymbol) -> str:
        return self._sym(self.matrix_name(expr.name))

    def _print_Transpose(self, expr: sp.Transpose) -> str:
        inner = self._print(expr.arg)
        return (f"({inner})" if isinstance(expr.arg, sp.MatAdd) else inner) + "ᵀ"

    def _print_DiagMatrix(self, expr: sp.DiagMatrix) -> str:
        return f"diag({self._print(expr.args[0])})"

    def _print_MatMul(self, expr: sp.MatMul) -> str:
        return self.matrix_product(expr, lambda text: f"({text})")

    def _print_Inverse(self, expr: sp.Inverse) -> str:
        return f"{self._print(expr.arg)}⁻¹"

    def _print_RowOf(self, expr: sp.Expr) -> str:
        return self._sym(self.row_text(expr, "{}"))

    def _print_ExampleOf(self, expr: sp.Expr) -> str:
        return f"{self._print(expr.args[0])}^({self.index_text((expr.args[1],))})"

    def _print_BatchSum(self, expr: sp.Expr) -> str:
        body, example, _ = expr.args
        text = self._print(body)
        return f"Σ_{self._print(example)} " + (f"({text})" if isinstance(body, sp.MatAdd) else text)

    def _print_Identity(self, expr: sp.Identity) -> str:
        return "I"

    def _print_OneMatrix(self, expr: sp.OneMatrix) -> str:
        return "𝟏"

    def _print_ElementwiseLog(self, expr: sp.Expr) -> str:
        return f"log({self._print(expr.args[0])})"

    def _print_Frobenius(self, expr: sp.Expr) -> str:
        return self.frobenius(expr, ":", lambda text: f"({text})")

    def _print_TotalDifferential(self, expr: sp.Expr) -> str:
        return self.differential(expr, "d", lambda text: f"({text})")

    _print_MatrixDifferential = _print_TotalDifferential

    def _print_Equality(self, expr: sp.Eq) -> str:
        return f"{self._print(expr.lhs)} = {self._print(expr.rhs)}"

    def _print_KroneckerDelta(self, expr: sp.KroneckerDelta) -> str:
        a, b = expr.args
        if mdl.c in (a, b):
            other = b if a == mdl.c else a
            return f"1[{self._print(other)} = {self._print(mdl.c)}]"
        return f"δ_{self.index_text((a, b))}"

    def _print_Derivative(self, expr: sp.Derivative) -> str:
        inner, var = expr.expr, expr.variables[0]
        if _second_order(expr):
            return f"∂²{self._print(inner)}/" + "".join(f"∂{self._print(v)}" for v in reversed(expr.variables))
        if isinstance(inner, (sp.Symbol, sp.Indexed, sp.MatrixSymbol, sp.Number)) or (
                _of_one_entry(inner) and not isinstance(inner, sp.log)):  # log(ŷ_j) reads better as ∂/∂ŷ_k (log(ŷ_j))
            return f"∂{self._print(inner)}/∂{self._print(var)}"
        return f"∂/∂{self._print(var)} ({self._print(inner)})"

    def _print_Sum(self, expr: sp.Sum) -> str:
        var, body = expr.limits[0][0], expr.function
        found = excluded_index(body, var)
        if found:
            excluded, body = found
            head = f"Σ_{{{self._print(var)}≠{self._print(excluded)}}}"
        else:
            head = " ".join(f"Σ_{self._print(limit[0])}" for limit in expr.limits)  # Σ_j Σ_k of a double sum
        text = self._print(body)
        return f"{head} ({text})" if isinstance(body, sp.Add) else f"{head} {text}"

    def _print_exp(self, expr: sp.exp) -> str:
        arg = self._print(expr.args[0])
        return f"exp({arg})"

    def _print_log(self, expr: sp.log) -> str:
        return f"log({self._print(expr.args[0])})"

    def _print_Piecewise(self, expr: sp.Piecewise) -> str:
        (first, cond), (second, _) = expr.args[0], expr.args[-1]
        return f"{{ {self._print(first)} if {self._print(cond.lhs)} = {self._print(cond.rhs)}; " \
               f"{self._print(second)} otherwise }}"

    def _factor(self, factor: sp.Expr) -> str:
        text = self._print(factor)
        return f"({text})" if isinstance(factor, (sp.Add, sp.Sum)) else text

    def _print_Mul(self, expr: sp.Mul) -> str:
        """a b/c, with the minus sign of the other terms (U+2212); a derivative stands after a bracketed
        fraction: (y_j/ŷ_j) ∂ŷ_j/∂ŷ_k."""
        if _is_unevaluated_mul(expr):
            return "·".join(f"({self._print(a)})" for a in expr.args)
        negative, numer, denom = split_product(expr)
        after = [f for f in numer if isinstance(f, sp.Derivative)] if denom else []
        numer = [f for f in numer if f not in after]
        top = " ".join(self._factor(f) for f in numer) or "1"
        if denom:
            bottom = " ".join(self._factor(f) for f in denom)
            simple = len(denom) == 1 and (" " not in bottom or bottom.startswith("("))
            top = f"{top}/{bottom}" if simple else f"{top}/({bottom})"
            if after:
                top = f"({top}) " + " ".join(self._print(f) for f in after)
        return (self.MINUS if negative else "") + top

    def _print_Pow(self, expr: sp.Pow, rational: bool = False) -> str:
        if expr.exp.is_Number and expr.exp < 0:
            return self._print_Mul(expr)  # type: ignore[arg-type]
        base = self._factor(expr.base)
        base = f"({base})" if (" " in base and not base.startswith("(")) or isinstance(expr.base, sp.exp) else base
        exponent = str(expr.exp)
        return base + exponent.translate(str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹"))


@lru_cache(maxsize=256)
def latex_to_unicode(value: str) -> str:
    """A notation symbol as Unicode: \\hat{y} → ŷ, \\theta → θ."""
    from pylatexenc.latex2text import LatexNodes2Text

    return LatexNodes2Text().latex_to_text(value).strip() or value
