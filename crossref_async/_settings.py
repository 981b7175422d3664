"""Settings of the governor, apart from the state it keeps.

A settings object is frozen and holds no state, so one of them can configure any number of
clients: each client's governor builds its own pools and its own breaker from it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ._breaker import Breaker

__all__ = ["Pacing"]


@dataclass(frozen=True)
class Pacing:
    """How the client governs its requests: pacing to the rate and concurrency Crossref
    advertises, and the circuit breaker's settings.

    Args:
        enabled: False turns the governor off (no pacing, no concurrency window, no
            breaker): for tests against mocks only, never against Crossref.
        breaker: the circuit breaker's settings (:class:`Breaker`).

    >>> from crossref_async import Breaker, Crossref, Pacing
    >>> patient = Pacing(breaker=Breaker(cooldown=10))
    >>> a = Crossref(mailto="me@example.org", pacing=patient)
    >>> b = Crossref(mailto="me@example.org", pacing=patient)
    >>> a.governor.breaker is b.governor.breaker  # one setting, a breaker each
    False
    >>> Crossref(mailto="me@example.org", pacing=Pacing.off()).governor is None
    True
    """

    enabled: bool = True
    breaker: Breaker = field(default_factory=Breaker)

    @classmethod
    def off(cls) -> Pacing:
        """No governor at all: for tests against mocks only.

        >>> Pacing.off().enabled
        False
        """
        return cls(enabled=False)
