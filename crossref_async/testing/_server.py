"""Serving the simulator on a real loopback socket with uvicorn (the ``server`` extra).

:func:`serve` runs uvicorn in the current event loop, :func:`serve_in_thread` in a thread of
its own (for synchronous code, such as other Crossref clients in a benchmark), and
:func:`main_fake_server` is ``crossref-async fake-server``. All of them bind the socket
first (port 0 picks a free port), so the URL is known before the first request, and they
serve through a uvicorn protocol that registers each connection, which lets faults cut
connections for real (see ``_wire``).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import functools
import socket
import sys
import threading
import time
from collections.abc import AsyncIterator, Iterator, Sequence
from typing import TYPE_CHECKING, Any

from ._app import FakeCrossref
from ._faults import Faults
from ._limits import PRESETS
from ._wire import CONNECTIONS

if TYPE_CHECKING:
    import uvicorn

_START_TIMEOUT = 10.0
#: The corpus size of ``fake-server`` and of ``crossref-async ... --fake`` alike: large enough
#: that a harvest runs several shards at once (the README's figures are for this size).
DEFAULT_WORKS = 20_000


def _uvicorn() -> Any:
    try:
        import uvicorn
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise RuntimeError(
            "serving the simulator on a socket needs uvicorn: pip install 'crossref-async[server]'"
        ) from exc
    return uvicorn


@functools.cache
def _tracked_protocol() -> type[asyncio.Protocol]:
    """uvicorn's h11 protocol, registering each connection's transport in CONNECTIONS."""
    from uvicorn.protocols.http.h11_impl import H11Protocol

    class TrackedH11Protocol(H11Protocol):
        """H11Protocol that records its transport while the connection lives."""

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            CONNECTIONS.add(self.server, self.client, transport)

        def connection_lost(self, exc: Exception | None) -> None:
            CONNECTIONS.discard(self.server, self.client)
            super().connection_lost(exc)

    return TrackedH11Protocol


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP explicitly: asyncio only turns Nagle off (TCP_NODELAY) on sockets whose
    # proto says TCP, and with Nagle on, every response waits 40 ms for a delayed ACK.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    sock.set_inheritable(True)
    return sock


def _server(sim: FakeCrossref, log_level: str) -> uvicorn.Server:
    uv = _uvicorn()
    config = uv.Config(
        sim.app,
        interface="asgi3",  # a bound method: uvicorn's guess would be ASGI 2
        http=_tracked_protocol(),
        ws="none",
        proxy_headers=False,
        lifespan="on",
        log_level=log_level,
        access_log=False,
        timeout_graceful_shutdown=5,
    )
    server: uvicorn.Server = uv.Server(config)
    return server


async def _run(server: uvicorn.Server, sock: socket.socket) -> None:
    """``server.serve``, with uvicorn's start-up failure (a SystemExit) made an error."""
    try:
        await server.serve(sockets=[sock])
    except SystemExit as exc:
        raise RuntimeError(f"the simulator's server failed to start (exit {exc.code})") from None


def _url(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


@contextlib.asynccontextmanager
async def serve(
    sim: FakeCrossref, host: str = "127.0.0.1", port: int = 0, *, log_level: str = "warning"
) -> AsyncIterator[str]:
    """Serve ``sim`` on a socket in the running event loop; yields the base URL.

    The server stops (and is waited for) when the block ends.

    >>> import asyncio, httpx
    >>> async def main():
    ...     sim = FakeCrossref(works=20)
    ...     async with serve(sim) as url, httpx.AsyncClient(base_url=url) as http:
    ...         return (await http.get("/works/10.5555/12345678")).json()["message"]["DOI"]
    >>> asyncio.run(main())
    '10.5555/12345678'
    """
    sock = _bind(host, port)
    server = _server(sim, log_level)
    task = asyncio.create_task(_run(server, sock))
    try:
        deadline = time.monotonic() + _START_TIMEOUT
        while not server.started:
            if task.done():
                task.result()  # raises the start-up error
                raise RuntimeError("the simulator's server stopped while starting")
            if time.monotonic() > deadline:
                raise RuntimeError("the simulator's server did not start")
            await asyncio.sleep(0.005)
        yield _url(sock)
    finally:
        server.should_exit = True
        await task
        sock.close()


@contextlib.contextmanager
def serve_in_thread(
    sim: FakeCrossref, host: str = "127.0.0.1", port: int = 0, *, log_level: str = "warning"
) -> Iterator[str]:
    """Serve ``sim`` on a socket from a background thread with its own event loop; yields the
    base URL. For synchronous code; the server stops and the thread is joined on exit.

    >>> import httpx
    >>> with serve_in_thread(FakeCrossref(works=20)) as url:
    ...     httpx.get(f"{url}/types/book").json()["message"]
    {'id': 'book', 'label': 'Book'}
    """
    sock = _bind(host, port)
    server = _server(sim, log_level)
    failure: list[BaseException] = []

    def run() -> None:
        try:
            asyncio.run(_run(server, sock))
        except BaseException as exc:
            failure.append(exc)

    thread = threading.Thread(target=run, name="fake-crossref", daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + _START_TIMEOUT
        while not server.started:
            if failure or not thread.is_alive():
                raise RuntimeError("the simulator's server failed to start") from (
                    failure[0] if failure else None
                )
            if time.monotonic() > deadline:
                raise RuntimeError("the simulator's server did not start")
            time.sleep(0.005)
        yield _url(sock)
    finally:
        server.should_exit = True
        thread.join(_START_TIMEOUT)
        sock.close()


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="crossref-async fake-server",
        description="Serve the offline Crossref simulator on a socket until interrupted.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (127.0.0.1)")
    parser.add_argument("--port", type=int, default=8000, help="port (8000; 0 picks one)")
    parser.add_argument(
        "--works",
        type=_positive,
        default=DEFAULT_WORKS,
        help=f"number of works ({DEFAULT_WORKS}, as crossref-async --fake-works)",
    )
    parser.add_argument("--seed", type=int, default=0, help="corpus seed (0)")
    parser.add_argument(
        "--preset", choices=sorted(PRESETS), default="polite-2026", help="limits (polite-2026)"
    )
    parser.add_argument(
        "--retry-after",
        default=None,
        help="seconds sent in Retry-After with 429s, or 'none' to send none (none, as Crossref)",
    )
    parser.add_argument(
        "--headers-on-429",
        action="store_true",
        help="send the limit headers with 429s too (Crossref's 429s carry none)",
    )
    parser.add_argument(
        "--no-gzip", action="store_true", help="never gzip bodies, even when the client asks"
    )
    parser.add_argument(
        "--filler",
        type=int,
        default=0,
        help="synthetic rows listed by /members, /journals and /funders after the real ones (0)",
    )
    parser.add_argument("--legacy-headers", action="store_true", help="x-ratelimit-* spelling")
    parser.add_argument("--cursor-ttl", type=float, default=300.0, help="cursor idle TTL (300)")
    faults = parser.add_argument_group("faults")
    for name in ("latency", "jitter", "per-row", "slow-body-seconds"):
        faults.add_argument(f"--{name}", type=float, help="seconds")
    for name in (
        "error-rate",
        "spurious-429-rate",
        "reset-rate",
        "truncate-rate",
        "malformed-rate",
        "slow-body-rate",
        "short-page-rate",
        "corrupt-gzip-rate",
        "gzip-bomb-rate",
    ):
        faults.add_argument(f"--{name}", type=float, help="share of requests, 0 to 1")
    faults.add_argument(
        "--short-page-shortfall", type=int, help="items missing from a short page (1)"
    )
    faults.add_argument(
        "--gzip-bomb-bytes", type=int, help="bytes a gzip bomb expands to (512 MiB)"
    )
    faults.add_argument("--error-status", type=int, help="status of injected errors (503)")
    faults.add_argument("--block", action="store_true", help="answer every request 403")
    faults.add_argument("--only-lists", action="store_true", help="faults on list requests only")
    faults.add_argument("--fault-seed", type=int, help="seed of the fault draws (0)")
    faults.add_argument(
        "--outage",
        action="append",
        type=_window,
        dest="outages",
        metavar="START:LENGTH",
        help="fail every request from START to START+LENGTH seconds after the first (repeatable)",
    )
    faults.add_argument(
        "--outage-answer",
        choices=("503", "maintenance"),
        help="how outages answer: 503, or 200 with an HTML maintenance page (503)",
    )
    parser.add_argument("--log-level", default="info", help="uvicorn log level (info)")
    return parser


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: must be a whole number, 1 or more")
    return value


def _window(text: str) -> tuple[float, float]:
    start, _, length = text.partition(":")
    try:
        return float(start), float(length)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r}: an outage is START:LENGTH in seconds"
        ) from None


def _faults(options: argparse.Namespace) -> Faults:
    values: dict[str, Any] = {}
    for field in dataclasses.fields(Faults):
        option = "fault_seed" if field.name == "seed" else field.name
        value = getattr(options, option, None)
        # ``is``: a 0 given on the command line is a value to check, not an absent option.
        if value is not None and value is not False:
            values[field.name] = tuple(value) if isinstance(value, list) else value
    return Faults(**values)


def main_fake_server(argv: Sequence[str] | None = None) -> int:
    """``crossref-async fake-server``: serve the simulator until Ctrl-C. Returns the exit
    status."""
    options = _parser().parse_args(argv)
    limits = PRESETS[options.preset]
    if options.retry_after is not None:
        retry = None if options.retry_after.lower() == "none" else float(options.retry_after)
        limits = dataclasses.replace(limits, retry_after=retry)
    if options.headers_on_429:
        limits = dataclasses.replace(limits, headers_on_429=True)
    try:
        faults = _faults(options)
        sim = FakeCrossref(
            works=options.works,
            seed=options.seed,
            limits=limits,
            faults=faults,
            cursor_ttl=options.cursor_ttl,
            legacy_headers=options.legacy_headers,
            filler=options.filler,
            gzip=not options.no_gzip,
        )
    except ValueError as exc:
        print(f"fake-server: {exc}", file=sys.stderr)
        return 2
    sock = _bind(options.host, options.port)
    try:
        server = _server(sim, options.log_level)
        print(
            f"fake Crossref: {options.works} works (seed {options.seed}), limits"
            f" {options.preset}, at {_url(sock)} (Ctrl-C stops)",
            file=sys.stderr,
        )
        server.run(sockets=[sock])
    except KeyboardInterrupt:
        pass  # uvicorn shut down gracefully, then re-raised the Ctrl-C it caught
    finally:
        sock.close()
    return 0
