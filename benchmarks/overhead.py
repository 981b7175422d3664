"""What the client itself costs: requests/s against a bare httpx loop, with nothing in the way.

The simulator answers at once (no latency) and advertises limits far above what either client
can reach, so the governor, the retry layer, validation, URL building and typed decoding of
crossref-async are all on the path but none of them waits. Both clients keep the same number
of requests in flight; the bare loop parses each body with ``response.json()`` (what such a
loop does), crossref-async decodes typed ``Work`` objects.

Run: ``python benchmarks/overhead.py [--requests 3000] [--json results/]``
"""

from __future__ import annotations

import argparse
import asyncio
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
from _common import MAILTO, loopback, machine, table, write_json

from crossref_async import Crossref
from crossref_async.testing import FakeCrossref, Limits, Pool

IN_FLIGHT = 16
UNMETERED = Limits(
    single=Pool(rate=1_000_000, interval=1.0, concurrency=1000, name="unmetered-single"),
    list=Pool(rate=1_000_000, interval=1.0, concurrency=1000, name="unmetered-array"),
)


@dataclass
class Result:
    kind: str
    client: str
    requests: int
    seconds: float
    per_second: float
    vs_bare: float = 0.0


async def _spread(n: int, one: Any) -> None:
    queue = list(range(n))

    async def worker() -> None:
        while queue:
            await one(queue.pop())

    await asyncio.gather(*(worker() for _ in range(IN_FLIGHT)))


async def bare(url: str, kind: str, dois: list[str], n: int) -> None:
    limits = httpx.Limits(max_connections=IN_FLIGHT, max_keepalive_connections=IN_FLIGHT)
    async with httpx.AsyncClient(base_url=url, params={"mailto": MAILTO}, limits=limits) as http:

        async def one(i: int) -> None:
            if kind == "single":
                r = await http.get("/works/" + quote(dois[i % len(dois)], safe=""))
            else:
                r = await http.get("/works", params={"rows": "100", "offset": str(i % 50)})
            r.raise_for_status()
            r.json()

        await _spread(n, one)


async def ours(url: str, kind: str, dois: list[str], n: int) -> None:
    async with Crossref(mailto=MAILTO, base_url=url) as cr:
        works = cr.works

        async def one(i: int) -> None:
            if kind == "single":
                await cr.work(dois[i % len(dois)])
            else:
                await works.page(rows=100, offset=i % 50)

        await _spread(n, one)


def run(requests: int) -> list[Result]:
    sim = FakeCrossref(works=2000, limits=UNMETERED)
    sim.corpus.warm()
    dois = [str(w["DOI"]) for w in sim.corpus.works[:500]]
    results: list[Result] = []
    with loopback(sim) as url:
        for kind, n in (("single", requests), ("list (rows=100)", max(1, requests // 10))):
            short = kind.split()[0]
            for name, func in (("bare httpx", bare), ("crossref-async", ours)):
                asyncio.run(func(url, short, dois, min(n, 50)))  # warm up connections, caches
                started = time.perf_counter()
                asyncio.run(func(url, short, dois, n))
                seconds = time.perf_counter() - started
                results.append(Result(kind, name, n, seconds, n / seconds))
    for r in results:
        base = next(b for b in results if b.kind == r.kind and b.client == "bare httpx")
        r.vs_bare = r.per_second / base.per_second
    return results


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=3000, help="single-record requests")
    parser.add_argument("--json", type=Path, help="folder to write overhead.json into")
    args = parser.parse_args(argv)
    results = run(args.requests)
    print(f"machine: {machine()}")
    print(
        table(
            ["requests", "client", "n", "seconds", "requests/s", "vs bare httpx"],
            [
                [r.kind, r.client, r.requests, r.seconds, r.per_second, f"{100 * r.vs_bare:.0f}%"]
                for r in results
            ],
        )
    )
    data = {"machine": machine(), "in_flight": IN_FLIGHT, "results": [asdict(r) for r in results]}
    write_json(args.json, "overhead", data)
    return data


if __name__ == "__main__":
    main()
