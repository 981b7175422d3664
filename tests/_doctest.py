"""Docstring examples run as a reader types them: in the asyncio REPL (``python -m asyncio``).

An example may ``await`` at the top level, as in that REPL. All examples of one module share
one event loop, so objects made in one line (a client, its connection pool) work in the next.
Method examples use ``cr``, a :class:`~crossref_async.Crossref` over the embedded simulator
(default corpus, ``unmetered`` limits): the class docstring shows how such a client is made.

:func:`public_names` lists what an API reference must cover; :func:`has_example` says whether a
docstring shows an example.
"""

from __future__ import annotations

import ast
import asyncio
import doctest
import inspect
from collections.abc import Iterator
from contextlib import contextmanager
from types import CodeType, ModuleType
from typing import Any
from unittest import mock

OPTIONS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE


@contextmanager
def _awaiting(loop: asyncio.AbstractEventLoop) -> Iterator[None]:
    # doctest runs each example with the builtin exec(), which only creates (and drops) the
    # coroutine of a line compiled with top-level await; run that coroutine on ``loop``.
    def run(code: CodeType, globs: dict[str, Any], *args: Any) -> None:
        result = eval(code, globs, *args)
        if inspect.iscoroutine(result):
            loop.run_until_complete(result)

    with mock.patch.object(doctest, "exec", run, create=True):
        yield


def simulator_client() -> Any:
    """The ``cr`` of method examples: a client over the simulator that never waits."""
    from crossref_async import Crossref
    from crossref_async.testing import FakeCrossref

    fake = FakeCrossref(limits="unmetered")
    return Crossref(mailto="me@example.org", transport=fake.transport())


def run_examples(module: ModuleType, extraglobs: dict[str, Any] | None = None) -> list[str]:
    """Run every docstring example of ``module``; return a report per failing docstring."""
    globs = dict(extraglobs or {})
    return _run(doctest.DocTestFinder().find(module, module.__name__, extraglobs=globs), globs)


def run_text(text: str, name: str, globs: dict[str, Any] | None = None) -> list[str]:
    """Run the ``>>>`` examples in ``text`` (a README, say) as one docstring."""
    globs = dict(globs or {})
    test = doctest.DocTestParser().get_doctest(text, globs, name, name, 0)
    return _run([test], globs)


def _run(tests: list[doctest.DocTest], globs: dict[str, Any]) -> list[str]:
    runner = doctest.DocTestRunner(optionflags=OPTIONS)
    failures: list[str] = []
    loop = asyncio.new_event_loop()
    try:
        with _awaiting(loop):
            for test in tests:
                report: list[str] = []
                result = runner.run(
                    test, compileflags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT, out=report.append
                )
                if result.failed:
                    failures.append("".join(report))
        # What the examples opened (the shared client, a client they made) is closed here,
        # on the loop it was used on.
        opened = {id(v): v for t in tests for v in t.globs.values() if _closable(v)}
        opened.update({id(v): v for v in globs.values() if _closable(v)})
        for value in opened.values():
            loop.run_until_complete(value.aclose())
    finally:
        loop.close()
    return failures


def _closable(value: object) -> bool:
    from crossref_async import Crossref, SharedBudget

    return isinstance(value, (Crossref, SharedBudget))


def has_example(obj: object) -> bool:
    """Whether ``obj``'s own docstring shows an example (a ``>>>`` line)."""
    return ">>>" in (inspect.getdoc(obj) or "")


def public_names(module: ModuleType) -> Iterator[tuple[str, object]]:
    """Every public function, class, and method or property of those classes in ``module``'s
    ``__all__`` that the package defines (constants carry no docstring of their own: their
    ``#:`` comments are the reference)."""
    package = module.__name__.split(".")[0]
    for name in module.__all__:
        obj = getattr(module, name)
        if not (inspect.isclass(obj) or inspect.isfunction(obj)):
            continue
        if not getattr(obj, "__module__", "").startswith(package):
            continue
        yield f"{module.__name__}.{name}", obj
        if inspect.isclass(obj):
            for attr, value in vars(obj).items():
                if attr.startswith("_"):
                    continue
                member = value.fget if isinstance(value, property) else value
                member = getattr(member, "__func__", member)
                if inspect.isfunction(member):
                    yield f"{module.__name__}.{name}.{attr}", member
