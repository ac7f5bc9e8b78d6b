"""The JSON certificate (contract §4): every step as LaTeX and as ``sympy.srepr`` in base quantities.

A re-checker evaluates both sides at concrete sizes and indices with plain SymPy: ``doit()``, then substitute
the ``definitions`` (probabilities that were variables of differentiation), then compare numerically.
"""

from __future__ import annotations

from typing import Any

import sympy as sp

from .. import model as mdl
from ..matrices import PARAMETERS, is_matrix
from ..record import Derivation
from ..notation import Notation


def _expr(view, model: mdl.Model, expr: sp.Expr, step=None) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """LaTeX as printed; SymPy in base quantities (a matrix form by its entry (row, col), 1-based)."""
    from ..engine.tracer import base_of

    data = {"latex": view.latex(expr), "sympy": sp.srepr(mdl.written_out(base_of(model, expr, step)))}
    if step is not None and "row" in step.facts and is_matrix(expr):
        data["entry"] = [sp.srepr(step.facts["row"]), sp.srepr(step.facts["col"])]
    return data


def _result(derivation: Derivation) -> tuple[Any, sp.Expr, sp.Expr]:
    """(step, result, its left side): the derivation's result, or, for an excerpt without the step that states it
    (``--part sigmoid``, ``--part jacobian``), the excerpt's own last line and the left side of its chain."""
    final = next((s for s in reversed(derivation.steps) if s.after is derivation.result), None)
    if final is not None:
        return final, derivation.result, derivation.result_lhs
    final = derivation.steps[-1]
    chain = [s for s in derivation.steps if s.part == final.part]
    goal = next(p.goal for p in derivation.parts if p.key == final.part)
    lhs = next((s.facts["lhs"] for s in reversed(chain) if "lhs" in s.facts), goal)
    return final, final.after, lhs


def _excluded(view, model: mdl.Model) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """Where a family's steps do not hold and were not checked (the kinks of max(0, u) of the hinge loss): the
    expression that must not vanish, for every value of ``index``; none for a derivation that holds everywhere."""
    excluded = getattr(model, "excluded", None)
    if excluded is None:
        return {}
    found = excluded()
    return {"excluded": {"nonzero": {"latex": view.latex(found["where"]), "sympy": sp.srepr(model.to_base(found["where"]))},
                         "for_every": found["index"].name, "gap": found["gap"], "reason": found["reason"]}}


def certificate(derivation: Derivation, notation: Notation, view) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    from . import justification

    model = derivation.model
    models = {part.key: part.model or model for part in derivation.parts}  # a batch part has its own
    final, result, result_lhs = _result(derivation)
    indices = sorted({s.name for step in derivation.steps
                      for e in (step.before, step.after, step.facts.get("row", 0), step.facts.get("col", 0))
                      for s in sp.sympify(e).atoms(sp.Symbol) if s in mdl.INDEX_SYMBOLS and s not in (mdl.c, mdl.h)})
    return {
        "name": derivation.name,
        "title": derivation.title,
        "detail": derivation.detail,
        "notation": notation.as_dict() | {"target": str(model.target)},
        "symbols": {"logits": "z", "labels": "y", "probs": "yhat", "classes": "n", "loss": "L",
                    "batch": "N" if any(m.batch for m in models.values()) else None,
                    "label_index": "c" if model.label_index else None,
                    "indices": indices} | model.certificate_symbols,  # a family says what differs
        "directions": {name: mdl.DIRECTIONS[name] for name in PARAMETERS} | {"parameter": mdl.epsilon.name}
        if derivation.method == "differentials" else None,
        "definitions": {name: {"indices": [s.name for s in idx], "sympy": sp.srepr(expr)}
                        for name, (idx, expr) in model.definitions().items()},
        **_excluded(view, model),
        "result": _expr(view, models[final.part], result, final) | {"lhs": {"latex": view.latex(result_lhs)}},
        "steps": [{
            "rule": step.rule,
            "rules": list(step.rules),
            "part": step.part,
            "case": step.case.as_dict() if step.case else None,
            "assumes": list(step.assumes),
            "before": _expr(view, models[step.part], step.before, step),
            "after": _expr(view, models[step.part], step.after, step),
            "justification": justification(view, step, "text"),
            "verified": step.verified,
            "symbolic": step.symbolic,
        } for step in derivation.steps],
    }
