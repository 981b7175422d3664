"""Cursors on ``/members``, ``/journals`` and ``/funders``: past offset 10,000 over filler rows,
on queried and filtered lists, and what an unknown token gets (the 2022 recording's 500)."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
from _corpus import recordings

from crossref_async.testing import FakeCrossref, Faults

FILLER = 10_500
KEYS = {"members": "id", "journals": "ISSN", "funders": "id"}


@pytest.fixture(scope="module")
def sim() -> FakeCrossref:
    return FakeCrossref(works=60, filler=FILLER)


async def walk(
    http: httpx.AsyncClient, route: str, rows: int, **params: str
) -> tuple[list[dict[str, Any]], int, int]:
    """Every item of a cursor walk, the total it announced, and the pages it took."""
    items: list[dict[str, Any]] = []
    cursor, pages, total = "*", 0, -1
    while True:
        response = await http.get(route, params={**params, "cursor": cursor, "rows": rows})
        assert response.status_code == 200, response.text
        message = response.json()["message"]
        total = message["total-results"]
        if not message["items"]:
            return items, total, pages
        pages += 1
        items += message["items"]
        cursor = message["next-cursor"]


@pytest.mark.parametrize("route", ["members", "journals", "funders"])
async def test_a_cursor_pages_a_list_past_offset_10000(sim: FakeCrossref, route: str) -> None:
    async with sim.client() as http:
        items, total, pages = await walk(http, f"/{route}", 1000)
        beyond = await http.get(f"/{route}", params={"rows": 1000, "offset": 9500})
    keys = [json.dumps(item[KEYS[route]]) for item in items]
    real = {"members": sim.corpus.members, "journals": sim.corpus.journals}.get(
        route, sim.corpus.funders
    )
    assert total == len(real) + FILLER > 10_000
    assert len(items) == total == len(set(keys))  # none lost, none twice
    assert items[: len(real)] == real  # the real rows first, as offset paging lists them
    assert pages == -(-total // 1000)
    assert beyond.status_code == 400  # offsets still stop at 10,000
    assert beyond.json()["message"][0]["type"] == "integer-not-valid"


async def test_queried_and_filtered_lists_take_cursors(sim: FakeCrossref) -> None:
    member = sim.corpus.members[0]
    journal = sim.corpus.journals[0]
    async with sim.client() as http:
        fillers, filler_total, _ = await walk(http, "/journals", 500, query="filler journal")
        by_prefix, _, _ = await walk(http, "/members", 2, filter=f"prefix:{member['prefixes'][0]}")
        queried, _, _ = await walk(http, "/journals", 2, query=journal["title"])
    assert filler_total == len(fillers) == FILLER
    assert {item["title"].split()[0] for item in fillers} == {"Filler"}
    assert [m["id"] for m in by_prefix] == [member["id"]]  # filler rows never pass a filter
    assert journal in queried and all("Filler" not in j["title"] for j in queried)


async def test_a_short_list_page_loses_nothing_on_a_cursor() -> None:
    sim = FakeCrossref(works=60, filler=95, faults=Faults(short_page_rate=1.0))
    async with sim.client() as http:
        items, total, pages = await walk(http, "/funders", 10)
    assert len(items) == total == len({item["id"] for item in items})
    assert pages > -(-total // 10)  # the pages were short, yet every funder came
    assert sim.stats.short_pages > 0


def recorded_exception() -> dict[str, Any]:
    """The 2022 recording of ``/members?cursor=5``: the backend's 500 exception."""
    for rec in recordings():
        if rec.uri.endswith("/members?cursor=5") and rec.status == 500:
            body: dict[str, Any] = json.loads(rec.body)
            return body
    pytest.skip("the 2022 recording of /members?cursor=5 is not in the corpus")


@pytest.mark.parametrize("route", ["/members", "/journals", "/funders"])
async def test_an_unknown_list_cursor_gets_the_recorded_500(sim: FakeCrossref, route: str) -> None:
    recorded = recorded_exception()
    async with sim.client() as http:
        works_token = (await http.get("/works", params={"cursor": "*"})).json()["message"][
            "next-cursor"
        ]
        unknown = await http.get(route, params={"cursor": "5"})
        foreign = await http.get(route, params={"cursor": works_token})
    for response in (unknown, foreign):
        assert response.status_code == 500
        body = response.json()
        assert body.keys() == recorded.keys()
        assert body["message-type"] == recorded["message-type"] == "exception"
        assert body["message"].keys() == recorded["message"].keys()
        assert body["message"]["name"] == recorded["message"]["name"]


async def test_a_list_cursor_is_unknown_to_the_works_routes(sim: FakeCrossref) -> None:
    async with sim.client() as http:
        token = (await http.get("/members", params={"cursor": "*", "rows": 1})).json()["message"][
            "next-cursor"
        ]
        response = await http.get("/works", params={"cursor": token})
    assert response.status_code == 404
    assert response.json()["message"][0]["type"] == "cursor-invalid"


async def test_a_list_cursor_refuses_an_offset(sim: FakeCrossref) -> None:
    async with sim.client() as http:
        response = await http.get("/journals", params={"cursor": "*", "offset": 20})
    assert response.status_code == 400
    assert response.json()["message"] == [
        {
            "type": "parameter-not-allowed",
            "value": "offset",
            "message": "Parameter offset cannot be used with cursor",
        }
    ]


def test_filler_must_not_be_negative() -> None:
    with pytest.raises(ValueError, match="filler is -5"):
        FakeCrossref(works=10, filler=-5)
