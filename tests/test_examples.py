"""The examples run offline (``--fake``), do what their docstrings say, and type-check.

Every ``examples/*.py`` not starting with ``_`` is run in a subprocess against the embedded
simulator, in a temporary working directory (examples write their output files there), with
warnings turned into errors. Records written are compared with what the simulator's corpus
says the query matches, computed here from the same corpus the examples use.
"""

from __future__ import annotations

import ast
import collections
import datetime as dt
import gzip
import importlib.util
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from crossref_async.testing import Corpus

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES_DIR = ROOT / "examples"
EXAMPLES = sorted(p for p in EXAMPLES_DIR.glob("*.py") if not p.name.startswith("_"))


def _load_fake_helper() -> ModuleType:
    spec = importlib.util.spec_from_file_location("examples_fake", EXAMPLES_DIR / "_fake.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


FAKE = _load_fake_helper()


@pytest.fixture(scope="module")
def corpus() -> Corpus:
    """The corpus the examples see under ``--fake``."""
    return Corpus(works=FAKE.FAKE_WORKS, seed=FAKE.FAKE_SEED)


def run_example(
    name: str | Path, *args: str, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    script = name if isinstance(name, Path) else EXAMPLES_DIR / name
    environ = {k: v for k, v in os.environ.items() if k not in ("CROSSREF_MAILTO", "PYTHONPATH")}
    environ["PYTHONPATH"] = str(ROOT)
    environ.update(env or {})
    return subprocess.run(
        [sys.executable, "-W", "error", str(script), *args],
        cwd=cwd,
        env=environ,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def ok(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, f"exit {result.returncode}\n{result.stdout}\n{result.stderr}"
    assert result.stderr == "", result.stderr
    return result.stdout


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    opener: Any = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as lines:
        return [json.loads(line) for line in lines]


def dois(records: list[dict[str, Any]]) -> list[str]:
    return sorted(r["DOI"].lower() for r in records)


def search(text: str, pattern: str) -> str:
    found = re.search(pattern, text, re.MULTILINE)
    assert found, f"{pattern!r} not in:\n{text}"
    return found.group(1)


# -- every example --------------------------------------------------------------------------------


@pytest.mark.parametrize("script", EXAMPLES, ids=lambda p: p.stem)
def test_example_runs_offline(script: Path, tmp_path: Path) -> None:
    result = run_example(script, "--fake", cwd=tmp_path)
    assert result.returncode == 0, f"exit {result.returncode}\n{result.stdout}\n{result.stderr}"
    assert "Traceback" not in result.stderr
    assert "Warning" not in result.stderr
    assert result.stdout.strip()


@pytest.mark.parametrize("script", EXAMPLES, ids=lambda p: p.stem)
def test_example_follows_the_conventions(script: Path) -> None:
    tree = ast.parse(script.read_text(encoding="utf-8"))
    doc = ast.get_docstring(tree)
    assert doc, "an example starts with a docstring saying what it is for and how to run it"
    assert re.search(rf"python examples/{re.escape(script.name)} .*--fake", doc + " "), (
        "the docstring shows how to run it offline: python examples/NAME.py --fake"
    )
    mains = [n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "main"]
    assert mains, "an example defines main(argv: list[str] | None = None) -> int"
    assert "raise SystemExit(main())" in script.read_text(encoding="utf-8")


def test_examples_are_found() -> None:
    names = {p.name for p in EXAMPLES}
    assert {"journal_since.py", "member_output.py", "daily_incremental.py"} <= names


def test_examples_pass_mypy_strict() -> None:
    pytest.importorskip("mypy")
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "examples"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("name", ["journal_since.py", "member_output.py", "daily_incremental.py"])
def test_the_real_api_needs_a_contact_address(name: str, tmp_path: Path) -> None:
    result = run_example(name, cwd=tmp_path)
    assert result.returncode == 2
    assert "--mailto" in result.stderr
    assert not any(tmp_path.iterdir())


# -- journal_since ----------------------------------------------------------------------------


def journal_articles(corpus: Corpus, issn: str, since: str) -> list[dict[str, Any]]:
    return corpus.matching([("issn", issn), ("from-pub-date", since), ("type", "journal-article")])


def test_journal_since_harvests_the_largest_journal(corpus: Corpus, tmp_path: Path) -> None:
    out = ok(run_example("journal_since.py", "--fake", cwd=tmp_path))
    issn = search(out, r"ISSN (\d{4}-\d{3}[\dX])$")
    expected = journal_articles(corpus, issn, "2020-01-01")
    assert len(expected) >= 10  # a meaningful default
    records = read_jsonl(tmp_path / f"{issn}-since-2020-01-01.jsonl")
    assert dois(records) == dois(expected)
    assert search(out, r"^(\d[\d,]*) articles published since 2020-01-01") == str(len(expected))
    assert re.search(rf"^records\s+{len(expected)} \(expected {len(expected)}\)$", out, re.M)
    latest = out.split("; the latest:\n")[1].splitlines()[:3]
    newest = max(r["published"]["date-parts"][0][0] for r in expected)
    assert all(line.startswith("  ") for line in latest)
    assert latest[0].split()[0] == str(newest)


def test_journal_since_by_second_issn_into_gzip(corpus: Corpus, tmp_path: Path) -> None:
    journal = next(j for j in corpus.journals if len(j["ISSN"]) > 1)
    issn = journal["ISSN"][1]
    args = ["--fake", "--issn", issn, "--since", "2010", "--out", "a.jsonl.gz"]
    ok(run_example("journal_since.py", *args, cwd=tmp_path))
    expected = journal_articles(corpus, issn, "2010")
    assert expected
    assert dois(read_jsonl(tmp_path / "a.jsonl.gz")) == dois(expected)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--since", "2024-13"], "not a real calendar date"),
        (["--issn", "1234"], "an ISSN is 8 characters"),
    ],
)
def test_journal_since_refuses_bad_input(args: list[str], message: str, tmp_path: Path) -> None:
    result = run_example("journal_since.py", "--fake", *args, cwd=tmp_path)
    assert result.returncode == 2
    assert message in result.stderr
    assert not any(tmp_path.iterdir())


def test_journal_since_unknown_journal(corpus: Corpus, tmp_path: Path) -> None:
    assert corpus.journal("0000-0000") is None
    result = run_example("journal_since.py", "--fake", "--issn", "0000-0000", cwd=tmp_path)
    assert result.returncode == 1
    assert "no journal with ISSN 0000-0000" in result.stderr


# -- member_output ----------------------------------------------------------------------------


def test_member_output_counts_facets_top_cited_and_harvest(corpus: Corpus, tmp_path: Path) -> None:
    out = ok(run_example("member_output.py", "--fake", cwd=tmp_path))
    member = search(out, r"\(member (\d+)\): [\d,]+ works$")
    expected = corpus.matching([("member", member)])
    assert len(expected) >= 100
    assert search(out, r"\(member \d+\): ([\d,]+) works$") == f"{len(expected):,}"

    records = read_jsonl(tmp_path / f"member-{member}.jsonl")
    assert dois(records) == dois(expected)
    assert re.search(rf"^records\s+{len(expected)} \(expected {len(expected)}\)$", out, re.M)

    labels = {t["id"]: t["label"] for t in corpus.types}
    by_type = collections.Counter(labels[r["type"]] for r in expected)
    for label, n in by_type.items():
        assert re.search(rf"^\s+{n:,}  {label}$", out, re.M), (label, n)

    cited = sorted((r.get("is-referenced-by-count") or 0 for r in expected), reverse=True)[:5]
    section = out.split("Most cited:\n")[1].splitlines()[:5]
    assert [int(line.split()[0].replace(",", "")) for line in section] == cited


def test_member_output_refuses_a_bad_id(tmp_path: Path) -> None:
    result = run_example("member_output.py", "--fake", "--member", "abc", cwd=tmp_path)
    assert result.returncode == 2
    assert "a member id is a whole number" in result.stderr


# -- daily_incremental ------------------------------------------------------------------------


def utc_today() -> dt.date:
    return dt.datetime.now(dt.timezone.utc).date()


def test_daily_incremental_second_run_starts_where_the_state_says(
    corpus: Corpus, tmp_path: Path
) -> None:
    before = utc_today()
    first = ok(run_example("daily_incremental.py", "--fake", cwd=tmp_path))
    after = utc_today()
    assert "first run: everything" in first
    everything = read_jsonl(tmp_path / "updates" / "works-since-the-start.jsonl.gz")
    assert dois(everything) == dois(list(corpus.works))
    state = json.loads((tmp_path / "crossref-state.json").read_text())
    since = state["since"]
    assert since in {before.isoformat(), after.isoformat()}

    second = ok(run_example("daily_incremental.py", "--fake", cwd=tmp_path))
    assert f"fetching records indexed since {since}" in second
    update = read_jsonl(tmp_path / "updates" / f"works-since-{since}.jsonl.gz")
    assert dois(update) == dois(corpus.matching([("from-index-date", since)]))
    # The first run's file is kept: each run writes its own.
    assert (tmp_path / "updates" / "works-since-the-start.jsonl.gz").exists()


def test_daily_incremental_reads_an_older_state(corpus: Corpus, tmp_path: Path) -> None:
    (tmp_path / "crossref-state.json").write_text(json.dumps({"since": "2026-01-20"}))
    before = utc_today()
    out = ok(run_example("daily_incremental.py", "--fake", cwd=tmp_path))
    assert "fetching records indexed since 2026-01-20" in out
    expected = corpus.matching([("from-index-date", "2026-01-20")])
    assert 0 < len(expected) < len(corpus.works)
    update = read_jsonl(tmp_path / "updates" / "works-since-2026-01-20.jsonl.gz")
    assert dois(update) == dois(expected)
    assert all(r["indexed"]["date-parts"][0] >= [2026, 1, 20] for r in update)
    # Only a successful run moves the state on, to the day it started.
    saved = json.loads((tmp_path / "crossref-state.json").read_text())["since"]
    assert saved in {before.isoformat(), utc_today().isoformat()}


def test_daily_incremental_one_member_since_a_date(corpus: Corpus, tmp_path: Path) -> None:
    member = str(corpus.members[-1]["id"])
    args = ["--fake", "--member", member, "--since", "2025-06-01", "--state", "s.json"]
    out = ok(run_example("daily_incremental.py", *args, cwd=tmp_path))
    assert "fetching records indexed since 2025-06-01" in out
    expected = corpus.matching([("member", member), ("from-index-date", "2025-06-01")])
    assert expected
    update = read_jsonl(tmp_path / "updates" / "works-since-2025-06-01.jsonl.gz")
    assert dois(update) == dois(expected)
    assert (tmp_path / "s.json").exists()
