"""Retries that heal without making things worse: a small public policy over tenacity.

What is retried: 429, 5xx, 408, timeouts, broken connections and truncated bodies. What is
not: 400, 401, 403, 404 and every client-side validation error, which no retry can fix. Waits
use full jitter (a random wait between 0 and an exponentially growing cap) so that many
clients failing together do not come back together; a 429 waits for the pool's pause in the
governor instead, which honours ``Retry-After``. Every attempt goes through the governor
again. A retry budget shared by the whole client (retries may add at most ``budget_ratio``
of the request volume, after a small allowance) keeps a failing server from being hammered.

Cursor requests are special. Crossref keeps a cursor's position on the server and usually
hands back the same token page after page, so a request that reached the server and was
then lost (a read timeout, a reset, a truncated or 5xx answer) may have advanced the cursor:
retrying it returns the *next* page and the lost one is skipped silently. Failures are
therefore classified as *safe* (the request certainly did not reach the server: the
connection was never made, or it was refused with 429) or *ambiguous* (anything else). The
pipeline reports whether a call succeeded only after an ambiguous failure (``replayed``);
paging marks such a stream as possibly gapped, and the harvester verifies the shard's count
and redoes it when a page is missing.

Both judgements rest on facts the transport records on the errors it raises (``transient``,
``possibly_reached``): nothing here looks at httpx or msgspec types.
:class:`~crossref_async.CircuitOpenError` is never retried: the breaker already waited as long
as the call's retry window allowed (the governor's ``wait_limit``).
"""

from __future__ import annotations

import logging
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from types import TracebackType
from typing import TypeVar

import anyio
import anyio.lowlevel
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception,
    stop_after_attempt,
)
from tenacity.stop import stop_base

from ._clock import loop_time
from ._errors import (
    CircuitOpenError,
    CrossrefError,
    DecodeError,
    RateLimitedError,
    ServerError,
    TransportError,
    UnexpectedStatusError,
)
from ._switch import is_testing, testing_attempts

__all__ = ["RetryBudget", "RetryPolicy"]

logger = logging.getLogger("crossref_async")

T = TypeVar("T")

RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})


@dataclass(frozen=True)
class RetryPolicy:
    """How failed requests are retried.

    Args:
        attempts: total tries per request, the first included.
        max_time: seconds after the first try past which no retry starts.
        backoff: the first wait's cap in seconds; each retry doubles it (full jitter).
        max_backoff: the largest wait cap.
        budget_ratio: retries allowed as a fraction of the client's requests.
        budget_floor: retries always allowed before the ratio applies.

    ``attempts=1`` (what :meth:`off` gives) turns retrying off: each request is tried once.

    >>> from crossref_async import Crossref, RetryPolicy
    >>> cr = Crossref(mailto="me@example.org", retry=RetryPolicy(attempts=3, max_time=30))
    >>> RetryPolicy.off().attempts
    1
    """

    attempts: int = 6
    max_time: float = 300.0
    backoff: float = 0.5
    max_backoff: float = 30.0
    budget_ratio: float = 0.2
    budget_floor: float = 10.0

    @classmethod
    def off(cls) -> RetryPolicy:
        """A policy that never retries.

        Each request is tried once and its first error reaches the caller (for tests, or
        for callers that retry by themselves), here from a server failing every request:

        >>> from crossref_async import Crossref, ServerError
        >>> from crossref_async.testing import FakeCrossref, Faults
        >>> down = FakeCrossref(limits="unmetered", faults=Faults(error_rate=1.0))
        >>> once = Crossref(
        ...     mailto="me@example.org", transport=down.transport(), retry=RetryPolicy.off()
        ... )
        >>> try:
        ...     await once.work("10.5555/12345678")
        ... except ServerError as error:
        ...     print(error.status, "after", down.stats.total_requests, "request")
        503 after 1 request
        """
        return cls(attempts=1)

    def is_retryable(self, exc: BaseException) -> bool:
        """Whether an error is transient (429, 5xx, 408, timeouts, resets, truncation).

        >>> from crossref_async import NotFoundError, ServerError
        >>> policy = RetryPolicy()
        >>> try:
        ...     await cr.work("10.5555/no-such-work")
        ... except NotFoundError as error:
        ...     print(policy.is_retryable(error))
        False
        >>> policy.is_retryable(ServerError("Bad Gateway", status=502, url="https://api.crossref.org"))
        True
        """
        if isinstance(exc, (RateLimitedError, ServerError)):
            return True
        if isinstance(exc, UnexpectedStatusError):
            return exc.status in RETRY_STATUSES
        # A body that is not JSON at all (cut short, an HTML page, garbage, a corrupt gzip
        # stream) is a broken transfer and worth another try; valid JSON of the wrong shape,
        # a body nested too deeply or one past the size cap is not.
        return isinstance(exc, (TransportError, DecodeError)) and exc.transient


def is_safe_to_repeat(exc: BaseException) -> bool:
    """Whether the failed request certainly never reached the server's application."""
    if isinstance(exc, (RateLimitedError, CircuitOpenError)):
        return True
    return isinstance(exc, TransportError) and not exc.possibly_reached


@dataclass
class RetryBudget:
    """Tokens for retries: each request earns ``ratio`` of one, each retry spends one."""

    ratio: float = 0.2
    floor: float = 10.0
    _tokens: float = field(init=False)

    def __post_init__(self) -> None:
        self._tokens = self.floor

    def earn(self) -> None:
        """A new request (not a retry) was made."""
        self._tokens = min(self.floor + 1000 * self.ratio, self._tokens + self.ratio)

    @property
    def available(self) -> bool:
        """Whether a retry could be paid for now (nothing is spent)."""
        return self._tokens >= 1.0

    def spend(self) -> bool:
        """Take one token for a retry; False when the budget is spent."""
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return True
        return False


@dataclass
class Outcome:
    """What the retry loop saw: attempts made, and whether an ambiguous failure preceded.

    With ``stop_on_ambiguous`` an ambiguous failure is raised at once instead of retried: a
    harvester that can restart a cursor from its own checkpoint prefers that to a retry whose
    answer may be the page after the lost one.
    """

    attempts: int = 0
    replayed: bool = False
    stop_on_ambiguous: bool = False
    #: When the first attempt started (the loop's clock, :func:`~._clock.loop_time`), set by
    #: the retrier.
    started: float | None = None
    #: A time (the loop's clock) past which the call neither retries nor waits for an open
    #: circuit (a harvest's outage bound), on top of the policy's ``max_time``.
    deadline: float | None = None
    #: Called once, when the budget first admits one of the call's attempts (it is sent
    #: next): a caller that orders the starts of several calls lets the next one ask then.
    on_admitted: Callable[[], None] | None = None

    def admitted(self) -> None:
        """The budget admitted an attempt: tell ``on_admitted``, the first time only."""
        notify, self.on_admitted = self.on_admitted, None
        if notify is not None:
            notify()


class _StopAfter(stop_base):
    """tenacity's ``stop_after_delay`` on the loop's clock instead of ``time.monotonic``."""

    def __init__(self, max_time: float) -> None:
        self.max_time = max_time
        self.started = loop_time()

    def __call__(self, retry_state: RetryCallState) -> bool:
        return loop_time() - self.started >= self.max_time


async def _no_wait(seconds: float) -> None:
    # Test mode waits for nothing, but still lets other tasks run (and a cancel land) between
    # attempts, as a real retry would.
    await anyio.lowlevel.checkpoint()


class Retrier:
    """Runs calls under a :class:`RetryPolicy` and a shared :class:`RetryBudget`.

    ``sleep`` waits between attempts (``anyio.sleep``; tests may pass their own to see the
    waits). While test mode is on (:func:`~crossref_async.set_testing`) its ``attempts``
    replace the policy's and nothing waits: ``sleep`` is never called.
    """

    def __init__(
        self,
        policy: RetryPolicy,
        *,
        sleep: Callable[[float], Awaitable[None]] = anyio.sleep,
    ) -> None:
        self.policy = policy
        self.budget = RetryBudget(policy.budget_ratio, policy.budget_floor)
        self._sleep = sleep

    @property
    def attempts(self) -> int:
        """Tries per request now: the policy's, or test mode's while it is on."""
        testing = testing_attempts()
        return self.policy.attempts if testing is None else testing

    def time_left(self, outcome: Outcome) -> float:
        """Seconds of the call's retry window left (``max_time`` from its first attempt);
        none when retries are off, since waiting for the server is a kind of retry, and none
        in test mode, which never waits."""
        if self.attempts <= 1 or is_testing() or outcome.started is None:
            return 0.0
        now = loop_time()
        left = self.policy.max_time - (now - outcome.started)
        if outcome.deadline is not None:
            left = min(left, outcome.deadline - now)
        return max(0.0, left)

    def next_step(self, outcome: Outcome, left: float | None) -> str:
        """What follows if the current attempt fails after ``left`` more seconds, as the
        end of a sentence (``"then retrying (attempt 2 of 6)"``), for the stall notice."""
        policy, attempts = self.policy, self.attempts
        if attempts <= 1:
            return "then giving up (retries are off)"
        if outcome.attempts >= attempts:
            return f"then giving up (this is attempt {outcome.attempts} of {attempts})"
        if outcome.stop_on_ambiguous:
            return (
                "then giving up on this request (it may have reached the server, and this "
                "cursor request is not repeated then)"
            )
        # Test mode has no retry window to run out of: it retries without waiting.
        if not is_testing() and self.time_left(outcome) <= (left or 0.0):
            return f"then giving up (past the {policy.max_time:g} s retry window)"
        if not self.budget.available:
            return "then giving up (the client's retry budget is spent)"
        return f"then retrying (attempt {outcome.attempts + 1} of {attempts})"

    def _wait(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        if is_testing():
            return 0.0
        if isinstance(exc, RateLimitedError):
            return 0.0  # the governor holds the pool for Retry-After
        cap = min(self.policy.max_backoff, self.policy.backoff * 2 ** (state.attempt_number - 1))
        return random.uniform(0.0, cap)

    def _should_retry(self, exc: BaseException, outcome: Outcome) -> bool:
        if self.attempts <= 1 or not self.policy.is_retryable(exc):
            return False
        if outcome.stop_on_ambiguous and not is_safe_to_repeat(exc):
            return False
        if outcome.deadline is not None and loop_time() >= outcome.deadline:
            return False
        if not self.budget.spend():
            logger.warning("retry budget spent; not retrying %s", type(exc).__name__)
            return False
        return True

    @staticmethod
    def _log_retry(state: RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome else None
        if exc is not None:
            logger.info(
                "retrying after %s (attempt %d): %s",
                type(exc).__name__,
                state.attempt_number,
                exc,
            )

    async def run(
        self,
        call: Callable[[], Awaitable[T]],
        outcome: Outcome,
        on_retry: Callable[[BaseException], None] | None = None,
    ) -> T:
        """Call ``call`` until it succeeds, a non-retryable error, or a cap is reached."""
        self.budget.earn()
        # The loop's clock, as the governor's: the retry window and the time the governor
        # may wait for an open circuit are then one measure (mock time in tests, too).
        outcome.started = loop_time()

        def before_sleep(state: RetryCallState) -> None:
            self._log_retry(state)
            exc = state.outcome.exception() if state.outcome else None
            if on_retry is not None and exc is not None:
                on_retry(exc)

        retrying = AsyncRetrying(
            stop=stop_after_attempt(max(1, self.attempts)) | _StopAfter(self.policy.max_time),
            wait=self._wait,
            retry=retry_if_exception(lambda exc: self._should_retry(exc, outcome)),
            before_sleep=before_sleep,
            sleep=_no_wait if is_testing() else self._sleep,
            reraise=True,
        )
        try:
            async for attempt in retrying:
                with attempt:
                    outcome.attempts = attempt.retry_state.attempt_number
                    try:
                        return await call()
                    except CrossrefError as exc:
                        if not is_safe_to_repeat(exc):
                            outcome.replayed = True
                        raise
        except BaseException as exc:
            # tenacity re-raises the last attempt's error from deep inside itself: the
            # traceback a user reads would be mostly tenacity and concurrent.futures. The same
            # error object (its __cause__, such as the httpx error, untouched) is raised again
            # from here, with only the frames of the failed call below this one ("from"
            # would replace that cause, hence the noqa).
            raise exc.with_traceback(_own_frames(exc.__traceback__))  # noqa: B904
        raise AssertionError("unreachable: tenacity either returns or reraises")


#: Modules whose frames a retried error's traceback leaves out (tenacity's loop, and the
#: future it keeps each attempt's outcome in).
_HIDDEN = ("tenacity", "concurrent.futures")


def _own_frames(tb: TracebackType | None) -> TracebackType | None:
    """``tb`` after its first entry (the frame that caught the error, which the re-raise
    adds back) without the entries of :data:`_HIDDEN` modules, relinked in place."""
    kept = []
    entry = tb.tb_next if tb is not None else None
    while entry is not None:
        module = str(entry.tb_frame.f_globals.get("__name__", ""))
        if not any(module == name or module.startswith(name + ".") for name in _HIDDEN):
            kept.append(entry)
        entry = entry.tb_next
    head: TracebackType | None = None
    for entry in reversed(kept):
        entry.tb_next = head
        head = entry
    return head
