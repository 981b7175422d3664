"""Harvesting against the simulator: exactly the matching set, whatever happens on the way."""

from __future__ import annotations

import gzip
import json
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import anyio
import anyio.lowlevel
import httpx
import msgspec
import pytest
from _cli import run_cli

import crossref_async.harvest as harvest_module
from crossref_async import (
    Breaker,
    Crossref,
    HarvestStateError,
    Pacing,
    RetryPolicy,
    ValidationError,
)
from crossref_async._sinks import read_records
from crossref_async.harvest import (
    Harvester,
    Plan,
    Progress,
    harvest,
    iter_records,
    plan,
    read_state,
)
from crossref_async.models import Work, decode_item, decode_raw_page
from crossref_async.testing import FakeCrossref, Faults, Limits, Pool, serve, serve_in_thread

MAILTO = "tests@example.org"
FAST_RETRY = RetryPolicy(attempts=8, backoff=0.005, max_backoff=0.02)
#: fast-50's budgets in windows of 0.1 s: the same 50 a second, but a 429's pause (whole
#: intervals, doubling) is 0.1 s, not 1 s, so a run with spurious 429s does not sit waiting.
FAST_50_SHORT = Limits(
    single=Pool(rate=5, interval=0.1, concurrency=10, name="fast-single"),
    list=Pool(rate=5, interval=0.1, concurrency=10, name="fast-array"),
)


def expected_dois(fake: FakeCrossref, filters: Sequence[tuple[str, str]] = ()) -> set[str]:
    # The selection the server makes, read from the corpus's DOI column: building every
    # record (as corpus.matching does) takes about 0.2 ms each.
    corpus = fake.corpus
    return {corpus.tables.columns.doi[i].lower() for i in corpus.search(filters).indexes}


def written_dois(path: Path) -> list[str]:
    return [json.loads(line)["DOI"].lower() for line in read_records(path)]


def client(fake: FakeCrossref, **kw: object) -> Crossref:
    kw.setdefault("retry", FAST_RETRY)
    return Crossref(mailto=MAILTO, transport=fake.transport(), **kw)  # type: ignore[arg-type]


async def test_plan_is_disjoint_complete_and_round_trips() -> None:
    fake = FakeCrossref(works=4000, seed=3, limits="fast-50")
    async with client(fake) as cr:
        query = cr.works.filter(type="journal-article")
        the_plan = await plan(query, target=400)
        assert the_plan.consistent
        assert the_plan.total == len(expected_dois(fake, [("type", "journal-article")]))
        assert len(the_plan.shards) >= the_plan.total // 400
        assert all((s.count or 0) <= 400 for s in the_plan.shards)
        assert the_plan.shards[0].start is None and the_plan.shards[-1].end is None
        for before, after in zip(the_plan.shards, the_plan.shards[1:], strict=False):
            assert before.end is not None and after.start is not None
            assert (after.start - before.end).days == 1
        # Each shard's own count is what Crossref says for its window.
        for shard in the_plan.shards[:3]:
            assert await query.filter(shard.filters()).count() == shard.count
    again = Plan.from_json(the_plan.to_json())
    assert again == the_plan
    with pytest.raises(ValidationError, match="no shard"):
        the_plan.shard(9999)
    with pytest.raises(ValidationError):
        Plan.from_json("{}")


async def test_plan_costs_two_requests_and_one_count_per_split() -> None:
    # Planning shares the list pool with the pages (3 requests/s under polite-2026): on a
    # small harvest every planning request is a page not fetched.
    fake = FakeCrossref(works=10_000, seed=4, limits="fast-50")
    async with client(fake) as cr:
        fake.stats.reset()
        the_plan = await plan(cr.works)
    splits = len(the_plan.shards) - 1  # a binary split makes one shard two
    assert the_plan.consistent and the_plan.total == 10_000
    assert fake.stats.total_requests == 2 + splits
    # The default target is an eighth of the total but at least 2,500: fewer, fuller shards
    # (a 1,250-record shard costs two requests for 1.25 pages of records).
    counts = [s.count or 0 for s in the_plan.shards]
    assert max(counts) <= 2_500 < sum(counts) and any(c > 2_000 for c in counts)


async def test_plan_splits_where_the_records_are_not_where_the_bounds_are() -> None:
    fake = FakeCrossref(works=10_000, seed=4, limits="fast-50")
    async with client(fake) as cr:
        unbounded = await plan(cr.works)
        fake.stats.reset()
        bounded = await plan(cr.works.filter(from_created_date="1900", until_created_date="2100"))
    # Same cost and same split points: a wide bound adds no empty shards.
    assert fake.stats.total_requests == 2 + len(bounded.shards) - 1
    assert [s.count for s in bounded.shards] == [s.count for s in unbounded.shards]
    assert [s.end for s in bounded.shards[:-1]] == [s.end for s in unbounded.shards[:-1]]
    first, last = bounded.shards[0].start, bounded.shards[-1].end
    assert first is not None and last is not None
    assert (first.isoformat(), last.isoformat()) == ("1900-01-01", "2100-12-31")


async def test_plan_respects_the_querys_own_created_dates() -> None:
    fake = FakeCrossref(works=3000, seed=1, limits="fast-50")
    async with client(fake) as cr:
        query = cr.works.filter(from_created_date="2010", until_created_date="2015-06")
        the_plan = await plan(query, target=200)
    assert the_plan.consistent
    assert (
        the_plan.shards[0].start is not None
        and the_plan.shards[0].start.isoformat() == "2010-01-01"
    )
    assert (
        the_plan.shards[-1].end is not None and the_plan.shards[-1].end.isoformat() == "2015-06-30"
    )
    assert not any("created" in v for k, v in the_plan.params if k == "filter")


@pytest.mark.parametrize("suffix", [".jsonl", ".jsonl.gz", ".jsonl.zst"])
async def test_harvest_writes_exactly_the_matching_set(tmp_path: Path, suffix: str) -> None:
    fake = FakeCrossref(works=2500, seed=2, limits="fast-50")
    out = tmp_path / f"works{suffix}"
    seen: list[Progress] = []
    async with client(fake) as cr:
        report = await harvest(
            cr,
            cr.works.filter(type="journal-article"),
            out=out,
            target=300,
            rows=100,
            on_progress=seen.append,
        )
    dois = written_dois(out)
    assert sorted(dois) == sorted(expected_dois(fake, [("type", "journal-article")]))
    assert len(dois) == len(set(dois)) == report.records == report.expected
    assert report.shards >= 5 and report.pages >= report.records // 100  # ceil(1447 / 300)
    assert report.output_bytes == out.stat().st_size
    assert not (tmp_path / f"works{suffix}.harvest").exists()
    assert seen and seen[-1].records == report.records and seen[-1].shards_done == report.shards
    if suffix == ".jsonl.gz":
        with gzip.open(out) as fh:
            assert fh.read(1) == b"{"


async def test_records_are_written_through_untouched(tmp_path: Path) -> None:
    fake = FakeCrossref(works=300, seed=4, limits="fast-50")
    out = tmp_path / "works.jsonl"
    async with client(fake) as cr:
        await harvest(cr, cr.works, out=out, rows=50)
    lines = out.read_bytes().splitlines()
    by_doi = {json.loads(line)["DOI"]: line for line in lines}
    async with fake.client() as http:
        body = (await http.get("/works", params={"rows": 300})).content
    items = decode_raw_page(body, message_type="work-list").items
    for raw in items[:50]:
        doi = json.loads(bytes(raw))["DOI"]
        assert by_doi[doi] == bytes(raw)


async def test_callback_sink(tmp_path: Path) -> None:
    fake = FakeCrossref(works=800, seed=5, limits="fast-50")
    got: dict[int, int] = {}

    async def sink(shard_id: int, records: Sequence[msgspec.Raw]) -> None:
        got[shard_id] = got.get(shard_id, 0) + len(records)

    async with client(fake) as cr:
        report = await harvest(cr, cr.works, sink=sink, target=200, rows=100)
    assert sum(got.values()) == report.records == 800
    assert len(got) == report.shards


async def test_harvest_survives_every_fault(tmp_path: Path) -> None:
    faults = Faults(
        error_rate=0.05,
        spurious_429_rate=0.05,
        reset_rate=0.04,
        truncate_rate=0.04,
        malformed_rate=0.04,
        only_lists=True,
        seed=11,
    )
    fake = FakeCrossref(works=3000, seed=6, faults=faults, limits=FAST_50_SHORT)
    out = tmp_path / "works.jsonl.gz"
    # A server this faulty (22% of list requests fail) would trip the breaker and spend the
    # retry budget, as it should; here the point is that no record is lost or doubled.
    policy = RetryPolicy(attempts=8, backoff=0.005, max_backoff=0.02, budget_ratio=1.0)
    async with client(fake, pacing=Pacing(breaker=Breaker(enabled=False)), retry=policy) as cr:
        report = await harvest(
            cr, cr.works.filter(has_references=True), out=out, target=250, rows=50
        )
    dois = written_dois(out)
    assert sorted(dois) == sorted(expected_dois(fake, [("has-references", "true")]))
    assert len(dois) == len(set(dois))
    stats = fake.stats.snapshot()
    assert stats["truncations"] > 0 and stats["resets"] > 0 and stats["server_errors"] > 0
    assert report.retries > 0
    # Broken transfers after the cursor moved were not retried blindly (that would skip a
    # page); new cursors continued from the last record written, so no shard was redone.
    assert report.shards_redone == 0


async def test_a_lost_cursor_is_replaced_without_loss(tmp_path: Path) -> None:
    now = [0.0]
    fake = FakeCrossref(works=600, seed=7, cursor_ttl=10.0, clock=lambda: now[0], limits="fast-50")
    out = tmp_path / "works.jsonl"
    slept: list[int] = []

    async def slow_sink(shard_id: int, records: Sequence[msgspec.Raw]) -> None:
        if not slept:
            slept.append(1)
            now[0] += 60.0  # the consumer dawdles: the cursor expires on the server

    async with client(fake) as cr:
        # One shard: one cursor walks all 600, and its second page finds it expired.
        report = await harvest(cr, cr.works, out=out, sink=slow_sink, rows=100, target=1000)
    assert sorted(written_dois(out)) == sorted(expected_dois(fake))
    assert fake.stats.snapshot()["cursor_invalid"] >= 1
    # A new cursor continued from the last record's created day: nothing was redone.
    assert report.shards_redone == 0
    assert report.records == 600


async def test_interrupted_harvest_resumes_without_loss_or_duplicates(tmp_path: Path) -> None:
    fake = FakeCrossref(works=1500, seed=8, limits="fast-50")
    out = tmp_path / "works.jsonl"
    calls = [0]

    class Boom(Exception):
        pass

    async def crashing_sink(shard_id: int, records: Sequence[msgspec.Raw]) -> None:
        calls[0] += 1
        if calls[0] == 7:
            raise Boom

    async with client(fake) as cr:
        query = cr.works.filter(type="journal-article")
        with pytest.raises(Boom):
            await harvest(
                cr, query, out=out, sink=crashing_sink, target=300, rows=100, concurrency=1
            )
        assert (tmp_path / "works.jsonl.harvest" / "plan.json").exists()
        with pytest.raises(HarvestStateError, match="resume"):
            await harvest(cr, query, out=out, target=300, rows=100)
        report = await harvest(cr, query, out=out, target=300, rows=100, resume=True)
    dois = written_dois(out)
    assert sorted(dois) == sorted(expected_dois(fake, [("type", "journal-article")]))
    assert report.records == len(dois)


async def test_incremental_since_and_state_file(tmp_path: Path) -> None:
    fake = FakeCrossref(works=2000, seed=9, limits="fast-50")
    state = tmp_path / "state.json"
    since = "2025-06-01"
    async with client(fake) as cr:
        report = await harvest(cr, cr.works, out=tmp_path / "a.jsonl", since=since, rows=200)
        assert report.records == len(expected_dois(fake, [("from-index-date", since)]))
        state.write_text(json.dumps({"since": since}))
        again = await harvest(cr, cr.works, out=tmp_path / "b.jsonl", state_file=state, rows=200)
    assert again.records == report.records
    assert json.loads(state.read_text())["since"] > since


async def test_one_shard_of_a_plan(tmp_path: Path) -> None:
    fake = FakeCrossref(works=1200, seed=10, limits="fast-50")
    async with client(fake) as cr:
        the_plan = await plan(cr.works, target=300)
        shard = the_plan.shards[1]
        report = await harvest(cr, the_plan, out=tmp_path / "one.jsonl", shard_ids=[shard.id])
    assert report.records == shard.count
    assert report.shards == 1


@pytest.mark.parametrize(
    ("shard_ids", "rule"),
    [
        ([], "shard_ids must name at least one shard; give None for all"),
        ((), "at least one shard"),
        ([1, 0, 1], "shard_ids names shard 1 more than once"),
        ([0, True], "a shard id must be a whole number"),
        ([-1], "a shard id must be a whole number, 0 or more"),
    ],
)
async def test_shard_ids_name_each_shard_once(
    tmp_path: Path, shard_ids: Sequence[int], rule: str
) -> None:
    # An empty list once meant "no shards" to the Harvester and "all shards" elsewhere.
    fake = FakeCrossref(works=600, seed=10, limits="fast-50")
    async with client(fake) as cr:
        the_plan = await plan(cr.works, target=300)
        planned = fake.stats.snapshot()["total_requests"]
        with pytest.raises(ValidationError, match=rule):
            await harvest(cr, cr.works, out=tmp_path / "q.jsonl", shard_ids=shard_ids)
        with pytest.raises(ValidationError, match=rule):
            await harvest(cr, the_plan, out=tmp_path / "p.jsonl", shard_ids=shard_ids)
        with pytest.raises(ValidationError, match=rule):
            Harvester(cr, the_plan, out=tmp_path / "h.jsonl", shard_ids=shard_ids)
    # Refused before planning or paging: not one request more than planning took.
    assert fake.stats.snapshot()["total_requests"] == planned


async def test_bad_harvest_arguments(tmp_path: Path) -> None:
    fake = FakeCrossref(works=10, limits="fast-50")
    async with client(fake) as cr:
        with pytest.raises(ValidationError, match="output"):
            await harvest(cr, cr.works)
        with pytest.raises(ValidationError, match="rows"):
            await harvest(cr, cr.works, out=tmp_path / "x.jsonl", rows=5000)
        with pytest.raises(ValidationError, match="target"):
            await plan(cr.works, target=0)


async def test_harvest_on_a_loopback_socket_with_limits(tmp_path: Path) -> None:
    fake = FakeCrossref(works=3000, seed=12, limits="fast-50", faults=Faults(latency=0.01))
    out = tmp_path / "works.jsonl"
    async with serve(fake) as url, Crossref(mailto=MAILTO, base_url=url) as cr:
        report = await harvest(cr, cr.works, out=out, target=500, rows=200)
        stats = cr.stats()
    assert sorted(written_dois(out)) == sorted(expected_dois(fake))
    assert report.rate_limited == 0
    assert fake.stats.snapshot()["total_429"] == 0
    assert max(fake.stats.snapshot()["max_in_flight_by_pool"].values()) <= 10
    assert stats["fast-array"].requests > 0


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "crossref_async", *args]


@pytest.mark.slow
def test_sigkill_at_random_points_then_resume(tmp_path: Path) -> None:
    """Kill the harvesting process several times; the resumed output is exactly the set."""
    # polite-2026's pools at 20 list requests a second instead of 3: the kills still land in
    # the middle of the harvest (each once that process has checkpointed a page), sooner.
    limits = Limits(
        single=Pool(rate=20, concurrency=3, name="polite-single"),
        list=Pool(rate=20, concurrency=3, name="polite-array"),
    )
    fake = FakeCrossref(works=4000, seed=13, limits=limits, faults=Faults(latency=0.02))
    out = tmp_path / "works.jsonl.gz"
    rng = random.Random(5)
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    with serve_in_thread(fake) as url:
        args = _cli(
            "harvest",
            "--base-url",
            url,
            "--mailto",
            MAILTO,
            "--out",
            str(out),
            "--rows",
            "100",
            "--shard-size",
            "500",
            "--resume",
            "--no-progress",
        )
        state = Path(str(out) + ".harvest")

        def checkpoints() -> dict[Path, int]:
            return {p: p.stat().st_mtime_ns for p in state.glob("shard-*.json")}

        kills = 0
        for _ in range(4):
            before = checkpoints()
            proc = subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            # Kill while shards are being written: once this process has checkpointed a page
            # (its plan made or read back), at a random moment after that.
            deadline = time.monotonic() + 60
            while proc.poll() is None and time.monotonic() < deadline:
                now = checkpoints()
                if any(before.get(p) != mtime for p, mtime in now.items()):
                    break
                time.sleep(0.02)
            time.sleep(rng.uniform(0.0, 0.3))
            if proc.poll() is None:
                proc.send_signal(signal.SIGKILL)
                kills += 1
            proc.communicate(timeout=30)
        final = subprocess.run(
            args, env=env, capture_output=True, text=True, timeout=300, check=False
        )
    assert final.returncode == 0, final.stderr
    assert kills >= 3
    dois = written_dois(out)
    assert len(dois) == len(set(dois))
    assert set(dois) == expected_dois(fake)


def test_cli_harvest_fake_count_and_plan(tmp_path: Path) -> None:
    out = tmp_path / "demo.jsonl"
    args = ("--filter", "type:journal-article")
    done = run_cli("harvest", *args, "--out", str(out), "--shard-size", "400", works=1500)
    assert done.returncode == 0, done.stderr
    assert "records/s" in done.stdout
    lines = out.read_bytes().splitlines()
    assert lines and all(json.loads(line)["type"] == "journal-article" for line in lines)
    count = run_cli("count", *args, works=1500)
    assert count.returncode == 0 and int(count.stdout) == len(lines)
    planned = run_cli("plan", "--shard-size", "300", works=1500)
    assert planned.returncode == 0, planned.stderr
    data = json.loads(planned.stdout)
    assert data["consistent"] and sum(s["count"] for s in data["shards"]) == 1500
    bad = run_cli("count", "--filter", "from-pub-dat:2020")
    assert bad.returncode == 2 and "from-pub-date" in bad.stderr


@pytest.mark.parametrize("suffix", [".jsonl.gz", ".jsonl.zst", ".jsonl"])
async def test_an_empty_result_is_still_a_valid_file(tmp_path: Path, suffix: str) -> None:
    fake = FakeCrossref(works=200, seed=14, limits="fast-50")
    out = tmp_path / f"none{suffix}"
    async with client(fake) as cr:
        report = await harvest(cr, cr.works.filter(from_created_date="2099"), out=out)
    assert report.records == 0 and report.verified
    assert list(iter_records(out)) == []
    if suffix == ".jsonl.gz":
        with gzip.open(out) as fh:  # a 0-byte file would fail here (and in gzip -t)
            assert fh.read() == b""
        assert out.stat().st_size > 0


async def test_reading_back_and_state(tmp_path: Path) -> None:
    fake = FakeCrossref(works=300, seed=15, limits="fast-50")
    out, state = tmp_path / "w.jsonl.zst", tmp_path / "state.json"
    assert read_state(state) is None
    async with client(fake) as cr:
        report = await harvest(cr, cr.works, out=out, state_file=state)
    assert report.verified and report.since is None
    works = [decode_item(line, Work) for line in iter_records(out)]
    assert len(works) == report.records == 300
    assert all(w.DOI for w in works)
    assert read_state(state) is not None


class _CountsPages(httpx.AsyncBaseTransport):
    """Counts the cursor pages asked for, to compare with the pages a sink has taken."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.asked = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if "cursor" in request.url.params:
            self.asked += 1
        return await self.inner.handle_async_request(request)


@pytest.mark.parametrize("room", [3, 100])
async def test_pages_in_memory_are_bounded_across_cursors(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, room: int
) -> None:
    monkeypatch.setattr(harvest_module, "PAGES_IN_MEMORY", room)
    fake = FakeCrossref(works=3000, seed=3, limits="unmetered")
    transport = _CountsPages(fake.transport())
    taken = 0
    most = 0

    async def sink(shard_id: int, records: Sequence[msgspec.Raw]) -> None:
        nonlocal taken, most
        most = max(most, transport.asked - taken)  # asked for or fetched, not yet written
        for _ in range(20):  # a slow writer: the other cursors run ahead if they may
            await anyio.lowlevel.checkpoint()
        taken += 1

    async with Crossref(mailto=MAILTO, transport=transport, retry=FAST_RETRY) as cr:
        report = await harvest(
            cr, cr.works, out=tmp_path / "w.jsonl", sink=sink, target=200, rows=100, concurrency=8
        )
    assert report.records == 3000 and report.verified
    if room == 3:
        assert most <= room + 1  # shard 0's opening page is fetched before the room exists
    else:
        assert most > 4  # without a bound, cursors run ahead of the writer: the test can fail
