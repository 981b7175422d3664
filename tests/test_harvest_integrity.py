"""A harvest's output in real operations: one writer, read back from disk, never destroyed,
state checked rather than trusted, and a clean stop on SIGTERM."""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anyio
import httpx
import msgspec
import pytest

from crossref_async import (
    Crossref,
    HarvestStateError,
    OutputError,
    OutputLockedError,
    RetryPolicy,
    ValidationError,
    VerificationError,
)
from crossref_async._lock import OutputLock, lock_path
from crossref_async._output import Manifest, UniqueKeys, inspect, manifest_path
from crossref_async._sinks import PartFile, read_records
from crossref_async.harvest import Plan, Progress, harvest, plan
from crossref_async.testing import FakeCrossref, Faults, serve_in_thread

MAILTO = "tests@example.org"
FAST_RETRY = RetryPolicy(attempts=8, backoff=0.005, max_backoff=0.02)


def client(fake: FakeCrossref | None = None, **kw: object) -> Crossref:
    kw.setdefault("retry", FAST_RETRY)
    if "transport" not in kw and fake is not None:
        kw["transport"] = fake.transport()
    return Crossref(mailto=MAILTO, **kw)  # type: ignore[arg-type]


def dois_of(path: Path) -> list[str]:
    return [json.loads(line)["DOI"].lower() for line in read_records(path)]


def corpus_dois(fake: FakeCrossref, filters: list[tuple[str, str]] | None = None) -> set[str]:
    # The selection the server makes, read from the corpus's DOI column: building every
    # record (as corpus.matching does) takes about 0.2 ms each.
    corpus = fake.corpus
    return {corpus.tables.columns.doi[i].lower() for i in corpus.search(filters or []).indexes}


class Rewriting(httpx.AsyncBaseTransport):
    """A transport in front of the simulator that rewrites some answers."""

    def __init__(
        self,
        inner: httpx.AsyncBaseTransport,
        rewrite: Callable[[httpx.Request, int, bytes], tuple[int, bytes] | None],
    ) -> None:
        self.inner = inner
        self.rewrite = rewrite

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        body = await response.aread()
        changed = self.rewrite(request, response.status_code, body)
        # aread() decoded the body, so the headers that described its encoding no longer hold.
        headers = [
            (k, v)
            for k, v in response.headers.items()
            if k.lower() not in ("content-length", "content-encoding")
        ]
        status, content = changed if changed is not None else (response.status_code, body)
        return httpx.Response(status, headers=headers, content=content)


# -- 1. one writer per output ----------------------------------------------------------------


async def test_a_second_harvest_on_the_same_output_is_refused(tmp_path: Path) -> None:
    fake = FakeCrossref(works=600, seed=21, limits="fast-50", faults=Faults(latency=0.02))
    out = tmp_path / "works.jsonl"
    first_page = anyio.Event()

    def progress(p: Progress) -> None:
        first_page.set()

    async with client(fake) as cr, anyio.create_task_group() as tg:
        result: dict[str, object] = {}

        async def first() -> None:
            result["report"] = await harvest(
                cr, cr.works, out=out, rows=50, target=200, on_progress=progress
            )

        tg.start_soon(first)
        await first_page.wait()
        requests_before = fake.stats.total_requests
        for resume in (False, True):
            with pytest.raises(OutputLockedError) as info:
                await harvest(cr, cr.works, out=out, rows=50, resume=resume)
            error = info.value
            assert error.path == str(out) and error.pid == os.getpid()
            assert error.since is not None and str(out) in str(error)
        # The refused runs sent nothing.
        assert fake.stats.total_requests - requests_before <= 2 * 4  # the first run's own
    report = result["report"]
    assert sorted(dois_of(out)) == sorted(corpus_dois(fake))
    assert report.records == 600  # type: ignore[attr-defined]
    assert not lock_path(out).exists()


def test_the_lock_refuses_another_process_and_dies_with_its_holder(tmp_path: Path) -> None:
    out = tmp_path / "works.jsonl"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from pathlib import Path; "
            "from crossref_async._lock import OutputLock; "
            f"lock = OutputLock(Path({str(out)!r})); lock.acquire(); "
            "print('locked', flush=True); time.sleep(600)",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
        with pytest.raises(OutputLockedError) as info:
            OutputLock(out).acquire()
        assert info.value.pid == holder.pid
        assert f"process {holder.pid}" in str(info.value)
    finally:
        holder.kill()  # as kill -9 would: no clean-up runs
        holder.wait()
        if holder.stdout is not None:
            holder.stdout.close()
    # The lock file is still there, but the lock went with its process.
    assert lock_path(out).exists()
    with OutputLock(out):
        pass
    assert not lock_path(out).exists()


async def test_shard_jobs_on_different_outputs_run_side_by_side(tmp_path: Path) -> None:
    fake = FakeCrossref(works=800, seed=22, limits="fast-50")
    async with client(fake) as cr:
        the_plan = await plan(cr.works, target=200)
        reports = {}

        async def job(shard: int) -> None:
            out = tmp_path / f"part-{shard}.jsonl"
            reports[shard] = await harvest(cr, the_plan, out=out, shard_ids=[shard])

        async with anyio.create_task_group() as tg:
            for s in the_plan.shards:
                tg.start_soon(job, s.id)
    dois = [d for s in the_plan.shards for d in dois_of(tmp_path / f"part-{s.id}.jsonl")]
    assert sorted(dois) == sorted(corpus_dois(fake))


# -- 2. verified on disk ---------------------------------------------------------------------


async def test_the_output_is_read_back_and_a_duplicate_is_caught(tmp_path: Path) -> None:
    fake = FakeCrossref(works=600, seed=23, limits="fast-50")
    async with client(fake) as cr:
        the_plan = await plan(cr.works, target=200)
    first, last = the_plan.shards[0], the_plan.shards[-1]
    stolen: list[bytes] = []

    def duplicate_across_shards(
        request: httpx.Request, status: int, body: bytes
    ) -> tuple[int, bytes] | None:
        # Each shard's own tally stays right (the last shard announces one more record and
        # gets it), but the record is one the first shard also has.
        flt = request.url.params.get("filter", "")
        if status != 200 or "cursor" not in request.url.params:
            return None
        data = json.loads(body)
        items = data["message"]["items"]
        if first.end is not None and f"until-created-date:{first.end}" in flt and items:
            stolen.append(json.dumps(items[0]).encode())
        opens_last = last.start is not None and f"from-created-date:{last.start}" in flt
        if opens_last and stolen and request.url.params["cursor"] == "*":
            items.append(json.loads(stolen[0]))
            data["message"]["total-results"] += 1
            return 200, json.dumps(data).encode()
        return None

    out = tmp_path / "works.jsonl"
    transport = Rewriting(fake.transport(), duplicate_across_shards)
    async with client(transport=transport) as cr:
        with pytest.raises(VerificationError) as info:
            await harvest(cr, the_plan, out=out, concurrency=1)
    error = info.value
    assert (error.records, error.unique, error.invalid) == (601, 600, 0)
    assert "601 records, 600 unique DOIs" in str(error)
    assert not out.exists()  # nothing published
    parts = list((tmp_path / "works.jsonl.harvest").glob("shard-*.jsonl"))
    assert len(parts) == len(the_plan.shards)  # every part kept


async def test_the_report_shows_what_the_file_holds(tmp_path: Path) -> None:
    fake = FakeCrossref(works=300, seed=24, limits="fast-50")
    out = tmp_path / "works.jsonl.gz"
    async with client(fake) as cr:
        report = await harvest(cr, cr.works, out=out)
    assert report.on_disk is not None
    assert (report.on_disk.records, report.on_disk.unique, report.on_disk.invalid) == (300, 300, 0)
    assert report.on_disk.bytes == out.stat().st_size
    assert "on disk    300 records, 300 unique DOIs, all valid JSON" in report.table()
    manifest = Manifest.load(manifest_path(out))
    assert manifest is not None and manifest.records == 300
    assert manifest.sha256 == inspect(out).sha256


def test_unique_keys_spill_to_disk_and_count_exactly(tmp_path: Path) -> None:
    keys = UniqueKeys(memory=100, buckets=8)
    for i in range(1000):
        keys.add(f"10.5555/{i % 700}")
    assert keys.count() == 700
    assert len(keys.duplicates) == 5


# -- 3. nothing overwritten without being asked ----------------------------------------------


async def test_a_plain_run_on_an_existing_output_is_refused_before_sending(
    tmp_path: Path,
) -> None:
    fake = FakeCrossref(works=200, seed=25, limits="fast-50")
    out = tmp_path / "works.jsonl"
    out.write_bytes(b'{"DOI": "10.5555/mine"}\n')
    async with client(fake) as cr:
        with pytest.raises(HarvestStateError) as info:
            await harvest(cr, cr.works, out=out)
        assert fake.stats.total_requests == 0
        assert "--resume" in str(info.value) and "--overwrite" in str(info.value)
        assert out.read_bytes() == b'{"DOI": "10.5555/mine"}\n'
        report = await harvest(cr, cr.works, out=out, overwrite=True)
    assert report.records == 200 and len(dois_of(out)) == 200


async def test_daily_incremental_runs_update_the_output_in_place(tmp_path: Path) -> None:
    fake = FakeCrossref(works=900, seed=26, limits="fast-50")
    out, state = tmp_path / "works.jsonl.zst", tmp_path / "state.json"
    query_filter = [("type", "journal-article")]
    async with client(fake) as cr:
        query = cr.works.filter(type="journal-article")
        day1 = await harvest(cr, query, out=out, state_file=state, target=200)
        assert day1.records == len(corpus_dois(fake, query_filter))
        # Overnight some records are re-deposited.
        articles = sorted(corpus_dois(fake, query_filter))[:40]
        when = dt.datetime.combine(day1.since or dt.date.today(), dt.time(12), dt.timezone.utc)
        fake.corpus.reindex(articles, at=when + dt.timedelta(days=1))
        state.write_text(json.dumps({"since": (when + dt.timedelta(days=1)).date().isoformat()}))
        day2 = await harvest(cr, query, out=out, state_file=state)
    assert day2.records == 40
    assert (day2.kept, day2.replaced) == (day1.records - 40, 40)
    dois = dois_of(out)
    assert sorted(dois) == sorted(corpus_dois(fake, query_filter))  # nothing lost or doubled
    # The updated copies are the new ones.
    indexed = {
        json.loads(line)["DOI"].lower(): json.loads(line)["indexed"]["date-parts"][0]
        for line in read_records(out)
    }
    day = (when + dt.timedelta(days=1)).date()
    assert all(indexed[d.lower()] == [day.year, day.month, day.day] for d in articles)
    manifest = Manifest.load(manifest_path(out))
    assert manifest is not None and manifest.records == len(dois)
    assert [h["records"] for h in manifest.history] == [day1.records, 40]


async def test_an_update_must_be_of_the_same_query(tmp_path: Path) -> None:
    fake = FakeCrossref(works=300, seed=27, limits="fast-50")
    out = tmp_path / "works.jsonl"
    async with client(fake) as cr:
        await harvest(cr, cr.works.filter(type="journal-article"), out=out)
        before = out.read_bytes()
        fake.stats.reset()
        with pytest.raises(HarvestStateError, match="another query"):
            await harvest(cr, cr.works.filter(type="book"), out=out, since="2026-01-01")
        assert fake.stats.total_requests == 0
    assert out.read_bytes() == before


# -- 4. a finished harvest stays finished ----------------------------------------------------


async def test_resuming_a_finished_harvest_verifies_and_sends_nothing(tmp_path: Path) -> None:
    fake = FakeCrossref(works=400, seed=28, limits="fast-50")
    out = tmp_path / "works.jsonl.gz"
    async with client(fake) as cr:
        query = cr.works.filter(type="journal-article")
        done = await harvest(cr, query, out=out, target=100)
        fake.stats.reset()
        with pytest.raises(HarvestStateError, match="another query"):
            await harvest(cr, query.filter(from_pub_date="1000"), out=out, resume=True)
        # The same query, written differently, is the same harvest.
        again = await harvest(cr, query, out=out, resume=True)
        assert fake.stats.total_requests == 0 and again.already_complete
        assert again.on_disk is not None and again.on_disk.records == done.records
        assert "already complete" in again.table()
        # A damaged output is not passed as finished.
        data = bytearray(out.read_bytes())
        data[-30] ^= 0x01
        out.write_bytes(bytes(data))
        with pytest.raises(VerificationError, match="no longer holds"):
            await harvest(cr, query, out=out, resume=True)


# -- 9. state checked, not trusted -----------------------------------------------------------


async def test_a_done_part_corrupted_in_place_is_redone(tmp_path: Path) -> None:
    fake = FakeCrossref(works=600, seed=29, limits="fast-50")
    out = tmp_path / "works.jsonl"
    async with client(fake) as cr:
        the_plan = await plan(cr.works, target=200)
        await harvest(cr, the_plan, out=out, shard_ids=[0])
        part = tmp_path / "works.jsonl.harvest" / "shard-0000.jsonl"
        lines = part.read_bytes().splitlines(keepends=True)
        # Same size, one DOI repeated: a size check alone would accept it.
        dois = [json.loads(line)["DOI"].encode() for line in lines]
        i, j = next(
            (i, j)
            for i in range(len(dois))
            for j in range(i + 1, len(dois))
            if len(dois[i]) == len(dois[j])
        )
        lines[j] = lines[j].replace(dois[j], dois[i])
        size = part.stat().st_size
        part.write_bytes(b"".join(lines))
        assert part.stat().st_size == size
        report = await harvest(cr, the_plan, out=out, resume=True)
    assert report.shards_redone == 1
    assert sorted(dois_of(out)) == sorted(corpus_dois(fake))


def test_a_plan_that_lost_a_shard_is_refused() -> None:
    shards: list[dict[str, Any]] = [
        {"id": 0, "start": None, "end": "2010-12-31", "count": 10},
        {"id": 1, "start": "2011-01-01", "end": "2015-12-31", "count": 10},
        {"id": 2, "start": "2016-01-01", "end": None, "count": 10},
    ]
    text = {"path": "/works", "params": [], "total": 30, "shards": shards}
    assert len(Plan.from_json(json.dumps(text)).shards) == 3
    with pytest.raises(ValidationError, match="do not cover the query"):
        Plan.from_json(json.dumps({**text, "shards": [shards[0], shards[2]], "total": 20}))
    with pytest.raises(ValidationError, match="add up to 20 but its total is 30"):
        Plan.from_json(
            json.dumps({**text, "shards": [shards[0], shards[1], {**shards[2], "count": 0}]})
        )
    with pytest.raises(ValidationError, match="same id"):
        Plan.from_json(
            json.dumps({**text, "shards": [shards[0], {**shards[1], "id": 0}, shards[2]]})
        )


async def test_the_state_records_the_endpoint_and_a_canonical_query(tmp_path: Path) -> None:
    fake = FakeCrossref(works=400, seed=30, limits="fast-50")
    out = tmp_path / "works.jsonl"
    async with client(fake) as cr:
        query = cr.works.filter(type="journal-article", from_pub_date="1990")
        the_plan = await plan(query, target=100)
        await harvest(cr, the_plan, out=out, shard_ids=[0])
        # Same filters in another order: the same query, so it resumes.
        reordered = cr.works.filter(from_pub_date="1990").filter(type="journal-article")
        report = await harvest(cr, reordered, out=out, resume=True, shard_ids=[1])
        assert report.records == the_plan.shards[1].count
    elsewhere = client(fake, base_url="http://127.0.0.1:9")
    async with elsewhere as other:
        with pytest.raises(HarvestStateError, match=r"started against https://api\.crossref\.org"):
            await harvest(other, the_plan, out=out, resume=True)


async def test_a_checkpoint_with_wrong_types_is_an_error_naming_it(tmp_path: Path) -> None:
    fake = FakeCrossref(works=300, seed=31, limits="fast-50")
    out = tmp_path / "works.jsonl"
    async with client(fake) as cr:
        the_plan = await plan(cr.works, target=100)
        await harvest(cr, the_plan, out=out, shard_ids=[0])
        cp = tmp_path / "works.jsonl.harvest" / "shard-0001.json"
        cp.write_text(json.dumps({"shard": 1, "written": "12", "size": None}))
        with pytest.raises(HarvestStateError, match=r"shard-0001\.json"):
            await harvest(cr, the_plan, out=out, resume=True)


async def test_a_cursor_refused_as_not_valid_is_replaced(tmp_path: Path) -> None:
    fake = FakeCrossref(works=500, seed=32, limits="fast-50")
    refused: list[str] = []

    def expire_once(request: httpx.Request, status: int, body: bytes) -> tuple[int, bytes] | None:
        cursor = request.url.params.get("cursor")
        if cursor and cursor != "*" and not refused:
            refused.append(cursor)
            detail = {"type": "cursor-not-valid", "value": cursor, "message": "Cursor expired"}
            doc = {"status": "failed", "message-type": "validation-failure", "message": [detail]}
            return 400, json.dumps(doc).encode()
        return None

    out = tmp_path / "works.jsonl"
    async with client(transport=Rewriting(fake.transport(), expire_once)) as cr:
        report = await harvest(cr, cr.works, out=out, rows=100)
    assert refused and report.records == 500
    assert sorted(dois_of(out)) == sorted(corpus_dois(fake))


async def test_records_that_are_not_utf8_are_kept_repaired_and_reported(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    fake = FakeCrossref(works=200, seed=33, limits="fast-50")

    def break_one_title(
        request: httpx.Request, status: int, body: bytes
    ) -> tuple[int, bytes] | None:
        if status == 200 and b'"title":["' in body:
            return 200, body.replace(b'"title":["', b'"title":["\xff\xfe', 1)
        return None

    out = tmp_path / "works.jsonl"
    async with client(transport=Rewriting(fake.transport(), break_one_title)) as cr:
        report = await harvest(cr, cr.works, out=out, rows=50)
    assert report.repaired >= 1 and report.records == 200
    assert "not UTF-8" in caplog.text
    text = out.read_bytes().decode("utf-8")  # the whole output is valid UTF-8
    assert "\ufffd" in text
    assert len(dois_of(out)) == 200


async def test_the_joined_output_is_synced_before_it_replaces_anything(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:

    events: list[str] = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd: int) -> None:
        events.append(f"fsync:{os.readlink(f'/proc/self/fd/{fd}')}")
        real_fsync(fd)

    def replace(src: object, dst: object) -> None:
        events.append(f"replace:{src}")
        real_replace(src, dst)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "fsync", fsync)  # the os module the harvester and the rest use
    monkeypatch.setattr(os, "replace", replace)
    fake = FakeCrossref(works=100, seed=34, limits="fast-50")
    out = tmp_path / "works.jsonl"
    async with client(fake) as cr:
        await harvest(cr, cr.works, out=out)
    tmp = f"{out}.tmp"
    assert events.index(f"replace:{tmp}") > events.index(f"fsync:{tmp}")


# -- disks and folders -------------------------------------------------------------------------


async def test_output_problems_are_clear_errors_before_any_request(tmp_path: Path) -> None:
    fake = FakeCrossref(works=100, seed=35, limits="fast-50")
    (tmp_path / "afile").write_text("x")
    async with client(fake) as cr:
        with pytest.raises(OutputError, match="is a folder"):
            await harvest(cr, cr.works, out=tmp_path)
        with pytest.raises(OutputError, match="afile"):
            await harvest(cr, cr.works, out=tmp_path / "afile" / "works.jsonl")
        with pytest.raises(OutputError, match="afile"):
            await harvest(
                cr, cr.works, out=tmp_path / "w.jsonl", state_file=tmp_path / "afile" / "s.json"
            )
    assert fake.stats.total_requests == 0


async def test_a_full_disk_is_an_output_error_and_the_harvest_resumes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = FakeCrossref(works=400, seed=36, limits="fast-50")
    out = tmp_path / "works.jsonl"
    real_append = PartFile.append
    calls = [0]

    def append(self: PartFile, records: list[msgspec.Raw]) -> int:
        calls[0] += 1
        if calls[0] == 3:
            raise OSError(28, "No space left on device")
        return real_append(self, records)

    monkeypatch.setattr(PartFile, "append", append)
    async with client(fake) as cr:
        with pytest.raises(OutputError, match="No space left on device") as info:
            await harvest(cr, cr.works, out=out, rows=50, concurrency=1)
        assert "resume" in str(info.value)
        report = await harvest(cr, cr.works, out=out, rows=50, resume=True)
    assert report.records + 0 <= 400 and sorted(dois_of(out)) == sorted(corpus_dois(fake))


# -- 7. signals --------------------------------------------------------------------------------


@pytest.mark.slow
def test_sigterm_checkpoints_says_how_to_resume_and_exits_143(tmp_path: Path) -> None:
    fake = FakeCrossref(works=3000, seed=37, limits="fast-50", faults=Faults(latency=0.05))
    out = tmp_path / "works.jsonl.gz"
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    with serve_in_thread(fake) as url:
        args = [
            "harvest", "--base-url", url, "--mailto", MAILTO, "--out", str(out),
            "--rows", "100", "--shard-size", "500", "--no-progress",
        ]  # fmt: skip
        proc = subprocess.Popen(
            [sys.executable, "-m", "crossref_async", *args],
            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        state = Path(str(out) + ".harvest")
        deadline = time.monotonic() + 60
        while proc.poll() is None and not any(state.glob("shard-*.json")):
            assert time.monotonic() < deadline
            time.sleep(0.02)
        proc.send_signal(signal.SIGTERM)
        _, stderr = proc.communicate(timeout=60)
        assert proc.returncode == 143, stderr
        lines = [line for line in stderr.splitlines() if line.strip()]
        assert len(lines) == 1 and "stopped by SIGTERM" in lines[0]
        assert "--resume" in lines[0] and str(out) in lines[0]
        assert not lock_path(out).exists()
        done = subprocess.run(
            [sys.executable, "-m", "crossref_async", *args, "--resume"],
            env=env, capture_output=True, text=True, timeout=300, check=False,
        )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert sorted(dois_of(out)) == sorted(corpus_dois(fake))


@pytest.mark.slow
def test_an_overlapping_cli_run_is_refused_with_status_3(tmp_path: Path) -> None:
    fake = FakeCrossref(works=2000, seed=38, limits="fast-50", faults=Faults(latency=0.05))
    out = tmp_path / "works.jsonl"
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    with serve_in_thread(fake) as url:
        args = [
            sys.executable, "-m", "crossref_async", "harvest", "--base-url", url,
            "--mailto", MAILTO, "--out", str(out), "--rows", "100", "--no-progress",
        ]  # fmt: skip
        first = subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 60
        while not lock_path(out).exists() or not lock_path(out).read_text():
            assert time.monotonic() < deadline and first.poll() is None
            time.sleep(0.02)
        second = subprocess.run(
            [*args, "--resume"], env=env, capture_output=True, text=True, timeout=60, check=False
        )
        first.communicate(timeout=300)
    assert first.returncode == 0
    assert second.returncode == 3
    lines = second.stderr.strip().splitlines()
    assert len(lines) == 1 and "another harvest is writing" in lines[0]
    assert f"process {first.pid}" in lines[0] and str(out) in lines[0]
    dois = dois_of(out)
    assert len(dois) == len(set(dois)) == 2000
