"""Outcome measurements: instrument, date and the raw answers (scoring comes later)."""
