"""Resolving 10,000 DOIs: crossref-async against habanero, crossrefapi and an httpx loop.

The simulator runs on loopback with the ``polite-2026`` limits (single records 10/s and 3 at
once, lists 3/s and 3 at once) and realistic latency. The DOI list mixes corpus DOIs in
other cases and pasted forms, DOIs that break naive URL building, and DOIs that do not
exist (2%); a client's answer is correct when it returns exactly the record for each DOI and
nothing for the missing ones.

* crossref-async: ``works_by_doi`` (batched ``filter=doi:...`` list requests).
* httpx + aiolimiter: ``/works/{doi}`` for each DOI, limiter and semaphore at the advertised
  single-record limits, percent-encoding the DOI.
* habanero: ``cr.works(ids=doi)`` one at a time.
* crossrefapi: ``Works().doi(doi)`` one at a time.

The peers need about ``n / 10`` seconds each at best (the single-record rate), so by default
they are timed on the first ``--peer-dois`` DOIs and their time is scaled to the full list
(marked "scaled" in the table); ``--peer-dois 10000`` times them on everything.

Run: ``python benchmarks/dois.py [--dois 10000] [--peer-dois 1000] [--json results/]``
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import random
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
from _common import MAILTO, crossrefapi_on, habanero_client, loopback, machine, table, write_json
from aiolimiter import AsyncLimiter

from crossref_async import Crossref, doi_key, normalize_doi
from crossref_async.testing import HOSTILE_DOIS, PRESETS, FakeCrossref, Faults

LATENCY = Faults(latency=0.15, jitter=0.1, per_row=0.0005)
POLITE = PRESETS["polite-2026"]


@dataclass
class Result:
    client: str
    dois: int
    measured_on: int
    seconds: float
    requests: int
    rejected_429: int
    correct: int
    wrong: int
    speedup: float = 0.0

    @property
    def scaled(self) -> bool:
        return self.measured_on < self.dois


def make_dois(sim: FakeCrossref, n: int, seed: int = 7) -> tuple[list[str], set[str]]:
    """``n`` DOIs as people paste them, and the keys of those that exist."""
    rng = random.Random(seed)
    corpus = [str(w["DOI"]) for w in sim.corpus.works]
    asked: list[str] = list(HOSTILE_DOIS)
    while len(asked) < n:
        if rng.random() < 0.02:
            asked.append(f"10.5555/missing-{len(asked)}")
            continue
        doi = rng.choice(corpus)
        form = rng.random()
        if form < 0.1:
            doi = "https://doi.org/" + doi
        elif form < 0.2:
            doi = doi.upper()
        asked.append(doi)
    existing = {doi_key(d) for d in corpus}
    asked = asked[:n]
    rng.shuffle(asked)  # so that any prefix (the peers' sample) is like the whole
    return asked, existing


def grade(asked: list[str], answers: dict[str, str | None], existing: set[str]) -> tuple[int, int]:
    """(correct, wrong): an answer is the DOI of the record returned, or None."""
    correct = wrong = 0
    for doi in asked:
        key = doi_key(normalize_doi(doi))
        got = answers.get(doi)
        expected = key if key in existing else None
        if (doi_key(got) if got else None) == expected:
            correct += 1
        else:
            wrong += 1
    return correct, wrong


async def run_crossref_async(
    url: str, asked: list[str], batch_size: int = 100
) -> dict[str, str | None]:
    async with Crossref(mailto=MAILTO, base_url=url) as cr:
        found = await cr.works_by_doi(asked, select=["title"], batch_size=batch_size)
    by_key = {doi_key(k): (w.DOI if w else None) for k, w in found.items()}
    return {doi: by_key.get(doi_key(normalize_doi(doi))) for doi in asked}


async def run_httpx(url: str, asked: list[str]) -> dict[str, str | None]:
    pool = POLITE.single
    assert pool is not None
    limiter = AsyncLimiter(pool.rate, pool.interval)
    gate = asyncio.Semaphore(pool.concurrency)
    answers: dict[str, str | None] = {}
    async with httpx.AsyncClient(base_url=url, params={"mailto": MAILTO}) as http:

        async def one(doi: str) -> None:
            bare = doi.removeprefix("https://doi.org/")
            async with gate, limiter:
                with contextlib.suppress(httpx.HTTPError, ValueError):
                    r = await http.get("/works/" + quote(bare, safe=""))
                    answers[doi] = r.json()["message"]["DOI"] if r.status_code == 200 else None

        await asyncio.gather(*(one(d) for d in asked))
    return answers


def run_habanero(url: str, asked: list[str]) -> dict[str, str | None]:
    hab = habanero_client(url)
    answers: dict[str, str | None] = {}
    for doi in asked:
        try:
            answers[doi] = hab.works(ids=doi)["message"]["DOI"]
        except Exception:  # 404 for missing DOIs, 429s and others raise: recorded as None
            answers[doi] = None
    return answers


def run_crossrefapi(url: str, asked: list[str]) -> dict[str, str | None]:
    answers: dict[str, str | None] = {}
    with crossrefapi_on(url) as restful:
        works = restful.Works(etiquette=restful.Etiquette("bench", "1", "-", MAILTO))
        for doi in asked:
            try:
                record = works.doi(doi.removeprefix("https://doi.org/"))
                answers[doi] = record["DOI"] if record else None
            except Exception:  # its HTTP errors surface as exceptions
                answers[doi] = None
    return answers


def measure(client: str, n: int, peer_n: int, batch_size: int = 100) -> Result:
    sim = FakeCrossref(works=20_000, limits=POLITE, faults=LATENCY)
    asked, existing = make_dois(sim, n)
    subset = asked if client.startswith("crossref-async") else asked[:peer_n]
    with loopback(sim) as url:
        sim.stats.reset()
        started = time.monotonic()
        if client.startswith("crossref-async"):
            answers = asyncio.run(run_crossref_async(url, subset, batch_size))
        elif client == "httpx + aiolimiter":
            answers = asyncio.run(run_httpx(url, subset))
        elif client == "habanero":
            answers = run_habanero(url, subset)
        else:
            answers = run_crossrefapi(url, subset)
        seconds = time.monotonic() - started
    correct, wrong = grade(subset, answers, existing)
    snap = sim.stats.snapshot()
    scale = n / len(subset)
    return Result(
        client=client,
        dois=n,
        measured_on=len(subset),
        seconds=seconds * scale,
        requests=round(snap["total_requests"] * scale),
        rejected_429=round(snap["total_429"] * scale),
        correct=round(correct * scale),
        wrong=round(wrong * scale),
    )


CLIENTS = ("crossref-async", "httpx + aiolimiter", "habanero", "crossrefapi")


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dois", type=int, default=10_000, help="DOIs to resolve")
    parser.add_argument("--peer-dois", type=int, default=1_000, help="DOIs the peers are timed on")
    parser.add_argument("--clients", default=",".join(CLIENTS), help="comma-separated subset")
    parser.add_argument("--json", type=Path, help="folder to write dois.json into")
    parser.add_argument(
        "--batch-sizes", default="20,50,200", help="other batch sizes to time crossref-async with"
    )
    args = parser.parse_args(argv)
    results: list[Result] = []
    for size in (int(s) for s in args.batch_sizes.split(",") if s.strip()):
        print(f"resolving with crossref-async, batches of {size} ...", flush=True)
        results.append(measure(f"crossref-async (batch {size})", args.dois, args.dois, size))
    for client in (c.strip() for c in args.clients.split(",")):
        print(f"resolving with {client} ...", flush=True)
        results.append(measure(client, args.dois, min(args.peer_dois, args.dois)))
    base = next((r for r in results if r.client == "habanero"), None)
    for r in results:
        r.speedup = base.seconds / r.seconds if base and r.seconds else 0.0
    rows = [
        [
            r.client,
            r.dois,
            f"{r.seconds:,.1f}" + (f" (scaled from {r.measured_on:,})" if r.scaled else ""),
            r.requests,
            r.rejected_429,
            f"{r.correct:,}/{r.dois:,}",
            f"{r.speedup:.1f}x" if base else "-",
        ]
        for r in results
    ]
    print()
    print(f"machine: {machine()}")
    print(table(["client", "DOIs", "seconds", "requests", "429s", "correct", "vs habanero"], rows))
    data = {"machine": machine(), "results": [asdict(r) for r in results]}
    write_json(args.json, "dois", data)
    return data


if __name__ == "__main__":
    main()
