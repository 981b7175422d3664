"""The simulator: an ASGI application serving the Crossref REST API from a synthetic corpus.

Every API request goes through the same steps: count it; answer 403 if blocked; pick its
pool (``single`` or ``list``) and draw its fault plan; answer 429 if the plan says so or the
pool refuses it; sleep the latency; answer a 5xx if the plan says so; compute the answer
(which advances a cursor); gzip a 2xx JSON answer if the request accepts gzip (as recorded:
Crossref gzips its JSON, with ``vary: Accept-Encoding``, and sends formatted citations and
errors as they are); sleep what is left of the per-row latency; deliver it, whole or faulty.
``GET /_stats`` and ``POST /_reset`` are outside all of this: not counted, never limited or
faulty. An alias DOI's 301 is an answer like any other: the hop that follows it is a second
request, counted and limited in the ``single`` pool.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, quote

import anyio
import httpx
import msgspec

from . import _bodies as bodies
from . import _routes as routes
from . import _wire as wire
from ._answers import Responder
from ._corpus import Corpus
from ._cursors import CursorStore
from ._faults import Dice, Fault, Faults, Plan
from ._limits import LIST, Limiter, Limits, Pool, resolve
from ._stats import RequestRecord, Stats

_encode = msgspec.json.Encoder().encode


class FakeCrossref:
    """A faithful offline Crossref: an ASGI app over a deterministic corpus of ``works``
    synthetic works drawn from ``seed``, with Crossref's limits and injectable faults.

    ``limits``: a :class:`Limits`, a preset name from :data:`PRESETS` (``"polite-2026"``,
    ``"public"``, ``"fast-50"``, ``"unmetered"``, ``"unlimited"``) or None for no limits;
    ``"unmetered"`` advertises limits far above any client's reach, so every header-reading
    path of a client runs but nothing ever waits (the client-overhead benchmark). ``cursor_ttl``:
    seconds a cursor survives unused. ``legacy_headers``: advertise limits with the old
    ``x-ratelimit-*`` spelling. ``clock``: the time source of rate windows, cursor expiry and
    timed limit changes (inject a fake one to test expiry without waiting); latency is always
    real sleeping. ``cache_records``: how many encoded records to keep (about 6 kB each);
    :meth:`Corpus.warm` fills the cache ahead of a benchmark. ``filler``: synthetic rows that
    ``/members``, ``/journals`` and ``/funders`` list after their real ones (``Filler Journal
    7``...), so a test can page one of them past offset 10,000 without a big corpus.
    ``gzip``: gzip 2xx JSON bodies for requests that accept it, as Crossref does (on by
    default; httpx asks for gzip unless told otherwise).

    >>> import asyncio, httpx
    >>> sim = FakeCrossref(works=50, seed=1, limits="polite-2026")
    >>> async def main():
    ...     async with httpx.AsyncClient(transport=sim.transport(), base_url="http://sim") as http:
    ...         r = await http.get("/works", params={"rows": 2, "filter": "type:journal-article"})
    ...         return r.status_code, r.headers["x-api-pool"], len(r.json()["message"]["items"])
    >>> asyncio.run(main())
    (200, 'polite-array', 2)
    >>> sim.stats.requests["list"]
    1
    """

    def __init__(
        self,
        *,
        works: int = 1000,
        seed: int = 0,
        limits: Limits | str | None = None,
        faults: Faults | None = None,
        cursor_ttl: float = 300.0,
        legacy_headers: bool = False,
        clock: Callable[[], float] = time.monotonic,
        cache_records: int = 20_000,
        filler: int = 0,
        gzip: bool = True,
    ) -> None:
        if filler < 0:
            raise ValueError(f"filler is {filler}; it counts rows, 0 or more")
        self.corpus = Corpus(works=works, seed=seed, cache_records=cache_records)
        self.limits = resolve(limits, legacy_headers=legacy_headers)
        self.faults = faults or Faults()
        self.stats = Stats()
        self._clock = clock
        self._limiter = Limiter(self.limits, clock)
        self._dice = Dice(self.faults)
        self._cursors = CursorStore(ttl=cursor_ttl, clock=clock, seed=seed, stats=self.stats)
        self._responder = Responder(self.corpus, self._cursors, self.stats, seed, filler=filler)
        self._gzip = gzip
        self._first_request: float | None = None

    # -- using it ------------------------------------------------------------------------

    def transport(self) -> httpx.ASGITransport:
        """An httpx transport that calls the app in process (no sockets). Timeouts do not
        apply in process; connection faults surface as the exceptions httpx raises for them
        (a transport built with ``raise_app_exceptions=False`` would turn them into 500s).

        >>> from crossref_async import Crossref
        >>> sim = FakeCrossref(works=50)
        >>> async with Crossref(mailto="me@example.org", transport=sim.transport()) as client:
        ...     work = await client.work("10.5555/12345678")
        >>> work.DOI, dict(sim.stats.requests)
        ('10.5555/12345678', {'single': 1})
        """
        return httpx.ASGITransport(app=self.app)

    def client(self, **kwargs: Any) -> httpx.AsyncClient:
        """An ``httpx.AsyncClient`` on :meth:`transport` (base URL ``http://crossref.test``
        unless given). Close it (``async with``) when done.

        >>> sim = FakeCrossref(works=50, limits="polite-2026")
        >>> async with sim.client() as http:
        ...     response = await http.get("/works", params={"rows": 3})
        >>> response.url, response.headers["x-api-pool"], len(response.json()["message"]["items"])
        (URL('http://crossref.test/works?rows=3'), 'polite-array', 3)
        """
        kwargs.setdefault("base_url", "http://crossref.test")
        return httpx.AsyncClient(transport=self.transport(), **kwargs)

    def set_faults(self, faults: Faults) -> None:
        """Switch to other fault settings from the next request on (draws restart from
        ``faults.seed``): a test can let a cursor start cleanly, then break one transfer.

        >>> sim = FakeCrossref(works=50)
        >>> async with sim.client() as http:
        ...     first = await http.get("/works", params={"cursor": "*", "rows": 10})
        ...     sim.set_faults(Faults(error_rate=1.0))
        ...     cursor = first.json()["message"]["next-cursor"]
        ...     second = await http.get("/works", params={"cursor": cursor, "rows": 10})
        >>> first.status_code, second.status_code, sim.stats.server_errors
        (200, 503, 1)
        """
        self.faults = faults
        self._dice = Dice(faults)

    def pool(self, kind: str) -> Pool | None:
        """The pool requests of ``kind`` (``"single"`` or ``"list"``) fall in right now.

        >>> sim = FakeCrossref(works=50, limits="polite-2026")
        >>> sim.pool("list")
        Pool(rate=3, interval=1.0, concurrency=3, name='polite-array')
        >>> FakeCrossref(works=50).pool("single") is None  # no limits
        True
        """
        return self._limiter.pool(kind)

    @property
    def live_cursors(self) -> int:
        """How many cursors are alive (not yet expired).

        >>> sim = FakeCrossref(works=50)
        >>> async with sim.client() as http:
        ...     _ = await http.get("/works", params={"cursor": "*", "rows": 10})
        >>> sim.live_cursors
        1
        """
        self._cursors.sweep()
        return len(self._cursors)

    # -- ASGI ----------------------------------------------------------------------------

    async def app(self, scope: wire.Scope, receive: wire.Receive, send: wire.Send) -> None:
        """The ASGI 3 application (``http`` and ``lifespan`` scopes), for any ASGI server or
        transport; here one that turns an injected connection reset into a 500:

        >>> import httpx
        >>> sim = FakeCrossref(works=50, faults=Faults(reset_rate=1.0))
        >>> transport = httpx.ASGITransport(app=sim.app, raise_app_exceptions=False)
        >>> async with httpx.AsyncClient(transport=transport, base_url="http://sim") as http:
        ...     response = await http.get("/works")
        >>> response.status_code, sim.stats.resets
        (500, 1)
        """
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        # raw_path keeps the percent-encoding, so a DOI's %2F and %25 are decoded exactly once.
        raw_path: bytes = scope.get("raw_path") or quote(scope["path"]).encode()
        query: bytes = scope.get("query_string", b"")
        if raw_path in (b"/_stats", b"/_reset"):
            await wire.deliver(send, self._control(scope["method"], raw_path))
            return
        await self._api(scope, receive, send, raw_path, query)

    async def _api(
        self,
        scope: wire.Scope,
        receive: wire.Receive,
        send: wire.Send,
        raw_path: bytes,
        query: bytes,
    ) -> None:
        method: str = scope["method"]
        route = routes.resolve(raw_path)
        kind = route.kind(method)
        self._limiter.receive()
        pool = self._limiter.pool(kind)
        pool_name = pool.name if pool is not None else "-"
        started, wall = self._clock(), time.perf_counter()
        self.stats.arrive(kind, pool_name)
        outcome = _Outcome()
        try:
            plan = self._dice.roll(is_list=kind == LIST)
            limit_headers = self._limiter.headers(pool)
            if self._first_request is None:
                self._first_request = started
            if self.faults.down_at(started - self._first_request):
                self.stats.count("outage")
                outcome.fault = "outage"
                await outcome.deliver(send, self._outage_answer())
                return
            if self.faults.block:
                self.stats.count("blocked")
                await outcome.deliver(send, _blocked())
                return
            if plan.fault is Fault.SPURIOUS_429:
                self.stats.count("spurious_429")
                outcome.fault = plan.fault.value
                await outcome.deliver(send, self._too_many(pool))
                return
            if pool is not None:
                refusal = self._limiter.admit(pool)
                if refusal is not None:
                    self.stats.count(f"rejected_for_{refusal}")
                    await outcome.deliver(send, self._too_many(pool))
                    return
            try:
                await self._serve(scope, receive, send, route, query, plan, limit_headers, outcome)
            finally:
                if pool is not None:
                    self._limiter.release(pool)
        finally:
            target = raw_path.decode("latin-1") + ("?" + query.decode("latin-1") if query else "")
            self.stats.depart(
                RequestRecord(
                    method, target, kind, pool_name, outcome.status, outcome.fault, started,
                    time.perf_counter() - wall,
                )
            )  # fmt: skip

    async def _serve(
        self,
        scope: wire.Scope,
        receive: wire.Receive,
        send: wire.Send,
        route: routes.Route,
        query: bytes,
        plan: Plan,
        limit_headers: list[tuple[bytes, bytes]],
        outcome: _Outcome,
    ) -> None:
        """An admitted request: latency, then the answer, delivered as the plan says."""
        if plan.delay > 0:
            await anyio.sleep(plan.delay)
        fault = plan.fault
        outcome.fault = fault.value if fault is not None else None
        if fault is Fault.ERROR:
            status = self.faults.error_status
            error = wire.Answer(status, bodies.html_error(status), bodies.HTML, limit_headers)
            await outcome.deliver(send, error)
            return
        # The per-row latency is what a page of that size takes, this server's own work on it
        # (search, encoding, compression) included: a slow simulator would otherwise make
        # every page slower than the scenario it plays.
        computing = anyio.current_time()
        params = parse_qsl(query.decode("latin-1"), keep_blank_values=True, encoding="utf-8")
        shortfall = self.faults.short_page_shortfall if fault is Fault.SHORT_PAGE else 0
        answer = self._responder.answer(
            route, params, _header(scope, b"accept"), origin=_origin(scope), shortfall=shortfall
        )
        answer.headers.extend(limit_headers)
        self.stats.count("items_served", answer.rows)
        if fault is Fault.MALFORMED:
            # Cut before compression: the framing and the gzip stream stay intact, only the
            # JSON decoder notices.
            self.stats.count("malformed")
            answer = wire.malformed(answer)
        if fault is Fault.CORRUPT_GZIP:
            self.stats.count("corrupt_gzips")
            answer = wire.corrupt_gzip(answer)
        elif fault is Fault.GZIP_BOMB:
            self.stats.count("gzip_bombs")
            answer = wire.gzip_bomb(answer, self.faults.gzip_bomb_bytes)
        elif (
            self._gzip
            and 200 <= answer.status < 300
            and answer.content_type.startswith(b"application/json")
            and wire.accepts_gzip(_header(scope, b"accept-encoding"))
        ):
            answer = wire.compress(answer)
        if answer.rows and self.faults.per_row > 0:
            spent = anyio.current_time() - computing
            await anyio.sleep(max(0.0, self.faults.per_row * answer.rows - spent))
        if fault is Fault.RESET:
            self.stats.count("resets")
            await wire.reset(scope, receive)  # no status line ever went out: status stays 0
        elif fault is Fault.TRUNCATE:
            self.stats.count("truncations")
            outcome.status = answer.status
            await wire.truncate(scope, receive, send, answer)
        elif fault is Fault.SLOW_BODY:
            self.stats.count("slow_bodies")
            outcome.status = answer.status
            await wire.deliver_slowly(send, answer, self.faults.slow_body_seconds)
        else:
            await outcome.deliver(send, answer)

    def _outage_answer(self) -> wire.Answer:
        if self.faults.outage_answer == "maintenance":
            return wire.Answer(200, bodies.MAINTENANCE, bodies.HTML)
        return wire.Answer(503, bodies.html_error(503), bodies.HTML)

    def _too_many(self, pool: Pool | None) -> wire.Answer:
        headers = self._limiter.too_many_headers(pool)
        return wire.Answer(429, bodies.TOO_MANY_REQUESTS, bodies.HTML, headers)

    def _control(self, method: str, path: bytes) -> wire.Answer:
        if path == b"/_stats" and method in ("GET", "HEAD"):
            return wire.Answer(200, _encode(self.stats.snapshot()), bodies.JSON)
        if path == b"/_reset" and method == "POST":
            self.stats.reset()
            return wire.Answer(200, b'{"status":"ok"}', bodies.JSON)
        return wire.Answer(405, b"Method Not Allowed", b"text/plain")


@dataclass
class _Outcome:
    """How a request ended, for the stats: the status sent (0 if none) and its fault. Filled
    in as the request goes, so a request cut by an exception is recorded too."""

    status: int = 0
    fault: str | None = None

    async def deliver(self, send: wire.Send, answer: wire.Answer) -> None:
        self.status = answer.status
        await wire.deliver(send, answer)


def _header(scope: wire.Scope, wanted: bytes) -> str | None:
    """The request's header ``wanted`` (lower case; several are joined, as HTTP defines), or
    None."""
    values = [
        value.decode("latin-1")
        for name, value in scope.get("headers", ())
        if name.lower() == wanted
    ]
    return ", ".join(values) if values else None


def _origin(scope: wire.Scope) -> str:
    """``scheme://host[:port]`` as the client addressed the simulator (its ``Host`` header,
    else the server address), for redirects on the same host."""
    scheme = scope.get("scheme", "http")
    host = _header(scope, b"host")
    if host is None:
        server = scope.get("server")
        if not server:
            return ""
        name, port = server[0], server[1]
        host = f"[{name}]:{port}" if ":" in str(name) else f"{name}:{port}"
    return f"{scheme}://{host}"


def _blocked() -> wire.Answer:
    """The answer to a blocked client."""
    return wire.Answer(403, bodies.html_error(403), bodies.HTML)


async def _lifespan(receive: wire.Receive, send: wire.Send) -> None:
    """Acknowledge startup and shutdown: the simulator needs no set-up."""
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return
