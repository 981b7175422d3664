"""A fresh harvest's opening (a sample and the first page, no counting phase) and the splits
that keep every cursor busy at the end: exactly once, resumable, verified, whatever the shape."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import anyio
import anyio.lowlevel
import anyio.to_thread
import httpx
import msgspec
import pytest

import crossref_async.harvest as harvest_module
from crossref_async import Crossref, CrossrefError, RetryPolicy
from crossref_async._opening import Opening
from crossref_async._shards import Plan, Shard, cut_at_sample
from crossref_async._sinks import Checkpoint, read_records
from crossref_async.harvest import Harvester, harvest
from crossref_async.models import Page, WorkKey
from crossref_async.testing import FakeCrossref

MAILTO = "tests@example.org"
FAST_RETRY = RetryPolicy(attempts=8, backoff=0.005, max_backoff=0.02)


def client(fake: FakeCrossref) -> Crossref:
    return Crossref(mailto=MAILTO, transport=fake.transport(), retry=FAST_RETRY)


def expected_dois(fake: FakeCrossref, filters: Sequence[tuple[str, str]] = ()) -> set[str]:
    corpus = fake.corpus
    return {corpus.tables.columns.doi[i].lower() for i in corpus.search(filters).indexes}


def written(path: Path) -> list[str]:
    return [json.loads(line)["DOI"].lower() for line in read_records(path)]


def requests(fake: FakeCrossref) -> list[dict[str, str]]:
    """The list requests the simulator received, in order, as parameter maps."""
    return [dict(parse_qsl(urlsplit(r.target).query)) for r in fake.stats.log if r.kind == "list"]


def kind(params: dict[str, str]) -> str:
    if "sample" in params:
        return "sample"
    if params.get("rows") == "0":
        return "count"
    if "cursor" in params:
        return "page"
    return "other"  # an edge (rows=1, sorted) of the count-based planner


# -- the opening ------------------------------------------------------------------------------


@pytest.mark.parametrize("works", [300, 2500, 9000])
async def test_a_filtered_harvest_opens_with_a_sample_and_sends_no_count(
    tmp_path: Path, works: int
) -> None:
    fake = FakeCrossref(works=works, seed=5, limits="fast-50")
    out = tmp_path / "articles.jsonl"
    async with client(fake) as cr:
        report = await harvest(cr, cr.works.filter(type="journal-article"), out=out, rows=200)
    want = expected_dois(fake, [("type", "journal-article")])
    dois = written(out)
    assert sorted(dois) == sorted(want) and len(dois) == len(set(dois))
    assert report.verified and report.records == len(want)
    kinds = [kind(p) for p in requests(fake)]
    # The sample first, and it alone plans: then pages of records, and a count only for a
    # window that narrowed after pages from a wider one (a split shard): no edge.
    assert kinds[0] == "sample" and set(kinds[1:]) <= {"page", "count"}
    assert kinds.count("count") <= report.shards
    if report.shards > 1:
        # No page of the whole query: every shard's cursor walks its own window from its
        # first page, so no window ever narrows after the opening.
        pages = [p for p in requests(fake) if kind(p) == "page"]
        assert all("created-date" in p["filter"] for p in pages)


async def test_a_bare_harvest_counts_once_because_its_sample_cannot_tell(tmp_path: Path) -> None:
    fake = FakeCrossref(works=1200, seed=6, limits="fast-50")
    out = tmp_path / "all.jsonl.gz"
    async with client(fake) as cr:
        report = await harvest(cr, cr.works, out=out, rows=100)
    assert sorted(written(out)) == sorted(expected_dois(fake))
    assert report.verified
    kinds = [kind(p) for p in requests(fake)]
    # The count first (then the opening page may go before the sample): one count in all.
    assert kinds[0] == "count" and kinds.count("sample") == 1
    assert kinds.count("count") <= 1 + report.shards
    assert "other" not in kinds


async def test_the_first_page_is_shard_zeros_and_its_records_past_the_cut_are_left_to_the_next(
    tmp_path: Path,
) -> None:
    # 3 shards of ~200 records and pages of 300: the opening page holds shard 0's records and
    # some of shard 1's; each is written once, by the shard whose days hold it.
    # (A bare /works: a filtered harvest is planned by its sample before any page goes.)
    fake = FakeCrossref(works=700, seed=7, limits="fast-50")
    out = tmp_path / "w.jsonl"
    async with client(fake) as cr:
        report = await harvest(cr, cr.works, out=out, concurrency=3, rows=300)
    want = expected_dois(fake)
    assert report.shards >= 2 and report.verified
    assert sorted(written(out)) == sorted(want)
    pages = [p for p in requests(fake) if kind(p) == "page"]
    assert len(pages) <= report.shards + 2  # the opening page is used, not thrown away


async def test_shard_ids_with_a_query_plan_by_counts_the_same_every_time(tmp_path: Path) -> None:
    fake = FakeCrossref(works=2000, seed=8, limits="fast-50")
    async with client(fake) as cr:
        query = cr.works.filter(type="journal-article")
        first = await harvest(cr, query, out=tmp_path / "a.jsonl", target=300, shard_ids=[0])
    assert first.shards == 1
    assert "sample" not in {kind(p) for p in requests(fake)}


def filtered_opening(session: object, *, rows: int) -> Opening:
    """The opening of a filtered harvest on 3 cursors, over a stand-in session."""
    return Opening(
        session,  # type: ignore[arg-type]
        "/works",
        (("filter", "type:journal-article"),),
        None,
        None,
        rows=rows,
        workers=3,
        fallback=lambda: None,  # type: ignore[arg-type,return-value]
    )


class _FailingSession:
    """A session whose pages fail: the opening page's failure is not the harvest's."""

    async def page(self, *args: object, **kw: object) -> Page[msgspec.Raw]:
        raise CrossrefError("the server went away")


async def test_a_failed_opening_page_leaves_shard_zero_to_its_own_cursor() -> None:
    opening = filtered_opening(_FailingSession(), rows=100)
    with pytest.raises(CrossrefError):
        await opening.plan()  # the sample failed: the harvest fails as a planner would
    await opening.fetch_first()
    assert await opening.first_page() is None


class _SampleSession:
    """A session that answers the sample with 100 records, one a day from 2020-01-01, and
    whose budget holds the third request asked for back by ``wait`` seconds."""

    def __init__(self, wait: float) -> None:
        self.wait = wait

    async def page(self, *args: object, **kw: object) -> Page[WorkKey]:
        days = [dt.date(2020, 1, 1) + dt.timedelta(days=i) for i in range(100)]
        body = [
            {"DOI": f"10.5555/{i}", "created": {"date-parts": [[d.year, d.month, d.day]]}}
            for i, d in enumerate(days)
        ]
        items = tuple(msgspec.json.decode(msgspec.json.encode(r), type=WorkKey) for r in body)
        return Page(items=items, total_results=3000)

    def start_offsets(self, kind: str, n: int) -> list[float]:
        return [0.0, 0.0, self.wait, self.wait][:n]


@pytest.mark.parametrize("wait", [0.0, 1.02])
async def test_a_cursor_the_budget_holds_back_gets_a_smaller_shard(wait: float) -> None:
    opening = filtered_opening(_SampleSession(wait), rows=1000)
    plan = await opening.plan()
    counts = [s.count or 0 for s in plan.shards]
    assert sum(counts) == 3000 and len(counts) == 3
    if wait == 0.0:
        assert max(counts) - min(counts) <= 60  # equal, to the sample's day
    else:
        # A second's wait is about 770 records of a 1.3 s page: the third shard is that
        # much smaller, the others share it, and all three would end together.
        assert counts[2] < counts[0] - 400 and counts[2] < counts[1] - 400
    days = [(s.start, s.end) for s in plan.shards]
    assert days[0][0] is None and days[-1][1] is None  # every created day in some shard


# -- cutting at the sample ------------------------------------------------------------------


def test_cuts_follow_the_samples_quantiles_and_counts_add_up() -> None:
    days = [dt.date(2020, 1, 1)] * 60 + [dt.date(2021, 1, 1) + dt.timedelta(d) for d in range(40)]
    cuts, counts = cut_at_sample(days, 4, 10_000)
    assert sum(counts) == 10_000
    assert cuts == sorted(set(cuts)) and all(c > dt.date(2020, 1, 1) for c in cuts)
    # 60% of the sample is one day: it cannot be split, the rest is.
    assert counts[0] == 6_000 and len(counts) == len(cuts) + 1


# -- splits -------------------------------------------------------------------------------------

#: Days to split at: every tenth day of the simulator's years.
SPREAD = tuple(dt.date(2000, 1, 1) + dt.timedelta(days=10 * i) for i in range(1000))


async def test_idle_cursors_split_the_running_shard_and_every_record_is_written_once(
    tmp_path: Path,
) -> None:
    fake = FakeCrossref(works=3000, seed=9, limits="fast-50")
    out = tmp_path / "w.jsonl.zst"
    async with client(fake) as cr:
        whole = Plan("/works", (), (Shard(0, None, None, 3000),), 3000, "2026-12-04T00:00:00+00:00")
        harvester = Harvester(
            cr,
            whole,
            out=out,
            rows=100,
            concurrency=4,
            known_days=SPREAD,
            keep_parts=True,
        )
        report = await harvester.run()
    assert sorted(written(out)) == sorted(expected_dois(fake))
    # No split ever hands a shard records it already wrote (nothing had to be redone).
    assert report.verified and report.shards > 1 and report.shards_redone == 0
    # The plan on disk is the split one, and it still tiles the created-date axis.
    saved = Plan.from_json((Path(str(out) + ".harvest") / "plan.json").read_text())
    assert len(saved.shards) == report.shards and saved.total == 3000
    # Every split shard's window was walked by a cursor of its own.
    windows = {p.get("filter", "") for p in requests(fake) if kind(p) == "page"}
    assert len(windows) >= report.shards


async def test_a_split_harvest_stopped_midway_resumes_exactly(tmp_path: Path) -> None:
    fake = FakeCrossref(works=3000, seed=10, limits="fast-50")
    out = tmp_path / "w.jsonl"
    whole = Plan("/works", (), (Shard(0, None, None, 3000),), 3000, "2026-12-04T00:00:00+00:00")
    pages = 0

    async def stop_after_a_while(shard_id: int, records: Sequence[msgspec.Raw]) -> None:
        nonlocal pages
        pages += 1
        if pages == 12:
            raise RuntimeError("killed")

    async with client(fake) as cr:
        first = Harvester(
            cr,
            whole,
            out=out,
            sink=stop_after_a_while,
            rows=100,
            concurrency=4,
            known_days=SPREAD,
        )
        with pytest.raises(RuntimeError, match="killed"):
            await first.run()
        saved = Plan.from_json((Path(str(out) + ".harvest") / "plan.json").read_text())
        assert len(saved.shards) > 1  # it had split before it stopped
        again = await Harvester(cr, whole, out=out, rows=100, resume=True).run()
    assert again.verified
    dois = written(out)
    assert sorted(dois) == sorted(expected_dois(fake)) and len(dois) == len(set(dois))


def test_an_older_checkpoint_without_the_new_counts_still_loads(tmp_path: Path) -> None:
    path = tmp_path / "shard-0001.json"
    path.write_text(json.dumps({"shard": 1, "written": 5, "size": 10, "resume_from": "2020-01-01"}))
    cp = Checkpoint.load(path, 1)
    assert (cp.written, cp.recount) == (5, False)


class _LosingTheOpening(httpx.AsyncBaseTransport):
    """Forwards to the simulator and drops the 2nd record of the opening page (the whole
    query's first page: no created-date window yet), as a server that lost it would."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.dropped: list[str] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        params = request.url.params
        opening = params.get("cursor") == "*" and "created-date" not in params.get("filter", "")
        if not opening or self.dropped or response.status_code != 200:
            return response
        body = json.loads(await response.aread())
        self.dropped.append(body["message"]["items"].pop(1)["DOI"].lower())
        headers = {k: v for k, v in response.headers.items() if k.lower().startswith("x-")}
        return httpx.Response(200, json=body, headers=headers)


@pytest.mark.parametrize("cursors", [1, 4])
async def test_a_record_lost_from_the_opening_page_is_noticed_and_fetched(
    tmp_path: Path, cursors: int
) -> None:
    fake = FakeCrossref(works=2000, seed=11, limits="fast-50")
    lossy = _LosingTheOpening(fake.transport())
    out = tmp_path / "w.jsonl"
    async with Crossref(mailto=MAILTO, transport=lossy, retry=FAST_RETRY) as cr:
        # A bare /works: only its opening page is fetched before the plan.
        report = await harvest(cr, cr.works, out=out, rows=100, concurrency=cursors)
    want = expected_dois(fake)
    assert lossy.dropped and lossy.dropped[0] in want
    assert report.verified
    dois = written(out)
    assert sorted(dois) == sorted(want) and len(dois) == len(set(dois))
    if cursors == 1:
        # One shard: the opening page's cursor goes on, and its announced total (the whole
        # query's) tells the record is missing: the shard is walked again.
        assert report.shards == 1 and report.shards_redone == 1
    # With several shards shard 0's window is counted whole after the opening page, so the
    # missing record fails its verification and the shard is walked again, or a split has
    # handed its day to a new cursor that fetches it: either way nothing is missing.


class _CountsAfterTheirPage(httpx.AsyncBaseTransport):
    """Answers the count of a shard's window (``rows=0`` within created-date bounds) only
    once a cursor of that window has asked for a page: a cursor that waits for its count
    before paging would wait for ever (the hang guard turns that into a failure)."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.paged: dict[str, anyio.Event] = {}
        self.held = 0

    def _paged(self, window: str) -> anyio.Event:
        return self.paged.setdefault(window, anyio.Event())

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        params = dict(request.url.params)
        bounds = [f for f in params.get("filter", "").split(",") if "created-date" in f]
        window = next((f for f in bounds if f.startswith("until-")), None)
        if window is not None and "cursor" in params:
            self._paged(window).set()
        elif window is not None and params.get("rows") == "0":
            self.held += 1
            await self._paged(window).wait()
        return await self.inner.handle_async_request(request)


async def test_a_narrowed_window_is_counted_beside_its_cursors_first_page(tmp_path: Path) -> None:
    fake = FakeCrossref(works=2000, seed=12, limits="fast-50")
    transport = _CountsAfterTheirPage(fake.transport())
    out = tmp_path / "w.jsonl"
    async with Crossref(mailto=MAILTO, transport=transport, retry=FAST_RETRY) as cr:
        with anyio.fail_after(60):  # a hang guard: nothing here is timed
            report = await harvest(cr, cr.works, out=out, rows=100, concurrency=3)
    assert transport.held >= 1  # shard 0's window was counted after its opening page
    assert report.verified
    dois = written(out)
    assert sorted(dois) == sorted(expected_dois(fake)) and len(dois) == len(set(dois))


async def test_a_narrowed_windows_count_is_asked_for_after_its_page(tmp_path: Path) -> None:
    # The page has the earlier place in the budget: the cursor's walk is what the harvest
    # waits for, and a count answers in a fraction of a page's time.
    fake = FakeCrossref(works=2000, seed=12, limits="fast-50")
    out = tmp_path / "w.jsonl"
    async with client(fake) as cr:
        report = await harvest(cr, cr.works, out=out, rows=100, concurrency=3)
    assert report.verified
    sent = requests(fake)
    counts = [
        i
        for i, p in enumerate(sent)
        if kind(p) == "count" and "until-created-date" in p.get("filter", "")
    ]
    assert counts  # shard 0's window narrowed after the opening page
    for i in counts:
        window = next(f for f in sent[i]["filter"].split(",") if f.startswith("until-"))
        page = next(
            j
            for j, p in enumerate(sent)
            if kind(p) == "page" and p["cursor"] == "*" and window in p.get("filter", "")
        )
        assert page < i


# -- the cursors start in plan order -----------------------------------------------------------


async def test_shards_start_in_plan_order_though_shard_zero_is_ready_last(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The shards' sizes are cut for their start order (a later start, a smaller shard): the
    # first request of each waits for the one before, whichever shard got ready first.
    real_run_sync = anyio.to_thread.run_sync
    others_ready = [0]

    async def run_sync(func: Any, *args: Any, **kw: Any) -> Any:
        if func is not harvest_module._written_in:
            return await real_run_sync(func, *args, **kw)
        if not args[0].path.name.startswith("shard-0000"):
            result = await real_run_sync(func, *args, **kw)
            others_ready[0] += 1
            return result
        # Shard 0 gets ready last: after the others, and then some.
        for _ in range(100_000):
            if others_ready[0] >= 2:
                break
            await anyio.lowlevel.checkpoint()
        for _ in range(200):
            await anyio.lowlevel.checkpoint()
        return await real_run_sync(func, *args, **kw)

    monkeypatch.setattr(anyio.to_thread, "run_sync", run_sync)
    fake = FakeCrossref(works=3000, seed=43, limits="fast-50")
    out = tmp_path / "articles.jsonl"
    async with client(fake) as cr:
        report = await harvest(cr, cr.works.filter(type="journal-article"), out=out, rows=200)
    assert report.verified and report.shards >= 3  # 3 planned, and any splits at the end
    firsts = [p for p in requests(fake) if kind(p) == "page" and p["cursor"] == "*"]
    starts = [_window_start(p) for p in firsts[:3]]
    assert starts[0] is None and starts[1:] == sorted(starts[1:])  # shard 0 first, then 1, 2


def _window_start(params: dict[str, str]) -> str | None:
    for f in params["filter"].split(","):
        if f.startswith("from-created-date:"):
            return f.split(":", 1)[1]
    return None
