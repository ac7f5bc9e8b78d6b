"""Rendering: a derivation becomes a *view* (printed math, grouped by part and case), and the view goes
through the Jinja templates of one format. Prose lives in the templates; this module only prints math."""

from __future__ import annotations

import dataclasses
import json
import os
import re
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from pathlib import Path

import sympy as sp

from ..engine.detail import starts_chain
from ..record import Case, Derivation, Step
from ..errors import UsageError
from ..notation import Notation
from .printer import MathLatexPrinter, MathTextPrinter

FORMATS = ("text", "latex", "markdown", "json", "ipynb")
FLAVORS = ("dollar", "gfm")
NUMBERINGS = ("global", "local")
# LaTeX sectioning by level: heading=2 (the default) heads each part with \subsection*, as Markdown's ##.
LATEX_HEADINGS = ("section", "subsection", "subsubsection", "paragraph", "subparagraph")

RULE_NAMES = {
    "definition": "definition", "quotient-rule": "quotient rule", "product-rule": "product rule",
    "chain-rule": "chain rule", "sum-rule": "sum rule", "constant-factor": "constant factor",
    "exp-rule": "exponential rule", "log-rule": "logarithm rule", "index-derivative": "index derivative",
    "kronecker-sum": "Kronecker sum", "case-split": "case split", "split-sum": "split sum",
    "fold-definition": "fold definition", "algebra": "algebra", "one-hot": "one-hot labels",
    "sum-to-one": "labels sum to one",
    "substitute": "substitute", "independent": "independent", "matrix-form": "matrix form",
    "differential": "differential", "frobenius": "Frobenius product", "read-off": "read off the gradient",
    "constant-rule": "constant rule", "identity-rule": "identity rule",
    "exp-of-sum": "exponential of a sum", "sum-linearity": "linearity of the sum",
    "hinge-rule": "hinge rule", "excluded-index": "excluded index",
}


def template_dir() -> Path:
    """Templates ship inside the wheel as ``derive/templates``; in a source tree they sit at the top."""
    here = Path(__file__).resolve().parent.parent
    for candidate in (here / "templates", here.parent / "templates"):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError("derive templates not found")


@lru_cache(maxsize=1)
def environment():  # type: ignore[no-untyped-def]
    """Jinja over the templates. Compiling prose.j2 takes 0.1 s, so compiled templates are kept in Jinja's own
    private temporary directory, keyed by each template's checksum (``DERIVE_NO_TEMPLATE_CACHE=1``: none)."""
    import jinja2

    cache = None if os.environ.get("DERIVE_NO_TEMPLATE_CACHE") else _template_cache(jinja2)
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(template_dir())), autoescape=False,
                             trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True,
                             undefined=jinja2.StrictUndefined, bytecode_cache=cache)
    env.globals["rule_name"] = RULE_NAMES.get
    env.filters["yaml"] = yaml_scalar
    return env


def yaml_scalar(value: object) -> str:
    """A YAML single-quoted scalar: read back verbatim, backslashes and all; a quote (z') is doubled."""
    return "'" + str(value).replace("'", "''") + "'"


def _template_cache(jinja2):  # type: ignore[no-untyped-def]
    """Jinja's bytecode cache, or None where no private temporary directory can be had; a cache that cannot be
    written or read is skipped, never an error."""
    class QuietCache(jinja2.FileSystemBytecodeCache):  # type: ignore[name-defined,misc]
        def load_bytecode(self, bucket) -> None:  # type: ignore[no-untyped-def]
            try:
                super().load_bytecode(bucket)
            except OSError:
                pass

        def dump_bytecode(self, bucket) -> None:  # type: ignore[no-untyped-def]
            try:
                super().dump_bytecode(bucket)
            except OSError:
                pass

    try:
        return QuietCache()
    except (OSError, RuntimeError):
        return None


class Printed:
    """An expression printed on demand: a format needs only LaTeX or only Unicode text, and printing is costly."""

    def __init__(self, view: "View", expr: sp.Expr) -> None:
        self.view, self.expr = view, expr

    @cached_property
    def latex(self) -> str:
        return self.view.latex(self.expr)

    @cached_property
    def text(self) -> str:
        return self.view.text(self.expr)


@dataclass
class Line:
    """One row of a displayed chain: a step's result, numbered; or, unnumbered (``number`` None), a result a
    combined step folds in but still shows (``Step.shown``)."""

    number: int | None
    math: Printed
    step: Step

    @property
    def latex(self) -> str:
        return self.math.latex

    @property
    def text(self) -> str:
        return self.math.text


@dataclass
class Group:
    """Consecutive steps of one part under one case: rendered as one chain of equalities."""

    case: Case | None
    lhs: Printed
    start: Printed | None = None
    lines: list[Line] = field(default_factory=list)
    merge: bool = False

    @property
    def lhs_latex(self) -> str:
        return self.lhs.latex

    @property
    def lhs_text(self) -> str:
        return self.lhs.text

    @property
    def start_latex(self) -> str | None:
        return self.start.latex if self.start else None

    @property
    def start_text(self) -> str | None:
        return self.start.text if self.start else None


@dataclass
class PartView:
    key: str
    title: str
    groups: list[Group]


class View:
    """Everything a template needs, printed in the derivation's notation."""

    def __init__(self, derivation: Derivation, notation: Notation) -> None:
        self.derivation, self.notation = derivation, notation
        self.latex_printer = MathLatexPrinter(notation, derivation.model)
        self.text_printer = MathTextPrinter(notation, derivation.model)
        self.parts = [self._part(p) for p in derivation.parts]
        self.numbered = [line for part in self.parts for group in part.groups for line in group.lines
                         if line.number is not None]

    def parts_in_case(self, case: str) -> list[PartView]:
        """The parts with only the groups of one case (``j \\neq k``, ``j = k``), as a directive's case= asks."""
        wanted = " ".join(case.replace("≠", r"\neq").split())
        chosen = [dataclasses.replace(part, groups=[g for g in part.groups
                                                    if g.case and " ".join(g.case.latex.split()) == wanted])
                  for part in self.parts]
        if not any(part.groups for part in chosen):
            cases = sorted({g.case.latex for part in self.parts for g in part.groups if g.case})
            raise UsageError(f"{self.derivation.name} has no case {case!r} (cases: {', '.join(cases) or 'none'})")
        return chosen

    def display_math(self) -> str:
        """All chains in one aligned block, for Jupyter's _repr_latex_."""
        rows = []
        for part in self.parts:
            for group in part.groups:
                if group.case:
                    rows.append(rf"&\text{{case }} {group.case.latex}")
                first = group.lhs_latex + (rf" &= {group.start_latex}" if group.start_latex else "")
                lines = [line.latex for line in group.lines]
                if not group.start_latex:
                    first += rf" &= {lines.pop(0)}"
                rows.append(first)
                rows.extend(rf"&= {line}" for line in lines)
        return "\\begin{aligned}\n" + " \\\\\n".join(rows) + "\n\\end{aligned}"

    def label(self, line: Line, occurrence: int = 1) -> str:
        """A LaTeX label for a numbered line, stable per step whatever an excerpt displays as its number:
        derive:NAME[:METHOD][:DETAIL]:STEP, with :OCCURRENCE for the second and later copies of the same steps
        in one document (two identical excerpts must not define the same label)."""
        stem = re.sub(r"[^a-z0-9]+", "-", self.derivation.name.lower().replace("\\", "")).strip("-")
        method = "" if self.derivation.method == "index" else f":{self.derivation.method}"
        detail = "" if self.derivation.detail == "notes" else f":{self.derivation.detail}"
        copy = f":{occurrence}" if occurrence > 1 else ""
        return f"derive:{stem}{method}{detail}:{line.number}{copy}"

    def latex(self, expr: sp.Expr) -> str:
        return self.latex_printer.doprint(expr)

    def text(self, expr: sp.Expr) -> str:
        return self.text_printer.doprint(expr)

    def both(self, expr: sp.Expr) -> Printed:
        return Printed(self, expr)

    @cached_property
    def names(self) -> dict[str, Printed]:
        """Expressions the prose mentions, printed in the notation."""
        from .. import matrices as mtx, model as mdl
        from ..engine.differentials import layer_definition, loss_as_frobenius

        exprs = {"probs_j": mdl.yhat[mdl.j], "probs_k": mdl.yhat[mdl.k], "logits_k": mdl.z[mdl.k],
                 "labels_j": mdl.y[mdl.j], "labels_k": mdl.y[mdl.k], "loss": mdl.L, "classes": mdl.n,
                 "partition": mdl.partition_sum(), "label_sum": mdl.class_sum(mdl.y[mdl.j], mdl.j),
                 "label": mdl.c, "batch": mdl.N, "delta_jk": sp.KroneckerDelta(mdl.j, mdl.k),
                 "hot": sp.KroneckerDelta(mdl.k, mdl.c), "example_loss": mdl.ell[mdl.t],
                 "logits_j": mdl.z[mdl.j], "weight_jr": mdl.W[mdl.j, mdl.r], "input_r": mdl.x[mdl.r],
                 "bias_j": mdl.b[mdl.j], "weights": mtx.MATRICES["W"], "input": mtx.MATRICES["x"],
                 "bias": mtx.MATRICES["b"], "logits": mtx.MATRICES["z"], "probs": mtx.MATRICES["yhat"],
                 "labels": mtx.MATRICES["y"], "inputs": mdl.M, "ones": mtx.ONES,
                 "input_row": sp.Transpose(mtx.MATRICES["x"]),
                 "example_input_row": sp.Transpose(mtx.ExampleOf(mtx.MATRICES["x"], mdl.t)),
                 "diag_probs": sp.DiagMatrix(mtx.MATRICES["yhat"]),
                 "diag_probs_inverse": sp.Inverse(sp.DiagMatrix(mtx.MATRICES["yhat"])),
                 "loss_frobenius": loss_as_frobenius(),
                 "layer": layer_definition(self.derivation.model.bias),
                 "i": mdl.i, "j": mdl.j, "k": mdl.k, "t": mdl.t, "probs_label": mdl.yhat[mdl.c]}
        if not self.derivation.model.bias:  # a layer written without a bias: the prose never names one
            del exprs["bias_j"], exprs["bias"]
        exprs.update(self.derivation.model.prose_names())  # a family's own (σ(z), its loss)
        return {key: self.both(value) for key, value in exprs.items()}

    def _part(self, part) -> PartView:  # type: ignore[no-untyped-def]
        groups: list[Group] = []
        counter = self._offset(part.key)
        previous = None
        for step in self.derivation.steps_of(part.key):
            counter += 1
            if not groups or starts_chain(previous, step):
                groups.append(self._group(part, step))
            groups[-1].lines.extend(Line(None, Printed(self, shown), step) for shown in step.shown)
            groups[-1].lines.append(Line(counter, Printed(self, step.after), step))
            previous = step
        return PartView(part.key, part.title, groups)

    def _offset(self, key: str) -> int:
        keys = [p.key for p in self.derivation.parts]
        return sum(len(self.derivation.steps_of(k)) for k in keys[:keys.index(key)])

    def _group(self, part, step: Step) -> Group:  # type: ignore[no-untyped-def]
        lhs = step.facts.get("lhs", part.goal)
        group = Group(step.case, Printed(self, lhs), merge=step.detail == "merge")
        if "lhs" not in step.facts and step.before != lhs:  # a restart begins at its own left-hand side
            group.start = Printed(self, step.before)
        return group

    @property
    def goal_text(self) -> str:
        return self.text(self.derivation.result_lhs)

    @property
    def goal_latex(self) -> str:
        return self.latex(self.derivation.result_lhs)

    @property
    def result_latex(self) -> str:
        return f"{self.latex(self.derivation.result_lhs)} = {self.latex(self.derivation.result)}"

    @property
    def result_text(self) -> str:
        return f"{self.text(self.derivation.result_lhs)} = {self.text(self.derivation.result)}"


def justification(view: View, step: Step, fmt: str) -> str:
    """The prose of one step, from templates/prose.j2, in ``fmt`` (text, latex, markdown or gfm)."""
    module = environment().get_template("prose.j2").module

    def facts(of: Step) -> dict[str, Printed]:
        return {key: view.both(value) for key, value in of.facts.items()}

    text = str(module.justify(step, facts(step), view.names, fmt))
    if step.merged:  # a combined step also names, in order, every rule folded into it
        clauses = list(dict.fromkeys(str(module.short(each, facts(each), view.names, fmt)).strip()
                                     for each in step.folded))  # a rule used twice is named once
        text += " " + str(module.along(clauses, fmt))
    if fmt != "text":  # inline math: plain brackets, which may break across lines and keep the line's height
        text = text.replace("\\left(", "(").replace("\\right)", ")")
    return " ".join(text.split())


def render(derivation: Derivation, notation: Notation, fmt: str = "text", *, standalone: bool = False,
           flavor: str = "dollar", parts: tuple[str, ...] | None = None, case: str | None = None,
           numbering: str = "global", heading: int | None = 2, occurrence: int = 1, embedded: bool = False) -> str:
    """Render in one of FORMATS.

    What course notes embed: ``parts`` and ``case`` select steps; ``numbering`` "local" numbers the selection
    from 1, "global" as in the whole derivation (LaTeX labels follow the step, not its displayed number);
    ``heading`` is the level of part headings (Markdown's number of #, LaTeX 1 \\section to 5
    \\subparagraph; cases one level below), None for no inserted heading (a Markdown case then reads as a bold
    line); ``occurrence`` counts copies of the same steps in one document, so that their labels differ;
    ``embedded`` leaves out what only a whole document has (notation lines, the introduction).
    """
    if fmt not in FORMATS:
        raise UsageError(f"unknown format {fmt!r} (known: {', '.join(FORMATS)})")
    if flavor not in FLAVORS:
        raise UsageError(f"unknown flavor {flavor!r} (known: {', '.join(FLAVORS)})")
    if numbering not in NUMBERINGS:
        raise UsageError(f"unknown numbering {numbering!r} (known: {', '.join(NUMBERINGS)})")
    if heading is not None and not (isinstance(heading, int) and 1 <= heading <= 6):
        raise UsageError(f"heading level {heading!r} is not between 1 and 6")
    if not (isinstance(occurrence, int) and occurrence >= 1):
        raise UsageError(f"occurrence {occurrence!r} is not a positive whole number")
    view = cached_view(derivation, notation)
    if fmt == "json":
        from .certificate import certificate

        return json.dumps(certificate(derivation, notation, view), indent=2, ensure_ascii=False) + "\n"
    if fmt == "ipynb":
        from .notebook import notebook

        return notebook(view, lambda v, p: _template(v, "markdown", Layout(), parts=p))
    if parts is not None:
        known = [p.key for p in view.parts]
        for key in parts:
            if key not in known:
                raise UsageError(f"{derivation.name} has no part {key!r} (parts: {', '.join(known)})")
    layout = Layout(standalone, flavor, numbering, heading, occurrence, embedded)
    return _template(view, fmt, layout, parts, case)


_VIEWS: dict[tuple[str, str, object, str, Notation], View] = {}


def cached_view(derivation: Derivation, notation: Notation) -> View:
    """Printing is the costly part of rendering; course notes ask for the same view many times."""
    key = (derivation.name, derivation.method, derivation.model.target, derivation.detail, notation)
    if key not in _VIEWS:
        _VIEWS[key] = View(derivation, notation)
    return _VIEWS[key]


@dataclass(frozen=True)
class Layout:
    """How a document is laid out, apart from what it shows (see :func:`render`)."""

    standalone: bool = False
    flavor: str = "dollar"
    numbering: str = "global"
    heading: int | None = 2
    occurrence: int = 1
    embedded: bool = False


def _template(view: View, fmt: str, layout: Layout, parts: tuple[str, ...] | None = None,
              case: str | None = None) -> str:
    candidates = view.parts if case is None else view.parts_in_case(case)
    chosen = [p for p in candidates if (parts is None or p.key in parts) and p.groups]
    template = environment().get_template(f"{fmt}/derivation.j2")
    prose_fmt = "gfm" if fmt == "markdown" and layout.flavor == "gfm" else fmt
    shown = [line for p in chosen for g in p.groups for line in g.lines if line.number is not None]
    local = {line.number: position for position, line in enumerate(shown, 1)} if layout.numbering == "local" else {}

    def prose(step: Step) -> str:
        return justification(view, step, prose_fmt)

    def number(line: Line) -> int | None:
        """The number a reader sees: the step's own, or its place in an excerpt numbered from 1."""
        return local.get(line.number, line.number) if line.number is not None else None

    def label(line: Line) -> str:
        return view.label(line, layout.occurrence)

    heading = layout.heading
    return template.render(view=view, parts=chosen, standalone=layout.standalone, flavor=layout.flavor,
                           prose=prose, number=number, label=label, heading=heading,
                           part_heading=LATEX_HEADINGS[min(heading, len(LATEX_HEADINGS)) - 1] if heading else None,
                           notation=view.notation, derivation=view.derivation,
                           whole=parts is None and case is None, embedded=layout.embedded,
                           target_words=target_words(view, prose_fmt),
                           front_matter=front_matter(view))


def target_words(view: View, fmt: str) -> str:
    """What the labels are, as the notation chose them (a class index c, a distribution, ...), in ``fmt``."""
    module = environment().get_template("prose.j2").module
    model = view.derivation.model.target  # a route that needs a class index has one, whatever the default
    chosen = model if model.kind == "class" else view.notation.target
    text = " ".join(str(module.labels_are(chosen, view.names, fmt)).split())
    return text.replace("\\left(", "(").replace("\\right)", ")") if fmt != "text" else text


# The notation keys every derivation of softmax and cross-entropy prints.
CORE_KEYS = ("logits", "probs", "labels", "target", "classes", "loss")


def notation_keys(derivation: Derivation) -> tuple[str, ...]:
    """The notation keys a derivation uses, so that its documents carry no key that means nothing to it: the core
    ones, the layer's where there is a layer, the batch size where examples are indexed. A family of derivations
    with keys of its own names them (``notation_keys`` of its model)."""
    own = getattr(derivation.model, "notation_keys", None)
    if own is not None:
        return tuple(own)
    models = [derivation.model] + [part.model for part in derivation.parts if part.model is not None]
    keys = CORE_KEYS + (("linear", "shapes") if derivation.model.linear else ())
    return keys + (("batch",) if any(model.batch for model in models) else ())


def front_matter(view: View) -> dict[str, str]:
    """The notation as `derive check` reads it back from Markdown front matter (or ``% derive:`` lines): the keys
    the derivation uses (see :func:`notation_keys`)."""
    notation = view.notation.as_dict()
    notation["probs"] = ", ".join(notation["probs"])  # type: ignore[arg-type]
    notation["target"] = str(view.derivation.model.target)
    keys = notation_keys(view.derivation)
    return {key: str(notation[key]) for key in keys if notation.get(key) is not None}

