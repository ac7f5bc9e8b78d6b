"""Label smoothing read back by `derive check`: its own Markdown, with the smoothed labels written y^{LS}_k
(`{y}^{\\mathrm{LS}}_{k}`, a name with a word as superscript), checks all valid, and forgetting ε/K is caught."""

from __future__ import annotations

import pytest

import derive

from test_softmax_family import DETAILS, NOTATION, last_line, slipped

NAME = "label-smoothing-cross-entropy"


@pytest.mark.parametrize("detail", DETAILS)
@pytest.mark.parametrize("flavor", ["dollar", "gfm"])
def test_generated_markdown_checks_all_valid(detail, flavor):
    for notation in ({}, NOTATION, {"target": "class c"}):
        report = derive.check(derive.derivation(NAME, detail=detail, **notation).markdown(flavor=flavor))
        assert report.steps and report.summary["invalid"] == 0 and report.summary["unknown"] == 0, \
            [(s.line, s.verdict, s.message) for s in report.steps if s.verdict != "valid"]


def test_forgetting_the_uniform_part_is_caught_at_that_step():
    markdown = derive.derivation(NAME).markdown()
    line, rhs = last_line(markdown, r"\frac{\partial L}{\partial z_{k}}")
    assert rhs.endswith(r" - \frac{\varepsilon}{n}")  # ... - (1 - ε) y_k - ε/n, written without the ε/n
    report = derive.check(slipped(markdown, line, rhs, rhs[:-len(r" - \frac{\varepsilon}{n}")]))
    wrong = [s for s in report.steps if s.verdict != "valid"]
    assert [(s.line, s.verdict) for s in wrong] == [(line, "invalid")] and wrong[0].counterexample
