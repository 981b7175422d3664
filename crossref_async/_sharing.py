"""One budget for many processes: the session's requests admitted by a shared Redis budget too.

The in-process governor still paces and windows each client (its stats, its breaker, what it
learns from the answers); with ``Crossref(budget=...)`` each request then also needs, from the
:class:`~crossref_async._shared.SharedBudget` that every process of the identity uses:

1. a concurrency lease, within the pool's window (``x-concurrency-limit``, AIMD-shrunk), held
   and renewed while the request is in flight, released when it ends (a killed process's
   lease lapses within its TTL);
2. a start in the shared schedule (the pool's rate and interval, the governor's margin),
   which no window of one interval may hold more of than the limit, across every process;
3. what the answers taught: the budget as the processes learnt it (published when it
   changes: a 429's rate cut, a recovery, a window shrunk or regrown; a newcomer starts from
   it), a 429's pause, and an open circuit breaker: while one process's is open the others
   send nothing either (a request waits for it within its retry window, else raises
   :class:`~crossref_async.CircuitOpenError`); after the cool-down one probe goes, claimed
   across the processes, and the others wait for its outcome.

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
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import TypeVar

import anyio
import sniffio

from ._breaker import CircuitBreaker
from ._clock import loop_time
from ._errors import CircuitOpenError, ValidationError
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
#: The shared budget's scope of the breaker: one circuit per identity, as a client has one.
BREAKER = "breaker"
_PROBE_TTL = 60.0  # a probe's claim lapses after this (its holder died)
_PROBE_POLL = 0.1


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
    probe: bool = False  # the one request sent after another process's circuit opened
    start_id: str = ""  # its start in the shared log
    slack: float = 0.0
    sent: anyio.Event = field(default_factory=anyio.Event)  # its headers have gone out

    def mark_sent(self) -> None:
        """The request's headers have just gone out (the transport says so)."""
        self.sent.set()


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
        self._opened = False  # this process's open circuit, as published
        self._holder = uuid.uuid4().hex  # names this client's probe claims

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

    async def admit(self, kind: RequestKind, pool: PoolBudget, *, wait_limit: float) -> Hold:
        """Wait for a lease and a start in the shared budget of ``kind``'s pool, after an
        open circuit of another process (for up to ``wait_limit`` seconds)."""
        await self.connect()
        probe = await self._patiently(lambda: self._obey_breaker(wait_limit))
        # One read of the budget as learnt serves both steps unless one of them must wait.
        terms = await self._patiently(lambda: self._terms(kind, pool))
        lease = await self._patiently(lambda: self._lease(kind, pool, terms))
        try:
            start_id, slack = await self._patiently(lambda: self._start(kind, pool, terms))
        except BaseException:
            with anyio.CancelScope(shield=True):
                await self._release(lease)
            raise
        return Hold(kind, lease, probe, start_id, slack)

    @contextlib.asynccontextmanager
    async def holding(self, hold: Hold | None) -> AsyncIterator[None]:
        """Renew ``hold``'s lease while the block runs (a request in flight)."""
        if hold is None:
            yield
            return
        async with anyio.create_task_group() as tg:
            tg.start_soon(self._renew, hold)
            tg.start_soon(self._mark_sent, hold)
            try:
                yield
            finally:
                tg.cancel_scope.cancel()

    async def finish(
        self,
        hold: Hold,
        pool: PoolBudget,
        breaker: CircuitBreaker,
        *,
        rate_limited: bool,
        failed: bool,
    ) -> None:
        """Release the lease; share what the answer taught (the budget, a 429's pause, the
        circuit opening or closing, a probe's outcome)."""
        with anyio.CancelScope(shield=True):
            await self._publish_breaker(breaker, hold, failed=failed)
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
        """The pool's budget as the processes last learnt it (the shared rating: a 429's
        rate cut or a shrunk window in one process holds them all), else this process's.

        A newcomer would otherwise ask for its cautious defaults (one at a time) and wait
        for a window that busy processes never leave that empty.
        """
        rating = (await self.budget.snapshot(kind)).rating
        if rating is None:
            return _terms_of(pool)
        limit = max(1, int(rating.rate * rating.interval))
        return _Terms(limit, rating.interval, rating.rate, max(1, rating.concurrency))

    async def _obey_breaker(self, wait_limit: float) -> bool:
        """Wait while a circuit is open anywhere; True when this request is the one probe
        that every process waits on after the cool-down."""
        deadline = loop_time() + wait_limit
        while True:
            state = await self.budget.snapshot(BREAKER)
            if state.breaker == "closed":
                return False
            left = state.breaker_remaining
            if left <= 0:
                if await self.budget.claim_probe(BREAKER, self._holder, _PROBE_TTL):
                    return True
                left = _PROBE_POLL  # another process's probe is out: wait for its outcome
            if loop_time() + left > deadline:
                raise CircuitOpenError(
                    f"circuit open in another process of this identity (shared budget at "
                    f"{self.budget.url}): nothing is sent for {left:.1f} s more",
                    retry_in=left,
                )
            await anyio.sleep(left)

    async def _publish_breaker(self, breaker: CircuitBreaker, hold: Hold, *, failed: bool) -> None:
        with contextlib.suppress(BudgetUnavailableError):
            if breaker.tripped:
                await self.budget.open_breaker(BREAKER, breaker.remaining())
                self._opened = True
            elif hold.probe and failed:
                # The shared probe failed: open again, for this client's cool-down.
                await self.budget.open_breaker(BREAKER, breaker.settings.cooldown)
            elif self._opened or hold.probe:
                await self.budget.close_breaker(BREAKER)
                self._opened = False

    async def _publish(self, kind: RequestKind, pool: PoolBudget) -> None:
        rating = Rating(
            advertised_rate=pool.advertised.rate,
            interval=pool.advertised.interval,
            advertised_concurrency=pool.advertised.concurrency,
            rate=pool.rate,
            concurrency=pool.allowed_in_flight,
        )
        # What this process learns is published when it changes (a 429's cut, a recovery, a
        # shrunk or regrown window), not merely because it differs from what another process
        # learnt: that would undo their cut with this process's older view.
        previous = self._published.get(kind)
        if previous == rating:
            return
        self._published[kind] = rating
        with contextlib.suppress(BudgetUnavailableError):
            if previous is None and (await self.budget.snapshot(kind)).rating is not None:
                return
            await self.budget.set_rating(kind, rating)

    async def _lease(self, kind: RequestKind, pool: PoolBudget, terms: _Terms) -> Lease:
        # The common case, a free slot, costs one script; only a request that must wait
        # subscribes to the releases (a connection of its own).
        lease, retry = await self.budget.acquire_lease(kind, terms.concurrency)
        if lease is not None:
            return lease
        async with self.budget.releases(kind) as released:
            while True:
                # Subscribed now: a release from here on wakes the wait at once, and the
                # try below sees any release before it.
                terms = await self._terms(kind, pool)
                lease, retry = await self.budget.acquire_lease(kind, terms.concurrency)
                if lease is not None:
                    return lease
                await released.wait(max(0.005, min(retry, 1.0)))

    async def _start(self, kind: RequestKind, pool: PoolBudget, terms: _Terms) -> tuple[str, float]:
        """The start's id in the shared log, and the slack its spacing was given."""
        margin = PoolBudget.MARGIN
        while True:
            slack = margin * terms.interval / 2
            start = await self.budget.try_start(
                kind,
                terms.limit,
                terms.interval * (1.0 + margin),
                spacing=(1.0 + margin) / terms.rate,
                slack=slack,
            )
            if start.wait <= 0:
                return start.id, slack
            await anyio.sleep(start.wait)
            # What was learnt may have changed while this waited.
            terms = await self._terms(kind, pool)

    async def _mark_sent(self, hold: Hold) -> None:
        """Move the start to when the request really went out (after a connection's
        handshake, say), as the in-process log does, so starts cannot bunch at the server."""
        await hold.sent.wait()
        with contextlib.suppress(BudgetUnavailableError):
            await self.budget.sent(hold.kind, hold.start_id, slack=hold.slack)

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
