"""Deep paging against the simulator with a plain httpx loop: the page semantics of Crossref.

The cursor's state lives on the server: the token stays the same page after page, each
request advances it, a request sent again after a lost response skips a page, pages past the
end are empty forever, and an idle cursor expires.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from crossref_async.testing import FakeCrossref, Faults, serve


class FakeClock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def sim(clock: FakeClock) -> FakeCrossref:
    return FakeCrossref(works=250, seed=11, cursor_ttl=300.0, clock=clock)


@pytest.fixture(params=["asgi", "socket"])
async def http(
    request: pytest.FixtureRequest, sim: FakeCrossref
) -> AsyncIterator[httpx.AsyncClient]:
    if request.param == "asgi":
        async with sim.client() as client:
            yield client
    else:
        async with serve(sim) as url, httpx.AsyncClient(base_url=url) as client:
            yield client


async def page(http: httpx.AsyncClient, cursor: str, rows: int, **params: str) -> dict[str, object]:
    response = await http.get(
        "/works", params={"cursor": cursor, "rows": rows, "select": "DOI", **params}
    )
    assert response.status_code == 200, response.text
    message: dict[str, object] = response.json()["message"]
    return message


def dois_of(message: dict[str, object]) -> list[str]:
    items = message["items"]
    assert isinstance(items, list)
    return [item["DOI"] for item in items]


async def test_same_token_advances_until_empty_pages(
    http: httpx.AsyncClient, sim: FakeCrossref
) -> None:
    expected = [w["DOI"] for w in sim.corpus.matching([("has-references", "true")])]
    assert 100 < len(expected) < 250
    first = await page(http, "*", 40, filter="has-references:true")
    token = first["next-cursor"]
    assert isinstance(token, str) and token != "*"
    assert first["total-results"] == len(expected)
    seen = dois_of(first)
    pages = 1
    while True:
        message = await page(http, token, 40)
        pages += 1
        assert message["next-cursor"] == token  # the same token, page after page
        assert message["total-results"] == len(expected)
        items = dois_of(message)
        seen.extend(items)
        if len(items) < 40:
            break
    assert seen == expected
    for _ in range(3):  # past the end: empty pages, forever
        message = await page(http, token, 40)
        pages += 1
        assert dois_of(message) == []
        assert message["next-cursor"] == token
    assert sim.stats.pages_per_cursor[token] == pages
    assert sim.stats.cursors_created == 1


async def test_a_resent_request_skips_a_page(http: httpx.AsyncClient, sim: FakeCrossref) -> None:
    expected = [w["DOI"] for w in sim.corpus.works]
    first = await page(http, "*", 25)
    token = str(first["next-cursor"])
    assert dois_of(first) == expected[:25]
    await page(http, token, 25)  # its response is "lost"
    again = await page(http, token, 25)  # the retry of the same request...
    assert dois_of(again) == expected[50:75]  # ...gets the page after the lost one
    assert sim.stats.pages_per_cursor[token] == 3


async def test_a_truncated_transfer_loses_the_page(
    http: httpx.AsyncClient, sim: FakeCrossref
) -> None:
    expected = [w["DOI"] for w in sim.corpus.works]
    token = str((await page(http, "*", 30))["next-cursor"])
    sim.set_faults(Faults(truncate_rate=1.0))
    with pytest.raises(httpx.RemoteProtocolError):
        await http.get("/works", params={"cursor": token, "rows": 30})
    sim.set_faults(Faults())
    retried = await page(http, token, 30)
    assert dois_of(retried) == expected[60:90]  # the server had advanced before the cut
    assert sim.stats.truncations == 1
    assert sim.stats.pages_per_cursor[token] == 3


async def test_rows_may_change_between_pages(http: httpx.AsyncClient, sim: FakeCrossref) -> None:
    expected = [w["DOI"] for w in sim.corpus.works]
    token = str((await page(http, "*", 10))["next-cursor"])
    assert dois_of(await page(http, token, 5)) == expected[10:15]
    assert dois_of(await page(http, token, 0)) == []  # rows=0 reads nothing, moves nothing
    assert dois_of(await page(http, token, 7)) == expected[15:22]


async def test_a_query_cursor_follows_score_order(
    http: httpx.AsyncClient, sim: FakeCrossref
) -> None:
    title = sim.corpus.works[77]["title"][0]
    expected = [w["DOI"] for w in sim.corpus.matching(query=title)]
    first = await page(http, "*", 50, query=title)
    token = str(first["next-cursor"])
    seen = dois_of(first)
    while len(seen) < len(expected):
        seen.extend(dois_of(await page(http, token, 50)))
    assert seen == expected
    assert seen[0] == sim.corpus.works[77]["DOI"]


async def test_cursors_expire_when_idle(
    http: httpx.AsyncClient, sim: FakeCrossref, clock: FakeClock
) -> None:
    token = str((await page(http, "*", 10))["next-cursor"])
    clock.advance(299)
    await page(http, token, 10)  # used in time: the idle timer restarts
    clock.advance(299)
    await page(http, token, 10)
    clock.advance(301)
    response = await http.get("/works", params={"cursor": token, "rows": 10})
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {
        "status": "failed",
        "message-type": "resource-failure",
        "message": [
            {
                "type": "cursor-invalid",
                "value": token,
                "message": "Cursor specified but it is invalid",
            }
        ],
    }
    assert sim.stats.cursors_expired == 1
    assert sim.stats.cursor_invalid == 1
    assert sim.live_cursors == 0


async def test_live_cursors_leaves_out_the_expired(
    http: httpx.AsyncClient, sim: FakeCrossref, clock: FakeClock
) -> None:
    await page(http, "*", 10)
    await page(http, "*", 10)
    assert sim.live_cursors == 2
    clock.advance(301)  # nothing touches the cursors: the count alone must see them expire
    assert sim.live_cursors == 0
    assert sim.stats.cursors_expired == 2


async def test_cursor_tokens_need_percent_encoding(http: httpx.AsyncClient) -> None:
    # Tokens are standard base64: a '+' sent unencoded arrives as a space, as on the real API.
    for _ in range(50):
        token = str((await page(http, "*", 5))["next-cursor"])
        if "+" in token:
            break
    else:
        pytest.fail("no cursor token with a '+' in 50 tries")
    unencoded = await http.get(f"/works?cursor={token}&rows=5")
    assert unencoded.status_code == 404
    assert unencoded.json()["message"][0]["value"] == token.replace("+", " ")
    assert (await http.get("/works", params={"cursor": token, "rows": 5})).status_code == 200


async def test_every_cursor_has_its_own_state(http: httpx.AsyncClient, sim: FakeCrossref) -> None:
    expected = [w["DOI"] for w in sim.corpus.works]
    one = str((await page(http, "*", 10))["next-cursor"])
    two = str((await page(http, "*", 10))["next-cursor"])
    assert one != two
    assert dois_of(await page(http, one, 10)) == expected[10:20]
    assert dois_of(await page(http, two, 10)) == expected[10:20]
    assert sim.stats.cursors_created == 2


async def test_cursors_on_scoped_routes_and_lists_but_not_types_or_licenses(
    http: httpx.AsyncClient, sim: FakeCrossref
) -> None:
    response = await http.get("/prefixes/10.5555/works", params={"cursor": "*", "rows": 4})
    message = response.json()["message"]
    assert message["total-results"] == 10
    token = message["next-cursor"]
    rest = await http.get("/prefixes/10.5555/works", params={"cursor": token, "rows": 100})
    assert len(rest.json()["message"]["items"]) == 6
    assert (await http.get("/members", params={"cursor": "*"})).status_code == 200
    for route in ("/types", "/licenses"):
        refused = await http.get(route, params={"cursor": "*"})
        assert refused.status_code == 400, route
        assert refused.json()["message"][0]["type"] == "parameter-not-allowed"
