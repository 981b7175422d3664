"""The immutable query builder: every parameter, every validation rule, no request on error."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import respx
from conftest import unit_client

from crossref_async import Crossref, ValidationError
from crossref_async import _params as P


@pytest.fixture
def client() -> Crossref:
    # Never entered: building queries needs no connection.
    return unit_client()


def params(q: Any, **kw: Any) -> dict[str, str]:
    return dict(q.to_params(**kw))


def test_every_call_returns_a_new_query_and_leaves_the_old_one_alone(client: Crossref) -> None:
    base = client.works
    q1 = base.query("ontologies")
    q2 = q1.filter(type="journal-article")
    q3 = q2.rows(5)
    assert base.to_params() == []
    assert q1.to_params() == [("query", "ontologies")]
    assert params(q2) == {"query": "ontologies", "filter": "type:journal-article"}
    assert params(q3)["rows"] == "5" and "rows" not in params(q2)
    with pytest.raises(AttributeError):
        q3._rows = 7  # type: ignore[misc]


def test_to_params_is_pure(client: Crossref) -> None:
    q = client.works.query("x").filter(member=311).facet("type-name").sort("published")
    assert q.to_params() == q.to_params()
    assert q.to_params(rows=10, cursor="*") == q.to_params(rows=10, cursor="*")
    assert "rows" not in params(q)


def test_all_field_queries(client: Crossref) -> None:
    kwargs = {name.replace("-", "_"): f"v {name}" for name in P.FIELD_QUERIES}
    got = params(client.works.query(**kwargs))
    assert got == {f"query.{name}": f"v {name}" for name in P.FIELD_QUERIES}


def test_field_query_given_again_replaces(client: Crossref) -> None:
    q = client.works.query(author="a").query(author="b", title="t")
    assert q.to_params() == [("query.author", "b"), ("query.title", "t")]


def test_unknown_field_query_suggests(client: Crossref) -> None:
    with pytest.raises(ValidationError) as info:
        client.works.query(autor="x")
    assert info.value.value == "autor" and info.value.suggestions[0] == "author"


@pytest.mark.parametrize("text", ["", "   ", "\n"])
def test_empty_queries_are_refused(client: Crossref, text: str) -> None:
    with pytest.raises(ValidationError, match="non-blank"):
        client.works.query(text)
    with pytest.raises(ValidationError, match="non-blank"):
        client.works.query(bibliographic=text)
    with pytest.raises(ValidationError, match="non-blank"):
        client.members.query(text)
    with pytest.raises(ValidationError):
        client.works.query()


def test_filters_cover_kinds(client: Crossref) -> None:
    q = client.works.filter(
        type="journal-article",
        from_pub_date=dt.date(2024, 1, 1),
        until_pub_date="2024-06",
        has_references=True,
        is_update=False,
        member=311,
        issn="03784371",
        orcid="https://orcid.org/0000-0002-1825-0097",
        prefix="10.1016",
        funder="10.13039/100000001",
        doi="https://doi.org/10.5555/12345678",
        gte_award_amount=1000,
        reference_visibility="open",
    )
    assert params(q)["filter"] == (
        "type:journal-article,from-pub-date:2024-01-01,until-pub-date:2024-06,"
        "has-references:true,is-update:false,member:311,issn:0378-4371,"
        "orcid:0000-0002-1825-0097,prefix:10.1016,funder:100000001,doi:10.5555/12345678,"
        "gte-award-amount:1000,reference-visibility:open"
    )


def test_or_by_list_and_by_repetition(client: Crossref) -> None:
    by_list = client.works.filter(funder=["100000001", "100000050"])
    by_repeat = client.works.filter(funder="100000001").filter(funder="100000050")
    expected = "funder:100000001,funder:100000050"
    assert params(by_list)["filter"] == params(by_repeat)["filter"] == expected


def test_dot_filters_and_raw_names_as_a_mapping(client: Crossref) -> None:
    q = client.works.filter({"award.number": "CBET-0756451", "award.funder": "10.13039/100000001"})
    assert params(q)["filter"] == "award.number:CBET-0756451,award.funder:100000001"
    q = client.works.filter(
        {"from-index-date": "2025-01-01", "full-text.application": "text-mining"}
    )
    assert params(q)["filter"] == "from-index-date:2025-01-01,full-text.application:text-mining"


def test_unknown_filter_suggests(client: Crossref) -> None:
    with pytest.raises(ValidationError) as info:
        client.works.filter(from_pub_dat="2024")
    assert info.value.value == "from-pub-dat"
    assert "from-pub-date" in info.value.suggestions
    assert "did you mean" in str(info.value)


def test_filter_on_a_route_that_lacks_it(client: Crossref) -> None:
    with pytest.raises(ValidationError, match="/members has no filter") as info:
        client.members.filter(has_full_text=True)
    assert info.value.value == "has-full-text"
    with pytest.raises(ValidationError, match="/funders has no filter"):
        client.funders.filter(from_pub_date="2014-03-03")
    with pytest.raises(ValidationError, match="/journals does not support filters"):
        client.journals.filter(has_assertion=True)
    with pytest.raises(ValidationError, match="does not support filters"):
        client.types.filter(type="book")
    assert params(client.funders.filter(location="Germany")) == {"filter": "location:Germany"}
    assert params(client.members.filter(prefix="10.1016", current_doi_count=10)) == {
        "filter": "prefix:10.1016,current-doi-count:10"
    }


def test_bad_filter_values_name_the_value(client: Crossref) -> None:
    with pytest.raises(ValidationError) as info:
        client.works.filter(from_pub_date="2024-13-01")
    assert info.value.value == "2024-13-01"
    with pytest.raises(ValidationError, match="comma"):
        client.works.filter(container_title="Nature, Physics")
    with pytest.raises(ValidationError, match="yes/no"):
        client.works.filter(has_references="sometimes")
    with pytest.raises(ValidationError, match="at least one"):
        client.works.filter(type=[])
    with pytest.raises(ValidationError, match="needs at least one"):
        client.works.filter()


def test_select(client: Crossref) -> None:
    q = client.works.select("DOI", "title").select("DOI,author")
    assert params(q)["select"] == "DOI,title,author"
    with pytest.raises(ValidationError) as info:
        client.works.select("doi")
    assert info.value.suggestions[0] == "DOI"
    with pytest.raises(ValidationError):
        client.works.select()
    assert not hasattr(client.members, "select")


def test_sort_and_order(client: Crossref) -> None:
    q = client.works.sort("published", "asc")
    assert q.to_params() == [("sort", "published"), ("order", "asc")]
    assert client.works.order("desc").sort("score").to_params() == [
        ("sort", "score"),
        ("order", "desc"),
    ]
    with pytest.raises(ValidationError, match="order applies only together with sort"):
        client.works.order("asc").to_params()
    with pytest.raises(ValidationError) as info:
        client.works.sort("publised")
    assert info.value.suggestions[0] == "published"
    with pytest.raises(ValidationError):
        client.works.sort("published", "up")  # type: ignore[arg-type]


def test_facets(client: Crossref) -> None:
    q = client.works.facet("type-name", "issn", published=5, container_title=10)
    assert params(q)["facet"] == "type-name:*,issn:*,published:5,container-title:10"
    # The API takes * and counts over 100 for the facets its documentation caps at 100.
    q = client.works.facet(orcid="*", issn=101, container_title=1000)
    assert params(q)["facet"] == "orcid:*,issn:101,container-title:1000"
    with pytest.raises(ValidationError, match="positive"):
        client.works.facet(published=0)
    with pytest.raises(ValidationError, match="positive"):
        client.works.facet(issn="all")
    with pytest.raises(ValidationError) as info:
        client.works.facet("type")
    assert "type-name" in info.value.suggestions
    # Crossref refuses facets on the other lists ("This route does not support facet").
    assert not hasattr(client.members, "facet")


def _recorded_facet_requests() -> list[tuple[str, int | None, str, str]]:
    """(file, status, route path, facet value) of every recorded request with a facet."""
    from urllib.parse import parse_qs, urlsplit

    from _corpus import recordings

    out = []
    for rec in recordings():
        url = urlsplit(rec.uri)
        for value in parse_qs(url.query).get("facet", []):
            out.append((rec.name, rec.status, url.path.removeprefix("/v1"), value))
    return out


def test_every_facet_the_real_api_answered_is_accepted(client: Crossref) -> None:
    # Every facet request recorded with a 200 (2018 to 2026) on a works route is built by the
    # client as sent, "*" on issn, orcid and container-title included.
    answered = [r for r in _recorded_facet_requests() if r[1] == 200 and r[2].endswith("works")]
    starred = set()
    for name, _, _, value in answered:
        if value == "t":  # the 2018 "all facets" shorthand, not a name:count list
            continue
        pairs = [item.partition(":")[::2] for item in value.split(",")]
        counts: dict[str, int | str] = {n: c if c == "*" else int(c) for n, c in pairs}
        query = client.works.facet(**{n.replace("-", "_"): c for n, c in counts.items()})
        assert params(query)["facet"] == value, name
        starred |= {n for n, c in counts.items() if c == "*"}
    assert {"issn", "orcid", "container-title"} <= starred
    # Each facet name the client knows answered at least once, except ror-id (documented
    # in 2026, not yet recorded).
    assert set(P.FACETS) - starred == {"ror-id"}


@pytest.mark.parametrize(
    ("build", "rule"),
    [
        (lambda q: q.facet("type-name", 3), "unknown facet"),
        (lambda q: q.sort(3), "unknown sort field"),
        (lambda q: q.order(None), "unknown order"),
        (lambda q: q.select("DOI", 7), "unknown select field"),
    ],
)
def test_a_value_where_a_name_belongs(client: Crossref, build: Any, rule: str) -> None:
    # A count given positionally (facet("issn", 10)) must be a ValidationError naming it,
    # not an AttributeError from deep inside the "did you mean" helper.
    with pytest.raises(ValidationError, match=rule):
        build(client.works)


@pytest.mark.parametrize("rows", [-1, 1001, True, 2.5])
def test_rows_limits(client: Crossref, rows: Any) -> None:
    with pytest.raises(ValidationError, match="between 0 and 1000"):
        client.works.rows(rows)
    with pytest.raises(ValidationError, match="between 0 and 1000"):
        client.works.to_params(rows=rows)


def test_offset_window(client: Crossref) -> None:
    assert params(client.works.offset(9000).rows(1000)) == {"offset": "9000", "rows": "1000"}
    with pytest.raises(ValidationError, match="10,000") as info:
        client.works.offset(9990).rows(20).rows(11)
    assert info.value.value == 9990
    with pytest.raises(ValidationError, match="10,000"):
        client.works.rows(1000).offset(9001)
    with pytest.raises(ValidationError, match="10,000"):
        client.works.offset(9990)  # default rows is 20
    with pytest.raises(ValidationError, match="offset"):
        client.works.offset(-5)


def test_sample(client: Crossref) -> None:
    assert params(client.works.sample(10)) == {"sample": "10"}
    with pytest.raises(ValidationError, match="between 1 and 100"):
        client.works.sample(101)
    with pytest.raises(ValidationError, match="cursor"):
        client.works.sample(5).to_params(cursor="*")
    with pytest.raises(ValidationError, match="offset"):
        client.works.sample(5).offset(10).to_params()
    with pytest.raises(ValidationError, match="rows"):
        client.works.sample(5).rows(10).to_params()
    assert not hasattr(client.funders, "sample")


def test_cursor_rules(client: Crossref) -> None:
    assert params(client.works.rows(1000), cursor="*") == {"rows": "1000", "cursor": "*"}
    with pytest.raises(ValidationError, match="offset cannot be combined with a cursor"):
        client.works.offset(10).to_params(cursor="*")
    # The long lists take cursors (they go past offset's 10,000); the short ones do not.
    for lst in (client.members, client.journals, client.funders.query("nsf")):
        assert params(lst, cursor="*")["cursor"] == "*"
    with pytest.raises(ValidationError, match="does not support cursors"):
        client.types.to_params(cursor="*")
    with pytest.raises(ValidationError, match="does not support cursors"):
        client.licenses.to_params(cursor="*")


def test_works_of_one_thing_paths(client: Crossref) -> None:
    assert client.member_works(311).path == "/members/311/works"
    assert client.journal_works("03784371").path == "/journals/0378-4371/works"
    assert client.funder_works("10.13039/100000001").path == "/funders/100000001/works"
    assert client.prefix_works("10.1016").path == "/prefixes/10.1016/works"
    assert client.type_works("book-chapter").path == "/types/book-chapter/works"
    q = client.member_works(311).filter(type="journal-article").query(author="x")
    assert params(q) == {"query.author": "x", "filter": "type:journal-article"}


def test_route_capabilities(client: Crossref) -> None:
    with pytest.raises(ValidationError, match="does not support query"):
        client.types.query("x")
    assert params(client.licenses.query("creative commons").rows(0)) == {
        "query": "creative commons",
        "rows": "0",
    }
    # The API documents no filters on /licenses (the simulator answers 400, as Crossref does
    # on /journals); the licenses of some works are the works route's ``license`` facet.
    with pytest.raises(ValidationError, match="filter"):
        client.licenses.filter(member=78)


async def test_a_bad_query_sends_nothing() -> None:
    async with unit_client() as client:
        with respx.mock(base_url="https://api.crossref.org", assert_all_called=False) as mock:
            route = mock.route()
            with pytest.raises(ValidationError):
                await client.works.sample(5).page(cursor="*")
            with pytest.raises(ValidationError):
                await client.works.offset(9990).page(rows=100)
            with pytest.raises(ValidationError):
                await client.work("not-a-doi")
            with pytest.raises(ValidationError):
                await client.member(323234343434)
            assert not route.called
