"""Append-only audit trail: who read or wrote which record, when, with before and after."""
