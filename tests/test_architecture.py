"""The layering rules of the package, checked on its source (README, "Architecture").

- no import cycles between the package's modules, type-only imports included: the features
  are typed against the small :class:`crossref_async._api.Api` Protocol, not the client;
- httpx is imported at run time by the transport alone (the simulator in ``testing/`` is a
  server, not the client, and may use it);
- every request goes through the session: no module but ``_session`` calls the transport's
  ``exchange`` or the governor's ``acquire``/``release``.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "crossref_async"


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(name: str) -> list[tuple[str, bool]]:
    """(imported module of the package, whether at run time) for each import in ``name``."""
    path = MODULES[name]
    tree = ast.parse(path.read_text(encoding="utf-8"))
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: list[tuple[str, bool]] = []

    def visit(node: ast.AST, runtime: bool) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            for statement in node.body:
                visit(statement, False)
            for statement in node.orelse:
                visit(statement, runtime)
            return
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                target = f"{base}.{node.module}" if node.module else base
            else:
                target = node.module or ""
            for alias in node.names:
                sub = f"{target}.{alias.name}"
                found.append((sub if sub in MODULES else target, runtime))
        elif isinstance(node, ast.Import):
            found.extend((alias.name, runtime) for alias in node.names)
        for inner in ast.iter_child_nodes(node):
            visit(inner, runtime)

    for statement in tree.body:
        visit(statement, True)
    return found


def _graph() -> dict[str, set[str]]:
    return {
        name: {target for target, _ in _imports(name) if target in MODULES and target != name}
        for name in MODULES
    }


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle of ``graph`` (as the path of modules around it), or None."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt) :], nxt]
            if nxt not in state and (found := visit(nxt)) is not None:
                return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)) is not None:
            return found
    return None


def test_the_cycle_finder_finds_a_cycle() -> None:
    # The rule below must be able to fail.
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None


def test_no_import_cycles_not_even_type_only() -> None:
    # The package's __init__ imports everything by design; a cycle through it is no layering
    # problem, and the testing package is a separate program (the simulator).
    graph = {
        name: {t for t in targets if t != "crossref_async"}
        for name, targets in _graph().items()
        if name != "crossref_async"
    }
    assert _cycle(graph) is None


@pytest.mark.parametrize("name", sorted(MODULES))
def test_httpx_is_the_transports_alone(name: str) -> None:
    if name.startswith("crossref_async.testing") or name == "crossref_async._transport":
        return
    runtime = {target for target, at_runtime in _imports(name) if at_runtime}
    assert "httpx" not in runtime, f"{name} imports httpx at run time"


def test_the_features_use_the_api_protocol_not_the_client() -> None:
    for feature in ("_lookup", "_graph", "_biblio", "_match", "_cite", "_query", "_paging"):
        imported = {target for target, _ in _imports(f"crossref_async.{feature}")}
        assert "crossref_async._client" not in imported, feature


def test_only_the_session_drives_the_transport_and_the_governor() -> None:
    calls = {".exchange(", "governor.acquire(", "governor.release("}
    for name, path in MODULES.items():
        if name in {
            "crossref_async._session",
            "crossref_async._transport",
            "crossref_async._governor",
        } or name.startswith("crossref_async.testing"):
            continue
        text = path.read_text(encoding="utf-8")
        assert not [c for c in calls if c in text], name


def test_the_old_pacing_knobs_still_work_with_a_deprecation_warning() -> None:
    from crossref_async import Breaker, Crossref, Pacing, ValidationError

    with pytest.warns(DeprecationWarning, match="pacing=Pacing.off"):
        off = Crossref(mailto="me@example.org", limits=False)
    assert off.governor is None and off.pacing == Pacing.off()
    breaker = Breaker(consecutive=3)
    with pytest.warns(DeprecationWarning, match="deprecated"):
        old = Crossref(mailto="me@example.org", breaker=breaker)
    assert old.pacing == Pacing(breaker=breaker) and old.governor is not None
    with pytest.raises(ValidationError, match="not both"):
        Crossref(mailto="me@example.org", pacing=Pacing(), limits=True)


def test_one_pacing_setting_gives_each_client_its_own_state() -> None:
    from crossref_async import Crossref, Pacing

    shared = Pacing()
    a = Crossref(mailto="me@example.org", pacing=shared)
    b = Crossref(mailto="me@example.org", pacing=shared)
    assert a.governor is not None and b.governor is not None
    assert a.governor is not b.governor and a.governor.breaker is not b.governor.breaker
