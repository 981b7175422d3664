"""The examples in the library's docstrings are run, so they stay true."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import crossref_async

MODULES = sorted(
    name
    for _, name, _ in pkgutil.walk_packages(crossref_async.__path__, "crossref_async.")
    if not name.startswith("crossref_async.testing")  # the simulator runs its own
    and name != "crossref_async.__main__"
)


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0, f"{result.failed} docstring example(s) failed in {name}"
