"""The models against every real response in the recorded corpus (../shared/crossref-corpus).

Three checks per body, each parametrized by file so a failure names it:

- conformance: the body decodes with the type of its message-type (typed and Raw);
- completeness: every JSON key has a field, walking the JSON alongside the Struct types, so no
  key is silently dropped (maps such as ``relation`` or ``facets`` hold data keys, not fields);
- round trip: re-encoding the decoded message gives back the same JSON, so no value is
  mangled (only nulls and empty lists/objects may disappear).

A missing corpus skips locally and fails in CI (see ``_corpus.corpus_dir``).
"""

from __future__ import annotations

import json
from typing import Any, cast

import msgspec
import msgspec.inspect as mi
import pytest
from _corpus import Recording, recordings

from crossref_async import models as m

SINGLE: dict[str, type[Any]] = {
    "work": m.Work,
    "work-agency": m.Agency,
    "member": m.Member,
    "funder": m.Funder,
    "journal": m.Journal,
    "prefix": m.Prefix,
    "type": m.Type,
}
LIST: dict[str, type[Any]] = {
    "work-list": m.Work,
    "member-list": m.Member,
    "funder-list": m.Funder,
    "journal-list": m.Journal,
    "type-list": m.Type,
    "license-list": m.LicenseEntry,
}
# Fragments kept by another project's fixtures (commonmeta-py): no envelope around them.
WORK_FRAGMENT = "(work message only, no envelope)"
ITEMS_FRAGMENT = '(work-list items only: {"items":[...]})'
ERROR_TYPES = {"validation-failure", "resource-failure", "route-not-found", "exception"}


def skip_reason(rec: Recording) -> str | None:
    """Why a recording is not a model's job, or None if it must decode."""
    if not rec.is_json:
        return "plain-text or HTML body: handled by the client's error path, not by a model"
    if rec.message_type is None:
        return "citeproc-json (CSL) transform body: not a Crossref envelope"
    if rec.message_type in ERROR_TYPES:
        return "error envelope: classified by the client (_responses), not decoded as a model"
    return None


def _params(*, decodable_only: bool) -> list[Any]:
    params = []
    for rec in recordings():
        reason = skip_reason(rec)
        if reason and decodable_only:
            continue
        marks = [pytest.mark.skip(reason=reason)] if reason else []
        params.append(pytest.param(rec, id=rec.name, marks=marks))
    return params


ALL = _params(decodable_only=False)
DECODABLE = _params(decodable_only=True)


def decode(rec: Recording) -> tuple[Any, type[Any]]:
    """The decoded body of a recording and the type it was decoded with."""
    kind = rec.message_type
    body = rec.body
    if kind in SINGLE:
        model = SINGLE[kind]
        return m.decode_message(body, model, message_type=kind, url=rec.uri), model
    if kind in LIST:
        page_type = m.Page[LIST[kind]]  # type: ignore[valid-type]
        return m.decode_page(body, LIST[kind], message_type=kind, url=rec.uri), page_type
    if kind == WORK_FRAGMENT:
        return m.decode_item(body, m.Work, message_type="work"), m.Work
    if kind == ITEMS_FRAGMENT:
        items_type: Any = m.Page[m.Work]
        return m.decode_item(body, items_type, message_type="work-list"), items_type
    pytest.fail(f"unknown message-type {kind!r}: give it a model in models.py and here")


def message_json(rec: Recording) -> Any:
    """The JSON of the part decoded by `decode` (the message, or the whole fragment)."""
    data = json.loads(rec.body)
    return data["message"] if rec.message_type in SINGLE or rec.message_type in LIST else data


def works_of(decoded: Any) -> list[m.Work]:
    if isinstance(decoded, m.Work):
        return [decoded]
    if isinstance(decoded, m.Page):
        return [w for w in decoded.items if isinstance(w, m.Work)]
    return []


# -- conformance --------------------------------------------------------------------------------


def test_corpus_is_all_classified() -> None:
    """Every manifest entry is either decodable or skipped for a stated reason."""
    known = set(SINGLE) | set(LIST) | {WORK_FRAGMENT, ITEMS_FRAGMENT}
    unknown = [
        f"{rec.name}: {rec.message_type!r}"
        for rec in recordings()
        if skip_reason(rec) is None and rec.message_type not in known
    ]
    assert not unknown, "recordings with no model:\n" + "\n".join(unknown)
    assert len(DECODABLE) > 400  # the corpus is really there, not an empty folder


@pytest.mark.parametrize("rec", ALL)
def test_body_decodes_with_its_type(rec: Recording) -> None:
    decoded, _ = decode(rec)
    expected = message_json(rec)
    if isinstance(decoded, m.Page):
        items = expected["items"]
        assert len(decoded.items) == len(items)
        assert decoded.total_results == expected.get("total-results", 0)
        assert decoded.next_cursor == expected.get("next-cursor")
        assert set(decoded.facets) == set(expected.get("facets") or {})
        if rec.entry.get("items") is not None:
            assert len(decoded.items) == rec.entry["items"]
    for work in works_of(decoded):
        # The convenience properties hold on every real record, whatever it lacks.
        assert work.doi_url is None or work.doi_url.startswith("https://doi.org/10.")
        assert work.first_title is None or isinstance(work.first_title, str)
        assert work.year is None or 1000 < work.year < 3000
        assert work.issued_date is None or work.issued_date.year == work.issued.year  # type: ignore[union-attr]
        assert all(isinstance(name, str) and name for name in work.author_names)
        assert isinstance(work.institutions, tuple)


@pytest.mark.parametrize("rec", [p for p in DECODABLE if p.values[0].message_type in LIST])
def test_raw_page_keeps_each_record_untouched(rec: Recording) -> None:
    body = rec.body
    page = m.decode_raw_page(body, message_type=rec.message_type or "", url=rec.uri)
    typed = m.decode_page(body, LIST[rec.message_type or ""], message_type=rec.message_type or "")
    assert len(page.items) == len(typed.items)
    assert (page.total_results, page.next_cursor) == (typed.total_results, typed.next_cursor)
    originals = json.loads(body)["message"]["items"]
    start = 0
    for raw, original in zip(page.items, originals, strict=True):
        chunk = bytes(raw)
        # The bytes are a verbatim slice of the body, in order.
        start = body.index(chunk, start) + len(chunk)
        assert json.loads(chunk) == original


# -- completeness -------------------------------------------------------------------------------


def _pick(union: mi.UnionType, value: Any) -> mi.Type | None:
    """The member of a union that a JSON value was decoded as."""
    for member in union.types:
        if isinstance(value, dict) and isinstance(member, (mi.StructType, mi.DictType)):
            return member
        if isinstance(value, list) and isinstance(
            member, (mi.ListType, mi.VarTupleType, mi.TupleType)
        ):
            return member
    return None  # a scalar or null: nothing below it


def missing_fields(value: Any, info: mi.Type, path: str, out: set[str]) -> None:
    """Add to ``out`` the path of every key in ``value`` that ``info`` has no field for."""
    if isinstance(info, mi.UnionType):
        picked = _pick(info, value)
        if picked is None:
            return
        info = picked
    if isinstance(info, mi.StructType) and isinstance(value, dict):
        fields = {f.encode_name: f.type for f in info.fields}
        for key, item in value.items():
            if key in fields:
                missing_fields(item, fields[key], f"{path}.{key}", out)
            else:
                out.add(f"{path}.{key}")
    elif isinstance(info, mi.DictType) and isinstance(value, dict):
        for item in value.values():
            missing_fields(item, info.value_type, f"{path}{{*}}", out)
    elif isinstance(info, (mi.ListType, mi.VarTupleType)) and isinstance(value, list):
        for item in value:
            missing_fields(item, info.item_type, f"{path}[]", out)
    elif isinstance(info, mi.TupleType) and isinstance(value, list):
        for item, item_info in zip(value, info.item_types, strict=True):
            missing_fields(item, item_info, f"{path}[]", out)


class _Place(m.CrossrefStruct, frozen=True, kw_only=True):
    name: str | None = None


class _Thin(m.CrossrefStruct, frozen=True, kw_only=True):
    DOI: str | None = msgspec.field(default=None, name="DOI")
    author: tuple[_Place, ...] = ()
    relation: dict[str, tuple[_Place, ...]] = msgspec.field(default_factory=dict)
    one_or_many: tuple[_Place, ...] | _Place | None = None


def test_the_walk_finds_keys_without_fields() -> None:
    """The completeness check itself: nested, in lists, in maps and in unions."""
    value = {
        "DOI": "10.1/x",
        "extra": 1,
        "author": [{"name": "A", "place": ["B"]}],
        "relation": {"cites": [{"name": "C", "id": "D"}]},
        "one-or-many": {"name": "E", "acronym": "F"},
    }
    missing: set[str] = set()
    missing_fields(value, mi.type_info(_Thin), "work: $", missing)
    assert missing == {
        "work: $.extra",
        "work: $.author[].place",
        "work: $.relation{*}[].id",
        "work: $.one-or-many.acronym",
    }
    missing.clear()
    missing_fields({"one-or-many": [{"name": "G", "x": 1}]}, mi.type_info(_Thin), "$", missing)
    assert missing == {"$.one-or-many[].x"}


@pytest.mark.parametrize("rec", DECODABLE)
def test_every_key_has_a_field(rec: Recording) -> None:
    """A key with no field would be dropped silently on decode: list every such key path."""
    _, model = decode(rec)
    enveloped = rec.message_type in SINGLE or rec.message_type in LIST
    # The envelope too: its keys (status, message-type...) must have fields as well.
    info = mi.type_info(cast(Any, m.Envelope)[model] if enveloped else model)
    value = json.loads(rec.body)
    missing: set[str] = set()
    missing_fields(value, info, f"{rec.message_type}: $", missing)
    assert not missing, "JSON keys with no field:\n" + "\n".join(sorted(missing))


def _without_empties(value: Any) -> Any:
    """JSON with nulls and empty lists/objects removed from objects (what omit_defaults drops)."""
    if isinstance(value, dict):
        cleaned = {k: _without_empties(v) for k, v in value.items()}
        return {k: v for k, v in cleaned.items() if v not in (None, [], {})}
    if isinstance(value, list):
        return [_without_empties(v) for v in value]
    return value


@pytest.mark.parametrize("rec", DECODABLE)
def test_reencoding_gives_back_the_json(rec: Recording) -> None:
    """Decoding loses nothing: every record encodes back to the JSON it came from."""
    decoded, _ = decode(rec)
    expected = message_json(rec)
    if isinstance(decoded, m.Page):
        pairs = list(zip(decoded.items, expected["items"], strict=True))
        pairs.append((decoded.facets, expected.get("facets") or {}))
    else:
        pairs = [(decoded, expected)]
    for record, original in pairs:
        again = json.loads(msgspec.json.encode(record))
        assert _without_empties(again) == _without_empties(original)
