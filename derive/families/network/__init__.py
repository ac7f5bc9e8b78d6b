"""The two-layer network: h = f(W⁽¹⁾x + b⁽¹⁾), ŷ = softmax(W⁽²⁾h + b⁽²⁾), backpropagation of the cross-entropy."""

from .plan import PLANS

__all__ = ["PLANS"]
