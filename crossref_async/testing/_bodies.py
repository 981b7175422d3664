"""Response bodies, byte for byte as Crossref and the proxies in front of it send them.

Recorded bodies (``../shared/crossref-corpus``): ``Resource not found.``, ``route-not-found``,
the ``validation-failure`` details ``integer-not-valid``, ``filter-not-available`` and
``parameter-not-allowed``, the ``resource-failure`` ``cursor-invalid``, the 429 HTML page and
the nginx 5xx pages. The simulator's own details (offset window, cursor combined with
offset or sample, sort/select/facet/order not available, bad dates and booleans, features the
simulator does not implement) follow the same shape: ``{"type", "value", "message"}``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import msgspec

_encode = msgspec.json.Encoder().encode

JSON = b"application/json;charset=utf-8"
# Crossref labels its cursor failures plain "application/json" (recorded in 2026).
JSON_BARE = b"application/json"
HTML = b"text/html"

NOT_FOUND = b"Resource not found."
ROUTE_NOT_FOUND = (
    b'{"status":"error","message-type":"route-not-found","message-version":"1.0.0",'
    b'"message":"Route not found"}'
)
TOO_MANY_REQUESTS = (
    b"<html><body><h1>429 Too Many Requests</h1>\n"
    b"You have sent too many requests in a given amount of time.\n"
    b"</body></html>\n"
)

_REASONS = {
    403: "Forbidden",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Temporarily Unavailable",
    504: "Gateway Time-out",
}


def html_error(status: int) -> bytes:
    """The nginx error page Crossref's proxies send for ``status`` (5xx, 403)."""
    title = f"{status} {_REASONS.get(status, 'Error')}"
    return (
        f"<html>\n<head><title>{title}</title></head>\n<body>\n"
        f"<center><h1>{title}</h1></center>\n<hr><center>nginx</center>\n</body>\n</html>\n"
    ).encode()


MAINTENANCE = (
    b"<!DOCTYPE html>\n<html><head><title>Down for maintenance</title></head><body>"
    b"<h1>We'll be back soon</h1><p>api.crossref.org is undergoing scheduled maintenance."
    b"</p></body></html>\n"
)


def detail(kind: str, value: str, message: str) -> dict[str, str]:
    """One entry of a failure body's ``message`` list."""
    return {"type": kind, "value": value, "message": message}


def validation_failure(details: Iterable[Mapping[str, str]]) -> bytes:
    """``{"status":"failed","message-type":"validation-failure","message":[...]}``."""
    return _encode(
        {"status": "failed", "message-type": "validation-failure", "message": list(details)}
    )


def cursor_invalid(token: str) -> bytes:
    """The 404 body for an unknown or expired cursor token."""
    return _encode(
        {
            "status": "failed",
            "message-type": "resource-failure",
            "message": [detail("cursor-invalid", token, "Cursor specified but it is invalid")],
        }
    )


def integer_not_valid(value: str, maximum: int | None) -> dict[str, str]:
    """Crossref's detail for ``rows``/``sample`` (and, here, ``offset``, facet counts)."""
    bound = f" less than or equal to {maximum}" if maximum is not None else ""
    return detail(
        "integer-not-valid",
        value,
        f"Integer specified as {value} but must be a positive integer{bound}. ",
    )


def not_allowed(parameter: str) -> dict[str, str]:
    """Crossref's detail for a parameter the route does not take."""
    if parameter == "query.*":
        return detail(
            "parameter-not-allowed", "query.*", "This route does not support field query parameters"
        )
    return detail("parameter-not-allowed", parameter, f"This route does not support {parameter}")


def envelope(message_type: str, message: Any) -> bytes:
    """A successful response: ``{"status":"ok","message-type":...,"message":...}``."""
    return _encode(
        {
            "status": "ok",
            "message-type": message_type,
            "message-version": "1.0.0",
            "message": message,
        }
    )


def envelope_raw(message_type: str, message: bytes) -> bytes:
    """:func:`envelope` around an already encoded message."""
    return (
        b'{"status":"ok","message-type":"'
        + message_type.encode()
        + b'","message-version":"1.0.0","message":'
        + message
        + b"}"
    )
