"""The one request pipeline every feature sits on: budget, retries, transport, decoding.

A call goes down the layers and its outcome comes back up through each of them::

    Session.message / Session.page / Session.send      what the features call
      Retrier            tries again while it may heal (_retry)
        Governor         waits for the pool's rate and window, or for an open breaker (_governor)
          Transport      one HTTP exchange, secrets and bounds (_transport); Service's rules
                         decide where a redirect may lead, each hop through the governor again
        decode           inside the retry loop, so a body cut short is fetched again, and before
                         the governor hears the outcome, so an unusable body is a failure

Queries, paging, the harvester, look-ups and citations all fetch through these three methods;
none of them knows httpx, the pools, or the retry policy's insides.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, TypeVar, cast

import anyio
import msgspec

from ._governor import Governor, Pause, PoolStats, RequestKind, Ticket
from ._responses import error_for, parse_retry_after
from ._retry import Outcome, Retrier, RetryPolicy
from ._sharing import Hold, Sharing
from ._switch import is_testing
from ._transport import Answer, Service, Transport, redact_url, redirect_target
from .models import Page, decode_message, decode_page, decode_raw_page

if TYPE_CHECKING:
    import httpx

__all__ = ["Session"]

T = TypeVar("T")

ServiceName = Literal["api", "cite"]


@dataclass(frozen=True)
class _Call:
    """What every hop of one call shares: the request, where it goes, how it is decoded."""

    method: str
    kind: RequestKind
    service: Service
    headers: Mapping[str, str]
    size: int
    decode: Callable[[Answer], object]
    outcome: Outcome


@dataclass(frozen=True)
class _Moved:
    """A redirect answer and where it points: the next hop of the same attempt."""

    answer: Answer
    target: httpx.URL


class Session:
    """The request pipeline of one :class:`~crossref_async.Crossref` client.

    Built by the client (``cr.session``); the layers above call :meth:`message` for a
    singleton, :meth:`page` for a page of a list route, and :meth:`send` for anything else
    (another service, a custom decoder). ``governor`` is None when pacing is off.

    >>> from crossref_async.models import Work
    >>> work = await cr.session.message("/works/10.5555/12345678", Work, "work")
    >>> work.DOI
    '10.5555/12345678'
    >>> page = await cr.session.page("/works", "work-list", [("rows", "2")], Work)
    >>> len(page.items), page.total_results
    (2, 1000)
    """

    def __init__(
        self,
        *,
        api: Service,
        cite: Service,
        user_agent: str,
        transport: Transport,
        retry: RetryPolicy,
        governor: Governor | None,
        sharing: Sharing | None = None,
    ) -> None:
        self._services: dict[ServiceName, Service] = {"api": api, "cite": cite}
        self.user_agent = user_agent
        self.transport = transport
        self.retry_policy = retry
        self.governor = governor
        #: The budget shared with other processes (``Crossref(budget=...)``), if any.
        self.sharing = sharing
        self._retrier = Retrier(retry)
        self.closed = False

    async def aclose(self) -> None:
        """Close the transport (idempotent); every later call raises RuntimeError."""
        if not self.closed:
            self.closed = True
            await self.transport.aclose()
            if self.sharing is not None:
                await self.sharing.aclose()

    # -- the three ways in ------------------------------------------------------------------

    async def message(self, path: str, model: type[T], message_type: str) -> T:
        """GET a singleton route and decode its ``message`` as ``model``."""

        def decode(answer: Answer) -> T:
            return decode_message(answer.content, model, message_type=message_type, url=answer.url)

        return await self.send("GET", path, [], "single", decode)

    async def page(
        self,
        path: str,
        message_type: str,
        params: Sequence[tuple[str, str]],
        item: type[T],
        outcome: Outcome | None = None,
    ) -> Page[T]:
        """GET one page of a list route, its items decoded as ``item`` (a model, or
        :class:`msgspec.Raw` for each item's bytes untouched). ``outcome`` (if given) learns
        the attempts made and whether one failed after it possibly reached the server, which
        matters for cursors (see :mod:`crossref_async._retry`)."""

        def decode(answer: Answer) -> Page[T]:
            if item is msgspec.Raw:
                # T is msgspec.Raw here; Page[Raw] is Page[T].
                raw = decode_raw_page(answer.content, message_type=message_type, url=answer.url)
                return cast("Page[T]", raw)
            return decode_page(answer.content, item, message_type=message_type, url=answer.url)

        return await self.send("GET", path, params, "list", decode, outcome)

    async def send(
        self,
        method: str,
        path: str,
        params: Sequence[tuple[str, str]],
        kind: RequestKind,
        decode: Callable[[Answer], T],
        outcome: Outcome | None = None,
        *,
        service: ServiceName = "api",
        accept: str = "application/json",
    ) -> T:
        """Send one request through the governor and the retry policy, and decode the answer.

        ``service="cite"`` sends to the citation service (doi.org) instead of the API: without
        the mailto, the token or the API's credentials, and free to redirect to other hosts.
        """
        if self.closed:
            raise RuntimeError("this Crossref client is closed")
        target = self._services[service]
        call = _Call(
            method=method,
            kind=kind,
            service=target,
            headers={"User-Agent": self.user_agent, "Accept": accept},
            size=_size(params),
            decode=decode,
            outcome=outcome or Outcome(),
        )
        url = target.url(path, params)

        async def attempt() -> T:
            return cast("T", await self._attempt(call, url))

        def count_retry(exc: BaseException) -> None:
            if self.governor is not None:
                self.governor.count_retry(kind)

        return await self._retrier.run(attempt, call.outcome, on_retry=count_retry)

    # -- what the layers above may ask ------------------------------------------------------

    def concurrency(self, kind: RequestKind) -> int | None:
        """The requests of ``kind`` the budget lets run at once now (None: pacing is off)."""
        return self.governor.concurrency(kind) if self.governor is not None else None

    def start_offsets(self, kind: RequestKind, n: int) -> list[float]:
        """Seconds from now until each of ``n`` requests of ``kind`` asked for now could
        start, by the budget's rate (all zero when pacing is off)."""
        return self.governor.start_offsets(kind, n) if self.governor is not None else [0.0] * n

    def paused(self) -> Pause | None:
        """Why and how long requests are held back now (an open breaker), if they are."""
        return self.governor.paused() if self.governor is not None else None

    def stats(self) -> dict[str, PoolStats]:
        """Per-pool budgets and traffic so far (empty when pacing is off)."""
        return self.governor.stats() if self.governor is not None else {}

    def is_retryable(self, exc: BaseException) -> bool:
        """Whether the retry policy counts ``exc`` as transient."""
        return self.retry_policy.is_retryable(exc)

    # -- inside -----------------------------------------------------------------------------

    async def _attempt(self, call: _Call, url: httpx.URL) -> object:
        """One try: the request, then each hop of its redirects, each through the governor
        (Crossref counts every hop against the budget: an alias DOI costs two requests)."""
        chain = [redact_url(url)]
        method = call.method
        while True:
            result = await self._exchange(call, method, url)
            if not isinstance(result, _Moved):
                return result
            url = call.service.next_hop(url, result.answer, result.target, chain)
            if result.answer.status == 303:
                method = "GET"

    async def _exchange(self, call: _Call, method: str, url: httpx.URL) -> object:
        """One hop: wait for the budget, exchange, classify and decode, then account."""
        kind, outcome = call.kind, call.outcome
        # set_testing: no pacing, no window, no breaker (and nothing learnt from the answer).
        governor = None if is_testing() else self.governor
        ticket = (
            await governor.acquire(kind, wait_limit=self._retrier.time_left(outcome))
            if governor is not None
            else None
        )
        sharing = self.sharing if ticket is not None else None
        hold: Hold | None = None
        if sharing is not None and governor is not None and ticket is not None:
            try:
                hold = await sharing.admit(
                    kind, governor.pool(kind), wait_limit=self._retrier.time_left(outcome)
                )
            except BaseException:
                # Not sent: the local slot goes back, and nothing is counted.
                governor.release(
                    kind, ticket, status=None, latency=0.0, headers=None, cancelled=True
                )
                raise
        outcome.admitted()
        started = anyio.current_time()
        answer: Answer | None = None
        cancelled = False
        # A failure unless shown otherwise: no answer, a 5xx, or a body that cannot be used.
        failed = True
        try:
            async with _holding(sharing, hold):
                answer = await self.transport.exchange(
                    method,
                    url,
                    kind=kind,
                    headers=call.headers,
                    credentials=call.service.credentials,
                    on_sent=_on_sent(ticket, hold),
                    next_step=lambda left: self._retrier.next_step(outcome, left),
                )
            if answer.problem is not None:
                raise answer.problem
            target = redirect_target(url, answer)
            if target is not None:
                failed = False
                return _Moved(answer, target)
            if answer.status >= 300:
                # 429s are not failures: the pool pauses and slows down for them. The breaker
                # is for a server that is failing (5xx, no answer, unusable bodies).
                failed = answer.status >= 500
                raise error_for(answer.status, answer.content, answer.headers, answer.url)
            result = call.decode(answer)
            failed = False
            return result
        except anyio.get_cancelled_exc_class():
            # The caller gave up (a timeout, a sibling task failed): not the server's fault.
            cancelled = True
            raise
        finally:
            if ticket is not None and governor is not None:
                retry_after = (
                    parse_retry_after(answer.headers)
                    if answer is not None and answer.status == 429
                    else None
                )
                governor.release(
                    kind,
                    ticket,
                    status=answer.status if answer is not None else None,
                    latency=anyio.current_time() - started,
                    headers=answer.headers if answer is not None else None,
                    retry_after=retry_after,
                    cancelled=cancelled,
                    size=call.size,
                    failed=failed,
                )
            if hold is not None and sharing is not None and governor is not None:
                limited = answer is not None and answer.status == 429
                await sharing.finish(
                    hold, governor.pool(kind), governor.breaker, rate_limited=limited, failed=failed
                )


def _on_sent(ticket: Ticket | None, hold: Hold | None) -> Callable[[], None] | None:
    """What to tell when the request's headers go out: the governor's log, the shared one."""
    if ticket is None:
        return None
    if hold is None:
        return ticket.sent

    def sent() -> None:
        ticket.sent()
        hold.mark_sent()

    return sent


def _holding(sharing: Sharing | None, hold: Hold | None) -> AbstractAsyncContextManager[None]:
    return sharing.holding(hold) if sharing is not None else contextlib.nullcontext()


def _size(params: Sequence[tuple[str, str]]) -> int:
    """Records a request asks for (its ``rows``; 1 for a singleton): latency grows with it."""
    rows = next((value for name, value in params if name == "rows"), None)
    return int(rows) if rows is not None and rows.isdecimal() else 1
