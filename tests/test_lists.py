"""The long lists (/journals, /funders, /members) page by cursor, past offset's 10,000.

Bodies are shaped like the recordings (their items as templates, 2026 totals: 166,675
journals). A route that refuses a cursor (the recorded 2018 400, "This route does not
support cursor") or ignores it (no ``next-cursor`` while more remain) is paged by offset
instead with a WARNING, which still reaches 10,000 items and then says how many were out of
reach: the user gets everything the API can give and is told about the rest, never a silent
truncation nor an error for a list that offsets could have finished.
"""

from __future__ import annotations

import logging
from typing import Any

import httpx
import pytest
from conftest import unit_client
from test_paging_end import TOKEN, Lister, client

from crossref_async import BadRequestError, Crossref, OffsetLimitError, ValidationError
from crossref_async.testing import FakeCrossref, Faults

JOURNALS_2026 = 166_675  # total-results of the recorded /journals?rows=1 (habanero, 2026)


def names(items: list[Any], kind: str) -> list[str]:
    field = {"journal-list": "title", "member-list": "primary_name", "funder-list": "name"}
    return [getattr(item, field[kind]) for item in items]


async def test_journals_stream_goes_past_10000_by_cursor() -> None:
    server = Lister("journal-list", JOURNALS_2026)
    async with client(server) as cr:
        journals = [j async for j in cr.journals.stream(rows=1000, max_items=12_000)]
    assert names(journals, "journal-list") == [server.key(i) for i in range(12_000)]
    assert server.param("cursor") == ["*"] + [TOKEN] * 11
    assert server.param("offset") == [None] * 12


@pytest.mark.parametrize(
    ("kind", "build", "sent"),
    [
        (
            "member-list",
            lambda cr: cr.members.filter(prefix="10.5555"),
            ("filter", "prefix:10.5555"),
        ),
        ("member-list", lambda cr: cr.members.query("ecology"), ("query", "ecology")),
        ("funder-list", lambda cr: cr.funders.query("NSF"), ("query", "NSF")),
        (
            "funder-list",
            lambda cr: cr.funders.filter(location="Japan"),
            ("filter", "location:Japan"),
        ),
        ("journal-list", lambda cr: cr.journals.query("ecology"), ("query", "ecology")),
    ],
)
async def test_filtered_and_queried_lists_page_by_cursor(
    kind: str, build: Any, sent: tuple[str, str]
) -> None:
    server = Lister(kind, 35, short={1: 9})
    async with client(server) as cr:
        items = [x async for x in build(cr).stream(rows=10)]
    assert names(items, kind) == [server.key(i) for i in range(35)]
    assert all(r.url.params[sent[0]] == sent[1] for r in server.requests)
    assert server.param("cursor")[0] == "*" and set(server.param("cursor")[1:]) == {TOKEN}


async def test_an_explicit_offset_pages_by_offset() -> None:
    server = Lister("member-list", 30)
    async with client(server) as cr:
        members = [m async for m in cr.members.offset(5).stream(rows=10)]
    assert names(members, "member-list") == [server.key(i) for i in range(5, 30)]
    assert server.param("offset") == ["5", "15", "25"] and server.param("cursor") == [None] * 3


async def test_a_refused_cursor_falls_back_to_offsets_with_a_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    server = Lister("member-list", 25, cursor="refuse")
    with caplog.at_level(logging.WARNING, logger="crossref_async"):
        async with client(server) as cr:
            members = [m async for m in cr.members.stream(rows=10)]
    assert names(members, "member-list") == [server.key(i) for i in range(25)]
    assert server.param("cursor") == ["*", None, None, None]
    assert server.param("offset") == [None, "0", "10", "20"]
    (warning,) = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert "/members refuses cursors" in warning and "This route does not support cursor" in warning


async def test_a_refused_cursor_on_a_long_list_ends_in_offset_limit_error() -> None:
    server = Lister("journal-list", JOURNALS_2026, cursor="refuse")
    got: list[Any] = []

    async def drain(cr: Any) -> None:
        async for journal in cr.journals.stream(rows=1000):
            got.append(journal)

    async with client(server) as cr:
        with pytest.raises(OffsetLimitError, match="166,675"):
            await drain(cr)
    assert len(got) == 10_000 and len(set(names(got, "journal-list"))) == 10_000


async def test_an_ignored_cursor_falls_back_to_offsets_after_the_first_page(
    caplog: pytest.LogCaptureFixture,
) -> None:
    server = Lister("funder-list", 35, cursor="ignore")
    with caplog.at_level(logging.WARNING, logger="crossref_async"):
        async with client(server) as cr:
            funders = [f async for f in cr.funders.stream(rows=10)]
    # The first page (served as offset 0) is kept, and offsets continue right after it.
    assert names(funders, "funder-list") == [server.key(i) for i in range(35)]
    assert server.param("offset") == [None, "10", "20", "30"]
    (warning,) = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert "/funders ignored the cursor" in warning and "10 of 35" in warning


async def test_a_list_that_fits_one_page_needs_no_next_cursor() -> None:
    server = Lister("journal-list", 4, next_cursor=False)
    async with client(server) as cr:
        journals = [j async for j in cr.journals.stream(rows=10)]
    assert len(journals) == 4 and len(server.requests) == 1


async def test_other_400s_are_raised_not_taken_for_a_refused_cursor() -> None:
    body = {
        "status": "failed",
        "message-type": "validation-failure",
        "message": [{"type": "parameter-not-allowed", "value": "query", "message": "no"}],
    }
    calls: list[httpx.Request] = []

    def refuse(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return httpx.Response(400, json=body)

    async with client(refuse) as cr:
        with pytest.raises(BadRequestError):
            _ = [m async for m in cr.members.query("x").stream()]
    assert len(calls) == 1


@pytest.mark.parametrize("name", ["has_public_references", "reference_visibility"])
async def test_retired_member_filters_fail_before_any_request(name: str) -> None:
    calls: list[httpx.Request] = []
    async with unit_client(transport=httpx.MockTransport(calls.append)) as cr:  # type: ignore[arg-type]
        with pytest.raises(ValidationError) as info:
            cr.members.filter(**{name: "open" if "visibility" in name else True})
    message = str(info.value)
    assert name.replace("_", "-") in message and "/members no longer has this filter" in message
    assert calls == []


async def test_journals_of_the_simulator_stream_past_10000_with_short_pages() -> None:
    # 12,000 filler journals after the real ones, short pages on the way: every one, once.
    fake = FakeCrossref(
        works=50, seed=3, limits="unmetered", filler=12_000, faults=Faults(short_page_rate=0.3)
    )
    async with Crossref(mailto="tests@example.org", transport=fake.transport()) as cr:
        total = await cr.journals.count()
        issns = [j.ISSN[0] async for j in cr.journals.stream(rows=1000, complete=True) if j.ISSN]
        filler = [j.title async for j in cr.journals.query("filler journal").stream()]
    assert total > 12_000 and len(issns) == len(set(issns)) == total
    assert len(filler) == 12_000 and fake.stats.short_pages > 0
    assert fake.stats.cursors_created == 2
