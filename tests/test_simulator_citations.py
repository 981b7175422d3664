"""Registration agencies, formatted citations and citation matching, seen by plain httpx.

Bodies are checked against the corpus records they format and, where Crossref's answers were
recorded (``../shared/crossref-corpus``), against the recorded bodies themselves.
"""

from __future__ import annotations

import json
import random
import re
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from _corpus import corpus_dir

from crossref_async.testing import (
    BIBLIOGRAPHY_LOCALES,
    BIBLIOGRAPHY_STYLES,
    CITATION_FORMATS,
    HOSTILE_DOIS,
    MATCH_THRESHOLD,
    OTHER_AGENCIES,
    REFERENCE_STYLES,
    FakeCrossref,
    Faults,
    serve,
)
from crossref_async.testing import _citations as cite
from crossref_async.testing import _tables as tables
from crossref_async.testing import _vocab as vocab

Record = dict[str, Any]

BIBTEX = "application/x-bibtex"
RIS = "application/x-research-info-systems"
CSL = "application/vnd.citationstyles.csl+json"
TEXT = "text/x-bibliography"
NOT_FOUND = b"Resource not found."
RECORDED_CSL = (
    "habanero/test_content_negotiation_citeproc_json__01_works_10.1126_science.169.3946.635"
    "_transform_application_vnd.citationstyles.csl_json.json"
)
RECORDED_BODIES = {
    # (style or None for BibTeX): the 2026 recording of 10.1126/science.169.3946.635
    None: "habanero/test_content_negotiation__01_v1_works_10.1126_science.169.3946.635"
    "_transform.txt",
    "apa": "habanero/test_content_negotiation_style__01_v1_works_10.1126_science.169.3946.635"
    "_transform.txt",
    "ieee": "habanero/test_content_negotiation_style__03_v1_works_10.1126_science.169.3946.635"
    "_transform.txt",
}


@pytest.fixture(scope="module")
def sim() -> FakeCrossref:
    return FakeCrossref(works=2000, seed=11)


@pytest.fixture
async def http(sim: FakeCrossref) -> AsyncIterator[httpx.AsyncClient]:
    async with sim.client() as client:
        yield client


def work_path(doi: str, tail: str = "") -> str:
    return "/works/" + quote(doi, safe="") + tail


def find(sim: FakeCrossref, test: Any) -> Record:
    """The first corpus work (after the hostile ones) that passes ``test``."""
    # By index: records are built on access, and a slice would build all 2,000 of them.
    works = sim.corpus.works
    return next(w for w in (works[i] for i in range(len(HOSTILE_DOIS), len(works))) if test(w))


def journal_article_with_authors(sim: FakeCrossref, count: int = 3) -> Record:
    return find(
        sim,
        lambda w: (
            w["type"] == "journal-article"
            and len(w.get("author", ())) == count
            and len(w["issued"]["date-parts"][0]) == 3
        ),
    )


# -- registration agencies ----------------------------------------------------------------


async def test_crossref_dois_are_crossref(http: httpx.AsyncClient, sim: FakeCrossref) -> None:
    for doi in (HOSTILE_DOIS[1], sim.corpus.works[40]["DOI"], "10.13039/100000001"):
        response = await http.get(work_path(doi, "/agency"))
        assert response.status_code == 200
        assert response.json()["message"]["agency"] == {"id": "crossref", "label": "Crossref"}


@pytest.mark.parametrize(("prefix", "agency"), sorted(OTHER_AGENCIES.items()))
async def test_other_agencies_answer_but_hold_no_crossref_work(
    http: httpx.AsyncClient, prefix: str, agency: tuple[str, str]
) -> None:
    doi = f"{prefix}/Dryad.X;(2)/v1"
    response = await http.get(work_path(doi, "/agency"))
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json;charset=utf-8"
    assert response.json() == {
        "status": "ok",
        "message-type": "work-agency",
        "message-version": "1.0.0",
        "message": {"DOI": doi, "agency": {"id": agency[0], "label": agency[1]}},
    }
    head = await http.head(work_path(doi, "/agency"))
    assert (head.status_code, head.content) == (200, b"")
    missing = await http.get(work_path(doi))
    assert (missing.status_code, missing.content) == (404, NOT_FOUND)
    assert (await http.head(work_path(doi))).status_code == 404
    assert (await http.get(f"/prefixes/{prefix}")).status_code == 404


async def test_agency_bodies_match_the_recordings(http: httpx.AsyncClient) -> None:
    base = corpus_dir() / "rcrossref"
    for name in (
        "cr_cn_different_base_urls__04_works_10.5284_1011335_agency.json",
        "cr_cn_doi_agency_check__00_works_10.1430_8105_agency.json",
    ):
        recorded = json.loads((base / name).read_text())
        doi = recorded["message"]["DOI"]
        assert (await http.get(work_path(doi, "/agency"))).json() == recorded


async def test_unregistered_dois_are_404_everywhere(http: httpx.AsyncClient) -> None:
    for doi in ("10.9999/nothing", "10.5555/not-in-the-corpus", "10.13039/notarealdoi"):
        for tail in ("", "/agency"):
            response = await http.get(work_path(doi, tail))
            assert (response.status_code, response.content) == (404, NOT_FOUND), (doi, tail)
            assert (await http.head(work_path(doi, tail))).status_code == 404
    # A bare prefix is no DOI, whichever agency owns the prefix.
    assert (await http.get("/works/10.5061/agency")).status_code == 404


def test_no_member_owns_another_agencys_prefix() -> None:
    # Members are the first draw of a corpus's generator (so drawing them alone is enough).
    # Without the exclusion these seeds and sizes would give a member another agency's prefix.
    for seed, works in ((12, 5_000), (167, 5_000), (5, 36_000), (20, 36_000), (27, 200_000)):
        rows = tables._members(random.Random(seed), works)
        assert not {p for row in rows for p in row.prefixes} & set(OTHER_AGENCIES), seed


# -- formatted citations ------------------------------------------------------------------


async def test_every_format_by_path_and_by_accept(
    http: httpx.AsyncClient, sim: FakeCrossref
) -> None:
    work = journal_article_with_authors(sim)
    doi = work["DOI"]
    for media in CITATION_FORMATS:
        by_path = await http.get(work_path(doi, f"/transform/{media}"))
        by_accept = await http.get(work_path(doi, "/transform"), headers={"Accept": media})
        for response in (by_path, by_accept):
            assert response.status_code == 200, media
            assert response.headers["content-type"] == media
            assert response.headers["vary"] == "Accept"
        assert by_path.content == by_accept.content
    assert_formats(work, await fetch_all(http, doi))


async def fetch_all(http: httpx.AsyncClient, doi: str) -> dict[str, httpx.Response]:
    return {
        media: await http.get(work_path(doi, "/transform"), headers={"Accept": media})
        for media in CITATION_FORMATS
    }


def assert_formats(work: Record, answers: dict[str, httpx.Response]) -> None:
    doi = work["DOI"]
    csl = answers[CSL].json()
    assert csl["DOI"] == doi
    assert csl["title"] == work["title"][0]
    assert csl["container-title"] == work["container-title"][0]
    assert csl["container-title-short"] == work["short-container-title"][0]
    assert csl["type"] == work["type"]
    assert [a["family"] for a in csl["author"]] == [a["family"] for a in work["author"]]
    assert all(a["role"] == [{"vocabulary": "crossref", "role": "author"}] for a in csl["author"])
    assert csl["score"] == 1
    assert answers["application/citeproc+json"].json() == csl

    bibtex = answers[BIBTEX].text
    family = "".join(ch for ch in work["author"][0]["family"] if ch.isalnum())
    year = work["issued"]["date-parts"][0][0]
    assert bibtex.startswith(f" @article{{{family}_{year}, title={{{work['title'][0]}}}, ")
    assert f"DOI={{{doi}}}" in bibtex
    assert f"journal={{{work['container-title'][0]}}}" in bibtex
    authors = " and ".join(f"{a['family']}, {a['given']}" for a in work["author"])
    assert f"author={{{authors}}}" in bibtex
    assert bibtex.endswith(" }\n")

    lines = answers[RIS].text.splitlines()
    assert lines[0] == "TY  - JOUR"
    assert lines[-1] == "ER  - "
    assert f"DO  - {doi}" in lines
    assert f"TI  - {work['title'][0]}" in lines
    assert [line for line in lines if line.startswith("AU  - ")] == [
        f"AU  - {a['family']}, {a['given']}" for a in work["author"]
    ]
    assert f"PY  - {year}" in lines

    text = answers[TEXT].text
    assert text.endswith(f"https://doi.org/{doi}\n")  # APA by default
    assert text.startswith(f"{work['author'][0]['family']}, {work['author'][0]['given'][0]}.")


def test_bodies_match_the_recordings() -> None:
    """Formatting the recorded Science article gives Crossref's recorded bodies, byte for
    byte: BibTeX, APA and IEEE (2026)."""
    base = corpus_dir()
    record = json.loads((base / RECORDED_CSL).read_text())
    for style, name in RECORDED_BODIES.items():
        expected = (base / name).read_text()
        if style is None:
            assert cite.bibtex(cite.Work.of(record)) + "\n" == expected
        else:
            assert cite.bibliography(record, style) == expected


def test_every_work_type_renders_cleanly(sim: FakeCrossref) -> None:
    """Every style and locale over works of every type (chapters, books, datasets, undated
    works...): the title is there and no part left doubled or dangling punctuation."""
    sloppy = re.compile(r"\.\.|  | ,| \.|\(\)|,,|\. ,|: \.|;\.|None|^ ")
    types = set()
    for record in sim.corpus.works[:600]:
        types.add(record["type"])
        texts = [
            cite.bibliography(record, style, locale).removesuffix("\n")
            for style in BIBLIOGRAPHY_STYLES
            if style != "bibtex"
            for locale in BIBLIOGRAPHY_LOCALES
        ]
        texts += [sim.corpus.citation(record["DOI"], style) for style in REFERENCE_STYLES]
        for text in texts:
            assert not sloppy.search(text), text
            assert record["title"][0] in text, text
        bibtex = cite.bibliography(record, "bibtex")
        assert bibtex.startswith(" @") and bibtex.count("{") == bibtex.count("}"), bibtex
    assert len(types) >= 10


@pytest.mark.parametrize("locale", BIBLIOGRAPHY_LOCALES)
@pytest.mark.parametrize("style", BIBLIOGRAPHY_STYLES)
async def test_styles_and_locales(
    http: httpx.AsyncClient, sim: FakeCrossref, style: str, locale: str
) -> None:
    work = journal_article_with_authors(sim)
    accept = f"{TEXT}; style={style}; locale={locale}"
    response = await http.get(work_path(work["DOI"], "/transform"), headers={"Accept": accept})
    assert response.status_code == 200
    assert response.headers["content-type"] == TEXT
    text = response.text
    assert text.endswith("\n") and text.count("\n") == 1
    assert work["title"][0] in text
    assert work["DOI"] in text
    families = [a["family"] for a in work["author"]]
    assert all(family in text for family in families)
    word = {"en-US": "and", "de-DE": "und", "fr-FR": "et"}[locale]
    if style in ("chicago-author-date", "ieee"):
        assert f", {word} " in text  # three authors: "A, B, and C"
    expected_start = {
        "ieee": "[1]",
        "vancouver": f"1. {families[0]} ",
        "bibtex": " @article{",
        "apa": f"{families[0]}, ",
        "chicago-author-date": f"{families[0]}, ",
        "harvard1": f"{families[0]}, ",
    }[style]
    assert text.startswith(expected_start)
    if style == "harvard1":
        available = {"en-US": "Available at", "de-DE": "Verfügbar unter"}.get(
            locale, "Disponible à l’adresse"
        )
        assert f"{available}: http://dx.doi.org/" in text
    if style == "bibtex":  # no words to translate
        english = await http.get(
            work_path(work["DOI"], "/transform"), headers={"Accept": f"{TEXT}; style=bibtex"}
        )
        assert text == english.text


async def test_locales_translate_months_and_fall_back(
    http: httpx.AsyncClient, sim: FakeCrossref
) -> None:
    work = journal_article_with_authors(sim)
    month = work["issued"]["date-parts"][0][1]
    path = work_path(work["DOI"], "/transform")

    async def ieee(locale: str) -> str:
        accept = f"{TEXT}; style=ieee; locale={locale}"
        return (await http.get(path, headers={"Accept": accept})).text

    english, german, french = await ieee("en-US"), await ieee("de-DE"), await ieee("fr-FR")
    assert cite.terms_for("en-US").months[month - 1] in english
    assert f"{cite.terms_for('de-DE').months[month - 1]} " in german
    assert "Bd." in german and "Nr." in german and "„" in german
    assert "« " in french and cite.terms_for("fr-FR").months[month - 1] in french
    # Unknown locales fall back by language, then to en-US, as citeproc does.
    assert await ieee("de-AT") == german
    assert await ieee("xx-YY") == english
    assert await ieee("EN-us") == english


async def test_default_style_is_apa_in_english(http: httpx.AsyncClient, sim: FakeCrossref) -> None:
    doi = journal_article_with_authors(sim)["DOI"]
    default = await http.get(work_path(doi, f"/transform/{TEXT}"))
    explicit = await http.get(
        work_path(doi, "/transform"), headers={"Accept": f"{TEXT}; style=apa; locale=en-US"}
    )
    assert default.status_code == explicit.status_code == 200
    assert default.text == explicit.text
    # A path's media type still takes the Accept header's parameters for that type.
    ieee = await http.get(
        work_path(doi, f"/transform/{TEXT}"), headers={"Accept": f"{TEXT}; style=ieee"}
    )
    assert ieee.text.startswith("[1]")
    shouted = await http.get(
        work_path(doi, "/transform"), headers={"Accept": f"{TEXT}; STYLE=IEEE"}
    )
    assert shouted.text == ieee.text


async def test_transform_takes_no_list_parameters(
    http: httpx.AsyncClient, sim: FakeCrossref
) -> None:
    path = work_path(sim.corpus.works[20]["DOI"], f"/transform/{BIBTEX}")
    assert (await http.get(path, params={"mailto": "a@example.org"})).status_code == 200
    refused = await http.get(path, params={"rows": "5"})
    assert refused.status_code == 400
    assert refused.json()["message"][0]["type"] == "parameter-not-allowed"


async def test_negotiation_picks_by_quality_then_specificity(
    http: httpx.AsyncClient, sim: FakeCrossref
) -> None:
    path = work_path(sim.corpus.works[20]["DOI"], "/transform")
    cases = {
        f"{BIBTEX};q=0.5, {RIS}": RIS,
        f"{BIBTEX}, {RIS}": BIBTEX,
        "*/*": CSL,
        "": CSL,
        f"*/*, {CSL};q=0": TEXT,
        "text/*": TEXT,
        f"text/html, {BIBTEX};q=0.9": BIBTEX,
        f'{TEXT}; style="ieee"; q=0.8, application/*;q=0.1': TEXT,
    }
    for accept, expected in cases.items():
        response = await http.get(path, headers={"Accept": accept})
        assert response.status_code == 200, accept
        assert response.headers["content-type"] == expected, accept


async def test_not_acceptable(http: httpx.AsyncClient, sim: FakeCrossref) -> None:
    doi = sim.corpus.works[20]["DOI"]
    refusals = [
        (work_path(doi, "/transform"), {"Accept": "application/rdf+xml"}, "not by the"),
        (work_path(doi, "/transform/text/turtle"), {}, "not by the"),
        (work_path(doi, "/transform"), {"Accept": "application/json, text/html"}, "No acceptable"),
        (work_path(doi, "/transform/image/png"), {}, "No acceptable"),
        (work_path(doi, "/transform"), {"Accept": f"{BIBTEX};q=0"}, "No acceptable"),
        (
            work_path(doi, "/transform"),
            {"Accept": f"{TEXT}; style=mla"},
            "Unknown citation style: mla",
        ),
    ]
    for path, headers, says in refusals:
        response = await http.get(path, headers=headers)
        assert response.status_code == 406, (path, headers)
        assert response.headers["content-type"] == "text/plain;charset=utf-8"
        assert says in response.text
        assert len(response.content) < 400


async def test_transform_of_unknown_and_foreign_dois_is_404(http: httpx.AsyncClient) -> None:
    for doi in ("10.9999/nothing", "10.5284/1011335"):
        for path, headers in (
            (work_path(doi, "/transform"), {"Accept": BIBTEX}),
            (work_path(doi, f"/transform/{CSL}"), {}),
            (work_path(doi, "/transform"), {"Accept": "application/rdf+xml"}),  # 404 first
        ):
            response = await http.get(path, headers=headers)
            assert (response.status_code, response.content) == (404, NOT_FOUND)
            # As recorded for a DataCite DOI's transform: labelled plain text.
            assert response.headers["content-type"] == "text/plain;charset=utf-8"


async def test_head_on_transform(http: httpx.AsyncClient, sim: FakeCrossref) -> None:
    doi = sim.corpus.works[20]["DOI"]
    found = await http.head(work_path(doi, "/transform"), headers={"Accept": BIBTEX})
    assert (found.status_code, found.content) == (200, b"")
    assert int(found.headers["content-length"]) > 50
    missing = await http.head(work_path("10.9999/x", "/transform"), headers={"Accept": BIBTEX})
    assert (missing.status_code, missing.content) == (404, b"")


@pytest.mark.parametrize("doi", HOSTILE_DOIS)
async def test_hostile_dois_in_transform_paths(http: httpx.AsyncClient, doi: str) -> None:
    for variant in (doi, doi.upper()):
        by_path = await http.get(work_path(variant, f"/transform/{CSL}"))
        assert by_path.status_code == 200, variant
        assert by_path.json()["DOI"] == doi
        by_accept = await http.get(work_path(variant, "/transform"), headers={"Accept": RIS})
        assert by_accept.status_code == 200, variant
        assert f"DO  - {doi}\n" in by_accept.text


async def test_content_negotiation_counts_as_single() -> None:
    limited = FakeCrossref(works=30, limits="polite-2026")
    async with limited.client() as http:
        response = await http.get(
            work_path("10.5555/12345678", "/transform"), headers={"Accept": BIBTEX}
        )
        hop = await http.get("/10.5555/12345678", headers={"Accept": BIBTEX})
    assert response.headers["x-api-pool"] == hop.headers["x-api-pool"] == "polite-single"
    assert limited.stats.requests == {"single": 2}


async def test_faults_apply_to_content_negotiation() -> None:
    faulty = FakeCrossref(works=30, faults=Faults(error_rate=1.0))
    async with faulty.client() as http:
        response = await http.get(
            work_path("10.5555/12345678", "/transform"), headers={"Accept": BIBTEX}
        )
    assert response.status_code == 503
    assert response.text.startswith("<html>")


# -- the doi.org hop ----------------------------------------------------------------------


@pytest.mark.parametrize("doi", HOSTILE_DOIS)
async def test_doi_org_redirects_to_the_transform(
    http: httpx.AsyncClient, sim: FakeCrossref, doi: str
) -> None:
    headers = {"Accept": f"{TEXT}; style=vancouver"}
    for path in ("/" + quote(doi, safe="/"), "/" + quote(doi.lower(), safe="")):
        hop = await http.get(path, headers=headers)
        assert hop.status_code == 302, path
        assert hop.headers["location"] == work_path(doi, "/transform")
        followed = await http.get(path, headers=headers, follow_redirects=True)
        assert followed.status_code == 200
        assert [r.status_code for r in followed.history] == [302]
        assert followed.url.raw_path == work_path(doi, "/transform").encode()
        assert followed.text.startswith("1. ")
        record = sim.corpus.work(doi)
        assert record is not None
        assert followed.text == cite.bibliography(record, "vancouver")


async def test_doi_org_without_negotiation_sends_to_the_landing_page(
    http: httpx.AsyncClient, sim: FakeCrossref
) -> None:
    record = sim.corpus.works[30]
    for headers in ({}, {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}):
        hop = await http.get("/" + record["DOI"], headers=headers)
        assert hop.status_code == 302
        assert hop.headers["location"] == record["resource"]["primary"]["URL"]


async def test_doi_org_refusals(http: httpx.AsyncClient) -> None:
    for doi in ("10.9999/nothing", "10.5061/dryad.x"):
        response = await http.get(f"/{doi}", headers={"Accept": BIBTEX}, follow_redirects=True)
        assert (response.status_code, response.content) == (404, NOT_FOUND), doi
    unsupported = await http.get(
        "/10.5555/12345678", headers={"Accept": "application/rdf+xml"}, follow_redirects=True
    )
    assert unsupported.status_code == 406
    assert [r.status_code for r in unsupported.history] == [302]


async def test_content_negotiation_on_a_socket() -> None:
    sim = FakeCrossref(works=40, seed=2)
    async with (
        serve(sim) as url,
        httpx.AsyncClient(base_url=url, follow_redirects=True) as http,
    ):
        for doi in HOSTILE_DOIS[:4]:
            response = await http.get("/" + quote(doi, safe=""), headers={"Accept": BIBTEX})
            assert response.status_code == 200, doi
            assert response.headers["content-type"] == BIBTEX
            assert f"DOI={{{doi}}}" in response.text
        agency = await http.get(work_path("10.1430/8105", "/agency"))
        assert agency.json()["message"]["agency"] == {"id": "medra", "label": "mEDRA"}
    assert sim.stats.requests == {"single": 9}


# -- citation matching --------------------------------------------------------------------


async def top_hits(http: httpx.AsyncClient, text: str) -> list[Record]:
    params: dict[str, str | int] = {"query.bibliographic": text, "rows": 5, "select": "DOI,score"}
    response = await http.get("/works", params=params)
    assert response.status_code == 200
    items: list[Record] = response.json()["message"]["items"]
    return items


@pytest.mark.parametrize("style", REFERENCE_STYLES)
async def test_a_citation_matches_its_work_above_the_threshold(
    http: httpx.AsyncClient, sim: FakeCrossref, style: str
) -> None:
    rng = random.Random(style)
    for index in rng.sample(range(len(sim.corpus.works)), 200):
        text = sim.corpus.citation(index, style)
        hits = await top_hits(http, text)
        assert hits[0]["DOI"] == sim.corpus.tables.columns.doi[index], text
        assert hits[0]["score"] >= MATCH_THRESHOLD, text
        assert len(hits) == 1 or hits[1]["score"] < MATCH_THRESHOLD, text
        assert len(hits) == 1 or hits[0]["score"] > 2 * hits[1]["score"], text


def unrelated(rng: random.Random, kind: int) -> str:
    """A string that cites no corpus work: a reference to an outside work in the corpus's
    own vocabulary (the hard case), random letters, or prose."""
    if kind == 0:
        words = " ".join(rng.choice(vocab.TITLE_WORDS) for _ in range(rng.randint(5, 12)))
        return (
            f"{rng.choice(vocab.FAMILY_NAMES)} {rng.choice(vocab.GIVEN_NAMES)[0]}. "
            f"{words.capitalize()}. Rev {rng.choice(vocab.JOURNAL_TOPICS)}. "
            f"{rng.randint(1960, 2025)};{rng.randint(1, 80)}:{rng.randint(1, 900)}."
        )
    if kind == 1:
        letters = "abcdefghijklmnopqrstuvwxyz"
        return " ".join(
            "".join(rng.choice(letters) for _ in range(rng.randint(3, 9))) for _ in range(8)
        )
    return f"Minutes of the annual general meeting, {rng.randint(1900, 2030)}, item {kind}"


async def test_unrelated_strings_score_below_the_threshold(http: httpx.AsyncClient) -> None:
    rng = random.Random(7)
    for k in range(300):
        text = unrelated(rng, k % 3)
        hits = await top_hits(http, text)
        assert not hits or hits[0]["score"] < MATCH_THRESHOLD, text


def test_corpus_citation_errors_and_styles(sim: FakeCrossref) -> None:
    corpus = sim.corpus
    doi = corpus.works[12]["DOI"]
    assert corpus.citation(doi) == corpus.citation(12) == corpus.citation(doi.upper(), "plain")
    assert set(REFERENCE_STYLES) >= {"plain", "apa", "vancouver"}
    for style in REFERENCE_STYLES:
        text = corpus.citation(12, style)
        assert corpus.works[12]["title"][0] in text and doi not in text, style
    with pytest.raises(KeyError):
        corpus.citation("10.9999/none")
    with pytest.raises(IndexError):
        corpus.citation(len(corpus.works))
    with pytest.raises(ValueError, match="unknown style"):
        corpus.citation(0, "mla")
