"""The simulator's wire behaviour as the 2026 API shows it: alias 301s, gzip and its faults,
short pages. Each is asserted in process (ASGI) and, where the bytes on the wire matter, on a
loopback socket started by the test."""

from __future__ import annotations

import gzip
import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from urllib.parse import quote, urlsplit

import httpx
import pytest
from conftest import Connect

from crossref_async import Crossref, DecodeError, ResponseTooLargeError, RetryPolicy
from crossref_async.testing import FakeCrossref, Faults, Limits, Pool, serve

ROOT = Path(__file__).resolve().parent.parent
MAILTO = "tests@example.org"
LIST = "/works?rows=40&select=DOI,title"


def an_alias(sim: FakeCrossref) -> tuple[str, str]:
    """An alias DOI of the corpus and its primary DOI."""
    index, aliases = next(iter(sim.corpus.tables.aliases.items()))
    return aliases[0], str(sim.corpus.works[index]["DOI"])


async def raw_body(
    http: httpx.AsyncClient, url: str, **headers: str
) -> tuple[httpx.Response, bytes]:
    """A response and its body as sent (still encoded)."""
    async with http.stream("GET", url, headers=headers) as response:
        return response, b"".join([chunk async for chunk in response.aiter_raw()])


# -- alias DOIs ------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["GET", "HEAD"])
@pytest.mark.parametrize("version", ["", "/v1"])
async def test_an_alias_answers_301_to_its_primary_without_the_query_string(
    connect: Connect, method: str, version: str
) -> None:
    sim = FakeCrossref(works=200, limits="polite-2026")
    alias, primary = an_alias(sim)
    async with connect(sim) as http:
        response = await http.request(
            method, f"{version}/works/{quote(alias, safe='')}", params={"mailto": MAILTO}
        )
    assert response.status_code == 301
    location = urlsplit(response.headers["location"])
    # Same host as asked, the primary's path, and no query string: the mailto is gone.
    assert f"{location.scheme}://{location.netloc}" == str(http.base_url).rstrip("/")
    assert location.path == f"{version}/works/{quote(primary, safe='/')}"
    assert location.query == ""
    assert sim.stats.alias_redirects == 1
    assert sim.stats.requests_by_pool == {"polite-single": 1}


async def test_following_the_301_is_a_second_single_request_that_lands_on_the_primary(
    connect: Connect,
) -> None:
    sim = FakeCrossref(works=200, limits="polite-2026")
    alias, primary = an_alias(sim)
    async with connect(sim) as http:
        response = await http.get(
            f"/works/{quote(alias, safe='')}", params={"mailto": MAILTO}, follow_redirects=True
        )
    assert [r.status_code for r in response.history] == [301]
    work = response.json()["message"]
    assert work["DOI"] == primary
    assert alias in work["aliases"]
    targets = [record.target for record in sim.stats.log]
    assert targets[0].endswith(f"?mailto={quote(MAILTO)}")
    assert "mailto" not in targets[1]  # what a client following redirects blindly sends
    assert sim.stats.requests_by_pool == {"polite-single": 2}


async def test_the_hop_is_limited_in_the_single_pool() -> None:
    limits = Limits(single=Pool(rate=1, interval=60.0, name="polite-single"))
    sim = FakeCrossref(works=200, limits=limits, clock=lambda: 50.0)  # time stands still
    alias, _ = an_alias(sim)
    async with sim.client() as http:
        response = await http.get(f"/works/{quote(alias, safe='')}", follow_redirects=True)
    assert [r.status_code for r in response.history] == [301]
    assert response.status_code == 429  # the 301 used the pool's only request
    assert sim.stats.rejected_for_rate == 1


@pytest.mark.parametrize(
    "tail", ["/agency", "/transform", "/transform/application/x-bibtex"], ids=str
)
async def test_agency_and_transform_of_an_alias_redirect_to_the_same_route_of_the_primary(
    tail: str,
) -> None:
    sim = FakeCrossref(works=200)
    alias, primary = an_alias(sim)
    async with sim.client() as http:
        moved = await http.get(f"/works/{quote(alias, safe='')}{tail}?mailto=x")
        landed = await http.get(moved.headers["location"])
    assert moved.status_code == 301
    assert moved.headers["location"] == f"http://crossref.test/works/{primary}{tail}"
    assert landed.status_code == 200
    if tail == "/agency":
        assert landed.json()["message"] == {
            "DOI": primary,
            "agency": {"id": "crossref", "label": "Crossref"},
        }
    elif tail.endswith("x-bibtex"):
        assert landed.text.lstrip().startswith("@") and f"DOI={{{primary}}}" in landed.text


async def test_an_alias_is_never_a_work_of_a_list() -> None:
    sim = FakeCrossref(works=200)
    alias, primary = an_alias(sim)
    async with sim.client() as http:
        by_alias = await http.get("/works", params={"filter": f"doi:{alias}"})
        by_primary = await http.get("/works", params={"filter": f"doi:{primary}"})
    assert by_alias.json()["message"]["total-results"] == 0
    assert by_primary.json()["message"]["total-results"] == 1


# -- gzip ------------------------------------------------------------------------------------


async def test_json_is_gzipped_when_the_client_asks(connect: Connect) -> None:
    sim = FakeCrossref(works=60)
    async with connect(sim) as http:
        zipped, zipped_body = await raw_body(http, LIST, **{"Accept-Encoding": "gzip"})
        plain, plain_body = await raw_body(http, LIST, **{"Accept-Encoding": "identity"})
        error, _ = await raw_body(http, "/works?rows=abc", **{"Accept-Encoding": "gzip"})
    assert zipped.headers["content-encoding"] == "gzip"
    assert zipped.headers["vary"] == "Accept-Encoding"
    assert gzip.decompress(zipped_body) == plain_body
    assert len(zipped_body) < len(plain_body) / 2
    assert int(zipped.headers["content-length"]) == len(zipped_body)
    assert "content-encoding" not in plain.headers
    assert len(json.loads(plain_body)["message"]["items"]) == 40
    # Errors (and formatted citations) go out as they are, as recorded.
    assert error.status_code == 400 and "content-encoding" not in error.headers


async def test_httpx_asks_for_gzip_by_default_and_decodes_it_transparently() -> None:
    sim = FakeCrossref(works=60)
    async with sim.client() as http:
        response = await http.get(LIST)
    assert response.headers["content-encoding"] == "gzip"
    assert len(response.json()["message"]["items"]) == 40


async def test_gzip_can_be_turned_off() -> None:
    sim = FakeCrossref(works=60, gzip=False)
    async with sim.client() as http:
        response = await http.get(LIST, headers={"Accept-Encoding": "gzip"})
    assert "content-encoding" not in response.headers


async def test_a_corrupt_gzip_body_fails_the_decoder(connect: Connect) -> None:
    sim = FakeCrossref(works=60, faults=Faults(corrupt_gzip_rate=1.0))
    async with connect(sim) as http:
        with pytest.raises(httpx.DecodingError):
            await http.get(LIST)
        # Sent gzipped even to a client that did not ask, as a broken proxy would.
        with pytest.raises(httpx.DecodingError):
            await http.get(LIST, headers={"Accept-Encoding": "identity"})
    assert sim.stats.corrupt_gzips == 2


async def test_the_client_sees_a_corrupt_gzip_body_as_a_transient_decode_error() -> None:
    sim = FakeCrossref(works=60, faults=Faults(corrupt_gzip_rate=1.0))
    async with Crossref(mailto=MAILTO, transport=sim.transport(), retry=RetryPolicy.off()) as cr:
        with pytest.raises(DecodeError) as info:
            await cr.work("10.5555/12345678")
    assert info.value.transient


async def test_a_gzip_bomb_is_small_on_the_wire_and_huge_decoded(connect: Connect) -> None:
    size = 8 << 20
    sim = FakeCrossref(works=60, faults=Faults(gzip_bomb_rate=1.0, gzip_bomb_bytes=size))
    async with connect(sim) as http:
        bomb, body = await raw_body(http, LIST)
    assert bomb.status_code == 200
    assert bomb.headers["content-encoding"] == "gzip"
    assert len(body) < size // 500
    assert gzip.decompress(body) == b" " * size
    assert sim.stats.gzip_bombs == 1


async def test_the_client_stops_a_gzip_bomb_at_its_body_cap() -> None:
    sim = FakeCrossref(works=60, faults=Faults(gzip_bomb_rate=1.0, gzip_bomb_bytes=4 << 20))
    async with (
        serve(sim) as url,
        Crossref(mailto=MAILTO, base_url=url, retry=RetryPolicy.off(), max_body_size=1 << 20) as cr,
    ):
        with pytest.raises(ResponseTooLargeError):
            await cr.work("10.5555/12345678")


def test_gzip_fault_settings_are_checked() -> None:
    with pytest.raises(ValueError, match="gzip_bomb_bytes is 0"):
        Faults(gzip_bomb_bytes=0)
    with pytest.raises(ValueError, match="short_page_shortfall is 0"):
        Faults(short_page_shortfall=0)
    with pytest.raises(ValueError, match="add up"):
        Faults(corrupt_gzip_rate=0.6, gzip_bomb_rate=0.6)


# -- short pages -----------------------------------------------------------------------------


async def test_a_short_page_as_recorded_19_of_20_at_offset_0(connect: Connect) -> None:
    sim = FakeCrossref(works=100, faults=Faults(short_page_rate=1.0))
    async with connect(sim) as http:
        first = (await http.get("/works?rows=20&select=DOI")).json()["message"]
        after = (await http.get("/works?rows=20&offset=19&select=DOI")).json()["message"]
        last = (await http.get("/works?rows=20&offset=80&select=DOI")).json()["message"]
    expected = [str(w["DOI"]) for w in sim.corpus.works]
    assert len(first["items"]) == 19
    assert first["total-results"] == 100
    assert first["items-per-page"] == 20
    # Offset paging: the items are simply fewer; asking from offset 19 continues after them.
    assert [i["DOI"] for i in first["items"] + after["items"]] == expected[:38]
    assert len(last["items"]) == 20  # the last page is never cut: a short page is not the end
    assert sim.stats.short_pages == 2


async def test_a_cursor_moves_on_by_what_it_served(connect: Connect) -> None:
    sim = FakeCrossref(works=100, faults=Faults(short_page_rate=1.0, short_page_shortfall=3))
    seen: list[str] = []
    sizes = []
    async with connect(sim) as http:
        cursor = "*"
        while True:
            message = (await http.get(f"/works?rows=20&select=DOI&cursor={quote(cursor)}")).json()
            items = message["message"]["items"]
            if not items:
                break
            sizes.append(len(items))
            seen += [item["DOI"] for item in items]
            cursor = message["message"]["next-cursor"]
    # Every record exactly once, in order: the server lost nothing on the short pages.
    assert seen == [str(w["DOI"]) for w in sim.corpus.works]
    assert sizes[:5] == [17] * 5
    assert all(size < 20 for size in sizes)


async def test_short_pages_are_occasional_at_a_rate() -> None:
    sim = FakeCrossref(works=400, faults=Faults(short_page_rate=0.3, seed=7))
    async with sim.client() as http:
        pages = [await http.get(f"/works?rows=10&offset={k * 10}&select=DOI") for k in range(39)]
    sizes = [len(page.json()["message"]["items"]) for page in pages]
    assert set(sizes) == {9, 10}
    assert 3 <= sizes.count(9) <= 25
    assert sim.stats.short_pages == sizes.count(9)


# -- the command line ------------------------------------------------------------------------


def test_the_fake_server_command_takes_the_new_faults() -> None:
    code = (
        "import sys; from crossref_async.testing._server import main_fake_server;"
        " sys.exit(main_fake_server(sys.argv[1:]))"
    )
    args = ["--port", "0", "--works", "40", "--log-level", "warning"]
    args += ["--short-page-rate", "1", "--short-page-shortfall", "2", "--filler", "30"]
    args += ["--headers-on-429", "--no-gzip"]
    with subprocess.Popen(
        [sys.executable, "-c", code, *args],
        cwd=ROOT,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    ) as process:
        try:
            assert process.stderr is not None
            url = process.stderr.readline().rsplit(" at ", 1)[1].split()[0]
            with httpx.Client(base_url=url, timeout=10) as http:
                page = http.get("/works", params={"rows": 10, "select": "DOI"})
                journals = http.get("/journals", params={"rows": 0})
        finally:
            process.send_signal(signal.SIGINT)
            status = process.wait(timeout=15)
    assert status == 0
    assert len(page.json()["message"]["items"]) == 8
    assert "content-encoding" not in page.headers
    real = len(FakeCrossref(works=40).corpus.journals)
    assert journals.json()["message"]["total-results"] == real + 30


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--gzip-bomb-bytes", "0"], "gzip_bomb_bytes is 0"),
        (["--corrupt-gzip-rate", "0.7", "--gzip-bomb-rate", "0.7"], "add up"),
        (["--filler", "-1"], "filler is -1"),
    ],
)
def test_the_command_refuses_bad_new_settings(
    capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    from crossref_async.testing._server import main_fake_server

    assert main_fake_server(args) == 2
    assert message in capsys.readouterr().err
