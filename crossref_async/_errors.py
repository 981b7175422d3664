"""Every error crossref-async raises, rooted in one class.

```
CrossrefError
├── ValidationError (also ValueError)   bad input, raised before any request is sent
│   └── InvalidDOIError                 not a DOI (10.<digits>/<suffix>)
├── APIError                            the server answered with an error status
│   ├── BadRequestError        400      validation-failure bodies, parsed into `messages`
│   ├── UnauthorizedError      401      the Plus token was refused
│   ├── ForbiddenError         403      the client is blocked
│   ├── NotFoundError          404      no such record or route (plain-text bodies too)
│   ├── RateLimitedError       429      carries `retry_after` (seconds) when the server said
│   ├── ServerError            5xx      HTML pages and `exception` bodies alike
│   └── UnexpectedStatusError  other    any status the above do not cover
│       └── RedirectError      3xx      a redirect refused: another host, a loop, too many
├── TransportError                      no usable HTTP answer
│   ├── ConnectionFailedError           refused, reset, DNS, TLS, protocol errors
│   └── RequestTimeoutError             connect, read, write, pool timeout or the deadline
├── DecodeError                         truncated or non-JSON body where JSON was promised
│   └── ResponseTooLargeError           a body past the size cap (never retried)
├── IncompleteResultsError              paging lost a page (a cursor retried after it moved)
├── HarvestStateError                   a harvest's saved state does not fit this run
│   └── OutputLockedError               another harvest is writing the same output now
├── OutputError                         the output or the harvest state cannot be written
├── VerificationError                   the finished output does not hold what was expected
├── OffsetLimitError                    offset paging reached Crossref's 10,000 cap
└── CircuitOpenError                    too many errors: the client stopped sending
```

Errors from a response carry the status, the request URL with secrets removed, and a short
excerpt of the body. Lower-layer (httpx, msgspec) errors are translated at the boundary with
``raise ... from exc``, so callers catch only these classes. The translation records what
retrying needs to know, so nothing above the transport looks at httpx or msgspec types:
``transient`` (another try may succeed) on transport and decode errors, and
``possibly_reached`` (the server may have acted on the request) on transport errors.

Deprecated aliases: until the next release the eight classes that lacked the ``Error`` suffix
keep their old names too (``BadRequest``, ``Unauthorized``, ``Forbidden``, ``NotFound``,
``RateLimited``, ``UnexpectedStatus``, ``ConnectionFailed``, ``RequestTimeout``). Each is the
same class object as its new name (:data:`DEPRECATED_ALIASES`), so ``except NotFound`` and
``isinstance(error, NotFound)`` keep working, while tracebacks show the new name:

>>> NotFound is NotFoundError
True
>>> NotFound.__name__, NotFound.__module__
('NotFoundError', 'crossref_async')
"""

from __future__ import annotations

from collections.abc import Sequence

import msgspec

__all__ = [
    "APIError",
    "BadRequestError",
    "CircuitOpenError",
    "ConnectionFailedError",
    "CrossrefError",
    "DecodeError",
    "ErrorDetail",
    "ForbiddenError",
    "HarvestStateError",
    "IncompleteResultsError",
    "InvalidDOIError",
    "NotFoundError",
    "OffsetLimitError",
    "OutputError",
    "OutputLockedError",
    "PublicPoolWarning",
    "RateLimitedError",
    "RedirectError",
    "RequestTimeoutError",
    "ResponseTooLargeError",
    "ServerError",
    "TransportError",
    "UnauthorizedError",
    "UnexpectedStatusError",
    "ValidationError",
    "VerificationError",
]

EXCERPT_CHARS = 300


def excerpt(body: bytes | str, limit: int = EXCERPT_CHARS) -> str:
    """A short, single-line excerpt of a response body for error messages."""
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


class CrossrefError(Exception):
    """Root of every error raised by crossref-async.

    >>> for doi in ["10.5555/12345678", "10.5555/no-such-work", "not a DOI"]:
    ...     try:
    ...         print((await cr.work(doi)).DOI)
    ...     except CrossrefError as error:
    ...         print(type(error).__name__)
    10.5555/12345678
    NotFoundError
    InvalidDOIError
    """


class ValidationError(CrossrefError, ValueError):
    """Input that Crossref would reject (or misread), caught before any request is sent.

    ``value`` is the offending value and ``rule`` the rule it breaks; ``suggestions`` holds
    close valid names when the value looks like a misspelt one.

    >>> from crossref_async import Crossref, ValidationError
    >>> try:
    ...     Crossref(mailto="me@example.org").works.rows(5000)
    ... except ValidationError as exc:
    ...     print(exc.rule)
    rows must be between 0 and 1000
    """

    def __init__(self, value: object, rule: str, *, suggestions: Sequence[str] = ()) -> None:
        self.value = value
        self.rule = rule
        self.suggestions = tuple(suggestions)
        message = f"{value!r}: {rule}"
        if self.suggestions:
            message += f" (did you mean {' or '.join(repr(s) for s in self.suggestions)}?)"
        super().__init__(message)


class InvalidDOIError(ValidationError):
    """A string that is not a DOI after normalization.

    It is raised before any request is sent, and is also a :class:`ValueError`.

    >>> try:
    ...     await cr.work("doi:10.5555")
    ... except InvalidDOIError as error:
    ...     print(error.value, "|", error.rule)
    doi:10.5555 | a DOI looks like 10.<registrant digits>/<suffix>
    """


class ErrorDetail(msgspec.Struct, frozen=True):
    """One entry of a Crossref validation-failure (or similar) body.

    An :class:`APIError` keeps them in ``messages`` (see :class:`BadRequestError` for one met in
    use). Decoded from the entry Crossref sends for a filter a route does not have:

    >>> detail = msgspec.json.decode(
    ...     b'{"type": "filter-not-available", "value": "has-assertion", "message": "Filter '
    ...     b'has-assertion specified but there is no such filter for this route."}',
    ...     type=ErrorDetail)
    >>> detail.type, detail.value
    ('filter-not-available', 'has-assertion')
    >>> str(detail)
    'Filter has-assertion specified but there is no such filter for this route.'
    """

    type: str | None = None
    value: str | None = None
    message: str | None = None

    def __str__(self) -> str:
        return self.message or self.type or "(no detail)"


class APIError(CrossrefError):
    """The server answered with an error status.

    Attributes: ``status`` (HTTP status), ``url`` (request URL, secrets removed),
    ``body_excerpt`` (the first few hundred characters), ``message_type`` (from a JSON error
    body, such as ``validation-failure``), ``messages`` (parsed details, possibly empty).

    >>> try:
    ...     await cr.work("10.5555/no-such-work")
    ... except APIError as error:
    ...     print(type(error).__name__, error.status, error.body_excerpt, error.messages)
    ...     print(error.url)
    NotFoundError 404 Resource not found. ()
    https://api.crossref.org/v1/works/10.5555%2Fno-such-work?mailto=me%40example.org
    """

    def __init__(
        self,
        message: str,
        *,
        status: int,
        url: str,
        body_excerpt: str = "",
        message_type: str | None = None,
        messages: Sequence[ErrorDetail] = (),
    ) -> None:
        self.status = status
        self.url = url
        self.body_excerpt = body_excerpt
        self.message_type = message_type
        self.messages = tuple(messages)
        super().__init__(f"{status} from {url}: {message}")


class BadRequestError(APIError):
    """400: Crossref rejected the request (a ``validation-failure`` body).

    Most mistakes are caught before sending (:class:`ValidationError`); what is left is
    refused by the server, such as a filter the API has retired since this release (as
    ``/members`` retired ``has-public-references`` in 2025), answered with Crossref's body:

    >>> import httpx
    >>> from crossref_async import Crossref
    >>> retired = {"status": "failed", "message-type": "validation-failure", "message": [
    ...     {"type": "filter-not-available", "value": "has-assertion",
    ...      "message": "Filter has-assertion specified but there is no such filter."}]}
    >>> server = httpx.MockTransport(lambda request: httpx.Response(400, json=retired))
    >>> client = Crossref(mailto="me@example.org", transport=server)
    >>> try:
    ...     await client.works.filter(has_assertion=True).count()
    ... except BadRequestError as error:
    ...     print(error.status, error.message_type, [d.type for d in error.messages])
    400 validation-failure ['filter-not-available']
    """


class UnauthorizedError(APIError):
    """401: the Metadata Plus token was refused (wrong, expired or revoked).

    Never retried. The token stays out of the message (a mock server refuses it here):

    >>> import httpx
    >>> from crossref_async import Crossref
    >>> refusing = httpx.MockTransport(lambda request: httpx.Response(401))
    >>> plus = Crossref(mailto="me@example.org", plus_token="expired", transport=refusing)
    >>> try:
    ...     await plus.work("10.5555/12345678")
    ... except UnauthorizedError as error:
    ...     print(error.status, "expired" in str(error))
    401 False
    """


class ForbiddenError(APIError):
    """403: Crossref blocked this client. Crossref asks blocked clients to stop and get in touch.

    >>> from crossref_async import Crossref
    >>> from crossref_async.testing import FakeCrossref, Faults
    >>> blocked = FakeCrossref(limits="unmetered", faults=Faults(block=True))
    >>> client = Crossref(mailto="me@example.org", transport=blocked.transport())
    >>> try:
    ...     await client.work("10.5555/12345678")
    ... except ForbiddenError as error:
    ...     print(error.status, error.body_excerpt)
    403 <html> <head><title>403 Forbidden</title></head> ...
    """


class NotFoundError(APIError):
    """404: no such record (``Resource not found.``) or route (``route-not-found``).

    Ask :meth:`Crossref.agency` whether another agency registered the DOI.

    >>> try:
    ...     await cr.work("10.5555/no-such-work")
    ... except NotFoundError as error:
    ...     print(error.status, error.body_excerpt)
    404 Resource not found.
    """


class RateLimitedError(APIError):
    """429: too many requests. ``retry_after`` is in seconds, or None if the server gave none.

    The client paces itself and retries 429s, so this reaches you only once retries are
    spent (or off, as here, over a simulator answering every request with 429):

    >>> from crossref_async import Crossref, RetryPolicy
    >>> from crossref_async.testing import FakeCrossref, Faults
    >>> busy = FakeCrossref(limits="unmetered", faults=Faults(spurious_429_rate=1.0)).transport()
    >>> client = Crossref(mailto="me@example.org", transport=busy, retry=RetryPolicy.off())
    >>> try:
    ...     await client.work("10.5555/12345678")
    ... except RateLimitedError as error:
    ...     print(error.status, error.retry_after)
    429 None

    (Crossref's 429s often carry no ``Retry-After``, and the simulator's do not by default.)
    """

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: object) -> None:
        self.retry_after = retry_after
        super().__init__(message, **kwargs)  # type: ignore[arg-type]


class ServerError(APIError):
    """5xx: the server (or a proxy in front of it) failed.

    Retried by default; with retries off (over a simulator failing every request):

    >>> from crossref_async import Crossref, RetryPolicy
    >>> from crossref_async.testing import FakeCrossref, Faults
    >>> down = FakeCrossref(limits="unmetered", faults=Faults(error_rate=1.0)).transport()
    >>> client = Crossref(mailto="me@example.org", transport=down, retry=RetryPolicy.off())
    >>> try:
    ...     await client.work("10.5555/12345678")
    ... except ServerError as error:
    ...     print(error)
    503 from https://api.crossref.org/v1/works/10.5555%2F12345678?mailto=me%40example.org:
    503 Service Temporarily Unavailable
    """


class UnexpectedStatusError(APIError):
    """A status none of the other classes cover (such as an unfollowed 3xx).

    The simulator behind ``cr`` answers a citation style it does not know with 406:

    >>> try:
    ...     await cr.cite("10.5555/12345678", format="text", style="no-such-style")
    ... except UnexpectedStatusError as error:
    ...     print(error.status, error.body_excerpt)
    406 Unknown citation style: no-such-style. Styles: apa, bibtex, ...
    """


class RedirectError(UnexpectedStatusError):
    """A redirect the client does not follow: to another host than the API's (which would
    carry the polite identity, and perhaps a token, where it does not belong), a loop, or
    more hops than :data:`MAX_REDIRECTS`. ``chain`` holds the URLs of the hops so far, the
    refused target last (secrets removed). Never retried: the server would answer the same.

    >>> error = RedirectError(
    ...     "redirect loop: the API sent the client back to a URL it already asked for",
    ...     status=301,
    ...     url="https://api.crossref.org/v1/works/b",
    ...     chain=("https://api.crossref.org/v1/works/a", "https://api.crossref.org/v1/works/b",
    ...            "https://api.crossref.org/v1/works/a"),
    ... )
    >>> print(error)
    301 from https://api.crossref.org/v1/works/b: redirect loop: the API sent the client back
    to a URL it already asked for (https://api.crossref.org/v1/works/a ->
    https://api.crossref.org/v1/works/b -> https://api.crossref.org/v1/works/a)
    >>> error.chain[-1]
    'https://api.crossref.org/v1/works/a'
    """

    def __init__(
        self, message: str, *, status: int, url: str, chain: Sequence[str], body_excerpt: str = ""
    ) -> None:
        self.chain = tuple(chain)
        super().__init__(
            f"{message} ({' -> '.join(self.chain)})",
            status=status,
            url=url,
            body_excerpt=body_excerpt,
        )


class TransportError(CrossrefError):
    """No usable HTTP answer arrived. ``url`` is the request URL with secrets removed.

    ``possibly_reached`` is False only when the request certainly never reached the server
    (no connection was made, no pooled connection was free): only then can a cursor request
    be repeated without the risk of skipping a page. ``transient`` says whether another try
    may succeed (a protocol error of this side will not).

    Catches both :class:`ConnectionFailedError` and :class:`RequestTimeoutError` (here a
    simulator that cuts every connection, with retries off):

    >>> from crossref_async import Crossref, RetryPolicy
    >>> from crossref_async.testing import FakeCrossref, Faults
    >>> cut = FakeCrossref(limits="unmetered", faults=Faults(reset_rate=1.0)).transport()
    >>> client = Crossref(mailto="me@example.org", transport=cut, retry=RetryPolicy.off())
    >>> try:
    ...     await client.work("10.5555/12345678")
    ... except TransportError as error:
    ...     print(type(error).__name__, error.url)
    ...     print(error.possibly_reached, error.transient)
    ConnectionFailedError https://api.crossref.org/v1/works/10.5555%2F12345678?mailto=me%40example.org
    True True
    """

    def __init__(
        self,
        message: str,
        *,
        url: str,
        possibly_reached: bool = True,
        transient: bool = True,
    ) -> None:
        self.url = url
        self.possibly_reached = possibly_reached
        self.transient = transient
        super().__init__(f"{message} ({url})")


class ConnectionFailedError(TransportError):
    """The connection could not be made or broke mid-way (refused, reset, protocol error).

    The httpx error is kept as ``__cause__`` (a simulator cutting every connection here):

    >>> from crossref_async import Crossref, RetryPolicy
    >>> from crossref_async.testing import FakeCrossref, Faults
    >>> cut = FakeCrossref(limits="unmetered", faults=Faults(reset_rate=1.0)).transport()
    >>> client = Crossref(mailto="me@example.org", transport=cut, retry=RetryPolicy.off())
    >>> try:
    ...     await client.work("10.5555/12345678")
    ... except ConnectionFailedError as error:
    ...     print(repr(error.__cause__))
    ReadError('[Errno 104] Connection reset by peer (simulated)')
    """


class RequestTimeoutError(TransportError):
    """The request timed out: connect, read (no data for the read timeout), write, waiting for
    a pooled connection, or the whole exchange past its deadline (see :class:`Timeouts`).

    The simulator in process never times out; a mock transport stands in for a silent server:

    >>> import httpx
    >>> from crossref_async import Crossref, RetryPolicy
    >>> def silent(request):
    ...     raise httpx.ReadTimeout("no answer", request=request)
    >>> client = Crossref(
    ...     mailto="me@example.org", transport=httpx.MockTransport(silent), retry=RetryPolicy.off()
    ... )
    >>> try:
    ...     await client.work("10.5555/12345678")
    ... except RequestTimeoutError as error:
    ...     print(error)
    timed out: ReadTimeout (https://api.crossref.org/v1/works/10.5555%2F12345678?mailto=me%40example.org)
    """


class DecodeError(CrossrefError):
    """A body that should be JSON of a known shape is not (truncated, HTML, wrong shape).

    ``message_type`` names what was expected, ``position`` is the byte offset or JSON path
    where decoding failed (if known), ``url`` the request URL if known. ``transient`` is True
    when the body is not JSON at all (cut short, an HTML page, a corrupt gzip stream): a
    broken transfer that another try may fix. Valid JSON of the wrong shape, or nested too
    deeply to decode, will not get better and is not retried.

    >>> from crossref_async import Crossref, RetryPolicy
    >>> from crossref_async.testing import FakeCrossref, Faults
    >>> garbled = FakeCrossref(limits="unmetered", faults=Faults(malformed_rate=1.0)).transport()
    >>> client = Crossref(mailto="me@example.org", transport=garbled, retry=RetryPolicy.off())
    >>> try:
    ...     await client.work("10.5555/12345678")
    ... except DecodeError as error:
    ...     print(error.message_type, "|", error.position, "|", error.body_excerpt[:30])
    ...     print(error.transient)
    work | byte ... (end of input) | {"status":"ok","message-type":
    True
    """

    def __init__(
        self,
        message: str,
        *,
        message_type: str,
        position: str | None = None,
        url: str | None = None,
        body_excerpt: str = "",
        transient: bool = False,
    ) -> None:
        self.message_type = message_type
        self.position = position
        self.url = url
        self.body_excerpt = body_excerpt
        self.transient = transient
        where = f" at {position}" if position else ""
        source = f" from {url}" if url else ""
        super().__init__(f"cannot decode {message_type}{source}{where}: {message}")


class ResponseTooLargeError(DecodeError):
    """A body larger than the client's cap (``Crossref(max_body_size=...)``, bytes after
    decompression): refused and never retried, since the same request brings the same body.

    It is a :class:`DecodeError` because an answer did arrive and its body is what cannot be
    used (a transport error means no usable answer at all, and those are retried). ``limit``
    is the cap and ``received`` the bytes counted when reading stopped (or the announced
    ``Content-Length``, when that alone was over the cap and nothing was read).

    >>> import httpx
    >>> from crossref_async import Crossref
    >>> huge = httpx.MockTransport(lambda request: httpx.Response(200, content=b"[" * 5000))
    >>> client = Crossref(mailto="me@example.org", transport=huge, max_body_size=4096)
    >>> try:
    ...     await client.work("10.5555/12345678")
    ... except ResponseTooLargeError as error:
    ...     print(error.limit, error.received, error.transient)
    ...     print(error)
    4096 5000 False
    cannot decode response body from https://api.crossref.org/v1/works/10.5555%2F12345678?mailto=...:
    the body is larger than the 4,096-byte cap (5,000 bytes announced); raise
    Crossref(max_body_size=...) if such answers are expected
    """

    def __init__(self, message: str, *, limit: int, received: int, url: str | None = None) -> None:
        self.limit = limit
        self.received = received
        super().__init__(message, message_type="response body", url=url)


class IncompleteResultsError(CrossrefError):
    """Paging ended with fewer items than announced after a cursor request was retried.

    Crossref keeps cursor positions on the server, so a retried request may skip a page.
    ``expected`` is the announced total, ``received`` what arrived. Here a simulator resets
    one connection in five after doing the work, and a retried cursor request skips a page:

    >>> from crossref_async import Crossref, RetryPolicy
    >>> from crossref_async.testing import FakeCrossref, Faults
    >>> lossy = FakeCrossref(works=300, limits="unmetered", faults=Faults(reset_rate=0.2, seed=1))
    >>> client = Crossref(
    ...     mailto="me@example.org", transport=lossy.transport(), retry=RetryPolicy(backoff=0.01)
    ... )
    >>> try:
    ...     dois = [work.DOI async for work in client.works.stream(rows=50)]
    ... except IncompleteResultsError as error:
    ...     print(error.expected, error.received)
    300 250
    """

    def __init__(self, message: str, *, expected: int, received: int) -> None:
        self.expected = expected
        self.received = received
        super().__init__(message)


class HarvestStateError(CrossrefError):
    """A harvest's saved state (``<out>.harvest/``) does not fit this run: resume it, or
    delete the folder to start over. Nothing is deleted for you.

    >>> import os, tempfile
    >>> from crossref_async.harvest import harvest
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     out = os.path.join(tmp, "works.jsonl")
    ...     report = await harvest(cr, cr.works, out=out, target=300, shard_ids=[0])  # one shard
    ...     try:
    ...         await harvest(cr, cr.works.filter(type="book"), out=out, resume=True)
    ...     except HarvestStateError as error:
    ...         print(error)
    the harvest in progress in .../works.jsonl.harvest is for a different query; resume it with
    the same query, or delete that folder to start over
    """


class OutputLockedError(HarvestStateError):
    """Another harvest is writing this output (or state file) right now.

    ``path`` is the locked file, ``pid`` and ``since`` the holder's process id and start time
    (an ISO timestamp) as it recorded them, when known. The lock dies with its process, so a
    killed harvest never blocks its own resume. Here a second harvest into the same file is
    tried while the first is writing it (from the first one's sink):

    >>> import tempfile
    >>> from crossref_async.harvest import harvest
    >>> refused = []
    >>> async def meanwhile(shard, records):
    ...     try:
    ...         await harvest(cr, cr.works, out=out)
    ...     except OutputLockedError as error:
    ...         refused.append(error)
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     out = f"{tmp}/books.jsonl"
    ...     report = await harvest(cr, cr.works.filter(type="book"), out=out, sink=meanwhile)
    >>> report.records, len(refused)
    (36, 1)
    >>> print(refused[0])
    another harvest is writing the output .../books.jsonl (process ... since ...); this run is
    refused so that the two do not mix. Wait for it to finish, or stop it first (its lock is
    .../books.jsonl.lock; the lock goes away with its process)
    """

    def __init__(
        self, message: str, *, path: str, pid: int | None = None, since: str | None = None
    ) -> None:
        self.path = path
        self.pid = pid
        self.since = since
        super().__init__(message)


class OutputError(CrossrefError):
    """The output file or the harvest's state cannot be written: a full disk, a read-only
    folder, a path that is a directory. ``path`` names it; work already checkpointed is kept.

    >>> import tempfile
    >>> from crossref_async.harvest import harvest
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     try:
    ...         await harvest(cr, cr.works, out=tmp)  # a folder, not a file
    ...     except OutputError as error:
    ...         print(error.path == tmp, "is a folder" in str(error))
    True True
    """

    def __init__(self, message: str, *, path: str) -> None:
        self.path = path
        super().__init__(message)


class VerificationError(CrossrefError):
    """The output, read back from disk, does not hold what the harvest expected.

    ``path`` is the file read back; ``records``, ``unique`` and ``invalid`` are the lines,
    distinct DOIs and lines that are not valid JSON records found in it; ``expected`` is what
    the shards verified. The shard parts are kept, so nothing is lost. Here a finished output
    got one line more than its harvest wrote, and resuming the harvest notices:

    >>> import tempfile
    >>> from crossref_async.harvest import harvest
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     out, books = f"{tmp}/books.jsonl", cr.works.filter(type="book")
    ...     _ = await harvest(cr, books, out=out)
    ...     with open(out, "ab") as fh:
    ...         _ = fh.write(b'{"DOI": "10.5555/extra"}\\n')
    ...     try:
    ...         await harvest(cr, books, out=out, resume=True)
    ...     except VerificationError as error:
    ...         print(error.records, error.unique, error.expected)
    37 37 36
    """

    def __init__(
        self,
        message: str,
        *,
        path: str,
        records: int,
        unique: int,
        invalid: int,
        expected: int,
    ) -> None:
        self.path = path
        self.records = records
        self.unique = unique
        self.invalid = invalid
        self.expected = expected
        super().__init__(message)


class OffsetLimitError(CrossrefError):
    """Offset paging reached ``offset + rows = 10,000`` with more items left (non-works routes).

    No route but ``/works`` holds that many items today; a mock ``/members`` of 25,000 does:

    >>> import httpx
    >>> from crossref_async import Crossref, Pacing
    >>> def members(request):
    ...     items = [{}] * int(request.url.params["rows"])
    ...     message = {"total-results": 25_000, "items": items}
    ...     return httpx.Response(200, json={"message-type": "member-list", "message": message})
    >>> mock = httpx.MockTransport(members)
    >>> client = Crossref(mailto="me@example.org", transport=mock, pacing=Pacing.off())
    >>> try:
    ...     pages = [page async for page in client.members.raw_pages()]
    ... except OffsetLimitError as error:
    ...     print(error)
    /members can only be paged by offset up to 10,000 items; 25,000 match. Narrow the query with
    filters.
    """


class CircuitOpenError(CrossrefError):
    """The error rate crossed the breaker's threshold; the client stopped sending.

    Crossref asks clients to stop at an error rate of 10% or more. Work already done is kept;
    a harvest can be resumed later. Here a :class:`Breaker` that judges after three requests
    stops a client whose server fails every request:

    >>> from crossref_async import Breaker, Crossref, Pacing, RetryPolicy, ServerError
    >>> from crossref_async.testing import FakeCrossref, Faults
    >>> down = FakeCrossref(limits="unmetered", faults=Faults(error_rate=1.0)).transport()
    >>> client = Crossref(
    ...     mailto="me@example.org",
    ...     transport=down,
    ...     retry=RetryPolicy.off(),
    ...     pacing=Pacing(breaker=Breaker(min_requests=3)),
    ... )
    >>> for doi in ["10.5555/12345678"] * 4:
    ...     try:
    ...         await client.work(doi)
    ...     except (ServerError, CircuitOpenError) as error:
    ...         print(type(error).__name__)
    ServerError
    ServerError
    ServerError
    CircuitOpenError
    """

    def __init__(
        self,
        message: str,
        *,
        retry_in: float | None = None,
        failure_rate: float | None = None,
        sample: int = 0,
    ) -> None:
        #: Seconds (from when this was raised) until the breaker lets a probe through.
        self.retry_in = retry_in
        #: The failing share of the sample that opened the circuit, and the sample's size.
        self.failure_rate = failure_rate
        self.sample = sample
        super().__init__(message)


class PublicPoolWarning(UserWarning):
    """No ``mailto`` was given: requests go to Crossref's public pool (5 singles, 1 list a second).

    >>> import warnings
    >>> from crossref_async import Crossref
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     anonymous = Crossref()
    >>> print(caught[0].category.__name__, caught[0].message)
    PublicPoolWarning no mailto given: requests go to Crossref's public pool (5 single-record and
    1 list request a second, one at a time); pass Crossref(mailto='you@example.org') for the
    polite pool
    """


# Tracebacks name the errors as users import them (``crossref_async.NotFoundError``), as httpx
# does.
for _name in __all__:
    _error = globals()[_name]
    if isinstance(_error, type) and issubclass(_error, BaseException):
        _error.__module__ = "crossref_async"

# The old names, kept for one release. Plain assignments, not subclasses: an alias is the very
# class, so code catching or testing the old name sees every error raised under the new one.
BadRequest = BadRequestError
Unauthorized = UnauthorizedError
Forbidden = ForbiddenError
NotFound = NotFoundError
RateLimited = RateLimitedError
UnexpectedStatus = UnexpectedStatusError
ConnectionFailed = ConnectionFailedError
RequestTimeout = RequestTimeoutError

#: Each deprecated name and the class it stands for (the same object).
DEPRECATED_ALIASES: dict[str, type[CrossrefError]] = {
    "BadRequest": BadRequestError,
    "Unauthorized": UnauthorizedError,
    "Forbidden": ForbiddenError,
    "NotFound": NotFoundError,
    "RateLimited": RateLimitedError,
    "UnexpectedStatus": UnexpectedStatusError,
    "ConnectionFailed": ConnectionFailedError,
    "RequestTimeout": RequestTimeoutError,
}
