"""Tiny HTTP servers on 127.0.0.1 for tests of what only a real socket shows: stalls,
trickles, gzip bombs, garbage on the wire. Each is started and stopped by the test itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field

Handler = Callable[["Connection", "Server"], Awaitable[None]]


@dataclass
class Connection:
    """One accepted connection: the request head as read, and the streams."""

    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    head: bytes = b""

    async def read_head(self) -> bytes:
        """Read the request line and headers (requests here carry no body)."""
        self.head = await self.reader.readuntil(b"\r\n\r\n")
        return self.head

    async def until_closed(self) -> None:
        """Wait until the client closes the connection (reads return nothing)."""
        with contextlib.suppress(ConnectionError):
            while await self.reader.read(65536):
                pass

    async def send(self, data: bytes) -> None:
        if self.writer.is_closing():
            raise ConnectionResetError("the connection is closed")
        self.writer.write(data)
        await self.writer.drain()


@dataclass
class Server:
    """A running server: its base URL and what it saw."""

    url: str
    port: int
    heads: list[bytes] = field(default_factory=list)
    sent: list[int] = field(default_factory=list)  # body bytes put on the wire, per request
    finished: asyncio.Event = field(default_factory=asyncio.Event)  # a handler has ended


@contextlib.asynccontextmanager
async def serve(handler: Handler) -> AsyncIterator[Server]:
    """Serve ``handler`` for every connection on a free loopback port."""
    tasks: set[asyncio.Task[None]] = set()
    writers: list[asyncio.StreamWriter] = []
    server_box: list[Server] = []

    async def on_connect(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        tasks.add(task)
        writers.append(writer)
        connection = Connection(reader, writer)
        try:
            with contextlib.suppress(ConnectionError, asyncio.IncompleteReadError):
                await connection.read_head()
                server_box[0].heads.append(connection.head)
                await handler(connection, server_box[0])
        finally:
            server_box[0].finished.set()
            writer.close()
            tasks.discard(task)

    listener = await asyncio.start_server(on_connect, "127.0.0.1", 0)
    port = listener.sockets[0].getsockname()[1]
    server_box.append(Server(f"http://127.0.0.1:{port}", port))
    try:
        yield server_box[0]
    finally:
        listener.close()
        for writer in writers:
            writer.close()
        # Closed connections end their handlers (reads see the end, writes fail); a
        # cancelled handler task would make asyncio's stream callback log an error.
        if tasks:
            await asyncio.wait(list(tasks), timeout=10)
        await listener.wait_closed()


def refused_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# -- handlers ---------------------------------------------------------------------------------

WORK = b'{"status":"ok","message-type":"work","message":{"DOI":"10.5555/1"}}'


def head(status: str = "200 OK", **headers: str) -> bytes:
    lines = [f"HTTP/1.1 {status}"] + [f"{k.replace('_', '-')}: {v}" for k, v in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


async def silent(conn: Connection, server: Server) -> None:
    """Accepts the request and never answers."""
    await conn.until_closed()


def answering(status: str, body: bytes, **headers: str) -> Handler:
    """Answers every request with ``body``."""

    async def handler(conn: Connection, server: Server) -> None:
        await conn.send(head(status, content_length=str(len(body)), **headers) + body)
        await conn.until_closed()

    return handler


def stalling(prefix: bytes, length: int) -> Handler:
    """Sends the head (``Content-Length: length``) and ``prefix``, then nothing."""

    async def handler(conn: Connection, server: Server) -> None:
        await conn.send(head(content_type="application/json", content_length=str(length)))
        await conn.send(prefix)
        await conn.until_closed()

    return handler


def trickling(interval: float = 0.01) -> Handler:
    """Sends a (huge) body one byte at a time, ``interval`` apart, until the client leaves."""

    async def handler(conn: Connection, server: Server) -> None:
        await conn.send(head(content_type="application/json", content_length=str(10**6)))
        server.sent.append(0)
        with contextlib.suppress(ConnectionError):
            while True:
                await conn.send(b" ")
                server.sent[-1] += 1
                await asyncio.sleep(interval)

    return handler


BOMB_PREFIX = b'{"status":"ok","message-type":"work","message":{"title":["'


def gzip_bomb(prefix: bytes = BOMB_PREFIX) -> Handler:
    """Valid JSON's opening, gzipped, then megabytes of ``a`` for ever (chunked): a few
    kilobytes on the wire expand to as much as the client will take."""

    async def handler(conn: Connection, server: Server) -> None:
        await conn.send(
            head(
                content_type="application/json",
                content_encoding="gzip",
                transfer_encoding="chunked",
            )
        )
        packer = zlib.compressobj(9, zlib.DEFLATED, 31)
        block = b"a" * 2**20
        server.sent.append(0)
        data = packer.compress(prefix)
        with contextlib.suppress(ConnectionError):
            while True:
                data += packer.compress(block) + packer.flush(zlib.Z_SYNC_FLUSH)
                await conn.send(b"%x\r\n%s\r\n" % (len(data), data))
                server.sent[-1] += len(data)
                data = b""
                await asyncio.sleep(0)

    return handler
