"""Shared pieces of the benchmarks: the simulator on loopback (in a thread of this process or
in a process of its own), the peers, and table output.

The peers are driven the way their users drive them: habanero and crossrefapi one request at
a time from synchronous code, and "plain httpx + aiolimiter" as the async loop people write
by hand (a leaky-bucket limiter set to the advertised rate and a semaphore set to the
advertised concurrency, no retries, no reading of headers).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from crossref_async.testing import FakeCrossref, Faults, serve_in_thread

MAILTO = "bench@example.org"


def machine() -> str:
    """A one-line description of the machine the numbers come from."""
    cpu = platform.processor() or platform.machine()
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return f"{cpu}, {os.cpu_count()} CPUs, Python {sys.version.split()[0]}, {platform.system()}"


@contextlib.contextmanager
def loopback(sim: FakeCrossref) -> Iterator[str]:
    """The simulator served from a background thread on 127.0.0.1; yields its base URL."""
    with serve_in_thread(sim) as url:
        yield url


@dataclass(frozen=True)
class Simulator:
    """The simulator running in another process (see :func:`simulator_process`)."""

    url: str
    process: subprocess.Popen[str]

    def cpu_seconds(self) -> float:
        """CPU time (user + system, all threads) the simulator's process has used so far."""
        stdin, stdout = self.process.stdin, self.process.stdout
        assert stdin is not None and stdout is not None
        stdin.write("cpu\n")
        stdin.flush()
        return float(stdout.readline())

    def clock(self) -> float:
        """The simulator's clock now (``time.monotonic()`` in its process: the clock of
        :meth:`log`'s start times)."""
        stdin, stdout = self.process.stdin, self.process.stdout
        assert stdin is not None and stdout is not None
        stdin.write("clock\n")
        stdin.flush()
        return float(stdout.readline())

    def log(self) -> list[tuple[float, str, str, int]]:
        """The simulator's request log (its last 10,000 requests, as they finished):
        ``(started, kind, pool, status)``, ``started`` on :meth:`clock`."""
        stdin, stdout = self.process.stdin, self.process.stdout
        assert stdin is not None and stdout is not None
        stdin.write("log\n")
        stdin.flush()
        return [(float(t), str(k), str(p), int(s)) for t, k, p, s in json.loads(stdout.readline())]


@contextlib.contextmanager
def simulator_process(
    *, works: int = 2000, seed: int = 0, preset: str = "unmetered", faults: Faults | None = None
) -> Iterator[Simulator]:
    """The simulator served from a separate process on 127.0.0.1 (a free port), every record
    encoded ahead; yields a :class:`Simulator` once it answers, and stops the process when the
    block ends, on errors and Ctrl-C too (the process also stops by itself when this one dies:
    it serves until its standard input closes). ``faults``: only its latency (``latency``,
    ``jitter``, ``per_row``) is passed on.

    In a process of its own the server shares neither this process's GIL nor its CPU-time
    count, so what this process measures is the client's."""
    command = [sys.executable, str(Path(__file__).resolve()), "serve"]
    command += ["--works", str(works), "--seed", str(seed), "--preset", preset]
    if faults is not None:
        command += ["--latency", str(faults.latency), "--jitter", str(faults.jitter)]
        command += ["--per-row", str(faults.per_row)]
    proc = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()  # the URL once serving, or EOF if it failed
        if not url:
            raise RuntimeError(f"the simulator exited ({proc.wait()}) before serving")
        httpx.get(f"{url}/_stats", timeout=10).raise_for_status()
        yield Simulator(url, proc)
    finally:
        with contextlib.suppress(OSError):
            if proc.stdin is not None:
                proc.stdin.close()  # the child stops on end of input
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()


def _serve(argv: list[str]) -> None:
    """``python _common.py serve``: the child of :func:`simulator_process`. Prints the URL,
    then answers each ``cpu`` line with its CPU time, ``clock`` with its clock and ``log``
    with its request log as one JSON line, until its input ends."""
    parser = argparse.ArgumentParser(prog="_common.py serve")
    parser.add_argument("--works", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--preset", default="unmetered")
    parser.add_argument("--latency", type=float, default=0.0)
    parser.add_argument("--jitter", type=float, default=0.0)
    parser.add_argument("--per-row", type=float, default=0.0)
    args = parser.parse_args(argv)
    with contextlib.suppress(KeyboardInterrupt, BrokenPipeError):  # Ctrl-C hits both processes
        sim = FakeCrossref(
            works=args.works,
            seed=args.seed,
            limits=args.preset,
            faults=Faults(latency=args.latency, jitter=args.jitter, per_row=args.per_row),
            cache_records=max(args.works, 20_000),
        )
        sim.corpus.warm()  # every record encoded ahead: no record building on the clock
        with serve_in_thread(sim) as url:
            print(url, flush=True)
            for line in sys.stdin:
                command = line.strip()
                if command == "cpu":
                    print(time.process_time(), flush=True)
                elif command == "clock":
                    print(time.monotonic(), flush=True)
                elif command == "log":
                    print(json.dumps(_log(sim)), flush=True)
                else:
                    break


def _log(sim: FakeCrossref) -> list[list[object]]:
    # The server's thread appends while this one reads: a copy may meet a mutation; try again.
    while True:
        try:
            records = list(sim.stats.log)
        except RuntimeError:
            continue
        return [[r.started, r.kind, r.pool, r.status] for r in records]


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A Markdown table (numbers right-aligned)."""

    def cell(value: object) -> str:
        if isinstance(value, float):
            return f"{value:,.2f}" if abs(value) < 100 else f"{value:,.0f}"
        if isinstance(value, int):
            return f"{value:,}"
        return str(value)

    cells = [[cell(v) for v in row] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) for i, h in enumerate(headers)]
    numeric = [all(isinstance(row[i], (int, float)) for row in rows) for i in range(len(headers))]
    lines = [
        "| " + " | ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)) + " |",
        "|"
        + "|".join(
            ("-" * (w + 1) + ":") if n else ("-" * (w + 2))
            for w, n in zip(widths, numeric, strict=True)
        )
        + "|",
    ]
    for row in cells:
        lines.append(
            "| "
            + " | ".join(
                c.rjust(w) if n else c.ljust(w)
                for c, w, n in zip(row, widths, numeric, strict=True)
            )
            + " |"
        )
    return "\n".join(lines)


def write_json(path: Path | None, name: str, data: Any) -> None:
    """Write results as JSON (``path`` a folder: ``<name>.json`` in it)."""
    if path is None:
        return
    path.mkdir(parents=True, exist_ok=True)
    (path / f"{name}.json").write_text(json.dumps(data, indent=2, default=str))


def habanero_client(url: str) -> Any:
    """A habanero client on the simulator (None if habanero is not installed)."""
    try:
        from habanero import Crossref as Habanero  # type: ignore[import-untyped,unused-ignore]
    except ImportError:
        return None
    return Habanero(base_url=url, mailto=MAILTO)


@contextlib.contextmanager
def crossrefapi_on(url: str) -> Iterator[Any]:
    """crossrefapi's module pointed at the simulator (it builds https://api.crossref.org URLs
    itself, so its URL builder is swapped for the benchmark's duration). None if missing."""
    try:
        from crossref import restful  # type: ignore[import-untyped,unused-ignore]
    except ImportError:
        yield None
        return
    original = restful.build_url_endpoint

    def local(endpoint: str, context: str | None = None) -> str:
        path = f"{context}/{endpoint}" if context else endpoint
        return f"{url}/{path}"

    restful.build_url_endpoint = local
    try:
        yield restful
    finally:
        restful.build_url_endpoint = original


if __name__ == "__main__":
    if sys.argv[1:2] == ["serve"]:
        _serve(sys.argv[2:])
    else:
        raise SystemExit(
            "usage: python _common.py serve [--works N] [--seed N] [--preset NAME]"
            " [--latency S] [--jitter S] [--per-row S]"
        )
