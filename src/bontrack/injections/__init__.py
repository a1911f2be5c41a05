"""Injection sessions (checked by the decision engine before they are saved) and adverse events."""
