"""Shared pieces of the benchmarks: the simulator on loopback, the peers, and table output.

The peers are driven the way their users drive them: habanero and crossrefapi one request at
a time from synchronous code, and "plain httpx + aiolimiter" as the async loop people write
by hand (a leaky-bucket limiter set to the advertised rate and a semaphore set to the
advertised concurrency, no retries, no reading of headers).
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from crossref_async.testing import FakeCrossref, serve_in_thread

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
        from habanero import Crossref as Habanero
    except ImportError:
        return None
    return Habanero(base_url=url, mailto=MAILTO)


@contextlib.contextmanager
def crossrefapi_on(url: str) -> Iterator[Any]:
    """crossrefapi's module pointed at the simulator (it builds https://api.crossref.org URLs
    itself, so its URL builder is swapped for the benchmark's duration). None if missing."""
    try:
        from crossref import restful
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
