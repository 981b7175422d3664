"""Every works filter, facet and field query the client can send, through the simulator.

An oracle test: each request must answer 200, and the works it returns must be exactly those
that a plain-Python predicate over the served records selects (written here from Crossref's
documentation of the filter, not by calling the simulator's search code). Facets are counted
from the records the same way. The catalogues are the client's own (``_params``), so a filter
added there without a rule here fails the test.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterable
from typing import Any

import httpx
import pytest

from crossref_async import _params as catalogue
from crossref_async._params import doi_key
from crossref_async.testing import FakeCrossref

Record = dict[str, Any]
Predicate = Callable[[Record], bool]

WORKS = 1000  # one page of rows=1000 holds every answer


@pytest.fixture(scope="module")
def sim() -> FakeCrossref:
    return FakeCrossref(works=WORKS, seed=1, limits="unmetered")


@pytest.fixture(scope="module")
def records(sim: FakeCrossref) -> list[Record]:
    return list(sim.corpus.works)


@pytest.fixture
async def http(sim: FakeCrossref) -> AsyncIterator[httpx.AsyncClient]:
    async with sim.client() as client:
        yield client


async def selected(http: httpx.AsyncClient, **params: str) -> list[str]:
    response = await http.get("/works", params={**params, "rows": "1000", "select": "DOI"})
    assert response.status_code == 200, response.text
    message = response.json()["message"]
    dois = [item["DOI"] for item in message["items"]]
    assert message["total-results"] == len(dois)
    assert len(set(dois)) == len(dois)  # nothing doubled
    return dois


# -- reading records, plainly -----------------------------------------------------------


def words(text: str) -> set[str]:
    return set(re.findall(r"\w+", text.casefold()))


def names(people: Iterable[Record] | None) -> list[str]:
    return [f"{p.get('given', '')} {p.get('family', '')}" for p in people or ()]


def day(date: Record | None) -> dt.date | None:
    """The earliest day of a date-parts value (a partial date is its first day)."""
    if not date:
        return None
    parts = date["date-parts"][0]
    if not parts or parts[0] is None:
        return None
    return dt.date(parts[0], *[*parts[1:], 1, 1][:2])


def period(value: str) -> tuple[dt.date, dt.date]:
    """The first and last day of ``YYYY``, ``YYYY-MM`` or ``YYYY-MM-DD``."""
    parts = [int(x) for x in value.split("-")]
    first = dt.date(parts[0], *[*parts[1:], 1, 1][:2])
    if len(parts) == 3:
        return first, first
    if len(parts) == 2:
        following = dt.date(first.year + first.month // 12, first.month % 12 + 1, 1)
    else:
        following = dt.date(first.year + 1, 1, 1)
    return first, following - dt.timedelta(days=1)


def affiliations(r: Record) -> list[Record]:
    return [aff for a in r.get("author", []) for aff in a.get("affiliation", [])]


def rors(r: Record) -> set[str]:
    return {i["id"] for aff in affiliations(r) for i in aff.get("id", []) if i["id-type"] == "ROR"}


def relation_objects(r: Record) -> list[Record]:
    return [o for objects in r.get("relation", {}).values() for o in objects]


def licenses(r: Record) -> list[Record]:
    return list(r.get("license", []))


def links(r: Record) -> list[Record]:
    return list(r.get("link", []))


def funders(r: Record) -> list[Record]:
    return list(r.get("funder", []))


# Where each date filter reads: Crossref's descriptions ("metadata where accepted date is...").
DATE_FIELDS: dict[str, Callable[[Record], dt.date | None]] = {
    "accepted": lambda r: day(r.get("accepted")),
    "approved": lambda r: day(r.get("approved")),
    "awarded": lambda r: day(r.get("award-start")),
    "created": lambda r: day(r["created"]),
    "deposit": lambda r: day(r["deposited"]),
    "event-end": lambda r: day(r.get("event", {}).get("end")),
    "event-start": lambda r: day(r.get("event", {}).get("start")),
    "index": lambda r: day(r["indexed"]),
    "issued": lambda r: day(r.get("issued")),
    "online-pub": lambda r: day(r.get("published-online")),
    "posted": lambda r: day(r.get("posted")),
    "print-pub": lambda r: day(r.get("published-print")),
    "pub": lambda r: day(r.get("published")),
    "update": lambda r: day(r["deposited"]),  # "currently the same as deposit"
}

# has-<x> and is-update: what a record must hold.
HAS: dict[str, Predicate] = {
    "has-abstract": lambda r: "abstract" in r,
    "has-affiliation": lambda r: bool(affiliations(r)),
    "has-archive": lambda r: bool(r.get("archive")),
    "has-assertion": lambda r: bool(r.get("assertion")),
    "has-authenticated-orcid": lambda r: any(
        a.get("authenticated-orcid") for a in r.get("author", [])
    ),
    "has-award": lambda r: any(f.get("award") for f in funders(r)),
    "has-clinical-trial-number": lambda r: bool(r.get("clinical-trial-number")),
    "has-content-domain": lambda r: bool(r["content-domain"]["domain"]),
    "has-description": lambda r: bool(r.get("description")),
    "has-domain-restriction": lambda r: r["content-domain"]["crossmark-restriction"],
    "has-event": lambda r: "event" in r,
    "has-full-text": lambda r: bool(links(r)),
    "has-funder": lambda r: bool(funders(r)),
    "has-funder-doi": lambda r: any("DOI" in f for f in funders(r)),
    "has-license": lambda r: bool(licenses(r)),
    "has-orcid": lambda r: any("ORCID" in a for a in r.get("author", [])),
    "has-references": lambda r: r["reference-count"] > 0,
    "has-relation": lambda r: bool(r.get("relation")),
    "has-ror-id": lambda r: bool(rors(r)),
    "has-update": lambda r: bool(r.get("updated-by")),
    "has-update-policy": lambda r: "update-policy" in r,
    "is-update": lambda r: bool(r.get("update-to")),
}

# Value filters: filter -> (the values of a record it compares, how it folds them).
fold = str.casefold
VALUES: dict[str, tuple[Callable[[Record], Iterable[str]], Callable[[str], str]]] = {
    "alternative-id": (lambda r: r.get("alternative-id", []), fold),
    "archive": (lambda r: r.get("archive", []), fold),
    "article-number": (lambda r: [r["article-number"]] if "article-number" in r else [], fold),
    "assertion": (lambda r: [a["name"] for a in r.get("assertion", [])], fold),
    "assertion-group": (lambda r: [a["group"]["name"] for a in r.get("assertion", [])], fold),
    "award.funder": (lambda r: [f["DOI"] for f in funders(r) if "DOI" in f], fold),
    "award.number": (lambda r: [x for f in funders(r) for x in f.get("award", [])], fold),
    "category-name": (lambda r: r.get("subject", []), fold),
    "citation-id": (lambda r: [ref["key"] for ref in r.get("reference", [])], str),
    "clinical-trial-number": (
        lambda r: [t["clinical-trial-number"] for t in r.get("clinical-trial-number", [])],
        fold,
    ),
    "container-title": (lambda r: r["container-title"], fold),
    "content-domain": (lambda r: r["content-domain"]["domain"], fold),
    "doi": (lambda r: [r["DOI"]], doi_key),
    "full-text.application": (lambda r: [x["intended-application"] for x in links(r)], fold),
    "full-text.type": (lambda r: [x["content-type"] for x in links(r)], fold),
    "full-text.version": (lambda r: [x["content-version"] for x in links(r)], fold),
    "funder": (lambda r: [f["DOI"].removeprefix("10.13039/") for f in funders(r)], fold),
    "funder-doi-asserted-by": (lambda r: [f["doi-asserted-by"] for f in funders(r)], fold),
    "group-title": (lambda r: [r["group-title"]] if "group-title" in r else [], fold),
    "isbn": (lambda r: r.get("ISBN", []), lambda x: x.replace("-", "").upper()),
    "issn": (lambda r: r.get("ISSN", []), str.upper),
    "license.url": (lambda r: [x["URL"] for x in licenses(r)], str),
    "license.version": (lambda r: [x["content-version"] for x in licenses(r)], fold),
    "member": (lambda r: [r["member"]], str),
    "orcid": (
        lambda r: [a["ORCID"].rsplit("/", 1)[-1] for a in r.get("author", []) if "ORCID" in a],
        str.upper,
    ),
    "prefix": (lambda r: [r["prefix"]], fold),
    "relation.object": (lambda r: [o["id"] for o in relation_objects(r)], doi_key),
    "relation.object-type": (lambda r: [o["id-type"] for o in relation_objects(r)], fold),
    "relation.type": (lambda r: list(r.get("relation", {})), fold),
    "ror-id": (lambda r: rors(r), fold),
    "type": (lambda r: [r["type"]], fold),
    "update-type": (lambda r: [u["type"] for u in r.get("update-to", [])], fold),
    "updates": (lambda r: [u["DOI"] for u in r.get("update-to", [])], doi_key),
}

# Crossref's filters that the corpus cannot hold: grants carry award amounts, and none of
# the corpus's works is a grant. These must still answer 200 (with nothing).
EMPTY_BY_DESIGN = {
    "from-awarded-date",
    "until-awarded-date",
    "gte-award-amount",
    "lte-award-amount",
}


def first_value(records: list[Record], name: str) -> str:
    """A value of filter ``name`` that some record holds (the one most works share, so
    the filter selects several)."""
    extract, _ = VALUES[name]
    counts = Counter(x for r in records for x in set(extract(r)))
    assert counts, f"no record holds a value for {name}"
    return counts.most_common(1)[0][0]


def dated(read: Callable[[Record], dt.date | None], side: str, bound: dt.date) -> Predicate:
    """A record with the date ``read`` finds on or after (``from``) or on or before
    (``until``) ``bound``; a record without that date never."""

    def predicate(r: Record) -> bool:
        found = read(r)
        return found is not None and (found >= bound if side == "from" else found <= bound)

    return predicate


def delayed_at_most(days: int) -> Predicate:
    return lambda r: any(x["delay-in-days"] <= days for x in licenses(r))


def equals(read: Callable[[Record], str], value: str) -> Predicate:
    return lambda r: read(r) == value


def filter_case(name: str, records: list[Record], sim: FakeCrossref) -> list[tuple[str, Predicate]]:
    """``(filter value, predicate)`` pairs to try for filter ``name``."""
    kind = catalogue.WORK_FILTERS[name]
    if kind is catalogue.Kind.DATE:
        side, subject = name.removesuffix("-date").split("-", 1)
        read = DATE_FIELDS[subject]
        days = sorted(d for r in records if (d := read(r)) is not None)
        middle = days[len(days) // 2] if days else dt.date(2015, 6, 1)
        cases: list[tuple[str, Predicate]] = []
        for value in (str(middle.year), f"{middle.year}-{middle.month:02d}", middle.isoformat()):
            first, last = period(value)
            cases.append((value, dated(read, side, first if side == "from" else last)))
        return cases
    if name in HAS:
        has = HAS[name]
        return [("true", has), ("false", lambda r: not has(r))]
    if name in ("gte-award-amount", "lte-award-amount"):
        amounts = {  # a grant's award amount
            r["DOI"]: [p["award-amount"]["amount"] for p in r.get("project", [])] for r in records
        }
        above = name.startswith("gte")
        return [
            (
                "1000",
                lambda r: any((a >= 1000) if above else (a <= 1000) for a in amounts[r["DOI"]]),
            )
        ]
    if name == "license.delay":
        return [(str(n), delayed_at_most(n)) for n in (0, 30)]
    if name == "directory":  # Documented approximation: journal works with a CC license.
        return [
            (
                "doaj",
                lambda r: (
                    "ISSN" in r and any("creativecommons.org" in x["URL"] for x in licenses(r))
                ),
            )
        ]
    if name == "reference-visibility":

        def visibility(r: Record) -> str:
            member = sim.corpus.member(r["member"])
            assert member is not None
            return str(
                next(
                    p["reference-visibility"] for p in member["prefix"] if p["value"] == r["prefix"]
                )
            )

        return [(x, equals(visibility, x)) for x in catalogue.CHOICES[name]]
    if name == "type-name":  # the label, as /types lists it
        labels = {t["label"]: t["id"] for t in sim.corpus.types}
        return [("Book Chapter", lambda r: r["type"] == labels["Book Chapter"])]
    extract, normal = VALUES[name]
    value = first_value(records, name)
    if name == "funder":
        value = value.removeprefix("10.13039/")
    return [(value, lambda r: normal(value) in {normal(x) for x in extract(r)})]


@pytest.mark.parametrize("name", sorted(catalogue.WORK_FILTERS))
async def test_every_filter_selects_what_the_records_say(
    http: httpx.AsyncClient, sim: FakeCrossref, records: list[Record], name: str
) -> None:
    for value, predicate in filter_case(name, records, sim):
        expected = [r["DOI"] for r in records if predicate(r)]
        got = await selected(http, filter=f"{name}:{value}")
        assert sorted(got) == sorted(expected), (name, value)
        if name not in EMPTY_BY_DESIGN and value != "false" and name != "reference-visibility":
            assert expected, f"{name}:{value} selects nothing: the test proves little"


async def test_filters_combine_and_or_and_aliases_match_nothing(
    http: httpx.AsyncClient, sim: FakeCrossref, records: list[Record]
) -> None:
    assertion = {r["DOI"] for r in records if r.get("assertion")}
    ror = {r["DOI"] for r in records if rors(r)}
    archive = {r["DOI"] for r in records if "Portico" in r.get("archive", [])}
    both = await selected(http, filter="has-assertion:true,has-ror-id:true")
    assert set(both) == assertion & ror and both
    either = await selected(http, filter="relation.type:has-review,relation.type:has-preprint")
    reviews = {
        r["DOI"] for r in records if {"has-review", "has-preprint"} & set(r.get("relation", {}))
    }
    assert set(either) == reviews and either
    assert set(await selected(http, filter="archive:portico,has-ror-id:1")) == archive & ror
    aliased = next(r for r in records if "aliases" in r)
    assert await selected(http, filter=f"doi:{aliased['aliases'][0]}") == []
    assert await selected(http, filter=f"doi:{aliased['DOI']}") == [aliased["DOI"]]


async def test_record_fields_of_the_2025_api(records: list[Record]) -> None:
    """The new fields, shaped as the recorded corpus and Crossref's documentation show them."""
    roles = [a["role"] for r in records for a in r.get("author", [])]
    assert roles and all(role == [{"role": "author", "vocabulary": "crossref"}] for role in roles)
    ror_affiliations = [aff for r in records for aff in affiliations(r) if "id" in aff]
    assert ror_affiliations and all(
        aff["id"][0]["id-type"] == "ROR"
        and re.fullmatch(r"https://ror\.org/0[0-9a-hjkmnp-tv-z]{6}\d\d", aff["id"][0]["id"])
        and aff["name"]
        for aff in ror_affiliations
    )
    infos = [f["award-info"] for r in records for f in funders(r)]
    assert infos and all(
        info == [{"award-number": f}]
        for info, f in zip(infos, (f["award"] for r in records for f in funders(r)), strict=True)
    )
    versions = [r["version"] for r in records if "version" in r]
    assert versions and all(re.fullmatch(r"v\d", v["version"]) for v in versions)
    by_doi = {r["DOI"]: r for r in records}
    watched = [
        (r, u)
        for r in records
        for u in r.get("updated-by", [])
        if u["source"] == "retraction-watch"
    ]
    assert watched, "no Retraction Watch update in the corpus"
    for record, update in watched:
        assert update["type"] == "retraction" and update["record-id"].isdigit()
        notice = by_doi[update["DOI"]]
        assert {**update, "DOI": record["DOI"]} in notice["update-to"]  # both ends agree
    for record in records:
        for update in record.get("update-to", []):
            back = [u for u in by_doi[update["DOI"]]["updated-by"] if u["DOI"] == record["DOI"]]
            assert {**update, "DOI": record["DOI"]} in back


# -- facets ------------------------------------------------------------------------------


def ids(people: Iterable[Record]) -> set[str]:
    return {a["ORCID"].replace("https://", "http://") for a in people if "ORCID" in a}


# Facet -> the values a record contributes (each counted once per work).
FACETS: dict[str, Callable[[Record], Iterable[str]]] = {
    "affiliation": lambda r: {aff["name"] for aff in affiliations(r)},
    "archive": lambda r: r.get("archive", []),
    "assertion": lambda r: {a["name"] for a in r.get("assertion", [])},
    "assertion-group": lambda r: {a["group"]["name"] for a in r.get("assertion", [])},
    "category-name": lambda r: r.get("subject", []),
    "container-title": lambda r: r["container-title"][:1],
    "funder-doi": lambda r: {f"http://dx.doi.org/{f['DOI']}" for f in funders(r)},
    "funder-name": lambda r: {f["name"] for f in funders(r)},
    "issn": lambda r: {f"https://id.crossref.org/issn/{x}" for x in r.get("ISSN", [])},
    "journal-issue": lambda r: [r["journal-issue"]["issue"]] if "journal-issue" in r else [],
    "journal-volume": lambda r: [r["volume"]] if "volume" in r else [],
    "license": lambda r: {x["URL"] for x in licenses(r)},
    "link-application": lambda r: {x["intended-application"] for x in links(r)},
    "orcid": lambda r: ids(r.get("author", [])),
    "published": lambda r: [str(r["published"]["date-parts"][0][0])] if "published" in r else [],
    "publisher-name": lambda r: [r["publisher"]],
    "relation-type": lambda r: list(r.get("relation", {})),
    "ror-id": rors,
    "source": lambda r: [r["source"]],
    "type-name": lambda r: [r["type"]],  # turned into labels below
    "update-type": lambda r: {u["type"] for u in r.get("update-to", [])},
}


@pytest.mark.parametrize("name", sorted(catalogue.FACETS))
async def test_every_facet_counts_what_the_records_hold(
    http: httpx.AsyncClient, sim: FakeCrossref, records: list[Record], name: str
) -> None:
    labels = {t["id"]: t["label"] for t in sim.corpus.types}
    values = FACETS[name]
    counts: Counter[str] = Counter()
    for record in records:
        found = set(values(record))
        counts.update(labels[x] for x in found) if name == "type-name" else counts.update(found)
    response = await http.get("/works", params={"facet": f"{name}:*", "rows": "0"})
    assert response.status_code == 200, response.text
    facet = response.json()["message"]["facets"][name]
    assert facet["values"] == dict(counts)
    assert facet["value-count"] == len(facet["values"])
    assert list(facet["values"].values()) == sorted(counts.values(), reverse=True)
    if name != "update-type":  # the corpus has few updates; every other facet has values
        assert counts
    top = (await http.get("/works", params={"facet": f"{name}:2", "rows": "0"})).json()
    assert top["message"]["facets"][name]["values"] == dict(list(facet["values"].items())[:2])
    scoped = await http.get(
        "/works", params={"facet": f"{name}:*", "rows": "0", "filter": "type:journal-article"}
    )
    within = Counter(x for r in records if r["type"] == "journal-article" for x in set(values(r)))
    got = scoped.json()["message"]["facets"][name]["values"]
    if name == "type-name":
        within = Counter({labels[k]: n for k, n in within.items()})
    assert got == dict(within)


# -- field queries -----------------------------------------------------------------------


# query.<field> -> the texts of a record that it searches.
FIELD_TEXTS: dict[str, Callable[[Record], list[str]]] = {
    "affiliation": lambda r: [aff["name"] for aff in affiliations(r)],
    "author": lambda r: names(r.get("author")),
    "bibliographic": lambda r: [
        *r["title"],
        *names(r.get("author")),
        *r["container-title"],
        *([str(r["published"]["date-parts"][0][0])] if "published" in r else []),
    ],
    "chair": lambda r: names(r.get("chair")),
    "container-title": lambda r: r["container-title"],
    "contributor": lambda r: names(
        [*r.get("author", []), *r.get("editor", []), *r.get("chair", []), *r.get("translator", [])]
    ),
    "degree": lambda r: r.get("degree", []),
    "description": lambda r: [r.get("description", "")],
    "editor": lambda r: names(r.get("editor")),
    "event-acronym": lambda r: [r.get("event", {}).get("acronym", "")],
    "event-location": lambda r: [r.get("event", {}).get("location", "")],
    "event-name": lambda r: [r.get("event", {}).get("name", "")],
    "event-sponsor": lambda r: r.get("event", {}).get("sponsor", []),
    "event-theme": lambda r: [r.get("event", {}).get("theme", "")],
    "funder-name": lambda r: [f["name"] for f in funders(r)],
    "publisher-location": lambda r: [r.get("publisher-location", "")],
    "publisher-name": lambda r: [r["publisher"]],
    "standards-body-acronym": lambda r: [r.get("standards-body", {}).get("acronym", "")],
    "standards-body-name": lambda r: [r.get("standards-body", {}).get("name", "")],
    "title": lambda r: r["title"],
    "translator": lambda r: names(r.get("translator")),
}
# No corpus work has a chair, a translator, an event theme or a standards body.
NO_TEXT = {"chair", "translator", "event-theme", "standards-body-acronym", "standards-body-name"}
STOP = {"of", "in", "and", "for", "on", "with", "under", "across", "the", "a", "an", "to"}


@pytest.mark.parametrize("field", sorted(catalogue.FIELD_QUERIES))
async def test_every_field_query_matches_the_works_whose_field_has_its_word(
    http: httpx.AsyncClient, records: list[Record], field: str
) -> None:
    texts = FIELD_TEXTS[field]
    vocabulary = Counter(
        w
        for r in records
        for w in set().union(*(words(t) for t in texts(r)))
        if w not in STOP and len(w) > 2 and not w.isdigit()
    )
    if field in NO_TEXT:
        assert not vocabulary
        assert await selected(http, **{f"query.{field}": "anything"}) == []
        return
    # A word several works share, but not every one: the query must select.
    word = next(w for w, n in sorted(vocabulary.items(), key=lambda kv: (kv[1], kv[0])) if n > 1)
    expected = {r["DOI"] for r in records if any(word in words(t) for t in texts(r))}
    got = await selected(http, **{f"query.{field}": word})
    assert set(got) == expected, (field, word)
    assert 1 < len(expected) < len(records)
