"""The examples run offline (``--fake``), do what their docstrings say, and type-check.

Every ``examples/*.py`` not starting with ``_`` is run in a subprocess against the embedded
simulator, in a temporary working directory (examples write their output files there), with
warnings turned into errors. Records written are compared with what the simulator's corpus
says the query matches, computed here from the same corpus the examples use.
"""

from __future__ import annotations

import ast
import collections
import csv
import datetime as dt
import gzip
import importlib.util
import itertools
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from crossref_async import Work
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
    """The corpus the examples see under ``--fake`` (with the same works re-indexed today)."""
    corpus = Corpus(works=FAKE.FAKE_WORKS, seed=FAKE.FAKE_SEED)
    FAKE.recent_updates(corpus)
    return corpus


def run_example(
    name: str | Path,
    *args: str,
    cwd: Path,
    env: dict[str, str] | None = None,
    stdin: str | None = None,
) -> subprocess.CompletedProcess[str]:
    script = name if isinstance(name, Path) else EXAMPLES_DIR / name
    environ = {k: v for k, v in os.environ.items() if k not in ("CROSSREF_MAILTO", "PYTHONPATH")}
    environ["PYTHONPATH"] = str(ROOT)
    environ.update(env or {})
    return subprocess.run(
        [sys.executable, "-W", "error", str(script), *args],
        cwd=cwd,
        env=environ,
        input=stdin if stdin is not None else "",
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
    assert {
        "journal_since.py",
        "member_output.py",
        "daily_incremental.py",
        "references.py",
        "citation_graph.py",
        "validate_references.py",
        "resolve_dois.py",
        "publisher_analytics.py",
        "rag_corpus.py",
        "journal_scope.py",
    } <= names


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


@pytest.mark.parametrize("script", EXAMPLES, ids=lambda p: p.stem)
def test_the_real_api_needs_a_contact_address(script: Path, tmp_path: Path) -> None:
    result = run_example(script, cwd=tmp_path)
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
    # What the simulator re-indexed today, and only that (its own dates end in January).
    recent = [str(w["DOI"]) for w in corpus.works[:: FAKE.UPDATED_EVERY]]
    assert dois(update) == sorted(d.lower() for d in recent) and len(update) > 20
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


# -- resolve_dois -----------------------------------------------------------------------------


def csv_rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def listed(out: str, heading: str) -> list[str]:
    """The indented lines under ``heading:`` in an example's summary."""
    lines = out.split(f"\n{heading}:")[1].splitlines()[1:]
    return [line.strip() for line in itertools.takewhile(lambda x: x.startswith("  "), lines)]


def test_resolve_dois_demo_list(corpus: Corpus, tmp_path: Path) -> None:
    out = ok(run_example("resolve_dois.py", "--fake", cwd=tmp_path))
    records = read_jsonl(tmp_path / "resolved.jsonl")
    assert int(search(out, r"^found:\s+(\d+)")) == len(records) >= 6
    for record in records:
        expected = corpus.work(record["DOI"])
        assert expected is not None
        assert record["DOI"] == expected["DOI"]  # the registered spelling, not the pasted one
        assert record["title"] == expected["title"]
    # The hostile DOI and the one with a space came through whole.
    assert {"10.5555/ab;c#d?e<f>(g):h", "10.5555/space in suffix"} <= {r["DOI"] for r in records}
    missing = listed(out, "not found")
    assert len(missing) == int(search(out, r"^not found:\s+(\d+)")) >= 2
    assert all(corpus.work(doi) is None for doi in missing)
    malformed = listed(out, "malformed")
    assert len(malformed) == int(search(out, r"^malformed:\s+(\d+)")) >= 1
    assert all("a DOI looks like 10." in line for line in malformed)
    assert "(1 repeats skipped)" in out


def test_resolve_dois_from_a_file_with_every_case(corpus: Corpus, tmp_path: Path) -> None:
    hostile = [str(w["DOI"]) for w in corpus.works[:10]]
    ordinary = [str(w["DOI"]) for w in corpus.works[500:520]]
    lines = [
        "# exported from a reference manager",
        *hostile,
        *(f"https://doi.org/{d}" for d in ordinary[:10]),
        *(f"doi:{d.upper()}" for d in ordinary[10:]),
        "",
        ordinary[0],  # again
        "10.5555/this-one-does-not-exist",
        "not a doi at all",
    ]
    (tmp_path / "dois.txt").write_text("\ufeff" + "\n".join(lines) + "\n", encoding="utf-8")
    args = ["--fake", "dois.txt", "--out", "w.jsonl", "--select", "DOI,title"]
    result = run_example("resolve_dois.py", *args, cwd=tmp_path)
    assert result.returncode == 1, result.stderr  # something was missing or malformed
    assert result.stderr == ""
    records = read_jsonl(tmp_path / "w.jsonl")
    assert [r["DOI"] for r in records] == hostile + ordinary  # input order, each once
    assert all(set(r) == {"DOI", "title"} for r in records)
    assert listed(result.stdout, "not found") == ["10.5555/this-one-does-not-exist"]
    assert listed(result.stdout, "malformed") == [
        f"line {len(lines)}: 'not a doi at all' (a DOI looks like 10.<registrant digits>/<suffix>)"
    ]
    assert "(1 repeats skipped)" in result.stdout


def test_resolve_dois_from_stdin_in_several_batches(corpus: Corpus, tmp_path: Path) -> None:
    wanted = [str(w["DOI"]) for w in corpus.works[1000:1250]]
    result = run_example("resolve_dois.py", "--fake", "-", cwd=tmp_path, stdin="\n".join(wanted))
    out = ok(result)
    assert [r["DOI"] for r in read_jsonl(tmp_path / "resolved.jsonl")] == wanted
    assert search(out, r"^not found:\s+(\d+)") == "0"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--select", "DOI,titel"], "'titel': unknown select field (did you mean 'title'"),
        (["missing.txt"], "'missing.txt': no such file"),
    ],
)
def test_resolve_dois_refuses_bad_input(args: list[str], message: str, tmp_path: Path) -> None:
    result = run_example("resolve_dois.py", "--fake", *args, cwd=tmp_path)
    assert result.returncode == 2
    assert message in result.stderr
    assert not any(tmp_path.iterdir())


# -- publisher_analytics ----------------------------------------------------------------------


def publisher_trend(corpus: Corpus, member: str, first: int, last: int) -> list[dict[str, str]]:
    """The CSV rows publisher_analytics should write for one member, from the corpus."""
    period = [("member", member), ("from-pub-date", str(first)), ("until-pub-date", str(last))]
    name = corpus.member(member)["primary-name"]  # type: ignore[index]

    def per_year(records: list[dict[str, Any]]) -> collections.Counter[int]:
        return collections.Counter(r["published"]["date-parts"][0][0] for r in records)

    records = corpus.matching(period)
    works = per_year(records)
    open_access = per_year(
        [
            r
            for r in records
            if any("creativecommons.org" in lic["URL"] for lic in r.get("license", []))
        ]
    )
    referenced = per_year(corpus.matching([*period, ("has-references", "true")]))
    return [
        {
            "member": member,
            "publisher": name,
            "year": str(year),
            "works": str(works[year]),
            "open_access": str(open_access[year]),
            "with_references": str(referenced[year]),
        }
        for year in range(first, last + 1)
    ]


def test_publisher_analytics_top_publishers(corpus: Corpus, tmp_path: Path) -> None:
    out = ok(run_example("publisher_analytics.py", "--fake", "--csv", "p.csv", cwd=tmp_path))
    first, last = int(search(out, r"^Works published (\d{4})-")), int(search(out, r"-(\d{4}),"))
    assert last - first == 9
    period = corpus.matching([("from-pub-date", str(first)), ("until-pub-date", str(last))])
    volume = collections.Counter(r["publisher"] for r in period)
    top = sorted(volume, key=lambda name: (-volume[name], name))[:3]
    members = [next(str(m["id"]) for m in corpus.members if m["primary-name"] == n) for n in top]
    headings = re.findall(r"^(.+) \(member (\d+)\): ([\d,]+) works$", out, re.M)
    assert headings == [(n, m, f"{volume[n]:,}") for n, m in zip(top, members, strict=True)]

    expected = [row for m in members for row in publisher_trend(corpus, m, first, last)]
    assert csv_rows(tmp_path / "p.csv") == expected
    assert any(row["open_access"] != "0" for row in expected)
    assert any(row["with_references"] != row["works"] for row in expected)
    row = next(r for r in expected if r["works"] != "0")
    line = f"   {row['year']}  {int(row['works']):>8,}  {int(row['open_access']):>6,}"
    assert line in out


def test_publisher_analytics_chosen_members(corpus: Corpus, tmp_path: Path) -> None:
    small = min(corpus.members, key=lambda m: int(m["counts"]["total-dois"]))
    members = [str(corpus.members[0]["id"]), str(small["id"])]
    args = ["--fake", "--from", "2005", "--until", "2012", "--csv", "p.csv"]
    args += [arg for m in members for arg in ("--member", m)]
    ok(run_example("publisher_analytics.py", *args, cwd=tmp_path))
    expected = [row for m in members for row in publisher_trend(corpus, m, 2005, 2012)]
    assert csv_rows(tmp_path / "p.csv") == expected


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--from", "2024", "--until", "2020"], "--from 2024 is after --until 2020"),
        (["--member", "abc"], "'abc': a member id is a whole number"),
        (["--from", "20245"], "--from 20245: a year has four digits (YYYY)"),
        (["--top", "0"], "--top 0: give a number of publishers from 1 to 100"),
    ],
)
def test_publisher_analytics_refuses_bad_input(
    args: list[str], message: str, tmp_path: Path
) -> None:
    result = run_example("publisher_analytics.py", "--fake", "--csv", "p.csv", *args, cwd=tmp_path)
    assert result.returncode == 2
    assert message in result.stderr
    assert not any(tmp_path.iterdir())


def test_publisher_analytics_unknown_member(corpus: Corpus, tmp_path: Path) -> None:
    assert corpus.member("999999") is None
    result = run_example("publisher_analytics.py", "--fake", "--member", "999999", cwd=tmp_path)
    assert result.returncode == 1
    assert "Crossref knows no member 999999" in result.stderr


# -- rag_corpus -------------------------------------------------------------------------------


def test_rag_corpus_builds_documents_and_answers(corpus: Corpus, tmp_path: Path) -> None:
    out = ok(run_example("rag_corpus.py", "--fake", cwd=tmp_path))
    expected = corpus.matching([("has-abstract", "true")])
    docs = read_jsonl(tmp_path / "rag-corpus.jsonl")
    assert [d["id"] for d in docs] == [r["DOI"] for r in expected]
    assert f"best 5 of {len(expected)} documents:" in out
    for doc, record in zip(docs, expected, strict=True):
        assert doc["text"].startswith(record["title"][0])
        assert "<" not in doc["text"].replace(record["title"][0], "")  # no JATS left
        paragraph = re.search(r"<jats:p>(.*?)</jats:p>", record["abstract"])
        assert paragraph is not None
        assert doc["text"].split("\n")[1] == paragraph.group(1)  # the "Abstract" heading dropped
        assert all(subject in doc["text"] for subject in record.get("subject", []))
        meta = doc["metadata"]
        assert meta["has_abstract"] is True
        # Without a publication date a work is cited n.d. (the year of its deposit is no date
        # of publication, and "created" is not selected).
        assert meta["year"] == record["issued"]["date-parts"][0][0]
        assert f"({meta['year'] or 'n.d.'}). {record['title'][0]}" in meta["citation"]
        assert meta["citation"].endswith(str(Work(DOI=record["DOI"]).doi_url))
    # The hits printed are documents of the file, best first, each with its citation.
    hits = re.findall(r"^\s+\d+\.\s+([\d.]+)\s+(\S.*)$", out, re.M)
    assert len(hits) == 5
    scores = [float(score) for score, _ in hits]
    assert scores == sorted(scores, reverse=True)
    by_id = {d["id"]: d for d in docs}
    assert all(doi in by_id for _, doi in hits)


def test_rag_corpus_ask_finds_the_document_asked_about(corpus: Corpus, tmp_path: Path) -> None:
    ok(run_example("rag_corpus.py", "--fake", cwd=tmp_path))
    docs = read_jsonl(tmp_path / "rag-corpus.jsonl")
    target = docs[123]
    question = target["text"]
    # --ask alone searches the file built before: no request (and no simulator) needed.
    args = ["--mailto", "me@example.org", "--ask", question, "--top", "3"]
    out = ok(run_example("rag_corpus.py", *args, cwd=tmp_path))
    first = re.search(r"^\s+1\.\s+[\d.]+\s+(\S.*)$", out, re.M)
    assert first is not None and first.group(1) == target["id"]
    assert target["metadata"]["citation"] in out


def test_rag_corpus_query_and_doi_list(corpus: Corpus, tmp_path: Path) -> None:
    filters = [("type", "book-chapter"), ("from-pub-date", "2015")]
    queried = corpus.matching(filters)[:7]
    listed_dois = [str(corpus.works[2000]["DOI"]), str(queried[0]["DOI"]).upper()]
    (tmp_path / "dois.txt").write_text(
        "\n".join([*listed_dois, "10.5555/not-in-the-corpus", "nonsense"]) + "\n"
    )
    args = ["--fake", "--filter", "type:book-chapter", "--filter", "from-pub-date:2015"]
    args += ["--max", "7", "--dois", "dois.txt", "--out", "d.jsonl"]
    out = ok(run_example("rag_corpus.py", *args, cwd=tmp_path))
    docs = read_jsonl(tmp_path / "d.jsonl")
    # The listed DOI already taken from the query is not written twice.
    assert [d["id"] for d in docs] == [r["DOI"] for r in queried] + [listed_dois[0]]
    assert f"{len(corpus.matching(filters)):,} works match; taking up to 7" in out
    assert "not in Crossref: 10.5555/not-in-the-corpus" in out
    assert "dois.txt, line 4: skipped" in out
    assert f"best 5 of {len(docs)} documents" not in out  # no question asked


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--filter", "has-abstrct:true"], "has no filter by that name"),
        (["--filter", "has-abstract"], "--filter 'has-abstract': write a filter as NAME:VALUE"),
        (["--filter", "from-pub-date:2024-13"], "'2024-13': not a real calendar date"),
        (["--max", "0"], "--max 0: take at least one document"),
        (["--dois", "nope.txt"], "--dois 'nope.txt': no such file"),
    ],
)
def test_rag_corpus_refuses_bad_input(args: list[str], message: str, tmp_path: Path) -> None:
    result = run_example("rag_corpus.py", "--fake", *args, cwd=tmp_path)
    assert result.returncode == 2
    assert message in result.stderr
    assert not any(tmp_path.iterdir())


def test_rag_corpus_ask_needs_a_corpus(tmp_path: Path) -> None:
    args = ["--mailto", "me@example.org", "--ask", "anything"]
    result = run_example("rag_corpus.py", *args, cwd=tmp_path)
    assert result.returncode == 2
    assert "no corpus there yet" in result.stderr


# -- journal_scope ----------------------------------------------------------------------------


def affiliation_rows(records: list[dict[str, Any]]) -> list[dict[str, str]]:
    rows = []
    for record in records:
        for person in record.get("author", []):
            author = " ".join(p for p in (person.get("given"), person.get("family")) if p)
            for aff in person.get("affiliation", []):
                rows.append(
                    {
                        "doi": record["DOI"],
                        "year": str(record["issued"]["date-parts"][0][0]),
                        "author": author or person.get("name", ""),
                        "sequence": person["sequence"],
                        "affiliation": aff["name"],
                        "ror": next(
                            (i["id"] for i in aff.get("id", []) if i["id-type"] == "ROR"), ""
                        ),
                        "place": "; ".join(aff.get("place", [])),
                    }
                )
    return rows


def top_institutions(records: list[dict[str, Any]]) -> list[tuple[int, str]]:
    by_works = collections.Counter(
        name
        for r in records
        for name in {a["name"] for p in r.get("author", []) for a in p.get("affiliation", [])}
    )
    return sorted(((n, name) for name, n in by_works.items()), key=lambda x: (-x[0], x[1]))


def test_journal_scope_largest_journal(corpus: Corpus, tmp_path: Path) -> None:
    out = ok(run_example("journal_scope.py", "--fake", cwd=tmp_path))
    issn = search(out, r"ISSN (\d{4}-\d{3}[\dX])$")
    since = search(out, r"^works published from (\d{4})$")
    records = corpus.matching([("issn", issn), ("from-pub-date", since)])
    assert len(records) >= 30
    assert sorted(
        csv_rows(tmp_path / f"{issn}-affiliations.csv"), key=lambda r: (r["doi"], r["author"])
    ) == sorted(affiliation_rows(records), key=lambda r: (r["doi"], r["author"]))
    affiliated = [r for r in records if top_institutions([r])]
    assert f"works: {len(records):,}, with an affiliated author: {len(affiliated):,}" in out
    table = out.split("  institution\n")[1].splitlines()[:10]
    shown = [(int(line.split()[0]), line.split(maxsplit=3)[3]) for line in table]
    assert shown == top_institutions(records)[:10]
    assert "no affiliation in these records gives a place" in out


def test_journal_scope_second_issn_and_a_period(corpus: Corpus, tmp_path: Path) -> None:
    journal = next(j for j in corpus.journals if len(j["ISSN"]) > 1)
    issn = journal["ISSN"][1]
    args = ["--fake", "--issn", issn, "--from", "2010-06", "--until", "2020", "--top", "3"]
    args += ["--out", "a.csv"]
    out = ok(run_example("journal_scope.py", *args, cwd=tmp_path))
    assert "works published from 2010-06 until 2020" in out
    records = corpus.matching(
        [("issn", issn), ("from-pub-date", "2010-06"), ("until-pub-date", "2020")]
    )
    assert records
    assert len(csv_rows(tmp_path / "a.csv")) == len(affiliation_rows(records))
    table = out.split("  institution\n")[1].splitlines()
    shown = list(itertools.takewhile(lambda line: line.startswith("  "), table))
    assert [int(line.split()[0]) for line in shown] == [n for n, _ in top_institutions(records)[:3]]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--issn", "1234"], "'1234': an ISSN is 8 characters"),
        (["--from", "2024-13"], "'2024-13': not a real calendar date"),
        (["--from", "2020", "--until", "2019-12"], "'2019-12': --until is before --from 2020"),
        (["--top", "0"], "--top 0: list at least one institution"),
    ],
)
def test_journal_scope_refuses_bad_input(args: list[str], message: str, tmp_path: Path) -> None:
    result = run_example("journal_scope.py", "--fake", *args, cwd=tmp_path)
    assert result.returncode == 2
    assert message in result.stderr
    assert not any(tmp_path.iterdir())


def test_journal_scope_unknown_journal(tmp_path: Path) -> None:
    result = run_example("journal_scope.py", "--fake", "--issn", "0000-0000", cwd=tmp_path)
    assert result.returncode == 1
    assert "no journal with ISSN 0000-0000" in result.stderr
    assert not any(tmp_path.iterdir())
