"""The catalogue: names, one-line descriptions, parts and methods. Kept free of SymPy so that
``derive list`` and ``--help`` stay fast; the plans that build each entry live in ``derive.plans``."""

from __future__ import annotations

from dataclasses import dataclass

from .errors import UsageError


@dataclass(frozen=True)
class Entry:
    name: str
    title: str
    description: str
    parts: tuple[tuple[str, str], ...]
    other_methods: tuple[tuple[str, tuple[tuple[str, str], ...]], ...] = ()  # routes besides "index"
    group: str = "softmax family"  # one of GROUPS: how `derive list` groups the entries
    notation: tuple[tuple[str, str], ...] = ()  # this entry's own notation defaults (the user's values win)

    @property
    def methods(self) -> tuple[str, ...]:
        return ("index",) + tuple(method for method, _ in self.other_methods)

    def parts_of(self, method: str = "index") -> tuple[tuple[str, str], ...]:
        return self.parts if method == "index" else dict(self.other_methods)[method]


CATALOGUE: dict[str, Entry] = {e.name: e for e in (
    Entry("softmax-jacobian", "The Jacobian of softmax",
          "d yhat_j / d z_k by the quotient rule, cases j = k and j != k, merged with a Kronecker delta",
          (("jacobian", "The softmax Jacobian"),)),
    Entry("cross-entropy", "The derivative of the cross-entropy",
          "dL / d yhat_k, the probabilities taken as independent variables",
          (("cross-entropy", "The cross-entropy derivative"),)),
    Entry("softmax-cross-entropy", "The gradient of cross-entropy through softmax",
          "dL / d z_k by the chain rule through the Jacobian, one-hot simplification to yhat_k - y_k",
          (("jacobian", "The softmax Jacobian"), ("cross-entropy", "The cross-entropy derivative"),
           ("chain", "The chain rule"))),
    Entry("log-softmax-cross-entropy", "Cross-entropy of a class label, straight through log-softmax",
          "L = -log softmax(z)_c for a class index c, direct route to p_k - 1[k = c]",
          (("log-softmax", "The log-softmax route"),)),
    Entry("batch-cross-entropy", "The gradient of the mean cross-entropy over a batch",
          "mean over N examples: (p_nk - y_nk) / N",
          (("batch", "The batch mean"),)),
    Entry("linear-softmax-cross-entropy", "The gradient of a linear layer under softmax and cross-entropy",
          "o = Wx + b: dL/dW = (p - y) x^T, dL/db = p - y, shapes shown",
          (("bias", "The bias"), ("weights", "The weights"), ("batch", "The weights over a batch")),
          (("differentials", (("differential", "The differential of the loss"), ("bias", "The bias"),
                              ("weights", "The weights"))),)),
    Entry("sigmoid-binary-cross-entropy", "The sigmoid with binary cross-entropy",
          "sigma' = sigma (1 - sigma) by the quotient rule, dL/dz = sigma(z) - y, and the mean over a batch",
          (("sigmoid", "The derivative of the sigmoid"), ("loss", "The gradient of the binary cross-entropy"),
           ("batch", "The mean over a batch")),
          group="other losses", notation=(("probs", r"\sigma"),)),
    Entry("softmax-cross-entropy-hessian", "The Hessian of cross-entropy through softmax",
          "d^2 L / dz_j dz_k = yhat_k (delta_jk - yhat_j), the matrix diag(yhat) - yhat yhat^T, positive semi-definite",
          (("hessian", "The second derivatives"), ("psd", "Why the Hessian is positive semi-definite"))),
    Entry("log-sum-exp", "The gradient of log-sum-exp, and why softmax subtracts the maximum",
          "d/dz_k log sum_j e^{z_j} = softmax(z)_k; softmax(z - c) = softmax(z), with c = max_j z_j in practice",
          (("gradient", "The gradient of log-sum-exp"),
           ("shift", "Shifting every logit by one constant"))),
    Entry("softmax-temperature-cross-entropy", "Cross-entropy through softmax with a temperature",
          "p = softmax(z / T), soft targets q: dL/dz_k = (p_k - q_k) / T",
          (("temperature", "The gradient through the tempered softmax"),)),
    Entry("label-smoothing-cross-entropy", "Cross-entropy with label smoothing",
          "y^LS = (1 - eps) y + eps / n sums to one, so dL/dz_k = p_k - y^LS_k",
          (("smoothed-labels", "The smoothed labels sum to one"), ("gradient", "The gradient by the logits"))),
    Entry("multiclass-hinge", "The gradient of the multiclass hinge loss",
          "L = sum_{j != c} max(0, s_j - s_c + Delta), s = Wx: dL/dw_j = 1[margin_j > 0] x^T for j != c, "
          "dL/dw_c = -(number of positive margins) x^T",
          (("gradient", "The gradient by one weight"), ("rows", "The rows of the gradient")),
          group="other losses", notation=(("logits", "s"),)),
    Entry("two-layer-network", "Backpropagation through a two-layer network",
          "h = f(W1 x + b1) with f = tanh or ReLU, yhat = softmax(W2 h + b2): dL/dW2 = (yhat - y) h^T, "
          "delta1 = (W2^T (yhat - y)) * f'(a), dL/dW1 = delta1 x^T, by index and as matrices",
          (("output-bias", "The output bias"), ("output-weights", "The output weights"),
           ("hidden-bias", "The hidden bias: the error sent back"), ("hidden-weights", "The hidden weights")),
          group="layers and networks"),
)}

GROUPS = ("softmax family", "other losses", "layers and networks")


def entry(name: str) -> Entry:
    try:
        return CATALOGUE[name]
    except KeyError:
        raise UsageError(f"unknown derivation {name!r} (known: {', '.join(CATALOGUE)})") from None
