"""How close each client sits to the advertised budget, and what it trips, on the simulator.

For each limits preset and pool (single-record and list requests), every client keeps
requests coming for ``--seconds`` against the simulator on loopback (with realistic latency),
and the server counts what it admitted and refused:

* crossref-async: as many concurrent callers as it likes; the governor paces them.
* httpx + aiolimiter: the hand-written async loop, limiter and semaphore set to the
  advertised numbers (as its author would read them from the documentation).
* habanero: its synchronous call in a loop (one request at a time).

A second scenario changes the limit mid-run (a drop, then a rise) and measures how long each
client takes to comply (no more 429s) and to use the new budget.

Run: ``python benchmarks/governor.py [--seconds 10] [--json results/]``
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import httpx
from _common import MAILTO, habanero_client, loopback, machine, table, write_json
from aiolimiter import AsyncLimiter

from crossref_async import Crossref, CrossrefError
from crossref_async.testing import Change, FakeCrossref, Faults, Limits, Pool

LATENCY = Faults(latency=0.04, jitter=0.04)
PRESETS: dict[str, Limits] = {
    "polite-2026": Limits(
        single=Pool(rate=10, interval=1.0, concurrency=3, name="polite-single"),
        list=Pool(rate=3, interval=1.0, concurrency=3, name="polite-array"),
    ),
    "50/s": Limits(
        single=Pool(rate=50, interval=1.0, concurrency=10, name="fast-single"),
        list=Pool(rate=50, interval=1.0, concurrency=10, name="fast-array"),
    ),
}


@dataclass
class Result:
    scenario: str
    pool: str
    client: str
    advertised: float
    achieved: float
    share: float
    admitted: int
    rejected_429: int
    max_in_flight: int
    comply_s: float | None = None
    adapt_s: float | None = None


def _request(kind: str, dois: list[str], i: int) -> tuple[str, dict[str, str]]:
    if kind == "single":
        return f"/works/{httpx.URL(dois[i % len(dois)]).raw_path.decode()}", {}
    return "/works", {"filter": "type:journal-article", "rows": "20", "offset": str(i % 200)}


async def drive_crossref_async(url: str, kind: str, dois: list[str], seconds: float) -> None:
    deadline = time.monotonic() + seconds
    async with Crossref(mailto=MAILTO, base_url=url) as cr:
        counter = iter(range(10**9))

        async def worker() -> None:
            while time.monotonic() < deadline:
                i = next(counter)
                with contextlib.suppress(CrossrefError):
                    if kind == "single":
                        await cr.work(dois[i % len(dois)])
                    else:
                        await cr.works.filter(type="journal-article").page(rows=20, offset=i % 200)

        await asyncio.gather(*(worker() for _ in range(30)))


async def drive_aiolimiter(
    url: str, kind: str, dois: list[str], seconds: float, pool: Pool
) -> None:
    deadline = time.monotonic() + seconds
    limiter = AsyncLimiter(pool.rate, pool.interval)
    gate = asyncio.Semaphore(pool.concurrency)
    async with httpx.AsyncClient(base_url=url, params={"mailto": MAILTO}) as http:
        counter = iter(range(10**9))

        async def worker() -> None:
            while time.monotonic() < deadline:
                path, params = _request(kind, dois, next(counter))
                async with gate, limiter:
                    with contextlib.suppress(httpx.HTTPError):
                        await http.get(path, params=params)

        await asyncio.gather(*(worker() for _ in range(30)))


def drive_habanero(url: str, kind: str, dois: list[str], seconds: float) -> None:
    hab = habanero_client(url)
    deadline = time.monotonic() + seconds
    i = 0
    while time.monotonic() < deadline:
        try:
            if kind == "single":
                hab.works(ids=dois[i % len(dois)])
            else:
                hab.works(filter={"type": "journal-article"}, limit=20, offset=i % 200)
        except Exception:  # habanero raises on 429s and others; keep going like a user's loop
            pass
        i += 1


def measure(
    scenario: str,
    limits: Limits,
    kind: str,
    client: str,
    seconds: float,
    change_at: float | None = None,
) -> Result:
    sim = FakeCrossref(works=2000, limits=limits, faults=LATENCY)
    sim.corpus.warm(2000)
    pool = limits.single if kind == "single" else limits.list
    assert pool is not None
    dois = [str(w["DOI"]) for w in sim.corpus.works[:500]]
    with loopback(sim) as url:
        sim.stats.reset()
        if client == "crossref-async":
            asyncio.run(drive_crossref_async(url, kind, dois, seconds))
        elif client == "httpx + aiolimiter":
            asyncio.run(drive_aiolimiter(url, kind, dois, seconds, pool))
        else:
            drive_habanero(url, kind, dois, seconds)
    log = [r for r in sim.stats.log if r.kind == kind]
    admitted = [r.started for r in log if r.status != 429]
    rejected = [r.started for r in log if r.status == 429]
    t0 = min(r.started for r in log) if log else 0.0
    # Steady state: the requests admitted after the first interval, as gaps between them.
    steady = sorted(t for t in admitted if t >= t0 + pool.interval)
    span = steady[-1] - steady[0] if len(steady) > 1 else 0.0
    achieved = (len(steady) - 1) / span if span > 0 else 0.0
    advertised = pool.rate / pool.interval
    result = Result(
        scenario=scenario,
        pool=pool.name,
        client=client,
        advertised=advertised,
        achieved=achieved,
        share=achieved / advertised,
        admitted=len(admitted),
        rejected_429=len(rejected),
        max_in_flight=sim.stats.snapshot()["max_in_flight"].get(kind, 0),
    )
    if change_at is not None and limits.changes:
        new = limits.changes[0].single if kind == "single" else limits.changes[0].list
        assert isinstance(new, Pool)
        change = t0 + change_at
        late = [t for t in rejected if t >= change]
        result.comply_s = (max(late) - change) if late else 0.0
        new_rate = new.rate / new.interval
        after = sorted(t for t in admitted if t >= change)
        result.adapt_s = _time_to_rate(after, change, new_rate, new.interval)
    return result


def _time_to_rate(times: list[float], start: float, rate: float, interval: float) -> float | None:
    """Seconds from ``start`` until a full interval ran at >= 95% of ``rate``."""
    for i, t in enumerate(times):
        window = [u for u in times[i:] if u < t + interval]
        if len(window) >= 0.95 * rate * interval:
            return t - start
    return None


def rerate_limits(base: Limits, kind: str, factor: float, at: float) -> Limits:
    pool = base.single if kind == "single" else base.list
    assert pool is not None
    new = Pool(
        rate=max(1, round(pool.rate * factor)),
        interval=pool.interval,
        concurrency=pool.concurrency,
        name=pool.name,
    )
    change = Change(at=at, single=new) if kind == "single" else Change(at=at, list=new)
    return Limits(single=base.single, list=base.list, changes=(change,))


CLIENTS = ("crossref-async", "httpx + aiolimiter", "habanero")


def run(
    seconds: float, clients: tuple[str, ...] = CLIENTS, progress: Callable[[str], None] = print
) -> list[Result]:
    results: list[Result] = []
    for name, limits in PRESETS.items():
        for kind in ("single", "list"):
            for client in clients:
                progress(f"steady  {name:12} {kind:6} {client}")
                results.append(measure(name, limits, kind, client, seconds))
    for factor, label in ((0.5, "drop to 50%"), (2.0, "rise to 200%")):
        limits = rerate_limits(PRESETS["polite-2026"], "single", factor, at=seconds / 2)
        for client in clients:
            progress(f"re-rate {label:12} single {client}")
            results.append(
                measure(
                    f"polite-2026, {label}",
                    limits,
                    "single",
                    client,
                    seconds,
                    change_at=seconds / 2,
                )
            )
    return results


def render(results: list[Result]) -> str:
    steady = [r for r in results if r.comply_s is None]
    rerate = [r for r in results if r.comply_s is not None]
    out = [
        table(
            [
                "scenario",
                "pool",
                "client",
                "advertised/s",
                "achieved/s",
                "% of limit",
                "429s",
                "max in flight",
            ],
            [
                [
                    r.scenario,
                    r.pool,
                    r.client,
                    r.advertised,
                    r.achieved,
                    f"{100 * r.share:.1f}%",
                    r.rejected_429,
                    r.max_in_flight,
                ]
                for r in steady
            ],
        )
    ]
    if rerate:
        out.append("")
        out.append(
            table(
                [
                    "limit change",
                    "client",
                    "429s",
                    "no more 429s after (s)",
                    "at >=95% of new rate after (s)",
                ],
                [
                    [
                        r.scenario,
                        r.client,
                        r.rejected_429,
                        f"{r.comply_s:.2f}" if r.comply_s is not None else "-",
                        f"{r.adapt_s:.2f}" if r.adapt_s is not None else "never",
                    ]
                    for r in rerate
                ],
            )
        )
    return "\n".join(out)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="duration of each run")
    parser.add_argument("--json", type=Path, help="folder to write governor.json into")
    parser.add_argument("--clients", default=",".join(CLIENTS), help="comma-separated subset")
    args = parser.parse_args(argv)
    clients = tuple(c.strip() for c in args.clients.split(","))
    results = run(args.seconds, clients)
    print()
    print(f"machine: {machine()}")
    print(render(results))
    data = {"machine": machine(), "seconds": args.seconds, "results": [asdict(r) for r in results]}
    write_json(args.json, "governor", data)
    return data


if __name__ == "__main__":
    threading.excepthook = lambda args: None  # quiet background server threads at exit
    main()
