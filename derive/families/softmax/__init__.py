"""The softmax family: log-sum-exp and the shift identity, softmax with a temperature, label smoothing.

``model`` extends the softmax model (a temperature T, smoothed labels y^LS, the logits shifted by a constant c),
``rules`` holds the few rules these derivations add, and ``plan`` the catalogue plans, registered in
``derive.plans.PLANS``.
"""
