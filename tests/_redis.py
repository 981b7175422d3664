"""A real ``redis-server`` on a free 127.0.0.1 port, started and stopped by the tests.

No fakeredis: the shared budget's Lua scripts must run on a real server. The binary is found
on PATH (or ``$REDIS_SERVER``); when it is missing the tests skip locally and fail under CI
(``$CI`` set), since ``.ci/run`` installs it. Each server has its own temporary directory and
no persistence, and :meth:`RedisServer.stop` / :meth:`~RedisServer.start` take it down and
bring it back on the same port mid-test (a Redis lost mid-run, and its return).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest


def redis_binary() -> str:
    """The ``redis-server`` to run, or a skip (locally) / failure (under CI) if there is none."""
    found = os.environ.get("REDIS_SERVER") or shutil.which("redis-server")
    if found:
        return found
    message = (
        "redis-server not found on PATH (apt-get install redis-server, or set REDIS_SERVER): "
        "the shared-budget tests need a real server"
    )
    if os.environ.get("CI"):
        pytest.fail(message + " (.ci/run installs it; CI must run these tests)")
    pytest.skip(message, allow_module_level=True)


def free_port() -> int:
    """A TCP port free on 127.0.0.1 now (the kernel's pick)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _ping(port: int) -> bool:
    # RESP by hand, so the readiness check needs nothing but a socket.
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as sock:
            sock.sendall(b"*1\r\n$4\r\nPING\r\n")
            return sock.recv(64).startswith((b"+PONG", b"-NOAUTH"))
    except OSError:
        return False


class RedisServer:
    """One ``redis-server`` process on ``127.0.0.1:port`` (optionally with a password)."""

    STARTUP = 10.0  # seconds a server may take to answer PING

    def __init__(
        self,
        binary: str,
        directory: Path,
        password: str | None = None,
        extra: Sequence[str] = (),
    ) -> None:
        self.binary = binary
        self.directory = directory
        self.password = password
        self.extra = list(extra)  # more server options, e.g. ["--rename-command", "INFO", ""]
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """``redis://127.0.0.1:port/0`` (with the password, if any)."""
        auth = f":{self.password}@" if self.password else ""
        return f"redis://{auth}127.0.0.1:{self.port}/0"

    def start(self) -> None:
        """Start the server (again, on the same port) and wait until it answers PING."""
        if self.process is not None and self.process.poll() is None:
            return
        command = [self.binary, "--port", str(self.port), "--bind", "127.0.0.1"]
        command += ["--save", "", "--appendonly", "no", "--dir", str(self.directory)]
        if self.password:
            command += ["--requirepass", self.password]
        command += self.extra
        log = (self.directory / "redis.log").open("ab")
        try:
            self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        finally:
            log.close()
        # A readiness poll of a process, not a test waiting for time to pass.
        deadline = time.monotonic() + self.STARTUP
        while not _ping(self.port):
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                text = (self.directory / "redis.log").read_text(errors="replace")[-2000:]
                pytest.fail(f"redis-server did not start on port {self.port}:\n{text}")
            time.sleep(0.01)

    def stop(self) -> None:
        """Stop the server (its data goes with it: there is no persistence)."""
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def restart(self) -> None:
        """Stop the server and start a fresh, empty one on the same port."""
        self.stop()
        self.start()


@contextlib.contextmanager
def redis_server(password: str | None = None, extra: Sequence[str] = ()) -> Iterator[RedisServer]:
    """A running server in its own temporary directory, stopped on the way out (also when the
    body fails)."""
    binary = redis_binary()
    with tempfile.TemporaryDirectory(prefix="crossref-redis-") as directory:
        server = RedisServer(binary, Path(directory), password, extra)
        try:
            server.start()
            yield server
        finally:
            server.stop()


@pytest.fixture
def redis_instance() -> Iterator[RedisServer]:
    """A fresh ``redis-server`` for one test (``.url``, ``.stop()``, ``.start()``)."""
    with redis_server() as server:
        yield server


@pytest.fixture
def redis_url(redis_instance: RedisServer) -> str:
    """The URL of a fresh ``redis-server`` for one test."""
    return redis_instance.url


def served_before(url: str, identity: str) -> None:
    """Mark ``url``'s server as one that has served ``identity`` for long: its cold start (one
    lease TTL without new leases, for a server that may have forgotten some) is over. Tests on
    a fresh server, where nothing can have been forgotten, skip the wait so."""
    import redis

    with redis.Redis.from_url(url) as server:
        server.set(f"crossref-async:{{{identity}}}:epoch", "0")
