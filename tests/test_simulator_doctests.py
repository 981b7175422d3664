"""The examples in the simulator's docstrings run and say what they show."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import crossref_async.testing as testing

MODULES = sorted(
    [testing.__name__]
    + [f"{testing.__name__}.{info.name}" for info in pkgutil.iter_modules(testing.__path__)]
)


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert result.failed == 0
