"""derive check reads documents as people write them (issue 9): the document's own definitions give its symbols
their meaning, roles are inferred, and real-world syntax is read as TeX reads it. What a user would check: the
verdict of each step, and that what is reported (roles, counterexample, diagnosis) is right."""

from __future__ import annotations

from pathlib import Path

import pytest

import derive

FIXTURES = Path(__file__).parent / "fixtures"
BLOG = FIXTURES / "blog_no_front_matter.md"


def verdicts(text: str, **notation: str) -> list[str]:
    return [step.verdict for step in derive.check(text, **notation).steps]


def one(text: str, **notation: str):
    (step,) = derive.check(f"$$\n{text}\n$$\n", **notation).steps
    return step


def test_a_blog_derivation_with_no_configuration_checks_step_by_step():
    report = derive.check(BLOG)
    assert report.summary == {"valid": 10, "invalid": 0, "unknown": 0}
    assert report.notation["source"] == "document"
    assert report.notation["roles"] == {"logits": "z", "probs": "p", "labels": "y", "loss": "L", "classes": "n"}
    assert [d.symbol for d in report.definitions] == ["S", "p_i", "L"]   # S from inline math, p and L displayed


def test_a_sign_slip_in_it_is_invalid_with_counterexample_and_diagnosis(tmp_path):
    text = BLOG.read_text(encoding="utf-8").replace(r"&= -y_k + y_k p_k + \sum", r"&= -y_k + y_k p_k - \sum")
    slipped = tmp_path / "slip.md"
    slipped.write_text(text, encoding="utf-8")
    report = derive.check(slipped)
    first = report.first_invalid
    assert first is not None and first.line == 28 and first.counterexample is not None
    assert first.diagnosis == "the sign of one term is flipped"
    assert report.exit_code == 1


def test_definitions_are_the_semantics_whatever_the_names():
    doc = (r"Let $\ell_j = t_j \log q_j$ and $$q_j = \frac{e^{a_j}}{\sum_k e^{a_k}}$$ with one-hot $t$." "\n"
           r"$$E = -\sum_j \ell_j$$" "\n"
           r"$$\frac{\partial E}{\partial a_i} = -\sum_j t_j (\delta_{ij} - q_i) = q_i - t_i$$" "\n"
           r"$$\frac{\partial E}{\partial a_i} = t_i - q_i$$" "\n")
    report = derive.check(doc)
    assert [s.verdict for s in report.steps] == ["valid", "valid", "invalid"]
    assert report.notation["roles"]["probs"] == "q" and report.notation["roles"]["logits"] == "a"


def test_a_layer_defined_in_the_text_is_differentiated_through():
    doc = (r"$$z_j = \sum_i w_{ij} o_i + b_j$$" "\n" r"$$p_j = \frac{e^{z_j}}{\sum_k e^{z_k}}$$" "\n"
           r"$$L = -\sum_j y_j \log p_j$$" "\n"
           r"$$\frac{\partial L}{\partial w_{ij}} = (p_j - y_j) o_i$$" "\n"
           r"$$\frac{\partial L}{\partial o_i} = \sum_j (p_j - y_j) w_{ij}$$" "\n"
           r"$$\frac{\partial L}{\partial w_{ij}} = (p_i - y_i) o_j$$" "\n")
    assert verdicts(doc) == ["valid", "valid", "invalid"]


@pytest.mark.parametrize("claim, verdict", [
    (r"\frac{d}{dx} \sigma(x) = \sigma(x)(1 - \sigma(x))", "valid"),    # σ of a scalar is the sigmoid
    (r"\frac{d}{dx} \sigma(x) = \sigma(x)^2", "invalid"),
    (r"\frac{d}{dx} \tanh(x) = 1 - \tanh^2 x", "valid"),
    (r"\frac{d}{dx} f(x)^2 = 2 f(x) f'(x)", "valid"),                   # for every function f
    (r"\frac{d}{dx} f(x)^2 = 2 f'(x)", "invalid"),
    (r"\frac{d}{dx} f(g(x)) = f'(g(x)) g'(x)", "valid"),
    (r"\frac{\partial}{\partial z_k} \log \sum_j e^{z_j} = \operatorname{softmax}(z)_k", "valid"),
    (r"\frac{\partial}{\partial z_k} \ln \sum_{d} \exp(z_d) = {e^{z_k} \over \sum_d e^{z_d}}", "valid"),
    (r"\sum_j e^{z_j} = e^{z_1} + \dots + e^{z_n}", "valid"),
    (r"\frac{\partial z_i}{\partial z_k} = 1\{i = k\}", "valid"),
    (r"\frac{d}{dt} \max(0, t) = \mathbb{1}[t > 0]", "valid"),
    (r"\frac{\partial}{\partial z_k} \operatorname{softmax}(z / T)_i = \frac{1}{T} \operatorname{softmax}(z / T)_i"
     r" (\delta_{ik} - \operatorname{softmax}(z / T)_k)", "valid"),
])
def test_functions_and_syntax_people_use(claim, verdict):
    step = one(claim)
    assert step.verdict == verdict, step.message


def test_logits_named_x_are_not_the_layer_input():
    """A user's name never takes a built-in meaning: with logits x, ∂/∂x_i is by the logits."""
    step = one(r"\frac{\partial L}{\partial x_i} = \hat{y}_i - y_i", logits="x")
    assert step.verdict == "valid", step.message


def test_a_cases_row_with_text_if_is_read():
    doc = (r"$$\frac{\partial \hat{y}_i}{\partial z_k} = \begin{cases} \hat{y}_i (1 - \hat{y}_i) & \text{if } i=k \\"
           r" -\hat{y}_i \hat{y}_k & \text{otherwise} \end{cases}$$")
    assert verdicts(doc) == ["valid"]


def test_a_case_about_a_summation_index_does_not_leak():
    doc = ("Split the sum into $j = k$ and the terms for $j \\neq k$:\n\n"
           r"$$\frac{\partial L}{\partial z_k} = -\sum_j y_j (\delta_{jk} - \hat{y}_k) = \hat{y}_k - y_k$$" "\n")
    report = derive.check(doc)
    assert [s.verdict for s in report.steps] == ["valid", "valid"]
    assert all(s.case is None for s in report.steps)


def test_holds_when_never_contradicts_the_case():
    doc = ("<!-- derive: case i \\neq j -->\n\n"
           r"$$\frac{\partial \hat{y}_i}{\partial z_j} = \hat{y}_i (1 - \hat{y}_j)$$" "\n")
    (step,) = derive.check(doc).steps
    assert step.verdict == "invalid" and step.holds_when != "i = j"


def test_chains_that_go_on_in_a_new_block_and_elided_steps():
    doc = (r"$$\frac{\partial \hat{y}_j}{\partial z_j} = \frac{e^{z_j} \sum_i e^{z_i} - e^{z_j} e^{z_j}}"
           r"{(\sum_i e^{z_i})^2}$$" "\nso\n\n" r"$$= \hat{y}_j - \hat{y}_j^2 = \dots = \hat{y}_j (1 - \hat{y}_j)$$" "\n")
    assert verdicts(doc) == ["valid", "valid", "valid"]


def test_approx_and_propto_are_not_steps():
    doc = r"$$\hat{y}_k = \frac{e^{z_k}}{\sum_j e^{z_j}} \propto e^{z_k}$$" "\n" \
          r"$$\frac{\partial \hat{y}_k}{\partial z_k} = \hat{y}_k (1 - \hat{y}_k) \approx \hat{y}_k$$" "\n"
    assert verdicts(doc) == ["valid"]


def test_an_unreadable_definition_makes_its_steps_unknown_not_invalid():
    doc = (r"$$S = \int_0^1 e^{z} \, dz$$" "\n" r"$$\frac{\partial S}{\partial z_k} = 0$$" "\n")
    report = derive.check(doc)
    assert report.count("invalid") == 0 and report.count("valid") == 0


# -- second derivatives, per-example notation, gradients, labels the sampler must respect ---------------------

HESSIAN = r"""Let $p_k = \frac{e^{z_k}}{\sum_j e^{z_j}}$ and $L = -\sum_k y_k \log p_k$ with one-hot $y$.

$$\frac{\partial^2 L}{\partial z_j \partial z_k} = p_j (\delta_{jk} - p_k)$$

$$\frac{\partial^2 L}{\partial z_j^2} = p_j (1 - p_j)$$

$$\frac{\partial^2 L}{\partial z_j^2} = p_j^2$$
"""


def test_second_derivatives_are_judged_exactly():
    report = derive.check(HESSIAN)
    assert [s.verdict for s in report.steps] == ["valid", "valid", "invalid"]
    assert report.steps[2].counterexample is not None


def test_a_second_derivative_of_an_arbitrary_function_needs_the_product_rule():
    text = (r"$$\frac{d^2}{dt^2} f(t) g(t) = f''(t) g(t) + 2 f'(t) g'(t) + f(t) g''(t)$$" "\n\n"
            r"$$\frac{d^2}{dt^2} f(t) g(t) = f''(t) g(t) + f(t) g''(t)$$" "\n")
    assert verdicts(text) == ["valid", "invalid"]


PER_EXAMPLE = r"""Example $i$ has input $x^{(i)} \in \mathbb{R}^n$ and class $y^{(i)}$, and class $j$ has weights $\theta_j$:

$$p^{(i)}_j = \frac{e^{\theta_j^T x^{(i)}}}{\sum_{l=1}^{k} e^{\theta_l^T x^{(i)}}}$$

$$J(\theta) = -\frac{1}{m} \sum_{i=1}^{m} \sum_{j=1}^{k} 1\{y^{(i)} = j\} \log p^{(i)}_j$$

$$\frac{\partial J(\theta)}{\partial \theta_{rd}} = -\frac{1}{m} \sum_{i=1}^{m} \left(1\{y^{(i)} = r\} - p^{(i)}_r\right) x^{(i)}_d$$

$$\nabla_{\theta_r} J(\theta) = -\frac{1}{m} \sum_{i=1}^{m} x^{(i)} \left(1\{y^{(i)} = r\} - p^{(i)}_r\right)$$

$$\nabla_{\theta_r} J(\theta) = \frac{1}{m} \sum_{i=1}^{m} x^{(i)} \left(1\{y^{(i)} = r\} - p^{(i)}_r\right)$$
"""


def test_per_example_superscripts_class_index_labels_and_gradients_by_a_row():
    """x^{(i)}_d is entry d of example i, y^{(i)} a class index (1{y^{(i)} = j}), θ_j^T x^{(i)} a dot product,
    ∇_{θ_r} the vector of derivatives by θ_{r1}, θ_{r2}, ..."""
    assert verdicts(PER_EXAMPLE) == ["valid", "valid", "invalid"]


def test_label_arrays_of_a_batch_are_one_hot_rows_or_columns():
    """Σ_k Y_nk = 1 is used: the checker must draw Y as one-hot along the class index, whichever place it has."""
    rows = (r"$$P_{nk} = \frac{e^{Z_{nk}}}{\sum_{j=1}^{K} e^{Z_{nj}}}$$" "\n\n"
            r"$$L = -\frac{1}{N} \sum_{n=1}^{N} \sum_{k=1}^{K} Y_{nk} \log P_{nk}$$" "\n\n"
            r"$$\frac{\partial L}{\partial Z_{nk}} = \frac{1}{N} \left(P_{nk} - Y_{nk}\right)$$" "\n")
    columns = rows.replace("_{nk}", "_{kn}").replace("_{nj}", "_{jn}")
    assert verdicts(rows) == ["valid"]
    assert verdicts(columns) == ["valid"]


def test_the_function_of_one_entry_notation_and_the_general_quotient_rule():
    text = (r"$$S(z_i) = \frac{e^{z_i}}{\sum_{j=1}^{N} e^{z_j}}$$" "\n\n"
            r"For $f(x) = \frac{g(x)}{h(x)}$ and $g_i = e^{z_i}$," "\n\n"
            r"$$f'(x) = \frac{g'(x) h(x) - g(x) h'(x)}{h(x)^2}$$" "\n\n"
            r"$$\frac{\partial S(z_i)}{\partial z_k} = S(z_i) \left(\delta_{ik} - S(z_k)\right)$$" "\n\n"
            r"$$\frac{\partial S(z_i)}{\partial z_k} = S(z_i) \left(1 - S(z_k)\right)$$" "\n")
    assert verdicts(text) == ["valid", "valid", "invalid"]


def test_an_assumption_stated_once_in_the_prose_holds_in_every_step():
    text = (r"Two classes $a \neq b$ are mixed: $q_k = \lambda \mathbb{1}[k = a] + (1 - \lambda) \mathbb{1}[k = b]$." "\n\n"
            r"$$q_a = \lambda$$" "\n")
    assert verdicts(text) == ["valid"]
    assert verdicts(text.replace(r"$a \neq b$", "$a$ and $b$")) == ["invalid"]


def test_iverson_brackets_and_primed_indices():
    text = (r"$$p_{nk} = \frac{\exp(u_{nk})}{\sum_{k'} \exp(u_{nk'})}$$" "\n\n"
            r"$$\frac{\partial \log p_{nk}}{\partial u_{nj}} = [k = j] - p_{nj}$$" "\n\n"
            r"$$\frac{\partial \log p_{nk}}{\partial u_{nj}} = [k \neq j] - p_{nj}$$" "\n")
    assert verdicts(text) == ["valid", "invalid"]


def test_a_row_where_a_column_is_assumed_is_compared_entry_by_entry_unless_a_layer_is_declared():
    row = one(r"\frac{\partial L}{\partial z} = (p - y)^T", probs="p")
    assert row.verdict == "valid" and "row vector" in row.message
    assert one(r"\frac{\partial L}{\partial z} = (y - p)^T", probs="p").verdict == "invalid"


def test_the_row_form_layer_of_a_generated_document_has_no_bias():
    """f_j = w_j x has no b: the checker reads the derivation derive writes for it, all valid."""
    text = derive.derivation("linear-softmax-cross-entropy", linear="f_j = w_j x").markdown()
    report = derive.check(text)
    assert report.summary["invalid"] == 0 and report.summary["unknown"] == 0


def test_definitions_in_github_inline_math_are_read():
    text = ("Let $`\\sigma(x) = \\frac{1}{1 + e^{-x}}`$.\n\n"
            "$$\\frac{d \\sigma(x)}{d x} = \\sigma(x) (1 - \\sigma(x))$$\n")
    assert verdicts(text) == ["valid"]


def test_a_function_of_a_number_stays_one_where_its_letter_is_also_a_vector():
    text = (r"$\sigma(z) = \frac{1}{1 + e^{-z}}$, and in a batch $z_t$ is the logit of example $t$." "\n\n"
            r"$$\frac{\partial \sigma(z)}{\partial z} = \sigma(z) \left(1 - \sigma(z)\right)$$" "\n")
    assert verdicts(text) == ["valid"]


def test_an_index_that_is_the_class_of_an_example():
    """p_{n c_n}, δ_{v w_t}: c_n is the class of example n, itself an index."""
    text = (r"$$p_{nk} = \frac{e^{s_{nk}}}{\sum_{j=1}^{K} e^{s_{nj}}}$$" "\n\n"
            r"$$\frac{\partial}{\partial s_{nk}} \left(-\log p_{n c_n}\right) = p_{nk} - \delta_{k c_n}$$" "\n\n"
            r"$$\frac{\partial}{\partial s_{nk}} \left(-\log p_{n c_n}\right) = p_{nk} - \delta_{k n}$$" "\n")
    assert verdicts(text) == ["valid", "invalid"]


def test_matrices_of_the_documents_own_with_sizes_from_its_sums():
    """X_{nd}, P_{nk} and Y_{nk} written whole: X^T (P - Y) has the sizes the sums give n, d and k."""
    head = (r"$$Z_{nk} = \sum_{d=1}^{D} X_{nd} W_{dk}$$" "\n\n"
            r"$$P_{nk} = \frac{e^{Z_{nk}}}{\sum_{j=1}^{K} e^{Z_{nj}}}$$" "\n\n"
            r"$$L = -\frac{1}{N} \sum_{n=1}^{N} \sum_{k=1}^{K} Y_{nk} \log P_{nk}$$" "\n\n")
    good = r"$$\frac{1}{N} \sum_{n=1}^{N} X_{nd} (P_{nk} - Y_{nk}) = \frac{1}{N} \left[X^\top (P - Y)\right]_{dk}$$"
    bad = r"$$\frac{1}{N} \sum_{n=1}^{N} X_{nd} (P_{nk} - Y_{nk}) = \frac{1}{N} \left[X^\top (Y - P)\right]_{dk}$$"
    assert verdicts(head + good + "\n") == ["valid"]
    assert verdicts(head + bad + "\n") == ["invalid"]


def test_a_text_superscript_or_subscript_is_part_of_the_name():
    """y^{LS}_k (label smoothing), D_{\\text{mean}}: names of their own, not powers or four indices."""
    text = ("The smoothed labels are ${y}^{\\mathrm{LS}}_{k} = (1 - \\varepsilon) y_{k} + \\frac{\\varepsilon}{n}$.\n\n"
            "$$\\sum_{j=1}^{n} {y}^{\\mathrm{LS}}_{j} = (1 - \\varepsilon) \\sum_{j=1}^{n} y_{j} + \\varepsilon$$\n\n"
            "$$\\sum_{j=1}^{n} {y}^{\\mathrm{LS}}_{j} = (1 - \\varepsilon) \\sum_{j=1}^{n} y_{j}$$\n")
    assert verdicts(text, labels="y", target="one-hot") == ["valid", "invalid"]


def test_labels_declared_in_front_matter_and_restated_in_the_text_stay_the_labels():
    text = ("---\nderive:\n  labels: y\n  target: one-hot c\n---\n\n"
            "$$\\hat{y}_{k} \\sum_{j=1}^{n} y_{j} - y_{k} = \\hat{y}_{k} - \\mathbf{1}[k = c]$$\n\n"
            "The labels are one-hot, so $y_{k} = \\mathbf{1}[k = c]$.\n")
    assert verdicts(text) == ["valid"]


ENTROPY = r"""The prediction is $q_k = e^{\eta_k} / \sum_{l=1}^{C} e^{\eta_l}$ and the true class is $c$:

$$J = -\log q_c - \beta \, \mathcal{H}(q), \qquad \mathcal{H}(q) = -\sum_{k=1}^{C} q_k \log q_k$$

$$\frac{\partial \mathcal{H}}{\partial \eta_j} = -q_j \left(\log q_j + \mathcal{H}(q)\right)$$

$$\frac{\partial J}{\partial \eta_j} = q_j - \delta_{jc} - \beta \frac{\partial \mathcal{H}}{\partial \eta_j}$$

When all logits are equal, $q_k = 1/C$, and

$$\frac{\partial \mathcal{H}}{\partial \eta_j} = 0$$
"""


def test_a_function_used_bare_and_defined_after_its_first_use_in_the_same_row():
    """H for H(q); J uses H before the row defines it; a value stated inline (q_k = 1/C) conditions the next
    display, which derive then leaves undecided rather than judging it at random logits."""
    report = derive.check(ENTROPY)
    assert [s.verdict for s in report.steps] == ["valid", "valid", "unknown"]
    assert "q_k = 1/C" in report.steps[2].message


def test_layer_superscripts_are_names():
    """W^{(2)}: the weights of layer 2, not a square."""
    text = (r"$$z_i = \sum_q W^{(2)}_{iq} h_q + b^{(2)}_i$$" "\n\n"
            r"$$\frac{\partial z_i}{\partial W^{(2)}_{jq}} = \delta_{ij} h_q$$" "\n\n"
            r"$$\frac{\partial z_i}{\partial W^{(2)}_{jq}} = h_q$$" "\n")
    assert verdicts(text) == ["valid", "invalid"]
