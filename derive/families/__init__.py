"""Derivation families beyond softmax, each laid out as the engine's flow:

    model.py   what is differentiated (SymPy expressions, kept folded as people write them, with
               ``to_base`` expanding them into plain SymPy for verification and the certificate)
    rules.py   the rules a family needs besides ``derive.engine.rules`` (small data classes)
    plan.py    which rules, in which order: the catalogue entries, registered in ``PLANS``

The shared machinery (tracer, verifier, detail levels, renderers, certificate) serves every family; a family
only registers its names (``derive.catalogue``), plans (``derive.plans.PLANS``), prose (``templates/prose.j2``)
and its introduction (``templates/<format>/intro-<family>.j2``).
"""
