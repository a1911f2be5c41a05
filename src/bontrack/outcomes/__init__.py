"""Outcome measurements: instrument, date, the raw answers and their scoring (instruments.scoring)."""
