"""Toxin stock: vials received, opened and discarded by lot, the recall of a lot, the waste figures."""
