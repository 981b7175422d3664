"""The API reference: every public name shows an example, and every example runs true.

Examples are written for the asyncio REPL (``python -m asyncio``): they may ``await`` at the
top level. Method examples use ``cr``, a client over the simulator (see ``tests/_doctest.py``).
"""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path

import pytest
from _doctest import has_example, public_names, run_examples, run_text, simulator_client

import crossref_async

MODULES = sorted(
    name
    for _, name, _ in pkgutil.walk_packages(crossref_async.__path__, "crossref_async.")
    if name != "crossref_async.__main__"
)
PUBLIC_MODULES = ["crossref_async", "crossref_async.harvest", "crossref_async.models"]
PUBLIC_MODULES += ["crossref_async.testing"]


@pytest.mark.parametrize("name", ["crossref_async", *MODULES])
def test_docstring_examples(name: str) -> None:
    module = importlib.import_module(name)
    failures = run_examples(module, {"cr": simulator_client()})
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("module_name", PUBLIC_MODULES)
def test_every_public_name_shows_an_example(module_name: str) -> None:
    module = importlib.import_module(module_name)
    missing = [name for name, obj in public_names(module) if not has_example(obj)]
    assert not missing, f"{len(missing)} public names without an example:\n" + "\n".join(missing)


def test_the_reference_covers_the_whole_public_surface() -> None:
    names = {
        name
        for module in PUBLIC_MODULES
        for name, _ in public_names(importlib.import_module(module))
    }
    assert "crossref_async.Crossref.work" in names
    assert "crossref_async.Work.first_title" in names  # properties count
    assert "crossref_async.WorksQuery.select" in names
    assert "crossref_async.harvest.harvest" in names
    assert "crossref_async.testing.FakeCrossref.transport" in names


def test_readme_examples() -> None:
    readme = Path(__file__).resolve().parent.parent / "README.md"
    # A fence closing a block would read as expected output: fences become blank lines.
    lines = readme.read_text(encoding="utf-8").splitlines()
    text = "\n".join("" if line.startswith("```") else line for line in lines)
    failures = run_text(text, "README.md", {"cr": simulator_client()})
    assert not failures, "\n".join(failures)
