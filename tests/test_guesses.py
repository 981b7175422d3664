"""The guesses a new user makes work: ``async for`` over a query, ``len(page)`` and iterating
a page, ``work.authors``/``references``/``doi``; and a request that fails after its retries
shows a traceback of the library's own frames, without tenacity's."""

from __future__ import annotations

import traceback
from collections.abc import AsyncIterator

import httpx
import msgspec
import pytest
from _corpus import recordings

from crossref_async import (
    ConnectionFailedError,
    Crossref,
    NotFoundError,
    RetryPolicy,
    ServerError,
    set_testing,
)
from crossref_async.models import Contributor, Page, Reference, Type, Work
from crossref_async.testing import FakeCrossref, Faults

ALIASES = {"authors": "author", "references": "reference", "doi": "DOI"}


def simulator(**kwargs: object) -> Crossref:
    fake = FakeCrossref(limits="unmetered", **kwargs)  # type: ignore[arg-type]
    return Crossref(mailto="me@example.org", transport=fake.transport())


# -- async for over a query ------------------------------------------------------------------


async def test_async_for_over_a_query_is_stream() -> None:
    async with simulator() as cr:
        query = cr.journal_works("0264-3561")
        walked = [work.DOI async for work in query]
        streamed = [work.DOI async for work in query.stream()]
        types = [t.id async for t in cr.types]
        type_stream = [t.id async for t in cr.types.stream()]
    assert walked == streamed and len(walked) == 10
    assert types == type_stream and len(types) > 20


def test_aiter_is_typed_as_the_items() -> None:
    cr = Crossref(mailto="me@example.org")
    iterator: AsyncIterator[Work] = cr.works.__aiter__()
    assert hasattr(iterator, "__anext__")


# -- pages are sequences ---------------------------------------------------------------------


def test_a_page_is_sized_iterable_and_indexable() -> None:
    items = (Type(id="book"), Type(id="report"), Type(id="monograph"))
    page = Page(items=items, total_results=30)
    assert len(page) == 3
    assert list(page) == list(items)
    assert [t.id for t in page] == ["book", "report", "monograph"]
    assert page[0] is items[0] and page[-1] is items[-1]
    assert page[1:] == items[1:]
    assert bool(page)
    with pytest.raises(IndexError):
        page[3]


def test_an_empty_page_is_false_even_with_counts() -> None:
    # A rows=0 page carries only counts and facets: it has no items, so it is false.
    assert not Page[Type](total_results=1000)
    assert len(Page[Type]()) == 0 and list(Page[Type]()) == []


async def test_a_fetched_page_iterates_its_items() -> None:
    async with simulator() as cr:
        page = await cr.works.page(rows=3)
    assert len(page) == 3 and [w.DOI for w in page] == [w.DOI for w in page.items]


# -- aliases ---------------------------------------------------------------------------------


def test_work_aliases_give_the_crossref_fields() -> None:
    work = Work(
        DOI="10.5555/12345678",
        author=(Contributor(family="Carberry"),),
        reference=(Reference(key="r1"),),
    )
    assert work.doi == work.DOI == "10.5555/12345678"
    assert work.authors is work.author
    assert work.references is work.reference
    assert Work().doi is None and Work().authors == () and Work().references == ()


@pytest.mark.parametrize(("alias", "field"), ALIASES.items())
def test_aliases_are_documented_properties_not_fields(alias: str, field: str) -> None:
    prop = vars(Work)[alias]
    assert isinstance(prop, property)
    assert f"An alias of ``{field}``" in (prop.__doc__ or "")
    names = {f.name for f in msgspec.structs.fields(Work)}
    encoded = {f.encode_name for f in msgspec.structs.fields(Work)}
    assert alias not in names and alias not in encoded and field in names
    with pytest.raises(AttributeError):
        setattr(Work(DOI="10.5555/1"), alias, "x")


def test_no_alias_is_a_crossref_key_of_a_work() -> None:
    # Checked on every recorded work: an alias never hides a key Crossref sends.
    seen = 0
    for rec in recordings():
        if rec.status != 200 or not rec.is_json or rec.message_type not in ("work", "work-list"):
            continue
        try:
            message = msgspec.json.decode(rec.body)["message"]
        except (msgspec.DecodeError, KeyError, TypeError):
            continue
        records = message.get("items", []) if rec.message_type == "work-list" else [message]
        for record in records:
            if isinstance(record, dict):
                seen += 1
                assert not set(ALIASES) & set(record), rec.name
    assert seen > 1000


# -- tracebacks ------------------------------------------------------------------------------


def tenacity_frames(exc: BaseException) -> list[str]:
    return [
        f.filename
        for f in traceback.extract_tb(exc.__traceback__)
        if "tenacity" in f.filename or "concurrent/futures" in f.filename
    ]


async def test_a_request_failing_after_retries_has_no_tenacity_frames() -> None:
    down = FakeCrossref(limits="unmetered", faults=Faults(error_rate=1.0))
    with set_testing(True, attempts=3):
        async with Crossref(mailto="me@example.org", transport=down.transport()) as cr:
            with pytest.raises(ServerError) as info:
                await cr.work("10.5555/12345678")
    assert down.stats.total_requests == 3  # it was retried, and still shows clean
    exc = info.value
    assert tenacity_frames(exc) == []
    frames = traceback.extract_tb(exc.__traceback__)
    # The frames left lead from the call down to where the error was raised.
    assert frames[-1].filename.endswith("_session.py")
    assert any(f.name == "work" for f in frames)
    formatted = "".join(traceback.format_exception(exc))
    assert "/tenacity/" not in formatted and "concurrent/futures" not in formatted


async def test_an_error_not_retried_has_no_tenacity_frames() -> None:
    async with simulator() as cr:
        with pytest.raises(NotFoundError) as info:
            await cr.work("10.5555/no-such-work")
    assert tenacity_frames(info.value) == []
    assert info.value.__context__ is None


async def test_the_cause_of_a_transport_error_is_kept() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    transport = httpx.MockTransport(refuse)
    with set_testing(True, attempts=2):
        async with Crossref(
            mailto="me@example.org", transport=transport, retry=RetryPolicy(attempts=2)
        ) as cr:
            with pytest.raises(ConnectionFailedError) as info:
                await cr.work("10.5555/12345678")
    assert isinstance(info.value.__cause__, httpx.ConnectError)
    assert tenacity_frames(info.value) == []
