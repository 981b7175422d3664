"""Harvests under faults, outages and overlapping runs: does every run end exact?

Each harvest is the ``crossref-async harvest`` command in a process of its own, as a cron job
or an array task runs it, against the simulator on loopback (served from a thread of this
process, ``fast-50`` limits). After every run the output is read back and compared with the
simulator's own answer: every matching DOI once, nothing else.

* faults: each failure rate (2%, 5%, 8% of requests: half 5xx, a quarter connection resets,
  a quarter bodies cut short) plus 3% spurious 429s, several runs each. Crossref asks
  clients to stop at a 10% error rate; below it a harvest must finish.
* outages: the server fails every request for a while (503s, or 200 answers with an HTML
  maintenance page), then answers again. Within ``--max-outage`` the harvest rides it out and
  finishes by itself; past it, the run stops (exit 4) and ``--resume`` finishes it.
* overlap: a second run on the same output while the first is running (with ``--resume``,
  as an overlapping cron job would), and two runs started at the same moment: one writer
  goes on, the other is refused (exit 3), and the output is exact.

Run: ``python benchmarks/reliability.py [--quick] [--json results/]``
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from _common import MAILTO, machine, table, write_json

from crossref_async.harvest import iter_records
from crossref_async.testing import FakeCrossref, Faults, serve_in_thread

FAILURE_RATES = (0.02, 0.05, 0.08)
SPURIOUS_429 = 0.03


@dataclass
class Run:
    """One harvest command and what it left behind."""

    scenario: str
    detail: str
    status: int
    seconds: float
    exact: bool
    lines: int
    unique: int
    expected: int
    requests: int
    failed_requests: int
    circuit_opened: int
    refused: bool = False
    note: str = ""


def _command(url: str, out: Path, extra: Sequence[str] = (), rows: int = 100) -> list[str]:
    return [
        sys.executable, "-m", "crossref_async", "harvest", "--base-url", url,
        "--mailto", MAILTO, "--out", str(out), "--no-progress", "--rows", str(rows),
        *extra,
    ]  # fmt: skip


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONWARNINGS": "ignore"}


def _check(out: Path, expected: set[str]) -> tuple[bool, int, int]:
    if not out.exists():
        return False, 0, 0
    dois = [json.loads(line)["DOI"].lower() for line in iter_records(out)]
    return set(dois) == expected and len(dois) == len(expected), len(dois), len(set(dois))


def _failed(fake: FakeCrossref) -> int:
    s = fake.stats.snapshot()
    return int(s["server_errors"] + s["resets"] + s["truncations"] + s["malformed"] + s["outage"])


@contextlib.contextmanager
def _serving(fake: FakeCrossref) -> Iterator[str]:
    with serve_in_thread(fake) as url:
        yield url


def _harvest(
    fake: FakeCrossref,
    url: str,
    out: Path,
    extra: Sequence[str] = (),
    timeout: float = 3600,
    rows: int = 100,
) -> tuple[subprocess.CompletedProcess[str], float]:
    started = time.monotonic()
    done = subprocess.run(
        _command(url, out, extra, rows), env=_env(), capture_output=True, text=True,
        timeout=timeout, check=False,
    )  # fmt: skip
    return done, time.monotonic() - started


def _opened(stderr: str) -> int:
    return len(re.findall(r"circuit (?:breaker )?open", stderr, re.IGNORECASE))


def faults_scenario(works: int, runs: int, workdir: Path) -> list[Run]:
    results = []
    for rate in FAILURE_RATES:
        for seed in range(runs):
            faults = Faults(
                error_rate=rate / 2,
                reset_rate=rate / 4,
                truncate_rate=rate / 4,
                spurious_429_rate=SPURIOUS_429,
                latency=0.005,
                seed=seed,
            )
            fake = FakeCrossref(works=works, seed=seed, limits="fast-50", faults=faults)
            expected = {str(w["DOI"]).lower() for w in fake.corpus.matching([])}
            out = workdir / f"faults-{rate}-{seed}.jsonl"
            with _serving(fake) as url:
                # 20-row pages: about a thousand requests a run, enough for the breaker's
                # sample to see the failure rate.
                done, seconds = _harvest(fake, url, out, rows=20)
            exact, lines, unique = _check(out, expected)
            results.append(
                Run(
                    "faults", f"{rate:.0%} failures + {SPURIOUS_429:.0%} 429s", done.returncode,
                    seconds, exact, lines, unique, len(expected), fake.stats.total_requests,
                    _failed(fake), _opened(done.stderr),
                    note=done.stderr.strip().splitlines()[-1] if done.returncode else "",
                )
            )  # fmt: skip
            print(f"  faults {rate:.0%} run {seed}: exit {done.returncode}, exact {exact}")
    return results


def outage_scenario(works: int, lengths: Sequence[float], workdir: Path) -> list[Run]:
    results = []
    cases: list[tuple[float, str, float | None]] = [(length, "503", None) for length in lengths]
    cases.append((lengths[-1], "maintenance", None))
    cases.append((lengths[-1], "503", lengths[-1] / 3))  # longer than --max-outage
    for length, answer, max_outage in cases:
        # Requests of about 0.2 s: the harvest is well under way when the outage begins.
        faults = Faults(latency=0.2, outages=((1.5, length),), outage_answer=answer)
        fake = FakeCrossref(works=works, seed=1, limits="fast-50", faults=faults)
        expected = {str(w["DOI"]).lower() for w in fake.corpus.matching([])}
        out = workdir / f"outage-{length}-{answer}-{max_outage}.jsonl"
        extra = ["--max-outage", str(max_outage)] if max_outage is not None else []
        with _serving(fake) as url:
            done, seconds = _harvest(fake, url, out, extra)
            note = ""
            status = done.returncode
            opened = _opened(done.stderr)
            if max_outage is not None:
                note = f"stopped with exit {done.returncode}; then --resume"
                time.sleep(max(0.0, 1.5 + length - seconds))  # the server is back
                again, more = _harvest(fake, url, out, [*extra, "--resume"])
                seconds += more
                status = again.returncode
                note += f": exit {again.returncode}"
        exact, lines, unique = _check(out, expected)
        kind = "maintenance page (200)" if answer == "maintenance" else "503s"
        detail = f"{length:g} s of {kind}"
        if max_outage is not None:
            detail += f", --max-outage {max_outage:g}"
        results.append(
            Run(
                "outage", detail, status, seconds, exact, lines, unique, len(expected),
                fake.stats.total_requests, _failed(fake), opened, note=note,
            )
        )  # fmt: skip
        print(f"  outage {detail}: exit {status}, exact {exact}, {seconds:.0f} s")
    return results


def overlap_scenario(works: int, workdir: Path) -> list[Run]:
    results = []
    for case in ("second run with --resume while the first runs", "two started together"):
        fake = FakeCrossref(works=works, seed=2, limits="fast-50", faults=Faults(latency=0.2))
        expected = {str(w["DOI"]).lower() for w in fake.corpus.matching([])}
        out = workdir / f"overlap-{len(results)}.jsonl"
        lock = out.with_name(out.name + ".lock")
        with _serving(fake) as url:
            started = time.monotonic()
            first = subprocess.Popen(
                _command(url, out), env=_env(), stdout=subprocess.PIPE,
                stderr=subprocess.PIPE, text=True,
            )  # fmt: skip
            if case.startswith("second"):
                while not (lock.exists() and lock.read_text()) and first.poll() is None:
                    time.sleep(0.02)
                time.sleep(0.5)  # well into the harvest
                extra = ["--resume"]
            else:
                extra = []
            second = subprocess.Popen(
                _command(url, out, extra), env=_env(), stdout=subprocess.PIPE,
                stderr=subprocess.PIPE, text=True,
            )  # fmt: skip
            _, err2 = second.communicate(timeout=3600)
            _, err1 = first.communicate(timeout=3600)
            seconds = time.monotonic() - started
        statuses = sorted([first.returncode, second.returncode])
        exact, lines, unique = _check(out, expected)
        refused_lines = (err2 if second.returncode else err1).strip().splitlines()
        refused_msg = refused_lines[-1] if refused_lines else "(none refused)"
        results.append(
            Run(
                "overlap", case, max(statuses), seconds, exact and statuses == [0, 3], lines,
                unique, len(expected), fake.stats.total_requests, _failed(fake), 0,
                refused=3 in statuses,
                note=f"exits {statuses}; refused: {refused_msg[:120]}",
            )
        )  # fmt: skip
        print(f"  overlap {case}: exits {statuses}, exact {exact}")
    return results


def render(results: list[Run]) -> str:
    headers = [
        "scenario", "case", "runs", "finished exact", "exit", "records (unique/expected)",
        "requests", "failed", "circuit opened", "seconds",
    ]  # fmt: skip
    groups: dict[tuple[str, str], list[Run]] = {}
    for r in results:
        groups.setdefault((r.scenario, r.detail), []).append(r)
    rows = []
    for (scenario, detail), runs in groups.items():
        rows.append(
            [
                scenario, detail, len(runs), f"{sum(r.exact for r in runs)}/{len(runs)}",
                ",".join(sorted({str(r.status) for r in runs})),
                ", ".join(f"{r.unique:,}/{r.expected:,}" for r in runs[:3])
                + (" ..." if len(runs) > 3 else ""),
                sum(r.requests for r in runs) // len(runs),
                sum(r.failed_requests for r in runs) // len(runs),
                sum(r.circuit_opened > 0 for r in runs),
                sum(r.seconds for r in runs) / len(runs),
            ]
        )  # fmt: skip
    notes = [f"- {r.scenario} {r.detail}: {r.note}" for r in results if r.note]
    return table(headers, rows) + ("\n\n" + "\n".join(notes) if notes else "")


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer runs, shorter outages")
    parser.add_argument("--runs", type=int, help="runs per failure rate (5; --quick 2)")
    parser.add_argument("--works", type=int, default=20_000, help="works in the simulator")
    parser.add_argument("--only", default="faults,outage,overlap", help="scenarios to run")
    parser.add_argument("--json", type=Path, help="folder to write reliability.json into")
    args = parser.parse_args(argv)
    runs = args.runs or (2 if args.quick else 5)
    lengths = (5.0, 20.0) if args.quick else (10.0, 60.0, 180.0)
    works = min(args.works, 5_000) if args.quick else args.works
    only = set(args.only.split(","))
    print(f"# Reliability ({machine()})\n")
    results: list[Run] = []
    with tempfile.TemporaryDirectory(prefix="crossref-reliability-") as tmp:
        workdir = Path(tmp)
        if "faults" in only:
            results += faults_scenario(works, runs, workdir)
        if "outage" in only:
            results += outage_scenario(works // 4, lengths, workdir)
        if "overlap" in only:
            results += overlap_scenario(works // 4, workdir)
    print()
    print(render(results))
    data = {"machine": machine(), "runs": [asdict(r) for r in results]}
    write_json(args.json, "reliability", data)
    return data


if __name__ == "__main__":
    main()
