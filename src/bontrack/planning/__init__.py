"""Pure planning: a dose plan from trigger points (plan-dose) and billing lines (code).

No database and no web framework; the numbers come from knowledge/planning.toml and billing.toml.
"""
