"""The client against respx routes: every route, identity, secrets, redirects, lifecycle."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from urllib.parse import unquote

import httpx
import pytest
import respx
from _corpus import corpus_dir
from conftest import BASE, MAILTO, unit_client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crossref_async import (
    Crossref,
    Funder,
    Journal,
    Member,
    NotFoundError,
    Prefix,
    PublicPoolWarning,
    RedirectError,
    ServerError,
    Type,
    ValidationError,
    Work,
    __version__,
)
from crossref_async._transport import MAX_REDIRECTS, PLUS_HEADER

TOKEN = "s3cr3t-plus-token-value"


def body(name: str) -> bytes:
    return (corpus_dir() / name).read_bytes()


class Recorder:
    """Answers every request with a fixed response and remembers the requests."""

    def __init__(self, content: bytes = b"", status: int = 200, **headers: str) -> None:
        self.content, self.status, self.headers = content, status, headers
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return httpx.Response(self.status, content=self.content, headers=self.headers)

    @property
    def last(self) -> httpx.Request:
        return self.requests[-1]


def answer(
    router: respx.MockRouter, content: bytes = b"", status: int = 200, **headers: str
) -> Recorder:
    rec = Recorder(content, status, **headers)
    router.route().mock(side_effect=rec)
    return rec


SINGLETONS: list[tuple[Callable[[Crossref], object], str, str, type]] = [
    (
        lambda c: c.work("10.1371/journal.pone.0033693"),
        "/works/10.1371%2Fjournal.pone.0033693",
        "habanero/test_no_ua_string__00_works_10.1371_journal.pone.0033693.json",
        Work,
    ),
    (
        lambda c: c.member(98),
        "/members/98",
        "habanero/test_members_mixed_ids_warn__00_members_98.json",
        Member,
    ),
    (
        lambda c: c.journal("1803-2427"),
        "/journals/1803-2427",
        "habanero/test_journals_ids__00_journals_1803-2427.json",
        Journal,
    ),
    (
        lambda c: c.funder("10.13039/100000001"),
        "/funders/100000001",
        "habanero/test_funders_mixed_ids_warn__00_funders_10.13039_100000001.json",
        Funder,
    ),
    (
        lambda c: c.prefix("10.1016"),
        "/prefixes/10.1016",
        "habanero/test_prefixes__00_prefixes_10.1016.json",
        Prefix,
    ),
    (
        lambda c: c.type("journal-article"),
        "/types/journal-article",
        "habanero/test_types_mixed_ids_warn__00_types_journal-article.json",
        Type,
    ),
]


@pytest.mark.parametrize(("call", "path", "recording", "model"), SINGLETONS)
async def test_singletons(
    cr: Crossref,
    router: respx.MockRouter,
    call: Callable[[Crossref], object],
    path: str,
    recording: str,
    model: type,
) -> None:
    rec = answer(router, body(recording), content_type="application/json")
    result = await call(cr)  # type: ignore[misc]
    assert isinstance(result, model)
    assert rec.last.method == "GET"
    assert rec.last.url.raw_path.decode().split("?")[0] == "/v1" + path
    assert rec.last.url.params["mailto"] == MAILTO


async def test_work_decodes_fields(cr: Crossref, router: respx.MockRouter) -> None:
    answer(router, body("habanero/test_no_ua_string__00_works_10.1371_journal.pone.0033693.json"))
    work = await cr.work("https://doi.org/10.1371/journal.pone.0033693")
    assert work.DOI is not None and work.DOI.lower() == "10.1371/journal.pone.0033693"
    assert work.first_title


async def test_agency(cr: Crossref, router: respx.MockRouter) -> None:
    rec = answer(
        router,
        body(
            "habanero/test_registration_agency__00_works_10.1126_science.169.3946.635_agency.json"
        ),
    )
    agency = await cr.agency("doi:10.1126/science.169.3946.635")
    assert rec.last.url.raw_path.startswith(b"/v1/works/10.1126%2Fscience.169.3946.635/agency?")
    assert agency.agency is not None and agency.agency.id == "crossref"


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.text(
        alphabet=st.characters(blacklist_categories=("Cc", "Cs"), blacklist_characters="\x7f"),
        min_size=1,
        max_size=40,
    ).filter(lambda s: not s[0].isspace() and s == s.strip())
)
async def test_any_doi_reaches_its_own_record(suffix: str) -> None:
    """Encode, route, decode: the server sees exactly the DOI, always under /works/."""
    doi = f"10.5555/{suffix}"
    seen: list[str] = []

    def server(request: httpx.Request) -> httpx.Response:
        raw = request.url.raw_path.decode("ascii").split("?")[0]
        assert raw.startswith("/v1/works/") and raw.count("/") == 3
        seen.append(unquote(raw.removeprefix("/v1/works/")))
        return httpx.Response(
            200,
            json={
                "status": "ok",
                "message-type": "work",
                "message-version": "1.0.0",
                "message": {"DOI": doi},
            },
        )

    transport = httpx.MockTransport(server)
    async with unit_client(transport=transport) as client:
        work = await client.work(doi)
    assert seen == [doi]
    assert doi == work.DOI


@pytest.mark.parametrize(
    "doi", ["10.1/../../members", "10.5555/a;b#c?d&e<f>g%h(i)j:k l", "10.5555/%2F..%2F"]
)
async def test_hostile_dois_never_escape_the_route(
    cr: Crossref, router: respx.MockRouter, doi: str
) -> None:
    rec = answer(router, status=404, content=b"Resource not found.")
    with pytest.raises(NotFoundError):
        await cr.work(doi)
    raw = rec.last.url.raw_path.decode().split("?")[0]
    assert raw.startswith("/v1/works/") and raw.count("/") == 3
    assert unquote(raw[len("/v1/works/") :]) == doi
    assert rec.last.url.path.startswith("/v1/works/")


LISTS: list[tuple[Callable[[Crossref], object], str, str]] = [
    (
        lambda c: c.works.query("ecology"),
        "/works",
        "habanero/test_cursor__00_works_query_widget_cursor.json",
    ),
    (
        lambda c: c.members.query("ecology"),
        "/members",
        "habanero/test_members_query__00_members_query_ecology_rows_2.json",
    ),
    (
        lambda c: c.journals.query("ecology"),
        "/journals",
        "habanero/test_journals_query__00_journals_query_ecology_rows_2.json",
    ),
    (
        lambda c: c.funders.query("NSF"),
        "/funders",
        "habanero/test_funders_query__00_funders_query_NSF_rows_2.json",
    ),
    (
        lambda c: c.licenses.query("science"),
        "/licenses",
        "habanero/test_licenses__00_licenses_query_science_rows_2.json",
    ),
    (lambda c: c.types, "/types", "habanero/test_types__00_types.json"),
    (
        lambda c: c.member_works(98),
        "/members/98/works",
        "habanero/test_members_mixed_ids_works_warn__00_members_98_works.json",
    ),
    (
        lambda c: c.journal_works("1803-2427"),
        "/journals/1803-2427/works",
        "habanero/test_journals_mixed_ids_works_warn__00_journals_1803-2427_works.json",
    ),
    (
        lambda c: c.funder_works("100000001"),
        "/funders/100000001/works",
        "habanero/test_funders_mixed_ids_works_warn__00_funders_10.13039_100000001_works.json",
    ),
    (
        lambda c: c.prefix_works("10.1016"),
        "/prefixes/10.1016/works",
        "habanero/test_prefixes_works__00_prefixes_10.1016_works_rows_2.json",
    ),
    (
        lambda c: c.type_works("journal"),
        "/types/journal/works",
        "habanero/test_types_works__00_types_journal_works_rows_2.json",
    ),
]


@pytest.mark.parametrize(("build", "path", "recording"), LISTS)
async def test_list_routes_page_and_count(
    cr: Crossref,
    router: respx.MockRouter,
    build: Callable[[Crossref], object],
    path: str,
    recording: str,
) -> None:
    rec = answer(router, body(recording))
    query = build(cr)
    page = await query.page(rows=2)  # type: ignore[attr-defined]
    assert rec.last.url.path == "/v1" + path
    assert rec.last.url.params["rows"] == "2" and rec.last.url.params["mailto"] == MAILTO
    assert page.total_results is not None and page.total_results > 0
    assert len(page.items) > 0
    assert await query.count() == page.total_results  # type: ignore[attr-defined]
    assert rec.last.url.params["rows"] == "0"
    raw = await query.raw_page(rows=2)  # type: ignore[attr-defined]
    assert len(raw.items) == len(page.items)


async def test_every_parameter_reaches_the_wire(cr: Crossref, router: respx.MockRouter) -> None:
    rec = answer(router, body("habanero/test_cursor__00_works_query_widget_cursor.json"))
    q = (
        cr.works.query("renear ontologies", author="renear", bibliographic="ontologies 2009")
        .filter(type="journal-article", from_pub_date="2024-01", funder=["100000001", "100000050"])
        .filter({"award.number": "CBET-0756451"})
        .select("DOI", "title")
        .sort("published", "asc")
        .facet("type-name", issn=5)
    )
    await q.page(rows=100, cursor="AoJ+/x==")
    got = rec.last.url.params
    assert got["query"] == "renear ontologies"
    assert got["query.author"] == "renear"
    assert got["query.bibliographic"] == "ontologies 2009"
    assert got["filter"] == (
        "type:journal-article,from-pub-date:2024-01,funder:100000001,funder:100000050,"
        "award.number:CBET-0756451"
    )
    assert got["select"] == "DOI,title"
    assert (got["sort"], got["order"]) == ("published", "asc")
    assert got["facet"] == "type-name:*,issn:5"
    assert got["rows"] == "100" and got["cursor"] == "AoJ+/x=="
    # Cursors and every value are percent-encoded (a raw "+" would read as a space).
    assert b"cursor=AoJ%2B%2Fx%3D%3D" in rec.last.url.raw_path
    assert b"mailto=tests%40example.org" in rec.last.url.raw_path


async def test_sample_and_offset(cr: Crossref, router: respx.MockRouter) -> None:
    rec = answer(router, body("habanero/test_cursor__00_works_query_widget_cursor.json"))
    await cr.works.sample(10).page()
    assert rec.last.url.params["sample"] == "10" and "rows" not in rec.last.url.params
    rec.content = body("habanero/test_members_query__00_members_query_ecology_rows_2.json")
    await cr.members.offset(40).page(rows=20)
    assert (rec.last.url.params["offset"], rec.last.url.params["rows"]) == ("40", "20")


@pytest.mark.parametrize(
    ("kwargs", "path"),
    [
        ({"doi": "10.5555/12345678"}, "/works/10.5555%2F12345678"),
        ({"member": 98}, "/members/98"),
        ({"journal": "1549-7712"}, "/journals/1549-7712"),
        ({"funder": "100000001"}, "/funders/100000001"),
        ({"prefix": "10.1016"}, "/prefixes/10.1016"),
        ({"type": "book"}, "/types/book"),
    ],
)
async def test_exists_uses_head(
    cr: Crossref, router: respx.MockRouter, kwargs: dict[str, object], path: str
) -> None:
    rec = answer(router, status=200)
    assert await cr.exists(**kwargs) is True  # type: ignore[arg-type]
    assert rec.last.method == "HEAD"
    assert rec.last.url.raw_path.decode().startswith("/v1" + path + "?")
    rec.status = 404
    assert await cr.exists(**kwargs) is False  # type: ignore[arg-type]


async def test_exists_needs_exactly_one(cr: Crossref) -> None:
    with pytest.raises(ValidationError, match="exactly one"):
        await cr.exists()
    with pytest.raises(ValidationError, match="exactly one"):
        await cr.exists("10.5555/1", member=1)


# -- identity -----------------------------------------------------------------------------


async def test_user_agent_and_mailto(router: respx.MockRouter) -> None:
    rec = answer(router, body("habanero/test_types__00_types.json"))
    async with unit_client(user_agent="MyTool/1.2") as client:
        await client.types.page()
    agent = rec.last.headers["user-agent"]
    assert agent.startswith("MyTool/1.2 crossref-async/")
    assert f"crossref-async/{__version__} (" in agent and agent.endswith(f"; mailto:{MAILTO})")
    assert rec.last.url.params["mailto"] == MAILTO
    assert PLUS_HEADER.lower() not in rec.last.headers


async def test_no_mailto_warns_once_and_sends_none(router: respx.MockRouter) -> None:
    rec = answer(router, body("habanero/test_types__00_types.json"))
    with pytest.warns(PublicPoolWarning, match="public pool") as warned:
        client = Crossref()
    assert len(warned) == 1
    async with client:
        await client.types.page()
        await client.types.page()
    assert "mailto" not in rec.last.url.params
    assert "mailto" not in rec.last.headers["user-agent"]


@pytest.mark.parametrize("bad", ["not-an-address", "a@b", "a b@c.org", ""])
def test_bad_mailto(bad: str) -> None:
    with pytest.raises(ValidationError, match="e-mail"):
        Crossref(mailto=bad)


def test_bad_base_url_and_agent() -> None:
    with pytest.raises(ValidationError, match="base_url"):
        unit_client(base_url="ftp://x")
    with pytest.raises(ValidationError, match="user_agent"):
        unit_client(user_agent="two\nlines")


# -- the Plus token -------------------------------------------------------------------------


async def test_plus_token_header_and_redaction(
    router: respx.MockRouter, caplog: pytest.LogCaptureFixture
) -> None:
    rec = answer(router, b"<html><body>boom</body></html>", status=500, content_type="text/html")
    caplog.set_level(logging.DEBUG, logger="crossref_async")
    async with unit_client(plus_token=TOKEN) as client:
        assert TOKEN not in repr(client) and "redacted" in repr(client)
        with pytest.raises(ServerError) as info:
            await client.work("10.5555/1")
    assert rec.last.headers[PLUS_HEADER] == f"Bearer {TOKEN}"
    assert TOKEN not in str(info.value) and TOKEN not in repr(info.value)
    assert TOKEN not in caplog.text
    assert caplog.records, "requests are logged at DEBUG"


async def test_a_redirect_to_another_host_is_refused_and_carries_nothing_there() -> None:
    seen: list[httpx.Request] = []

    def server(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.url.host == "api.crossref.org":
            return httpx.Response(302, headers={"location": "https://evil.example.net/works/x"})
        return httpx.Response(200, json={"status": "ok", "message-type": "work", "message": {}})

    async with Crossref(
        mailto=MAILTO, plus_token=TOKEN, transport=httpx.MockTransport(server)
    ) as client:
        with pytest.raises(RedirectError, match="leads away from the API's host") as info:
            await client.work("10.5555/1")
    # Not sent at all: neither the token nor the polite identity reaches the other host.
    assert [r.url.host for r in seen] == ["api.crossref.org"]
    assert info.value.status == 302
    assert info.value.chain[-1] == "https://evil.example.net/works/x"
    assert TOKEN not in str(info.value)


async def test_plus_token_kept_on_same_host_redirect_but_not_on_downgrade() -> None:
    seen: list[httpx.Request] = []

    def server(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if len(seen) == 1:
            return httpx.Response(
                301, headers={"location": "https://api.crossref.org:443/v1/works/x"}
            )
        if len(seen) == 2:
            return httpx.Response(307, headers={"location": "http://api.crossref.org/works/x"})
        return httpx.Response(200, json={"status": "ok", "message-type": "work", "message": {}})

    async with Crossref(
        mailto=MAILTO, plus_token=TOKEN, transport=httpx.MockTransport(server)
    ) as client:
        await client.work("10.5555/1")
    assert [PLUS_HEADER.lower() in r.headers for r in seen] == [True, True, False]


async def test_a_redirect_loop_is_an_error_naming_the_urls() -> None:
    def server(request: httpx.Request) -> httpx.Response:
        other = "/works/b" if request.url.path.endswith("/a") else "/works/a"
        return httpx.Response(302, headers={"location": other})

    async with unit_client(transport=httpx.MockTransport(server)) as client:
        with pytest.raises(RedirectError, match="redirect loop") as info:
            await client.work("10.5555/a")
    root = httpx.URL(client.base_url)
    a, b = (f"{root.scheme}://{root.host}/works/{x}?mailto=tests%40example.org" for x in "ab")
    assert info.value.chain[1:] == (b, a, b)
    assert f"{b} -> {a} -> {b}" in str(info.value)


async def test_too_many_redirects() -> None:
    def server(request: httpx.Request) -> httpx.Response:
        hop = int(request.url.params.get("hop", "0"))
        return httpx.Response(302, headers={"location": f"/works/x?hop={hop + 1}"})

    async with unit_client(transport=httpx.MockTransport(server)) as client:
        with pytest.raises(RedirectError, match=f"more than {MAX_REDIRECTS} redirects") as info:
            await client.work("10.5555/1")
    assert len(info.value.chain) == MAX_REDIRECTS + 1


# -- lifecycle ------------------------------------------------------------------------------


async def test_closes_only_what_it_created() -> None:
    own = httpx.AsyncClient(transport=httpx.MockTransport(lambda r: httpx.Response(200, json={})))
    async with unit_client(http_client=own):
        pass
    assert not own.is_closed
    await own.aclose()
    client = unit_client()
    await client.aclose()
    await client.aclose()
    assert client._http.is_closed
    with pytest.raises(RuntimeError, match="closed"):
        await client.work("10.5555/1")


def test_transport_and_http_client_are_exclusive() -> None:
    with pytest.raises(ValidationError):
        Crossref(
            mailto=MAILTO,
            transport=httpx.MockTransport(lambda r: httpx.Response(200)),
            http_client=httpx.AsyncClient(),
        )


async def test_base_url_with_a_path_prefix() -> None:
    seen: list[str] = []

    def server(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.raw_path.decode())
        return httpx.Response(
            200, content=Path(corpus_dir() / "habanero/test_types__00_types.json").read_bytes()
        )

    async with Crossref(
        mailto=MAILTO, base_url="http://127.0.0.1:9/api/", transport=httpx.MockTransport(server)
    ) as c:
        await c.types.page()
    assert seen[0].startswith("/api/types?")
    assert BASE not in seen[0]
