"""Every error crossref-async raises, rooted in one class.

```
CrossrefError
├── ValidationError (also ValueError)   bad input, raised before any request is sent
│   └── InvalidDOIError                 not a DOI (10.<digits>/<suffix>)
├── APIError                            the server answered with an error status
│   ├── BadRequest         400          validation-failure bodies, parsed into `messages`
│   ├── Unauthorized       401          the Plus token was refused
│   ├── Forbidden          403          the client is blocked
│   ├── NotFound           404          no such record or route (plain-text bodies too)
│   ├── RateLimited        429          carries `retry_after` (seconds) when the server said
│   ├── ServerError        5xx          HTML pages and `exception` bodies alike
│   └── UnexpectedStatus   other        any status the above do not cover
├── TransportError                      no usable HTTP answer
│   ├── ConnectionFailed                refused, reset, DNS, TLS, protocol errors
│   └── RequestTimeout                  connect, read, write or pool timeout
├── DecodeError                         truncated or non-JSON body where JSON was promised
├── IncompleteResultsError              paging lost a page (a cursor retried after it moved)
├── HarvestStateError                   a harvest's saved state does not fit this run
├── OffsetLimitError                    offset paging reached Crossref's 10,000 cap
└── CircuitOpenError                    too many errors: the client stopped sending
```

Errors from a response carry the status, the request URL with secrets removed, and a short
excerpt of the body. Lower-layer (httpx, msgspec) errors are translated at the boundary with
``raise ... from exc``, so callers catch only these classes.
"""

from __future__ import annotations

from collections.abc import Sequence

import msgspec

__all__ = [
    "APIError",
    "BadRequest",
    "CircuitOpenError",
    "ConnectionFailed",
    "CrossrefError",
    "DecodeError",
    "ErrorDetail",
    "Forbidden",
    "HarvestStateError",
    "IncompleteResultsError",
    "InvalidDOIError",
    "NotFound",
    "OffsetLimitError",
    "PublicPoolWarning",
    "RateLimited",
    "RequestTimeout",
    "ServerError",
    "TransportError",
    "Unauthorized",
    "UnexpectedStatus",
    "ValidationError",
]

EXCERPT_CHARS = 300


def excerpt(body: bytes | str, limit: int = EXCERPT_CHARS) -> str:
    """A short, single-line excerpt of a response body for error messages."""
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


class CrossrefError(Exception):
    """Root of every error raised by crossref-async."""


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
    """A string that is not a DOI after normalization."""


class ErrorDetail(msgspec.Struct, frozen=True):
    """One entry of a Crossref validation-failure (or similar) body."""

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


class BadRequest(APIError):
    """400: Crossref rejected the request (a ``validation-failure`` body)."""


class Unauthorized(APIError):
    """401: the Metadata Plus token was refused (wrong, expired or revoked)."""


class Forbidden(APIError):
    """403: Crossref blocked this client. Crossref asks blocked clients to stop and get in touch."""


class NotFound(APIError):
    """404: no such record (``Resource not found.``) or route (``route-not-found``)."""


class RateLimited(APIError):
    """429: too many requests. ``retry_after`` is in seconds, or None if the server gave none."""

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: object) -> None:
        self.retry_after = retry_after
        super().__init__(message, **kwargs)  # type: ignore[arg-type]


class ServerError(APIError):
    """5xx: the server (or a proxy in front of it) failed."""


class UnexpectedStatus(APIError):
    """A status none of the other classes cover (such as an unfollowed 3xx)."""


class TransportError(CrossrefError):
    """No usable HTTP answer arrived. ``url`` is the request URL with secrets removed."""

    def __init__(self, message: str, *, url: str) -> None:
        self.url = url
        super().__init__(f"{message} ({url})")


class ConnectionFailed(TransportError):
    """The connection could not be made or broke mid-way (refused, reset, protocol error)."""


class RequestTimeout(TransportError):
    """The request timed out (connect, read, write or waiting for a pooled connection)."""


class DecodeError(CrossrefError):
    """A body that should be JSON of a known shape is not (truncated, HTML, wrong shape).

    ``message_type`` names what was expected, ``position`` is the byte offset or JSON path
    where decoding failed (if known), ``url`` the request URL if known.
    """

    def __init__(
        self,
        message: str,
        *,
        message_type: str,
        position: str | None = None,
        url: str | None = None,
        body_excerpt: str = "",
    ) -> None:
        self.message_type = message_type
        self.position = position
        self.url = url
        self.body_excerpt = body_excerpt
        where = f" at {position}" if position else ""
        source = f" from {url}" if url else ""
        super().__init__(f"cannot decode {message_type}{source}{where}: {message}")


class IncompleteResultsError(CrossrefError):
    """Paging ended with fewer items than announced after a cursor request was retried.

    Crossref keeps cursor positions on the server, so a retried request may skip a page.
    ``expected`` is the announced total, ``received`` what arrived.
    """

    def __init__(self, message: str, *, expected: int, received: int) -> None:
        self.expected = expected
        self.received = received
        super().__init__(message)


class HarvestStateError(CrossrefError):
    """A harvest's saved state (``<out>.harvest/``) does not fit this run: resume it, or
    delete the folder to start over. Nothing is deleted for you."""


class OffsetLimitError(CrossrefError):
    """Offset paging reached ``offset + rows = 10,000`` with more items left (non-works routes)."""


class CircuitOpenError(CrossrefError):
    """The error rate crossed the breaker's threshold; the client stopped sending.

    Crossref asks clients to stop at an error rate of 10% or more. Work already done is kept;
    a harvest can be resumed later.
    """


class PublicPoolWarning(UserWarning):
    """No ``mailto`` was given: requests go to Crossref's public pool (5 req/s, 1 at a time)."""
