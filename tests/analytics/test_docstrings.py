"""The examples in the analytics docstrings run and give what they show."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = ["effect_sizes", "evidence", "evidence_csv", "trials", "forest", "intervals"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    failed, _ = doctest.testmod(importlib.import_module(f"bontrack.analytics.{name}"))
    assert failed == 0
