"""The API reference: every public name shows an example, and every example runs true.

(The README's ``>>>`` examples run in ``tests/test_readme.py``, with its other blocks.)

Examples are written for the asyncio REPL (``python -m asyncio``): they may ``await`` at the
top level. Method examples use ``cr``, a client over the simulator (see ``tests/_doctest.py``).
"""

from __future__ import annotations

import contextlib
import doctest
import importlib
import inspect
import pkgutil
import sys
from types import ModuleType

import pytest
from _doctest import _run, has_example, public_names, simulator_client
from _redis import redis_server

import crossref_async
from crossref_async import SharedBudget

MODULES = sorted(
    name
    for _, name, _ in pkgutil.walk_packages(crossref_async.__path__, "crossref_async.")
    if name != "crossref_async.__main__"
)
PUBLIC_MODULES = ["crossref_async", "crossref_async.doi", "crossref_async.harvest"]
PUBLIC_MODULES += ["crossref_async.models", "crossref_async.testing"]


def _home(obj: object) -> ModuleType | None:
    """The package module whose code defines ``obj`` (read from its functions' globals), or
    None when nothing tells (a class without functions of its own)."""
    if isinstance(obj, property):
        obj = obj.fget
    obj = getattr(obj, "__func__", obj)
    if inspect.isfunction(obj):
        # The function itself, not a decorator's wrapper (contextlib's, functools').
        name = inspect.unwrap(obj).__globals__.get("__name__", "")
        return sys.modules.get(name) if name.split(".")[0] == "crossref_async" else None
    if inspect.isclass(obj):
        for value in vars(obj).values():
            home = _home(value) if callable(value) or isinstance(value, property) else None
            if home is not None:
                return home
    return None


class _HomeFinder(doctest.DocTestFinder):
    """Finds each example under the module that defines it. The package names its exports by
    their public module (``crossref_async.Crossref``), which plain doctest takes for where they
    live; their examples would then run among the top-level module's, in its namespace."""

    def _from_module(self, module: ModuleType | None, object: object) -> bool:
        home = _home(object)
        if home is not None and module is not None:
            return home is module
        return bool(super()._from_module(module, object))  # type: ignore[misc]


def run_examples(module: ModuleType, extraglobs: dict[str, object]) -> list[str]:
    """Run every docstring example that ``module`` defines; return a report per failure."""
    globs = dict(extraglobs)
    return _run(_HomeFinder().find(module, module.__name__, extraglobs=globs), globs)


#: Modules whose examples (the shared budget's) run against a real redis-server, as ``budget``.
NEEDS_REDIS = {"crossref_async", "crossref_async._shared"}


@pytest.mark.parametrize("name", ["crossref_async", *MODULES])
def test_docstring_examples(name: str) -> None:
    module = importlib.import_module(name)
    with contextlib.ExitStack() as stack:
        globs: dict[str, object] = {"cr": simulator_client()}
        if name in NEEDS_REDIS:
            server = stack.enter_context(redis_server())
            globs["budget"] = SharedBudget(
                server.url, identity="mailto-doctest", lease_ttl=1.0, cold_start=False
            )
        failures = run_examples(module, globs)
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
