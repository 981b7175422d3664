"""Every key of every recorded body has a model field.

Decoding ignores unknown keys (so a field Crossref adds tomorrow never breaks a client today),
which also means a new field would be dropped without anyone noticing. This test walks every
JSON body of the shared corpus alongside the model that decodes it, and fails naming the key
path of each key no field holds: the place where new fields get noticed.
"""

from __future__ import annotations

import functools
import json
import types
import typing
from collections.abc import Iterator
from typing import Any

import msgspec
import pytest
from _corpus import Recording, recordings

from crossref_async.models import (
    Agency,
    Envelope,
    Funder,
    Journal,
    LicenseEntry,
    Member,
    Page,
    Prefix,
    Type,
    Work,
    decoder,
)

#: The model of the ``message`` of each successful message type.
MESSAGES: dict[str, Any] = {
    "work": Work,
    "work-agency": Agency,
    "member": Member,
    "funder": Funder,
    "journal": Journal,
    "prefix": Prefix,
    "type": Type,
    "work-list": Page[Work],
    "member-list": Page[Member],
    "funder-list": Page[Funder],
    "journal-list": Page[Journal],
    "type-list": Page[Type],
    "license-list": Page[LicenseEntry],
}
#: Bodies recorded without their envelope (see the manifest's message_type).
BARE: dict[str, Any] = {
    "(work message only, no envelope)": Work,
    '(work-list items only: {"items":[...]})': Page[Work],
}


def unknown_keys(value: Any, model: Any, path: str = "$") -> Iterator[str]:
    """The key paths in ``value`` that ``model`` (a type msgspec decodes) has no field for."""
    origin = typing.get_origin(model)
    if model is Any or model is msgspec.Raw:
        return
    if origin in (typing.Union, types.UnionType):
        options = [m for m in typing.get_args(model) if m is not type(None)]
        # A union of a struct and a tuple of it (Work.institution): follow the shape given.
        for option in options:
            if _fits(value, option):
                yield from unknown_keys(value, option, path)
                return
        return
    if _is_struct(model) or _is_struct(origin):
        yield from _struct_keys(value, model, path)
    elif origin is tuple and isinstance(value, list):
        args = typing.get_args(model)
        for i, item in enumerate(value):
            element = (
                args[0] if len(args) == 2 and args[1] is Ellipsis else args[min(i, len(args) - 1)]
            )
            yield from unknown_keys(item, element, f"{path}[{i}]")
    elif origin is dict and isinstance(value, dict):
        _, element = typing.get_args(model)
        for key, item in value.items():
            yield from unknown_keys(item, element, f"{path}.{key}")


def _is_struct(origin: Any) -> bool:
    return isinstance(origin, type) and issubclass(origin, msgspec.Struct)


def _fits(value: Any, model: Any) -> bool:
    origin = typing.get_origin(model) or model
    if isinstance(value, dict):
        return origin is dict or _is_struct(origin)
    if isinstance(value, list):
        return origin is tuple
    return True


def _struct_keys(value: Any, model: Any, path: str) -> Iterator[str]:
    if not isinstance(value, dict):
        return
    fields = _fields(model)
    for key, item in value.items():
        hint = fields.get(key)
        if hint is None:
            yield f"{path}.{key}"
        else:
            yield from unknown_keys(item, hint, f"{path}.{key}")


@functools.cache
def _fields(model: Any) -> dict[str, Any]:
    """JSON key -> the field's type, for a model (generic ones with their parameters filled)."""
    origin = typing.get_origin(model) or model
    hints = typing.get_type_hints(origin)
    params = dict(zip(getattr(origin, "__parameters__", ()), typing.get_args(model), strict=False))
    info = msgspec.inspect.type_info(model)
    assert isinstance(info, msgspec.inspect.StructType)
    return {field.encode_name: _substitute(hints[field.name], params) for field in info.fields}


def _substitute(hint: Any, params: dict[Any, Any]) -> Any:
    """``hint`` with the type variables of a generic model (``Page[T]``) replaced."""
    if hint in params:
        return params[hint]
    args = typing.get_args(hint)
    origin = typing.get_origin(hint)
    if not args or origin is None:
        return hint
    new = tuple(_substitute(arg, params) for arg in args)
    if origin in (typing.Union, types.UnionType):
        return typing.Union[new]  # noqa: UP007 - built at run time from a tuple
    return origin[new]


def model_of(recording: Recording) -> Any:
    """The model the recording's body decodes as, or None when it is no success message."""
    if recording.message_type in BARE:
        return BARE[recording.message_type]
    message: Any = MESSAGES.get(recording.message_type or "")
    return None if message is None else Envelope[message]


CASES = [r for r in recordings() if r.is_json and model_of(r) is not None]


def test_the_corpus_has_every_message_type() -> None:
    assert {r.message_type for r in CASES} >= set(MESSAGES)


@pytest.mark.parametrize("recording", CASES, ids=lambda r: r.name)
def test_every_recorded_key_has_a_model_field(recording: Recording) -> None:
    body = json.loads(recording.body)
    missing = sorted(set(unknown_keys(body, model_of(recording))))
    assert not missing, f"keys without a model field in {recording.name}: {missing}"


def test_the_walk_names_the_path_of_each_unknown_key() -> None:
    # The test above can only fail if the walk finds keys at every depth and in every shape.
    body = {
        "status": "ok",
        "message-type": "work-list",
        "message": {
            "items": [
                {"DOI": "10.5555/1", "brand-new": 1, "author": [{"affiliation": [{"id": [{}]}]}]},
                {"author": [{"affiliation": [{"id": [{"id-type": "ROR", "new-too": True}]}]}]},
                {"institution": {"name": "x", "old-shape-key": 1}},
            ],
            "facets": {"type-name": {"values": {"a": 1}, "facet-key": 2}},
            "new-top": {},
        },
    }
    assert sorted(unknown_keys(body, Envelope[Page[Work]])) == [
        "$.message.facets.type-name.facet-key",
        "$.message.items[0].brand-new",
        "$.message.items[1].author[0].affiliation[0].id[0].new-too",
        "$.message.items[2].institution.old-shape-key",
        "$.message.new-top",
    ]


def test_the_fields_the_issue_names_are_typed() -> None:
    work = decoder(Work).decode(
        b"""{"aliases": ["10.5555/old"], "version": {"version": "2"},
        "updated-by": [{"DOI": "10.5555/n", "source": "retraction-watch", "record-id": 7}],
        "author": [{"role": [{"role": "author", "vocabulary": "crossref"}],
                    "affiliation": [{"name": "U", "id": [{"id": "https://ror.org/05dxps055",
                                     "id-type": "ROR", "asserted-by": "publisher"}]}]}],
        "funder": [{"name": "F", "award-info": [{"award-number": ["A1"]}]}]}"""
    )
    assert work.aliases == ("10.5555/old",)
    assert work.version is not None and work.version.version == "2"
    assert work.updated_by[0].record_id == 7
    assert work.author[0].role[0].role == "author"
    ror = work.author[0].affiliation[0].id[0]
    assert (ror.id, ror.id_type, ror.asserted_by) == (
        "https://ror.org/05dxps055",
        "ROR",
        "publisher",
    )
    assert work.funder[0].award_info[0].award_number == ("A1",)
