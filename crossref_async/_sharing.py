"""One budget for many processes: the session's requests admitted by a shared Redis budget too.

The in-process governor still paces and windows each client (its stats, its breaker, what it
learns from the answers); with ``Crossref(budget=...)`` each request then also needs, from the
:class:`~crossref_async._shared.SharedBudget` that every process of the identity uses:

1. a concurrency lease, within the pool's window (``x-concurrency-limit``, AIMD-shrunk), held
   and renewed while the request is in flight, released when it ends (a killed process's
   lease lapses within its TTL);
2. a start in the shared schedule (the pool's rate and interval, the governor's margin),
   which no window of one interval may hold more of than the limit, across every process;
3. after a 429, the pause is shared: every process waits it out.

Pools are keyed by request kind (``single``, ``list``) under the identity's namespace. When
Redis cannot be reached the request waits and tries again (with a warning, every
``OUTAGE_LOG`` seconds) for up to ``max_outage`` seconds, then raises
:class:`~crossref_async.BudgetUnavailableError`: it never goes on alone, spending the whole
budget. redis-py's asyncio client needs asyncio; under another event loop (trio) a shared
budget is refused with a clear error.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

import anyio
import sniffio

from ._clock import loop_time
from ._errors import ValidationError
from ._governor import PoolBudget, RequestKind
from ._shared import BudgetUnavailableError, Lease, Rating, SharedBudget

__all__ = ["Hold", "Sharing"]

logger = logging.getLogger("crossref_async")

T = TypeVar("T")

#: How long a request waits for an unreachable Redis before it fails.
MAX_OUTAGE = 300.0
OUTAGE_LOG = 30.0
_BACKOFF = (0.25, 5.0)  # first and largest wait between tries while Redis is away
_RELEASE_TIMEOUT = 2.0


@dataclass(frozen=True)
class _Terms:
    """The budget a shared request is admitted under: the same in every process."""

    limit: int  # starts per interval
    interval: float
    rate: float  # per second
    concurrency: int


def _terms_of(pool: PoolBudget) -> _Terms:
    return _Terms(pool.window_limit, pool.advertised.interval, pool.rate, pool.allowed_in_flight)


@dataclass
class Hold:
    """What one admitted request holds of the shared budget: its lease."""

    kind: RequestKind
    lease: Lease


class Sharing:
    """The shared budget as the session uses it (one per client)."""

    def __init__(self, budget: SharedBudget, *, owned: bool, max_outage: float = MAX_OUTAGE):
        self.budget = budget
        self.owned = owned  # made from a URL by the client: closed with it
        self.max_outage = max_outage
        self._connected = False
        self._lock: anyio.Lock | None = None
        self._last_log = -float("inf")
        self._published: dict[RequestKind, Rating] = {}

    def __repr__(self) -> str:
        return f"Sharing({self.budget!r})"

    async def connect(self) -> None:
        """Connect once (:class:`BudgetUnavailableError`, naming the redacted URL, if the
        server cannot be reached); refused outside asyncio."""
        if self._connected:
            return
        library = sniffio.current_async_library()
        if library != "asyncio":
            raise ValidationError(
                library,
                "a shared budget (Crossref(budget=...)) needs asyncio: redis-py's client runs "
                "on asyncio only",
            )
        if self._lock is None:
            self._lock = anyio.Lock()
        async with self._lock:
            if not self._connected:
                await self.budget.connect()
                self._connected = True

    async def aclose(self) -> None:
        """Close the connection if the client made it."""
        if self.owned:
            await self.budget.aclose()

    async def admit(self, kind: RequestKind, pool: PoolBudget) -> Hold:
        """Wait for a lease and a start in the shared budget of ``kind``'s pool."""
        await self.connect()
        lease = await self._patiently(lambda: self._lease(kind, pool))
        try:
            await self._patiently(lambda: self._start(kind, pool))
        except BaseException:
            with anyio.CancelScope(shield=True):
                await self._release(lease)
            raise
        return Hold(kind, lease)

    @contextlib.asynccontextmanager
    async def holding(self, hold: Hold | None) -> AsyncIterator[None]:
        """Renew ``hold``'s lease while the block runs (a request in flight)."""
        if hold is None:
            yield
            return
        async with anyio.create_task_group() as tg:
            tg.start_soon(self._renew, hold)
            try:
                yield
            finally:
                tg.cancel_scope.cancel()

    async def finish(self, hold: Hold, pool: PoolBudget, *, rate_limited: bool) -> None:
        """Release the lease; share what the answer taught (the budget, a 429's pause)."""
        with anyio.CancelScope(shield=True):
            if pool.learned:
                await self._publish(hold.kind, pool)
            if rate_limited:
                left = pool.paused_until - loop_time()
                if left > 0:
                    with contextlib.suppress(BudgetUnavailableError):
                        await self.budget.pause(hold.kind, left)
            await self._release(hold.lease)

    # -- inside ---------------------------------------------------------------------------------

    async def _terms(self, kind: RequestKind, pool: PoolBudget) -> _Terms:
        """The pool's budget: this process's once an answer stated it; until then the one
        another process learnt (a newcomer asking for its cautious defaults, one at a time,
        would wait for a window that busy processes never leave that empty)."""
        if pool.learned:
            return _terms_of(pool)
        rating = (await self.budget.snapshot(kind)).rating
        if rating is None:
            return _terms_of(pool)
        limit = max(1, int(rating.rate * rating.interval))
        return _Terms(limit, rating.interval, rating.rate, max(1, rating.concurrency))

    async def _publish(self, kind: RequestKind, pool: PoolBudget) -> None:
        rating = Rating(
            advertised_rate=pool.advertised.rate,
            interval=pool.advertised.interval,
            advertised_concurrency=pool.advertised.concurrency,
            rate=pool.rate,
            concurrency=pool.allowed_in_flight,
        )
        if self._published.get(kind) != rating:
            with contextlib.suppress(BudgetUnavailableError):
                await self.budget.set_rating(kind, rating)
                self._published[kind] = rating

    async def _lease(self, kind: RequestKind, pool: PoolBudget) -> Lease:
        async with self.budget.releases(kind) as released:
            while True:
                terms = await self._terms(kind, pool)
                lease, retry = await self.budget.acquire_lease(kind, terms.concurrency)
                if lease is not None:
                    return lease
                # A release anywhere wakes this at once; the retry hint bounds the wait.
                await released.wait(max(0.005, min(retry, 1.0)))

    async def _start(self, kind: RequestKind, pool: PoolBudget) -> None:
        margin = PoolBudget.MARGIN
        while True:
            terms = await self._terms(kind, pool)
            start = await self.budget.try_start(
                kind,
                terms.limit,
                terms.interval * (1.0 + margin),
                spacing=(1.0 + margin) / terms.rate,
                slack=margin * terms.interval / 2,
            )
            if start.wait <= 0:
                return
            await anyio.sleep(start.wait)

    async def _renew(self, hold: Hold) -> None:
        while True:
            await anyio.sleep(self.budget.lease_ttl / 3)
            try:
                renewed = await self.budget.renew(hold.lease)
            except BudgetUnavailableError as exc:
                self._warn(exc)
                continue
            if renewed is None:
                logger.warning(
                    "shared budget: the lease of a request in flight was lost (Redis restarted "
                    "or the request outlived its lease); its slot is no longer counted"
                )
                return
            hold.lease = renewed

    async def _release(self, lease: Lease) -> None:
        with anyio.move_on_after(_RELEASE_TIMEOUT), contextlib.suppress(BudgetUnavailableError):
            # If this fails, the lease lapses within its TTL anyway.
            await self.budget.release(lease)

    async def _patiently(self, step: Callable[[], Awaitable[T]]) -> T:
        """``step()``, tried again while Redis is away, up to ``max_outage`` seconds."""
        started: float | None = None
        wait = _BACKOFF[0]
        while True:
            try:
                return await step()
            except BudgetUnavailableError as exc:
                now = loop_time()
                started = now if started is None else started
                if now - started >= self.max_outage:
                    raise
                self._warn(exc)
                await anyio.sleep(wait)
                wait = min(_BACKOFF[1], wait * 2)

    def _warn(self, exc: BudgetUnavailableError) -> None:
        now = loop_time()
        if now - self._last_log >= OUTAGE_LOG:
            self._last_log = now
            logger.warning(
                "%s; requests wait for it (never spending the budget alone), for up to %.0f s",
                exc,
                self.max_outage,
            )
