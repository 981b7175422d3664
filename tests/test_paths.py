"""The headline paths that had no test of their own: a request cancelled while the server
holds it, the redo of a shard that fails verification, ``max_restarts``, and the shard
planner's fallbacks. Everything goes through public names: the client, its ``stats()``, the
harvest API and the simulator (with a transport in front of it where the simulator has no
fault for the case)."""

from __future__ import annotations

import json
import logging
from collections import Counter
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
from anyio import wait_all_tasks_blocked

from crossref_async import (
    Breaker,
    Crossref,
    IncompleteResultsError,
    NotFound,
    Pacing,
    RetryPolicy,
    ServerError,
)
from crossref_async.harvest import Harvester, harvest, iter_records, plan
from crossref_async.testing import FakeCrossref, Faults, Limits, Pool

MAILTO = "tests@example.org"
DOI = "10.5555/12345678"
# A hang guard only (a broken path would otherwise wait for ever); nothing here is timed.
HANG = 60


class Tamper(httpx.AsyncBaseTransport):
    """Forwards to the simulator; a subclass may answer a request itself (:meth:`answer`) or
    edit the message of a 200 JSON list answer (:meth:`edit`, which says whether it did), for
    what the simulator has no fault for."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner

    def answer(self, request: httpx.Request) -> httpx.Response | None:
        return None

    def edit(self, request: httpx.Request, message: dict[str, Any]) -> bool:
        return False

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        own = self.answer(request)
        if own is not None:
            return own
        response = await self.inner.handle_async_request(request)
        if response.status_code != 200 or request.url.path.rstrip("/") != "/v1/works":
            return response
        body = json.loads(await response.aread())
        self.edit(request, body["message"])
        # The limit headers go along, so the governor sees the pools it would have seen.
        headers = {k: v for k, v in response.headers.items() if k.lower().startswith("x-")}
        return httpx.Response(200, json=body, headers=headers)


def expected_dois(fake: FakeCrossref, filters: list[tuple[str, str]] | None = None) -> set[str]:
    # The selection the server makes, read from the corpus's DOI column: building every
    # record (as corpus.matching does) takes about 0.2 ms each.
    corpus = fake.corpus
    return {corpus.tables.columns.doi[i].lower() for i in corpus.search(filters or []).indexes}


def written_dois(path: Path) -> list[str]:
    return [json.loads(line)["DOI"].lower() for line in iter_records(path)]


def client(transport: httpx.AsyncBaseTransport, **kw: Any) -> Crossref:
    kw.setdefault("retry", RetryPolicy(attempts=4, backoff=0.001, max_backoff=0.005))
    return Crossref(mailto=MAILTO, transport=transport, **kw)


# -- a request cancelled while the server holds it ---------------------------------------------

ONE_AT_A_TIME = Limits(
    # A rate so high that pacing never makes a request wait: only the one slot can.
    single=Pool(rate=1_000_000, concurrency=1, name="t-single"),
    list=Pool(rate=1_000_000, concurrency=1, name="t-array"),
)

CALLS: dict[str, tuple[str, Callable[[Crossref], Awaitable[object]]]] = {
    "single": ("t-single", lambda cr: cr.work(DOI)),
    "list": ("t-array", lambda cr: cr.works.count()),
}


@pytest.mark.parametrize("kind", sorted(CALLS))
async def test_a_request_cancelled_in_flight_frees_its_slot_and_counts_for_nothing(
    kind: str,
) -> None:
    await cancel_in_flight(kind)


@pytest.mark.parametrize("kind", sorted(CALLS))
def test_a_request_cancelled_in_flight_under_trio(kind: str) -> None:
    # trio delivers cancellation differently (level-triggered, at every checkpoint).
    anyio.run(cancel_in_flight, kind, backend="trio")


async def cancel_in_flight(kind: str) -> None:
    """Cancel a ``kind`` request while the server holds it, with another queued behind it
    for the pool's one slot; check what the client and the server counted."""
    pool, call = CALLS[kind]
    fake = FakeCrossref(works=50, limits=ONE_AT_A_TIME)
    # One counted failure would open the circuit, and without retries an open circuit is an
    # immediate CircuitOpenError: a cancellation taken for a failure cannot hide.
    cr = client(
        fake.transport(), retry=RetryPolicy.off(), pacing=Pacing(breaker=Breaker(consecutive=1))
    )
    async with cr, anyio.create_task_group() as tg:
        await call(cr)  # learns the pool: one request at a time
        assert cr.stats()[pool].concurrency == 1
        before = cr.stats()[pool].requests
        # The server holds the next request: it is past the pacing, sent, and being answered.
        fake.set_faults(Faults(latency=3600))
        held = anyio.CancelScope()
        waiter_done = anyio.Event()

        async def doomed() -> None:
            with held:
                await call(cr)
            assert held.cancelled_caught

        async def waiter() -> None:
            await call(cr)
            waiter_done.set()

        tg.start_soon(doomed)
        await wait_all_tasks_blocked()
        assert fake.stats.in_flight[kind] == 1  # the server has it
        assert cr.stats()[pool].in_flight == 1
        tg.start_soon(waiter)  # queued behind it for the one slot
        await wait_all_tasks_blocked()
        assert fake.stats.requests[kind] == 2 and not waiter_done.is_set()

        fake.set_faults(Faults())  # the waiter's request is answered at once
        held.cancel()
        # The slot came back and went to the waiter, with no time passing.
        await wait_all_tasks_blocked()
        assert waiter_done.is_set()
        stats = cr.stats()[pool]
        assert stats.in_flight == 0
        assert stats.requests == before + 2  # the cancelled one and the waiter's
        assert stats.server_errors == 0 and stats.transport_errors == 0
        assert fake.stats.in_flight[kind] == 0 and fake.stats.requests[kind] == 3
        # Not a failure for the breaker: the next request goes straight through.
        with anyio.fail_after(HANG):
            await call(cr)
        assert cr.stats()[pool].requests == before + 3


# -- the redo of a shard that fails verification -----------------------------------------------


class LosesOne(Tamper):
    """Drops the 2nd item of the first later cursor page: the server's cursor moved past it,
    so that walk really lost a record and its shard cannot verify."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        super().__init__(inner)
        self.dropped: list[str] = []

    def edit(self, request: httpx.Request, message: dict[str, Any]) -> bool:
        cursor = request.url.params.get("cursor")
        if cursor in (None, "*") or self.dropped or len(message["items"]) < 2:
            return False
        self.dropped.append(message["items"].pop(1)["DOI"].lower())
        return True


class EmptiesFirstPage(Tamper):
    """Answers the first ``cursor=*`` page of a harvest with no items (its total kept): that
    shard's walk ends at once with nothing written, and cannot verify."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        super().__init__(inner)
        self.emptied = 0
        self.first_pages = 0

    def edit(self, request: httpx.Request, message: dict[str, Any]) -> bool:
        if request.url.params.get("cursor") != "*":
            return False
        self.first_pages += 1
        if self.emptied or not message["items"]:
            return False
        message["items"] = []
        self.emptied += 1
        return True


async def test_a_shard_that_lost_a_record_is_redone_among_others(tmp_path: Path) -> None:
    fake = FakeCrossref(works=400, seed=51, limits="unmetered")
    lossy = LosesOne(fake.transport())
    out = tmp_path / "works.jsonl"
    async with client(lossy) as cr:
        the_plan = await plan(cr.works, target=100)
        report = await harvest(cr, the_plan, out=out, rows=30, concurrency=3)
    assert len(the_plan.shards) >= 4
    written = written_dois(out)
    assert len(lossy.dropped) == 1 and lossy.dropped[0] in written
    assert sorted(written) == sorted(expected_dois(fake)) and len(written) == len(set(written))
    assert report.shards_redone == 1 and report.verified
    assert report.records == len(written)  # the failed attempt's records are not counted twice
    # One cursor per shard, and one more for the redo.
    assert fake.stats.cursors_created == len(the_plan.shards) + 1


async def test_a_shard_whose_failed_attempt_wrote_nothing_is_redone(tmp_path: Path) -> None:
    fake = FakeCrossref(works=300, seed=52, limits="unmetered")
    tamper = EmptiesFirstPage(fake.transport())
    out = tmp_path / "works.jsonl"
    async with client(tamper) as cr:
        the_plan = await plan(cr.works, target=100)
        report = await harvest(cr, the_plan, out=out, rows=40, concurrency=2)
    written = written_dois(out)
    assert tamper.emptied == 1
    assert sorted(written) == sorted(expected_dois(fake)) and len(written) == len(set(written))
    assert report.verified and report.records == len(written)
    assert tamper.first_pages == len(the_plan.shards) + 1  # the emptied shard walked twice
    # Counted as a redo although the failed attempt wrote nothing (it was not, before).
    assert report.shards_redone == 1


async def test_a_shard_that_never_verifies_gives_up_after_max_redo(tmp_path: Path) -> None:
    class EmptiesEveryFirstPage(EmptiesFirstPage):
        def edit(self, request: httpx.Request, message: dict[str, Any]) -> bool:
            if request.url.params.get("cursor") != "*":
                return False
            self.first_pages += 1
            message["items"] = []
            return True

    fake = FakeCrossref(works=100, seed=53, limits="unmetered")
    tamper = EmptiesEveryFirstPage(fake.transport())
    out = tmp_path / "works.jsonl"
    async with client(tamper) as cr:
        the_plan = await plan(cr.works)
        harvester = Harvester(cr, the_plan, out=out, rows=50, max_redo=2)
        with pytest.raises(IncompleteResultsError, match="after 3 attempts") as info:
            await harvester.run()
    assert len(the_plan.shards) == 1
    assert tamper.first_pages == 3
    assert (info.value.expected, info.value.received) == (100, 0)
    assert not out.exists() and not harvester.complete


# -- max_restarts --------------------------------------------------------------------------------


class Expiring(Tamper):
    """Moves the simulator's clock a minute on before every request from the ``after``-th
    on, so every cursor has expired (404) by the time its next page is asked for; ``cursor=*``
    pages are still answered."""

    def __init__(self, inner: httpx.AsyncBaseTransport, now: list[float], after: int) -> None:
        super().__init__(inner)
        self.now = now
        self.after = after
        self.seen = 0

    def answer(self, request: httpx.Request) -> httpx.Response | None:
        self.seen += 1
        if self.seen > self.after:
            self.now[0] += 60.0
        return None


def expiring_cursors(*, seed: int) -> tuple[FakeCrossref, list[float]]:
    """60 works whose cursors expire after 10 s of the returned clock (which Expiring moves)."""
    now = [0.0]
    fake = FakeCrossref(
        works=60, seed=seed, limits="unmetered", cursor_ttl=10.0, clock=lambda: now[0]
    )
    return fake, now


async def test_restarts_beyond_max_restarts_stop_the_shard_and_keep_what_it_wrote(
    tmp_path: Path,
) -> None:
    fake, now = expiring_cursors(seed=54)
    out = tmp_path / "works.jsonl"
    # Planning is one request (one shard); five clean pages of one record; then every cursor
    # dies after its first page, and a new one from the last record's day brings nothing new
    # (one row a page: that record again).
    expiring = Expiring(fake.transport(), now, after=1 + 5)
    async with client(expiring) as cr:
        the_plan = await plan(cr.works)
        harvester = Harvester(cr, the_plan, out=out, rows=1, max_restarts=3)
        with anyio.fail_after(HANG), pytest.raises(NotFound) as info:
            await harvester.run()
        assert len(the_plan.shards) == 1
        # Given up at the 4th restart in a row without a new record, not before, not after.
        assert fake.stats.cursor_invalid == 4
        assert "cursor" in str(info.value).lower()
        # It says the restarts ran out and how to go on: in a note (PEP 678), which a
        # traceback shows, and an ERROR log line.
        notes = " ".join(getattr(info.value, "__notes__", []))
        assert "max_restarts 3" in notes and "resume" in notes
        state = harvester.state_dir
        assert state is not None
        (part,) = state.glob("shard-0000.jsonl")
        kept = written_dois(part)
        expected = sorted(expected_dois(fake), key=_created_order(fake))
        assert kept == expected[: len(kept)] and len(kept) == 5  # the five clean pages, in order
        assert not out.exists()
        # Resumed with healthy cursors, nothing written before is lost or doubled.
        expiring.after = 10**9
        report = await Harvester(cr, the_plan, out=out, rows=20, resume=True).run()
    written = written_dois(out)
    assert sorted(written) == sorted(expected) and len(written) == len(set(written))
    assert report.verified


async def test_restarts_that_bring_new_records_do_not_count_against_the_limit(
    tmp_path: Path,
) -> None:
    fake, now = expiring_cursors(seed=55)
    out = tmp_path / "works.jsonl"
    expiring = Expiring(fake.transport(), now, after=1)  # every cursor dies after one page
    async with client(expiring) as cr:
        the_plan = await plan(cr.works)
        with anyio.fail_after(HANG):
            report = await Harvester(cr, the_plan, out=out, rows=5, max_restarts=1).run()
    written = written_dois(out)
    assert sorted(written) == sorted(expected_dois(fake)) and len(written) == len(set(written))
    # Far more restarts than max_restarts in all, but each brought new records.
    assert fake.stats.cursor_invalid > 5
    assert report.verified and report.shards_redone == 0


def _created_order(fake: FakeCrossref) -> Callable[[str], tuple[str, str]]:
    created = {str(w["DOI"]).lower(): str(w["created"]["date-time"]) for w in fake.corpus.works}
    return lambda doi: (created[doi], doi)


# -- the shard planner's fallbacks --------------------------------------------------------------


def _edge_order(request: httpx.Request) -> str | None:
    """``asc`` or ``desc`` for the planner's edge requests (one record, oldest or newest)."""
    params = request.url.params
    if params.get("sort") == "created" and params.get("rows") == "1":
        return str(params.get("order"))
    return None


class EditsEdges(Tamper):
    """Applies ``change`` to the planner's edge pages (``asc``, ``desc``)."""

    def __init__(
        self,
        inner: httpx.AsyncBaseTransport,
        change: Callable[[str, dict[str, Any]], None],
    ) -> None:
        super().__init__(inner)
        self.change = change
        self.edited: list[str] = []

    def edit(self, request: httpx.Request, message: dict[str, Any]) -> bool:
        order = _edge_order(request)
        if order is None:
            return False
        self.change(order, message)
        self.edited.append(order)
        return True


def _no_created(order: str, message: dict[str, Any]) -> None:
    for item in message["items"]:
        item.pop("created", None)


def _no_created_newest(order: str, message: dict[str, Any]) -> None:
    if order == "desc":
        _no_created(order, message)


def _no_items(order: str, message: dict[str, Any]) -> None:
    message["items"] = []


def _newest_older_than_oldest(order: str, message: dict[str, Any]) -> None:
    # The index changed between the two requests: the newest record is older than the oldest.
    if order == "desc":
        for item in message["items"]:
            item["created"] = {"date-parts": [[1901, 1, 1]]}


@pytest.mark.parametrize(
    "change", [_no_created, _no_created_newest, _no_items, _newest_older_than_oldest]
)
async def test_without_usable_created_dates_the_plan_is_one_shard(
    tmp_path: Path, change: Callable[[str, dict[str, Any]], None], caplog: pytest.LogCaptureFixture
) -> None:
    fake = FakeCrossref(works=300, seed=56, limits="unmetered")
    tamper = EditsEdges(fake.transport(), change)
    async with client(tamper) as cr:
        query = cr.works.filter(type="journal-article")
        with caplog.at_level(logging.WARNING, logger="crossref_async"):
            the_plan = await plan(query, target=50)
        total = len(expected_dois(fake, [("type", "journal-article")]))
        assert sorted(tamper.edited) == ["asc", "desc"]
        assert total > 50
        assert [(s.start, s.end, s.count) for s in the_plan.shards] == [(None, None, total)]
        assert the_plan.consistent and the_plan.total == total
        assert "their created dates are missing" in caplog.text
        assert fake.stats.total_requests == 2  # nothing counted: nothing to split on
        report = await harvest(cr, the_plan, out=tmp_path / "w.jsonl", rows=100)
    written = written_dois(tmp_path / "w.jsonl")
    assert sorted(written) == sorted(expected_dois(fake, [("type", "journal-article")]))
    assert report.verified


async def test_a_small_query_keeps_its_own_created_bounds_in_one_shard(tmp_path: Path) -> None:
    fake = FakeCrossref(works=300, seed=57, limits="unmetered")
    async with client(fake.transport()) as cr:
        query = cr.works.filter(from_created_date="2010", until_created_date="2012-06")
        the_plan = await plan(query, target=10_000)
        expected = {
            d
            for d, w in ((str(w["DOI"]).lower(), w) for w in fake.corpus.works)
            if "2010-01-01" <= str(w["created"]["date-time"])[:10] <= "2012-06-30"
        }
        assert len(the_plan.shards) == 1 and fake.stats.total_requests == 1
        (shard,) = the_plan.shards
        assert (str(shard.start), str(shard.end), shard.count) == (
            "2010-01-01",
            "2012-06-30",
            len(expected),
        )
        assert the_plan.consistent
        await harvest(cr, the_plan, out=tmp_path / "w.jsonl")
    assert sorted(written_dois(tmp_path / "w.jsonl")) == sorted(expected)


async def test_an_empty_query_plans_one_empty_shard(tmp_path: Path) -> None:
    fake = FakeCrossref(works=100, seed=58, limits="unmetered")
    async with client(fake.transport()) as cr:
        the_plan = await plan(cr.works.filter(from_created_date="2090"), target=1)
        assert [(str(s.start), s.end, s.count) for s in the_plan.shards] == [
            ("2090-01-01", None, 0)
        ]
        assert the_plan.total == 0 and fake.stats.total_requests == 1
        report = await harvest(cr, the_plan, out=tmp_path / "w.jsonl")
    assert report.records == 0 and report.verified
    assert written_dois(tmp_path / "w.jsonl") == []


async def test_a_day_above_the_target_is_one_shard(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    fake = FakeCrossref(works=400, seed=5, limits="unmetered")
    window = [("from-created-date", "2021-01-20"), ("until-created-date", "2021-02-20")]
    days = Counter(str(w["created"]["date-time"])[:10] for w in fake.corpus.matching(window))
    crowded = {day: n for day, n in sorted(days.items()) if n > 1}
    assert crowded == {"2021-02-03": 3, "2021-02-16": 2}  # this corpus's days of 2+ records
    async with client(fake.transport()) as cr:
        query = cr.works.filter(dict(window))
        with caplog.at_level(logging.WARNING, logger="crossref_async"), anyio.fail_after(HANG):
            the_plan = await plan(query, target=1)
        assert the_plan.consistent
        # A window of 32 days splits into at most 32 shards, one count per split.
        assert len(the_plan.shards) <= 32
        assert fake.stats.total_requests == 2 + len(the_plan.shards) - 1
        big = [s for s in the_plan.shards if (s.count or 0) > 1]
        # Each crowded day cannot be split: its shard covers it (and maybe empty days beside).
        assert [s.count for s in big] == list(crowded.values())
        for shard, day in zip(big, crowded, strict=True):
            assert shard.start is not None and shard.end is not None
            assert str(shard.start) <= day <= str(shard.end)
            assert f"shard {day}..{day} holds {crowded[day]} records" in caplog.text
        assert caplog.text.count("cannot be split further") == len(crowded)
        report = await harvest(cr, the_plan, out=tmp_path / "w.jsonl", rows=5)
    written = written_dois(tmp_path / "w.jsonl")
    assert sorted(written) == sorted(expected_dois(fake, window)) and report.verified


class InflatesACount(Tamper):
    """Answers the planner's first split count with more than the whole (the index grew
    between two counts)."""

    def __init__(self, inner: httpx.AsyncBaseTransport, extra: int) -> None:
        super().__init__(inner)
        self.extra = extra
        self.inflated = 0

    def edit(self, request: httpx.Request, message: dict[str, Any]) -> bool:
        if request.url.params.get("rows") != "0" or self.inflated:
            return False
        message["total-results"] += self.extra
        self.inflated += 1
        return True


async def test_a_count_above_its_window_leaves_no_negative_shard(tmp_path: Path) -> None:
    fake = FakeCrossref(works=300, seed=59, limits="unmetered")
    tamper = InflatesACount(fake.transport(), extra=300)
    async with client(tamper) as cr:
        the_plan = await plan(cr.works, target=100)
        assert tamper.inflated == 1
        assert all((s.count or 0) >= 0 for s in the_plan.shards)
        assert any(s.count == 0 for s in the_plan.shards)  # the right half: 300 - 600, not < 0
        report = await harvest(cr, the_plan, out=tmp_path / "w.jsonl", rows=100)
    # The counts only guided the split: every record is harvested, each shard verified.
    written = written_dois(tmp_path / "w.jsonl")
    assert sorted(written) == sorted(expected_dois(fake)) and len(written) == len(set(written))
    assert report.verified


class FailsCounts(Tamper):
    """Answers the ``fail_at``-th count request (and every one after it) with a 500."""

    def __init__(self, inner: httpx.AsyncBaseTransport, fail_at: int) -> None:
        super().__init__(inner)
        self.fail_at = fail_at
        self.counts = 0

    def answer(self, request: httpx.Request) -> httpx.Response | None:
        if request.url.params.get("rows") != "0":
            return None
        self.counts += 1
        if self.counts < self.fail_at:
            return None
        return httpx.Response(500, text="<html><body>Internal Server Error</body></html>")


@pytest.mark.parametrize("fail_at", [1, 3])
async def test_a_failed_count_fails_the_plan_with_the_servers_error(fail_at: int) -> None:
    fake = FakeCrossref(works=400, seed=60, limits="unmetered")
    tamper = FailsCounts(fake.transport(), fail_at)
    async with client(tamper, retry=RetryPolicy.off()) as cr:
        with anyio.fail_after(HANG), pytest.raises(ServerError) as info:
            await plan(cr.works, target=50)
        # The error itself, not an ExceptionGroup of the concurrent splits.
        assert type(info.value) is ServerError and info.value.status == 500
        assert tamper.counts >= fail_at
        # The client is fine afterwards: another plan on a healthy server works.
        tamper.fail_at = 10**9
        again = await plan(cr.works, target=50)
    assert again.consistent and again.total == 400
