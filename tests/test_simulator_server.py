"""Running the simulator on loopback sockets: serve, serve_in_thread, the command, the plugin."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import httpx
import msgspec
import pytest

from crossref_async.testing import FakeCrossref, serve, serve_in_thread

ROOT = Path(__file__).resolve().parent.parent


async def test_serve_picks_a_port_and_stops_cleanly() -> None:
    sim = FakeCrossref(works=30)
    async with serve(sim) as url:
        assert url.startswith("http://127.0.0.1:")
        async with httpx.AsyncClient(base_url=url) as http:
            assert (await http.get("/works/10.5555/12345678")).status_code == 200
    with pytest.raises(httpx.ConnectError):
        async with httpx.AsyncClient(base_url=url) as http:
            await http.get("/types")
    assert sim.stats.total_requests == 1


async def test_two_servers_side_by_side() -> None:
    async with (
        serve(FakeCrossref(works=20, seed=1)) as one,
        serve(FakeCrossref(works=20, seed=2)) as two,
    ):
        assert one != two
        async with httpx.AsyncClient() as http:
            first = (await http.get(f"{one}/works?rows=20&select=DOI")).json()
            second = (await http.get(f"{two}/works?rows=20&select=DOI")).json()
    assert first["message"]["items"] != second["message"]["items"]


def test_serve_in_thread_for_sync_code() -> None:
    sim = FakeCrossref(works=30, limits="polite-2026")
    with serve_in_thread(sim) as url, httpx.Client(base_url=url) as http:
        response = http.get("/works", params={"rows": 5})
        assert response.status_code == 200
        assert response.headers["x-api-pool"] == "polite-array"
        stats = http.get("/_stats").json()
    assert stats["requests"] == {"list": 1}
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{url}/types")


def test_the_fake_server_command() -> None:
    code = (
        "import sys; from crossref_async.testing._server import main_fake_server;"
        " sys.exit(main_fake_server(sys.argv[1:]))"
    )
    args = ["--port", "0", "--works", "40", "--seed", "3", "--preset", "public"]
    args += [
        "--error-rate",
        "0",
        "--latency",
        "0.01",
        "--retry-after",
        "none",
        "--log-level",
        "warning",
    ]
    with subprocess.Popen(
        [sys.executable, "-c", code, *args],
        cwd=ROOT,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    ) as process:
        try:
            assert process.stderr is not None
            banner = process.stderr.readline()
            assert "40 works" in banner
            url = banner.rsplit(" at ", 1)[1].split()[0]
            response = httpx.get(f"{url}/works/10.5555/12345678", timeout=10)
            assert response.status_code == 200
            assert response.headers["x-api-pool"] == "public-single"
        finally:
            process.send_signal(signal.SIGINT)
            status = process.wait(timeout=15)
    assert status == 0


def test_the_command_refuses_bad_settings(capsys: pytest.CaptureFixture[str]) -> None:
    from crossref_async.testing._server import main_fake_server

    assert main_fake_server(["--error-rate", "0.8", "--reset-rate", "0.8"]) == 2
    assert "add up" in capsys.readouterr().err


def test_the_pytest_plugin(tmp_path: Path) -> None:
    (tmp_path / "test_user.py").write_text(
        textwrap.dedent(
            """
            import asyncio

            import httpx
            import pytest

            from crossref_async.testing import FakeCrossref, Faults


            def test_in_process(fake_crossref):
                assert isinstance(fake_crossref, FakeCrossref)
                assert len(fake_crossref.corpus.works) == 1000

                async def main():
                    async with fake_crossref.client() as http:
                        return (await http.get("/works/10.5555/12345678")).status_code

                assert asyncio.run(main()) == 200


            def test_on_a_socket(fake_crossref_server, fake_crossref):
                response = httpx.get(f"{fake_crossref_server}/types")
                assert response.json()["message"]["total-results"] == 30
                assert fake_crossref.stats.requests["list"] == 1


            @pytest.mark.fake_crossref(works=25, limits="polite-2026", faults=Faults(block=True))
            def test_configured(fake_crossref_server, fake_crossref):
                assert len(fake_crossref.corpus.works) == 25
                assert httpx.get(f"{fake_crossref_server}/works").status_code == 403
            """
        )
    )
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "crossref_async.testing.pytest_plugin",
            "-p",
            "no:cacheprovider",
            "-W",
            "error",
            "--strict-markers",
            "-o",
            "asyncio_default_fixture_loop_scope=function",
            str(tmp_path),
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "3 passed" in result.stdout


class _Items(msgspec.Struct):
    items: list[msgspec.Raw]
    next_cursor: str | None = msgspec.field(default=None, name="next-cursor")


class _Envelope(msgspec.Struct):
    message: _Items


@pytest.mark.slow
async def test_full_pages_by_cursor_on_loopback() -> None:
    """Full 1,000-row pages through a plain httpx cursor loop, to the end. (How fast the
    server answers is for ``benchmarks/overhead.py``, which shows its CPU per request: no
    timed assertions in tests.)"""
    sim = FakeCrossref(works=10_000, seed=0)
    sim.corpus.warm()
    decode = msgspec.json.Decoder(_Envelope).decode
    async with serve(sim) as url, httpx.AsyncClient(base_url=url, timeout=60) as http:
        first = decode((await http.get("/works", params={"cursor": "*", "rows": 1000})).content)
        token = first.message.next_cursor
        records = 0
        while True:
            response = await http.get("/works", params={"cursor": token, "rows": 1000})
            count = len(decode(response.content).message.items)
            records += count
            if count < 1000:
                break
    assert records == 9_000
