"""Fault injection: latency and the ways Crossref (and the network before it) misbehave.

Every API request draws from one generator seeded with ``Faults.seed``, the same number of
draws whatever happens, so a run is reproducible given the seed and the order in which
requests arrive. At most one fault hits a request; the rates are shares of all requests (they
must add up to 1 or less).

What each fault looks like to a client:

=================  ===============================================================================
``error``          status ``error_status`` (503 by default) with an nginx-style HTML page, after the
                   latency; the request did nothing (a cursor does not advance).
``spurious_429``   429 with the usual HTML body and headers although no limit was exceeded;
                   answered at once and not counted against the pool.
``reset``          the server did the work (a cursor advanced) and then the connection is cut
                   without a response: on a socket a TCP reset (``httpx.ReadError`` or
                   ``httpx.RemoteProtocolError``); in process the app raises ``httpx.ReadError``.
``truncate``       the server did the work, sent the status line, headers (with the full
                   ``Content-Length``) and part of the body, then closed the connection: on a
                   socket ``httpx.RemoteProtocolError`` ("peer closed connection without sending
                   complete message body"); in process the app raises the same error.
``malformed``      200 with a properly framed body that is not valid JSON (the real body cut
                   short); the work was done.
``slow_body``      the full body in eight chunks spread over ``slow_body_seconds``.
``short_page``     a list page with ``short_page_shortfall`` (1) fewer items than ``rows`` although
                   more remain, as recorded (19 items for ``rows=20`` at offset 0 of 336,022). Only
                   pages with more than ``rows`` items left are cut, so a short page is never the
                   last one. A cursor moves on by what it served: the next page starts right after
                   the last item served, no record is lost by the server. Offset paging simply gets
                   fewer items (``offset`` + ``rows`` picks up after them). Singletons ignore it.
``corrupt_gzip``   200 with ``content-encoding: gzip`` whose compressed bytes were damaged in
                   transit (bytes in the middle and the CRC flipped): the decoder fails (httpx
                   raises ``httpx.DecodingError``). Sent gzipped even if the request did not ask
                   for it, as a broken proxy would; the work was done (a cursor advanced).
``gzip_bomb``      200 with ``content-encoding: gzip``: a small body that expands to
                   ``gzip_bomb_bytes`` of spaces (512 MiB, twice the client's default cap; tests set
                   it small), which a client must stop reading at its ``max_body_size``. Sent
                   whatever the request's ``Accept-Encoding``; the work was done.
``block``          every request is answered 403 with an HTML page (an IP block).
``outages``        ``(start, length)`` windows, in seconds of the simulator's clock after its first
                   request, in which every request fails: 503 with an nginx page, or (with
                   ``outage_answer="maintenance"``) 200 with an HTML maintenance page, as a proxy
                   or captive portal in front of the API would answer.
=================  ===============================================================================

Latency (``latency`` plus a uniform share of ``jitter``) is slept before the answer to every
admitted request; ``per_row`` more per returned row after the page was computed, so a client
that gives up during it has lost a page that the server already served.
"""

from __future__ import annotations

import enum
import random
from dataclasses import dataclass


class Fault(enum.Enum):
    """A fault drawn for one request. Its value is the ``fault`` of the request's
    :class:`RequestRecord` in ``stats.log``.

    >>> [fault.value for fault in Fault]  # doctest: +NORMALIZE_WHITESPACE
    ['error', 'spurious_429', 'reset', 'truncate', 'malformed', 'slow_body', 'short_page',
     'corrupt_gzip', 'gzip_bomb']
    >>> Fault("reset")
    <Fault.RESET: 'reset'>
    """

    ERROR = "error"
    SPURIOUS_429 = "spurious_429"
    RESET = "reset"
    TRUNCATE = "truncate"
    MALFORMED = "malformed"
    SLOW_BODY = "slow_body"
    SHORT_PAGE = "short_page"
    CORRUPT_GZIP = "corrupt_gzip"
    GZIP_BOMB = "gzip_bomb"


@dataclass(frozen=True)
class Faults:
    """Fault and latency settings (see the module docstring for the wire behaviour).

    ``only_lists``: faults (not latency) hit list requests only, so single-record look-ups
    stay clean.

    >>> Faults(error_rate=0.1, reset_rate=0.05).error_rate
    0.1
    >>> Faults(error_rate=0.7, reset_rate=0.5)
    Traceback (most recent call last):
    ...
    ValueError: fault rates must be between 0 and 1 and add up to 1 at most
    """

    latency: float = 0.0
    jitter: float = 0.0
    per_row: float = 0.0
    error_rate: float = 0.0
    error_status: int = 503
    spurious_429_rate: float = 0.0
    reset_rate: float = 0.0
    truncate_rate: float = 0.0
    slow_body_rate: float = 0.0
    slow_body_seconds: float = 2.0
    malformed_rate: float = 0.0
    short_page_rate: float = 0.0
    short_page_shortfall: int = 1
    corrupt_gzip_rate: float = 0.0
    gzip_bomb_rate: float = 0.0
    gzip_bomb_bytes: int = 512 * 1024 * 1024
    block: bool = False
    only_lists: bool = False
    seed: int = 0
    outages: tuple[tuple[float, float], ...] = ()
    outage_answer: str = "503"

    def __post_init__(self) -> None:
        rates = self.rates()
        if any(rate < 0 for _, rate in rates) or sum(rate for _, rate in rates) > 1.0 + 1e-9:
            raise ValueError("fault rates must be between 0 and 1 and add up to 1 at most")
        if min(self.latency, self.jitter, self.per_row, self.slow_body_seconds) < 0:
            raise ValueError("latencies cannot be negative")
        if self.short_page_shortfall < 1:
            raise ValueError(
                f"short_page_shortfall is {self.short_page_shortfall}; a short page lacks 1 item"
                " or more"
            )
        if self.gzip_bomb_bytes < 1:
            raise ValueError(f"gzip_bomb_bytes is {self.gzip_bomb_bytes}; it must be 1 or more")
        if not 500 <= self.error_status <= 599:
            raise ValueError("error_status must be a 5xx status")
        if any(len(w) != 2 or min(w) < 0 for w in self.outages):
            raise ValueError("outages are (start, length) pairs of seconds, 0 or more")
        if self.outage_answer not in ("503", "maintenance"):
            raise ValueError("outage_answer is '503' or 'maintenance'")

    def down_at(self, elapsed: float) -> bool:
        """Whether ``elapsed`` seconds after the first request fall in an outage.

        >>> faults = Faults(outages=((10.0, 5.0),))
        >>> faults.down_at(9.9), faults.down_at(12.0), faults.down_at(15.0)
        (False, True, False)
        """
        return any(start <= elapsed < start + length for start, length in self.outages)

    def rates(self) -> list[tuple[Fault, float]]:
        """Each per-request fault with its rate (the rule: together at most 1).

        >>> [(fault.name, rate) for fault, rate in Faults(error_rate=0.1).rates() if rate]
        [('ERROR', 0.1)]
        """
        return [
            (Fault.SPURIOUS_429, self.spurious_429_rate),
            (Fault.ERROR, self.error_rate),
            (Fault.RESET, self.reset_rate),
            (Fault.TRUNCATE, self.truncate_rate),
            (Fault.MALFORMED, self.malformed_rate),
            (Fault.SLOW_BODY, self.slow_body_rate),
            (Fault.SHORT_PAGE, self.short_page_rate),
            (Fault.CORRUPT_GZIP, self.corrupt_gzip_rate),
            (Fault.GZIP_BOMB, self.gzip_bomb_rate),
        ]


@dataclass(frozen=True)
class Plan:
    """What happens to one request: a fault (or None) and the latency before answering."""

    fault: Fault | None
    delay: float


class Dice:
    """Draws a :class:`Plan` per request, deterministically from ``Faults.seed``."""

    def __init__(self, faults: Faults) -> None:
        self.faults = faults
        self._rng = random.Random(faults.seed)
        self._bands: list[tuple[float, Fault]] = []
        upper = 0.0
        for fault, rate in faults.rates():
            if rate > 0:
                upper += rate
                self._bands.append((upper, fault))

    def roll(self, *, is_list: bool) -> Plan:
        """The plan for the next request. Always two draws, whatever the outcome."""
        fault_draw = self._rng.random()
        jitter_draw = self._rng.random()
        fault = None
        if is_list or not self.faults.only_lists:
            for upper, candidate in self._bands:
                if fault_draw < upper:
                    fault = candidate
                    break
        return Plan(fault, self.faults.latency + self.faults.jitter * jitter_draw)
