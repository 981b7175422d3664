"""Edge cases found in review: secrets, cancellation, races, resumes, odd input."""

from __future__ import annotations

import time
from pathlib import Path

import anyio
import httpx
import pytest
from anyio import wait_all_tasks_blocked
from conftest import MAILTO

from crossref_async import (
    Breaker,
    Crossref,
    HarvestStateError,
    Pacing,
    RedirectError,
    ValidationError,
)
from crossref_async._governor import Advertised, PoolBudget
from crossref_async._sinks import read_records
from crossref_async.harvest import harvest, plan
from crossref_async.testing import FakeCrossref


async def test_token_stays_home_even_with_a_redirect_following_http_client() -> None:
    seen: list[httpx.Request] = []

    def server(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.url.host == "api.crossref.org":
            return httpx.Response(302, headers={"location": "https://evil.example/x"})
        return httpx.Response(200, json={"status": "ok", "message-type": "work", "message": {}})

    http = httpx.AsyncClient(transport=httpx.MockTransport(server), follow_redirects=True)
    async with http, Crossref(mailto=MAILTO, http_client=http, plus_token="s3cret") as cr:
        with pytest.raises(RedirectError):
            await cr.work("10.5555/1")
    assert [r.url.host for r in seen] == ["api.crossref.org"]  # the client's own rule wins


async def test_cancelled_calls_are_not_failures() -> None:
    fake = FakeCrossref(works=50, limits="fast-50")
    breaker = Breaker(min_requests=5, window=20)
    async with Crossref(
        mailto=MAILTO, transport=fake.transport(), pacing=Pacing(breaker=breaker)
    ) as cr:
        for _ in range(6):
            await cr.work("10.5555/12345678")
        for _ in range(5):
            with anyio.move_on_after(0):
                await cr.work("10.5555/12345678")
        await cr.work("10.5555/12345678")  # would raise CircuitOpenError if they counted
        assert cr.stats()["fast-single"].transport_errors == 0
        assert cr.governor is not None and not cr.governor.breaker.tripped


async def test_a_waiter_woken_and_cancelled_at_once_passes_its_slot_on() -> None:
    budget = PoolBudget("p", Advertised(1000, 1.0, 1), clock=time.monotonic)
    budget.learned = True
    first = await budget.acquire()
    doomed = anyio.CancelScope()
    b_in = anyio.Event()

    async def a() -> None:
        with doomed:
            await budget.acquire()

    async def b() -> None:
        await budget.acquire()
        b_in.set()

    async with anyio.create_task_group() as tg:
        tg.start_soon(a)
        await wait_all_tasks_blocked()  # "a" waits for the slot...
        tg.start_soon(b)
        await wait_all_tasks_blocked()  # ...and "b" behind it
        doomed.cancel()  # "a" is cancelled...
        budget.release(status=200, latency=0.0, headers=None, ticket=first)  # ...and woken
        with anyio.fail_after(2):
            await b_in.wait()
    assert budget.in_flight == 1


@pytest.mark.parametrize(
    "kwargs",
    [{"mailto": "jörg@example.org"}, {"plus_token": "tökén"}, {"user_agent": "Tööl/1"}],
)
def test_header_values_must_be_ascii(kwargs: dict[str, str]) -> None:
    kwargs.setdefault("mailto", MAILTO)
    with pytest.raises(ValidationError) as info:
        Crossref(**kwargs)  # type: ignore[arg-type]
    assert "tökén" not in str(info.value)


def test_odd_query_input_is_refused_clearly() -> None:
    cr = Crossref(mailto=MAILTO)
    with pytest.raises(ValidationError, match="name=value"):
        cr.works.filter("type:journal-article")  # type: ignore[arg-type]
    with pytest.raises(ValidationError):
        cr.works.filter({1: "x"})  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match="member id"):
        cr.member_works("²")
    with pytest.raises(ValidationError):
        cr.members.filter(current_doi_count="²")
    assert cr.works.filter(type={"book", "dataset"}).to_params() == [
        ("filter", "type:book,type:dataset")
    ]


async def test_max_items_must_be_a_number() -> None:
    async with Crossref(mailto=MAILTO, transport=FakeCrossref(works=10).transport()) as cr:
        with pytest.raises(ValidationError, match="max_items"):
            [w async for w in cr.works.stream(max_items="5")]  # type: ignore[arg-type]


async def test_resuming_with_another_query_is_refused(tmp_path: Path) -> None:
    fake = FakeCrossref(works=400, limits="fast-50")
    out = tmp_path / "w.jsonl"
    async with Crossref(mailto=MAILTO, transport=fake.transport()) as cr:
        the_plan = await plan(cr.works.filter(type="journal-article"), target=100)
        await harvest(cr, the_plan, out=out, shard_ids=[the_plan.shards[0].id])
        assert (tmp_path / "w.jsonl.harvest" / "plan.json").exists()
        with pytest.raises(HarvestStateError, match="different query"):
            await harvest(cr, cr.works.filter(type="book-chapter"), out=out, resume=True)
        with pytest.raises(ValidationError, match="concurrency"):
            await harvest(cr, the_plan, out=out, resume=True, concurrency=-1)


async def test_shard_jobs_into_one_output_add_up(tmp_path: Path) -> None:
    fake = FakeCrossref(works=400, limits="fast-50")
    out = tmp_path / "w.jsonl"
    async with Crossref(mailto=MAILTO, transport=fake.transport()) as cr:
        the_plan = await plan(cr.works, target=100)
        ids = [s.id for s in the_plan.shards]
        first = await harvest(cr, the_plan, out=out, shard_ids=ids[:1])
        assert len(list(read_records(out))) == first.records
        assert (tmp_path / "w.jsonl.harvest").exists()  # the other shards' state is kept
        await harvest(cr, the_plan, out=out, shard_ids=ids[1:], resume=True)
    assert len(list(read_records(out))) == 400
    assert not (tmp_path / "w.jsonl.harvest").exists()  # all done: state removed


async def test_harvest_with_a_narrow_select_and_facets(tmp_path: Path) -> None:
    fake = FakeCrossref(works=500, limits="fast-50")
    out = tmp_path / "w.jsonl"
    async with Crossref(mailto=MAILTO, transport=fake.transport()) as cr:
        query = cr.works.select("title").facet("type-name")
        report = await harvest(cr, query, out=out, target=200, rows=100)
    assert report.records == 500 and report.verified
    pages = [r.target for r in fake.stats.log if r.kind == "list"]
    assert pages and not any("facet" in t for t in pages)
    # Pages of records keep the select; counts (rows=0) and the opening's sample need less.
    records = [t for t in pages if "rows=0" not in t and "sample=" not in t]
    assert records and all("select=title%2CDOI%2Ccreated" in t for t in records)


async def test_graph_skips_malformed_reference_dois() -> None:
    def server(request: httpx.Request) -> httpx.Response:
        items = [{"DOI": "10.5555/seed", "reference": [{"DOI": "10.5555"}, {"DOI": "10.5555/ok"}]}]
        message = {"items": items, "total-results": 1}
        return httpx.Response(
            200, json={"status": "ok", "message-type": "work-list", "message": message}
        )

    async with Crossref(
        mailto=MAILTO, transport=httpx.MockTransport(server), pacing=Pacing.off()
    ) as cr:
        edges = [e async for e in cr.citation_graph(["10.5555/seed"], depth=1)]
    assert [(e.citing, e.cited) for e in edges] == [("10.5555/seed", "10.5555/ok")]
