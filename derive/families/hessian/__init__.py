"""The second derivative of softmax with cross-entropy: the Hessian diag(ŷ) − ŷŷᵀ and why it is positive
semi-definite. The model is the softmax model (``derive.model``); this family adds rules and a plan."""

from .plan import PLANS

__all__ = ["PLANS"]
