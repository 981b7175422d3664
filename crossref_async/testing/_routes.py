"""Which route a path names, and with which identifier.

The path is percent-decoded once, after splitting off the query string, so ``%2F`` in a DOI
becomes ``/`` and ``%25`` becomes ``%``, as Crossref decodes it. A DOI is the whole rest of
the path after ``/works/``; a trailing ``/agency`` is the agency route, a trailing
``/transform`` or ``/transform/{type}/{subtype}`` the content negotiation route (so a DOI that
itself ends that way cannot be looked up, as on the real API). ``/v1/`` in front of any route
is accepted, as Crossref accepts it. A path whose first segment starts with ``10.`` is
doi.org's: the whole rest of the path is the DOI.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from urllib.parse import unquote

from ._limits import LIST, SINGLE

# Route names.
WORKS = "works"  # /works and /<entity>/<id>/works
WORK = "work"
AGENCY = "agency"
TRANSFORM = "transform"  # /works/{doi}/transform[/{media type}]
RESOLVE = "resolve"  # doi.org: /{doi}
MEMBERS = "members"
MEMBER = "member"
JOURNALS = "journals"
JOURNAL = "journal"
FUNDERS = "funders"
FUNDER = "funder"
PREFIX = "prefix"
TYPES = "types"
TYPE = "type"
LICENSES = "licenses"
NOT_FOUND = "route-not-found"

_LISTS = frozenset({WORKS, MEMBERS, JOURNALS, FUNDERS, TYPES, LICENSES})
_ENTITY = {"members": MEMBER, "journals": JOURNAL, "funders": FUNDER, "prefixes": PREFIX,
           "types": TYPE}  # fmt: skip


@dataclass(frozen=True)
class Route:
    """A resolved route: its name, the identifier in the path, the scope of a scoped works
    list (``("member", "98")`` for ``/members/98/works``), the media type of a transform
    path (``application/x-bibtex``) and the version prefix the path was given with (``/v1``
    or ``""``), which a redirect keeps.

    >>> resolve(b"/v1/works/10.5555%2F1/transform/application/x-bibtex")
    Route(name='transform', ident='10.5555/1', scope=None, media='application/x-bibtex', version='/v1')
    """  # noqa: E501 - the example prints one long line

    name: str
    ident: str | None = None
    scope: str | None = None
    media: str | None = None  # the media type in a transform path
    version: str = ""

    @property
    def is_list(self) -> bool:
        """Whether the route answers a list."""
        return self.name in _LISTS

    def kind(self, method: str) -> str:
        """The limit pool kind: lists are ``list``; everything else, and every ``HEAD``,
        is ``single``."""
        return LIST if self.is_list and method != "HEAD" else SINGLE


def resolve(raw_path: bytes) -> Route:
    """The route of a raw (still percent-encoded) request path."""
    path = unquote(raw_path.decode("latin-1"), encoding="utf-8", errors="replace")
    if path.startswith("/10."):
        return Route(RESOLVE, path[1:])
    version = ""
    if path.startswith("/v1/"):
        path, version = path[3:], "/v1"
    return replace(_resolve(path), version=version)


def _resolve(path: str) -> Route:
    """The route of a decoded path without its version prefix."""
    if path != "/" and path.endswith("/") and not path.startswith("/works/"):
        path = path.rstrip("/")
    head, _, rest = path.lstrip("/").partition("/")
    if not rest:
        return Route(head) if head in _LISTS else Route(NOT_FOUND)
    if head == "works":
        if rest.endswith("/agency") and len(rest) > len("/agency"):
            return Route(AGENCY, rest[: -len("/agency")])
        return _transform(rest) or Route(WORK, rest)
    entity = _ENTITY.get(head)
    if entity is None or not rest:
        return Route(NOT_FOUND)
    if rest.endswith("/works"):
        ident = rest[: -len("/works")]
        return Route(WORKS, ident, scope=entity) if ident else Route(NOT_FOUND)
    if "/" in rest and entity != FUNDER:
        return Route(NOT_FOUND)  # only funder ids (10.13039/...) contain a slash
    return Route(entity, rest)


def _transform(rest: str) -> Route | None:
    """The transform route of ``{doi}/transform`` or ``{doi}/transform/{type}/{subtype}``."""
    if rest.endswith("/transform") and len(rest) > len("/transform"):
        return Route(TRANSFORM, rest[: -len("/transform")])
    doi, found, media = rest.rpartition("/transform/")
    kind, slash, subtype = media.partition("/")
    if found and doi and kind and slash and subtype and "/" not in subtype:
        return Route(TRANSFORM, doi, media=media)
    return None
