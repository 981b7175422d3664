"""Rate and concurrency limits, as Crossref enforces them since late 2025.

Requests fall in two kinds: ``single`` (one record: singletons, ``HEAD``, agency, formatted
citations, the doi.org hop) and ``list`` (anything returning a list). Each kind has a
:class:`Pool`: at most ``rate`` requests in any window of ``interval`` seconds and at most
``concurrency`` at once. Pools with the same name share one budget (the ``public`` preset
gives both kinds the same pool).

Enforcement is a strict sliding-window log: a request is refused (429) when admitting it would
make ``rate`` + 1 admitted requests fall within ``interval`` seconds, or when the pool already
has ``concurrency`` admitted requests running. Refused requests do not use up budget, so a
client pacing itself exactly at the advertised rate is never refused; one that bursts at the
start of each second is.
"""

from __future__ import annotations

import enum
import math
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

SINGLE = "single"
LIST = "list"


@dataclass(frozen=True)
class Pool:
    """A limit pool: ``rate`` requests per ``interval`` seconds, ``concurrency`` at once.

    >>> for name, value in Pool(rate=10, concurrency=3, name="polite-single").headers():
    ...     print(name.decode(), value.decode())
    x-rate-limit-limit 10
    x-rate-limit-interval 1s
    x-concurrency-limit 3
    x-api-pool polite-single
    """

    rate: int
    interval: float = 1.0
    concurrency: int = 1
    name: str = "pool"

    def __post_init__(self) -> None:
        if self.rate < 1 or self.interval <= 0 or self.concurrency < 1:
            raise ValueError("a pool needs rate >= 1, interval > 0 and concurrency >= 1")

    def headers(self, *, legacy: bool = False) -> list[tuple[bytes, bytes]]:
        """The headers advertising this pool. ``legacy``: the ``x-ratelimit-*`` spelling of
        responses before 2025, which had no concurrency header.

        >>> Pool(rate=3, name="polite-array").headers(legacy=True)
        [(b'x-ratelimit-limit', b'3'), (b'x-ratelimit-interval', b'1s'),
         (b'x-api-pool', b'polite-array')]
        """
        interval = f"{self.interval:g}s".encode()
        rate = str(self.rate).encode()
        if legacy:
            return [
                (b"x-ratelimit-limit", rate),
                (b"x-ratelimit-interval", interval),
                (b"x-api-pool", self.name.encode()),
            ]
        return [
            (b"x-rate-limit-limit", rate),
            (b"x-rate-limit-interval", interval),
            (b"x-concurrency-limit", str(self.concurrency).encode()),
            (b"x-api-pool", self.name.encode()),
        ]


class _Keep(enum.Enum):
    KEEP = "keep"


#: Default of :class:`Change` fields: leave that kind's pool as it is (``None``, by contrast,
#: removes that kind's limit).
KEEP = _Keep.KEEP


@dataclass(frozen=True)
class Change:
    """New pools from a point in the run on: after ``after_requests`` API requests were
    received, or ``at`` seconds (simulator clock) after the simulator was created. A pool left
    at :data:`KEEP` stays; ``None`` removes the limit for that kind.

    >>> change = Change(after_requests=100, list=Pool(rate=1, name="polite-array"))
    >>> change.single is KEEP, change.list.rate
    (True, 1)
    """

    after_requests: int | None = None
    at: float | None = None
    single: Pool | _Keep | None = KEEP
    list: Pool | _Keep | None = KEEP

    def __post_init__(self) -> None:
        if (self.after_requests is None) == (self.at is None):
            raise ValueError("a Change takes exactly one of after_requests= and at=")


@dataclass(frozen=True)
class Limits:
    """The pools of each request kind, scheduled changes, and how 429s are answered.

    429s are sent as Crossref sends them: an HTML page with neither ``Retry-After`` nor the
    limit headers (the API's documentation says 429s often come that way, and none of the
    recorded responses shows a 429 carrying them). ``retry_after``: seconds to send in
    ``Retry-After`` with every 429 (rounded up to a whole number, as the header requires), or
    None (the default) for none. ``headers_on_429``: send the pool's limit headers with 429s
    too (off by default). ``legacy_headers``: advertise limits with the old ``x-ratelimit-*``
    spelling.

    A list pool of one request a minute, singles unlimited, 429s saying "retry in 3 s":

    >>> from crossref_async.testing import FakeCrossref
    >>> sim = FakeCrossref(works=50, limits=Limits(list=Pool(rate=1, interval=60), retry_after=2.5))
    >>> async with sim.client() as http:
    ...     ok = await http.get("/works", params={"rows": 1})
    ...     refused = await http.get("/works", params={"rows": 1})
    >>> ok.status_code, refused.status_code, refused.headers["retry-after"]
    (200, 429, '3')
    >>> sim.pool("single") is None, sim.stats.rejected_for_rate, "x-api-pool" in refused.headers
    (True, 1, False)
    """

    single: Pool | None = None
    list: Pool | None = None
    changes: Sequence[Change] = ()
    retry_after: float | None = None
    headers_on_429: bool = False
    legacy_headers: bool = False

    def __post_init__(self) -> None:
        # Frozen and hashable whatever sequence was given (a list reads naturally in calls).
        object.__setattr__(self, "changes", tuple(self.changes))


_POLITE_SINGLE = Pool(rate=10, interval=1.0, concurrency=3, name="polite-single")
_POLITE_ARRAY = Pool(rate=3, interval=1.0, concurrency=3, name="polite-array")
# Anonymous requests since December 2025: singles 5/s, lists 1/s, one at a time each. The
# names are the July 2026 recordings' (``public-single``); ``public-array`` by analogy with
# ``polite-array``, as no anonymous list request of that era was recorded.
_PUBLIC_SINGLE = Pool(rate=5, interval=1.0, concurrency=1, name="public-single")
_PUBLIC_ARRAY = Pool(rate=1, interval=1.0, concurrency=1, name="public-array")

#: Named limit sets (``FakeCrossref(limits="polite-2026")``, ``--preset``):
#:
#: * ``polite-2026``: what a client with a ``mailto`` got in 2026: singles 10/s and 3 at once
#:   (``polite-single``), lists 3/s and 3 at once (``polite-array``).
#: * ``public``: anonymous clients since December 2025: singles 5/s and 1 at once
#:   (``public-single``), lists 1/s and 1 at once (``public-array``).
#: * ``fast-50``: a generous pool per kind, 50/s and 10 at once (benchmarks of the client
#:   itself).
#: * ``unmetered``: limits advertised far above anything a client reaches (a million per second,
#:   1000 at once): every header-reading path of a client runs, none of it ever waits (the
#:   client-overhead benchmark).
#: * ``unlimited``: no limits and no limit headers.
PRESETS: dict[str, Limits] = {
    "polite-2026": Limits(single=_POLITE_SINGLE, list=_POLITE_ARRAY),
    "public": Limits(single=_PUBLIC_SINGLE, list=_PUBLIC_ARRAY),
    "fast-50": Limits(
        single=Pool(rate=50, interval=1.0, concurrency=10, name="fast-single"),
        list=Pool(rate=50, interval=1.0, concurrency=10, name="fast-array"),
    ),
    "unmetered": Limits(
        single=Pool(rate=1_000_000, interval=1.0, concurrency=1000, name="unmetered-single"),
        list=Pool(rate=1_000_000, interval=1.0, concurrency=1000, name="unmetered-array"),
    ),
    "unlimited": Limits(),
}


def resolve(limits: Limits | str | None, *, legacy_headers: bool = False) -> Limits:
    """A :class:`Limits` from a preset name, a Limits, or None (unlimited)."""
    if limits is None:
        resolved = PRESETS["unlimited"]
    elif isinstance(limits, str):
        try:
            resolved = PRESETS[limits]
        except KeyError:
            raise ValueError(
                f"unknown limits preset {limits!r}; choose from {', '.join(PRESETS)}"
            ) from None
    else:
        resolved = limits
    return replace(resolved, legacy_headers=True) if legacy_headers else resolved


class Limiter:
    """The running state of :class:`Limits`: windows, admitted counts, pending changes."""

    def __init__(self, limits: Limits, clock: Callable[[], float]) -> None:
        self.limits = limits
        self._clock = clock
        self._start = clock()
        self._pools: dict[str, Pool | None] = {SINGLE: limits.single, LIST: limits.list}
        self._pending = list(limits.changes)
        self._received = 0
        self._windows: dict[str, deque[float]] = {}
        self._admitted: dict[str, int] = {}

    def receive(self) -> None:
        """Count one arriving API request and apply the changes now due."""
        self._received += 1
        if not self._pending:
            return
        elapsed = self._clock() - self._start
        due = [
            change
            for change in self._pending
            if (change.after_requests is not None and self._received > change.after_requests)
            or (change.at is not None and elapsed >= change.at)
        ]
        for change in due:
            self._pending.remove(change)
            for kind, pool in ((SINGLE, change.single), (LIST, change.list)):
                if not isinstance(pool, _Keep):
                    self._pools[kind] = pool

    def pool(self, kind: str) -> Pool | None:
        """The pool requests of ``kind`` fall in now."""
        return self._pools[kind]

    def admit(self, pool: Pool) -> str | None:
        """Admit one request into ``pool``; None if admitted, else why not (``"rate"`` or
        ``"concurrency"``). An admitted request must be :meth:`release`\\ d."""
        now = self._clock()
        window = self._windows.setdefault(pool.name, deque())
        while window and window[0] <= now - pool.interval:
            window.popleft()
        if len(window) >= pool.rate:
            return "rate"
        if self._admitted.get(pool.name, 0) >= pool.concurrency:
            return "concurrency"
        window.append(now)
        self._admitted[pool.name] = self._admitted.get(pool.name, 0) + 1
        return None

    def release(self, pool: Pool) -> None:
        """An admitted request of ``pool`` finished."""
        self._admitted[pool.name] -= 1

    def headers(self, pool: Pool | None) -> list[tuple[bytes, bytes]]:
        """The limit headers of a response in ``pool`` (none without a pool)."""
        return [] if pool is None else pool.headers(legacy=self.limits.legacy_headers)

    def too_many_headers(self, pool: Pool | None) -> list[tuple[bytes, bytes]]:
        """The headers of a 429 in ``pool``: ``Retry-After`` and the limit headers only if
        :class:`Limits` says so (by default none: Crossref's 429s are bare)."""
        headers = self.headers(pool) if self.limits.headers_on_429 else []
        seconds = self.limits.retry_after
        if seconds is not None:
            headers.append((b"retry-after", str(max(0, math.ceil(seconds))).encode()))
        return headers
