"""The project's own bar, checked by the test run: ruff and mypy --strict on the package."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=ROOT, capture_output=True, text=True, timeout=600, check=False)


def test_ruff_is_clean() -> None:
    # Prefer the ruff installed beside this interpreter (the project's venv).
    ruff = shutil.which("ruff", path=str(Path(sys.executable).parent)) or shutil.which("ruff")
    if ruff is None:
        pytest.skip("ruff is not installed (pip install -e '.[dev]')")
    result = run(ruff, "check", "crossref_async", "tests", "benchmarks", "examples")
    assert result.returncode == 0, result.stdout + result.stderr
    result = run(ruff, "format", "--check", "crossref_async", "tests", "benchmarks", "examples")
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_strict_is_clean() -> None:
    pytest.importorskip("mypy")
    result = run(sys.executable, "-m", "mypy", "--strict", "crossref_async")
    assert result.returncode == 0, result.stdout + result.stderr
