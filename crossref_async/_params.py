"""Parameter catalogues and value encoding: what each route accepts, checked before sending.

The catalogues come from Crossref's own documentation (the REST API reference and the
rest-api-doc README). Crossref rejects unknown names with a 400 after a round trip, and some
mistakes (a comma inside a filter value, a member id that overflows a Java int) are not
rejected at all but silently answer a different question; catching them here is cheaper and
clearer.
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
from collections.abc import Callable, Iterable, Mapping
from enum import Enum
from urllib.parse import quote, unquote

from ._errors import InvalidDOIError, ValidationError

MAX_ROWS = 1000
MAX_OFFSET_WINDOW = 10_000  # offset + rows
MAX_SAMPLE = 100
MAX_JAVA_INT = 2**31 - 1
#: The works filters on the record's created date: a harvest's shard windows are made of them.
CREATED_FROM, CREATED_UNTIL = "from-created-date", "until-created-date"
CREATED_BOUNDS = frozenset({CREATED_FROM, CREATED_UNTIL})


class Kind(Enum):
    """How a filter's value is checked and written."""

    TEXT = "text"
    DATE = "date"
    BOOL = "bool"
    INT = "int"
    DOI = "doi"
    ISSN = "issn"
    ORCID = "orcid"
    PREFIX = "prefix"
    MEMBER = "member"
    FUNDER = "funder"
    TYPE = "type"
    CHOICE = "choice"


_DATE_FILTER_SUBJECTS = (
    "accepted",
    "approved",
    "awarded",
    "created",
    "deposit",
    "event-end",
    "event-start",
    "index",
    "issued",
    "online-pub",
    "posted",
    "print-pub",
    "pub",
    "update",
)

_BOOL_WORK_FILTERS = (
    "has-abstract",
    "has-affiliation",
    "has-archive",
    "has-assertion",
    "has-authenticated-orcid",
    "has-award",
    "has-clinical-trial-number",
    "has-content-domain",
    "has-description",
    "has-domain-restriction",
    "has-event",
    "has-full-text",
    "has-funder",
    "has-funder-doi",
    "has-license",
    "has-orcid",
    "has-references",
    "has-relation",
    "has-ror-id",
    "has-update",
    "has-update-policy",
    "is-update",
)

_TEXT_WORK_FILTERS = (
    "alternative-id",
    "archive",
    "article-number",
    "assertion",
    "assertion-group",
    "award.number",
    "category-name",
    "citation-id",
    "clinical-trial-number",
    "container-title",
    "content-domain",
    "full-text.type",
    "full-text.version",
    "funder-doi-asserted-by",
    "group-title",
    "isbn",
    "license.url",
    "license.version",
    "relation.object",
    "relation.object-type",
    "relation.type",
    "ror-id",
    "type-name",
    "update-type",
)

#: Work types, as listed by ``/types``; the ``type`` filter and ``/types/{id}`` take these.
WORK_TYPES: tuple[str, ...] = (
    "book",
    "book-chapter",
    "book-part",
    "book-section",
    "book-series",
    "book-set",
    "book-track",
    "component",
    "database",
    "dataset",
    "dissertation",
    "edited-book",
    "grant",
    "journal",
    "journal-article",
    "journal-issue",
    "journal-volume",
    "monograph",
    "other",
    "peer-review",
    "posted-content",
    "proceedings",
    "proceedings-article",
    "proceedings-series",
    "reference-book",
    "reference-entry",
    "report",
    "report-component",
    "report-series",
    "standard",
)

#: Filters of the works routes (``/works`` and ``/<route>/<id>/works``).
WORK_FILTERS: dict[str, Kind] = {
    **{
        f"{side}-{subject}-date": Kind.DATE
        for subject in _DATE_FILTER_SUBJECTS
        for side in ("from", "until")
    },
    **dict.fromkeys(_BOOL_WORK_FILTERS, Kind.BOOL),
    **dict.fromkeys(_TEXT_WORK_FILTERS, Kind.TEXT),
    "award.funder": Kind.FUNDER,
    "directory": Kind.CHOICE,
    "doi": Kind.DOI,
    "full-text.application": Kind.CHOICE,
    "funder": Kind.FUNDER,
    "gte-award-amount": Kind.INT,
    "issn": Kind.ISSN,
    "license.delay": Kind.INT,
    "lte-award-amount": Kind.INT,
    "member": Kind.MEMBER,
    "orcid": Kind.ORCID,
    "prefix": Kind.PREFIX,
    "reference-visibility": Kind.CHOICE,
    "type": Kind.TYPE,
    "updates": Kind.DOI,
}

#: Filters of ``/members``.
MEMBER_FILTERS: dict[str, Kind] = {
    "backfile-doi-count": Kind.INT,
    "current-doi-count": Kind.INT,
    "prefix": Kind.PREFIX,
}

#: Filters a route once had and the API dropped, by route: refused with their own message,
#: since "no filter by that name" would read like a typo.
RETIRED_FILTERS: dict[str, frozenset[str]] = {
    "/members": frozenset({"has-public-references", "reference-visibility"}),
}

#: Filters of ``/funders``.
FUNDER_FILTERS: dict[str, Kind] = {"location": Kind.TEXT}

CHOICES: dict[str, tuple[str, ...]] = {
    "directory": ("doaj",),
    "full-text.application": ("text-mining", "similarity-checking", "unspecified"),
    "reference-visibility": ("open", "limited", "closed"),
}

#: ``query.<field>`` names of the works routes.
FIELD_QUERIES: tuple[str, ...] = (
    "affiliation",
    "author",
    "bibliographic",
    "chair",
    "container-title",
    "contributor",
    "degree",
    "description",
    "editor",
    "event-acronym",
    "event-location",
    "event-name",
    "event-sponsor",
    "event-theme",
    "funder-name",
    "publisher-location",
    "publisher-name",
    "standards-body-acronym",
    "standards-body-name",
    "title",
    "translator",
)

#: Elements the works routes can ``select``.
SELECT_FIELDS: tuple[str, ...] = (
    "DOI",
    "ISBN",
    "ISSN",
    "URL",
    "abstract",
    "accepted",
    "alternative-id",
    "approved",
    "archive",
    "article-number",
    "assertion",
    "author",
    "chair",
    "clinical-trial-number",
    "container-title",
    "content-created",
    "content-domain",
    "created",
    "degree",
    "deposited",
    "editor",
    "event",
    "funder",
    "group-title",
    "indexed",
    "is-referenced-by-count",
    "issn-type",
    "issue",
    "issued",
    "license",
    "link",
    "member",
    "original-title",
    "page",
    "posted",
    "prefix",
    "published",
    "published-online",
    "published-print",
    "publisher",
    "publisher-location",
    "reference",
    "references-count",
    "relation",
    "score",
    "short-container-title",
    "short-title",
    "standards-body",
    "subject",
    "subtitle",
    "title",
    "translator",
    "type",
    "update-policy",
    "update-to",
    "updated-by",
    "volume",
)

#: ``sort`` values of the works routes.
SORT_FIELDS: tuple[str, ...] = (
    "created",
    "deposited",
    "indexed",
    "is-referenced-by-count",
    "issued",
    "published",
    "published-online",
    "published-print",
    "references-count",
    "relevance",
    "score",
    "updated",
)

ORDERS: tuple[str, ...] = ("asc", "desc")

#: Facets of the works routes and the most values each may ask for (None: any count or
#: ``*``). Crossref's documentation caps ``container-title``, ``issn`` and ``orcid`` at 100,
#: but the API takes ``*`` and larger counts for them too (recorded 2021 to 2026; a 2022
#: ``*`` request returned 1,000 container titles, 2,012 ISSNs and 8,192 ORCIDs), so no facet
#: is capped. What the API does refuse stays refused: facets on the other routes (a 400
#: "This route does not support facet", recorded), unknown names, counts below 1.
FACETS: dict[str, int | None] = dict.fromkeys(
    (
        "affiliation",
        "archive",
        "assertion",
        "assertion-group",
        "category-name",
        "container-title",
        "funder-doi",
        "funder-name",
        "issn",
        "journal-issue",
        "journal-volume",
        "license",
        "link-application",
        "orcid",
        "published",
        "publisher-name",
        "relation-type",
        "ror-id",
        "source",
        "type-name",
        "update-type",
    )
)


def kebab(name: str) -> str:
    """``from_pub_date`` -> ``from-pub-date``: Python keyword names to Crossref names."""
    return name.replace("_", "-")


def suggest(name: str, known: Iterable[str]) -> list[str]:
    """Close matches for a misspelt name, best first (for "did you mean" errors)."""
    if not isinstance(name, str):  # a count or a flag passed where a name belongs
        return []
    by_folded = {k.lower().replace("_", "-"): k for k in known}
    folded = name.lower().replace("_", "-")
    if folded in by_folded:
        return [by_folded[folded]]
    return [by_folded[m] for m in difflib.get_close_matches(folded, by_folded, n=3, cutoff=0.6)]


def check_name(name: str, known: Iterable[str], what: str) -> str:
    """Return ``name`` if it is in ``known``, else raise naming the rule and close matches."""
    catalogue = tuple(known)
    if not isinstance(name, str) or name not in catalogue:
        raise ValidationError(name, f"unknown {what}", suggestions=suggest(name, catalogue))
    return name


def check_whole(
    value: object, name: str, *, low: int = 1, high: int | None = None, rule: str | None = None
) -> int:
    """Return ``value`` if it is a whole number (an ``int``, never a ``bool``) from ``low`` to
    ``high`` (no upper bound when None), else raise a ValidationError naming it and the rule.

    The rule reads ``{name} must be between {low} and {high}``, or without ``high``
    ``{name} must be a whole number, {low} or more``; ``rule`` words it otherwise.

    >>> check_whole(20, "rows", low=0, high=MAX_ROWS)
    20
    >>> for bad in (0, 2.5, True):
    ...     try:
    ...         check_whole(bad, "depth")
    ...     except ValidationError as exc:
    ...         print(exc)
    0: depth must be a whole number, 1 or more
    2.5: depth must be a whole number, 1 or more
    True: depth must be a whole number, 1 or more
    """
    # bool is an int subclass: True would otherwise pass as 1.
    if (
        isinstance(value, bool)
        or not isinstance(value, int)
        or value < low
        or (high is not None and value > high)
    ):
        if rule is None:
            limit = (
                f"between {low} and {high}"
                if high is not None
                else f"a whole number, {low} or more"
            )
            rule = f"{name} must be {limit}"
        raise ValidationError(value, rule)
    return value


# --- DOIs ----------------------------------------------------------------------------------

_DOI_PREFIXES = re.compile(
    r"^(?:(?:https?://)?(?:dx\.|www\.)?doi\.org/|doi:\s*|info:doi/|urn:doi:)", re.IGNORECASE
)
_DOI_SHAPE = re.compile(r"^10\.\d+(?:\.\d+)*/\S")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def normalize_doi(value: str) -> str:
    """Strip resolver URLs, ``doi:`` prefixes and surrounding whitespace; check the shape.

    A DOI is ``10.<registrant digits>/<suffix>``; the suffix may hold any printable
    character, spaces included. Case is kept (DOIs are case-insensitive; see :func:`doi_key`).

    >>> normalize_doi(" https://doi.org/10.1037/0003-066X.59.1.29 ")
    '10.1037/0003-066X.59.1.29'
    >>> normalize_doi("doi:10.5555/12345678")
    '10.5555/12345678'
    """
    if not isinstance(value, str):
        raise InvalidDOIError(value, "a DOI must be text such as '10.5555/12345678'")
    text = value.strip()
    match = _DOI_PREFIXES.match(text)
    if match:
        text = text[match.end() :].strip()
        # Resolver links are sometimes pasted percent-encoded (https://doi.org/10.1000%2Fabc).
        if "/" not in text and "%2f" in text.lower():
            text = unquote(text)
    if not _DOI_SHAPE.match(text) or _CONTROL.search(text):
        raise InvalidDOIError(value, "a DOI looks like 10.<registrant digits>/<suffix>")
    return text


def doi_key(doi: str) -> str:
    """The matching key of a DOI: DOIs compare case-insensitively over ASCII letters only.

    Use it to key DOIs from different sources (a reference list, Crossref's answer):

    >>> doi_key("10.5555/Mixed.Case.DOI") == doi_key("10.5555/mixed.case.doi")
    True
    >>> doi_key(" 10.1000/ÄBC ")
    '10.1000/Äbc'
    """
    return doi.strip().translate(_ASCII_LOWER)


def encode_segment(value: str) -> str:
    """Percent-encode one URL path segment completely (``/`` too), so it cannot leave its route.

    >>> encode_segment("10.5555/ab;c#d")
    '10.5555%2Fab%3Bc%23d'
    """
    try:
        return quote(value, safe="")
    except UnicodeEncodeError as exc:
        # A lone surrogate (text decoded with surrogateescape, a broken paste) has no UTF-8.
        raise ValidationError(
            value, "text must be valid Unicode (it holds a lone surrogate)"
        ) from exc


# --- other identifiers ---------------------------------------------------------------------

_ISSN = re.compile(r"^(\d{4})-?(\d{3}[\dXx])$")
_ORCID = re.compile(
    r"^(?:https?://(?:www\.)?orcid\.org/)?(\d{4}-\d{4}-\d{4}-\d{3}[\dXx])$", re.IGNORECASE
)
_PREFIX = re.compile(r"^10\.\d{4,9}(?:\.\d+)*$")
_FUNDER = re.compile(r"^(?:(?:https?://(?:dx\.)?doi\.org/)?10\.13039/)?(\d+)$", re.IGNORECASE)


def normalize_issn(value: str) -> str:
    """``03784371`` or ``0378-4371`` -> ``0378-4371``; anything else is an error."""
    match = _ISSN.match(str(value).strip())
    if not match:
        raise ValidationError(value, "an ISSN is 8 characters, NNNN-NNNC (C a digit or X)")
    return f"{match.group(1)}-{match.group(2).upper()}"


def normalize_orcid(value: str) -> str:
    """``https://orcid.org/0000-0002-...`` or the bare form -> the bare 16-character ORCID iD."""
    match = _ORCID.match(str(value).strip())
    if not match:
        raise ValidationError(value, "an ORCID iD is NNNN-NNNN-NNNN-NNNC (C a digit or X)")
    return match.group(1).upper()


def normalize_prefix(value: str) -> str:
    """A DOI prefix such as ``10.1016`` (also accepted with a resolver URL in front)."""
    text = str(value).strip()
    text = re.sub(r"^(?:https?://(?:dx\.)?doi\.org/|doi:)", "", text, flags=re.IGNORECASE)
    text = re.sub(r"^https?://id\.crossref\.org/prefix/", "", text, flags=re.IGNORECASE)
    if not _PREFIX.match(text):
        raise ValidationError(value, "a DOI prefix looks like 10.<4 to 9 digits>, e.g. 10.1016")
    return text


def _digits(text: str) -> bool:
    """ASCII digits only (``str.isdigit`` also accepts superscripts, which ``int`` refuses)."""
    return text.isascii() and text.isdecimal()


def normalize_member(value: int | str) -> str:
    """A Crossref member id: a positive integer that fits Crossref's 32-bit id."""
    text = str(value).strip()
    if isinstance(value, bool) or not _digits(text) or not 0 < int(text) <= MAX_JAVA_INT:
        raise ValidationError(value, f"a member id is a whole number from 1 to {MAX_JAVA_INT}")
    return str(int(text))


def normalize_funder(value: int | str) -> str:
    """A funder id, bare (``100000001``) or as its DOI (``10.13039/100000001``) -> the bare id."""
    match = _FUNDER.match(str(value).strip())
    if isinstance(value, bool) or not match:
        raise ValidationError(
            value, "a funder id is a number such as 100000001 or its DOI 10.13039/100000001"
        )
    return match.group(1)


def normalize_type(value: str) -> str:
    """A work type id from ``/types`` (``journal-article``, ``book-chapter``, ...)."""
    return check_name(str(value).strip(), WORK_TYPES, "work type (see /types)")


# --- filter values -------------------------------------------------------------------------

_DATE_TEXT = re.compile(r"^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?$")


def encode_date(value: object) -> str:
    """A ``date``/``datetime`` or ``YYYY``/``YYYY-MM``/``YYYY-MM-DD`` text -> the filter form."""
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    text = str(value).strip() if isinstance(value, (str, int)) else None
    match = _DATE_TEXT.match(text) if text is not None and not isinstance(value, bool) else None
    if text is None or match is None:
        raise ValidationError(
            value, "a date filter takes a date, or text YYYY, YYYY-MM or YYYY-MM-DD"
        )
    year, month, day = match.groups()
    try:
        dt.date(int(year), int(month or 1), int(day or 1))
    except ValueError:
        raise ValidationError(value, "not a real calendar date") from None
    return text


def encode_bool(value: object) -> str:
    """``True``/``False`` (or ``"true"``, ``"1"``, ...) -> ``true``/``false``."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int) and value in (0, 1):
        return "true" if value else "false"
    if isinstance(value, str) and value.strip().lower() in ("true", "1", "t", "yes"):
        return "true"
    if isinstance(value, str) and value.strip().lower() in ("false", "0", "f", "no"):
        return "false"
    raise ValidationError(value, "a yes/no filter takes True or False")


def encode_int(value: object) -> str:
    """A whole number (not negative) for count and amount filters."""
    text = str(value).strip()
    if isinstance(value, bool) or not _digits(text):
        raise ValidationError(value, "this filter takes a whole number (0 or more)")
    return str(int(text))


def _encode_text(value: object) -> str:
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise ValidationError(value, "this filter takes text")
    text = str(value).strip()
    if not text:
        raise ValidationError(value, "a filter value cannot be empty")
    return text


# How each kind of filter value is checked and written: dates, yes/no and numbers from any
# Python value; identifiers from text, normalized.
_VALUE_ENCODERS: dict[Kind, Callable[[object], str]] = {
    Kind.DATE: encode_date,
    Kind.BOOL: encode_bool,
    Kind.INT: encode_int,
}
_TEXT_NORMALIZERS: dict[Kind, Callable[[str], str]] = {
    Kind.DOI: normalize_doi,
    Kind.ISSN: normalize_issn,
    Kind.ORCID: normalize_orcid,
    Kind.PREFIX: normalize_prefix,
    Kind.MEMBER: normalize_member,
    Kind.FUNDER: normalize_funder,
    Kind.TYPE: normalize_type,
}


def encode_filter_value(name: str, kind: Kind, value: object) -> str:
    """Check and write one filter value. A comma is refused: Crossref cannot escape it."""
    if kind in _VALUE_ENCODERS:
        text = _VALUE_ENCODERS[kind](value)
    elif kind is Kind.CHOICE:
        text = check_name(_encode_text(value), CHOICES[name], f"value for filter {name!r}")
    else:
        text = _TEXT_NORMALIZERS.get(kind, str)(_encode_text(value))
    if "," in text:
        raise ValidationError(
            value,
            f"filter {name!r}: a comma cannot appear in a filter value (Crossref has no escape)",
        )
    return text


def filter_values(value: object) -> list[object]:
    """One value, or many (a list, tuple or set means OR)."""
    if isinstance(value, (list, tuple, set, frozenset)):
        # Sets have no order of their own; sorting keeps the URL (and caches) stable.
        values = sorted(value, key=str) if isinstance(value, (set, frozenset)) else list(value)
        if not values:
            raise ValidationError(value, "an OR filter needs at least one value")
        return values
    return [value]


def encode_filters(
    catalogue: Mapping[str, Kind],
    route: str,
    items: Iterable[tuple[str, object]],
) -> tuple[tuple[str, str], ...]:
    """Check filter names against ``catalogue`` and encode every value, keeping call order."""
    out: list[tuple[str, str]] = []
    for raw_name, value in items:
        name = raw_name.strip()
        if name not in catalogue:
            if name in RETIRED_FILTERS.get(route, ()):
                raise ValidationError(
                    name, f"{route} no longer has this filter: the Crossref API dropped it"
                )
            rule = (
                f"{route} has no filter by that name"
                if catalogue
                else f"{route} does not support filters"
            )
            raise ValidationError(name, rule, suggestions=suggest(name, catalogue))
        kind = catalogue[name]
        out.extend((name, encode_filter_value(name, kind, v)) for v in filter_values(value))
    return tuple(out)


def join_filters(filters: Iterable[tuple[str, str]]) -> str:
    """``[("type", "x"), ("type", "y")]`` -> ``type:x,type:y`` (same name twice means OR)."""
    return ",".join(f"{name}:{value}" for name, value in filters)
