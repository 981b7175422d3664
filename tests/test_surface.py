"""The public surface: what ``crossref_async`` exports, under which names, and the names kept
for one release (the errors' old names, the DOI helpers' old home)."""

from __future__ import annotations

import importlib
import inspect
import pickle
import traceback
import typing

import pytest

import crossref_async
import crossref_async.doi
from crossref_async import _errors

OLD_ERROR_NAMES = {
    "BadRequest": "BadRequestError",
    "Unauthorized": "UnauthorizedError",
    "Forbidden": "ForbiddenError",
    "NotFound": "NotFoundError",
    "RateLimited": "RateLimitedError",
    "UnexpectedStatus": "UnexpectedStatusError",
    "ConnectionFailed": "ConnectionFailedError",
    "RequestTimeout": "RequestTimeoutError",
}
DOI_HELPERS = ["doi_key", "extract_dois", "normalize_doi"]
EXPORTED = [name for name in crossref_async.__all__ if name != "__version__"]


def test_all_is_sorted_and_every_name_exists() -> None:
    assert crossref_async.__all__ == sorted(crossref_async.__all__)
    for name in crossref_async.__all__:
        assert hasattr(crossref_async, name), name
    assert isinstance(crossref_async.__version__, str)


@pytest.mark.parametrize("name", EXPORTED)
def test_every_export_has_a_docstring_of_its_own(name: str) -> None:
    obj = getattr(crossref_async, name)
    assert (obj.__doc__ or "").strip(), f"{name} has no docstring"


@pytest.mark.parametrize("name", EXPORTED)
def test_every_export_is_named_by_a_public_module_that_has_it(name: str) -> None:
    obj = getattr(crossref_async, name)
    module = obj.__module__
    assert not any(part.startswith("_") for part in module.split(".")), f"{name}: {module}"
    # The module it names really holds it, so reprs, pickles and the reference agree.
    assert getattr(importlib.import_module(module), obj.__qualname__) is obj


def test_exports_from_private_modules_are_named_at_the_top_level() -> None:
    assert crossref_async.Crossref.__module__ == "crossref_async"
    assert repr(crossref_async.RetryPolicy) == "<class 'crossref_async.RetryPolicy'>"
    assert crossref_async.set_testing.__module__ == "crossref_async"
    assert crossref_async.Work.__module__ == "crossref_async.models"  # already public


def test_moved_names_still_pickle_and_resolve_their_hints() -> None:
    policy = crossref_async.RetryPolicy(attempts=3)
    assert pickle.loads(pickle.dumps(policy)) == policy
    # get_type_hints reads string annotations in the module __module__ names; the export
    # resolves them first, so introspection keeps working after the move.
    hints = typing.get_type_hints(crossref_async.BibliographyEntry)
    assert typing.get_args(hints["status"]) == ("found", "other-agency", "not-registered")
    for name in EXPORTED:
        obj = getattr(crossref_async, name)
        # The queries' hints name the client only under TYPE_CHECKING, as before the move.
        if inspect.isclass(obj) and name not in {"ListQuery", "WorksQuery"}:
            typing.get_type_hints(obj)


@pytest.mark.parametrize(("old", "new"), OLD_ERROR_NAMES.items())
def test_old_error_names_are_the_same_classes(old: str, new: str) -> None:
    alias, error = getattr(crossref_async, old), getattr(crossref_async, new)
    assert alias is error
    assert getattr(_errors, old) is error and _errors.DEPRECATED_ALIASES[old] is error
    assert error.__name__ == new and error.__module__ == "crossref_async"
    assert old not in crossref_async.__all__ and new in crossref_async.__all__
    assert old not in _errors.__all__ and new in _errors.__all__


def test_except_with_an_old_name_catches_the_new_error() -> None:
    error = crossref_async.NotFoundError("Resource not found.", status=404, url="https://x")
    with pytest.raises(crossref_async.NotFound) as info:
        raise error
    assert isinstance(info.value, crossref_async.NotFound)
    shown = traceback.format_exception_only(info.value)[-1]
    assert shown.startswith("crossref_async.NotFoundError: 404 from https://x")


def test_the_aliases_table_lists_exactly_the_old_names() -> None:
    assert set(_errors.DEPRECATED_ALIASES) == set(OLD_ERROR_NAMES)


def test_the_doi_submodule() -> None:
    from crossref_async.doi import doi_key, extract_dois, normalize_doi

    assert crossref_async.doi.__all__ == DOI_HELPERS
    assert normalize_doi(" https://doi.org/10.5555/ABC ") == "10.5555/ABC"
    assert doi_key("10.5555/ABC") == doi_key("10.5555/abc") == "10.5555/abc"
    assert extract_dois("see doi:10.5555/ABC.") == ["10.5555/ABC"]
    with pytest.raises(crossref_async.InvalidDOIError):
        normalize_doi("not a DOI")
    for name in DOI_HELPERS:
        helper = getattr(crossref_async.doi, name)
        assert helper.__module__ == "crossref_async.doi"
        assert (helper.__doc__ or "").strip()


@pytest.mark.parametrize("name", DOI_HELPERS)
def test_the_doi_helpers_old_home_still_imports_them(name: str) -> None:
    assert getattr(crossref_async, name) is getattr(crossref_async.doi, name)
    assert name not in crossref_async.__all__


def test_star_import_gives_the_current_names_only() -> None:
    namespace: dict[str, object] = {}
    exec("from crossref_async import *", namespace)
    assert "NotFoundError" in namespace and "set_testing" in namespace
    assert not set(OLD_ERROR_NAMES) & set(namespace)
    assert not set(DOI_HELPERS) & set(namespace)
