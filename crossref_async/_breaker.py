"""The circuit breaker: stop sending to a failing server, wait, probe, and close again.

Crossref asks clients to stop at an error rate of 10% or more. Deciding that on the last
handful of requests stops healthy jobs (two failures in the first twenty is 10%, and a server
failing 8% of requests produces that all the time); never closing again turns a one-minute
outage into a dead job. So:

* **When it opens.** The sample is the last ``window`` requests (500) no older than
  ``max_age`` (5 minutes); the circuit opens when the failure rate is at least
  ``threshold`` (10%) with ``confidence`` (99%, one-sided Wilson bound), once at least
  ``min_requests`` (20) were seen, or after ``consecutive`` (8) failures in a row. Over a
  seeded run of 1,000,000 requests failing independently at 8%, this opens about once every
  three million requests (a few seconds' pause each time); at 15% it opens after a median
  114 requests, at 20% after 26, at 30% after 19, and a dead server after 8.
* **Open.** Nothing is sent for a cool-down: ``cooldown`` (5 s) at first, doubled by every
  failed probe up to ``max_cooldown`` (2 minutes), with 10% jitter so that many clients do
  not probe together. A circuit that opens again within ``max_age`` of closing keeps
  doubling (as Envoy's ejection multiplier does), so a server failing every other request
  is probed less and less often instead of getting a burst every few seconds.
* **Half-open.** After the cool-down one request goes as the probe; every other request
  waits for its outcome. It succeeds: closed, the history forgotten. It fails: open again,
  for longer. A cancelled probe leaves the next request to probe.

The numbers follow the common practice: resilience4j decides on a count window with a
minimum number of calls (its defaults are 100 calls and 50%, far too tolerant for
Crossref's 10%) and waits 60 s in the open state; Envoy's outlier detection ejects after 5
consecutive 5xx and for 30 s times the number of ejections, capped at 300 s; the SRE book's
client-side throttling judges over two minutes of requests. A client that is the only caller
of its budget can afford a shorter first cool-down (5 s) and a longer window (500 requests,
so that the 10% line is decided on a sample that 8% noise does not cross). The cool-down
stops growing at 2 minutes, not Envoy's 5: a harvest notices the end of an outage at most
that long after it (benchmarks/reliability.py), at the cost of a probe every 2 minutes
while the server stays down.

What counts as a failure is the caller's call (the governor passes 5xx, transport errors and
unusable 2xx bodies); 429s are answered by the pool pausing, not by the breaker. Time comes
from the clock given (the governor's: the event loop's, by default), so tests can drive it;
nothing reads it when the breaker is made, so a breaker can be made outside any event loop.
"""

from __future__ import annotations

import enum
import logging
import math
import random
import statistics
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

import anyio

from ._errors import CircuitOpenError, ValidationError
from ._params import check_whole

__all__ = ["Admission", "Breaker", "CircuitBreaker", "CircuitState"]

logger = logging.getLogger("crossref_async")


@dataclass(frozen=True)
class Breaker:
    """The circuit breaker's settings (see the module docstring for why these numbers).

    Pass it as ``Crossref(pacing=Pacing(breaker=Breaker(...)))``; every client keeps its own state
    (``cr.governor.breaker``), so one ``Breaker`` can configure many clients.

    >>> Breaker()
    Breaker(threshold=0.1, confidence=0.99, window=500, max_age=300.0, min_requests=20,
            consecutive=8, cooldown=5.0, max_cooldown=120.0, enabled=True)
    >>> Breaker(cooldown=-1)
    Traceback (most recent call last):
    ...
    crossref_async.ValidationError: -1: cooldown must be seconds above 0
    """

    threshold: float = 0.10
    confidence: float = 0.99
    window: int = 500
    max_age: float = 300.0
    min_requests: int = 20
    consecutive: int = 8
    cooldown: float = 5.0
    max_cooldown: float = 120.0
    enabled: bool = True

    def __post_init__(self) -> None:
        _check(self.threshold, "threshold", 0.0, 1.0, "a share between 0 and 1")
        _check(self.confidence, "confidence", 0.5, 0.999999, "between 0.5 and 0.999999")
        for name in ("window", "min_requests", "consecutive"):
            value = getattr(self, name)
            check_whole(value, name)
        for name in ("max_age", "cooldown", "max_cooldown"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
                raise ValidationError(value, f"{name} must be seconds above 0")

    @property
    def z(self) -> float:
        """The one-sided normal quantile of ``confidence`` (2.33 for 99%).

        >>> round(Breaker().z, 2)
        2.33
        """
        return statistics.NormalDist().inv_cdf(self.confidence)


def _check(value: object, name: str, low: float, high: float, rule: str) -> None:
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or not math.isfinite(value)
        or not low < value <= high
    ):
        raise ValidationError(value, f"{name} must be {rule}")


def _seconds(value: float) -> str:
    return f"{value:.0f} s" if value >= 10 else f"{value:.2g} s"


def lower_bound(failures: int, n: int, z: float) -> float:
    """The Wilson score lower bound of a failure rate: the rate is at least this with the
    confidence ``z`` stands for.

    >>> round(lower_bound(2, 20, 2.33), 3), round(lower_bound(20, 20, 2.33), 3)
    (0.023, 0.787)
    """
    if n == 0:
        return 0.0
    p = failures / n
    zz = z * z
    centre = p + zz / (2 * n)
    spread = z * math.sqrt(p * (1 - p) / n + zz / (4 * n * n))
    return max(0.0, (centre - spread) / (1 + zz / n))


class CircuitState(enum.Enum):
    """Closed (sending), open (cooling down), half-open (one probe in flight)."""

    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half-open"


@dataclass(frozen=True)
class Admission:
    """What the breaker says to a request that wants to go: ``go`` now (as the ``probe``
    of a half-open circuit, or not), or ``wait`` that many seconds (None: until the probe's
    outcome is known) and ask again."""

    go: bool
    probe: bool = False
    wait: float | None = 0.0


class CircuitBreaker:
    """The state of one client's breaker, driven by the governor.

    The governor asks :meth:`admit` before each request and tells :meth:`record` how each
    ended (``probe=True`` for the probe). Here a server fails every request:

    >>> now = [0.0]
    >>> breaker = CircuitBreaker(Breaker(), clock=lambda: now[0])
    >>> for _ in range(8):
    ...     breaker.record(True)
    >>> breaker.state, breaker.failure_rate
    (<CircuitState.OPEN: 'open'>, 1.0)
    >>> breaker.admit().go, 4.0 < breaker.admit().wait <= 5.5
    (False, True)
    >>> now[0] = 6.0
    >>> breaker.admit()  # the cool-down is over: one probe may go
    Admission(go=True, probe=True, wait=0.0)
    >>> breaker.admit()  # the others wait for its outcome
    Admission(go=False, probe=False, wait=None)
    >>> breaker.record(False, probe=True)
    >>> breaker.state
    <CircuitState.CLOSED: 'closed'>
    """

    def __init__(
        self,
        settings: Breaker | None = None,
        *,
        clock: Callable[[], float],
        rng: random.Random | None = None,
    ) -> None:
        self.settings = settings or Breaker()
        self._clock = clock
        self._rng = rng or random.Random()
        self._z = self.settings.z
        self._outcomes: deque[tuple[float, bool]] = deque()
        self._failures = 0
        self._run = 0
        self.state = CircuitState.CLOSED
        self.opened_at: float | None = None
        self.reopen_at = -math.inf
        self._cooldown = self.settings.cooldown
        self._reason = ""
        self._cause = ""
        self._probes_failed = 0
        self._closed_at: float | None = None
        self._opened_sample = (0, 0)
        self._changed: anyio.Event | None = None  # made on first use, inside an event loop
        self.openings = 0

    # -- what it knows ------------------------------------------------------------------------

    @property
    def tripped(self) -> bool:
        """Whether the circuit is open or half-open (not sending freely)."""
        return self.state is not CircuitState.CLOSED

    @property
    def failure_rate(self) -> float:
        """The failing share of the sample (the one that opened it, while open).

        >>> breaker = CircuitBreaker(clock=lambda: 0.0)
        >>> for failed in [True, False, False, False]:
        ...     breaker.record(failed)
        >>> breaker.failure_rate
        0.25
        """
        failures, n = self._opened_sample if self.tripped else (self._failures, self.sample)
        return failures / n if n else 0.0

    @property
    def sample(self) -> int:
        """Requests in the sample now."""
        return len(self._outcomes)

    @property
    def reason(self) -> str:
        """Why the circuit opened (empty while closed)."""
        return self._reason if self.tripped else ""

    def remaining(self) -> float:
        """Seconds until a probe may go (0 when one may, or the circuit is closed)."""
        if self.state is CircuitState.OPEN:
            return max(0.0, self.reopen_at - self._clock())
        return 0.0

    # -- driving it -----------------------------------------------------------------------------

    def admit(self) -> Admission:
        """Whether a request may go now; a request told to go as the probe must be reported
        with ``record(..., probe=True)`` or :meth:`abandon_probe`."""
        if not self.settings.enabled or self.state is CircuitState.CLOSED:
            return Admission(go=True)
        if self.state is CircuitState.HALF_OPEN:
            return Admission(go=False, wait=None)
        left = self.reopen_at - self._clock()
        if left > 0:
            return Admission(go=False, wait=left)
        self.state = CircuitState.HALF_OPEN
        logger.info("circuit half-open: sending one probe request (%s)", self._reason)
        return Admission(go=True, probe=True)

    def record(self, failed: bool, *, probe: bool = False) -> None:
        """Count one finished request (``failed``: a 5xx, no answer, an unusable body)."""
        now = self._clock()
        if probe:
            if failed:
                self._cooldown = min(self.settings.max_cooldown, self._cooldown * 2)
                self._probes_failed += 1
                self._open(now, self._cause)
            else:
                self._close(now)
            return
        if self.state is not CircuitState.CLOSED:
            return  # requests sent before it opened: the decision is made
        self._outcomes.append((now, failed))
        self._failures += failed
        self._run = self._run + 1 if failed else 0
        self._forget(now)
        self._run = min(self._run, self.sample)  # a run counts within the sample only
        if not self.settings.enabled:
            return
        n = self.sample
        if self._run >= self.settings.consecutive:
            self._open(now, f"{self._run} request{'s' if self._run > 1 else ''} in a row failed")
        elif (
            n >= self.settings.min_requests
            and lower_bound(self._failures, n, self._z) >= self.settings.threshold
        ):
            self._open(
                now,
                f"{self._failures} of the last {n} requests failed "
                f"({self._failures / n:.0%}: at least {self.settings.threshold:.0%} "
                f"with {self.settings.confidence:.0%} confidence)",
            )

    def abandon_probe(self) -> None:
        """The probe was cancelled: the next request may probe at once."""
        if self.state is CircuitState.HALF_OPEN:
            self.state = CircuitState.OPEN
            self.reopen_at = self._clock()
            self._notify()

    def reset(self) -> None:
        """Close the circuit and forget everything.

        >>> breaker = CircuitBreaker(Breaker(consecutive=1), clock=lambda: 0.0)
        >>> breaker.record(True)
        >>> breaker.tripped
        True
        >>> breaker.reset()
        >>> breaker.tripped, breaker.failure_rate
        (False, 0.0)
        """
        self._close(self._clock(), quiet=True)
        self._cooldown = self.settings.cooldown

    def check(self) -> None:
        """Raise :class:`CircuitOpenError` unless a request may go now.

        >>> breaker = CircuitBreaker(Breaker(consecutive=2), clock=lambda: 0.0)
        >>> breaker.check()  # closed: nothing happens
        >>> breaker.record(True)
        >>> breaker.record(True)
        >>> try:
        ...     breaker.check()
        ... except CircuitOpenError as error:
        ...     print(error)
        stopped sending for ... s: 2 requests in a row failed; Crossref asks clients to stop at
        an error rate of 10% or more. One probe request goes in ... s; finished work is kept.
        """
        if self.tripped and not (self.state is CircuitState.OPEN and self.remaining() == 0):
            raise self.error()

    def error(self) -> CircuitOpenError:
        """The error for a request that cannot wait for the circuit to close."""
        wait = self.remaining() if self.state is CircuitState.OPEN else self._cooldown
        failures, n = self._opened_sample
        return CircuitOpenError(
            f"stopped sending for {_seconds(self._cooldown)}: {self._reason}; Crossref asks "
            f"clients to stop at an error rate of 10% or more. One probe request goes in "
            f"{_seconds(wait)}; finished work is kept.",
            retry_in=wait,
            failure_rate=failures / n if n else None,
            sample=n,
        )

    async def changed(self) -> None:
        """Wait until the circuit changes state (opens again, closes, or loses its probe)."""
        if self._changed is None:
            self._changed = anyio.Event()
        await self._changed.wait()

    # -- transitions ------------------------------------------------------------------------

    def _forget(self, now: float) -> None:
        horizon = now - self.settings.max_age
        while self._outcomes and (
            len(self._outcomes) > self.settings.window or self._outcomes[0][0] < horizon
        ):
            self._failures -= self._outcomes.popleft()[1]

    def _open(self, now: float, cause: str) -> None:
        if self.state is CircuitState.CLOSED:
            if self._closed_at is None or now - self._closed_at >= self.settings.max_age:
                self._cooldown = self.settings.cooldown
            else:
                # Open again soon after closing: a flapping server is probed less and less
                # often, not sent a fresh burst every few seconds.
                self._cooldown = min(self.settings.max_cooldown, self._cooldown * 2)
            self._opened_sample = (self._failures, self.sample)
            self.opened_at = now
            self.openings += 1
            self._probes_failed = 0
        self.state = CircuitState.OPEN
        self._cause = cause
        probes = self._probes_failed
        self._reason = cause + (
            f"; {probes} probe{'s' if probes > 1 else ''} failed since" if probes else ""
        )
        reason = self._reason
        jitter = 1.0 + self._rng.uniform(-0.1, 0.1)
        self.reopen_at = now + self._cooldown * jitter
        logger.warning(
            "circuit open: %s; no requests for %.0f s, then one probe (Crossref asks clients "
            "to stop at an error rate of 10%% or more)",
            reason,
            self.reopen_at - now,
        )
        self._notify()

    def _close(self, now: float, *, quiet: bool = False) -> None:
        if self.tripped and not quiet:
            down = now - (self.opened_at or now)
            logger.warning("circuit closed: the probe succeeded after %.0f s; sending again", down)
        self.state = CircuitState.CLOSED
        self._outcomes.clear()
        self._failures = 0
        self._run = 0
        self._reason = ""
        self._opened_sample = (0, 0)
        self._closed_at = None if quiet else now
        self.opened_at = None
        self._notify()

    def _notify(self) -> None:
        if self._changed is not None:
            self._changed.set()
            self._changed = None
