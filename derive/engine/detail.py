"""Levels of detail: which rule applications stand as lines of their own and which fold into a neighbour.

A derivation is traced once, one rule application per step (``full``). Coarser levels combine consecutive
steps of one displayed chain (same part, same case, same left-hand side) into one step whose ``before`` is
the first step's and whose ``after`` is the last step's; the combined step is verified again as one step.
Which steps fold is data (:data:`LEVELS`), keyed by rule id or ``rule/detail``, never by derivation.

A step that folds with ``show`` still has its result written, unnumbered, before the combined line: course
notes write a definition out or a case in, and then take the numbered step from there.
"""

from __future__ import annotations

from typing import Literal

from ..record import Step

Attach = Literal["own", "next", "prev", "show"]

DETAILS = ("notes", "full", "brief")
DEFAULT_DETAIL = "notes"

# own: a line of its own; next / prev: folded into the following / preceding line of the same chain (into the
# other one where there is no such line); show: folded into the following line, its result written unnumbered
# before it. Keys not listed stand on their own.
_NOTES: dict[str, Attach] = {
    # writing out a definition, linearity and the elementary derivatives go with the rule that needs them; the
    # written-out definition and the case written in stay visible, as the numbered step starts from them
    "definition/softmax": "show", "definition/loss": "show", "case-split/split": "show",
    "definition/linear-matrix": "next",
    "constant-factor": "next", "sum-rule": "prev", "exp-rule": "prev", "index-derivative": "prev",
    "kronecker-sum": "prev", "independent": "prev", "differential/constant": "next", "differential/sum": "next",
    # regroupings go with the move they prepare or finish
    "split-sum/split": "prev", "split-sum/merge": "next",
    "algebra/factor": "next", "algebra/distribute": "prev", "algebra/pull-out-of-sum": "prev",
    "algebra/collect": "prev", "algebra/transpose": "prev", "algebra/expand-product": "next",
}
_BRIEF: dict[str, Attach] = _NOTES | {
    # only the key lines: the rule that does the work of each chain, the cases, substitutions, assumptions
    "definition": "next", "fold-definition": "prev", "algebra": "prev", "frobenius/linear": "prev",
    "algebra/log-of-quotient": "own", "definition/softmax": "next", "definition/loss": "next",
    "case-split/split": "own",
}
for _level in (_NOTES, _BRIEF):  # the softmax family: variants of a definition fold as the definition they vary;
    _level["definition/softmax-temperature"] = _level.get("definition/softmax", _level.get("definition", "own"))
    _level["definition/loss-smoothed"] = _level.get("definition/loss", _level.get("definition", "own"))
    _level["constant-factor/inner"] = "prev"  # 1/T out of ∂(z_i/T)/∂z_k goes with the exponential rule before it
# the sigmoid family: σ and the loss written out stay visible; the scalar elementary rules go with the rule before
_NOTES.update({"definition/sigmoid": "show", "definition/binary-cross-entropy": "show", "constant-rule": "prev",
               "identity-rule": "prev", "constant-factor/scalar": "prev"})
_BRIEF.update({"definition/sigmoid": "next", "definition/binary-cross-entropy": "next", "constant-rule": "prev",
               "identity-rule": "prev", "constant-factor/scalar": "prev", "algebra/split-fraction": "next",
               "algebra/complement": "next", "fold-definition/sigmoid": "own"})
# the Hessian: the gradient written in stays visible; the variance identity, the argument itself, stays a line
_NOTES.update({"substitute/gradient": "show"})
_BRIEF.update({"substitute/gradient": "next", "algebra/variance": "own"})
# the multiclass hinge: the loss and the case written in stay visible; linearity goes with the scores written out
_NOTES.update({"definition/hinge-loss": "show", "sum-rule/margin": "next", "kronecker-sum/excluded": "own",
               "excluded-index": "own"})
_BRIEF.update({"definition/hinge-loss": "next", "sum-rule/margin": "next", "definition/scores": "prev",
               "kronecker-sum/excluded": "prev", "excluded-index": "prev"})
LEVELS: dict[str, dict[str, Attach]] = {"full": {}, "notes": _NOTES, "brief": _BRIEF}


def attach(level: dict[str, Attach], step: Step) -> Attach:
    """How ``step`` is shown at ``level``: the most specific key wins (``rule/detail``, then ``rule``)."""
    return level.get(f"{step.rule}/{step.detail}", level.get(step.rule, "own"))


def starts_chain(previous: Step | None, step: Step) -> bool:
    """Whether ``step`` begins a new displayed chain: a new part, a case, or a new left-hand side."""
    return (previous is None or previous.part != step.part or step.rule == "case-split" or "lhs" in step.facts
            or step.case != previous.case)


def chains(steps: list[Step]) -> list[list[Step]]:
    """Consecutive steps split where a displayed chain of equalities begins."""
    out: list[list[Step]] = []
    for step in steps:
        if starts_chain(out[-1][-1] if out else None, step):
            out.append([])
        out[-1].append(step)
    return out


def blocks(chain: list[Step], level: dict[str, Attach]) -> list[list[Step]]:
    """Split one chain into the runs of steps shown as one line: each run has one ``own`` step (or, when the
    chain has none, the whole chain is one run). Folded steps between two own steps go to the earlier one up
    to the first that points forward, and to the later one from there on."""
    kinds = [attach(level, s) for s in chain]
    owners = [number for number, kind in enumerate(kinds) if kind == "own"]
    if not owners:
        return [chain]
    cuts = [0]
    for before, after in zip(owners, owners[1:]):
        forward = next((n for n in range(before + 1, after) if kinds[n] in ("next", "show")), after)
        cuts.append(forward)
    cuts.append(len(chain))
    return [chain[a:b] for a, b in zip(cuts, cuts[1:]) if b > a]


def main_step(run: list[Step], level: dict[str, Attach]) -> Step:
    """The step whose rule names the combined one: its own step, else the last (the rule that finishes)."""
    return next((s for s in run if attach(level, s) == "own"), run[-1])


def combine(run: list[Step], level: dict[str, Attach]) -> Step:
    """One step for a run: exact ends, the main rule's name, prose and facts, every rule kept in order, and the
    results of its ``show`` steps to be written before it."""
    if len(run) == 1:
        return run[0]
    main = main_step(run, level)
    facts = {key: value for s in run for key, value in s.facts.items()} | main.facts
    if "lhs" in run[0].facts:
        facts["lhs"] = run[0].facts["lhs"]
    assumes = tuple(dict.fromkeys(a for s in run for a in s.assumes))
    shown = tuple(s.after for s in run[:-1] if attach(level, s) == "show")
    return Step(rule=main.rule, before=run[0].before, after=run[-1].after, part=main.part, case=run[0].case,
                assumes=assumes, detail=main.detail, facts=facts, merged=tuple(run), shown=shown)


def at_level(steps: list[Step], detail: str) -> list[Step]:
    """The steps of a derivation as shown at ``detail`` (``full``: unchanged). Combined steps are new, not yet
    verified; the single steps that stand unchanged are the traced ones."""
    level = LEVELS[detail]
    if not level:
        return list(steps)
    return [combine(run, level) for chain in chains(steps) for run in blocks(chain, level)]
