"""Every kind of answer the simulator gives decodes with the library's models."""

from __future__ import annotations

from urllib.parse import quote

import msgspec
import pytest

from crossref_async import models
from crossref_async.testing import HOSTILE_DOIS, FakeCrossref


@pytest.fixture(scope="module")
def sim() -> FakeCrossref:
    return FakeCrossref(works=400, seed=21)


async def body(sim: FakeCrossref, path: str, **params: str | int) -> bytes:
    async with sim.client() as http:
        response = await http.get(path, params=params)
    assert response.status_code == 200, response.text
    return response.content


def test_every_corpus_record_decodes(sim: FakeCrossref) -> None:
    decode = models.decoder(models.Work).decode
    for record in sim.corpus.works:
        work = decode(msgspec.json.encode(record))
        assert record["DOI"] == work.DOI
        assert work.type == record["type"]
        assert len(work.reference) == record["reference-count"]
        assert len(work.author) == len(record.get("author", []))
        assert work.score == 1.0


async def test_work(sim: FakeCrossref) -> None:
    for doi in (HOSTILE_DOIS[1], sim.corpus.works[123]["DOI"]):
        path = "/works/" + quote(doi, safe="")
        work = models.decode_message(await body(sim, path), models.Work, message_type="work")
        record = sim.corpus.work(doi)
        assert record is not None
        assert doi == work.DOI
        assert work.first_title == record["title"][0]
        assert work.author_names == [
            f"{a['given']} {a['family']}" for a in record.get("author", [])
        ]
        if "published" in record:
            assert work.published is not None
            assert work.published.date_parts[0] == tuple(record["published"]["date-parts"][0])


async def test_work_list_with_facets_cursor_and_select(sim: FakeCrossref) -> None:
    raw = await body(
        sim, "/works", rows=100, cursor="*", facet="type-name:*,published:10,issn:5,orcid:5"
    )
    page = models.decode_page(raw, models.Work, message_type="work-list")
    assert len(page.items) == 100
    assert page.total_results == 400
    assert page.next_cursor is not None
    assert set(page.facets) == {"type-name", "published", "issn", "orcid"}
    assert sum(page.facets["type-name"].values.values()) == 400
    assert page.query is not None and page.query.start_index == 0
    selected = models.decode_page(
        await body(sim, "/works", rows=20, select="DOI,title,issued"),
        models.Work,
        message_type="work-list",
    )
    assert all(w.DOI and w.author == () and w.reference == () for w in selected.items)
    raw_page = models.decode_raw_page(raw, message_type="work-list")
    first = models.decode_item(raw_page.items[0], models.Work)
    assert first.DOI == page.items[0].DOI


async def test_query_scores(sim: FakeCrossref) -> None:
    title = sim.corpus.works[50]["title"][0]
    page = models.decode_page(
        await body(sim, "/works", **{"query.bibliographic": title, "rows": 3}),
        models.Work,
        message_type="work-list",
    )
    scores = [w.score or 0.0 for w in page.items]
    assert scores == sorted(scores, reverse=True)
    assert sim.corpus.works[50]["DOI"] == page.items[0].DOI


@pytest.mark.parametrize(
    ("path", "model", "message_type"),
    [
        ("/members/7822", models.Member, "member"),
        ("/journals/0264-3561", models.Journal, "journal"),
        ("/funders/100000001", models.Funder, "funder"),
        ("/prefixes/10.5555", models.Prefix, "prefix"),
        ("/types/dataset", models.Type, "type"),
        ("/works/10.5555/12345678/agency", models.Agency, "work-agency"),
    ],
)
async def test_singletons(
    sim: FakeCrossref, path: str, model: type[object], message_type: str
) -> None:
    message: object = models.decode_message(await body(sim, path), model, message_type=message_type)
    assert message is not None


async def test_member_and_journal_fields(sim: FakeCrossref) -> None:
    member = models.decode_message(
        await body(sim, "/members/7822"), models.Member, message_type="member"
    )
    assert member.id == 7822
    assert member.prefixes == ("10.5555",)
    assert member.counts is not None and member.counts.total_dois == len(HOSTILE_DOIS)
    journal = models.decode_message(
        await body(sim, "/journals/0264-3561"), models.Journal, message_type="journal"
    )
    assert journal.title == "Journal of Psychoceramics"
    assert journal.ISSN == ("0264-3561",)
    agency = models.decode_message(
        await body(sim, "/works/10.5555/12345678/agency"), models.Agency, message_type="work-agency"
    )
    assert agency.agency is not None and agency.agency.id == "crossref"


@pytest.mark.parametrize(
    ("path", "model", "message_type"),
    [
        ("/members", models.Member, "member-list"),
        ("/journals", models.Journal, "journal-list"),
        ("/funders", models.Funder, "funder-list"),
        ("/types", models.Type, "type-list"),
        ("/licenses", models.LicenseEntry, "license-list"),
    ],
)
async def test_lists(sim: FakeCrossref, path: str, model: type[object], message_type: str) -> None:
    page: models.Page[object] = models.decode_page(
        await body(sim, path), model, message_type=message_type
    )
    assert page.items
    assert page.total_results >= len(page.items)
