"""Bibliography checks, citation matching and formatted citations."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
from _cli import run_cli
from conftest import unit_client

from crossref_async import Crossref, NotFoundError, ValidationError, extract_dois
from crossref_async._cite import media_type
from crossref_async.testing import FakeCrossref

MAILTO = "tests@example.org"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("see 10.1037/0003-066X.59.1.29.", ["10.1037/0003-066X.59.1.29"]),
        ("(doi:10.5555/12345678)", ["10.5555/12345678"]),
        (
            "https://doi.org/10.5555/12345678, and http://dx.doi.org/10.1000/182;",
            ["10.5555/12345678", "10.1000/182"],
        ),
        ("<https://doi.org/10.1000%2F182>", ["10.1000/182"]),
        (
            "[1] X. 10.1890/0012-9615(1999)069[0569:EDILSA]2.0.CO;2]",
            ["10.1890/0012-9615(1999)069[0569:EDILSA]2.0.CO;2"],
        ),
        ("“10.5555/quoted”", ["10.5555/quoted"]),
        ("10.5555/A and 10.5555/a again", ["10.5555/A"]),
        ("no dois here, 10.12/short and 10.1234/", []),
    ],
)
def test_extract_dois(text: str, expected: list[str]) -> None:
    assert extract_dois(text) == expected


@pytest.fixture(scope="module")
def fake() -> FakeCrossref:
    return FakeCrossref(works=800, seed=31, limits="fast-50")


def client(fake: FakeCrossref) -> Crossref:
    return Crossref(mailto=MAILTO, transport=fake.transport(), cite_base_url="https://doi.test")


async def test_check_bibliography_classifies_every_doi(fake: FakeCrossref) -> None:
    known = [str(w["DOI"]) for w in fake.corpus.works[:3]]
    other = sorted(
        __import__("crossref_async.testing", fromlist=["OTHER_AGENCIES"]).OTHER_AGENCIES
    )[0]
    text = (
        f"[1] A. Author. Title. doi:{known[0]}.\n"
        f"[2] https://doi.org/{known[1].upper()}\n"
        f"[3] Data at https://doi.org/{other}/dataset.x1 (DataCite).\n"
        "[4] A hallucinated one: 10.5555/never-registered-xyz.\n"
        f"[5] Again {known[0]}\n"
    )
    async with client(fake) as cr:
        entries = await cr.check_bibliography(text)
    assert [e.status for e in entries] == ["found", "found", "other-agency", "not-registered"]
    assert entries[0].work is not None and entries[0].work.first_title
    assert entries[2].agency not in (None, "crossref")
    assert entries[3].work is None and entries[3].agency is None


async def test_match_citations_picks_the_right_record(fake: FakeCrossref) -> None:
    works = fake.corpus.works[40:70]
    citations = [fake.corpus.citation(str(w["DOI"])) for w in works]
    garbage = ["zyxwv qutsr ponml kjihg fedcb", "the of and"]
    async with client(fake) as cr:
        results = await cr.match_citations([*citations, *garbage, "Renear 2012"])
    for work, result in zip(works, results, strict=False):
        assert result.matched, result
        assert result.doi is not None and result.doi.lower() == str(work["DOI"]).lower()
        assert result.score is not None and result.work is not None
    tail = results[len(works) :]
    assert [r.matched for r in tail] == [False, False, False]
    assert tail[-1].reason == "too few terms" and tail[-1].doi is None
    assert tail[0].reason in ("score below threshold", "no candidates")


async def test_match_citation_too_few_words_sends_nothing() -> None:
    async with unit_client(transport=httpx.MockTransport(lambda r: httpx.Response(500))) as cr:
        result = await cr.match_citation("Renear   2012")
    assert not result.matched and result.reason == "too few terms"


@pytest.mark.parametrize(
    ("fmt", "style", "locale", "needle"),
    [
        ("bibtex", None, None, "@"),
        ("ris", None, None, "TY  - "),
        ("csl-json", None, None, '"DOI"'),
        ("text", None, None, "."),
        ("text", "ieee", "en-US", "."),
        ("text", "apa", "de-DE", "."),
    ],
)
async def test_cite_every_format(
    fake: FakeCrossref, fmt: str, style: str | None, locale: str | None, needle: str
) -> None:
    doi = str(fake.corpus.works[5]["DOI"])
    fake.stats.reset()
    async with client(fake) as cr:
        text = await cr.cite(doi, format=fmt, style=style, locale=locale)
    assert needle in text
    if fmt == "csl-json":
        assert json.loads(text)["DOI"].lower() == doi.lower()
    # doi.org's hop and the transform: no mailto parameter leaves for doi.org.
    assert all(
        "mailto" not in r.target for r in fake.stats.log if not r.target.startswith("/works")
    )


async def test_cite_errors(fake: FakeCrossref) -> None:
    async with client(fake) as cr:
        with pytest.raises(NotFoundError):
            await cr.cite("10.5555/never-registered-xyz")
        with pytest.raises(ValidationError, match="citation format"):
            await cr.cite("10.5555/12345678", format="bibtext")
        with pytest.raises(ValidationError, match="format='text'"):
            await cr.cite("10.5555/12345678", format="bibtex", style="apa")
        with pytest.raises(ValidationError, match="locale"):
            await cr.cite("10.5555/12345678", format="text", locale="english")


def test_media_types() -> None:
    assert media_type("bibtex") == "application/x-bibtex"
    assert (
        media_type("text", style="chicago-author-date")
        == "text/x-bibliography; style=chicago-author-date"
    )


async def test_plus_token_never_goes_to_doi_org() -> None:
    seen: list[httpx.Request] = []

    def server(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, text="@article{x}")

    async with unit_client(transport=httpx.MockTransport(server), plus_token="secret-token") as cr:
        await cr.cite("10.5555/12345678")
    assert seen[0].url.host == "doi.org"
    assert "crossref-plus-api-token" not in seen[0].headers
    assert seen[0].headers["accept"] == "application/x-bibtex"
    assert "mailto" not in str(seen[0].url)


def test_cli_get_check_and_cite(tmp_path: Path) -> None:
    corpus = FakeCrossref(works=500).corpus
    dois = [str(w["DOI"]) for w in corpus.works[:5]]
    listing = tmp_path / "dois.txt"
    listing.write_text("\n".join([*dois[2:], "10.5555/nope"]))
    out = tmp_path / "works.jsonl"
    got = run_cli("get", *dois[:2], "--file", str(listing), "--out", str(out))
    assert got.returncode == 1  # one DOI was not found
    assert "not found: 10.5555/nope" in got.stderr and "5 found, 1 not found" in got.stderr
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["DOI"].lower() for r in records] == [d.lower() for d in dois]

    bib = tmp_path / "bib.txt"
    bib.write_text(f"[1] doi:{dois[0]}.\n[2] 10.5555/never-registered-xyz\n")
    checked = run_cli("check", str(bib), "--json")
    assert checked.returncode == 1
    statuses = [json.loads(line)["status"] for line in checked.stdout.splitlines()]
    assert statuses == ["found", "not-registered"]

    cited = run_cli("cite", dois[0], "--format", "bibtex")
    assert cited.returncode == 0, cited.stderr
    assert cited.stdout.startswith("@")
    text = run_cli("cite", dois[0], "--format", "text", "--style", "ieee")
    assert text.returncode == 0, text.stderr
    assert text.stdout.strip()
