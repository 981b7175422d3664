"""The simulator's REST API, seen by a plain httpx client, in process and on a socket.

Expected results come from the corpus (``corpus.work``, ``corpus.matching``), and where it
matters from independent checks over the served records, so the server's matching is not
only compared with itself. Validation bodies are compared with the recorded real ones.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from typing import Any
from urllib.parse import quote, urlsplit

import httpx
import pytest
from _corpus import Recording, recordings

from crossref_async.testing import HOSTILE_DOIS, FakeCrossref, serve_in_thread

Record = dict[str, Any]


@pytest.fixture(scope="module")
def sim() -> FakeCrossref:
    return FakeCrossref(works=600, seed=3)


@pytest.fixture(scope="module")
def server_url(sim: FakeCrossref) -> Iterator[str]:
    with serve_in_thread(sim) as url:
        yield url


@pytest.fixture(params=["asgi", "socket"])
async def http(
    request: pytest.FixtureRequest, sim: FakeCrossref
) -> AsyncIterator[httpx.AsyncClient]:
    if request.param == "asgi":
        client = sim.client()
    else:
        client = httpx.AsyncClient(base_url=request.getfixturevalue("server_url"))
    async with client:
        yield client


def path_of(doi: str) -> str:
    return "/works/" + quote(doi, safe="")


async def all_items(
    http: httpx.AsyncClient, params: dict[str, Any], select: str = "DOI"
) -> list[Record]:
    """Every matching work (the test corpus has fewer than 1,000), only the selected fields:
    whole records would make the tests spend their time parsing JSON."""
    response = await http.get("/works", params={**params, "rows": 1000, "select": select})
    assert response.status_code == 200, response.text
    items: list[Record] = response.json()["message"]["items"]
    return items


def dois(records: list[Record]) -> list[str]:
    return [r["DOI"] for r in records]


def earliest(date: Record | None) -> dt.date | None:
    """Crossref's reading of a partial date: its earliest day."""
    if not date or not date["date-parts"] or date["date-parts"][0][0] is None:
        return None
    parts = date["date-parts"][0]
    return dt.date(parts[0], parts[1] if len(parts) > 1 else 1, parts[2] if len(parts) > 2 else 1)


# -- singletons ---------------------------------------------------------------------------


async def test_work_singleton_is_the_corpus_record(
    http: httpx.AsyncClient, sim: FakeCrossref
) -> None:
    for index in (0, 17, 599):
        doi = sim.corpus.works[index]["DOI"]
        response = await http.get(path_of(doi))
        assert response.status_code == 200
        assert response.headers["content-type"] == "application/json;charset=utf-8"
        body = response.json()
        assert (body["status"], body["message-type"], body["message-version"]) == (
            "ok",
            "work",
            "1.0.0",
        )
        assert body["message"] == sim.corpus.works[index]


@pytest.mark.parametrize("doi", HOSTILE_DOIS)
async def test_hostile_dois_round_trip(http: httpx.AsyncClient, doi: str) -> None:
    for variant in (doi, doi.upper(), doi.lower()):
        response = await http.get(path_of(variant))
        assert response.status_code == 200, variant
        assert response.json()["message"]["DOI"] == doi
    listed = await all_items(http, {"filter": f"doi:{doi}"})
    assert dois(listed) == [doi]


async def test_unknown_resources_are_plain_text_404s(http: httpx.AsyncClient) -> None:
    for path in (
        "/works/10.9999/not-there",
        "/members/999999",
        "/journals/0000-0000",
        "/funders/10.13039/notarealdoi",
        "/prefixes/10.0000",
        "/types/not-a-type",
        "/works/10.9999/not-there/agency",
        "/members/999999/works",
    ):
        response = await http.get(path)
        assert (response.status_code, response.content) == (404, b"Resource not found."), path
        assert response.headers["content-type"] == "application/json;charset=utf-8"


async def test_head_answers_without_a_body(http: httpx.AsyncClient) -> None:
    found = await http.head(path_of("10.5555/12345678"))
    missing = await http.head(path_of("10.9999/nothing"))
    assert (found.status_code, found.content) == (200, b"")
    assert int(found.headers["content-length"]) > 100
    assert (missing.status_code, missing.content) == (404, b"")
    for path in ("/members/7822", "/types/book", "/prefixes/10.5555", "/journals/0264-3561"):
        assert (await http.head(path)).status_code == 200, path


async def test_agency(http: httpx.AsyncClient) -> None:
    for doi in ("10.5555/12345678", HOSTILE_DOIS[1], "10.13039/100000001"):
        response = await http.get(path_of(doi) + "/agency")
        body = response.json()
        assert body["message-type"] == "work-agency"
        assert body["message"] == {"DOI": doi, "agency": {"id": "crossref", "label": "Crossref"}}


async def test_unknown_routes(http: httpx.AsyncClient) -> None:
    expected = {
        "status": "error",
        "message-type": "route-not-found",
        "message-version": "1.0.0",
        "message": "Route not found",
    }
    for path in ("/nothing", "/prefixes", "/licenses/x", "/types/a/b"):
        response = await http.get(path)
        assert response.status_code == 404, path
        assert response.json() == expected, path


async def test_other_singletons(http: httpx.AsyncClient, sim: FakeCrossref) -> None:
    corpus = sim.corpus
    member = corpus.members[1]
    journal = corpus.journals[2]
    cases = {
        f"/members/{member['id']}": ("member", member),
        f"/journals/{journal['ISSN'][0]}": ("journal", journal),
        f"/journals/{journal['ISSN'][0].replace('-', '')}": ("journal", journal),
        "/funders/100000001": ("funder", corpus.funder("100000001")),
        "/funders/10.13039/100000001": ("funder", corpus.funder("100000001")),
        "/prefixes/10.5555": ("prefix", corpus.prefix("10.5555")),
        "/types/journal-article": ("type", {"id": "journal-article", "label": "Journal Article"}),
        "/v1/types/book": ("type", {"id": "book", "label": "Book"}),
    }
    for path, (message_type, message) in cases.items():
        body = (await http.get(path)).json()
        assert (body["message-type"], body["message"]) == (message_type, message), path


# -- lists --------------------------------------------------------------------------------


async def test_every_list_route(http: httpx.AsyncClient, sim: FakeCrossref) -> None:
    corpus = sim.corpus
    member = corpus.tables.members[1]
    issn = corpus.journal_rows[0].issns[0][0]
    lists = {
        "/works": ("work-list", len(corpus.works)),
        "/members": ("member-list", len(corpus.members)),
        "/journals": ("journal-list", len(corpus.journals)),
        "/funders": ("funder-list", len(corpus.funders)),
        "/types": ("type-list", 30),
        "/licenses": ("license-list", len(corpus.licenses)),
        f"/members/{member.id}/works": (
            "work-list",
            len(corpus.matching([("member", str(member.id))])),
        ),
        f"/journals/{issn}/works": ("work-list", len(corpus.matching([("issn", issn)]))),
        "/funders/10.13039/100000001/works": (
            "work-list",
            len(corpus.matching([("funder", "100000001")])),
        ),
        "/prefixes/10.5555/works": ("work-list", len(HOSTILE_DOIS)),
        "/types/book-chapter/works": (
            "work-list",
            len(corpus.matching([("type", "book-chapter")])),
        ),
    }
    for path, (message_type, total) in lists.items():
        response = await http.get(path)
        body = response.json()
        assert response.status_code == 200, path
        assert body["message-type"] == message_type, path
        assert body["message"]["total-results"] == total, path
        assert len(body["message"]["items"]) == min(
            total, 20 if message_type != "type-list" else 30
        )


async def test_scoped_works_are_the_entity_works(
    http: httpx.AsyncClient, sim: FakeCrossref
) -> None:
    member = sim.corpus.tables.members[2]
    params: dict[str, str | int] = {"rows": 1000, "select": "DOI,member,ISSN"}
    scoped = (await http.get(f"/members/{member.id}/works", params=params)).json()
    assert scoped["message"]["items"]
    assert all(w["member"] == str(member.id) for w in scoped["message"]["items"])
    journal = sim.corpus.journal_rows[1]
    issn = journal.issns[0][0]
    scoped = (await http.get(f"/journals/{issn}/works", params=params)).json()
    assert scoped["message"]["items"]
    assert all(issn in w["ISSN"] for w in scoped["message"]["items"])


def independent(corpus_works: list[Record], name: str, value: str) -> list[str]:
    """A filter evaluated from the served records alone (not with the server's code)."""
    out = []
    for w in corpus_works:
        if name == "type":
            keep = w["type"] == value
        elif name == "member":
            keep = w["member"] == value
        elif name == "prefix":
            keep = w["prefix"] == value
        elif name == "issn":
            keep = value in w.get("ISSN", [])
        elif name == "has-references":
            keep = bool(w.get("reference")) is (value == "true")
        elif name == "has-abstract":
            keep = ("abstract" in w) is (value == "true")
        elif name == "has-orcid":
            keep = any("ORCID" in a for a in w.get("author", [])) is (value == "true")
        elif name == "funder":
            keep = any(f["DOI"] == f"10.13039/{value}" for f in w.get("funder", []))
        elif name in ("from-pub-date", "until-pub-date"):
            first, last = bounds(value)
            pub = earliest(w.get("published"))
            keep = pub is not None and (pub >= first if name.startswith("from") else pub <= last)
        elif name in (
            "from-created-date",
            "until-created-date",
            "from-index-date",
            "until-index-date",
        ):
            field = "created" if "created" in name else "indexed"
            day = dt.date(*w[field]["date-parts"][0])
            first, last = bounds(value)
            keep = day >= first if name.startswith("from") else day <= last
        else:
            raise AssertionError(name)
        if keep:
            out.append(w["DOI"])
    return out


def bounds(value: str) -> tuple[dt.date, dt.date]:
    parts = [int(p) for p in value.split("-")]
    if len(parts) == 1:
        return dt.date(parts[0], 1, 1), dt.date(parts[0], 12, 31)
    if len(parts) == 2:
        following = dt.date(parts[0] + parts[1] // 12, parts[1] % 12 + 1, 1)
        return dt.date(parts[0], parts[1], 1), following - dt.timedelta(days=1)
    day = dt.date(*parts)
    return day, day


SINGLE_FILTERS = [
    ("type", "journal-article"),
    ("type", "dataset"),
    ("prefix", "10.5555"),
    ("has-references", "true"),
    ("has-references", "false"),
    ("has-abstract", "true"),
    ("has-orcid", "true"),
    ("funder", "100000001"),
    ("from-pub-date", "2020"),
    ("until-pub-date", "2010-06"),
    ("from-pub-date", "2015-03-03"),
    ("until-created-date", "2010-06"),
    ("from-created-date", "2024-02"),
    ("from-index-date", "2025-12-01"),
    ("until-index-date", "2025-06"),
]


@pytest.mark.parametrize(("name", "value"), SINGLE_FILTERS)
async def test_filters_match_independent_checks(
    http: httpx.AsyncClient, sim: FakeCrossref, name: str, value: str
) -> None:
    served = dois(await all_items(http, {"filter": f"{name}:{value}"}))
    assert served == independent(list(sim.corpus.works), name, value)
    assert served == dois(sim.corpus.matching([(name, value)]))


async def test_filter_combinations(http: httpx.AsyncClient, sim: FakeCrossref) -> None:
    corpus = sim.corpus
    some = [corpus.works[i]["DOI"] for i in (3, 50, 200)] + ["10.9999/absent"]
    member = corpus.works[50]["member"]
    issn = corpus.journal_rows[0].issns[-1][0]
    combos = [
        [("doi", d) for d in some],  # the same name repeated: OR
        [("doi", some[0]), ("doi", some[1]), ("type", corpus.works[50]["type"])],
        [("member", member), ("has-references", "true"), ("from-pub-date", "2010")],
        [("issn", issn), ("until-pub-date", "2022")],
        [("type", "journal-article"), ("type", "book-chapter"), ("has-funder", "true")],
        [("type-name", "Journal Article"), ("has-license", "true"), ("has-full-text", "false")],
        [("container-title", corpus.journal_rows[0].title)],
        [("from-created-date", "2010"), ("until-created-date", "2012-02-29")],
        [("orcid", next(p.orcid for p in corpus.tables.people[1:] if p.orcid) or "")],
    ]
    for combo in combos:
        text = ",".join(f"{n}:{v}" for n, v in combo)
        served = dois(await all_items(http, {"filter": text}))
        assert served == dois(corpus.matching(combo)), text
    assert set(dois(await all_items(http, {"filter": ",".join(f"doi:{d}" for d in some)}))) == set(
        some[:3]
    )
    type_a = set(independent(list(corpus.works), "type", "journal-article"))
    type_b = set(independent(list(corpus.works), "type", "book-chapter"))
    either = dois(await all_items(http, {"filter": "type:journal-article,type:book-chapter"}))
    assert set(either) == type_a | type_b


async def test_until_date_includes_the_whole_period(
    http: httpx.AsyncClient, sim: FakeCrossref
) -> None:
    # A work published in some month with a full date: until-<that month> includes it,
    # until-<the month before> does not.
    work = next(
        w
        for w in sim.corpus.works
        if len(w.get("published", {}).get("date-parts", [[]])[0]) == 3
        and w["published"]["date-parts"][0][2] > 15
    )
    year, month, _ = work["published"]["date-parts"][0]
    month_text = f"{year}-{month:02d}"
    previous = f"{year - (month == 1)}-{(month - 2) % 12 + 1:02d}"
    assert work["DOI"] in dois(await all_items(http, {"filter": f"until-pub-date:{month_text}"}))
    assert work["DOI"] not in dois(await all_items(http, {"filter": f"until-pub-date:{previous}"}))
    assert work["DOI"] in dois(await all_items(http, {"filter": f"from-pub-date:{month_text}"}))


async def test_query_ranks_a_citation_first(http: httpx.AsyncClient, sim: FakeCrossref) -> None:
    for index in (40, 123, 321):
        work = sim.corpus.works[index]
        authors = ", ".join(a["family"] for a in work.get("author", [])[:3])
        year = (work.get("published") or {"date-parts": [[""]]})["date-parts"][0][0]
        container = (work.get("container-title") or [""])[0]
        citation = f"{authors} ({year}). {work['title'][0]}. {container}."
        body = (
            await http.get("/works", params={"query.bibliographic": citation, "rows": 5})
        ).json()["message"]
        first, second = body["items"][0], body["items"][1]
        assert first["DOI"] == work["DOI"], citation
        assert first["score"] > 1.5 * second["score"]
        assert body["query"]["search-terms"] is None


async def test_query_author_and_plain_query(http: httpx.AsyncClient, sim: FakeCrossref) -> None:
    works = sim.corpus.works  # by index: a slice would build every record
    work = next(w for w in (works[i] for i in range(20, len(works))) if w.get("author"))
    family = work["author"][0]["family"]
    items = await all_items(http, {"query.author": family}, select="DOI,author")
    assert work["DOI"] in dois(items)
    wanted = family.casefold()
    assert all(
        any(
            wanted in a["family"].casefold() or wanted in a["given"].casefold() for a in w["author"]
        )
        for w in items
    )
    word = work["title"][0].split()[0].lower()
    params = {"query": word, "rows": 1000, "select": "DOI,score"}
    body = (await http.get("/works", params=params)).json()["message"]
    assert body["query"]["search-terms"] == word
    scores = [w["score"] for w in body["items"]]
    assert scores == sorted(scores, reverse=True)
    assert work["DOI"] in dois(body["items"]) or word in {"of", "in"}


async def test_select(http: httpx.AsyncClient, sim: FakeCrossref) -> None:
    items = (
        await http.get("/works", params={"select": "DOI,title,author,published", "rows": 50})
    ).json()["message"]["items"]
    for item in items:
        full = sim.corpus.work(item["DOI"])
        assert full is not None
        assert set(item) <= {"DOI", "title", "author", "published"}
        assert item == {k: full[k] for k in ("DOI", "title", "author", "published") if k in full}


@pytest.mark.parametrize(
    ("sort", "key"),
    [
        ("published", lambda w: earliest(w.get("published"))),
        ("created", lambda w: w["created"]["timestamp"]),
        ("indexed", lambda w: w["indexed"]["timestamp"]),
        ("is-referenced-by-count", lambda w: w["is-referenced-by-count"]),
    ],
)
@pytest.mark.parametrize("order", ["asc", "desc"])
async def test_sort(http: httpx.AsyncClient, sort: str, key: Any, order: str) -> None:
    fields = "DOI,published,created,indexed,is-referenced-by-count"
    items = await all_items(http, {"sort": sort, "order": order}, select=fields)
    values = [key(w) for w in items]
    present = [v for v in values if v is not None]
    assert present == sorted(present, reverse=order == "desc")
    assert values[: len(present)] == present  # works without the field come last


async def test_facets(http: httpx.AsyncClient, sim: FakeCrossref) -> None:
    body = (
        await http.get(
            "/works",
            params={
                "facet": "type-name:*,published:*,container-title:5,publisher-name:*",
                "rows": 0,
            },
        )
    ).json()["message"]
    facets = body["facets"]
    assert body["items"] == []
    assert sum(facets["type-name"]["values"].values()) == body["total-results"] == 600
    works = list(sim.corpus.works)
    dated = Counter(str(w["published"]["date-parts"][0][0]) for w in works if "published" in w)
    assert facets["published"]["values"] == dict(dated)
    assert facets["published"]["value-count"] == len(dated)
    assert len(facets["container-title"]["values"]) == 5
    titles = Counter(w["container-title"][0] for w in works if w["container-title"])
    assert len(titles) > 5
    assert facets["container-title"]["value-count"] == 5  # the values returned, as recorded
    assert facets["container-title"]["values"] == dict(
        sorted(titles.items(), key=lambda kv: (-kv[1], kv[0]))[:5]
    )
    assert sum(facets["publisher-name"]["values"].values()) == 600
    labels = Counter(w["type"] for w in works)
    assert facets["type-name"]["values"]["Journal Article"] == labels["journal-article"]
    scoped = (
        await http.get("/works", params={"facet": "type-name:*", "filter": "type:book", "rows": 0})
    ).json()
    assert scoped["message"]["facets"]["type-name"]["values"] == {"Book": labels["book"]}


@pytest.fixture(scope="module")
def big() -> FakeCrossref:
    return FakeCrossref(works=12_000, seed=2, limits="unmetered")  # over 101 journals' ISSNs


@pytest.fixture(scope="module")
def big_works(big: FakeCrossref) -> list[dict[str, Any]]:
    """Every record of ``big``, built once for the module (12,000 take seconds)."""
    return list(big.corpus.works)


@pytest.mark.parametrize("name", ["issn", "orcid", "container-title"])
async def test_capped_facets_take_a_star_and_counts_over_100(
    big: FakeCrossref, big_works: list[dict[str, Any]], name: str
) -> None:
    works = big_works
    async with big.client() as http:
        every = (await http.get("/works", params={"facet": f"{name}:*", "rows": 0})).json()
        many = (await http.get("/works", params={"facet": f"{name}:101", "rows": 0})).json()
    star = every["message"]["facets"][name]
    capped = many["message"]["facets"][name]
    values: Counter[str] = Counter()
    for work in works:
        if name == "issn":
            values.update(f"https://id.crossref.org/issn/{x}" for x in work.get("ISSN", []))
        elif name == "orcid":
            orcids = {a["ORCID"] for a in work.get("author", []) if "ORCID" in a}
            # Facets spell iDs as recorded (http://orcid.org/), records with https.
            values.update(x.replace("https://", "http://") for x in orcids)
        else:
            values.update(work["container-title"][:1])
    assert len(values) > 101  # so the count of 101 really cuts
    assert star["values"] == dict(sorted(values.items(), key=lambda kv: (-kv[1], kv[0])))
    assert star["value-count"] == len(star["values"]) == len(values)
    assert capped["value-count"] == len(capped["values"]) == 101
    assert list(capped["values"]) == list(star["values"])[:101]
    counts = list(star["values"].values())
    assert counts == sorted(counts, reverse=True)  # by count, as every recorded facet


async def test_every_recorded_facet_object_counts_the_values_it_returns() -> None:
    # The recorded fact the simulator copies: all facet objects, every year and route.
    seen = 0
    for recording in recordings():
        if recording.message_type != "work-list" or not recording.is_json:
            continue
        for facet in (json.loads(recording.body)["message"].get("facets") or {}).values():
            assert facet["value-count"] == len(facet["values"])
            counts = list(facet["values"].values())
            assert counts == sorted(counts, reverse=True)
            seen += 1
    assert seen >= 170


async def test_rows_offset_and_sample(http: httpx.AsyncClient, sim: FakeCrossref) -> None:
    order = dois(sim.corpus.matching([("has-references", "true")]))
    pages = []
    for offset in range(0, len(order), 100):
        body = (
            await http.get(
                "/works",
                params={
                    "filter": "has-references:true",
                    "rows": 100,
                    "offset": offset,
                    "select": "DOI",
                },
            )
        ).json()["message"]
        assert body["query"]["start-index"] == offset
        assert body["items-per-page"] == 100
        pages.extend(dois(body["items"]))
    assert pages == order
    sample = (await http.get("/works", params={"sample": 7})).json()["message"]
    assert sample["total-results"] == 7
    assert len(set(dois(sample["items"]))) == 7
    # A filtered sample announces the query's total, as the recordings show.
    filtered = (
        await http.get("/works", params={"sample": 7, "filter": "has-references:true"})
    ).json()["message"]
    assert (filtered["total-results"], len(filtered["items"])) == (len(order), 7)
    counted = (await http.get("/works", params={"rows": 0})).json()["message"]
    assert (counted["total-results"], counted["items"]) == (600, [])


async def test_other_lists_query_filter_and_page(
    http: httpx.AsyncClient, sim: FakeCrossref
) -> None:
    corpus = sim.corpus
    member = corpus.tables.members[3]
    word = member.name.split()[0]
    body = (await http.get("/members", params={"query": word})).json()["message"]
    assert body["query"]["search-terms"] == word
    assert member.id in [m["id"] for m in body["items"]]
    assert all(word.lower() in m["primary-name"].lower() for m in body["items"])
    by_prefix = (
        await http.get("/members", params={"filter": f"prefix:{member.prefixes[0]}"})
    ).json()
    assert [m["id"] for m in by_prefix["message"]["items"]] == [member.id]
    funders = (await http.get("/funders", params={"filter": "location:Germany"})).json()["message"]
    assert {f["location"] for f in funders["items"]} == {"Germany"}
    paged = (await http.get("/members", params={"rows": 2, "offset": 2})).json()["message"]
    assert [m["id"] for m in paged["items"]] == [m["id"] for m in corpus.members[2:4]]
    types = (await http.get("/types")).json()["message"]
    assert [t["id"] for t in types["items"]] == [t["id"] for t in corpus.types]
    licenses = (await http.get("/licenses")).json()["message"]
    assert sum(item["work-count"] for item in licenses["items"]) == sum(
        1 for w in corpus.works if "license" in w
    )


# -- validation ---------------------------------------------------------------------------


# Newest first: the simulator speaks 2026 Crossref (quoted names in filter-not-available).
_ERAS = ["habanero", "commonmeta-py", "habanero-2025-07", "rcrossref", "habanero-2021-10"]


def _era(rec: Recording) -> int:
    folder = rec.name.split("/", 1)[0]
    return next((k for k, era in enumerate(_ERAS) if folder.startswith(era)), len(_ERAS))


def recorded_failures() -> list[Recording]:
    """Recorded answers to bad requests: validation and cursor failures, unknown routes and
    resources (the transform route, which the simulator does not have, left out), the newest
    recording of each request. A request whose newest answer is a backend ``exception`` (the
    2022 ``/members?cursor=5``, passed through where 2018 refused it) is left to the tests of
    list cursors, which check that body's shape: its stack trace is not reproduced."""
    newest: dict[str, Recording] = {}
    for rec in recordings():
        bad_json = rec.message_type in ("validation-failure", "resource-failure", "route-not-found")
        not_found = rec.status == 404 and rec.body == b"Resource not found."
        exception = rec.message_type == "exception"
        if not (bad_json or not_found or exception) or "/transform" in rec.uri:
            continue
        url = urlsplit(rec.uri)
        target = url.path.removeprefix("/v1") + "?" + url.query
        if target not in newest or _era(rec) < _era(newest[target]):
            newest[target] = rec
    kept = (rec for rec in newest.values() if rec.message_type != "exception")
    return sorted(kept, key=lambda rec: rec.name)


@pytest.mark.parametrize("recording", recorded_failures(), ids=lambda r: r.name)
async def test_failure_bodies_equal_the_recorded_ones(
    http: httpx.AsyncClient, recording: Recording
) -> None:
    url = urlsplit(recording.uri)
    target = url.path + (f"?{url.query}" if url.query else "")
    response = await http.get(target)
    assert response.status_code == recording.status
    assert response.content == recording.body  # byte for byte


async def test_limits_of_rows_offset_sample_and_cursor(http: httpx.AsyncClient) -> None:
    cases = {
        "/works?rows=1001": ("integer-not-valid", "1001"),
        "/works?rows=-1": ("integer-not-valid", "-1"),
        "/works?sample=101": ("integer-not-valid", "101"),
        "/works?offset=abc": ("integer-not-valid", "abc"),
        "/works?offset=9500&rows=1000": ("integer-not-valid", "9500"),
        "/works?cursor=*&offset=20": ("parameter-not-allowed", "offset"),
        "/works?cursor=*&sample=5": ("parameter-not-allowed", "sample"),
        "/works?sample=5&offset=5": ("parameter-not-allowed", "offset"),
        "/works?sort=things": ("sort-not-available", "things"),
        "/works?order=up": ("order-not-available", "up"),
        "/works?select=doi": ("select-not-available", "doi"),
        "/works?facet=nope:5": ("facet-not-available", "nope"),
        "/works?facet=issn:lots": ("integer-not-valid", "lots"),
        "/members?filter=has-public-references:true": (
            "filter-not-available",
            "has-public-references",
        ),
        "/members?filter=reference-visibility:open": (
            "filter-not-available",
            "reference-visibility",
        ),
        "/works?filter=from-pub-date:2020-13": ("date-not-valid", "2020-13"),
        "/works?filter=has-references:maybe": ("boolean-not-valid", "maybe"),
        "/works?query.nonsense=x": ("field-query-not-available", "query.nonsense"),
        "/types?cursor=*": ("parameter-not-allowed", "cursor"),
        "/types?query=x": ("parameter-not-allowed", "query"),
        "/works/10.5555/12345678?select=DOI": ("parameter-not-allowed", "select"),
    }
    for target, (kind, value) in cases.items():
        response = await http.get(target)
        assert response.status_code == 400, target
        body = response.json()
        assert body["status"] == "failed"
        assert body["message-type"] == "validation-failure"
        assert [(m["type"], m["value"]) for m in body["message"]] == [(kind, value)], target
        assert all(m["message"] for m in body["message"])
    many = (await http.get("/works?rows=x&sort=y&filter=nope:1")).json()["message"]
    assert [m["value"] for m in many] == ["x", "y", "nope"]
    accepted = await http.get("/works?rows=1000&offset=9000&mailto=someone@example.org")
    assert accepted.status_code == 200


async def test_reindexed_works_are_found_by_index_date_and_served_changed() -> None:
    sim = FakeCrossref(works=300, seed=5)
    when = dt.datetime(2026, 11, 20, 8, 0, tzinfo=dt.timezone.utc)
    params = {"filter": "from-index-date:2026-11-20", "rows": "100"}
    async with sim.client() as client:
        before = (await client.get("/works", params=params)).json()["message"]
        assert before["total-results"] == 0  # the corpus's own dates end in January 2026
        chosen = [str(w["DOI"]) for w in sim.corpus.works[::50]]
        assert sim.corpus.reindex(chosen, at=when) == chosen
        # The cached answer to the same query is not served again.
        after = (await client.get("/works", params=params)).json()["message"]
        assert sorted(i["DOI"] for i in after["items"]) == sorted(chosen)
        one = (await client.get(path_of(chosen[0]))).json()["message"]
        assert one["indexed"]["date-parts"] == [[2026, 11, 20]]
        assert one["deposited"]["date-parts"] == [[2026, 11, 20]]
    with pytest.raises(KeyError):
        sim.corpus.reindex(["10.9999/not-in-the-corpus"])
