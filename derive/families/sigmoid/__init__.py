"""The sigmoid family: σ(z) = 1/(1 + e^{−z}) and the binary cross-entropy of a scalar logit."""

from .plan import PLANS

__all__ = ["PLANS"]
