"""Running the ``crossref-async`` command in a subprocess, against the embedded simulator."""

from __future__ import annotations

import os
import subprocess
import sys


def run_cli(
    *args: str, works: int = 500, preset: str = "fast-50", timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    """``python -m crossref_async ARGS --fake ...``: its exit status and output, as text."""
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    fake = ["--fake", "--fake-works", str(works), "--fake-preset", preset]
    return subprocess.run(
        [sys.executable, "-m", "crossref_async", *args, *fake],
        env=env, capture_output=True, text=True, timeout=timeout, check=False,
    )  # fmt: skip
