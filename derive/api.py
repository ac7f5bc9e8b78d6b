"""The Python API: ``derivation(NAME, **notation)`` returns a verified derivation that prints itself in the
user's notation, as LaTeX, Markdown, text, a JSON certificate or a notebook, and renders in Jupyter."""

from __future__ import annotations

import dataclasses
import re
from typing import Any, Iterator

from .catalogue import entry
from .record import Derivation, Step
from .errors import UsageError
from .notation import OPTIONAL_ROLES, Notation, notation_from


_FRONT_MATTER = re.compile(r"\A---\n.*?\n---\n+", re.S)


class ShownStep:
    """One step of a derivation together with its sides printed in the derivation's notation.

    Every attribute of the underlying record (``rule``, ``before``, ``after`` as SymPy expressions, ``case``,
    ``assumes``, ``verified`` ...) reads through unchanged, so code written against plain steps keeps working;
    ``before_latex``, ``after_latex`` (and ``latex``, the pair) add what a reader of the notes sees.
    """

    def __init__(self, step: Step, number: int, result: "DerivationResult") -> None:
        """Wrap ``step``, the ``number``-th of ``result``, whose notation prints it."""
        self.step, self.number, self._result = step, number, result

    def __getattr__(self, name: str) -> Any:
        """Read the record's own fields (``rule``, ``before``, ``after``, ``case`` ...) through this step."""
        if name.startswith("__") or name in ("step", "number", "_result"):  # not yet set: copy, pickle
            raise AttributeError(name)
        return getattr(self.step, name)

    @property
    def before_latex(self) -> str:
        """The side before the rule is applied, as LaTeX in the user's notation (e.g. ``\\theta_{k}``)."""
        return self._result._view().latex(self.step.before)

    @property
    def after_latex(self) -> str:
        """The side after the rule is applied, as LaTeX in the user's notation."""
        return self._result._view().latex(self.step.after)

    @property
    def latex(self) -> tuple[str, str]:
        """Both sides as LaTeX, ``(before, after)``: ``" = ".join(step.latex)`` is the step as an equation."""
        return self.before_latex, self.after_latex

    @property
    def before_text(self) -> str:
        """The side before the rule, as Unicode text (what ``derive show`` prints)."""
        return self._result._view().text(self.step.before)

    @property
    def after_text(self) -> str:
        """The side after the rule, as Unicode text."""
        return self._result._view().text(self.step.after)

    @property
    def explanation(self) -> str:
        """Why the step holds, in words and in the user's notation (the prose ``derive show`` prints)."""
        from .render import justification

        return justification(self._result._view(), self.step, "text")

    def __repr__(self) -> str:
        """Number, rule, case and both sides as text: enough to recognise the step in a printed list."""
        case = f" [{self.step.case.text}]" if self.step.case else ""
        return f"<step {self.number} {self.step.rule}{case}: {self.before_text} = {self.after_text}>"


class DerivationResult:
    """A verified derivation in a notation; renders as LaTeX, Markdown, text, JSON or a notebook.

    ``steps`` lists the steps (each with its sides as LaTeX in the notation); ``latex()``, ``markdown()``,
    ``text()`` and ``to_json()`` render it; in Jupyter it displays itself. ``excerpt(part=..., case=...)`` keeps
    one part or case with its steps numbered from 1, as course notes quote it.
    """

    def __init__(self, derivation: Derivation, notation: Notation,
                 selection: tuple[str | None, str | None] = (None, None), name: str | None = None,
                 whole: Derivation | None = None) -> None:
        """Pair a built derivation with the notation it is printed in; ``derivation()`` is the usual way in.
        An excerpt also keeps the ``whole`` derivation, which its documents are rendered from."""
        self.derivation, self.notation = derivation, notation
        self.selection = selection  # (part, case) of an excerpt; (None, None) for the whole derivation
        self.whole = whole or derivation
        self._name = name or derivation.name

    @property
    def steps(self) -> list[ShownStep]:
        """The verified steps in order; each reads like the raw record and adds ``before_latex``/``after_latex``."""
        return [ShownStep(step, number, self) for number, step in enumerate(self.derivation.steps, 1)]

    @property
    def name(self) -> str:
        """The catalogue name, e.g. ``softmax-cross-entropy``."""
        return self._name

    @property
    def title(self) -> str:
        """The derivation's title as the rendered documents head it."""
        return self.derivation.title

    def excerpt(self, part: str | None = None, case: str | None = None) -> "DerivationResult":
        """Only ``part`` (a key such as ``chain``) and/or ``case`` (such as ``j \\neq k``), its steps numbered
        from 1: a note that quotes one piece should not start at step (22). Raises UsageError naming the known
        parts or cases when there is no such part or case."""
        if part is None and case is None:
            return self
        return DerivationResult(_excerpt(self.whole, part, case), self.notation, (part, case), self._name,
                                whole=self.whole)

    def render(self, fmt: str = "text", **options: Any) -> str:
        """Render as ``fmt`` (text, latex, markdown, json or ipynb). ``options``: ``standalone`` (LaTeX: a whole
        article), ``flavor`` (Markdown: ``dollar`` or ``gfm``), and for what a document quotes: ``parts`` and
        ``case`` (an excerpt sets them), ``numbering`` (``local``, an excerpt's default: steps numbered from 1;
        ``global``: as in the whole derivation), ``heading`` (level of the part headings, 2 by default; None
        inserts none) and ``occurrence`` (the n-th copy of these steps in one document: LaTeX labels differ)."""
        from .render import render

        part, case = self.selection
        if fmt in ("json", "ipynb"):  # a certificate or notebook holds exactly the excerpt's steps
            return render(self.derivation, self.notation, fmt, **options)
        if part is not None or case is not None:
            options.setdefault("parts", (part,) if part is not None else None)
            options.setdefault("case", case)
            options.setdefault("numbering", "local")
        return render(self.whole, self.notation, fmt, **options)

    def latex(self, standalone: bool = False, **options: Any) -> str:
        """LaTeX: a fragment of ``align`` displays, or with ``standalone`` a whole compilable article; other
        ``options`` as for :meth:`render` (``numbering``, ``heading``)."""
        return self.render("latex", standalone=standalone, **options)

    def markdown(self, flavor: str = "dollar", **options: Any) -> str:
        """Markdown with YAML front matter and case markers, which ``derive check`` reads back; ``flavor`` is
        ``dollar`` (``$$`` displays: Jupyter, MkDocs, Pandoc) or ``gfm`` (GitHub's ```` ```math ```` blocks);
        other ``options`` as for :meth:`render`."""
        return self.render("markdown", flavor=flavor, **options)

    def text(self) -> str:
        """Plain Unicode text, as ``derive show`` prints it in a terminal."""
        return self.render("text")

    def to_json(self) -> str:
        """The certificate: every step with both sides as LaTeX and as ``sympy.srepr``, re-checkable with SymPy."""
        return self.render("json")

    def _view(self):  # type: ignore[no-untyped-def]
        """The printed view of this derivation (shared with rendering, so printing happens once)."""
        from .render import cached_view

        return cached_view(self.derivation, self.notation)

    def _repr_latex_(self) -> str:
        """One display of every chain: Jupyter renders math, not LaTeX sectioning."""
        return "$$" + self._view().display_math() + "$$"

    def _repr_markdown_(self) -> str:
        """The Markdown rendering without its YAML front matter, which a notebook would show as a heading."""
        return _FRONT_MATTER.sub("", self.markdown(), count=1)

    def __iter__(self) -> Iterator[ShownStep]:
        """Iterate over the steps."""
        return iter(self.steps)

    def __len__(self) -> int:
        """The number of steps."""
        return len(self.derivation.steps)

    def __repr__(self) -> str:
        """The name, method and detail where not the default, the excerpt, the step count and the notation."""
        changed = {key: value for key, value in _notation_items(self.notation).items()
                   if _notation_items(Notation()).get(key) != value}
        shown = ", ".join(f"{key}={value}" for key, value in changed.items()) or "default"
        part, case = self.selection
        extra = "".join(f", {label}={value!r}" for label, value in (("part", part), ("case", case)) if value)
        method = f", method={self.derivation.method!r}" if self.derivation.method != "index" else ""
        detail = getattr(self.derivation, "detail", "notes")
        method += f", detail={detail!r}" if detail != "notes" else ""
        return (f"<derivation {self._name!r}{method}{extra}: {len(self.derivation.steps)} steps, "
                f"notation {shown}>")

    def __str__(self) -> str:
        """The plain-text rendering."""
        return self.text()


def _notation_items(notation: Notation) -> dict[str, str]:
    """The notation as flat strings, for a readable repr."""
    return {key: ", ".join(value) if isinstance(value, (list, tuple)) else str(value)
            for key, value in notation.as_dict().items() if value is not None}


def _same_case(wanted: str, have: str) -> bool:
    """Cases compare as written up to spacing and ``≠`` for ``\\neq``."""
    def normal(text: str) -> str:
        return " ".join(text.replace("≠", r"\neq").split())
    return normal(wanted) == normal(have)


def _excerpt(derivation: Derivation, part: str | None, case: str | None) -> Derivation:
    """A derivation holding only the steps of ``part`` and ``case``: the steps an excerpt lists (from 1), and
    what its certificate holds. It carries a name of its own: rendered views are cached by name, and the
    excerpt must never be mistaken for the whole."""
    known = [p.key for p in derivation.parts]
    if part is not None and part not in known:
        raise UsageError(f"{derivation.name} has no part {part!r} (parts: {', '.join(known)})")
    parts = [p for p in derivation.parts if part is None or p.key == part]
    steps = [s for s in derivation.steps if any(s.part == p.key for p in parts)]
    if case is not None:
        cases = list(dict.fromkeys(s.case.latex for s in steps if s.case))
        steps = [s for s in steps if s.case and _same_case(case, s.case.latex)]
        if not steps:
            where = f" in part {part!r}" if part else ""
            raise UsageError(f"{derivation.name} has no case {case!r}{where} (cases: {', '.join(cases) or 'none'})")
        parts = [p for p in parts if any(s.part == p.key for s in steps)]
    label = ", ".join(f"{k} {v}" for k, v in (("part", part), ("case", case)) if v is not None)
    return dataclasses.replace(derivation, name=f"{derivation.name} [{label}]", parts=parts, steps=steps)


def derivation(name: str, method: str = "index", detail: str = "notes", **notation: str) -> DerivationResult:
    """The catalogued derivation ``name`` (see ``derive list``), every step verified, in the given notation.

    ``method`` picks the route where there are several (``linear-softmax-cross-entropy``: ``index`` or
    ``differentials``). ``notation`` renames what is printed, values being LaTeX: ``logits`` (default ``z``),
    ``probs`` (``\\hat{y}``), ``labels`` (``y``), ``classes`` (``n``), ``loss`` (``L``), ``batch`` (``N``),
    ``target`` (``one-hot``, ``one-hot k``, ``class c``, ``distribution`` or ``any``), ``linear`` (a layer such
    as ``o = Wx + b``) and ``shapes``. ``detail`` is how fine the steps are: ``notes`` (the default, the steps a
    course would show, each naming every rule it combines), ``full`` (one rule application per step) or ``brief``
    (the key lines). Raises UsageError for an unknown name, method, detail or notation value.
    """
    info = entry(name)
    if method not in info.methods:
        raise UsageError(f"derivation {name!r} has no method {method!r} (known: {', '.join(info.methods)})")
    chosen = notation_from(dict(info.notation) | notation)  # the entry's own defaults (σ for the sigmoid)
    from .plans import build

    built = build(name, chosen.target, method, detail, bias=chosen.linear_bias, activation=chosen.activation)
    from .render import notation_keys

    keys = notation_keys(built)  # the optional roles it prints (a batch size N, a temperature T)
    return DerivationResult(built, chosen.for_derivation(indices=built.index_names(),
                                                         roles=[key for key in OPTIONAL_ROLES if key in keys]))
