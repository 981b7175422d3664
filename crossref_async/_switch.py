"""One switch for tests: retries without waiting, and no pacing (as ``stamina.set_testing``).

Test suites want errors fast and deterministic: a failing request should fail at once (or
after a known number of tries), without backoff sleeps, without the governor's pacing or its
circuit breaker holding the call. :func:`set_testing` turns that on for the whole process, for
every client (made before or after), and :func:`is_testing` tells the pipeline to skip the
governor. The switch is read on every call, so turning it off restores each client's own
:class:`~crossref_async.RetryPolicy` at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import TracebackType

from ._errors import ValidationError

__all__ = ["is_testing", "set_testing", "testing_attempts"]


@dataclass(frozen=True)
class _Testing:
    attempts: int


# One process-wide setting, as stamina has: tests flip it from fixtures, outside any client.
# Rebinding a module global is atomic, so no lock is needed to read or replace it.
_state: _Testing | None = None


class _Restore:
    """What :func:`set_testing` returns: as a context manager, it puts back the setting that
    was in force before the call when the block ends."""

    def __init__(self, previous: _Testing | None) -> None:
        self._previous = previous

    def __enter__(self) -> None:
        return None

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        global _state
        _state = self._previous


def set_testing(testing: bool, *, attempts: int = 1) -> _Restore:
    """Turn test mode on or off for every client in this process.

    While on, each request is tried at most ``attempts`` times (whatever the client's
    :class:`~crossref_async.RetryPolicy` says; errors no retry can fix still stop at the first
    try), retries never wait (no backoff), and the governor (pacing, concurrency window,
    circuit breaker) is skipped. Calling it again replaces the setting; it can also be used as
    a context manager, which restores the previous setting on leaving the block.

    >>> from crossref_async import Crossref, ServerError, is_testing, set_testing
    >>> from crossref_async.testing import FakeCrossref, Faults
    >>> down = FakeCrossref(limits="unmetered", faults=Faults(error_rate=1.0))
    >>> client = Crossref(mailto="me@example.org", transport=down.transport())
    >>> with set_testing(True, attempts=2):
    ...     try:
    ...         await client.work("10.5555/12345678")
    ...     except ServerError as error:
    ...         print(error.status, "after", down.stats.total_requests, "requests")
    503 after 2 requests
    >>> is_testing()
    False

    ``attempts`` must be a whole number of at least 1:

    >>> set_testing(True, attempts=0)
    Traceback (most recent call last):
    ...
    crossref_async.ValidationError: 0: attempts must be an int of at least 1
    """
    global _state
    if isinstance(attempts, bool) or not isinstance(attempts, int) or attempts < 1:
        raise ValidationError(attempts, "attempts must be an int of at least 1")
    previous = _state
    _state = _Testing(attempts) if testing else None
    return _Restore(previous)


def is_testing() -> bool:
    """Whether test mode is on (see :func:`set_testing`).

    >>> from crossref_async import is_testing, set_testing
    >>> with set_testing(True):
    ...     print(is_testing())
    True
    >>> is_testing()
    False
    """
    return _state is not None


def testing_attempts() -> int | None:
    """The tries per request test mode allows, or None when test mode is off."""
    state = _state
    return None if state is None else state.attempts
