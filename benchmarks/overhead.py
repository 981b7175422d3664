"""What the client itself costs: requests/s and CPU per request against a bare httpx loop.

The simulator answers at once (no latency) and advertises limits far above anything a client
reaches (the ``unmetered`` preset: a million per second, 1000 at once), so the governor, the
retry layer, validation, URL building and the typed decoding of crossref-async are all on the
path but none of them waits. Two request kinds, single records (``/works/{doi}``) and list
pages (``/works?rows=100``), each

* one request in flight: crossref-async, a bare httpx loop, an httpx + aiolimiter loop
  (limiter and semaphore at the advertised limits), habanero (``works(ids=doi)``,
  ``works(limit=100, offset=...)``) and crossrefapi (``Works().doi(doi)``, the first 100
  items of ``Works()``, which is one ``rows=100`` request);
* 16 requests in flight: crossref-async, bare httpx, httpx + aiolimiter (the synchronous
  peers cannot).

Every client parses each body: the loops with ``response.json()``, habanero and crossrefapi
their own way, crossref-async into typed ``Work`` objects. Each run opens its client and warms
it up (connections, caches) before the clock starts.

Two numbers per run, each also as a share of bare httpx's: requests/s, and the CPU time (user
+ system) this process spent per request, the client's own cost. The simulator runs in a
separate process (``_common.simulator_process``), never in a thread of this one: in one
process the server would share the GIL and the CPU-time count with the client, and the
numbers would measure the server as much as the client. With few cores the server can still
be what limits requests/s (its CPU per request is shown too: when that times requests/s
nears one core, the server is the bottleneck), which makes requests/s look alike; CPU per
request shows the client's cost whatever the server does.

A run stops after ``--requests`` single records (a tenth as many list pages) or ``--seconds``,
whichever comes first. Each client runs ``--repeat`` times, in turn with the others so that a
busy moment of the machine hits them all, and the best counts (most requests/s, least CPU
per request). The target: crossref-async within 10% of bare httpx at 16 in flight.

Run: ``python benchmarks/overhead.py [--requests 1500] [--seconds 1] [--repeat 3]
[--clients ...] [--json results/]`` (about a minute with the defaults)
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import itertools
import math
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
from _common import (
    MAILTO,
    Simulator,
    crossrefapi_on,
    habanero_client,
    machine,
    simulator_process,
    table,
    write_json,
)
from aiolimiter import AsyncLimiter

from crossref_async import Crossref
from crossref_async.testing import PRESETS

PRESET = "unmetered"
WORKS = 2000
ROWS = 100
IN_FLIGHT = (1, 16)
KINDS = ("single", "list")
KIND_NAMES = {"single": "single record", "list": f"list (rows={ROWS})"}
TARGET = 0.10  # crossref-async within 10% of bare httpx at the larger in-flight count
BARE = "bare httpx"
PLAIN_DOI = re.compile(r"10\.\d{4,9}/[A-Za-z0-9._-]+")


@dataclass
class Result:
    kind: str
    in_flight: int
    client: str
    requests: int
    seconds: float
    per_second: float
    cpu_us: float  # this process's CPU time per request, microseconds
    server_cpu_us: float  # the simulator's CPU time per request, microseconds
    vs_bare: float = 0.0  # requests/s over bare httpx's (higher is better)
    cpu_vs_bare: float = 0.0  # CPU per request over bare httpx's (lower is better)


@dataclass(frozen=True)
class Plan:
    """One run: ``warmup`` requests, then measured ones until ``requests`` are done or
    ``seconds`` have passed, whichever comes first."""

    url: str
    kind: str  # "single" or "list"
    dois: list[str]
    in_flight: int
    requests: int
    seconds: float
    warmup: int

    def doi(self, i: int) -> str:
        return self.dois[i % len(self.dois)]


@dataclass
class Timing:
    requests: int
    seconds: float
    cpu: float


class _Clock:
    """Wall and CPU time of the measured phase (after the warm-up)."""

    def __init__(self, budget: float) -> None:
        gc.collect()
        self.wall = time.perf_counter()
        self.cpu = time.process_time()
        self.deadline = self.wall + budget

    def stop(self, requests: int) -> Timing:
        return Timing(requests, time.perf_counter() - self.wall, time.process_time() - self.cpu)


# -- the clients ------------------------------------------------------------------------------
# Each runs a Plan and returns the timing of its measured requests.


async def _spread(
    one: Callable[[int], Awaitable[Any]],
    start: int,
    n: int,
    in_flight: int,
    deadline: float = math.inf,
) -> int:
    """``one(i)`` for ``n`` values of ``i``, ``in_flight`` at a time, until ``deadline``;
    returns how many were done."""
    counter = iter(range(start, start + n))
    done = 0

    async def worker() -> None:
        nonlocal done
        for i in counter:
            await one(i)
            done += 1
            if time.perf_counter() > deadline:
                break

    await asyncio.gather(*(worker() for _ in range(in_flight)))
    return done


async def _measure_async(one: Callable[[int], Awaitable[Any]], plan: Plan) -> Timing:
    await _spread(one, 0, plan.warmup, plan.in_flight)
    clock = _Clock(plan.seconds)
    done = await _spread(one, plan.warmup, plan.requests, plan.in_flight, clock.deadline)
    return clock.stop(done)


def _measure_sync(one: Callable[[int], Any], plan: Plan) -> Timing:
    for i in range(plan.warmup):
        one(i)
    clock = _Clock(plan.seconds)
    done = 0
    for i in range(plan.warmup, plan.warmup + plan.requests):
        one(i)
        done += 1
        if time.perf_counter() > clock.deadline:
            break
    return clock.stop(done)


def _httpx(limited: bool) -> Callable[[Plan], Timing]:
    """The loop people write by hand; ``limited``: with an aiolimiter and a semaphore at the
    advertised rate and concurrency."""
    pool = PRESETS[PRESET].single
    assert pool is not None

    async def loop(plan: Plan) -> Timing:
        n = plan.in_flight
        limits = httpx.Limits(max_connections=n, max_keepalive_connections=n)
        limiter = AsyncLimiter(pool.rate, pool.interval)
        gate = asyncio.Semaphore(pool.concurrency)
        params = {"mailto": MAILTO}
        async with httpx.AsyncClient(base_url=plan.url, params=params, limits=limits) as http:

            async def get(i: int) -> httpx.Response:
                if plan.kind == "single":
                    return await http.get("/works/" + quote(plan.doi(i), safe=""))
                return await http.get("/works", params={"rows": str(ROWS), "offset": str(i % 50)})

            async def one(i: int) -> None:
                if limited:
                    async with gate, limiter:
                        r = await get(i)
                else:
                    r = await get(i)
                r.raise_for_status()
                r.json()

            return await _measure_async(one, plan)

    def run(plan: Plan) -> Timing:
        return asyncio.run(loop(plan))

    return run


def run_crossref_async(plan: Plan) -> Timing:
    async def main() -> Timing:
        async with Crossref(mailto=MAILTO, base_url=plan.url) as cr:
            works = cr.works

            async def one(i: int) -> None:
                if plan.kind == "single":
                    await cr.work(plan.doi(i))
                else:
                    await works.page(rows=ROWS, offset=i % 50)

            return await _measure_async(one, plan)

    return asyncio.run(main())


def run_habanero(plan: Plan) -> Timing:
    hab = habanero_client(plan.url)
    if hab is None:
        raise RuntimeError("habanero is not installed")

    def one(i: int) -> None:
        if plan.kind == "single":
            hab.works(ids=plan.doi(i))
        else:
            hab.works(limit=ROWS, offset=i % 50)

    return _measure_sync(one, plan)


def run_crossrefapi(plan: Plan) -> Timing:
    with crossrefapi_on(plan.url) as restful:
        if restful is None:
            raise RuntimeError("crossrefapi is not installed")
        etiquette = restful.Etiquette("bench", "1", "-", MAILTO)

        def one(i: int) -> None:
            works = restful.Works(etiquette=etiquette)
            if plan.kind == "single":
                if works.doi(plan.doi(i)) is None:
                    raise RuntimeError("crossrefapi found no record")
            else:  # iterating Works() asks for rows=100 a page: one request for 100 items
                items = list(itertools.islice(works, ROWS))
                if len(items) != ROWS:
                    raise RuntimeError(f"crossrefapi returned {len(items)} items")

        return _measure_sync(one, plan)


CLIENTS: dict[str, tuple[Callable[[Plan], Timing], tuple[int, ...]]] = {
    # name: (runner, the in-flight counts it takes part in)
    BARE: (_httpx(limited=False), IN_FLIGHT),
    "httpx + aiolimiter": (_httpx(limited=True), IN_FLIGHT),
    "crossref-async": (run_crossref_async, IN_FLIGHT),
    "habanero": (run_habanero, (1,)),
    "crossrefapi": (run_crossrefapi, (1,)),
}


# -- measuring --------------------------------------------------------------------------------


def _dois(url: str, count: int = 500) -> list[str]:
    """``count`` DOIs of the simulator's corpus, plain ones only (the corpus also holds DOIs
    that break naive URL building, which some peers cannot ask for: not this benchmark's
    subject)."""
    r = httpx.get(f"{url}/works", params={"rows": "1000", "select": "DOI"}, timeout=60)
    r.raise_for_status()
    dois = [str(item["DOI"]) for item in r.json()["message"]["items"]]
    return [d for d in dois if PLAIN_DOI.fullmatch(d)][:count]


def _one_run(sim: Simulator, runner: Callable[[Plan], Timing], plan: Plan) -> Result:
    server_before = sim.cpu_seconds()
    timing = runner(plan)
    server = sim.cpu_seconds() - server_before  # the warm-up's share is taken out below
    return Result(
        kind=KIND_NAMES[plan.kind],
        in_flight=plan.in_flight,
        client="",
        requests=timing.requests,
        seconds=timing.seconds,
        per_second=timing.requests / timing.seconds,
        cpu_us=1e6 * timing.cpu / timing.requests,
        server_cpu_us=1e6 * server / (timing.requests + plan.warmup),
    )


def run(
    requests: int,
    seconds: float,
    repeat: int = 3,
    clients: tuple[str, ...] = tuple(CLIENTS),
    progress: Callable[[str], None] = lambda s: print(s, flush=True),
) -> list[Result]:
    """Every scenario, each client ``repeat`` times (in turn with the others, so that a busy
    moment of the machine hits all of them); the best of each client's runs."""
    results: list[Result] = []
    with simulator_process(works=WORKS, preset=PRESET) as sim:
        dois = _dois(sim.url)
        for kind, in_flight in itertools.product(KINDS, IN_FLIGHT):
            plan = Plan(
                url=sim.url,
                kind=kind,
                dois=dois,
                in_flight=in_flight,
                requests=requests if kind == "single" else max(1, requests // 10),
                seconds=seconds,
                warmup=max(10 if kind == "single" else 3, 2 * in_flight),
            )
            names = [c for c in clients if in_flight in CLIENTS[c][1]]
            progress(f"{KIND_NAMES[kind]}, {in_flight} in flight: {', '.join(names)}")
            runs: dict[str, list[Result]] = {c: [] for c in names}
            for _ in range(repeat):
                for name in names:
                    runs[name].append(_one_run(sim, CLIENTS[name][0], plan))
            for name, rs in runs.items():
                best = max(rs, key=lambda r: r.per_second)
                best.client = name
                best.cpu_us = min(r.cpu_us for r in rs)
                best.server_cpu_us = min(r.server_cpu_us for r in rs)
                results.append(best)
    for r in results:
        base = next(
            (b for b in results if (b.kind, b.in_flight, b.client) == (r.kind, r.in_flight, BARE)),
            None,
        )
        if base is not None:
            r.vs_bare = r.per_second / base.per_second
            r.cpu_vs_bare = r.cpu_us / base.cpu_us
    return results


def check(results: list[Result]) -> dict[str, dict[str, Any]]:
    """The issue's target: crossref-async within 10% of bare httpx (requests/s, and CPU per
    request) at the larger in-flight count, for each request kind."""
    out: dict[str, dict[str, Any]] = {}
    for r in results:
        if r.client == "crossref-async" and r.in_flight == max(IN_FLIGHT) and r.vs_bare:
            out[r.kind] = {
                "vs_bare": r.vs_bare,
                "cpu_vs_bare": r.cpu_vs_bare,
                "met_requests_per_second": r.vs_bare >= 1 - TARGET,
                "met_cpu_per_request": r.cpu_vs_bare <= 1 + TARGET,
            }
    return out


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--requests", type=int, default=1500, help="single-record requests a run (lists: 1/10)"
    )
    parser.add_argument(
        "--seconds", type=float, default=1.0, help="a run stops early after this long"
    )
    parser.add_argument("--repeat", type=int, default=3, help="runs per client; the best counts")
    parser.add_argument("--clients", default=",".join(CLIENTS), help="comma-separated subset")
    parser.add_argument("--json", type=Path, help="folder to write overhead.json into")
    args = parser.parse_args(argv)
    clients = tuple(c.strip() for c in args.clients.split(",") if c.strip())
    unknown = set(clients) - set(CLIENTS)
    if unknown:
        parser.error(f"unknown clients: {', '.join(sorted(unknown))}")
    results = run(args.requests, args.seconds, max(1, args.repeat), clients)

    def ratio(value: float) -> str:
        return f"{100 * value:.0f}%" if value else "-"

    print()
    print(f"machine: {machine()}")
    print(f"simulator: separate process, {PRESET} limits, no latency, {WORKS:,} works")
    print(
        table(
            [
                "requests",
                "in flight",
                "client",
                "measured",
                "requests/s",
                "vs bare",
                "CPU µs/req",
                "vs bare",
                "server CPU µs/req",
            ],
            [
                [
                    r.kind,
                    r.in_flight,
                    r.client,
                    r.requests,
                    r.per_second,
                    ratio(r.vs_bare),
                    r.cpu_us,
                    ratio(r.cpu_vs_bare),
                    r.server_cpu_us,
                ]
                for r in results
            ],
        )
    )
    targets = check(results)
    for kind, c in targets.items():
        print(
            f"target: crossref-async within {100 * TARGET:.0f}% of bare httpx,"
            f" {kind},"
            f" {max(IN_FLIGHT)} in flight: requests/s {ratio(c['vs_bare'])}"
            f" ({'met' if c['met_requests_per_second'] else 'not met'}),"
            f" CPU/request {ratio(c['cpu_vs_bare'])}"
            f" ({'met' if c['met_cpu_per_request'] else 'not met'})"
        )
    data = {
        "machine": machine(),
        "simulator": {"process": "separate", "preset": PRESET, "works": WORKS, "latency": 0.0},
        "in_flight": list(IN_FLIGHT),
        "repeat": args.repeat,
        "targets": targets,
        "results": [asdict(r) for r in results],
    }
    write_json(args.json, "overhead", data)
    return data


if __name__ == "__main__":
    main()
