"""Bulk harvest throughput, budget efficiency and peak memory on the simulator, against
single-cursor loops.

For each size, one simulator serves that many works from a separate process, shaped like the
2026 polite list pool (``polite-2026``: lists 3 requests/s and 3 at once; latency of about
1.3 s for a 1000-row page), and each client harvests all of them into uncompressed JSONL, in a
process of its own so that its peak RSS is its own:

* crossref-async: ``harvest()`` with its default shard size (``--shards N`` asks for about N
  shards), rows=1000; the shards run as concurrent cursors under the client's governor.
* habanero: ``works(cursor="*", cursor_max=N, limit=1000)``, which keeps every page in memory
  and returns them as a list; its user then writes the items with ``json.dumps``.
* httpx cursor loop: the loop people write by hand: one request at a time, ``cursor=*`` then
  ``next-cursor`` until a short page, ``json.loads`` per page, ``json.dumps`` per item.

Budget efficiency is records/s over the budget's bound, computed from the scenario (not
measured): a pool admits ``rate`` requests a second and ``concurrency`` at once, and a
1000-row page takes ``latency + jitter / 2 + per_row * 1000`` seconds on average (the
simulator sleeps ``latency`` plus a uniform share of ``jitter``, then ``per_row`` a row
served), so no client can get more than ``min(rate, concurrency / page latency)`` pages a
second, times 1000 records.

Each output is checked afterwards (lines equal the server's ``total-results``, no DOI twice).
The simulator's request log tells, per run, how many requests were pages of records (cursor
pages) and how many were not (counts with ``rows=0``, samples, edge probes), and how long the
client sent requests before its first page. The run checks the issue's targets:
crossref-async's efficiency at least 85% at 10,000 records and 95% at 200,000, its peak RSS at
the largest size within 50 MB of the smallest, and every output correct.

The simulator process is this script in ``--serve`` mode, which caches and encodes every
record before serving (``crossref-async fake-server`` has no option for that, and its
default 20,000-record cache makes the server the bottleneck at 200k), and hands its request
log to this process; ``--cli-server`` uses ``crossref-async fake-server`` instead (no request
breakdown then).

Run: ``python benchmarks/harvest.py [--sizes 10000,200000 | --quick] [--json results/]``
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib
import json
import math
import resource
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import IO, Any
from urllib.parse import parse_qsl, urlsplit

import httpx
import msgspec
from _common import MAILTO, habanero_client, machine, table, write_json

from crossref_async.testing import PRESETS, FakeCrossref, Faults, serve_in_thread

PRESET = "polite-2026"
ROWS = 1000
SIZES = (2_000, 10_000, 50_000, 200_000)
QUICK_SIZES = (2_000, 10_000)
# 0.2-0.3 s before the answer plus 1.05 ms a row: a 1000-row page takes 1.3 s on average
# (page_latency), the polite list pool's shape in 2026 as issue 17 gives it. The simulator's
# own work on a page (building and gzipping it) comes on top of this.
FAULTS = Faults(latency=0.2, jitter=0.1, per_row=0.00105)
CLIENTS = ("crossref-async", "habanero", "httpx cursor loop")
RSS_BUDGET_MB = 50.0
SHARDS = 0
#: ``--query filtered``: the same records through a filter that selects all of them (a
#: journal's output, a member's year: the harvests people run are filtered). Crossref
#: announces a filtered sample's total as the query's, so a filtered harvest plans from its
#: sample alone; a bare ``/works`` (the whole of Crossref, in real life) counts first.
FILTERS = {"all": None, "filtered": ("from-deposit-date", "1900-01-01")}
QUERY = "all"
#: The issue's efficiency targets for crossref-async: records -> share of the bound.
EFFICIENCY_TARGETS = {10_000: 0.85, 200_000: 0.95}


@dataclass(frozen=True)
class Bound:
    """The most any client can get out of the scenario's list pool, from its settings alone."""

    pool: str
    rate: float  # requests a second the pool admits (its rate over its interval)
    concurrency: int
    page_latency: float  # mean seconds the scenario gives a full page (page_latency)
    rows: int
    requests_per_second: float
    records_per_second: float
    limited_by: str  # "rate" or "concurrency"


def page_latency(faults: Faults, rows: int = ROWS) -> float:
    """Mean seconds the simulator takes to answer a page of ``rows`` records: it sleeps
    ``latency + jitter * U[0, 1)`` before the answer and ``per_row * rows`` after computing it
    (crossref_async/testing/_faults.py ``Dice.roll``, ``_app.py``)."""
    return faults.latency + faults.jitter / 2 + faults.per_row * rows


def budget_bound(faults: Faults, rows: int = ROWS, preset: str = PRESET) -> Bound:
    """``min(rate, concurrency / page latency)`` pages a second, times ``rows``: no client of
    the pool can do better, however it plans."""
    pool = PRESETS[preset].list
    if pool is None:
        raise ValueError(f"preset {preset!r} has no list pool: the bound is unlimited")
    rate = pool.rate / pool.interval
    latency = page_latency(faults, rows)
    by_concurrency = pool.concurrency / latency if latency > 0 else math.inf
    per_second = min(rate, by_concurrency)
    return Bound(
        pool=pool.name,
        rate=rate,
        concurrency=pool.concurrency,
        page_latency=latency,
        rows=rows,
        requests_per_second=per_second,
        records_per_second=per_second * rows,
        limited_by="rate" if rate <= by_concurrency else "concurrency",
    )


def ceiling(records: int, faults: Faults, rows: int = ROWS, preset: str = PRESET) -> float:
    """The share of the bound that ``records`` allow at best: a client that knew, for free,
    how to split them into ``concurrency`` equal cursors (pages need not be full) still waits
    one fixed latency per round of pages and ``per_row`` per record of its slot, and sends at
    least ``ceil(records / rows)`` requests at the pool's rate. Not a target: it says how much
    of the gap at small sizes is the size's and how much the client's."""
    bound = budget_bound(faults, rows, preset)
    fixed = faults.latency + faults.jitter / 2
    rounds = math.ceil(records / (rows * bound.concurrency))
    by_slots = rounds * fixed + records / bound.concurrency * faults.per_row
    by_rate = math.ceil(records / rows) / bound.rate
    seconds = max(by_slots, by_rate)
    if seconds <= 0:
        return 1.0
    return min(1.0, records / seconds / bound.records_per_second)


@dataclass
class Result:
    records: int
    client: str
    seconds: float = 0.0
    records_per_second: float = 0.0
    efficiency: float | None = None  # records/s over the bound's records/s
    x_habanero: float | None = None
    first_record_s: float | None = None  # from the client process's start to its first write
    peak_rss_mb: float = 0.0
    baseline_rss_mb: float = 0.0
    lines: int = 0
    duplicates: int = 0
    correct: bool = False
    requests: int = 0
    rate_limited: int = 0
    max_in_flight: int = 0
    # From the simulator's request log (None with --cli-server): answered requests by what
    # they were (page, count, sample, edge), and the rest (429s, errors) as "refused".
    requests_by_kind: dict[str, int] | None = None
    pages: int | None = None  # cursor pages of records answered
    not_pages: int | None = None  # answered requests that were not pages (planning)
    ideal_pages: int = 0  # full pages the records fill: ceil(records / rows)
    planning_s: float | None = None  # first request to the first page request, server clock
    slots_busy: float | None = None  # request-seconds / (concurrency x first-to-last seconds)
    # The median server-side seconds of a page (arrival to the end of the response): the
    # model's page latency plus what the simulator itself spends (encoding, gzip).
    median_page_s: float | None = None
    # Each request as the simulator saw it: kind, start (s after the first), duration (s).
    timeline: list[tuple[str, float, float]] = field(default_factory=list)
    error: str | None = None
    details: dict[str, Any] = field(default_factory=dict)


# -- the clients (each runs in a child process: --child CLIENT) ------------------------------

# Each runner returns what its client reported, with "first_record_at" (time.perf_counter()
# when its first record was written, or None) for the child to turn into seconds.


def run_crossref_async(url: str, records: int, out: Path, shards: int) -> dict[str, Any]:
    from crossref_async import Crossref
    from crossref_async.harvest import Progress, harvest

    first: list[float] = []

    def on_progress(progress: Progress) -> None:
        if progress.records > 0 and not first:
            first.append(time.perf_counter())

    async def go() -> dict[str, Any]:
        async with Crossref(mailto=MAILTO, base_url=url) as cr:
            # 0: the library's own choice; else about `shards` shards.
            target = max(1, -(-records // shards)) if shards > 0 else None
            query = cr.works
            if (chosen := FILTERS[QUERY]) is not None:
                query = query.filter(**{chosen[0].replace("-", "_"): chosen[1]})
            report = await harvest(
                cr, query, out=out, target=target, rows=ROWS, on_progress=on_progress
            )
        return {
            "harvester_records": report.records,
            "expected": report.expected,
            "shards": report.shards,
            "shards_redone": report.shards_redone,
            "pages": report.pages,
            "retries": report.retries,
            "rate_limited": report.rate_limited,
            "governor": {name: asdict(s) for name, s in cr.stats().items()},
            "first_record_at": first[0] if first else None,
        }

    return asyncio.run(go())


def run_habanero(url: str, records: int, out: Path, shards: int) -> dict[str, Any]:
    hab = habanero_client(url)
    if hab is None:
        raise RuntimeError("habanero is not installed")
    chosen = FILTERS[QUERY]
    filters = {chosen[0].replace("-", "_"): chosen[1]} if chosen else None
    result = hab.works(cursor="*", cursor_max=records, limit=ROWS, filter=filters)
    pages = result if isinstance(result, list) else [result]
    first: float | None = None
    with open(out, "w") as f:
        for page in pages:
            for item in page["message"]["items"]:
                f.write(json.dumps(item) + "\n")
                if first is None:
                    first = time.perf_counter()
    return {"pages": len(pages), "first_record_at": first}


def run_httpx_loop(url: str, records: int, out: Path, shards: int) -> dict[str, Any]:
    pages = 0
    cursor = "*"
    first: float | None = None
    with httpx.Client(base_url=url, timeout=60.0) as http, open(out, "w") as f:
        while True:
            params = {"rows": str(ROWS), "cursor": cursor, "mailto": MAILTO}
            if (chosen := FILTERS[QUERY]) is not None:
                params["filter"] = ":".join(chosen)
            response = http.get("/works", params=params)
            response.raise_for_status()
            message = json.loads(response.content)["message"]
            pages += 1
            for item in message["items"]:
                f.write(json.dumps(item) + "\n")
            if first is None and message["items"]:
                first = time.perf_counter()
            if len(message["items"]) < ROWS or not message.get("next-cursor"):
                break
            cursor = message["next-cursor"]
    return {"pages": pages, "first_record_at": first}


# Each runner: (base URL, records, output path, shards) -> what the client reported.
RUNNERS: dict[str, Callable[[str, int, Path, int], dict[str, Any]]] = {
    "crossref-async": run_crossref_async,
    "habanero": run_habanero,
    "httpx cursor loop": run_httpx_loop,
}


def _rss_mb() -> float:
    # VmHWM is this process's own peak. ru_maxrss is not: Linux carries it over an exec, so
    # a child started by a big parent (run_all.py holding other scenarios' data) reports the
    # parent's size at the fork.
    with contextlib.suppress(OSError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024  # kB
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kB on Linux


IMPORTS: dict[str, tuple[str, ...]] = {
    "crossref-async": ("crossref_async", "crossref_async.harvest"),
    "habanero": ("habanero",),
    "httpx cursor loop": ("httpx",),
}


def child(client: str, url: str, records: int, out: Path, shards: int) -> dict[str, Any]:
    """One client's harvest in this process: seconds, time to the first record written, peak
    RSS and what the client said."""
    # The clock starts after the client's imports: what is timed is the harvest.
    for module in IMPORTS[client]:
        importlib.import_module(module)
    baseline = _rss_mb()
    started = time.perf_counter()
    details = RUNNERS[client](url, records, out, shards)
    seconds = time.perf_counter() - started
    first_at = details.pop("first_record_at", None)
    return {
        "seconds": seconds,
        "first_record_s": first_at - started if first_at is not None else None,
        "peak_rss_mb": _rss_mb(),
        "baseline_rss_mb": baseline,
        "details": details,
    }


# -- the simulator (a separate process) -------------------------------------------------------


def _request_log(sim: FakeCrossref) -> list[list[object]]:
    # The server's thread appends while this one reads: a copy may meet a mutation; try again.
    while True:
        try:
            records = list(sim.stats.log)
        except RuntimeError:
            continue
        return [[r.target, r.status, r.started, r.duration] for r in records]


def serve_child(works: int, port: int, faults: Faults) -> None:
    """``--serve``: every record encoded and cached ahead, then served on ``port``. Answers
    each ``log`` line on its input with its request log (since the last ``/_reset``) as one
    JSON line of ``[target, status, started, duration]``; stops when its input ends."""
    sim = FakeCrossref(works=works, limits=PRESET, faults=faults, cache_records=works)
    sim.corpus.warm()
    with serve_in_thread(sim, port=port):
        for line in sys.stdin:
            if line.strip() == "log":
                print(json.dumps(_request_log(sim)), flush=True)
            else:
                break


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass(frozen=True)
class Server:
    """The simulator process: its base URL, and its request log if it can hand it over."""

    url: str
    process: subprocess.Popen[str]
    has_log: bool

    def log(self) -> list[tuple[str, int, float, float]] | None:
        """The requests since the last ``/_reset`` (``target, status, started, duration``;
        the log keeps the last 10,000), or None for ``fake-server``, which cannot tell."""
        stdin: IO[str] | None = self.process.stdin
        stdout: IO[str] | None = self.process.stdout
        if not self.has_log or stdin is None or stdout is None:
            return None
        stdin.write("log\n")
        stdin.flush()
        return [
            (str(t), int(s), float(a), float(d)) for t, s, a, d in json.loads(stdout.readline())
        ]


@contextlib.contextmanager
def server(works: int, faults: Faults, *, cli: bool = False) -> Iterator[Server]:
    """The simulator in a child process; yields it once it answers."""
    port = _free_port()
    if cli:
        command = [
            *(sys.executable, "-m", "crossref_async", "fake-server", "--port", str(port)),
            *("--works", str(works), "--preset", PRESET, "--log-level", "warning"),
            *("--latency", str(faults.latency), "--jitter", str(faults.jitter)),
            *("--per-row", str(faults.per_row)),
        ]
    else:
        command = [sys.executable, __file__, "--serve", str(works), "--port", str(port)]
        command += ["--latency", str(faults.latency), "--jitter", str(faults.jitter)]
        command += ["--per-row", str(faults.per_row)]
    proc = subprocess.Popen(
        command, stdin=subprocess.PIPE, stdout=None if cli else subprocess.PIPE, text=True
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 600
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"the simulator exited ({proc.returncode}) before serving")
            if time.monotonic() > deadline:
                raise RuntimeError("the simulator did not start")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"{url}/_stats", timeout=2).status_code == 200:
                    break
            time.sleep(0.5)
        yield Server(url, proc, has_log=not cli)
    finally:
        with contextlib.suppress(OSError):
            if proc.stdin is not None:
                proc.stdin.close()  # --serve mode stops on end of input
        if cli:
            proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()


# -- measuring ----------------------------------------------------------------------------------


class _Doi(msgspec.Struct):
    DOI: str = ""


def verify(path: Path) -> tuple[int, int]:
    """Lines in a JSONL file and how many of them repeat a DOI (compared case-insensitively)."""
    decoder = msgspec.json.Decoder(_Doi)
    lines = 0
    seen: set[str] = set()
    with open(path, "rb") as f:
        for line in f:
            if line.strip():
                lines += 1
                seen.add(decoder.decode(line).DOI.lower())
    return lines, lines - len(seen)


# The last path segment of list routes (/works, /members/{id}/works, /journals...).
_LISTS = frozenset(("works", "journals", "members", "funders", "prefixes", "types", "licenses"))


def request_kind(target: str, status: int) -> str:
    """What a request was, from its target: ``page`` (a cursor or offset page of records),
    ``count`` (``rows=0``), ``sample``, ``edge`` (any other list request: a ``rows=1``
    probe of the oldest or newest record), ``single`` (not a list), or ``refused`` (not
    answered 200: 429s, errors)."""
    if status != 200:
        return "refused"
    parts = urlsplit(target)
    if parts.path.rstrip("/").rsplit("/", 1)[-1] not in _LISTS:
        return "single"
    params = dict(parse_qsl(parts.query, keep_blank_values=True))
    rows = int(params.get("rows", "20") or 20)
    if "sample" in params:
        return "sample"
    if rows == 0:
        return "count"
    if "cursor" in params or "offset" in params:
        return "page"
    return "edge"


def breakdown(result: Result, log: list[tuple[str, int, float, float]], concurrency: int) -> None:
    """Fill ``result``'s request fields from the simulator's log of its run."""
    kinds = Counter(request_kind(target, status) for target, status, _, _ in log)
    result.requests_by_kind = dict(sorted(kinds.items()))
    result.pages = kinds["page"]
    result.not_pages = sum(n for kind, n in kinds.items() if kind not in ("page", "refused"))
    if not log:
        return
    first = min(started for _, _, started, _ in log)
    result.timeline = sorted(
        (
            (request_kind(target, status), round(started - first, 3), round(duration, 3))
            for target, status, started, duration in log
        ),
        key=lambda entry: entry[1],
    )
    page_starts = [
        started for target, status, started, _ in log if request_kind(target, status) == "page"
    ]
    if page_starts:
        result.planning_s = min(page_starts) - first
    page_durations = [
        duration for target, status, _, duration in log if request_kind(target, status) == "page"
    ]
    if page_durations:
        result.median_page_s = statistics.median(page_durations)
    last = max(started + duration for _, _, started, duration in log)
    busy = sum(duration for _, status, _, duration in log if status == 200)
    if last > first:
        result.slots_busy = busy / (concurrency * (last - first))


def measure(
    sim: Server, records: int, client: str, workdir: Path, *, shards: int, keep: bool
) -> Result:
    url = sim.url
    result = Result(records=records, client=client, ideal_pages=-(-records // ROWS))
    expected = httpx.get(f"{url}/works", params={"rows": "0", "mailto": MAILTO}).json()
    expected_total = int(expected["message"]["total-results"])
    time.sleep(1.5)  # a fresh rate window for the client
    httpx.post(f"{url}/_reset")
    out = workdir / f"{client.replace(' ', '-')}-{records}.jsonl"
    command = [sys.executable, __file__, "--child", client, "--url", url]
    command += ["--records", str(records), "--out", str(out), "--shards", str(shards)]
    command += ["--query", QUERY]
    try:
        proc = subprocess.run(
            command, capture_output=True, text=True, timeout=120 + records / 100, check=False
        )
    except subprocess.TimeoutExpired:
        result.error = "timed out"
        return result
    stats = httpx.get(f"{url}/_stats").json()
    result.requests = int(stats["total_requests"])
    result.rate_limited = int(stats["total_429"])
    result.max_in_flight = max(stats["max_in_flight"].values(), default=0)
    log = sim.log()
    if log is not None:
        pool = PRESETS[PRESET].list
        breakdown(result, log, pool.concurrency if pool is not None else 1)
    lines = [line for line in proc.stdout.splitlines() if line.strip()]
    if proc.returncode != 0 or not lines:
        result.error = (proc.stderr.strip().splitlines() or [f"exit {proc.returncode}"])[-1]
        return result
    data = json.loads(lines[-1])
    result.seconds = data["seconds"]
    result.first_record_s = data["first_record_s"]
    result.peak_rss_mb = data["peak_rss_mb"]
    result.baseline_rss_mb = data["baseline_rss_mb"]
    result.details = data["details"]
    if out.exists():
        result.lines, result.duplicates = verify(out)
        result.records_per_second = result.lines / result.seconds if result.seconds else 0.0
        if not keep:
            out.unlink()
        with contextlib.suppress(FileNotFoundError):
            shutil.rmtree(Path(str(out) + ".harvest"))
    result.correct = result.lines == expected_total and result.duplicates == 0
    return result


def _describe(result: Result) -> str:
    """One run in a line, for the progress output."""
    parts = [
        f"{result.seconds:.1f} s",
        f"{result.records_per_second:,.0f} records/s",
        f"efficiency {result.efficiency:.0%}" if result.efficiency is not None else "",
        f"{result.peak_rss_mb:,.0f} MB",
        f"first record at {result.first_record_s:.2f} s" if result.first_record_s else "",
        f"{result.requests} requests",
    ]
    if result.requests_by_kind is not None:
        kinds = ", ".join(f"{n} {kind}" for kind, n in result.requests_by_kind.items())
        parts[-1] += f" ({kinds}; {result.ideal_pages} full pages would do)"
    if result.planning_s is not None:
        parts.append(f"first page requested {result.planning_s:.2f} s after the first request")
    if result.median_page_s is not None:
        parts.append(f"median page {result.median_page_s:.2f} s at the server")
    if result.slots_busy is not None:
        parts.append(f"slots busy {result.slots_busy:.0%}")
    parts += [f"{result.rate_limited} 429s", f"at most {result.max_in_flight} in flight"]
    pools = result.details.get("governor", {})
    window = ", ".join(
        f"{name} concurrency at the end {p['concurrency']}/{p['advertised_concurrency']}"
        for name, p in pools.items()
        if p["requests"]
    )
    text = ", ".join(p for p in parts if p)
    return (
        text
        + (f"; {window}" if window else "")
        + (f"; error: {result.error}" if result.error else "")
    )


def run(
    sizes: tuple[int, ...],
    clients: tuple[str, ...] = CLIENTS,
    *,
    faults: Faults = FAULTS,
    cli_server: bool = False,
    shards: int = SHARDS,
    workdir: Path | None = None,
    keep: bool = False,
    progress: Callable[[str], None] = print,
) -> list[Result]:
    bound = budget_bound(faults)
    results: list[Result] = []
    with contextlib.ExitStack() as stack:
        if workdir is None:
            workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="harvest-")))
        workdir.mkdir(parents=True, exist_ok=True)
        for size in sizes:
            progress(f"simulator: {size:,} works ({'cold' if cli_server else 'warming'})")
            with server(size, faults, cli=cli_server) as sim:
                for client in clients:
                    progress(f"  {size:>9,}  {client}")
                    result = measure(sim, size, client, workdir, shards=shards, keep=keep)
                    if result.error is None and result.records_per_second > 0:
                        result.efficiency = result.records_per_second / bound.records_per_second
                    progress(f"             {_describe(result)}")
                    results.append(result)
    for r in results:
        hab = next((h for h in results if h.records == r.records and h.client == "habanero"), None)
        if hab is not None and hab.records_per_second > 0 and r.error is None:
            r.x_habanero = r.records_per_second / hab.records_per_second
    return results


def targets(results: list[Result]) -> dict[str, Any]:
    """The issue's targets, checked: crossref-async's budget efficiency, flat memory, and
    every output correct. A target whose size was not run is None (not met, not failed)."""
    ours = sorted((r for r in results if r.client == "crossref-async"), key=lambda r: r.records)
    efficiency: dict[int, dict[str, Any]] = {}
    for size, share in EFFICIENCY_TARGETS.items():
        run_ = next((r for r in ours if r.records == size), None)
        value = run_.efficiency if run_ is not None else None
        met = None if run_ is None else (value or 0.0) >= share
        efficiency[size] = {"target": share, "efficiency": value, "met": met}
    memory: dict[str, Any] = {}
    if len(ours) >= 2:
        growth = ours[-1].peak_rss_mb - ours[0].peak_rss_mb
        memory = {
            "from": ours[0].records,
            "to": ours[-1].records,
            "growth_mb": growth,
            "met": growth <= RSS_BUDGET_MB,
        }
    wrong = [f"{r.client} at {r.records:,}" for r in results if not r.correct]
    correct = {"met": not wrong, "wrong": wrong}
    return {"efficiency": efficiency, "memory": memory, "correct": correct}


def _verdict(met: bool | None) -> str:
    return "not run" if met is None else ("PASS" if met else "FAIL")


def describe_bound(bound: Bound, faults: Faults) -> str:
    """The bound and where it comes from, in one line."""
    return (
        f"budget bound: {bound.pool} {bound.rate:g} requests/s, {bound.concurrency} in flight,"
        f" a {bound.rows}-row page {bound.page_latency:.3f} s on average"
        f" ({faults.latency:g} + {faults.jitter:g}/2 + {bound.rows} x {faults.per_row:g} s)"
        f" -> min({bound.rate:g}, {bound.concurrency}/{bound.page_latency:.3f})"
        f" = {bound.requests_per_second:.3f} requests/s = {bound.records_per_second:,.0f}"
        f" records/s (limited by {bound.limited_by})"
    )


def render(results: list[Result], checked: dict[str, Any]) -> str:
    def maybe(value: float | None, fmt: str) -> str:
        return format(value, fmt) if value is not None else "-"

    rows = [
        [
            r.records,
            r.client,
            r.seconds,
            r.records_per_second,
            maybe(r.efficiency, ".0%"),
            maybe(r.x_habanero, ".2f") + ("x" if r.x_habanero is not None else ""),
            r.requests,
            r.not_pages if r.not_pages is not None else "-",
            r.first_record_s if r.first_record_s is not None else "-",
            r.peak_rss_mb,
            "yes" if r.correct else ("no (failed, see JSON)" if r.error else "no"),
        ]
        for r in results
    ]
    headers = [
        *("records", "client", "seconds", "records/s", "efficiency", "x habanero"),
        *("requests", "not pages", "first record s", "peak RSS MB", "correct"),
    ]
    out = [table(headers, rows), ""]
    for size, check in checked["efficiency"].items():
        shown = maybe(check["efficiency"], ".1%") if check["met"] is not None else "-"
        out.append(
            f"target: crossref-async efficiency >= {check['target']:.0%} at {size:,} records:"
            f" {shown} ({_verdict(check['met'])})"
        )
    memory = checked["memory"]
    if memory:
        out.append(
            f"target: crossref-async peak RSS at {memory['to']:,} - at {memory['from']:,} <= "
            f"{RSS_BUDGET_MB:g} MB: {memory['growth_mb']:+.1f} MB ({_verdict(memory['met'])})"
        )
    correct = checked["correct"]
    wrong = ", ".join(correct["wrong"])
    out.append(
        "check: every output has total-results lines and no DOI twice: "
        + ("PASS" if correct["met"] else f"FAIL ({wrong})")
    )
    return "\n".join(out)


def _sizes(text: str) -> tuple[int, ...]:
    return tuple(int(s.replace("_", "").replace(",", "")) for s in text.split(",") if s.strip())


def _set_query(name: str) -> None:
    """The query every client harvests in this process (the children get it on argv)."""
    global QUERY
    QUERY = name


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=_sizes, default=SIZES, help="comma-separated records")
    parser.add_argument(
        "--quick",
        action="store_true",
        help=f"sizes {','.join(map(str, QUICK_SIZES))} (smoke test)",
    )
    parser.add_argument("--clients", default=",".join(CLIENTS), help="comma-separated subset")
    parser.add_argument("--json", type=Path, help="folder to write harvest.json into")
    parser.add_argument("--workdir", type=Path, help="where outputs go (a temporary folder)")
    parser.add_argument("--keep", action="store_true", help="keep the JSONL outputs")
    parser.add_argument("--cli-server", action="store_true", help="serve with fake-server")
    parser.add_argument(
        "--shards", type=int, default=SHARDS, help="crossref-async's shards (0: its default)"
    )
    parser.add_argument(
        "--query", choices=sorted(FILTERS), default="all", help="all /works, or filtered"
    )
    parser.add_argument("--latency", type=float, default=FAULTS.latency, help="seconds")
    parser.add_argument("--jitter", type=float, default=FAULTS.jitter, help="seconds")
    parser.add_argument("--per-row", type=float, default=FAULTS.per_row, help="seconds a row")
    # Internal modes: the simulator process and one client's process.
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--child", choices=CLIENTS, help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--records", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    _set_query(args.query)
    faults = Faults(latency=args.latency, jitter=args.jitter, per_row=args.per_row)
    if args.serve is not None:
        serve_child(args.serve, args.port, faults)
        return {}
    if args.child is not None:
        data = child(args.child, args.url, args.records, args.out, args.shards)
        print(json.dumps(data))
        return data
    sizes = QUICK_SIZES if args.quick else args.sizes
    clients = tuple(c.strip() for c in args.clients.split(","))
    bound = budget_bound(faults)
    results = run(
        sizes,
        clients,
        faults=faults,
        cli_server=args.cli_server,
        shards=args.shards,
        workdir=args.workdir,
        keep=args.keep,
    )
    checked = targets(results)
    print()
    print(f"machine: {machine()}")
    print(
        f"simulator: {PRESET}, latency {faults.latency:g} s + up to {faults.jitter:g} s jitter"
        f" + {faults.per_row * 1000:g} ms a row, {'cold' if args.cli_server else 'warm'} cache"
    )
    chosen = FILTERS[args.query]
    print("query: /works" + (f"?filter={':'.join(chosen)}" if chosen else " (every record)"))
    print(describe_bound(bound, faults))
    ceilings = {size: ceiling(size, faults) for size in sizes}
    print(
        "at best (a free, perfect split into equal cursors): about "
        + ", ".join(f"{share:.0%} at {size:,}" for size, share in ceilings.items())
    )
    print(render(results, checked))
    data = {
        "machine": machine(),
        "preset": PRESET,
        "faults": asdict(faults),
        "rows": ROWS,
        "shards": args.shards,
        "query": args.query,
        "server": "fake-server (cold)" if args.cli_server else "warm cache",
        "bound": asdict(bound),
        "ceilings": ceilings,
        "results": [asdict(r) for r in results],
        "targets": checked,
    }
    write_json(args.json, "harvest", data)
    return data


if __name__ == "__main__":
    main()
