"""The client's own ceiling: ``harvest()`` against an unmetered simulator, per output format.

The simulator (the ``unmetered`` preset: limits advertised far above anything a client
reaches, no latency) runs in a process of its own, and crossref-async's ``harvest()`` in
another, once per output (``.jsonl``, ``.jsonl.gz``, ``.jsonl.zst``) and size. The client's
process reports its wall time, CPU time (user + system, every thread, from
``resource.getrusage``), peak RSS (``VmHWM``), how long its event loop was blocked (a task
that sleeps 5 ms at a time and adds up how late it wakes), and how long the final join and
read-back took after the last record was written (to ``harvest()`` returning; parts join the
output as their shards end, so this is the last parts' share and the publishing).

Beside it, the server's own ceiling: a plain httpx loop (in a process of its own too) that
fetches the same 1000-row cursor pages with 1..N concurrent cursors and throws them away. If
that is not well above crossref-async's records/s, the simulator is the limit, not the client.

Then which budget the client saturates: the Plus pool is documented at 150 requests/s
(150,000 records/s at 1000 rows), the polite list pool at 3 requests/s (3,000 records/s).

The simulator caches the first 20,000 records encoded (``--cache``) and makes the others on
the fly from them: the cached bytes of record ``i % cache`` with the DOI and ``created`` date
of record ``i`` put in. That keeps the server's memory and start-up small at a million
records (the real encoder makes about 5,000 records/s, and 1M cached records are ~5 GB)
while every record still has the DOI and created date its query, filters and cursors see.

``--stages`` adds where the time of one page goes in the client's writing path (encode,
compress at several levels, write, fsync, and the read-back's decompress and decode).

Run: ``python benchmarks/ceiling.py [--quick] [--sizes 10000,1000000] [--json results/]``
(the default run takes about 6 minutes on 2 cores, ``--quick`` under a minute).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import httpx
import msgspec
from _common import MAILTO, machine, table, write_json

from crossref_async.testing import FakeCrossref, serve_in_thread

ROWS = 1000
OUTPUTS = ("jsonl", "jsonl.gz", "jsonl.zst")
SIZES = (10_000, 1_000_000)
QUICK_SIZES = (2_000, 20_000)
CURSORS = (1, 2, 4, 8)
QUICK_CURSORS = (1, 4)
LOOP_RECORDS = 200_000
QUICK_LOOP_RECORDS = 20_000
CACHE = 20_000
#: Documented budgets of the list pools, requests per second.
BUDGETS = {"Plus": 150, "polite": 3}


# -- the simulator (a separate process) -------------------------------------------------------


def _templated(sim: FakeCrossref, cache: int) -> None:
    """Serve records past the first ``cache`` from the cached bytes of record ``i % cache``,
    with record ``i``'s own DOI and ``created`` date put in (see the module docstring)."""
    from crossref_async.testing._records import stamp

    corpus = sim.corpus
    columns = corpus.tables.columns
    cached = min(cache, corpus.size)
    corpus.warm(cached)
    heads = [corpus.encoded_head(i) for i in range(cached)]
    pieces: list[tuple[bytes, bytes, bytes]] = []
    encode = msgspec.json.encode
    for index, head in enumerate(heads):
        # Cut around the record's own "DOI" and "created" values (found by their exact
        # bytes: references carry "DOI" keys too), to fill in another record's.
        doi = b'"DOI":' + encode(str(columns.doi[index]))
        created = b'"created":' + encode(stamp(int(columns.created[index])))
        doi_at, created_at = head.index(doi), head.index(created)
        if not doi_at + len(doi) <= created_at:
            raise RuntimeError("a record with created before DOI: the template needs the order")
        pieces.append(
            (
                head[: doi_at + 6],
                head[doi_at + len(doi) : created_at + 10],
                head[created_at + len(created) :],
            )
        )
    real = corpus.encoded_head

    def encoded_head(index: int) -> bytes:
        if index < cached:
            return real(index)
        before, between, after = pieces[index % cached]
        doi = encode(str(columns.doi[index]))
        return before + doi + between + encode(stamp(int(columns.created[index]))) + after

    corpus.encoded_head = encoded_head  # type: ignore[method-assign]


def serve_child(works: int, port: int, cache: int, wire_gzip: bool) -> None:
    """``--serve``: the simulator on ``port`` until stdin closes; each ``cpu`` line on stdin
    is answered with this process's CPU seconds."""
    sim = FakeCrossref(
        works=works, limits="unmetered", cache_records=min(works, cache), gzip=wire_gzip
    )
    _templated(sim, cache)
    with serve_in_thread(sim, port=port):
        for line in sys.stdin:
            if line.strip() != "cpu":
                break
            usage = resource.getrusage(resource.RUSAGE_SELF)
            print(usage.ru_utime + usage.ru_stime, flush=True)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class Server:
    url: str
    process: subprocess.Popen[str]

    def cpu(self) -> float:
        """The server process's CPU seconds so far."""
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write("cpu\n")
        self.process.stdin.flush()
        return float(self.process.stdout.readline())

    def reset(self) -> None:
        httpx.post(f"{self.url}/_reset").raise_for_status()

    def requests(self) -> int:
        return int(httpx.get(f"{self.url}/_stats").json()["total_requests"])


@contextlib.contextmanager
def server(works: int, cache: int, wire_gzip: bool) -> Iterator[Server]:
    """The simulator in a child process; yields it once it answers."""
    port = _free_port()
    command = [sys.executable, __file__, "--serve", str(works), "--port", str(port)]
    command += ["--cache", str(cache), *(["--wire-gzip"] if wire_gzip else [])]
    proc = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
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
            time.sleep(0.3)
        yield Server(url, proc)
    finally:
        if proc.stdin is not None:
            with contextlib.suppress(OSError):
                proc.stdin.close()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()


# -- the client processes ---------------------------------------------------------------------


def _rss_mb(field_name: str = "VmHWM") -> float:
    # VmHWM is this process's own peak (ru_maxrss carries a parent's size over an exec).
    with contextlib.suppress(OSError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field_name + ":"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class LoopLag:
    """How long the event loop was blocked: a task sleeps ``interval`` at a time, and every
    wake-up more than ``slack`` late counts its lateness as blocked time."""

    def __init__(self, interval: float = 0.005, slack: float = 0.002) -> None:
        self.interval = interval
        self.slack = slack
        self.blocked = 0.0
        self.longest = 0.0

    async def watch(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            before = loop.time()
            await asyncio.sleep(self.interval)
            late = loop.time() - before - self.interval
            if late > self.slack:
                self.blocked += late
                self.longest = max(self.longest, late)


def harvest_child(url: str, out: Path, concurrency: int | None) -> dict[str, Any]:
    """``--child``: one harvest of everything into ``out``, measured from inside."""
    from crossref_async import Crossref
    from crossref_async.harvest import Progress, harvest

    baseline = _rss_mb("VmRSS")
    lag = LoopLag()
    marks: dict[str, float] = {}

    written = [0]

    def on_progress(progress: Progress) -> None:
        # The last record written: parts already join the output as their shards end, so
        # what follows is joining the last parts and publishing.
        if progress.records > written[0]:
            written[0] = progress.records
            marks["fetched"] = time.perf_counter()
            marks["fetched_cpu"] = _cpu()
            marks["fetched_blocked"] = lag.blocked
            marks["fetched_peak_rss_mb"] = _rss_mb()

    async def go() -> dict[str, Any]:
        watcher = asyncio.ensure_future(lag.watch())
        try:
            async with Crossref(mailto=MAILTO, base_url=url) as cr:
                report = await harvest(
                    cr,
                    cr.works,
                    out=out,
                    rows=ROWS,
                    concurrency=concurrency,
                    on_progress=on_progress,
                )
        finally:
            watcher.cancel()
        return {
            "records": report.records,
            "expected": report.expected,
            "shards": report.shards,
            "pages": report.pages,
            "sound": bool(report.on_disk and report.on_disk.sound),
            "output_bytes": report.output_bytes,
        }

    cpu0, started = _cpu(), time.perf_counter()
    details = asyncio.run(go())
    seconds, cpu = time.perf_counter() - started, _cpu() - cpu0
    fetched = marks.get("fetched", started + seconds)
    return {
        "seconds": seconds,
        "cpu_seconds": cpu,
        "publish_seconds": started + seconds - fetched,
        "publish_cpu_seconds": cpu0 + cpu - marks.get("fetched_cpu", cpu0 + cpu),
        "loop_blocked_seconds": marks.get("fetched_blocked", lag.blocked),
        "fetch_seconds": fetched - started,
        "loop_longest_block": lag.longest,
        "peak_rss_mb": _rss_mb(),
        "fetch_peak_rss_mb": marks.get("fetched_peak_rss_mb", 0.0),
        "baseline_rss_mb": baseline,
        "details": details,
    }


class _Message(msgspec.Struct, rename="kebab"):
    items: list[msgspec.Raw]
    next_cursor: str | None = None


class _Page(msgspec.Struct):
    message: _Message


# The least a loop must decode: where the items are, and the next cursor.
_page_decoder = msgspec.json.Decoder(_Page)


def loop_child(url: str, records: int, cursors: int) -> dict[str, Any]:
    """``--loop``: ``cursors`` concurrent cursor walks over /works (1000-row pages) fetching
    ``records`` in all, every page thrown away: what the server gives a client that does
    nothing with it."""

    async def walk(http: httpx.AsyncClient, share: int) -> tuple[int, int]:
        cursor, got, pages = "*", 0, 0
        while got < share:
            params = {"rows": str(ROWS), "cursor": cursor, "mailto": MAILTO}
            response = await http.get("/works", params=params)
            response.raise_for_status()
            pages += 1
            message = _page_decoder.decode(response.content).message
            got += len(message.items)
            if len(message.items) < ROWS or not message.next_cursor:
                break
            cursor = message.next_cursor
        return got, pages

    async def go() -> tuple[int, int]:
        limits = httpx.Limits(max_connections=cursors, max_keepalive_connections=cursors)
        async with httpx.AsyncClient(base_url=url, timeout=120, limits=limits) as http:
            share = -(-records // cursors)
            done = await asyncio.gather(*(walk(http, share) for _ in range(cursors)))
        return sum(d[0] for d in done), sum(d[1] for d in done)

    cpu0, started = _cpu(), time.perf_counter()
    got, pages = asyncio.run(go())
    return {
        "seconds": time.perf_counter() - started,
        "cpu_seconds": _cpu() - cpu0,
        "records": got,
        "pages": pages,
    }


def _run_child(command: list[str], timeout: float) -> dict[str, Any]:
    proc = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)
    lines = [line for line in proc.stdout.splitlines() if line.strip()]
    if proc.returncode != 0 or not lines:
        raise RuntimeError((proc.stderr.strip().splitlines() or [f"exit {proc.returncode}"])[-1])
    data: dict[str, Any] = json.loads(lines[-1])
    return data


# -- measuring --------------------------------------------------------------------------------


@dataclass
class Run:
    """One harvest of ``records`` into an ``output`` file."""

    output: str
    records: int
    seconds: float = 0.0
    records_per_second: float = 0.0
    requests: int = 0
    requests_per_second: float = 0.0
    cpu_seconds: float = 0.0
    cpu_per_1000: float = 0.0
    server_cpu_seconds: float = 0.0
    publish_seconds: float = 0.0
    publish_cpu_seconds: float = 0.0
    fetch_seconds: float = 0.0
    fetch_records_per_second: float = 0.0
    shards: int = 0
    loop_blocked_seconds: float = 0.0
    loop_longest_block: float = 0.0
    peak_rss_mb: float = 0.0
    fetch_peak_rss_mb: float = 0.0
    baseline_rss_mb: float = 0.0
    output_mb: float = 0.0
    correct: bool = False
    error: str | None = None
    details: dict[str, Any] = field(default_factory=dict)


@dataclass
class Loop:
    """The plain httpx loop: ``cursors`` concurrent cursors, pages thrown away."""

    cursors: int
    records: int = 0
    seconds: float = 0.0
    records_per_second: float = 0.0
    requests_per_second: float = 0.0
    cpu_seconds: float = 0.0
    server_cpu_seconds: float = 0.0
    error: str | None = None


def measure_harvest(
    sim: Server, size: int, output: str, workdir: Path, concurrency: int | None
) -> Run:
    run = Run(output=output, records=size)
    out = workdir / f"works-{size}.{output}"
    sim.reset()
    server_cpu = sim.cpu()
    command = [sys.executable, __file__, "--child", "--url", sim.url, "--out", str(out)]
    if concurrency:
        command += ["--concurrency", str(concurrency)]
    try:
        data = _run_child(command, timeout=300 + size / 500)
    except (RuntimeError, subprocess.TimeoutExpired) as exc:
        run.error = str(exc) or type(exc).__name__
        return run
    finally:
        run.server_cpu_seconds = sim.cpu() - server_cpu
        with contextlib.suppress(FileNotFoundError):
            shutil.rmtree(Path(str(out) + ".harvest"))
    run.requests = sim.requests()
    names = ("seconds", "cpu_seconds", "publish_seconds", "publish_cpu_seconds", "fetch_seconds")
    for name in names:
        setattr(run, name, data[name])
    run.loop_blocked_seconds = data["loop_blocked_seconds"]
    run.loop_longest_block = data["loop_longest_block"]
    run.peak_rss_mb, run.baseline_rss_mb = data["peak_rss_mb"], data["baseline_rss_mb"]
    run.fetch_peak_rss_mb = data["fetch_peak_rss_mb"]
    run.details = data["details"]
    written = int(run.details["records"])
    run.records_per_second = written / run.seconds if run.seconds else 0.0
    run.fetch_records_per_second = written / run.fetch_seconds if run.fetch_seconds else 0.0
    run.shards = int(run.details["shards"])
    run.requests_per_second = run.requests / run.seconds if run.seconds else 0.0
    run.cpu_per_1000 = run.cpu_seconds / written * 1000 if written else 0.0
    run.output_mb = run.details["output_bytes"] / 1e6
    run.correct = bool(run.details["sound"]) and written == size
    out.unlink(missing_ok=True)
    for extra in out.parent.glob(out.name + ".*"):
        extra.unlink(missing_ok=True)
    return run


def measure_loop(sim: Server, records: int, cursors: int) -> Loop:
    loop = Loop(cursors=cursors)
    sim.reset()
    server_cpu = sim.cpu()
    command = [sys.executable, __file__, "--loop", "--url", sim.url]
    command += ["--records", str(records), "--cursors", str(cursors)]
    try:
        data = _run_child(command, timeout=300 + records / 500)
    except (RuntimeError, subprocess.TimeoutExpired) as exc:
        loop.error = str(exc) or type(exc).__name__
        return loop
    finally:
        loop.server_cpu_seconds = sim.cpu() - server_cpu
    loop.records, loop.seconds = data["records"], data["seconds"]
    loop.cpu_seconds = data["cpu_seconds"]
    loop.records_per_second = loop.records / loop.seconds if loop.seconds else 0.0
    loop.requests_per_second = data["pages"] / loop.seconds if loop.seconds else 0.0
    return loop


# -- where a page's time goes -----------------------------------------------------------------


def stages(workdir: Path, repeat: int = 5) -> list[list[object]]:
    """Milliseconds per 1000-record page for each step of writing and reading back, best of
    ``repeat``, on records of the simulator."""
    import gzip

    import zstandard

    from crossref_async._output import inspect
    from crossref_async._sinks import PartFile, compress, encode_lines

    sim = FakeCrossref(works=ROWS)
    page = [msgspec.Raw(sim.corpus.encoded_head(i) + b"1.0}") for i in range(ROWS)]
    data = encode_lines(page)

    def best(fn: Any) -> float:
        times = []
        for _ in range(repeat):
            started = time.perf_counter()
            fn()
            times.append(time.perf_counter() - started)
        return min(times) * 1000

    rows: list[list[object]] = [["encode_lines (join)", best(lambda: encode_lines(page)), "", ""]]
    size = len(data)
    for level in (1, 3, 5, 6):
        packed = gzip.compress(data, compresslevel=level, mtime=0)
        rows.append(
            [
                f"gzip level {level}",
                best(lambda lv=level: gzip.compress(data, compresslevel=lv, mtime=0)),
                best(lambda p=packed: gzip.decompress(p)),
                size / len(packed),
            ]
        )
    for level in (1, 3, 6):
        packer = zstandard.ZstdCompressor(level=level)
        packed = packer.compress(data)
        unpacker = zstandard.ZstdDecompressor()
        rows.append(
            [
                f"zstd level {level}",
                best(lambda c=packer: c.compress(data)),
                best(lambda p=packed, d=unpacker: d.decompress(p)),
                size / len(packed),
            ]
        )
    probe = workdir / "stage.bin"
    with open(probe, "wb") as fh:

        def write() -> None:
            fh.write(data)
            fh.flush()

        def sync() -> None:
            fh.write(b"x")
            fh.flush()
            os.fsync(fh.fileno())

        rows.append(["write (page of plain JSONL)", best(write), "", ""])
        rows.append(["fsync (after a small write)", best(sync), "", ""])
    probe.unlink()
    for suffix, compression in ((".jsonl", None), (".jsonl.gz", "gzip"), (".jsonl.zst", "zstd")):
        path = workdir / f"stage{suffix}"
        part = PartFile(path, compression)  # type: ignore[arg-type]
        rows.append(
            [f"PartFile.append {suffix} (all of it)", best(lambda p=part: p.append(page)), "", ""]
        )
        path.unlink()
        part.append(page)
        rows.append([f"read-back {suffix} (inspect)", "", best(lambda p=path: inspect(p)), ""])
        path.unlink()
    _ = compress
    return rows


# -- the run ----------------------------------------------------------------------------------


def run(
    sizes: tuple[int, ...],
    outputs: tuple[str, ...],
    cursors: tuple[int, ...],
    loop_records: int,
    *,
    cache: int,
    wire_gzip: bool,
    concurrency: int | None,
    workdir: Path | None,
    progress: Any = print,
) -> tuple[list[Run], list[Loop]]:
    runs: list[Run] = []
    loops: list[Loop] = []
    with contextlib.ExitStack() as stack:
        if workdir is None:
            workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="ceiling-")))
        workdir.mkdir(parents=True, exist_ok=True)
        for size in sizes:
            progress(f"simulator: {size:,} works (unmetered, no latency)")
            with server(size, cache, wire_gzip) as sim:
                if size == max(sizes):
                    for n in cursors:
                        loop = measure_loop(sim, min(loop_records, size), n)
                        progress(
                            f"  httpx loop, {n} cursors: {loop.records_per_second:,.0f} records/s"
                            f" ({loop.error or 'ok'})"
                        )
                        loops.append(loop)
                for output in outputs:
                    result = measure_harvest(sim, size, output, workdir, concurrency)
                    progress(
                        f"  {size:>9,} .{output}: {result.seconds:.1f} s,"
                        f" {result.records_per_second:,.0f} records/s,"
                        f" {result.cpu_per_1000:.3f} CPU s/1000, {result.peak_rss_mb:,.0f} MB"
                        + (f"; error: {result.error}" if result.error else "")
                    )
                    runs.append(result)
    return runs, loops


def render(runs: list[Run], loops: list[Loop]) -> str:
    out = []
    rows = [
        [
            f".{r.output}",
            r.records,
            r.shards,
            r.seconds,
            r.records_per_second,
            r.fetch_records_per_second,
            r.requests_per_second,
            r.cpu_per_1000,
            r.server_cpu_seconds / r.seconds if r.seconds else 0.0,
            f"{r.publish_seconds:.1f} s",
            f"{r.loop_blocked_seconds / r.fetch_seconds:.0%}" if r.fetch_seconds else "-",
            f"{r.loop_longest_block * 1000:.0f} ms",
            r.fetch_peak_rss_mb,
            r.peak_rss_mb,
            r.output_mb,
            "yes" if r.correct else f"no ({r.error})" if r.error else "no",
        ]
        for r in runs
    ]
    headers = [
        "output",
        "records",
        "shards",
        "seconds",
        "records/s",
        "fetching records/s",
        "requests/s",
        "client CPU s/1000",
        "server CPU/wall",
        "join+read-back",
        "loop blocked (fetching)",
        "longest block",
        "peak RSS MB fetching",
        "peak RSS MB",
        "output MB",
        "correct",
    ]
    out += ["crossref-async harvest(), unmetered simulator in its own process:", ""]
    out += [table(headers, rows), ""]
    if loops:
        rows = [
            [
                lp.cursors,
                lp.records,
                lp.seconds,
                lp.records_per_second,
                lp.requests_per_second,
                lp.cpu_seconds / lp.seconds if lp.seconds else 0.0,
                lp.server_cpu_seconds / lp.seconds if lp.seconds else 0.0,
                lp.error or "ok",
            ]
            for lp in loops
        ]
        headers = ["cursors", "records", "seconds", "records/s", "requests/s"]
        headers += ["loop CPU/wall", "server CPU/wall", "status"]
        out += ["the server's ceiling: plain httpx cursor loop, pages thrown away:", ""]
        out += [table(headers, rows), ""]
    largest = max((r.records for r in runs), default=0)
    smallest = min((r.records for r in runs), default=0)
    server_best = max((lp.records_per_second for lp in loops), default=0.0)
    for r in runs:
        if r.records != largest or not r.records_per_second:
            continue
        shares = ", ".join(
            f"{r.records_per_second / (rate * ROWS):.0%} of the {name} budget ({rate}/s)"
            for name, rate in BUDGETS.items()
        )
        limit = ""
        if server_best:
            limit = (
                "; the simulator is the limit"
                if r.records_per_second >= 0.8 * server_best
                else "; the client is the limit"
            )
        per_core = 1000 / r.cpu_per_1000 if r.cpu_per_1000 else 0.0
        out.append(
            f"client ceiling (.{r.output}) = {shares}{limit} (CPU-bound: {per_core:,.0f}"
            " records/s per core of this machine)"
        )
    if smallest != largest:
        out.append("")
        for output in dict.fromkeys(r.output for r in runs):
            small = next((r for r in runs if r.output == output and r.records == smallest), None)
            big = next((r for r in runs if r.output == output and r.records == largest), None)
            if small and big and small.peak_rss_mb and big.peak_rss_mb:
                out.append(
                    f"peak RSS .{output}: {small.peak_rss_mb:,.0f} MB at {smallest:,}, "
                    f"{big.peak_rss_mb:,.0f} MB at {largest:,} "
                    f"({big.peak_rss_mb - small.peak_rss_mb:+,.0f} MB)"
                )
    return "\n".join(out)


def _ints(text: str) -> tuple[int, ...]:
    return tuple(int(s.replace("_", "")) for s in text.split(",") if s.strip())


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=_ints, help="records per harvest (10000,1000000)")
    parser.add_argument("--outputs", default=",".join(OUTPUTS), help="comma-separated subset")
    parser.add_argument("--cursors", type=_ints, help="httpx loop's cursors at once (1,2,4,8)")
    parser.add_argument("--loop-records", type=int, help=f"records per loop ({LOOP_RECORDS:,})")
    parser.add_argument("--quick", action="store_true", help="small sizes (a smoke test)")
    parser.add_argument("--stages", action="store_true", help="also time one page's steps")
    parser.add_argument("--cache", type=int, default=CACHE, help="records the server encodes")
    parser.add_argument(
        "--wire-gzip",
        action="store_true",
        help="gzip the answers as Crossref does (the simulator's gzip then limits the run)",
    )
    parser.add_argument(
        "--concurrency", type=int, help="harvest(concurrency=N) (default: the library's)"
    )
    parser.add_argument("--json", type=Path, help="folder to write ceiling.json into")
    parser.add_argument("--workdir", type=Path, help="where outputs go (a temporary folder)")
    # Internal modes: the simulator's process and the clients' processes.
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--loop", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--records", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve is not None:
        serve_child(args.serve, args.port, args.cache, args.wire_gzip)
        return {}
    if args.child:
        data = harvest_child(args.url, args.out, args.concurrency)
        print(json.dumps(data))
        return data
    if args.loop:
        data = loop_child(args.url, args.records, args.cursors[0] if args.cursors else 1)
        print(json.dumps(data))
        return data
    sizes = args.sizes or (QUICK_SIZES if args.quick else SIZES)
    cursors = args.cursors or (QUICK_CURSORS if args.quick else CURSORS)
    loop_records = args.loop_records or (QUICK_LOOP_RECORDS if args.quick else LOOP_RECORDS)
    outputs = tuple(o.strip().lstrip(".") for o in args.outputs.split(",") if o.strip())
    load = os.getloadavg()[0]
    runs, loops = run(
        sizes,
        outputs,
        cursors,
        loop_records,
        cache=args.cache,
        wire_gzip=args.wire_gzip,
        concurrency=args.concurrency,
        workdir=args.workdir,
    )
    print()
    print(f"machine: {machine()}")
    print(f"load average before the run: {load:.2f} (other work on the machine skews the numbers)")
    print(render(runs, loops))
    stage_rows: list[list[object]] = []
    if args.stages:
        with tempfile.TemporaryDirectory(prefix="stages-", dir=args.workdir) as tmp:
            stage_rows = stages(Path(tmp))
        print()
        print("one 1000-record page (ms, best of 5):")
        print()
        print(table(["step", "ms", "read back ms", "ratio"], stage_rows))
    data = {
        "machine": machine(),
        "preset": "unmetered",
        "rows": ROWS,
        "budgets": BUDGETS,
        "load_before": load,
        "concurrency": args.concurrency,
        "wire_gzip": args.wire_gzip,
        "cache": args.cache,
        "runs": [asdict(r) for r in runs],
        "loops": [asdict(lp) for lp in loops],
        "stages": stage_rows,
    }
    write_json(args.json, "ceiling", data)
    return data


if __name__ == "__main__":
    main()
