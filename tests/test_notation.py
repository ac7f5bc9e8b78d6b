"""Notation reaches every formula; user text never reaches LaTeX unescaped."""

from __future__ import annotations

import re

import pytest

import derive
from derive.errors import UsageError
from derive.notation import Notation, notation_from

from helpers import ROUTES

CUSTOM = {"logits": r"\theta", "probs": "p", "classes": "K"}


def math_of(text: str) -> list[str]:
    return re.findall(r"\$\$(.*?)\$\$|\$(.*?)\$", text, re.S)


@pytest.mark.parametrize("name, method", ROUTES)
def test_custom_notation_replaces_defaults_everywhere(name, method):
    result = derive.derivation(name, method, **CUSTOM)
    for text in (result.latex(), result.markdown()):
        math = " ".join(a or b for a, b in math_of(text))
        assert r"\theta_{" in math and "p_{" in math
        assert not re.search(r"(?<![a-zA-Z\\])z_\{", math), "a default logit z is left"
        assert r"\hat{y}" not in math and "hat" not in math
    if name != "cross-entropy":
        assert "K" in result.latex() or name == "batch-cross-entropy" and "K" in result.markdown()
    text = result.text()
    assert "θ_" in text and "ŷ" not in text and "z_" not in text


def test_function_notation_for_probabilities():
    latex = derive.derivation("softmax-jacobian", probs=r"\sigma", logits=r"\theta").latex()
    assert r"\sigma(\theta)_{j}" in latex


@pytest.mark.parametrize("value", [r"\input{/etc/passwd}", r"\write18{rm -rf /}", "a}b{", "x$y", "%", "\\catcode",
                                   "a" * 200, "", "#1"])
def test_unsafe_values_are_rejected(value):
    with pytest.raises(UsageError):
        notation_from({"logits": value})


def test_label_name_that_clashes_with_an_index_is_renamed():
    # seed 000 names the hot index k and differentiates by theta_j: our k must not be confused with it.
    latex = derive.derivation("log-softmax-cross-entropy", target="class k", logits=r"\theta").latex()
    assert r"\mathbb{1}[" in latex
    assert r"\mathbb{1}[k = k]" not in latex


def test_defaults():
    n = Notation()
    assert (n.logits, n.probs_symbol, n.labels, n.classes, n.loss, str(n.target)) == \
        ("z", r"\hat{y}", "y", "n", "L", "one-hot")
