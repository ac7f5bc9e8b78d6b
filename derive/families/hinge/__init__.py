"""The multiclass hinge loss (the multiclass SVM): L = Σ_{j≠c} max(0, s_j − s_c + Δ) with scores s = Wx, and its
gradient by the rows of W, with the indicator of a positive margin; points on a kink of max are excluded."""

from .plan import PLANS

__all__ = ["PLANS"]
