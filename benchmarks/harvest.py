"""Bulk harvest throughput and peak memory on the simulator, against single-cursor loops.

For each size, one simulator serves that many works from a separate process (polite-2026
limits, realistic latency per row: about one second for a 1000-row page) and each client
harvests all of them into uncompressed JSONL, in a process of its own so that its peak RSS is
its own:

* crossref-async: ``harvest()`` with its default shard size (about total/8; ``--shards N``
  asks for about N shards), rows=1000;
  the shards run as concurrent cursors under the client's governor.
* habanero: ``works(cursor="*", cursor_max=N, limit=1000)``, which keeps every page in memory
  and returns them as a list; its user then writes the items with ``json.dumps``.
* httpx cursor loop: the loop people write by hand: one request at a time, ``cursor=*`` then
  ``next-cursor`` until a short page, ``json.loads`` per page, ``json.dumps`` per item.

Each output is checked afterwards (lines equal the server's ``total-results``, no DOI twice),
and the run checks the issue's targets: crossref-async at least the list pool's concurrency
limit times habanero's records/s, and its peak RSS at the largest size within 50 MB of the
smallest.

The simulator process is this script in ``--serve`` mode, which caches and encodes every
record before serving (``crossref-async fake-server`` has no option for that, and its
default 20,000-record cache makes the server the bottleneck at 200k); ``--cli-server`` uses
``crossref-async fake-server`` instead.

Run: ``python benchmarks/harvest.py [--sizes 10000,200000 | --quick] [--json results/]``
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import httpx
import msgspec
from _common import MAILTO, habanero_client, machine, table, write_json

from crossref_async.testing import PRESETS, FakeCrossref, Faults, serve_in_thread

PRESET = "polite-2026"
ROWS = 1000
SIZES = (10_000, 200_000)
QUICK_SIZES = (5_000, 20_000)
# ~0.2 s before the answer plus 0.8 ms a row: a 1000-row page takes about a second, the low
# end of what api.crossref.org takes for rows=1000.
FAULTS = Faults(latency=0.15, jitter=0.1, per_row=0.0008)
CLIENTS = ("crossref-async", "habanero", "httpx cursor loop")
RSS_BUDGET_MB = 50.0
SHARDS = 0


@dataclass
class Result:
    records: int
    client: str
    seconds: float = 0.0
    records_per_second: float = 0.0
    x_habanero: float | None = None
    peak_rss_mb: float = 0.0
    baseline_rss_mb: float = 0.0
    lines: int = 0
    duplicates: int = 0
    correct: bool = False
    requests: int = 0
    rate_limited: int = 0
    max_in_flight: int = 0
    error: str | None = None
    details: dict[str, Any] = field(default_factory=dict)


# -- the clients (each runs in a child process: --child CLIENT) ------------------------------


def run_crossref_async(url: str, records: int, out: Path, shards: int) -> dict[str, Any]:
    from crossref_async import Crossref
    from crossref_async.harvest import harvest

    async def go() -> dict[str, Any]:
        async with Crossref(mailto=MAILTO, base_url=url) as cr:
            # 0: the library's own choice (about total/8 a shard); else about `shards` shards.
            target = max(1, -(-records // shards)) if shards > 0 else None
            report = await harvest(cr, cr.works, out=out, target=target, rows=ROWS)
        return {
            "harvester_records": report.records,
            "expected": report.expected,
            "shards": report.shards,
            "shards_redone": report.shards_redone,
            "pages": report.pages,
            "retries": report.retries,
            "rate_limited": report.rate_limited,
            "governor": {name: asdict(s) for name, s in cr.stats().items()},
        }

    return asyncio.run(go())


def run_habanero(url: str, records: int, out: Path, shards: int) -> dict[str, Any]:
    hab = habanero_client(url)
    if hab is None:
        raise RuntimeError("habanero is not installed")
    result = hab.works(cursor="*", cursor_max=records, limit=ROWS)
    pages = result if isinstance(result, list) else [result]
    with open(out, "w") as f:
        for page in pages:
            for item in page["message"]["items"]:
                f.write(json.dumps(item) + "\n")
    return {"pages": len(pages)}


def run_httpx_loop(url: str, records: int, out: Path, shards: int) -> dict[str, Any]:
    pages = 0
    cursor = "*"
    with httpx.Client(base_url=url, timeout=60.0) as http, open(out, "w") as f:
        while True:
            params = {"rows": str(ROWS), "cursor": cursor, "mailto": MAILTO}
            response = http.get("/works", params=params)
            response.raise_for_status()
            message = json.loads(response.content)["message"]
            pages += 1
            for item in message["items"]:
                f.write(json.dumps(item) + "\n")
            if len(message["items"]) < ROWS or not message.get("next-cursor"):
                break
            cursor = message["next-cursor"]
    return {"pages": pages}


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


def child(client: str, url: str, records: int, out: Path, shards: int) -> dict[str, Any]:
    """One client's harvest in this process: seconds, peak RSS and what the client said."""
    baseline = _rss_mb()
    started = time.perf_counter()
    details = RUNNERS[client](url, records, out, shards)
    seconds = time.perf_counter() - started
    return {
        "seconds": seconds,
        "peak_rss_mb": _rss_mb(),
        "baseline_rss_mb": baseline,
        "details": details,
    }


# -- the simulator (a separate process) -------------------------------------------------------


def serve_child(works: int, port: int, faults: Faults) -> None:
    """``--serve``: every record encoded and cached ahead, then served on ``port`` until the
    parent closes this process's stdin."""
    sim = FakeCrossref(works=works, limits=PRESET, faults=faults, cache_records=works)
    sim.corpus.warm()
    with serve_in_thread(sim, port=port):
        sys.stdin.read()


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextlib.contextmanager
def server(works: int, faults: Faults, *, cli: bool = False) -> Iterator[str]:
    """The simulator in a child process; yields its base URL once it answers."""
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
    proc = subprocess.Popen(command, stdin=subprocess.PIPE)
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
        yield url
    finally:
        if proc.stdin is not None:
            proc.stdin.close()  # --serve mode stops on end of input
        if cli:
            proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


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


def measure(
    url: str, records: int, client: str, workdir: Path, *, shards: int, keep: bool
) -> Result:
    result = Result(records=records, client=client)
    expected = httpx.get(f"{url}/works", params={"rows": "0", "mailto": MAILTO}).json()
    expected_total = int(expected["message"]["total-results"])
    time.sleep(1.5)  # a fresh rate window for the client
    httpx.post(f"{url}/_reset")
    out = workdir / f"{client.replace(' ', '-')}-{records}.jsonl"
    command = [sys.executable, __file__, "--child", client, "--url", url]
    command += ["--records", str(records), "--out", str(out), "--shards", str(shards)]
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
    lines = [line for line in proc.stdout.splitlines() if line.strip()]
    if proc.returncode != 0 or not lines:
        result.error = (proc.stderr.strip().splitlines() or [f"exit {proc.returncode}"])[-1]
        return result
    data = json.loads(lines[-1])
    result.seconds = data["seconds"]
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
    results: list[Result] = []
    with contextlib.ExitStack() as stack:
        if workdir is None:
            workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="harvest-")))
        workdir.mkdir(parents=True, exist_ok=True)
        for size in sizes:
            progress(f"simulator: {size:,} works ({'cold' if cli_server else 'warming'})")
            with server(size, faults, cli=cli_server) as url:
                for client in clients:
                    progress(f"  {size:>9,}  {client}")
                    result = measure(url, size, client, workdir, shards=shards, keep=keep)
                    pools = result.details.get("governor", {})
                    window = ", ".join(
                        f"{name} concurrency at the end {p['concurrency']}"
                        f"/{p['advertised_concurrency']}"
                        for name, p in pools.items()
                        if p["requests"]
                    )
                    progress(
                        f"             {result.seconds:.1f} s, {result.records_per_second:,.0f}"
                        f" records/s, {result.peak_rss_mb:,.0f} MB, {result.requests} requests,"
                        f" {result.rate_limited} 429s, at most {result.max_in_flight} in flight"
                        + (f"; {window}" if window else "")
                        + (f"; error: {result.error}" if result.error else "")
                    )
                    results.append(result)
    for r in results:
        hab = next((h for h in results if h.records == r.records and h.client == "habanero"), None)
        if hab is not None and hab.records_per_second > 0 and r.error is None:
            r.x_habanero = r.records_per_second / hab.records_per_second
    return results


def targets(results: list[Result]) -> dict[str, Any]:
    """The issue's targets, checked: throughput against habanero, flat memory."""
    pool = PRESETS[PRESET].list
    ratio = float(pool.concurrency if pool is not None else 1)
    ours = sorted((r for r in results if r.client == "crossref-async"), key=lambda r: r.records)
    throughput = {
        r.records: {"x_habanero": r.x_habanero, "met": (r.x_habanero or 0.0) >= ratio} for r in ours
    }
    memory: dict[str, Any] = {}
    if len(ours) >= 2:
        growth = ours[-1].peak_rss_mb - ours[0].peak_rss_mb
        memory = {
            "from": ours[0].records,
            "to": ours[-1].records,
            "growth_mb": growth,
            "met": growth <= RSS_BUDGET_MB,
        }
    return {"ratio": ratio, "throughput": throughput, "memory": memory}


def render(results: list[Result], checked: dict[str, Any]) -> str:
    rows = [
        [
            r.records,
            r.client,
            r.seconds,
            r.records_per_second,
            f"{r.x_habanero:.2f}x" if r.x_habanero is not None else "-",
            r.peak_rss_mb,
            "yes" if r.correct else ("no (failed, see JSON)" if r.error else "no"),
        ]
        for r in results
    ]
    headers = ["records", "client", "seconds", "records/s", "x habanero", "peak RSS MB"]
    out = [table([*headers, "correct"], rows), ""]
    ratio = checked["ratio"]
    for size, check in checked["throughput"].items():
        x = check["x_habanero"]
        shown = f"{x:.2f}x" if x is not None else "n/a"
        verdict = "met" if check["met"] else "NOT met"
        out.append(f"target: records/s >= {ratio:g}x habanero at {size:,}: {shown} ({verdict})")
    memory = checked["memory"]
    if memory:
        verdict = "met" if memory["met"] else "NOT met"
        out.append(
            f"target: peak RSS at {memory['to']:,} - at {memory['from']:,} <= "
            f"{RSS_BUDGET_MB:g} MB: {memory['growth_mb']:+.1f} MB ({verdict})"
        )
    return "\n".join(out)


def _sizes(text: str) -> tuple[int, ...]:
    return tuple(int(s.replace("_", "")) for s in text.split(",") if s.strip())


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=_sizes, default=SIZES, help="comma-separated records")
    parser.add_argument("--quick", action="store_true", help="sizes 5000,20000 (smoke test)")
    parser.add_argument("--clients", default=",".join(CLIENTS), help="comma-separated subset")
    parser.add_argument("--json", type=Path, help="folder to write harvest.json into")
    parser.add_argument("--workdir", type=Path, help="where outputs go (a temporary folder)")
    parser.add_argument("--keep", action="store_true", help="keep the JSONL outputs")
    parser.add_argument("--cli-server", action="store_true", help="serve with fake-server")
    parser.add_argument(
        "--shards", type=int, default=SHARDS, help="crossref-async's shards (0: its default)"
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
        f"simulator: {PRESET}, latency {faults.latency} s + up to {faults.jitter} s jitter"
        f" + {faults.per_row * 1000:g} ms a row, {'cold' if args.cli_server else 'warm'} cache"
    )
    print(render(results, checked))
    data = {
        "machine": machine(),
        "preset": PRESET,
        "faults": asdict(faults),
        "rows": ROWS,
        "shards": args.shards,
        "server": "fake-server (cold)" if args.cli_server else "warm cache",
        "results": [asdict(r) for r in results],
        "targets": checked,
    }
    write_json(args.json, "harvest", data)
    return data


if __name__ == "__main__":
    main()
