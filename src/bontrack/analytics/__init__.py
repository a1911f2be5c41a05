"""Outcome analytics: pure functions over data frames (no database, no web framework)."""
