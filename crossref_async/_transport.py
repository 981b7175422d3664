"""The one module that talks HTTP: send, follow redirects, keep secrets, bound waits and bodies.

Every request goes through :class:`Transport`, and this is the only module that uses httpx at
run time. For each exchange it

* adds the secret headers (the Plus token, credentials from a base URL as Basic auth) to the
  request just before it is sent, and only for the origin they belong to: a redirect's hop
  carries them only when it stays on the same scheme, host and port (never https to http);
* sends one hop at a time, never following a redirect itself nor letting httpx follow it (a
  caller's client may be set to): the client follows it, through the governor, with
  :func:`redirect_target` (a usable URL) and its own rules (which hosts, how many hops);
* bounds every wait: httpx's connect, read, write and pool timeouts (the read timeout applies
  to each chunk, so a body that stalls mid-way times out too), and a total deadline for the
  whole exchange, body included, so a body trickling in a byte at a time ends;
* logs one warning when an exchange is still unfinished at the stall-notice delay, naming the
  host and path, how long it has waited, and what happens next;
* counts decoded bytes against a cap (and checks ``Content-Length`` before reading), so a
  gzip bomb ends as :class:`~crossref_async.ResponseTooLargeError` at the cap (memory peaks
  at the cap plus one decoded chunk: httpx inflates a network read of up to 64 KiB at once,
  at most about 66 MB);
* translates every httpx error into the library's own, recording what retrying needs:
  whether the request possibly reached the server, and whether another try may succeed.

Secrets and exceptions: httpx attaches the request it was given to its errors
(``exc.request``), and the frames of httpx, httpcore and h11 hold the request's headers in
their locals (an h11 event, the bytes being written). So before an error leaves this module,
every httpx error in its chain gets a copy of its request without the secret headers, and the
finished frames below this one are cleared of their locals (``traceback.clear_frames``): an
error tracker that records frame locals (Sentry does by default) sees no token. This is done
only for exchanges that carried a secret; other errors keep their locals for debugging.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import math
import sys
import traceback
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import anyio
import httpx

from ._errors import (
    ConnectionFailedError,
    CrossrefError,
    DecodeError,
    RedirectError,
    RequestTimeoutError,
    ResponseTooLargeError,
    TransportError,
    UnexpectedStatusError,
    ValidationError,
    excerpt,
)
from ._params import check_whole

__all__ = [
    "DEFAULT_MAX_BODY_SIZE",
    "DEFAULT_TIMEOUTS",
    "MAX_REDIRECTS",
    "PLUS_HEADER",
    "REDIRECT_STATUSES",
    "Answer",
    "Credentials",
    "Secret",
    "Service",
    "Timeouts",
    "Transport",
    "redact_url",
    "redirect_target",
]

logger = logging.getLogger("crossref_async")

RequestKind = Literal["single", "list"]
NextStep = Callable[[float | None], str]

PLUS_HEADER = "Crossref-Plus-API-Token"
#: Hops of one request beyond the first (an alias DOI's 301 is one).
MAX_REDIRECTS = 5
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
#: The largest body read, in bytes after decompression. A full 1000-record page of works is
#: tens of megabytes at most; this is ten times more, and small enough that a gzip bomb (a
#: megabyte expanding to gigabytes) ends long before the process runs out of memory.
DEFAULT_MAX_BODY_SIZE = 256 * 2**20
# An error or redirect body is only parsed for its message and shown as an excerpt: its
# first megabyte says all of that, so more is not read (and its status still decides).
_OTHER_BODY_LIMIT = 2**20

_KIND_NAMES = {"single": "a single-record request", "list": "a list request"}
_PORTS = {"http": 80, "https": 443}


# -- secrets ---------------------------------------------------------------------------------


class Secret:
    """A string that never shows itself: its repr and str are masked, and it refuses to be
    pickled, so a secret kept in an object or a frame's locals stays out of logs, tracebacks
    and error trackers. :meth:`reveal` gives the value to the one place that sends it."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        """The secret value itself."""
        return self._value

    def __repr__(self) -> str:
        return "<redacted>"

    __str__ = __repr__

    def __reduce__(self) -> Any:
        raise TypeError("a Secret cannot be pickled")


Origin = tuple[str, str, int]


def origin(url: httpx.URL) -> Origin:
    """``(scheme, host, port)``, the port filled in: what secrets are bound to."""
    return (url.scheme, url.host, url.port or _PORTS.get(url.scheme, 0))


@dataclass(frozen=True, repr=False)
class Credentials:
    """Secret headers and the one origin they may be sent to."""

    origin: Origin
    headers: tuple[tuple[str, Secret], ...]

    def __repr__(self) -> str:
        scheme, host, port = self.origin
        names = ", ".join(name for name, _ in self.headers)
        return f"Credentials({scheme}://{host}:{port}, {names}: <redacted>)"

    def names(self) -> frozenset[str]:
        """The header names, lower case."""
        return frozenset(name.lower() for name, _ in self.headers)

    def with_headers(self, *headers: tuple[str, Secret]) -> Credentials:
        """These credentials plus more headers for the same origin."""
        return Credentials(self.origin, self.headers + headers)


def basic_auth(username: str, password: str) -> Secret:
    """The ``Authorization`` value for HTTP Basic credentials (UTF-8, as httpx encodes)."""
    token = base64.b64encode(f"{username}:{password}".encode()).decode("ascii")
    return Secret(f"Basic {token}")


def redact_url(url: httpx.URL | str) -> str:
    """The URL as it may appear in logs and errors: no user-info (credentials)."""
    parsed = httpx.URL(url)
    if parsed.userinfo:
        parsed = parsed.copy_with(username=None, password=None)
    return str(parsed)


def _shown(text: str) -> str:
    """A URL for an error message with its credentials cut out, even when it does not parse."""
    scheme, sep, rest = text.partition("://")
    if not sep:
        return text
    authority, slash, tail = rest.partition("/")
    if "@" in authority:
        authority = "<credentials>@" + authority.rsplit("@", 1)[1]
    return f"{scheme}://{authority}{slash}{tail}"


def parse_base(text: str, what: str) -> tuple[str, Credentials | None]:
    """A base URL without its credentials, and those as Basic auth for its origin.

    Taking ``user:password`` out of the URL here means no URL the client builds carries it:
    not the ones logged (httpx logs every request's URL at INFO), nor the ones in errors.
    """
    try:
        url = httpx.URL(text) if isinstance(text, str) else None
    except httpx.InvalidURL:
        url = None
    if url is None or url.scheme not in ("http", "https") or not url.host or not _port_ok(url):
        shown = _shown(text) if isinstance(text, str) else text
        raise ValidationError(
            shown, f"{what} must be an http(s) URL such as https://api.crossref.org"
        )
    credentials = None
    if url.userinfo:
        credentials = Credentials(
            origin(url), (("Authorization", basic_auth(url.username, url.password)),)
        )
        url = url.copy_with(username=None, password=None)
    return str(url).rstrip("/"), credentials


def _port_ok(url: httpx.URL) -> bool:
    # A port past 65535 is accepted by httpx's parser but makes the socket layer raise a raw
    # OverflowError; refuse it where the URL comes in instead.
    return url.port is None or 0 < url.port <= 65535


def build_url(base: str, path: str, params: Sequence[tuple[str, str]]) -> httpx.URL:
    """``base + path`` with the query parameters encoded.

    Raises :class:`ValidationError` for text that cannot go in a URL (a lone surrogate, which
    has no UTF-8 form) and for a URL longer than httpx sends (65,536 characters).
    """
    try:
        return httpx.URL(base + path, params=list(params))
    except UnicodeEncodeError:
        bad = next((value for _, value in params if not _encodable(value)), path)
        raise ValidationError(
            bad, "text sent to Crossref must be valid Unicode (this has a lone surrogate)"
        ) from None
    except httpx.InvalidURL as exc:
        size = len(path) + sum(len(name) + len(value) + 2 for name, value in params)
        raise ValidationError(
            f"<a request URL of about {size:,} characters>",
            f"the URL cannot be sent ({exc}); ask for less in one request (fewer DOIs, a "
            "shorter filter)",
        ) from None


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


# -- settings --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Timeouts:
    """How long the client waits, in seconds (None: no limit).

    Args:
        connect: to open a connection (TCP and TLS).
        read: the longest silence within an exchange: waiting for the response to start,
            or for the next chunk of its body (so a body that stalls mid-way counts).
        write: to send the request.
        pool: to get a connection from the client's connection pool.
        single_total: the deadline of a whole exchange for one record (``cr.work()``, ...),
            body included: a body trickling in slowly ends here. Each hop of a redirect
            is an exchange of its own.
        list_total: the same for a list page, which may carry a thousand full records.
        stall_notice: after this long without a complete answer the client logs a warning
            on the ``crossref_async`` logger (host, path, how long, and what happens next),
            once per request.

    Each exchange is bounded by its total; a call is bounded by that times the attempts of
    its :class:`RetryPolicy` (and ``max_time``). ``Crossref(timeout=...)`` takes this object,
    or as before a number of seconds or an :class:`httpx.Timeout` (which set the first four
    and keep the other defaults, a total never shorter than the read timeout).

    >>> from crossref_async import Crossref, Timeouts
    >>> patient = Timeouts(read=120.0, list_total=600.0)
    >>> patient.total("list"), patient.total("single")
    (600.0, 60.0)
    >>> Crossref(mailto="me@example.org", timeout=patient).timeouts.stall_notice
    20.0
    >>> Crossref(mailto="me@example.org", timeout=90).timeouts
    Timeouts(connect=90.0, read=90.0, write=90.0, pool=90.0, single_total=90.0,
             list_total=180.0, stall_notice=20.0)
    >>> Timeouts(read=-1)
    Traceback (most recent call last):
    ...
    crossref_async.ValidationError: -1: Timeouts.read must be a positive number of
    seconds, or None for no limit
    """

    connect: float | None = 10.0
    read: float | None = 60.0
    write: float | None = 30.0
    pool: float | None = 30.0
    single_total: float | None = 60.0
    list_total: float | None = 180.0
    stall_notice: float | None = 20.0

    def __post_init__(self) -> None:
        for name in self.__dataclass_fields__:
            value = getattr(self, name)
            if value is None:
                continue
            if (
                isinstance(value, bool)
                or not isinstance(value, (int, float))
                or not math.isfinite(value)
                or value <= 0
            ):
                raise ValidationError(
                    value,
                    f"Timeouts.{name} must be a positive number of seconds, or None for no limit",
                )
            object.__setattr__(self, name, float(value))

    def total(self, kind: RequestKind) -> float | None:
        """The deadline of one exchange of this kind (``"single"`` or ``"list"``).

        >>> Timeouts().total("single"), Timeouts().total("list")
        (60.0, 180.0)
        """
        return self.single_total if kind == "single" else self.list_total

    @classmethod
    def of(cls, value: float | httpx.Timeout | Timeouts | None) -> Timeouts:
        """The settings for what ``Crossref(timeout=...)`` was given.

        A number or an :class:`httpx.Timeout` sets the connect, read, write and pool
        timeouts as in httpx (None: none of them); the totals keep their defaults but are
        raised to the read timeout, so a longer read wait is not cut short:

        >>> import httpx
        >>> Timeouts.of(httpx.Timeout(5.0, read=300.0))
        Timeouts(connect=5.0, read=300.0, write=5.0, pool=5.0, single_total=300.0,
                 list_total=300.0, stall_notice=20.0)
        >>> Timeouts.of(None).read is None, Timeouts.of(None).list_total
        (True, 180.0)
        """
        if isinstance(value, Timeouts):
            return value
        if value is None:
            return cls(connect=None, read=None, write=None, pool=None)
        if isinstance(value, httpx.Timeout):
            phases = (value.connect, value.read, value.write, value.pool)
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            phases = (value, value, value, value)
        else:
            raise ValidationError(
                value, "timeout must be seconds, an httpx.Timeout, a Timeouts, or None"
            )
        connect, read, write, pool = phases
        defaults = cls()
        totals = [defaults.single_total, defaults.list_total]
        if read is not None and math.isfinite(read):
            totals = [max(total or 0.0, float(read)) for total in totals]
        return cls(connect, read, write, pool, totals[0], totals[1])

    def httpx_timeout(self) -> httpx.Timeout:
        """The per-operation limits as httpx takes them (the deadlines are the client's own).

        >>> Timeouts(connect=5).httpx_timeout()
        Timeout(connect=5.0, read=60.0, write=30.0, pool=30.0)
        """
        return httpx.Timeout(connect=self.connect, read=self.read, write=self.write, pool=self.pool)


DEFAULT_TIMEOUTS = Timeouts()


# -- answers ---------------------------------------------------------------------------------


@dataclass(frozen=True, repr=False)
class Answer:
    """A finished HTTP answer, its body read (up to the cap).

    ``problem`` is set when an answer arrived but its body cannot be used (over the cap, a
    corrupt compressed stream): the caller accounts for the answer, then raises it.
    """

    status: int
    headers: httpx.Headers
    content: bytes
    url: str  # redacted
    problem: CrossrefError | None = None

    def __repr__(self) -> str:
        # A body can be megabytes: a traceback that records locals should not print it.
        return f"Answer(status={self.status}, url={self.url!r}, {len(self.content):,} bytes)"


class _Progress:
    """How far one exchange got, for the stall notice (updated cheaply on the hot path)."""

    __slots__ = ("answered", "chunks")

    def __init__(self) -> None:
        self.answered = False
        self.chunks: list[bytes] = []


# -- the transport ---------------------------------------------------------------------------


class Transport:
    """Sends requests for a client: see the module docstring for what it guarantees."""

    def __init__(
        self,
        *,
        timeouts: Timeouts,
        max_body_size: int,
        transport: httpx.AsyncBaseTransport | None = None,
        http_client: httpx.AsyncClient | None = None,
        override_timeouts: bool = True,
    ) -> None:
        check_whole(
            max_body_size, "max_body_size", rule="max_body_size must be a positive number of bytes"
        )
        self.timeouts = timeouts
        self.max_body_size = max_body_size
        self.owns_http = http_client is None
        self.http = http_client or httpx.AsyncClient(
            timeout=timeouts.httpx_timeout(), transport=transport, follow_redirects=False
        )
        # A caller's own client keeps its own timeouts unless the caller also gave some.
        override = http_client is not None and override_timeouts
        self._request_options: dict[str, Any] = (
            {"timeout": timeouts.httpx_timeout()} if override else {}
        )
        self._read_timeout = timeouts.read if http_client is None or override else None

    def __repr__(self) -> str:
        return f"Transport(timeouts={self.timeouts!r}, max_body_size={self.max_body_size})"

    @property
    def is_closed(self) -> bool:
        """Whether the HTTP client is closed."""
        return self.http.is_closed

    async def aclose(self) -> None:
        """Close the HTTP client if this transport created it."""
        if self.owns_http:
            await self.http.aclose()

    async def exchange(
        self,
        method: str,
        url: httpx.URL,
        *,
        kind: RequestKind,
        headers: Mapping[str, str],
        credentials: Credentials | None = None,
        on_sent: Callable[[], None] | None = None,
        next_step: NextStep | None = None,
    ) -> Answer:
        """Send ``method url`` and read the answer, within the kind's deadline: one hop (a
        redirect is an answer like any other; see :func:`redirect_target`).

        ``credentials`` go with the request if ``url`` is on their origin. ``on_sent`` is
        called when the request's headers have gone out: the server counts the request then,
        which may be well after the governor let it start (a handshake on a new connection,
        an event loop busy with other work).
        ``next_step`` describes, for the stall notice, what follows if this exchange fails
        with the given seconds left (``"then retrying (attempt 2 of 6)"``).
        """
        total = self.timeouts.total(kind)
        progress = _Progress()
        loop = _running_loop()
        notice = self.timeouts.stall_notice
        timer: asyncio.TimerHandle | None = None
        if loop is not None and notice is not None and (total is None or notice < total):
            started = loop.time()
            timer = loop.call_later(
                notice, self._stalled, method, url, progress, started, total, next_step
            )
        try:
            with anyio.move_on_after(total):
                return await self._hop(method, url, headers, credentials, on_sent, progress)
            received = sum(map(len, progress.chunks))
            state = (
                f"{received:,} bytes of the body received" if progress.answered else "no response"
            )
            raise RequestTimeoutError(
                f"timed out: no complete answer within the {total:g} s deadline for "
                f"{_KIND_NAMES[kind]} ({state})",
                url=redact_url(url),
            )
        finally:
            if timer is not None:
                timer.cancel()

    def _stalled(
        self,
        method: str,
        url: httpx.URL,
        progress: _Progress,
        started: float,
        total: float | None,
        next_step: NextStep | None,
    ) -> None:
        loop = _running_loop()
        waited = (loop.time() if loop is not None else started) - started
        where = url.netloc.decode("ascii", "replace") + url.raw_path.split(b"?")[0].decode(
            "ascii", "replace"
        )
        if progress.answered:
            received = sum(map(len, progress.chunks))
            state = f"the answer is still incomplete after {_secs(waited)} ({received:,} bytes)"
        else:
            state = f"the server is not answering: no response after {_secs(waited)}"
        left = None if total is None else max(0.0, total - waited)
        wait = "waiting with no deadline" if left is None else f"waiting up to {_secs(left)} more"
        read = self._read_timeout
        if read is not None and (left is None or read < left):
            wait += f" ({_secs(read)} with no data ends it sooner)"
        then = next_step(left) if next_step is not None else "then giving up"
        logger.warning("%s %s: %s; %s, %s", method, where, state, wait, then)

    async def _hop(
        self,
        method: str,
        url: httpx.URL,
        headers: Mapping[str, str],
        credentials: Credentials | None,
        on_sent: Callable[[], None] | None,
        progress: _Progress,
    ) -> Answer:
        """Send once: secrets only within their origin, errors made ours."""

        async def trace(event: str, info: Mapping[str, Any]) -> None:
            if event.endswith("send_request_headers.complete"):
                assert on_sent is not None
                on_sent()

        extensions = {"trace": trace} if on_sent is not None else {}
        secret = (
            credentials if credentials is not None and origin(url) == credentials.origin else None
        )
        # An exception already being handled when this began is the caller's: its frames
        # are left alone when secrets are scrubbed from what is raised here.
        outer = sys.exc_info()[1]
        shown = redact_url(url)
        request = self.http.build_request(
            method, url, headers=headers, extensions=extensions, **self._request_options
        )
        logger.debug("%s %s", method, shown)
        if secret is not None:
            _attach(request, secret)
        try:
            answer = await self._send(request, shown, progress)
        except (httpx.HTTPError, httpx.InvalidURL, OSError) as exc:
            error = translate(exc, shown)
            if secret is not None:
                _scrub(exc, outer, secret)
                # Neither may this frame keep the request that carried them.
                del request
            raise error from exc
        if answer.problem is not None and secret is not None:
            _scrub(answer.problem, outer, secret)
        return answer

    async def _send(self, request: httpx.Request, shown: str, progress: _Progress) -> Answer:
        response = await self.http.send(request, follow_redirects=False, stream=True)
        try:
            progress.answered = True
            status = response.status_code
            ok = 200 <= status < 300
            limit = self.max_body_size if ok else min(self.max_body_size, _OTHER_BODY_LIMIT)
            problem: CrossrefError | None = None
            if ok:
                problem = self._announced_too_large(response.headers, shown)
            if problem is None:
                problem = await self._read(response, limit, ok, shown, progress.chunks)
            # The body is gathered here rather than stored on the response: httpx's response
            # and its stream refer to each other, so a stored body would live until the
            # cycle collector runs (pages of megabytes piling up).
            content = b"" if problem is not None else b"".join(progress.chunks)
            return Answer(status, response.headers, content, shown, problem)
        finally:
            await response.aclose()

    def _announced_too_large(
        self, headers: httpx.Headers, shown: str
    ) -> ResponseTooLargeError | None:
        length = headers.get("content-length")
        if length is None or not (length.isascii() and length.isdigit()):
            return None
        # A length of more digits than any real size is over the cap without parsing it.
        announced = int(length) if len(length) <= 18 else 10**18
        if announced <= self.max_body_size:
            return None
        return ResponseTooLargeError(
            f"the body is larger than the {self.max_body_size:,}-byte cap ({announced:,} bytes "
            "announced); raise Crossref(max_body_size=...) if such answers are expected",
            limit=self.max_body_size,
            received=announced,
            url=shown,
        )

    async def _read(
        self,
        response: httpx.Response,
        limit: int,
        ok: bool,
        shown: str,
        chunks: list[bytes],
    ) -> CrossrefError | None:
        """Read the decoded body into ``chunks``, up to ``limit`` bytes.

        A success body past the limit, or whose compression is corrupt, is a problem; any
        other body is cut at the limit, or where its compression broke, and kept as is.
        """
        received = 0
        try:
            async for chunk in response.aiter_bytes():
                received += len(chunk)
                if received > limit:
                    if ok:
                        return ResponseTooLargeError(
                            f"the body is larger than the {limit:,}-byte cap (reading stopped "
                            f"at {received:,} bytes); raise Crossref(max_body_size=...) if such "
                            "answers are expected",
                            limit=limit,
                            received=received,
                            url=shown,
                        )
                    chunks.append(chunk[: len(chunk) - (received - limit)])
                    return None
                chunks.append(chunk)
        except httpx.DecodingError as exc:
            if not ok:
                return None
            problem = translate(exc, shown)
            problem.__cause__ = exc
            return problem
        return None


def _secs(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds >= 10 else f"{seconds:.1f} s"


def _running_loop() -> asyncio.AbstractEventLoop | None:
    # The stall notice is a timer on the asyncio loop (a handle costs far less than a task
    # per request); on another anyio backend there is no notice, the deadlines still hold.
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


def redirect_target(url: httpx.URL, answer: Answer) -> httpx.URL | None:
    """Where a redirect answer to ``url`` points (its ``Location``, resolved against
    ``url``), or None when the answer is no redirect.

    Raises :class:`UnexpectedStatusError` for a ``Location`` that is not an http(s) URL with a
    usable port: the server would send the same one again.
    """
    if answer.status not in REDIRECT_STATUSES or "location" not in answer.headers:
        return None
    location = answer.headers["location"]
    try:
        target = url.join(location)
    except httpx.InvalidURL:
        target = None
    if (
        target is None
        or target.scheme not in ("http", "https")
        or not target.host
        or not (_port_ok(target))
    ):
        raise UnexpectedStatusError(
            f"redirect not followed: {excerpt(_redact_text(location), 200)!r} is not an "
            "http(s) URL",
            status=answer.status,
            url=answer.url,
            body_excerpt=excerpt(answer.content),
        )
    return target


@dataclass(frozen=True)
class Service:
    """One service the client talks to: where it is, what goes to it only, and where its
    redirects may lead. The rules on tokens and hosts live here and nowhere else.

    The API (``mailto`` set or not, ``same_host=True``) is followed within its own host only,
    so the polite identity and any token stay there, and keeps ``mailto`` on every hop (a
    ``Location`` without the query string would drop it). Other services (doi.org, which
    redirects to publishers by design) carry neither the mailto nor the API's credentials,
    and may redirect anywhere; their own credentials go to their own origin only
    (:meth:`Transport.exchange` attaches them per hop).

    >>> api = Service("https://api.crossref.org/v1", None, mailto="me@example.org")
    >>> api.url("/works", [("rows", "0")])
    URL('https://api.crossref.org/v1/works?rows=0&mailto=me%40example.org')
    """

    base: str
    credentials: Credentials | None
    mailto: str | None = None
    same_host: bool = True

    def url(self, path: str, params: Sequence[tuple[str, str]]) -> httpx.URL:
        """The URL of ``path`` with ``params`` (and the mailto, for the API)."""
        query = list(params)
        if self.mailto:
            query.append(("mailto", self.mailto))
        return build_url(self.base, path, query)

    def next_hop(
        self, url: httpx.URL, answer: Answer, target: httpx.URL, chain: list[str]
    ) -> httpx.URL:
        """The URL to ask next for a redirect from ``url`` to ``target``, appended to
        ``chain`` (the redacted URLs asked so far); :class:`RedirectError` when the rules
        refuse it (another host for the API, a loop, too many hops).

        >>> import httpx
        >>> api = Service("https://api.crossref.org/v1", None, mailto="me@example.org")
        >>> here = httpx.URL("https://api.crossref.org/v1/works/10.1/old?mailto=me%40example.org")
        >>> moved = Answer(301, {}, b"", str(here))
        >>> api.next_hop(here, moved, httpx.URL("https://api.crossref.org/v1/works/10.1/new"), [])
        URL('https://api.crossref.org/v1/works/10.1/new?mailto=me%40example.org')
        >>> api.next_hop(here, moved, httpx.URL("https://evil.example/x"), [])
        Traceback (most recent call last):
        ...
        crossref_async.RedirectError: 301 from https://api.crossref.org/v1/works/10.1/old?...:
        redirect refused: it leads away from the API's host api.crossref.org ...
        """

        def refuse(why: str, to: httpx.URL | None = None) -> RedirectError:
            return RedirectError(
                why,
                status=answer.status,
                url=answer.url,
                chain=[*chain, redact_url(to)] if to is not None else list(chain),
                body_excerpt=excerpt(answer.content),
            )

        if len(chain) > MAX_REDIRECTS:
            raise refuse(f"more than {MAX_REDIRECTS} redirects")
        if self.same_host and target.host != url.host:
            raise refuse(
                f"redirect refused: it leads away from the API's host {url.host} (the client "
                "follows redirects only within it, so the mailto and any token stay there)",
                target,
            )
        if self.mailto and "mailto" not in target.params:
            target = target.copy_add_param("mailto", self.mailto)
        if redact_url(target) in chain:
            raise refuse("redirect loop: sent back to a URL already asked for", target)
        chain.append(redact_url(target))
        return target


def _redact_text(text: str) -> str:
    """``text`` with the credentials of a URL in it removed, even if it does not parse."""
    try:
        return redact_url(text)
    except httpx.InvalidURL:
        return _shown(text)


def _attach(request: httpx.Request, credentials: Credentials) -> None:
    for name, value in credentials.headers:
        request.headers[name] = value.reveal()


def translate(exc: BaseException, url: str) -> TransportError | DecodeError:
    """The library's error for an httpx (or socket) error, with the facts retrying needs.

    Only a failure to connect, or to get a pooled connection, proves the request never
    reached the server; everything else may have been acted on (a cursor may have moved).
    """
    name = type(exc).__name__
    if isinstance(exc, httpx.TimeoutException):
        unsent = isinstance(exc, (httpx.ConnectTimeout, httpx.PoolTimeout))
        return RequestTimeoutError(f"timed out: {name}", url=url, possibly_reached=not unsent)
    if isinstance(exc, httpx.DecodingError):
        # A compressed stream that does not decode was damaged in transit: worth a retry.
        return DecodeError(str(exc), message_type="response body", url=url, transient=True)
    if isinstance(exc, httpx.ConnectError):
        return ConnectionFailedError(f"{name}: {exc}", url=url, possibly_reached=False)
    if isinstance(exc, httpx.InvalidURL) or (
        isinstance(exc, httpx.RemoteProtocolError) and "location header" in str(exc)
    ):
        # httpx reads a redirect's Location even when not following it, and fails on one
        # that is not a URL: the server will send the same one again.
        return ConnectionFailedError(
            f"redirect not followed: the Location header is not a usable URL ({exc})",
            url=url,
            transient=False,
        )
    # This side's protocol errors and unusable URLs come back the same on every try.
    permanent = isinstance(exc, (httpx.LocalProtocolError, httpx.UnsupportedProtocol))
    return ConnectionFailedError(f"{name}: {exc}", url=url, transient=not permanent)


def _scrub(
    exc: BaseException, outer: BaseException | None, credentials: Credentials | None
) -> None:
    """Take the secrets out of ``exc`` and everything it chains to, down to ``outer`` (the
    caller's exception, left as it is): httpx errors get a copy of their request without the
    secret headers, and the finished frames are cleared of their locals."""
    names = credentials.names() if credentials is not None else frozenset()
    seen: set[int] = set()
    todo: list[BaseException | None] = [exc]
    while todo:
        item = todo.pop()
        if item is None or item is outer or id(item) in seen:
            continue
        seen.add(id(item))
        # httpx's ``request`` property raises when none is set; its field tells.
        if isinstance(item, httpx.HTTPError) and item._request is not None:  # noqa: SLF001
            request = item._request  # noqa: SLF001
            kept = [(k, v) for k, v in request.headers.multi_items() if k.lower() not in names]
            item.request = httpx.Request(request.method, request.url, headers=kept)
        if item.__traceback__ is not None:
            # Frames still running (this one and its callers) are skipped by clear_frames.
            traceback.clear_frames(item.__traceback__)
        todo += [item.__cause__, item.__context__]
