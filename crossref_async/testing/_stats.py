"""What the simulator saw: counters that tests and benchmarks assert on.

Kinds are ``"single"`` (one record: singletons, ``HEAD``, agency, formatted citations, the
doi.org hop) and ``"list"`` (anything returning a list). Pools are the limit pools by name
(``polite-single``...), ``"-"`` when the request kind had no limit.
"""

from __future__ import annotations

import threading
from collections import Counter, deque
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class RequestRecord:
    """One API request as the server finished it.

    >>> from crossref_async.testing import FakeCrossref
    >>> sim = FakeCrossref(works=50, limits="polite-2026")
    >>> async with sim.client() as http:
    ...     _ = await http.get("/works/10.5555/12345678")
    >>> record = sim.stats.log[-1]
    >>> record.method, record.target, record.kind, record.pool, record.status, record.fault
    ('GET', '/works/10.5555/12345678', 'single', 'polite-single', 200, None)
    """

    method: str
    target: str  # path and query string, as received
    kind: str
    pool: str
    status: int  # 0 when the connection was cut before a status line (reset)
    fault: str | None
    started: float  # the simulator clock
    duration: float  # seconds, wall time


class Stats:
    """Counters of API traffic (``/_stats`` and ``/_reset`` are not counted).

    Attributes (all reset by :meth:`reset`):

    * ``requests`` / ``requests_by_pool``: requests received, by kind / by pool name.
    * ``responses``: responses by HTTP status (a reset counts under 0).
    * ``rate_limited`` / ``rate_limited_by_pool``: 429 answers (real and spurious) by kind /
      pool; ``spurious_429`` the injected ones; ``rejected_for_rate`` and
      ``rejected_for_concurrency`` why real ones were sent.
    * ``server_errors`` (5xx sent), ``resets``, ``truncations``, ``malformed``,
      ``slow_bodies``, ``blocked`` (403s), ``short_pages`` (list pages served short while
      more remained), ``corrupt_gzips``, ``gzip_bombs``: faults as they happened.
    * ``alias_redirects``: 301s sent for alias DOIs.
    * ``in_flight`` / ``max_in_flight``: requests being handled right now / the most at once,
      by kind; ``..._by_pool`` the same by pool name. Every request counts from arrival to the
      end of its response, the ones answered 429 included: a client that sends more requests at
      once than the pool allows shows up here even though the extra ones were refused.
    * ``pages_per_cursor``: pages served for each cursor token (empty pages past the end
      included); ``cursors_created``, ``cursors_expired``, ``cursor_invalid`` (requests with an
      unknown or expired token).
    * ``items_served``: records sent in list responses (including lost ones).
    * ``log``: the last 10,000 :class:`RequestRecord` entries.

    >>> from crossref_async.testing import FakeCrossref
    >>> sim = FakeCrossref(works=50, limits="polite-2026")
    >>> async with sim.client() as http:
    ...     for doi in ["10.5555/12345678", "10.9999/none"]:
    ...         _ = await http.get(f"/works/{doi}")
    ...     _ = await http.get("/works", params={"rows": 5})
    >>> dict(sim.stats.requests_by_pool), dict(sim.stats.responses), sim.stats.items_served
    ({'polite-single': 2, 'polite-array': 1}, {200: 2, 404: 1}, 5)
    """

    def __init__(self) -> None:
        # Counters are updated from the server's event loop while a test thread may read
        # them (serve_in_thread): updates and snapshots take the lock.
        self._lock = threading.Lock()
        self.in_flight: Counter[str] = Counter()
        self.in_flight_by_pool: Counter[str] = Counter()
        self._zero()

    def reset(self) -> None:
        """Zero every counter. The in-flight gauges keep counting requests still running.

        >>> from crossref_async.testing import FakeCrossref
        >>> sim = FakeCrossref(works=50)
        >>> async with sim.client() as http:
        ...     _ = await http.get("/works", params={"rows": 5})  # set-up traffic
        ...     sim.stats.reset()  # count only what follows
        ...     _ = await http.get("/works/10.5555/12345678")
        >>> dict(sim.stats.requests), sim.stats.items_served
        ({'single': 1}, 0)
        """
        with self._lock:
            self._zero()

    def _zero(self) -> None:
        self.requests: Counter[str] = Counter()
        self.requests_by_pool: Counter[str] = Counter()
        self.responses: Counter[int] = Counter()
        self.rate_limited: Counter[str] = Counter()
        self.rate_limited_by_pool: Counter[str] = Counter()
        self.spurious_429 = 0
        self.rejected_for_rate = 0
        self.rejected_for_concurrency = 0
        self.server_errors = 0
        self.resets = 0
        self.truncations = 0
        self.malformed = 0
        self.slow_bodies = 0
        self.blocked = 0
        self.outage = 0
        self.short_pages = 0
        self.corrupt_gzips = 0
        self.gzip_bombs = 0
        self.alias_redirects = 0
        self.max_in_flight: Counter[str] = Counter(dict(self.in_flight))
        self.max_in_flight_by_pool: Counter[str] = Counter(dict(self.in_flight_by_pool))
        self.pages_per_cursor: Counter[str] = Counter()
        self.cursors_created = 0
        self.cursors_expired = 0
        self.cursor_invalid = 0
        self.items_served = 0
        self.log: deque[RequestRecord] = deque(maxlen=10_000)

    # -- updates (called by the app) -------------------------------------------------------

    def arrive(self, kind: str, pool: str) -> None:
        """A request of ``kind`` in ``pool`` started. Called by the app, as is :meth:`depart`.

        >>> stats = Stats()
        >>> stats.arrive("list", "polite-array")
        >>> stats.in_flight["list"], stats.max_in_flight_by_pool["polite-array"]
        (1, 1)
        """
        with self._lock:
            self.requests[kind] += 1
            self.requests_by_pool[pool] += 1
            self.in_flight[kind] += 1
            self.in_flight_by_pool[pool] += 1
            self.max_in_flight[kind] = max(self.max_in_flight[kind], self.in_flight[kind])
            self.max_in_flight_by_pool[pool] = max(
                self.max_in_flight_by_pool[pool], self.in_flight_by_pool[pool]
            )

    def depart(self, record: RequestRecord) -> None:
        """A request finished (answered, cut or abandoned).

        >>> stats = Stats()
        >>> stats.arrive("list", "polite-array")
        >>> stats.depart(RequestRecord("GET", "/works", "list", "polite-array", 429, None, 0, 0))
        >>> stats.in_flight["list"], stats.total_429, dict(stats.rate_limited_by_pool)
        (0, 1, {'polite-array': 1})
        """
        with self._lock:
            self.in_flight[record.kind] -= 1
            self.in_flight_by_pool[record.pool] -= 1
            self.responses[record.status] += 1
            if record.status == 429:
                self.rate_limited[record.kind] += 1
                self.rate_limited_by_pool[record.pool] += 1
            elif record.status >= 500:
                self.server_errors += 1
            self.log.append(record)

    def count(self, name: str, amount: int = 1) -> None:
        """Add to one of the integer counters (``resets``, ``items_served``...).

        >>> stats = Stats()
        >>> stats.count("items_served", 20)
        >>> stats.count("resets")
        >>> stats.items_served, stats.resets
        (20, 1)
        """
        with self._lock:
            setattr(self, name, getattr(self, name) + amount)

    def page(self, token: str) -> None:
        """One page was served from cursor ``token``. The ``cursor=*`` request's page counts,
        and so do empty pages past the end:

        >>> from crossref_async.testing import FakeCrossref
        >>> sim = FakeCrossref(works=50)
        >>> async with sim.client() as http:
        ...     message = (await http.get("/works", params={"cursor": "*", "rows": 20})).json()
        ...     while message["message"]["items"]:
        ...         params = {"cursor": message["message"]["next-cursor"], "rows": 20}
        ...         message = (await http.get("/works", params=params)).json()
        >>> list(sim.stats.pages_per_cursor.values())  # 20 + 20 + 10 records, then an empty page
        [4]
        """
        with self._lock:
            self.pages_per_cursor[token] += 1

    # -- reading ---------------------------------------------------------------------------

    @property
    def total_requests(self) -> int:
        """All API requests received.

        >>> from crossref_async.testing import FakeCrossref
        >>> sim = FakeCrossref(works=50)
        >>> async with sim.client() as http:
        ...     for _ in range(3):
        ...         _ = await http.head("/works/10.5555/12345678")
        >>> sim.stats.total_requests, dict(sim.stats.requests)
        (3, {'single': 3})
        """
        return sum(self.requests.values())

    @property
    def total_429(self) -> int:
        """All 429 answers.

        >>> from crossref_async.testing import FakeCrossref, Faults
        >>> sim = FakeCrossref(works=50, faults=Faults(spurious_429_rate=1.0))
        >>> async with sim.client() as http:
        ...     _ = await http.get("/works", params={"rows": 1})
        >>> sim.stats.total_429, sim.stats.spurious_429
        (1, 1)
        """
        return sum(self.rate_limited.values())

    def snapshot(self) -> dict[str, Any]:
        """A JSON-ready copy of every counter (what ``GET /_stats`` returns).

        >>> from crossref_async.testing import FakeCrossref
        >>> sim = FakeCrossref(works=50)
        >>> async with sim.client() as http:
        ...     _ = await http.get("/works", params={"rows": 5})
        ...     served = (await http.get("/_stats")).json()
        >>> snapshot = sim.stats.snapshot()
        >>> snapshot == served, snapshot["total_requests"], snapshot["responses"]
        (True, 1, {'200': 1})
        """
        with self._lock:
            return {
                "requests": dict(self.requests),
                "requests_by_pool": dict(self.requests_by_pool),
                "total_requests": sum(self.requests.values()),
                "responses": {str(k): n for k, n in sorted(self.responses.items())},
                "rate_limited": dict(self.rate_limited),
                "rate_limited_by_pool": dict(self.rate_limited_by_pool),
                "total_429": sum(self.rate_limited.values()),
                "spurious_429": self.spurious_429,
                "rejected_for_rate": self.rejected_for_rate,
                "rejected_for_concurrency": self.rejected_for_concurrency,
                "server_errors": self.server_errors,
                "resets": self.resets,
                "truncations": self.truncations,
                "malformed": self.malformed,
                "slow_bodies": self.slow_bodies,
                "blocked": self.blocked,
                "outage": self.outage,
                "short_pages": self.short_pages,
                "corrupt_gzips": self.corrupt_gzips,
                "gzip_bombs": self.gzip_bombs,
                "alias_redirects": self.alias_redirects,
                "in_flight": dict(self.in_flight),
                "max_in_flight": dict(self.max_in_flight),
                "in_flight_by_pool": dict(self.in_flight_by_pool),
                "max_in_flight_by_pool": dict(self.max_in_flight_by_pool),
                "pages_per_cursor": dict(self.pages_per_cursor),
                "cursors_created": self.cursors_created,
                "cursors_expired": self.cursors_expired,
                "cursor_invalid": self.cursor_invalid,
                "items_served": self.items_served,
            }
