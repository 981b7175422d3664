"""K processes of one identity: independent governors against one budget shared through Redis.

Crossref grants its budget per identity, so K processes with the same ``mailto`` (the README's
``plan`` -> one ``harvest --shard`` per array task recipe, or K web workers) must share it. The
simulator runs in a process of its own enforcing the polite-2026 limits (list pool: 3 requests
a second, 3 in flight; ``--quick`` keeps them and only harvests fewer records), with a little
latency (0.2 s + up to 0.2 s jitter + 1 ms a row: about one request in flight at the limit's
pace, so the rate is what binds a governor that keeps to it, while processes that each think
they have the whole budget go over the concurrency limit too), and a ``redis-server`` runs on a
free loopback port.

For each K and each mode, K worker processes (this script's ``worker`` subcommand) harvest
their own shards of one plan, written to a shared plan file (the plan's shards spread over the
K workers, largest first onto the least loaded, so that their loads are even), all started at
the same moment:

* independent: ``Crossref(mailto=...)`` in each worker, no budget (today's default);
* shared: ``Crossref(mailto=..., budget=SharedBudget(url, ...))`` in each worker, one Redis.

Each row reports, from the simulator's own log and counters: the achieved list-request rate as
a percentage of the limit (in the steady state: from one interval after the start until fewer
shards are left than a harvest runs at once, the pool's concurrency; the admitted requests'
starts in it, n of them, span some seconds: n - 1 divided by limit x those seconds), the 429s
(in the steady state, and all of them), the most requests in flight at once as the
simulator saw them (refused ones included), and whether the records are exact (every worker's
output holds exactly its shards' counts, no DOI twice, and all workers together the plan's
total). Redis is emptied between rows and every ``SharedBudget`` is made with
``cold_start=False``: the server is started fresh for the run, so it cannot have forgotten
anything, and the cold start's one-TTL wait for the first lease would only blur the numbers.

Then a killed worker's slot returning: a worker on the shared budget fills its window with list
requests the simulator holds for 12 s, a second worker starts and waits for a slot, the first is
SIGKILLed mid-request (so it never releases its leases), and the time until the second one's
request reaches the simulator is measured: the leases lapse within their TTL of the last
renewal (renewed every TTL/3, so between 2/3 of the TTL and the TTL after the kill).

Targets (issue 15): shared >= 95% of the limit at every K, no 429 in the steady state, never
more in flight than the limit.

Run: ``python benchmarks/shared_budget.py [--quick] [--out results/shared_budget.json]``
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import IO, Any

import httpx
import msgspec
from _common import MAILTO, Simulator, machine, simulator_process, table

from crossref_async.testing import PRESETS, Faults

PRESET = "polite-2026"
KS = (1, 2, 4, 8)
QUICK_KS = (1, 2, 4)
MODES = ("independent", "shared")
WORKS = 2000
QUICK_WORKS = 1200
SHARDS = 16  # the plan's target is works/SHARDS records a shard
ROWS = 50
FAULTS = Faults(latency=0.2, jitter=0.2, per_row=0.001)
LEASE_TTL = 10.0
# The killed worker's requests: pages of KILL_ROWS rows the simulator takes KILL_HOLD seconds
# to answer (1/KILL_ROWS of it a row), still running when it dies; rows=0 pages are instant.
KILL_HOLD = 12.0
KILL_ROWS = 300
WORKER_TIMEOUT = 300.0
OUT = Path(__file__).resolve().parent / "results" / "shared_budget.json"

_LIST = PRESETS[PRESET].list
assert _LIST is not None
LIMIT = _LIST.rate / _LIST.interval  # list requests a second
INTERVAL = _LIST.interval
CONCURRENCY = _LIST.concurrency
POOL = _LIST.name


# -- redis-server on loopback ----------------------------------------------------------------


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _command(port: int, *words: str) -> bytes:
    """One Redis command in RESP by hand (the parent needs nothing but a socket), its reply."""
    data = f"*{len(words)}\r\n".encode() + b"".join(
        f"${len(w.encode())}\r\n{w}\r\n".encode() for w in words
    )
    with socket.create_connection(("127.0.0.1", port), timeout=2) as sock:
        sock.sendall(data)
        return sock.recv(256)


@dataclass(frozen=True)
class Redis:
    """A ``redis-server`` of this run on ``127.0.0.1:port``, no persistence."""

    port: int
    process: subprocess.Popen[bytes]

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def flush(self) -> None:
        """Forget every key (each row starts from an empty budget)."""
        reply = _command(self.port, "FLUSHALL")
        if not reply.startswith(b"+OK"):
            raise RuntimeError(f"FLUSHALL: {reply!r}")

    def version(self) -> str:
        reply = _command(self.port, "INFO", "server").decode(errors="replace")
        for line in reply.splitlines():
            if line.startswith("redis_version:"):
                return line.split(":", 1)[1].strip()
        return "?"


@contextlib.contextmanager
def redis_server() -> Iterator[Redis]:
    """``redis-server`` (from PATH or ``$REDIS_SERVER``) on a free loopback port, in a
    temporary folder; stopped when the block ends."""
    binary = os.environ.get("REDIS_SERVER") or shutil.which("redis-server")
    if binary is None:
        raise SystemExit("redis-server not found (apt-get install redis-server, or $REDIS_SERVER)")
    with tempfile.TemporaryDirectory(prefix="shared-bench-redis-") as directory:
        port = _free_port()
        command = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", ""]
        command += ["--appendonly", "no", "--dir", directory]
        proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 10
            while True:
                with contextlib.suppress(OSError):
                    if _command(port, "PING").startswith(b"+PONG"):
                        break
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"redis-server did not start on port {port}")
                time.sleep(0.02)  # waiting for a process to answer, not for time to pass
            yield Redis(port, proc)
        finally:
            proc.terminate()
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


# -- the workers (each a process: ``shared_budget.py worker ...``) ----------------------------


def _client(args: argparse.Namespace, *, timeout: float | None = None) -> Any:
    """The worker's Crossref: its own governor, or on the shared budget."""
    from crossref_async import Crossref

    options: dict[str, Any] = {"mailto": MAILTO, "base_url": args.url}
    if timeout is not None:
        options["timeout"] = timeout
    if args.budget:
        from crossref_async import SharedBudget
        from crossref_async._shared import identity_for  # the key a URL budget would use

        options["budget"] = SharedBudget(
            args.budget,
            identity=identity_for(MAILTO),
            lease_ttl=args.lease_ttl,
            cold_start=False,  # a fresh server of this run: nothing can have been forgotten
        )
    return Crossref(**options)


def _say(text: str) -> None:
    print(text, flush=True)


async def _wait_for_go() -> None:
    line = await asyncio.to_thread(sys.stdin.readline)
    if line.strip() != "go":
        raise SystemExit("no go")


async def worker_harvest(args: argparse.Namespace) -> dict[str, Any]:
    """Harvest this worker's shards of the plan file into ``--out`` (its parts stay in
    ``<out>.harvest/``: the other shards are other workers')."""
    from crossref_async.harvest import Plan, Progress, harvest

    the_plan = Plan.from_json(args.plan_text)
    shard_ids = [int(s) for s in args.shards.split(",")]
    shards_done: list[float] = []  # when each of its shards was done

    def progress(p: Progress) -> None:
        while len(shards_done) < p.shards_done:
            shards_done.append(time.monotonic())

    async with _client(args) as cr:
        _say("ready")
        await _wait_for_go()
        started = time.monotonic()
        report = await harvest(
            cr, the_plan, out=args.out, shard_ids=shard_ids, rows=args.rows, on_progress=progress
        )
        finished = time.monotonic()
        shards_done += [finished] * (len(shard_ids) - len(shards_done))
        stats = {name: asdict(s) for name, s in cr.stats().items()}
    return {
        "started": started,
        "finished": finished,
        "shards_done": shards_done,
        "records": report.records,
        "expected": report.expected,
        "pages": report.pages,
        "retries": report.retries,
        "rate_limited": report.rate_limited,
        "governor": stats,
    }


async def worker_hold(args: argparse.Namespace) -> dict[str, Any]:
    """Fill the window with list requests the simulator holds, and stay (to be killed)."""
    async with _client(args, timeout=KILL_HOLD * 4) as cr:
        await cr.works.page(rows=0)  # an instant answer: the governor learns the window
        _say("ready")
        pages = (cr.works.page(rows=KILL_ROWS, offset=i) for i in range(CONCURRENCY))
        await asyncio.gather(*pages)
    return {}


async def worker_probe(args: argparse.Namespace) -> dict[str, Any]:
    """Send one list request as soon as the budget gives a slot."""
    async with _client(args, timeout=KILL_HOLD * 4) as cr:
        _say("ready")
        await cr.works.page(rows=0)
    return {}


WORKERS: dict[str, Callable[[argparse.Namespace], Any]] = {
    "harvest": worker_harvest,
    "hold": worker_hold,
    "probe": worker_probe,
}


def worker_main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(prog="shared_budget.py worker")
    parser.add_argument("mode", choices=WORKERS)
    parser.add_argument("--url", required=True)
    parser.add_argument("--budget", help="Redis URL of the shared budget (none: independent)")
    parser.add_argument("--lease-ttl", type=float, default=LEASE_TTL)
    parser.add_argument("--plan")
    parser.add_argument("--shards")
    parser.add_argument("--out")
    parser.add_argument("--rows", type=int, default=ROWS)
    args = parser.parse_args(argv)
    args.plan_text = Path(args.plan).read_text() if args.plan else ""
    result = asyncio.run(WORKERS[args.mode](args))
    print(json.dumps(result), flush=True)


def _spawn(mode: str, url: str, budget: str | None, lease_ttl: float, *extra: str) -> Worker:
    command = [sys.executable, str(Path(__file__).resolve()), "worker", mode, "--url", url]
    if budget is not None:
        command += ["--budget", budget, "--lease-ttl", str(lease_ttl)]
    command += list(extra)
    env = {k: v for k, v in os.environ.items() if k != "CROSSREF_BUDGET"}
    # Closed by Worker.stop(), which every path through the runs calls.
    errors = tempfile.TemporaryFile("w+")  # noqa: SIM115
    proc = subprocess.Popen(
        command,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=errors,
        text=True,
        env=env,
    )
    return Worker(proc, errors)


@dataclass
class Worker:
    """A worker process, its standard error kept for the report."""

    process: subprocess.Popen[str]
    errors: IO[str]

    def ready(self) -> bool:
        """Wait until the worker says it is ready (False if it died first)."""
        assert self.process.stdout is not None
        return self.process.stdout.readline().strip() == "ready"

    def go(self) -> None:
        assert self.process.stdin is not None
        with contextlib.suppress(OSError):
            self.process.stdin.write("go\n")
            self.process.stdin.flush()

    def result(self, timeout: float) -> tuple[dict[str, Any] | None, str | None]:
        """The worker's JSON answer, or None and why not."""
        try:
            out, _ = self.process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.stop()
            return None, "timed out"
        lines = [line for line in (out or "").splitlines() if line.strip()]
        if self.process.returncode == 0 and lines:
            with contextlib.suppress(ValueError):
                return json.loads(lines[-1]), None
        return None, self.error() or f"exit {self.process.returncode}"

    def error(self) -> str:
        self.errors.seek(0)
        lines = [line for line in self.errors.read().splitlines() if line.strip()]
        return lines[-1] if lines else ""

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(10)
        for pipe in (self.process.stdin, self.process.stdout):
            with contextlib.suppress(OSError):
                if pipe is not None:
                    pipe.close()
        self.errors.close()


# -- the plan and the records -------------------------------------------------------------------


async def _make_plan(url: str, works: int) -> str:
    from crossref_async import Crossref
    from crossref_async.harvest import plan

    async with Crossref(mailto=MAILTO, base_url=url) as cr:
        the_plan = await plan(cr.works, target=max(1, -(-works // SHARDS)))
    return the_plan.to_json()


def assign(counts: Sequence[tuple[int, int]], k: int) -> list[list[int]]:
    """Shard ids spread over ``k`` workers, largest shard first onto the least loaded worker
    (so that the workers finish together).

    >>> assign([(0, 5), (1, 3), (2, 3), (3, 1)], 2)
    [[0, 3], [1, 2]]
    """
    bins: list[list[int]] = [[] for _ in range(k)]
    loads = [0] * k
    for shard_id, count in sorted(counts, key=lambda c: (-c[1], c[0])):
        i = loads.index(min(loads))
        bins[i].append(shard_id)
        loads[i] += count
    return [sorted(b) for b in bins]


class _Doi(msgspec.Struct):
    DOI: str = ""


def read_dois(out: Path) -> tuple[int, set[str]]:
    """Lines in a worker's output and their distinct DOIs: the output itself once the harvest
    published it (the worker ran every shard), else its parts (``<out>.harvest/*.jsonl``:
    the other shards are other workers')."""
    decoder = msgspec.json.Decoder(_Doi)
    lines = 0
    seen: set[str] = set()
    files = [out] if out.exists() else sorted(Path(str(out) + ".harvest").glob("*.jsonl"))
    for path in files:
        with open(path, "rb") as f:
            for line in f:
                if line.strip():
                    lines += 1
                    seen.add(decoder.decode(line).DOI.lower())
    return lines, seen


# -- one row: K workers in one mode -------------------------------------------------------------


@dataclass
class Row:
    k: int
    mode: str
    share: float = 0.0  # achieved rate / limit, steady state
    achieved: float = 0.0  # admitted list requests a second, steady state
    steady_seconds: float = 0.0
    admitted: int = 0  # list requests admitted, whole run
    rejected_steady: int = 0  # 429s in the steady state
    rejected: int = 0  # 429s, whole run
    max_in_flight: int = 0  # the simulator's, refused requests included
    exact: bool = False
    records: int = 0
    expected: int = 0
    seconds: float = 0.0  # from go until the last worker finished
    errors: list[str] = field(default_factory=list)
    workers: list[dict[str, Any]] = field(default_factory=list)


def run_row(
    sim: Simulator,
    redis: Redis,
    plan_file: Path,
    plan_json: dict[str, Any],
    k: int,
    mode: str,
    workdir: Path,
    *,
    rows: int,
    lease_ttl: float,
) -> Row:
    row = Row(k=k, mode=mode)
    counts = [(int(s["id"]), int(s["count"] or 0)) for s in plan_json["shards"]]
    by_id = dict(counts)
    shares = [b for b in assign(counts, k) if b]
    redis.flush()
    time.sleep(1.5 * INTERVAL)  # the previous row's starts leave the simulator's window
    httpx.post(f"{sim.url}/_reset").raise_for_status()
    budget = redis.url if mode == "shared" else None
    workers: list[Worker] = []
    outs: list[Path] = []
    try:
        for i, ids in enumerate(shares):
            out = workdir / f"{mode}-k{k}-w{i}.jsonl"
            outs.append(out)
            extra = ["--plan", str(plan_file), "--shards", ",".join(map(str, ids))]
            extra += ["--out", str(out), "--rows", str(rows)]
            workers.append(_spawn("harvest", sim.url, budget, lease_ttl, *extra))
        for w in workers:
            if not w.ready():
                row.errors.append(w.error() or "a worker died before starting")
        offset = sim.clock() - time.monotonic()  # the same clock on Linux; measured anyway
        go = time.monotonic()
        for w in workers:
            w.go()
        answers = [w.result(WORKER_TIMEOUT) for w in workers]
    finally:
        for w in workers:
            w.stop()
    end = time.monotonic()
    stats = httpx.get(f"{sim.url}/_stats").json()
    log = [r for r in sim.log() if r[2] == POOL]
    for answer, error in answers:
        if answer is None:
            row.errors.append(error or "no answer")
        else:
            row.workers.append(answer)
    finished = [a["finished"] for a in row.workers]
    last = max(finished) if finished else end
    row.seconds = last - go
    # Steady state: from one interval after the start while at least CONCURRENCY shards are
    # left anywhere (a harvest runs that many cursors at once; fewer cursors cannot keep the
    # limit busy, since one manages only about 1/latency requests a second).
    done = sorted(t for w in row.workers for t in w["shards_done"])
    cut = len(done) - CONCURRENCY
    a, b = go + INTERVAL + offset, (done[cut - 1] if cut > 0 else last) + offset
    if b - a < 2 * INTERVAL:  # too short to say anything: the whole run
        a, b = go + offset, last + offset
    steady = [r for r in log if a <= r[0] < b]
    # The interval runs from the first admitted start in it to the last: n starts, n - 1 gaps
    # (the window's edges then cost no fraction of a request either way).
    admitted = sorted(r[0] for r in steady if r[3] != 429)
    if len(admitted) > 1:
        row.steady_seconds = admitted[-1] - admitted[0]
        row.achieved = (len(admitted) - 1) / row.steady_seconds
    row.share = row.achieved / LIMIT
    row.rejected_steady = sum(1 for r in steady if r[3] == 429)
    row.rejected = int(stats["rate_limited_by_pool"].get(POOL, 0))
    row.admitted = int(stats["requests_by_pool"].get(POOL, 0)) - row.rejected
    row.max_in_flight = int(stats["max_in_flight_by_pool"].get(POOL, 0))
    # Records: each worker's parts hold exactly its shards, no DOI twice; all of them the plan.
    union: set[str] = set()
    exact = not row.errors and len(outs) == len(shares)
    for out, ids in zip(outs, shares, strict=True):
        lines, dois = read_dois(out)
        expected = sum(by_id[i] for i in ids)
        exact = exact and lines == len(dois) == expected and not (union & dois)
        union |= dois
        row.records += lines
        row.expected += expected
    row.exact = exact and len(union) == int(plan_json["total"]) == row.expected
    return row


# -- a killed worker's slot ---------------------------------------------------------------------


@dataclass
class Kill:
    lease_ttl: float
    held: int = 0  # requests the killed worker had in flight (its leases)
    blocked: bool = False  # the second worker waited while they were held
    seconds: float | None = None  # from SIGKILL until the second worker's request arrived
    error: str | None = None


def _list_stats(url: str) -> tuple[int, int]:
    stats = httpx.get(f"{url}/_stats").json()
    return (
        int(stats["in_flight_by_pool"].get(POOL, 0)),
        int(stats["requests_by_pool"].get(POOL, 0)),
    )


def run_kill(redis: Redis, lease_ttl: float) -> Kill:
    result = Kill(lease_ttl=lease_ttl)
    redis.flush()
    faults = Faults(per_row=KILL_HOLD / KILL_ROWS)
    with simulator_process(works=KILL_ROWS, preset=PRESET, faults=faults) as sim:
        holder = _spawn("hold", sim.url, redis.url, lease_ttl)
        probe: Worker | None = None
        try:
            if not holder.ready():
                result.error = holder.error() or "the holding worker died"
                return result
            # Its requests arrive; the window is full once the count stays put for a while.
            last, since, sent = -1, time.monotonic(), 0
            deadline = since + 20
            while time.monotonic() < deadline:
                in_flight, sent = _list_stats(sim.url)
                if in_flight != last:
                    last, since = in_flight, time.monotonic()
                elif in_flight > 0 and time.monotonic() - since > 1.5:
                    break
                time.sleep(0.05)
            result.held = last
            probe = _spawn("probe", sim.url, redis.url, lease_ttl)
            if not probe.ready():
                result.error = probe.error() or "the waiting worker died"
                return result
            time.sleep(1.0)  # its request is asking the budget by now
            in_flight, before = _list_stats(sim.url)
            result.blocked = in_flight == result.held and before == sent
            killed = time.monotonic()
            os.kill(holder.process.pid, signal.SIGKILL)
            holder.process.wait()
            deadline = killed + 3 * lease_ttl
            while time.monotonic() < deadline:
                _, arrived = _list_stats(sim.url)
                if arrived > before:
                    result.seconds = time.monotonic() - killed
                    break
                time.sleep(0.02)
            else:
                result.error = f"no slot within {3 * lease_ttl:g} s"
            # The simulator finishes the dead worker's requests before it stops (quietly).
            deadline = time.monotonic() + KILL_HOLD + 5
            while _list_stats(sim.url)[0] > 0 and time.monotonic() < deadline:
                time.sleep(0.1)
        finally:
            holder.stop()
            if probe is not None:
                probe.stop()
    return result


# -- the run ------------------------------------------------------------------------------------


def run(
    ks: Sequence[int],
    modes: Sequence[str],
    works: int,
    *,
    rows: int,
    lease_ttl: float,
    kill: bool,
    faults: Faults = FAULTS,
    progress: Callable[[str], None] = print,
) -> tuple[list[Row], Kill | None, dict[str, Any]]:
    results: list[Row] = []
    kill_result: Kill | None = None
    with contextlib.ExitStack() as stack:
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="shared-bench-")))
        redis = stack.enter_context(redis_server())
        progress(f"redis-server {redis.version()} on {redis.url}")
        sim = stack.enter_context(simulator_process(works=works, preset=PRESET, faults=faults))
        progress(f"simulator ({PRESET}, {works:,} works) on {sim.url}")
        plan_text = asyncio.run(_make_plan(sim.url, works))
        plan_file = workdir / "plan.json"
        plan_file.write_text(plan_text)
        plan_json = json.loads(plan_text)
        progress(f"plan: {plan_json['total']:,} records in {len(plan_json['shards'])} shards")
        for k in ks:
            for mode in modes:
                row = run_row(
                    sim, redis, plan_file, plan_json, k, mode, workdir,
                    rows=rows, lease_ttl=lease_ttl,
                )  # fmt: skip
                progress(
                    f"  K={k} {mode:11} {100 * row.share:5.1f}% of the limit,"
                    f" {row.rejected_steady}/{row.rejected} 429s (steady/all),"
                    f" at most {row.max_in_flight} in flight,"
                    f" records {'exact' if row.exact else 'NOT exact'}"
                    f" ({row.records:,}/{row.expected:,}), {row.seconds:.1f} s"
                    + (f"; errors: {row.errors}" if row.errors else "")
                )
                results.append(row)
        if kill:
            progress(f"killed worker, lease TTL {lease_ttl:g} s")
            kill_result = run_kill(redis, lease_ttl)
            progress(f"  {kill_result}")
    return results, kill_result, plan_json


def targets(results: Sequence[Row]) -> dict[str, Any]:
    """The issue's targets, checked on the shared rows."""
    shared = [r for r in results if r.mode == "shared"]
    return {
        "rate": {r.k: {"share": r.share, "met": r.share >= 0.95} for r in shared},
        "no_429_steady": {r.k: r.rejected_steady == 0 for r in shared},
        "in_flight": {r.k: r.max_in_flight <= CONCURRENCY for r in shared},
        "exact": {r.k: r.exact for r in shared},
    }


def render(results: Sequence[Row], kill: Kill | None, checked: dict[str, Any]) -> str:
    by = {(r.k, r.mode): r for r in results}
    ks = sorted({r.k for r in results})
    modes = [m for m in MODES if any(r.mode == m for r in results)]
    short = {"independent": "indep.", "shared": "shared"}
    headers = ["K"]
    for m in modes:
        headers += [f"{short[m]} % of limit", f"{short[m]} 429s", f"{short[m]} max in flight"]
        headers += [f"{short[m]} exact", f"{short[m]} s"]
    rows: list[list[object]] = []
    for k in ks:
        cells: list[object] = [k]
        for m in modes:
            r = by.get((k, m))
            if r is None:
                cells += ["-"] * 5
                continue
            cells += [
                f"{100 * r.share:.1f}%",
                f"{r.rejected_steady} / {r.rejected}",
                r.max_in_flight,
                "yes" if r.exact else "no",
                round(r.seconds, 1),
            ]
        rows.append(cells)
    out = [
        table(headers, rows),
        "",
        f"% of limit: admitted list requests in the steady state / ({LIMIT:g}/s x seconds);"
        " 429s: steady state / whole run; max in flight: the simulator's count"
        f" (limit {CONCURRENCY}, refused requests included); s: harvest wall time.",
    ]
    if kill is not None:
        if kill.seconds is not None:
            caveat = "" if kill.blocked else " (but the waiting worker was not blocked)"
            out.append(
                f"killed worker's slot: back after {kill.seconds:.1f} s (lease TTL"
                f" {kill.lease_ttl:g} s; {kill.held} leases held at the SIGKILL){caveat}"
            )
        else:
            out.append(f"killed worker's slot: not measured ({kill.error})")
    if checked["rate"]:

        def verdict(values: dict[int, bool]) -> str:
            return "met" if all(values.values()) else "NOT met"

        share = {k: v["met"] for k, v in checked["rate"].items()}
        low = min(v["share"] for v in checked["rate"].values())
        out.append(f"target: shared >= 95% of the limit at every K: {100 * low:.1f}% at worst"
                   f" ({verdict(share)})")  # fmt: skip
        out.append(
            f"target: shared, 0 429s in the steady state ({verdict(checked['no_429_steady'])})"
        )
        out.append(
            f"target: shared, in flight never above {CONCURRENCY} ({verdict(checked['in_flight'])})"
        )
        out.append(f"shared, records exact at every K ({verdict(checked['exact'])})")
    return "\n".join(out)


def _ints(text: str) -> tuple[int, ...]:
    return tuple(int(s) for s in text.split(",") if s.strip())


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick", action="store_true", help=f"K in {QUICK_KS}, {QUICK_WORKS} works"
    )
    parser.add_argument("--ks", type=_ints, help="comma-separated process counts (1,2,4,8)")
    parser.add_argument("--modes", default=",".join(MODES), help="comma-separated subset")
    parser.add_argument("--works", type=int, help=f"records to harvest (default {WORKS:,})")
    parser.add_argument("--rows", type=int, default=ROWS, help="rows a page")
    parser.add_argument("--lease-ttl", type=float, default=LEASE_TTL, help="seconds")
    parser.add_argument("--no-kill", action="store_true", help="skip the killed-worker run")
    parser.add_argument("--latency", type=float, default=FAULTS.latency, help="seconds")
    parser.add_argument("--jitter", type=float, default=FAULTS.jitter, help="seconds")
    parser.add_argument("--per-row", type=float, default=FAULTS.per_row, help="seconds a row")
    parser.add_argument("--out", type=Path, default=OUT, help="JSON results file")
    args = parser.parse_args(argv)
    ks = args.ks or (QUICK_KS if args.quick else KS)
    works = args.works or (QUICK_WORKS if args.quick else WORKS)
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    faults = Faults(latency=args.latency, jitter=args.jitter, per_row=args.per_row)
    results, kill, plan_json = run(
        ks,
        modes,
        works,
        rows=args.rows,
        lease_ttl=args.lease_ttl,
        kill=not args.no_kill,
        faults=faults,
    )
    checked = targets(results)
    print()
    print(f"machine: {machine()}")
    print(
        f"simulator: {PRESET} ({POOL}: {LIMIT:g} requests/s, {CONCURRENCY} in flight),"
        f" latency {faults.latency:g} s + up to {faults.jitter:g} s + {faults.per_row * 1000:g} ms"
        f" a row; {plan_json['total']:,} records in {len(plan_json['shards'])} shards,"
        f" {args.rows} rows a page"
    )
    print(render(results, kill, checked))
    data = {
        "machine": machine(),
        "preset": PRESET,
        "pool": {"name": POOL, "rate": LIMIT, "interval": INTERVAL, "concurrency": CONCURRENCY},
        "faults": asdict(faults),
        "works": works,
        "records": plan_json["total"],
        "shards": len(plan_json["shards"]),
        "rows": args.rows,
        "lease_ttl": args.lease_ttl,
        "cold_start": False,
        "results": [asdict(r) for r in results],
        "kill": asdict(kill) if kill is not None else None,
        "targets": checked,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(data, indent=2, default=str))
    return data


if __name__ == "__main__":
    if sys.argv[1:2] == ["worker"]:
        worker_main(sys.argv[2:])
    else:
        main()
