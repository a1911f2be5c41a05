"""The examples in the instruments' docstrings run and give what they show."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = ["__init__", "definitions", "ndi", "nprs", "rand36", "responders", "response", "scoring", "vas"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    module = importlib.import_module(
        "bontrack.instruments" if name == "__init__" else f"bontrack.instruments.{name}"
    )
    failed, _ = doctest.testmod(module)
    assert failed == 0
