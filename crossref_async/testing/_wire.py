"""Putting answers on the wire, the faulty ways included, over ASGI.

A plain ASGI app cannot cut a connection; these helpers can when the app runs under the
simulator's own uvicorn protocol (see ``_server``), which records each connection's transport
in :data:`CONNECTIONS`. In process (``httpx.ASGITransport``) there is no connection, so a cut
is simulated by raising the exception httpx itself raises for one: ASGITransport passes app
exceptions through to the caller, so the client sees the same error type either way.

Compression is on the wire too: :func:`compress` gzips an answer for a request that accepts
gzip, as Crossref does; :func:`corrupt_gzip` and :func:`gzip_bomb` are the faults that a
decoder must survive.
"""

from __future__ import annotations

import asyncio
import functools
import gzip
import socket
import struct
import zlib
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass, field
from typing import Any

import anyio
import httpx

Message = MutableMapping[str, Any]
Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

_SLOW_CHUNKS = 8
# Fast compression: the level changes the bytes on the wire, not what a client decodes, and
# 1000-row pages of several megabytes must not make the simulator the bottleneck.
_GZIP_LEVEL = 1
_BOMB_CHUNK = 1 << 20
_GZIPPED = (b"content-encoding", b"gzip")
_VARY = (b"vary", b"Accept-Encoding")


@dataclass
class Answer:
    """A response to send: status, body, content type, extra headers, and how many list
    items the body holds (for per-row latency and the stats)."""

    status: int
    body: bytes
    content_type: bytes
    headers: list[tuple[bytes, bytes]] = field(default_factory=list)
    rows: int = 0

    def head(self) -> Message:
        """The ``http.response.start`` message."""
        return {
            "type": "http.response.start",
            "status": self.status,
            "headers": [
                (b"content-type", self.content_type),
                (b"content-length", str(len(self.body)).encode()),
                (b"access-control-allow-origin", b"*"),
                *self.headers,
            ],
        }


class Connections:
    """Transports of the live socket connections, by (server address, client address)."""

    def __init__(self) -> None:
        self._live: dict[tuple[tuple[Any, ...], tuple[Any, ...]], asyncio.Transport] = {}

    def add(self, server: Any, client: Any, transport: asyncio.Transport) -> None:
        """Record a new connection."""
        if server is not None and client is not None:
            self._live[(tuple(server), tuple(client))] = transport

    def discard(self, server: Any, client: Any) -> None:
        """Forget a closed connection."""
        if server is not None and client is not None:
            self._live.pop((tuple(server), tuple(client)), None)

    def find(self, scope: Scope) -> asyncio.Transport | None:
        """The transport carrying this request, or None in process."""
        server, client = scope.get("server"), scope.get("client")
        if server is None or client is None:
            return None
        return self._live.get((tuple(server), tuple(client)))


CONNECTIONS = Connections()


async def deliver(send: Send, answer: Answer) -> None:
    """Send ``answer`` whole."""
    await send(answer.head())
    await send({"type": "http.response.body", "body": answer.body, "more_body": False})


async def deliver_slowly(send: Send, answer: Answer, seconds: float) -> None:
    """Send ``answer`` in eight chunks spread over ``seconds``."""
    await send(answer.head())
    body = answer.body
    step = max(1, -(-len(body) // _SLOW_CHUNKS))
    chunks = [body[k : k + step] for k in range(0, len(body), step)] or [b""]
    for number, chunk in enumerate(chunks):
        last = number == len(chunks) - 1
        await send({"type": "http.response.body", "body": chunk, "more_body": not last})
        if not last:
            await anyio.sleep(seconds / len(chunks))


async def reset(scope: Scope, receive: Receive) -> None:
    """Cut the connection without a response: a TCP reset on a socket; in process, raise
    ``httpx.ReadError`` as httpx does when the peer resets."""
    transport = CONNECTIONS.find(scope)
    if transport is None:
        raise httpx.ReadError("[Errno 104] Connection reset by peer (simulated)")
    sock = transport.get_extra_info("socket")
    if sock is not None:
        # Linger 0: close with RST rather than FIN, like a proxy dropping the connection.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    transport.abort()
    await _until_disconnected(receive)


async def truncate(scope: Scope, receive: Receive, send: Send, answer: Answer) -> None:
    """Send the head (full ``Content-Length``) and half the body, then close: the client's
    HTTP layer raises ``httpx.RemoteProtocolError``. In process, raise that error."""
    cut = len(answer.body) // 2
    transport = CONNECTIONS.find(scope)
    if transport is None:
        raise httpx.RemoteProtocolError(
            "peer closed connection without sending complete message body "
            f"(received {cut} bytes, expected {len(answer.body)})"
        )
    await send(answer.head())
    await send({"type": "http.response.body", "body": answer.body[:cut], "more_body": True})
    transport.close()
    await _until_disconnected(receive)


def accepts_gzip(header: str | None) -> bool:
    """Whether an ``Accept-Encoding`` header accepts gzip (``gzip`` or ``*`` with a quality
    above 0; an explicit ``gzip;q=0`` wins over ``*``).

    >>> accepts_gzip("gzip, deflate"), accepts_gzip("br;q=1, *;q=0.1"), accepts_gzip(None)
    (True, True, False)
    >>> accepts_gzip("identity"), accepts_gzip("*, gzip;q=0"), accepts_gzip("GZIP;q=0.5")
    (False, False, True)
    """
    qualities: dict[str, float] = {}
    for element in (header or "").split(","):
        coding, *parameters = (part.strip() for part in element.split(";"))
        quality = 1.0
        for parameter in parameters:
            name, _, value = parameter.partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if coding:
            qualities[coding.lower()] = quality
    return qualities.get("gzip", qualities.get("x-gzip", qualities.get("*", 0.0))) > 0


def compress(answer: Answer) -> Answer:
    """``answer`` gzipped, with ``content-encoding: gzip`` and ``vary: Accept-Encoding``.

    >>> answer = compress(Answer(200, b'{"status":"ok"}', b"application/json"))
    >>> gzip.decompress(answer.body), answer.headers
    (b'{"status":"ok"}', [(b'content-encoding', b'gzip'), (b'vary', b'Accept-Encoding')])
    """
    body = gzip.compress(answer.body, compresslevel=_GZIP_LEVEL, mtime=0)
    return Answer(answer.status, body, answer.content_type, _encoded(answer), answer.rows)


def corrupt_gzip(answer: Answer) -> Answer:
    """``answer`` gzipped, then damaged: a run of bytes in the middle of the compressed data
    and the CRC are inverted, so a decoder fails (early, or at the latest at the CRC check).

    >>> broken = corrupt_gzip(Answer(200, b'{"items":[]}' * 50, b"application/json"))
    >>> gzip.decompress(broken.body)
    Traceback (most recent call last):
    ...
    gzip.BadGzipFile: CRC check failed
    >>> (b"content-encoding", b"gzip") in broken.headers
    True
    """
    body = bytearray(gzip.compress(answer.body, compresslevel=_GZIP_LEVEL, mtime=0))
    # 10 header bytes, then deflate data, then CRC32 and size (4 bytes each).
    middle = 10 + (len(body) - 18) // 2
    for k in range(middle, min(middle + 4, len(body) - 8)):
        body[k] ^= 0xFF
    for k in range(len(body) - 8, len(body) - 4):
        body[k] ^= 0xFF
    return Answer(answer.status, bytes(body), answer.content_type, _encoded(answer), answer.rows)


def gzip_bomb(answer: Answer, size: int) -> Answer:
    """A gzip body of ``answer``'s status and headers that expands to ``size`` spaces, about a
    thousand times its own length.

    >>> bomb = gzip_bomb(Answer(200, b"{}", b"application/json"), 4 << 20)
    >>> len(bomb.body) < 8192, len(gzip.decompress(bomb.body))
    (True, 4194304)
    """
    return Answer(answer.status, _bomb(size), answer.content_type, _encoded(answer), answer.rows)


def _encoded(answer: Answer) -> list[tuple[bytes, bytes]]:
    """``answer``'s headers for a gzipped body (any ``vary`` merged into one header)."""
    vary = [value for name, value in answer.headers if name == b"vary"]
    others = [(name, value) for name, value in answer.headers if name != b"vary"]
    merged = b", ".join([*vary, _VARY[1]])
    return [_GZIPPED, *others, (b"vary", merged)]


@functools.lru_cache(maxsize=4)
def _bomb(size: int) -> bytes:
    """``size`` spaces, gzipped as tightly as deflate allows; built once per size."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    chunk = b" " * min(size, _BOMB_CHUNK)
    parts = []
    left = size
    while left > 0:
        parts.append(packer.compress(chunk[: min(left, len(chunk))]))
        left -= len(chunk)
    parts.append(packer.flush())
    return b"".join(parts)


def malformed(answer: Answer) -> Answer:
    """The same answer with a body that is no longer valid JSON (cut at two thirds),
    framed correctly: only the JSON decoder notices."""
    cut = max(1, len(answer.body) * 2 // 3)
    return Answer(
        answer.status, answer.body[:cut], answer.content_type, answer.headers, answer.rows
    )


async def _until_disconnected(receive: Receive) -> None:
    """Wait until the server noticed the closed connection, so the app does not finish
    first and make uvicorn report an unfinished response."""
    with anyio.move_on_after(5):
        while (await receive())["type"] != "http.disconnect":
            pass
