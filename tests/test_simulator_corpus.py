"""The synthetic corpus: deterministic, shaped like the recorded real records, and varied."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import pytest
from _corpus import recordings

from crossref_async._params import doi_key
from crossref_async.testing import CORPUS_NOW, HOSTILE_DOIS, Corpus
from crossref_async.testing._records import UNRECORDED_WORK_KEYS
from crossref_async.testing._tables import ALIAS_RATE, issn_check, orcid_check

Record = dict[str, Any]


@pytest.fixture(scope="module")
def corpus() -> Corpus:
    return Corpus(works=1000, seed=0)


@pytest.fixture(scope="module")
def works(corpus: Corpus) -> list[Record]:
    return list(corpus.works)


def real_work_keys() -> tuple[set[str], set[str], set[str]]:
    """Keys seen in recorded works, their references and their authors."""
    work: set[str] = set()
    reference: set[str] = set()
    author: set[str] = set()
    for rec in recordings():
        if rec.message_type not in ("work", "work-list") or not rec.is_json:
            continue
        message = json.loads(rec.body)["message"]
        items = [message] if rec.message_type == "work" else message.get("items") or []
        for item in items:
            work |= set(item)
            for ref in item.get("reference") or []:
                reference |= set(ref)
            for person in item.get("author") or []:
                author |= set(person)
    return work, reference, author


def test_same_seed_same_corpus() -> None:
    one, two, other = (
        Corpus(works=120, seed=4),
        Corpus(works=120, seed=4),
        Corpus(works=120, seed=5),
    )
    assert list(one.works) == list(two.works)
    assert one.members == two.members
    assert [w["DOI"] for w in one.works][10:] != [w["DOI"] for w in other.works][10:]
    assert one.works[50] == one.works[50]  # built on demand, the same every time
    assert one.works[-1] == one.works[119]


def test_records_use_only_real_field_names(works: list[Record]) -> None:
    real_work, real_reference, real_author = real_work_keys()
    ours = set().union(*works)
    assert ours <= real_work | UNRECORDED_WORK_KEYS
    assert not UNRECORDED_WORK_KEYS & real_work  # once recorded, the real shape is the test
    assert len(ours) >= 45
    assert set().union(*(ref for w in works for ref in w.get("reference", []))) <= real_reference
    assert set().union(*(a for w in works for a in w.get("author", []))) <= real_author


def test_hostile_and_well_known_dois(corpus: Corpus, works: list[Record]) -> None:
    assert [w["DOI"] for w in works[: len(HOSTILE_DOIS)]] == list(HOSTILE_DOIS)
    carberry = corpus.work("10.5555/12345678")
    assert carberry is not None
    assert carberry["author"][0]["family"] == "Carberry"
    assert carberry["container-title"] == ["Journal of Psychoceramics"]
    for doi in HOSTILE_DOIS:
        assert corpus.work(doi.swapcase()) == corpus.work(doi)
    characters = "".join(HOSTILE_DOIS)
    for char in ";#?<>():% &+[]~":
        assert char in characters
    assert any(doi != doi.lower() for doi in HOSTILE_DOIS)
    assert len({w["DOI"].lower() for w in works}) == len(works)  # unique ignoring case


def test_aliases_are_seeded_unique_and_resolve_to_their_primary(
    corpus: Corpus, works: list[Record]
) -> None:
    aliased = [w for w in works if "aliases" in w]
    assert 0.5 * ALIAS_RATE * len(works) <= len(aliased) <= 2 * ALIAS_RATE * len(works)
    assert any(len(w["aliases"]) == 2 for w in aliased)
    assert not any("aliases" in w for w in works[: len(HOSTILE_DOIS)])
    keys = {doi_key(w["DOI"]) for w in works}
    aliases = [alias for w in aliased for alias in w["aliases"]]
    assert len({doi_key(a) for a in aliases}) == len(aliases)
    assert not keys & {doi_key(a) for a in aliases}  # no alias shadows a work
    for work in aliased:
        for alias in work["aliases"]:
            assert corpus.primary_of(alias.upper()) == work["DOI"]
            assert corpus.aliases_of(alias) == tuple(work["aliases"])
            assert corpus.work(alias) is None
            assert corpus.matching([("doi", alias)]) == []
        assert corpus.primary_of(work["DOI"]) is None
        assert corpus.aliases_of(work["DOI"].swapcase()) == tuple(work["aliases"])
    assert [
        w["DOI"] for w in corpus.matching([("doi", aliases[0]), ("doi", aliased[0]["DOI"])])
    ] == [aliased[0]["DOI"]]
    assert Corpus(works=1000, seed=0).tables.aliases == corpus.tables.aliases
    assert Corpus(works=1000, seed=3).tables.aliases != corpus.tables.aliases


def test_variety(works: list[Record]) -> None:
    types = Counter(w["type"] for w in works)
    assert len(types) >= 10
    assert types.most_common(1)[0][0] == "journal-article"
    precision = Counter(len(w["published"]["date-parts"][0]) for w in works if "published" in w)
    assert precision[1] > 50 and precision[2] > 100 and precision[3] > 300
    assert any(w["issued"]["date-parts"] == [[None]] for w in works)
    created_years = {w["created"]["date-parts"][0][0] for w in works}
    assert min(created_years) <= 2002 and max(created_years) >= 2025
    recent = sum(w["indexed"]["date-parts"][0][0] >= CORPUS_NOW.year - 1 for w in works)
    assert recent > 0.7 * len(works)
    for key in ("abstract", "funder", "license", "link", "relation", "update-to", "assertion",
                "subject", "ISBN", "event", "editor", "institution", "journal-issue"):  # fmt: skip
        assert any(key in w for w in works), key
    assert sum("reference" in w for w in works) > 0.4 * len(works)
    assert any(not w.get("reference") for w in works)


def test_abstracts_orcids_and_identifiers(works: list[Record]) -> None:
    abstracts = [w["abstract"] for w in works if "abstract" in w]
    assert all(a.startswith("<jats:title>") and "<jats:p>" in a for a in abstracts)
    orcids = [a for w in works for a in w.get("author", []) if "ORCID" in a]
    assert orcids and all(isinstance(a["authenticated-orcid"], bool) for a in orcids)
    for author in orcids:
        digits = author["ORCID"].removeprefix("https://orcid.org/").replace("-", "")
        assert orcid_check(digits[:15]) == digits[15]
    for issn in {i for w in works for i in w.get("ISSN", [])}:
        assert issn_check(issn[:4] + issn[5:8]) == issn[8]
    funders = [f for w in works for f in w.get("funder", [])]
    assert funders and all(f["DOI"].startswith("10.13039/") and f["award"] for f in funders)


def test_references_point_inside_and_outside(corpus: Corpus, works: list[Record]) -> None:
    references = [ref for w in works for ref in w.get("reference", [])]
    with_doi = [ref for ref in references if "DOI" in ref]
    inside = [ref for ref in with_doi if corpus.work(ref["DOI"]) is not None]
    assert len(inside) > 0.3 * len(references)
    assert len(with_doi) - len(inside) > 0.05 * len(references)  # DOIs outside the corpus
    assert sum("DOI" not in ref for ref in references) > 0.3 * len(references)
    assert all(ref["doi-asserted-by"] in ("crossref", "publisher") for ref in with_doi)
    for ref in inside[:50]:
        cited = corpus.work(ref["DOI"])
        assert cited is not None
        if "article-title" in ref:
            assert ref["article-title"] == cited["title"][0]
        if "year" in ref:
            assert ref["year"] == str(cited["published"]["date-parts"][0][0])


def test_the_citation_graph_has_cycles(corpus: Corpus, works: list[Record]) -> None:
    cites = {
        w["DOI"]: {ref["DOI"] for ref in w.get("reference", []) if "DOI" in ref} for w in works
    }
    two_cycles = [(a, b) for a, targets in cites.items() for b in targets if a in cites.get(b, ())]
    assert len(two_cycles) > 20


def test_matching_raises_what_the_server_would(corpus: Corpus) -> None:
    from crossref_async.testing import SearchError

    with pytest.raises(SearchError) as caught:
        corpus.matching([("colour", "true")])
    assert caught.value.kind == "filter-not-available"
    with pytest.raises(SearchError) as caught:
        corpus.matching([("license.delay", "soon")])
    assert (caught.value.kind, caught.value.value) == ("integer-not-valid", "soon")
    with pytest.raises(SearchError):
        corpus.matching([("from-pub-date", "2020-02-30")])
    with pytest.raises(SearchError) as caught:
        corpus.search(sort="colour")
    assert caught.value.kind == "sort-not-available"
    assert "Valid sorts for this route are: created," in caught.value.detail["message"]
    with pytest.raises(SearchError) as caught:
        corpus.search(order="sideways")
    assert caught.value.kind == "order-not-available"


def test_other_entities(corpus: Corpus, works: list[Record]) -> None:
    members = corpus.members
    assert [m["id"] for m in members] == sorted(m["id"] for m in members)
    assert sum(m["counts"]["total-dois"] for m in members) == len(works)
    test_member = corpus.member(7822)
    assert test_member is not None and test_member["prefixes"] == ["10.5555"]
    assert corpus.journal("0264-3561") is not None
    assert all(j["ISSN"] for j in corpus.journals)
    assert {f["id"] for f in corpus.funders} >= {"100000001"}
    assert len(corpus.types) == 30
    assert len(corpus.prefixes) == sum(len(m["prefixes"]) for m in members)
    assert corpus.prefix("10.5555") == {
        "member": "https://id.crossref.org/member/7822",
        "name": "Crossref Test Member",
        "prefix": "https://id.crossref.org/prefix/10.5555",
    }


@pytest.mark.slow
def test_a_large_corpus_is_created_and_indexed() -> None:
    # How fast is for benchmarks/ (no timed assertions in tests): here, that it works.
    corpus = Corpus(works=200_000, seed=1)
    assert len(corpus.works) == 200_000
    last = corpus.works[-1]
    assert corpus.work(last["DOI"]) == last
    assert corpus.search([("type", "journal-article")]).indexes
