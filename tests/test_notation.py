"""Notation reaches every formula; user text never reaches LaTeX unescaped."""

from __future__ import annotations

import re

import pytest

import derive
from derive.errors import UsageError
from derive.notation import Notation, notation_from

from helpers import ROUTES, run_cli

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
    indicators = re.findall(r"\\math(?:bb|bf|bbm)\{1\}\[([^\]]*)\]", latex)
    assert indicators and "k = k" not in indicators


def test_defaults():
    n = Notation()
    assert (n.logits, n.probs_symbol, n.labels, n.classes, n.loss, str(n.target)) == \
        ("z", r"\hat{y}", "y", "n", "L", "one-hot")


# --- the allow-list grammar of a symbol (issues 10 and 11) -----------------------------------------------------

GOOD = ["z", r"\theta", r"\hat{o}", r"\hat o", r"\tilde{\mathbf{y}}", r"\boldsymbol{\theta}", r"\mathbf{W}",
        r"\operatorname{logit}", "z'", "z''", r"\bar{o}", r"\varphi", r"\mathcal{Z}"]


@pytest.mark.parametrize("value", GOOD)
def test_well_formed_symbols_are_accepted(value):
    assert notation_from({"logits": value}).logits == value


@pytest.mark.parametrize("value, reason", [
    ("^^5cinput^^7bsecret.txt^^7d", "'^^' is a TeX character escape"),
    ("z^^41", "'^^'"),
    (r"\theta_", "'_' has no subscript (column 7)"),
    ("x_i", "the subscript i is an index name"),
    (r"W_{ij}", "index name"),
    ("a b", "a space between two symbols"),
    ("ab", "reads as a product"),
    ("a}b{", "unbalanced brace: '}' closes nothing (column 2)"),
    (r"\hat{y", "unbalanced brace: '{' is never closed (column 5)"),
    ("x\x1b[2J", "control character"),
    ("x\u202e", "control character"),
    ("z_0", "double subscript"),
    ("z^{(1)}", "double superscript"),
    ("y^T", "double superscript"),
    (r"\hat{}", "missing"),
    ("θ", "write it as a LaTeX command"),
    (r"\def\x", r"\def is not allowed"),
    ("1", "not allowed"),
    ("k", "k is an index name"),
    ("e", "Euler's number"),
])
def test_malformed_symbols_are_refused_with_the_reason(value, reason):
    with pytest.raises(UsageError) as caught:
        notation_from({"logits": value})
    message = str(caught.value)
    assert message.startswith("notation logits: ") and reason in message, message
    assert "\n" not in message and "\x1b" not in message


@pytest.mark.parametrize("value, reason", [("L_{1}_{2}", "more than one subscript"),
                                           ("L^1^2", "more than one superscript"),
                                           ("L_1'", "a prime goes right after the letter"),
                                           ("L_{a{b}}", "nested braces"), ("L_", "no subscript")])
def test_scalar_roles_take_one_subscript(value, reason):
    for good in ("L_{CE}", "L^{(1)}", "L'^{2}", "L_1^{*}"):
        assert notation_from({"loss": good}).loss == good
    with pytest.raises(UsageError, match=f"notation loss: .*{reason}"):
        notation_from({"loss": value})


@pytest.mark.parametrize("values, roles", [
    ({"logits": "y"}, ("logits", "labels")),
    ({"labels": "z"}, ("labels", "logits")),
    ({"probs": "z"}, ("probs", "logits")),
    ({"loss": "y"}, ("loss", "labels")),
    ({"classes": "N", "batch": "N"}, ("classes", "batch")),
    ({"logits": r"\theta", "labels": r"\theta"}, ("logits", "labels")),
    ({"target": "class z"}, ("target", "logits")),
    ({"target": "class n"}, ("target", "classes")),
    ({"linear": "o = Wx + b", "labels": "W"}, ("labels", "linear weights")),
    ({"temperature": "y"}, ("temperature", "labels")),
])
def test_two_roles_never_share_a_symbol(values, roles):
    with pytest.raises(UsageError) as caught:
        notation_from(values)
    message = str(caught.value)
    assert message.startswith(f"notation {roles[0]}: ") and roles[1] in message, message


@pytest.mark.parametrize("key", ["classes", "logits", "labels", "loss", "batch"])
@pytest.mark.parametrize("index", ["i", "j", "k"])
def test_no_role_takes_an_index_name(key, index):
    with pytest.raises(UsageError, match=f"notation {key}: .*index name"):
        notation_from({key: index})


def test_indices_of_one_derivation_only_are_checked_against_it():
    """Real notes write targets t and probabilities s or q; only where a derivation prints t or s do they clash."""
    notation = notation_from({"labels": "t", "probs": "s", "classes": "C"})
    assert notation.for_derivation(indices="ijk") is notation
    with pytest.raises(UsageError, match="notation labels: t is an index name in this derivation"):
        notation.for_derivation(indices="ijkst", roles=["batch"])
    with pytest.raises(UsageError, match="notation classes: N is also the symbol of batch|notation batch: N is also"):
        notation_from({"classes": "N"}).for_derivation(roles=["batch"])
    for subscript in ("W_t", "W_{s}", "W_{lr}"):
        with pytest.raises(UsageError, match="index name"):
            notation_from({"loss": subscript})


@pytest.mark.parametrize("name, key, value", [
    ("batch-cross-entropy", "labels", "t"), ("batch-cross-entropy", "logits", "s"),
    ("batch-cross-entropy", "batch", "t"), ("linear-softmax-cross-entropy", "logits", "r"),
    ("linear-softmax-cross-entropy", "classes", "m"),
])
def test_a_role_named_as_an_index_the_derivation_prints_exits_2(name, key, value):
    """Each derivation knows the indices it prints: t and s of a batch, l, r and the input size m of a layer."""
    done = run_cli("show", name, "--notation", f"{key}={value}")
    assert done.returncode == 2 and done.stderr.count("\n") == 1
    assert f"notation {key}: {value} is an index name in this derivation" in done.stderr
    assert run_cli("show", "softmax-cross-entropy", "--notation", f"{key}={value}").returncode == 0


def test_function_names_and_lists_for_probabilities():
    notation = notation_from({"probs": r"p, softmax, \operatorname{softmax}"})
    assert notation.probs == ("p", "softmax", r"\operatorname{softmax}")
    assert notation_from({"probs": r"\sigma"}).probs_is_function
    assert notation_from({"loss": "CE"}).loss == "CE"  # a multi-letter loss name is a name, not a product
    for word in ("iii", "layer", "ce"):
        with pytest.raises(UsageError, match="reads as a product"):
            notation_from({"loss": word})


def test_new_keys_have_their_defaults_and_are_validated():
    notation = Notation()
    assert (notation.temperature, notation.smoothing, notation.margin, notation.activation) == \
        ("T", r"\varepsilon", r"\Delta", "tanh")
    assert notation_from({"activation": "relu"}).activation == "relu"
    with pytest.raises(UsageError, match="activation"):
        notation_from({"activation": "sigmoid"})
    with pytest.raises(UsageError, match="shapes"):
        notation_from({"shapes": "W: 4x3, x: 3^^5c"})


@pytest.mark.parametrize("value", ["y", r"\theta_", "x_i", "a b", "k", "^^5cinput^^7bx^^7d"])
def test_bad_notation_on_the_command_line_exits_2_on_one_line(value):
    from helpers import run_cli

    done = run_cli("show", "softmax-cross-entropy", "--notation", f"logits={value}")
    assert done.returncode == 2, done.stdout[:200]
    assert "Traceback" not in done.stderr and len(done.stderr.strip().splitlines()) == 1
    assert "logits" in done.stderr


def test_bad_classes_and_probs_on_the_command_line_exit_2():
    from helpers import run_cli

    for item, other in (("classes=k", "index"), ("probs=z", "logits")):
        done = run_cli("show", "softmax-cross-entropy", "--notation", item)
        assert done.returncode == 2 and other in done.stderr, done.stderr


@pytest.mark.parametrize("value", [r"\hat\mathbf\theta", r"\hat\hat p", r"\bar\boldsymbol z"])
def test_an_accent_of_an_unbraced_accent_or_font_is_refused(value):
    """TeX gives \\hat the bare \\mathbf as its argument: the LaTeX would not compile (found by fuzzing)."""
    with pytest.raises(UsageError, match="needs braces"):
        Notation().with_values({"logits": value})
