"""Synthetic clinic: the only source of patient data in the repository (all people are fictional).

``generator`` is pure (a seed in, plain Create schemas out); ``loader`` writes them through the
domain services in one transaction, so the decision engine and the audit run for real.
"""
