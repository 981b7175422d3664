"""The governor: spend exactly the request budget Crossref grants, per pool, and no more.

Crossref splits traffic into pools (``public``; ``polite-single`` for one-record requests and
``polite-array`` for lists; Plus pools) and advertises each pool's budget on every response:
``x-rate-limit-limit`` requests per ``x-rate-limit-interval`` and ``x-concurrency-limit``
requests in flight. The governor keeps one :class:`PoolBudget` per pool and, for every
request, waits for (1) a free slot in the concurrency window and (2) a start time that keeps
the rate within the budget, then learns from the answer:

* every response re-rates its pool from the headers (both spellings, any interval);
* a 429 pauses the pool for ``Retry-After`` (or a growing backoff) and cuts the rate by half,
  once per episode; the rate then recovers step by step while no 429 comes;
* rising latency shrinks the concurrency window (multiplicative decrease) and healthy latency
  grows it back one slot at a time (additive increase), never above the advertised limit;
* a circuit breaker (:mod:`crossref_async._breaker`) stops all sending while 10% or more of
  recent requests fail, as Crossref asks, probes after a cool-down and closes again;
* stated budgets outside sane bounds (an infinite or tiny limit, an interval of hours) are
  ignored with a warning, so one bad header cannot stall or break the client.

Why not aiolimiter's ``AsyncLimiter``: its bucket holds ``max_rate`` tokens, so it lets a whole
interval's budget go at once (a burst above the limit in the first second), its rate is fixed
at construction (re-rating would mean swapping instances and losing the pacing state, which
bursts at the swap), it cannot be paused for ``Retry-After``, and it is asyncio-only while this
library runs on anyio. The pacing here is a small GCRA-style scheduler plus a sliding-window
log, which together guarantee that no window of one interval ever holds more starts than the
limit, including the first interval and the one after a re-rate.
"""

from __future__ import annotations

import contextlib
import logging
import math
import re
import statistics
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Literal

import anyio

from ._breaker import Breaker, CircuitBreaker
from ._clock import NoEventLoopError, loop_time

__all__ = [
    "Breaker",
    "Governor",
    "NoEventLoopError",
    "Pause",
    "PoolBudget",
    "PoolStats",
    "loop_time",
]

logger = logging.getLogger("crossref_async")

RequestKind = Literal["single", "list"]
Identity = Literal["public", "polite", "plus"]

_INTERVAL = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$", re.IGNORECASE)
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}


def parse_interval(text: str) -> float | None:
    """``1s`` -> 1.0, ``60s`` -> 60.0, ``500ms`` -> 0.5, ``1`` -> 1.0; None if unreadable."""
    match = _INTERVAL.match(text)
    if not match:
        return None
    seconds = float(match.group(1)) * _UNIT_SECONDS[(match.group(2) or "s").lower()]
    return seconds if seconds > 0 else None


#: Budgets outside these bounds are not believed (a header garbled by a proxy, a test
#: server): Crossref's have always been 1 to a few hundred requests a second.
MIN_RATE = 1 / 60  # requests a second
MAX_RATE = 10_000_000.0
MAX_INTERVAL = 3600.0
MAX_CONCURRENCY = 1000


@dataclass(frozen=True)
class Advertised:
    """A budget as Crossref states it: ``rate`` requests per ``interval`` s, ``concurrency``."""

    rate: float
    interval: float
    concurrency: int

    @classmethod
    def from_headers(
        cls,
        headers: Mapping[str, str],
        current: Advertised,
        warn: Callable[[str, str], None] | None = None,
    ) -> Advertised:
        """The budget the headers state, falling back to ``current`` for anything missing or
        not believable (``warn(header, value)`` is told of the latter).

        >>> now = Advertised(3, 1.0, 3)
        >>> Advertised.from_headers({"x-rate-limit-limit": "50", "x-concurrency-limit": "5"}, now)
        Advertised(rate=50.0, interval=1.0, concurrency=5)
        >>> bad = {"x-rate-limit-limit": "inf", "x-rate-limit-interval": "9h"}
        >>> Advertised.from_headers(bad, now)
        Advertised(rate=3, interval=1.0, concurrency=3)
        """
        rate_name, rate_text = _named(headers, "x-rate-limit-limit", "x-ratelimit-limit")
        interval_name, interval_text = _named(
            headers, "x-rate-limit-interval", "x-ratelimit-interval"
        )
        concurrency_text = headers.get("x-concurrency-limit")
        rate, interval, concurrency = current.rate, current.interval, current.concurrency

        def refuse(name: str, value: str) -> None:
            if warn is not None:
                warn(name, value)

        if rate_text is not None:
            try:
                value = float(rate_text)
            except ValueError:
                value = math.nan
            if math.isfinite(value) and value >= 1.0:
                rate = value
            else:
                refuse(rate_name, rate_text)
        if interval_text is not None:
            seconds = parse_interval(interval_text)
            if seconds is not None and seconds <= MAX_INTERVAL:
                interval = seconds
            else:
                refuse(interval_name, interval_text)
        if not MIN_RATE <= rate / interval <= MAX_RATE:
            # Each part alone was plausible, not the two together: keep the old budget.
            refuse(rate_name, f"{rate_text} per {interval_text}")
            rate, interval = current.rate, current.interval
        if concurrency_text is not None:
            text = concurrency_text.strip()
            if text.isascii() and text.isdigit() and 1 <= len(text) <= 6:
                concurrency = min(MAX_CONCURRENCY, max(1, int(text)))
                if int(text) > MAX_CONCURRENCY or int(text) < 1:
                    refuse("x-concurrency-limit", concurrency_text)
            else:
                refuse("x-concurrency-limit", concurrency_text)
        return cls(rate, interval, concurrency)


def _named(headers: Mapping[str, str], *names: str) -> tuple[str, str | None]:
    for name in names:
        value = headers.get(name)
        if value is not None:
            return name, value
    return names[0], None


#: Starting budgets until the first response states the real ones (Crossref's limits since
#: December 2025: the public pool takes 5 single-record requests a second but only 1 list
#: request, one at a time; 2026 responses name its single-record pool ``public-single``).
DEFAULTS: dict[Identity, dict[RequestKind, tuple[str, Advertised]]] = {
    "public": {
        "single": ("public-single", Advertised(5, 1.0, 1)),
        "list": ("public-array", Advertised(1, 1.0, 1)),
    },
    "polite": {
        "single": ("polite-single", Advertised(10, 1.0, 3)),
        "list": ("polite-array", Advertised(3, 1.0, 3)),
    },
    "plus": {
        "single": ("plus-single", Advertised(20, 1.0, 5)),
        "list": ("plus-array", Advertised(10, 1.0, 5)),
    },
}


@dataclass(frozen=True)
class PoolStats:
    """A snapshot of one pool's budget and traffic.

    :meth:`Crossref.stats` gives one per pool in use, keyed by the name the server gave it:

    >>> work = await cr.work("10.5555/12345678")
    >>> pool = cr.stats()["unmetered-single"]
    >>> pool.requests, pool.in_flight, pool.rate_limited, pool.server_errors, pool.retries
    (1, 0, 0, 0, 0)
    >>> pool.advertised_rate, pool.interval, pool.advertised_concurrency
    (1000000.0, 1.0, 1000)
    """

    name: str
    advertised_rate: float
    interval: float
    advertised_concurrency: int
    rate: float  # requests per second the governor allows now
    concurrency: int  # requests in flight the governor allows now
    in_flight: int
    max_in_flight: int
    requests: int
    rate_limited: int
    server_errors: int
    transport_errors: int
    retries: int
    latency: float | None  # smoothed, seconds
    paused_for: float  # seconds left of a 429 pause


@dataclass
class Ticket:
    """One admitted request: its pool and its entry in the pool's window log, ``[start,
    pending]`` (``pending`` is 1.0 until the request's headers have gone out)."""

    budget: PoolBudget
    entry: list[float]
    probe: bool = False  # the half-open circuit's one probe

    def sent(self) -> None:
        """The request's headers have just gone out: see :meth:`PoolBudget.sent`."""
        self.budget.sent(self.entry)


class PoolBudget:
    """Rate pacing plus an adaptive concurrency window for one Crossref pool."""

    #: The window is counted a little wider than the interval (and a cut rate's spacing a
    #: little longer), so that jitter between our clock and the server's never lets one
    #: window hold more than the limit.
    MARGIN = 0.02
    #: Seconds the window log is counted wider still where that costs little: in a pool
    #: whose concurrency, not its rate, bounds it (its requests take long), the window caps
    #: only bursts. A server counts a request when it reads it, which can be well after it
    #: was sent: a busy server, the network. The simulator, building another page, once
    #: counted a request 121 ms late, and its window then held one more than the client's.
    EDGE = 0.2
    LATENCY_RISE = 2.0  # smoothed latency this many times the baseline means "going up"
    LATENCY_FLOOR = 0.25  # ...and at least this many seconds above it (ignores tiny noise)
    RATE_CUT = 0.5
    MIN_FACTOR = 0.05
    MAX_PAUSE = 120.0

    def __init__(self, name: str, advertised: Advertised, clock: Callable[[], float]) -> None:
        self.name = name
        self.advertised = advertised
        self._clock = clock
        self.factor = 1.0  # rate cut after 429s, recovering towards 1
        self.concurrency = advertised.concurrency
        self.learned = False  # until a response states the budget, one request at a time
        self.in_flight = 0
        self.max_in_flight = 0
        # Recent requests as [start, pending]: the start moves later when the request's
        # headers go out (see Ticket), so the log is not necessarily in order; ``pending`` is
        # 1.0 until then (or until the request ends).
        self._starts: deque[list[float]] = deque()
        # Whether this transport reports when headers go out (httpcore does; an in-process
        # ASGI transport does not): only then does a request not yet sent count as arriving.
        self._sends_reported = False
        # When the next start is due at the budget's spacing: a spacing after the latest start
        # (starts only ever move later), or after the one before that if that ends later.
        self._due = -math.inf
        self._due_spacing = math.inf  # the spacing _due was counted in
        self._latest = -math.inf  # the latest start in the log
        self.paused_until = -math.inf
        self._episode_until = -math.inf
        self._consecutive_429 = 0
        # Set at the first request (the clock is the event loop's, and a budget may be made
        # before any loop runs): nothing reads the clock until then.
        self._last_recovery = -math.inf
        self._waiters: deque[anyio.Event] = deque()
        self._latency: float | None = None
        # Latencies by request size (rows asked for): a 1000-row page is slower than a count
        # by nature, not because the server is struggling, so each size has its own baseline.
        self._history: dict[int, deque[float]] = {}
        self._smoothed: dict[int, float] = {}
        self._good_streak = 0
        self._last_decrease = -math.inf
        self.requests = 0
        self.rate_limited = 0
        self.server_errors = 0
        self.transport_errors = 0
        self.retries = 0
        self._distrusted: set[tuple[str, str]] = set()

    # -- budget arithmetic ------------------------------------------------------------------

    @property
    def rate(self) -> float:
        """Requests per second allowed now (advertised x recovery factor)."""
        return self.advertised.rate * self.factor / self.advertised.interval

    @property
    def spacing(self) -> float:
        """Seconds between starts at the rate allowed now, with the safety margin."""
        return (1.0 + self.MARGIN) / self.rate

    @property
    def window_limit(self) -> int:
        """Starts allowed in any window of one interval now."""
        return max(1, math.floor(self.advertised.rate * self.factor))

    @property
    def allowed_in_flight(self) -> int:
        return self.concurrency if self.learned else 1

    def _recover(self, now: float) -> None:
        # Additive recovery after a 429 episode: +20% of the budget per quiet interval, so a
        # lone 429 costs a few intervals at reduced speed, not a long crawl back.
        if self.factor >= 1.0 or now < self._episode_until or self._last_recovery == -math.inf:
            self._last_recovery = now
            return
        steps = math.floor((now - self._last_recovery) / self.advertised.interval)
        if steps > 0:
            self.factor = min(1.0, self.factor + 0.2 * steps)
            self._last_recovery += steps * self.advertised.interval

    def _window(self) -> float:
        """The width the window log is counted in: the interval, with the margin, and with
        :attr:`EDGE` once answers show the pool bounded by its concurrency."""
        window = self.advertised.interval * (1.0 + self.MARGIN)
        slowest = max(self._smoothed.values(), default=0.0)
        if slowest > 0 and self.concurrency < self.rate * slowest:
            window += self.EDGE
        return window

    def _earliest_start(self, now: float) -> float:
        """The earliest start the budget allows (possibly in the past)."""
        spacing = self.spacing
        window = self._window()
        limit = self.window_limit
        horizon = now - window
        unsent = self._sends_reported
        # A request let through but not sent yet (a slow handshake, a wait for a pooled
        # connection, a stalled loop) will still arrive: it stays in the log, counted as
        # arriving now, however old its start.
        while (
            self._starts and self._starts[0][0] <= horizon and not (unsent and self._starts[0][1])
        ):
            self._starts.popleft()
        # Spacing with a burst tolerance (GCRA): a start is due one spacing after the one
        # before, but may come up to ``tolerance`` spacings early, so a fresh pool starts as
        # many requests as may run at once together (a harvest's opening pages), and a start
        # freed by a returning page is not held back behind the one before it; the window log
        # still caps every window at the limit. After a 429 (a limit that changed under us:
        # the server's window may hold more than ours), starts are spaced strictly, even
        # from one older than the window: a cut rate's spacing can be longer.
        t = max(self.paused_until, self._current_due() - self._tolerance(now) * spacing)
        if len(self._starts) >= limit:
            # Only a log as long as the limit can fill a window; sorting it is then cheap
            # (Crossref's limits are tens a second), and never done for an unmetered pool.
            arrivals = (max(s, now) if unsent and pending else s for s, pending in self._starts)
            times = sorted(a for a in arrivals if a > horizon)
            if len(times) >= limit:
                t = max(t, times[-limit] + window)
        return t

    def _current_due(self) -> float:
        """When the next start is due, in the spacing allowed now: a re-rated pool (its first
        answer, a 429's cut, a recovery step) rescales what is due after its latest start."""
        spacing = self.spacing
        if spacing != self._due_spacing and self._due > self._latest:
            self._due = self._latest + (self._due - self._latest) * spacing / self._due_spacing
        self._due_spacing = spacing
        return self._due

    #: Intervals after a 429 episode during which starts stay spaced.
    QUIET_INTERVALS = 10

    def _smoothing(self, now: float) -> bool:
        """Whether starts are spaced evenly now: under a cut rate, or soon after a 429."""
        quiet = self._episode_until + self.QUIET_INTERVALS * self.advertised.interval
        return self.factor < 1.0 or now < quiet

    def _tolerance(self, now: float) -> int:
        """How many spacings early a start may come now (see :meth:`_earliest_start`)."""
        if self._smoothing(now):
            return 0
        # The pool's concurrency, not what the probe rule allows before the first answer: the
        # tolerance shapes the rate, and the probe rule already holds the other requests back.
        return max(0, min(self.concurrency, self.window_limit) - 1)

    def start_offsets(self, n: int) -> list[float]:
        """Seconds from now until each of ``n`` requests asked for now could start, by the
        budget's window log, spacing and pause (not its concurrency: how long the requests in
        flight take is unknown). A harvest gives a cursor that must wait less to do.

        >>> budget = PoolBudget("p", Advertised(3, 1.0, 3), lambda: 10.0)
        >>> budget.start_offsets(4)
        [0.0, 0.0, 0.0, 1.02]
        """
        now = self._clock()
        window = self._window()
        spacing = self.spacing
        limit = self.window_limit
        unsent = self._sends_reported
        times = sorted(max(s, now) if unsent and pending else s for s, pending in self._starts)
        due = self._current_due()
        early = self._tolerance(now) * spacing
        offsets: list[float] = []
        for _ in range(n):
            t = max(now, self.paused_until, due - early)
            if len(times) >= limit:
                t = max(t, times[-limit] + window)
            times.append(t)
            due = max(due, t) + spacing
            offsets.append(round(t - now, 6))
        return offsets

    # -- acquire / release ------------------------------------------------------------------

    async def _enter_window(self) -> None:
        while self.in_flight >= self.allowed_in_flight:
            event = anyio.Event()
            self._waiters.append(event)
            try:
                await event.wait()
            except BaseException:
                if event.is_set():
                    # Woken and cancelled in the same tick: pass the slot on, or it is lost.
                    self._wake()
                raise
            finally:
                if event in self._waiters:
                    self._waiters.remove(event)
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)

    def _wake(self) -> None:
        free = self.allowed_in_flight - self.in_flight
        while free > 0 and self._waiters:
            self._waiters.popleft().set()
            free -= 1

    async def acquire(self) -> Ticket:
        """Wait for a slot in the concurrency window and a start time within the rate."""
        await self._enter_window()
        waited = False
        try:
            while True:
                now = self._clock()
                self._recover(now)
                start = self._earliest_start(now)
                if start <= now:
                    break
                await anyio.sleep(start - now)
                waited = True
        except BaseException:
            self.in_flight -= 1
            self._wake()
            raise
        # A sleep ends a little late (timer granularity); counting the start at its scheduled
        # time keeps that lateness from adding up into a lower rate. The lateness forgiven is
        # at most half the safety margin, so no window of the server's holds an extra request.
        late = now - self.MARGIN * self.advertised.interval / 2
        at = max(start, late) if waited else now
        entry = [at, 1.0]
        # The next start is due a spacing after this one, or after the one due before it
        # (the burst tolerance is used up one spacing at a time).
        self._due = max(self._current_due(), at) + self.spacing
        self._latest = max(self._latest, at)
        self._starts.append(entry)
        self.requests += 1
        return Ticket(self, entry)

    def sent(self, entry: list[float]) -> None:
        """Move a start to when its request's headers actually went out.

        The server counts a request when it arrives, which may be well after its start: the
        handshake of a new connection, or an event loop busy elsewhere (a stall of more than
        the margin would otherwise let one of the server's windows hold an extra request).
        Later starts keep their distance from that moment, less the lateness forgiven at the
        start (half the margin), so ordinary scheduling delays do not lower the rate.
        """
        # None for the probe: its answer may shorten the interval, and so the margin, that
        # its lateness would have been forgiven in.
        lateness = self.MARGIN * self.advertised.interval / 2 if self.learned else 0.0
        self._move_later(entry, self._clock() - lateness)
        entry[1] = 0.0
        self._sends_reported = True

    def _move_later(self, entry: list[float], when: float) -> None:
        # Starts only ever move later, and the latest of them sets when the next is due.
        entry[0] = max(entry[0], when)
        self._latest = max(self._latest, entry[0])
        self._due = max(self._current_due(), entry[0] + self.spacing)

    def abandon(self, ticket: Ticket) -> None:
        """Free a cancelled request's slot; it counts for nothing else (not towards latency,
        errors or the budget's answers)."""
        ticket.entry[1] = 0.0
        self.in_flight -= 1
        self._wake()

    def release(
        self,
        *,
        status: int | None,
        latency: float,
        headers: Mapping[str, str] | None,
        retry_after: float | None = None,
        ticket: Ticket | None = None,
        size: int = 1,
    ) -> None:
        """Account for a finished request: re-rate, back off on 429, adapt concurrency."""
        self.in_flight -= 1
        now = self._clock()
        unsent = ticket is not None and ticket.entry[1] > 0.0  # never reported as sent
        if ticket is not None:
            ticket.entry[1] = 0.0  # over: it arrived (or never will)
        if ticket is not None and status is not None and not self.learned and unsent:
            # The probe's arrival time is unknown when the transport did not report its send
            # (a new connection, a busy event loop): it was at latest when its answer came, so
            # later starts keep their distance from that. A reported send is its arrival.
            self._move_later(ticket.entry, now)
        old_rate = self.advertised.rate / self.advertised.interval
        if headers:
            self._rerate(headers)
        lowered = self.advertised.rate / self.advertised.interval < old_rate
        if status is not None:
            # Any answer ends the probe: what it said about the budget (or the defaults, if it
            # said nothing) is now the truth.
            self.learned = True
        if status == 429:
            self._on_rate_limited(now, retry_after, cut=not lowered)
        elif status is not None and status < 500:
            self._consecutive_429 = 0
            self._on_latency(now, latency, size)
        if status is None:
            self.transport_errors += 1
        elif status >= 500:
            self.server_errors += 1
        self._wake()

    def _rerate(self, headers: Mapping[str, str]) -> None:
        new = Advertised.from_headers(headers, self.advertised, self._distrust)
        has_limits = any(
            k in headers for k in ("x-rate-limit-limit", "x-ratelimit-limit", "x-concurrency-limit")
        )
        if new != self.advertised:
            logger.info(
                "pool %s re-rated: %g per %gs, %d concurrent (was %g per %gs, %d)",
                self.name,
                new.rate,
                new.interval,
                new.concurrency,
                self.advertised.rate,
                self.advertised.interval,
                self.advertised.concurrency,
            )
            if new.concurrency != self.advertised.concurrency:
                self.concurrency = new.concurrency
            self.advertised = new
        self.concurrency = min(self.concurrency, self.advertised.concurrency)
        if has_limits:
            self.learned = True

    def _distrust(self, header: str, value: str) -> None:
        if (header, value) not in self._distrusted:
            self._distrusted.add((header, value))
            logger.warning(
                "pool %s: ignoring %s: %r (not a believable budget); keeping %g per %gs, %d "
                "concurrent",
                self.name,
                header,
                value,
                self.advertised.rate,
                self.advertised.interval,
                self.advertised.concurrency,
            )

    def _on_rate_limited(self, now: float, retry_after: float | None, *, cut: bool) -> None:
        # A 429 that comes with a lower advertised limit is the limit changing under
        # requests already sent: the new budget is the cure, so pause without a rate cut.
        self.rate_limited += 1
        self._consecutive_429 += 1
        backoff = self.advertised.interval * 2 ** min(self._consecutive_429 - 1, 6)
        pause = min(self.MAX_PAUSE, retry_after if retry_after is not None else backoff)
        self.paused_until = max(self.paused_until, now + pause)
        if cut and now >= self._episode_until:
            self.factor = max(self.MIN_FACTOR, self.factor * self.RATE_CUT)
            logger.warning(
                "pool %s: 429 Too Many Requests; pausing %.2fs, rate cut to %.2f/s",
                self.name,
                pause,
                self.rate,
            )
        self._episode_until = self.paused_until
        self._last_recovery = self.paused_until

    def _on_latency(self, now: float, latency: float, size: int) -> None:
        history = self._history.setdefault(size, deque(maxlen=100))
        history.append(latency)
        previous = self._smoothed.get(size)
        smoothed = latency if previous is None else 0.8 * previous + 0.2 * latency
        self._smoothed[size] = self._latency = smoothed
        # The median, not the minimum: the short last page of a cursor, or one lucky answer,
        # must not make every ordinary answer look slow.
        baseline = statistics.median(history) if len(history) >= 10 else smoothed
        rising = (
            smoothed > baseline * self.LATENCY_RISE and smoothed - baseline > self.LATENCY_FLOOR
        )
        if rising and now - self._last_decrease > smoothed:
            self.concurrency = max(1, math.floor(self.concurrency * 0.7))
            self._last_decrease = now
            self._good_streak = 0
            logger.info(
                "pool %s: latency %.2fs is up from %.2fs; concurrency now %d",
                self.name,
                smoothed,
                baseline,
                self.concurrency,
            )
        elif not rising and self.concurrency < self.advertised.concurrency:
            self._good_streak += 1
            if self._good_streak >= self.concurrency:
                self.concurrency += 1
                self._good_streak = 0

    def stats(self) -> PoolStats:
        """A snapshot of this pool (outside an event loop, ``paused_for`` is 0: no request
        waits while no loop runs)."""
        paused_for = 0.0
        if self.paused_until > -math.inf:  # never paused: no need for the clock
            with contextlib.suppress(NoEventLoopError):
                paused_for = max(0.0, self.paused_until - self._clock())
        return PoolStats(
            name=self.name,
            advertised_rate=self.advertised.rate,
            interval=self.advertised.interval,
            advertised_concurrency=self.advertised.concurrency,
            rate=self.rate,
            concurrency=self.allowed_in_flight,
            in_flight=self.in_flight,
            max_in_flight=self.max_in_flight,
            requests=self.requests,
            rate_limited=self.rate_limited,
            server_errors=self.server_errors,
            transport_errors=self.transport_errors,
            retries=self.retries,
            latency=self._latency,
            paused_for=paused_for,
        )


@dataclass(frozen=True)
class Pause:
    """Why the client is not sending now, and for how long (see :meth:`Governor.paused`).

    ``pool`` is the pool paused by a 429, or None for an open circuit (every pool).
    """

    reason: str
    remaining: float
    pool: str | None = None


class Governor:
    """One budget per Crossref pool, shared by every request of a client, and the client's
    circuit breaker (``breaker``: a :class:`~crossref_async._breaker.CircuitBreaker`, made
    from the :class:`Breaker` settings given).

    ``identity`` picks the starting budgets (``public`` without mailto, ``polite`` with it,
    ``plus`` with a token); every response then states the real ones. Two request kinds that
    the server puts in the same pool (``x-api-pool``) end up sharing one budget.

    ``clock`` (seconds, any zero) is what every pause, pacing step and cool-down is measured
    on: by default the running event loop's (:func:`loop_time`, so a trio ``MockClock``
    drives the governor in tests). Nothing reads it before the first request, so a governor
    can be made outside any event loop.
    """

    def __init__(
        self,
        identity: Identity = "polite",
        *,
        breaker: Breaker | None = None,
        clock: Callable[[], float] | None = None,
    ) -> None:
        # The loop's clock, not time.monotonic: anyio's sleeps and timeouts run on it, and on
        # trio its zero is elsewhere (and under a MockClock it is not real time at all).
        self._clock = clock or loop_time
        self.breaker = CircuitBreaker(breaker or Breaker(), clock=self._clock)
        self._by_kind: dict[RequestKind, PoolBudget] = {}
        self._by_name: dict[str, PoolBudget] = {}
        for kind, (name, advertised) in DEFAULTS[identity].items():
            budget = self._by_name.get(name) or PoolBudget(name, advertised, self._clock)
            self._by_name[name] = budget
            self._by_kind[kind] = budget

    def pool(self, kind: RequestKind) -> PoolBudget:
        """The budget that requests of this kind draw on."""
        return self._by_kind[kind]

    def concurrency(self, kind: RequestKind) -> int:
        """The concurrency window of the kind's pool now: how many requests of it may be in
        flight once the pool's budget is known (until the first answer states it, the pool
        sends one at a time), within the advertised limit and shrunk while latency rises. A
        harvest sizes its workers from it.

        >>> governor = Governor("polite")
        >>> governor.concurrency("list"), governor.concurrency("single")
        (3, 3)
        >>> Governor("public").concurrency("list")
        1
        """
        return self._by_kind[kind].concurrency

    def start_offsets(self, kind: RequestKind, n: int) -> list[float]:
        """Seconds from now until each of ``n`` requests of ``kind`` asked for now could
        start (see :meth:`PoolBudget.start_offsets`)."""
        return self._by_kind[kind].start_offsets(n)

    def count_retry(self, kind: RequestKind) -> None:
        """Count one retry of a request of this kind (shown as :attr:`PoolStats.retries`).

        >>> governor = Governor("polite")
        >>> governor.count_retry("single")
        >>> governor.stats()["polite-single"].retries, governor.stats()["polite-array"].retries
        (1, 0)
        """
        self._by_kind[kind].retries += 1

    async def acquire(self, kind: RequestKind, *, wait_limit: float | None = None) -> Ticket:
        """Wait for room in the kind's pool; returns the ticket to :meth:`release`.

        While the circuit is open nothing is sent: the request waits for the cool-down to
        end (and goes as the probe, or waits for the probe's outcome), but never longer than
        ``wait_limit`` seconds (None or 0: not at all); past that it raises
        :class:`~crossref_async.CircuitOpenError`.
        """
        deadline: float | None = None  # only an open circuit needs the clock here
        while True:
            admission = self.breaker.admit()
            if admission.go:
                break
            now = self._clock()
            if deadline is None:
                deadline = now + (wait_limit or 0.0)
            left = deadline - now
            if admission.wait is not None and admission.wait > left:
                raise self.breaker.error()
            if left <= 0:
                raise self.breaker.error()
            with anyio.move_on_after(min(left, admission.wait or left)):
                await self.breaker.changed()
        try:
            ticket = await self._by_kind[kind].acquire()
        except BaseException:
            if admission.probe:
                self.breaker.abandon_probe()
            raise
        ticket.probe = admission.probe
        return ticket

    def release(
        self,
        kind: RequestKind,
        ticket: Ticket,
        *,
        status: int | None,
        latency: float,
        headers: Mapping[str, str] | None,
        retry_after: float | None = None,
        cancelled: bool = False,
        size: int = 1,
        failed: bool | None = None,
    ) -> None:
        """Account for a finished request (``status`` None: no HTTP answer at all).

        ``failed`` says whether it counts as a failure for the breaker (by default: no answer
        or a 5xx; the client also counts an unusable 2xx body). A ``cancelled`` request (the
        caller gave up) frees its slot and counts for nothing. ``size`` is how many records
        it asked for, so latencies compare like with like.
        """
        budget = ticket.budget
        if cancelled:
            budget.abandon(ticket)
            if ticket.probe:
                self.breaker.abandon_probe()
            return
        budget.release(
            status=status,
            latency=latency,
            headers=headers,
            retry_after=retry_after,
            ticket=ticket,
            size=size,
        )
        # 429s are not failures here: the pool pauses and slows down for them. The breaker is
        # for a server that is failing (5xx, timeouts, broken connections, unusable bodies).
        failure = failed if failed is not None else status is None or status >= 500
        self.breaker.record(failure, probe=ticket.probe)
        name = headers.get("x-api-pool") if headers else None
        if name and name != budget.name:
            self._adopt(kind, budget, name)

    def paused(self) -> Pause | None:
        """What the client is waiting for now: an open circuit, or a pool paused by a 429
        (the longest such pause); None when it is sending freely.

        Here on a clock of its own (``now``, in seconds):

        >>> now = [100.0]
        >>> governor = Governor("polite", clock=lambda: now[0])
        >>> print(governor.paused())
        None
        >>> for _ in range(8):
        ...     governor.breaker.record(True)
        >>> pause = governor.paused()
        >>> pause.reason, 4 < pause.remaining <= 5.5
        ('circuit open: 8 requests in a row failed', True)
        >>> now[0] += 6
        >>> governor.paused().remaining  # the cool-down is over: the next request probes
        0.0
        """
        if self.breaker.tripped:
            return Pause(f"circuit open: {self.breaker.reason}", self.breaker.remaining())
        if all(b.paused_until == -math.inf for b in self._by_name.values()):
            return None  # no 429 yet: no need for the clock
        now = self._clock()
        paused = [b for b in self._by_name.values() if b.paused_until > now]
        if not paused:
            return None
        longest = max(paused, key=lambda b: b.paused_until)
        return Pause(
            f"429 Too Many Requests from pool {longest.name}",
            longest.paused_until - now,
            longest.name,
        )

    def _adopt(self, kind: RequestKind, budget: PoolBudget, name: str) -> None:
        # The server named the pool: requests of this kind share that pool's budget.
        existing = self._by_name.get(name)
        if existing is None:
            if sum(b is budget for b in self._by_kind.values()) > 1:
                # Two kinds shared one default budget; give this kind its own.
                existing = PoolBudget(name, budget.advertised, self._clock)
                existing.learned = budget.learned
            else:
                self._by_name.pop(budget.name, None)
                budget.name = name
                existing = budget
            self._by_name[name] = existing
        self._by_kind[kind] = existing

    def stats(self) -> dict[str, PoolStats]:
        """Snapshots of every pool in use, by pool name."""
        return {b.name: b.stats() for b in {id(b): b for b in self._by_kind.values()}.values()}
