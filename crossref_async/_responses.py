"""Turning HTTP answers into results or typed errors.

Crossref's error bodies come in every shape: JSON whose ``message`` is a list of details, a
string or an exception object; plain text (``Resource not found.``, labelled JSON); and HTML
pages from proxies (429, 5xx). All of them become one of the classes in ``_errors``.
"""

from __future__ import annotations

import email.utils
import math
import re
import time
from collections.abc import Mapping
from typing import Any

import msgspec

from ._errors import (
    APIError,
    BadRequestError,
    ErrorDetail,
    ForbiddenError,
    NotFoundError,
    RateLimitedError,
    ServerError,
    UnauthorizedError,
    UnexpectedStatusError,
    excerpt,
)

_STATUS_CLASSES: dict[int, type[APIError]] = {
    400: BadRequestError,
    401: UnauthorizedError,
    403: ForbiddenError,
    404: NotFoundError,
    429: RateLimitedError,
}

_HTML_TITLE = re.compile(r"<(?:title|h1)[^>]*>(.*?)</(?:title|h1)>", re.IGNORECASE | re.DOTALL)
_TAGS = re.compile(r"<[^>]+>")


class _ErrorBody(msgspec.Struct):
    message_type: str | None = msgspec.field(default=None, name="message-type")
    message: Any = None


_error_decoder = msgspec.json.Decoder(_ErrorBody)


def _details(message: object) -> list[ErrorDetail]:
    if isinstance(message, list):
        out: list[ErrorDetail] = []
        for item in message:
            out.extend(_details(item))
        return out
    if isinstance(message, str):
        return [ErrorDetail(message=message)]
    if isinstance(message, dict):
        text = message.get("message") or message.get("description")
        kind = message.get("type") or message.get("name")
        value = message.get("value")
        return [
            ErrorDetail(
                type=str(kind) if kind is not None else None,
                value=str(value) if value is not None else None,
                message=str(text) if text is not None else None,
            )
        ]
    return []


def parse_error_body(body: bytes) -> tuple[str | None, list[ErrorDetail], str]:
    """``(message_type, details, summary)`` from any Crossref error body shape."""
    try:
        parsed = _error_decoder.decode(body)
        details = _details(parsed.message)
    except (msgspec.DecodeError, msgspec.ValidationError, RecursionError):
        # Not JSON, or JSON nested too deeply to read (msgspec, and _details after it,
        # recurse): the body is shown as text, and the status alone classifies the error.
        parsed, details = None, []
    if parsed is not None and (parsed.message_type or parsed.message is not None):
        summary = "; ".join(str(d) for d in details) or (parsed.message_type or "error")
        return parsed.message_type, details, summary
    text = body.decode("utf-8", "replace")
    match = _HTML_TITLE.search(text)
    if match:
        return None, [], " ".join(_TAGS.sub(" ", match.group(1)).split())
    return None, [], excerpt(text, 200) or "(empty body)"


def parse_retry_after(headers: Mapping[str, str], *, now: float | None = None) -> float | None:
    """Seconds to wait from ``Retry-After`` (seconds or HTTP date) or ``retry-after-ms``.

    Values that are not finite numbers (``inf``, ``nan``) are unreadable, not a wait for ever.
    """
    value = headers.get("retry-after-ms")
    if value is not None:
        seconds = _seconds(value)
        if seconds is not None:
            return seconds / 1000.0
    value = headers.get("retry-after")
    if value is None:
        return None
    value = value.strip()
    seconds = _seconds(value)
    if seconds is not None:
        return seconds
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when is None:
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def _seconds(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return max(0.0, value) if math.isfinite(value) else None


def error_for(status: int, body: bytes, headers: Mapping[str, str], url: str) -> APIError:
    """The typed error for a non-success answer."""
    message_type, details, summary = parse_error_body(body)
    cls = _STATUS_CLASSES.get(status)
    if cls is None:
        cls = ServerError if 500 <= status <= 599 else UnexpectedStatusError
    common: dict[str, Any] = {
        "status": status,
        "url": url,
        "body_excerpt": excerpt(body),
        "message_type": message_type,
        "messages": details,
    }
    if cls is RateLimitedError:
        return RateLimitedError(summary, retry_after=parse_retry_after(headers), **common)
    return cls(summary, **common)
