"""Which works a works-list request selects: filters, queries, sort order and facet counts.

The same code answers the server and :meth:`Corpus.matching`, so tests compute expected
results with exactly the rules the server applies. The rules, where Crossref documents them:

* Filters: different names AND, the same name repeated OR. Dates are inclusive and may be
  ``YYYY``, ``YYYY-MM`` or ``YYYY-MM-DD``; a partial publication date counts as its earliest
  day (``[[2013, 2]]`` is 2013-02-01), and an ``until-`` date includes its whole period
  (``until-created-date:2010-06`` includes all of June).
* Queries: case-insensitive words, stop words ignored. A work matches a query parameter when
  it contains at least one of its words in that parameter's fields; several parameters
  (``query`` and ``query.author``...) must all match, and their scores add up.
* Scores are relevance, built the way search engines build them. Every matched word adds its
  inverse document frequency, ``log(1 + N / df)``, times its field's weight (title and
  author 1, container title and year 0.5), so a title's own words and family names count far
  more than ``journal`` or a year. Title words then count again in proportion to how much of
  the work's title the query covers (a coordination factor: quoting the whole title doubles
  the title's share, sharing a few of its words adds little). Last, the 64 best candidates
  with title words are rescored: each pair of consecutive title words that the query has
  next to each other adds both words' weights again (a phrase bonus, as Elasticsearch
  rescoring does), since a citation quotes its title in order and unrelated text does not.
* Citation matching (``query.bibliographic`` with a reference string such as
  :meth:`Corpus.citation` makes) was measured over 300 random works in each of the six
  reference styles (1,800 citations) and 900 strings that cite no corpus work (300 references
  to outside works in the corpus's own vocabulary, the hard case; 300 of random letters; 300
  of prose):

  ==============  ======================  ====================  =================================
  works (seed)    own work, 1st hit:      2nd hit: median,      non-citing strings, 1st hit:
                  min, 5th pct, median    95th pct, max         median, max (outside refs)
  ==============  ======================  ====================  =================================
  1,000 (0)       73.7, 84.8, 141.2       15.2, 21.8, 30.7      14.5, 30.7 (letters 3.7, prose 6.4)
  2,000 (11)      65.7, 84.5, 146.1       17.8, 25.2, 37.7      17.2, 37.4
  3,000 (5)       68.1, 82.6, 141.9       17.9, 26.1, 34.6      18.0, 35.2
  20,000 (0)      73.6, 83.7, 146.2       22.7, 29.9, 34.0      22.4, 40.0 (letters 7.0, prose 9.1)
  200,000 (1)     74.5, 83.1, 151.9       28.4, 36.8, 42.7      27.3, 43.2 (letters 11, prose 11)
  ==============  ======================  ====================  =================================

  The own work always came first, at 2.07 times the second hit's score or more (3.2 or more
  up to 3,000 works). Every own work scored 65.7 or more, everything else 43.2 or less:
  :data:`MATCH_THRESHOLD` (55) sits between them, with a margin of about ten either way. The
  weights depend on proportions, not on the corpus size, so the scale barely moves from 1,000
  to 200,000 works; only non-matches creep up, as more works share some words with any text.
* Order: ``sort`` with ``order`` (default ``desc``); works without the sort field (no
  publication date) come last either way; ties keep corpus order. Without ``sort``, a query
  orders by score, otherwise corpus order.
"""

from __future__ import annotations

import calendar
import datetime as dt
import functools
import heapq
import itertools
import math
import re
from array import array
from collections import Counter, OrderedDict
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from .. import _params as catalogue
from .._params import doi_key
from . import _tables as tb
from . import _vocab as v
from ._records import WorkBuilder, crossmark_restricted, tokens

Predicate = Callable[[int], bool]
Record = dict[str, Any]


class SearchError(Exception):
    """A filter, query, sort or facet the API would refuse, with its validation detail.

    >>> from crossref_async.testing import Corpus
    >>> try:
    ...     Corpus(works=50).search([("from-pub-date", "last year")])
    ... except SearchError as exc:
    ...     error = exc
    >>> error.kind, error.value
    ('date-not-valid', 'last year')
    >>> error.message
    'Date specified as last year but must be of the form yyyy, yyyy-mm or yyyy-mm-dd'
    """

    def __init__(self, kind: str, value: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.value = value
        self.message = message

    @property
    def detail(self) -> dict[str, str]:
        """The entry of a ``validation-failure`` body's ``message`` list.

        >>> SearchError("filter-not-available", "colour", "Filter 'colour' ...").detail
        {'type': 'filter-not-available', 'value': 'colour', 'message': "Filter 'colour' ..."}
        """
        return {"type": self.kind, "value": self.value, "message": self.message}


@dataclass(frozen=True)
class Selection:
    """A normalised works request: filters, ``query``/``query.<field>`` texts, sort, order.

    ``queries`` pairs a field name with its text; the plain ``query`` parameter is the
    field ``""``.
    """

    filters: tuple[tuple[str, str], ...] = ()
    queries: tuple[tuple[str, str], ...] = ()
    sort: str | None = None
    order: str = "desc"

    def key(self) -> tuple[Any, ...]:
        """Cache key: filter order does not change the result, so it is ignored."""
        return (tuple(sorted(self.filters)), self.queries, self.sort, self.order)


@dataclass(frozen=True)
class Result:
    """The selected work indexes in order, with relevance scores when there was a query."""

    indexes: Sequence[int]
    scores: dict[int, float] | None = None

    def score(self, i: int) -> float:
        """The relevance score of work ``i`` (1.0 without a query, as Crossref sends), rounded
        to six decimals. Rounded here rather than when scoring: only the served few ever
        are."""
        return 1.0 if self.scores is None else round(self.scores.get(i, 0.0), 6)


# -- what is implemented --------------------------------------------------------------------

_DATE_COLUMNS = {
    "pub": "pub_ord",
    "issued": "pub_ord",
    "created": "created",
    "index": "indexed",
    "deposit": "deposited",
    "update": "deposited",
}
_FLAG_FILTERS = {
    "has-abstract": tb.ABSTRACT,
    "has-orcid": tb.ORCID,
    "has-authenticated-orcid": tb.AUTHENTICATED_ORCID,
    "has-funder": tb.FUNDED,
    "has-award": tb.FUNDED,
    "has-funder-doi": tb.FUNDED,
    "has-license": tb.LICENSED,
    "has-full-text": tb.FULL_TEXT,
    "has-relation": tb.RELATION,
    "has-affiliation": tb.AFFILIATION,
    "is-update": tb.UPDATE,
}
_EQUALITY_FILTERS = (
    "doi",
    "type",
    "type-name",
    "member",
    "prefix",
    "issn",
    "container-title",
    "funder",
    "award.funder",
    "orcid",
    "license.url",
)
_CONSTANT_FILTERS = {"has-content-domain": True}

# Filters read from the served records themselves (one pass over every record, on first use:
# see RecordFacts). Date subject -> where a record holds that date.
_RECORD_DATES: dict[str, tuple[str, ...]] = {
    "accepted": ("accepted",),
    "approved": ("approved",),
    "awarded": ("award-start",),  # a grant's field: no corpus work is a grant
    "event-end": ("event", "end"),
    "event-start": ("event", "start"),
    "online-pub": ("published-online",),
    "posted": ("posted",),
    "print-pub": ("published-print",),
}
# has-<x> filter -> the fact whose presence it tests.
_RECORD_FLAGS = {
    "has-archive": "archive",
    "has-assertion": "assertion",
    "has-clinical-trial-number": "clinical-trial-number",
    "has-description": "description",
    "has-event": "event",
    "has-ror-id": "ror-id",
    "has-update": "updated-by",
}
# Value filters named after the fact they match (see _record_values for each one's source).
_RECORD_VALUES = (
    "alternative-id",
    "archive",
    "article-number",
    "assertion",
    "assertion-group",
    "award.number",
    "category-name",
    "clinical-trial-number",
    "content-domain",
    "directory",
    "full-text.application",
    "full-text.type",
    "full-text.version",
    "funder-doi-asserted-by",
    "group-title",
    "isbn",
    "license.version",
    "relation.object",
    "relation.object-type",
    "relation.type",
    "ror-id",
    "update-type",
    "updates",
)
# Numeric filters: gte/lte-award-amount read a grant's award amount (no corpus work is a
# grant, so they select nothing); license.delay the smallest delay-in-days of the licenses.
_AMOUNT_FILTERS = ("gte-award-amount", "lte-award-amount")
_INTEGER_FILTERS = (*_AMOUNT_FILTERS, "license.delay")
_OTHER_FILTERS = ("citation-id", "reference-visibility")

#: Works filters the simulator implements: every filter of the client's catalogue (a filter
#: outside it is refused as Crossref refuses one, with ``filter-not-available``). Where the
#: corpus has no field to read, a filter is applied to what there is (see the docstring of
#: :class:`RecordFacts`): it answers 200 and selects nothing, never a 400 Crossref does not
#: send.
IMPLEMENTED_FILTERS: frozenset[str] = frozenset(
    [f"{side}-{subject}-date" for subject in _DATE_COLUMNS for side in ("from", "until")]
    + [f"{side}-{subject}-date" for subject in _RECORD_DATES for side in ("from", "until")]
    + list(_FLAG_FILTERS)
    + list(_EQUALITY_FILTERS)
    + list(_CONSTANT_FILTERS)
    + ["has-references", "has-update-policy", "has-domain-restriction"]
    + list(_RECORD_FLAGS)
    + list(_RECORD_VALUES)
    + list(_INTEGER_FILTERS)
    + list(_OTHER_FILTERS)
)

_FIELD_WEIGHTS = {"title": 1.0, "author": 1.0, "container": 0.5, "year": 0.5}
_QUERY_FIELDS: dict[str, tuple[str, ...]] = {
    "": ("title", "author", "container"),
    "bibliographic": ("title", "author", "container", "year"),
    "title": ("title",),
    "author": ("author",),
    "contributor": ("author", "editor", "chair", "translator"),
    "container-title": ("container",),
    "publisher-name": ("publisher",),
    "funder-name": ("funder",),
    "affiliation": ("affiliation",),
}
# Field queries over texts of the records (see _record_texts): chair, translator, event
# themes and standards bodies appear on no corpus work, so those queries match nothing.
_RECORD_QUERY_FIELDS = (
    "chair",
    "degree",
    "description",
    "editor",
    "event-acronym",
    "event-location",
    "event-name",
    "event-sponsor",
    "event-theme",
    "publisher-location",
    "standards-body-acronym",
    "standards-body-name",
    "translator",
)
_QUERY_FIELDS.update({name: (name,) for name in _RECORD_QUERY_FIELDS})
#: ``query.<field>`` names the simulator implements.
IMPLEMENTED_FIELD_QUERIES: frozenset[str] = frozenset(f for f in _QUERY_FIELDS if f)

# Facets read from the records: facet -> fact.
_RECORD_FACETS = {
    "archive": "archive",
    "assertion": "assertion",
    "assertion-group": "assertion-group",
    "category-name": "category-name",
    "journal-issue": "journal-issue",
    "journal-volume": "journal-volume",
    "relation-type": "relation.type",
    "ror-id": "ror-id",
    "update-type": "update-type",
}

#: Facets the simulator implements.
IMPLEMENTED_FACETS: tuple[str, ...] = tuple(
    sorted(
        (
            "affiliation",
            "container-title",
            "funder-doi",
            "funder-name",
            "issn",
            "license",
            "link-application",
            "orcid",
            "published",
            "publisher-name",
            "source",
            "type-name",
            *_RECORD_FACETS,
        )
    )
)

#: How many values a facet returns at most, for ``*`` or any larger count: every value,
#: except ``container-title``, recorded answering ``*`` with exactly 1,000 of its values.
FACET_VALUE_CAPS: dict[str, int] = {"container-title": 1000}

#: The ``query.bibliographic`` score that separates a citation's own work (65.7 and more,
#: measured) from every other work (43.2 and less): see the module docstring.
MATCH_THRESHOLD: float = 55.0

_RESCORE_WINDOW = 64  # how many of the best candidates the phrase bonus rescores
_DATE = re.compile(r"^(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?$")
_REFERENCE_KEY = re.compile(r"^(CR|ref)(\d+)$")
_YEAR = re.compile(r"^\d{4}$")
_TRUE = frozenset({"true", "1", "t"})
_FALSE = frozenset({"false", "0", "f"})
_EPOCH = dt.date(1970, 1, 1).toordinal()
_EMPTY: array[int] = array("i")


def date_bounds(value: str) -> tuple[int, int]:
    """``(first day, last day)`` as ordinals of a ``YYYY``/``YYYY-MM``/``YYYY-MM-DD`` value.

    >>> a, b = date_bounds("2010-02")
    >>> dt.date.fromordinal(a), dt.date.fromordinal(b)
    (datetime.date(2010, 2, 1), datetime.date(2010, 2, 28))
    """
    match = _DATE.match(value)
    if match is None:
        raise ValueError(value)
    year, month, day = (int(g) if g else None for g in match.groups())
    assert year is not None
    try:
        if month is None:
            return dt.date(year, 1, 1).toordinal(), dt.date(year, 12, 31).toordinal()
        if day is None:
            last = calendar.monthrange(year, month)[1]
            return dt.date(year, month, 1).toordinal(), dt.date(year, month, last).toordinal()
        ordinal = dt.date(year, month, day).toordinal()
    except ValueError:
        raise ValueError(value) from None
    return ordinal, ordinal


def _bool(name: str, value: str) -> bool:
    lowered = value.lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise SearchError(
        "boolean-not-valid",
        value,
        f"Boolean specified as {value} for filter '{name}' but must be true or false. ",
    )


def _integer(name: str, value: str) -> int:
    try:
        return int(value.strip())
    except ValueError:
        raise SearchError(
            "integer-not-valid",
            value,
            f"Integer specified as {value} for filter '{name}' but must be an integer. ",
        ) from None


def not_available(kind: str, value: str, valid: Iterable[str]) -> SearchError:
    """Crossref's ``<kind>-not-available`` failure, listing what the route accepts (the
    wording of the recorded ``filter-not-available``, applied to other kinds)."""
    return SearchError(
        f"{kind.replace(' ', '-')}-not-available",
        value,
        f"{kind.capitalize()} '{value}' specified but there is no such {kind} for this route."
        f" Valid {_plural(kind)} for this route are: {', '.join(valid)}",
    )


def _plural(kind: str) -> str:
    return kind[:-1] + "ies" if kind.endswith("y") else kind + "s"


def _not_implemented(kind: str, value: str, implemented: Iterable[str]) -> SearchError:
    return SearchError(
        f"{kind.replace(' ', '-')}-not-implemented",
        value,
        f"{kind.capitalize()} '{value}' is valid on Crossref but not implemented by the"
        f" crossref-async simulator. Implemented {kind}s: {', '.join(sorted(implemented))}",
    )


def check_filter(name: str) -> None:
    """Raise SearchError unless the works routes take filter ``name`` and the simulator
    implements it."""
    if name not in catalogue.WORK_FILTERS:
        raise not_available("filter", name, catalogue.WORK_FILTERS)
    if name not in IMPLEMENTED_FILTERS:
        raise _not_implemented("filter", name, IMPLEMENTED_FILTERS)


def check_field_query(field: str) -> None:
    """Raise SearchError unless ``query.<field>`` exists and is implemented (``""``: the plain
    ``query``)."""
    if field in _QUERY_FIELDS:
        return
    if field in catalogue.FIELD_QUERIES:
        raise _not_implemented("field query", f"query.{field}", IMPLEMENTED_FIELD_QUERIES)
    raise not_available(
        "field query", f"query.{field}", (f"query.{f}" for f in catalogue.FIELD_QUERIES)
    )


def check_facet(name: str) -> None:
    """Raise SearchError unless facet ``name`` exists and is implemented."""
    if name not in catalogue.FACETS:
        raise not_available("facet", name, catalogue.FACETS)
    if name not in IMPLEMENTED_FACETS:
        raise _not_implemented("facet", name, IMPLEMENTED_FACETS)


def normalize_issn(value: str) -> str:
    """``12345678`` or ``1234-5678`` -> ``1234-5678`` (upper-case check character)."""
    compact = value.strip().replace("-", "").upper()
    return f"{compact[:4]}-{compact[4:]}" if len(compact) == 8 else value.strip().upper()


def funder_id(value: str) -> str:
    """A funder id from its bare form or its DOI (``10.13039/100000001``)."""
    text = value.strip()
    for head in ("https://doi.org/", "http://dx.doi.org/", "10.13039/"):
        if text.lower().startswith(head):
            text = text[len(head) :]
    return text.removeprefix("10.13039/")


def normalize_value(name: str, value: str) -> str:
    """How filter ``name`` compares a value (the filter's and the record's alike): DOIs as
    DOIs compare, ISBNs without hyphens, ROR ids by their bare id (``https://ror.org/``
    optional), everything else case-insensitively.

    >>> normalize_value("ror-id", "https://ror.org/02JZ4AJ89"), normalize_value("isbn", "978-1")
    ('02jz4aj89', '9781')
    """
    text = value.strip()
    if name in ("updates", "relation.object"):
        return doi_key(text)
    if name == "isbn":
        return text.replace("-", "").upper()
    if name == "ror-id":
        return text.lower().rsplit("/", 1)[-1]
    return text.casefold()


def _dig(record: Record, path: tuple[str, ...]) -> Any:
    found: Any = record
    for key in path:
        found = found.get(key) if isinstance(found, dict) else None
    return found


def _names(people: Any) -> list[str]:
    return [" ".join(filter(None, (p.get("given"), p.get("family")))) for p in people or ()]


def _record_values(record: Record) -> dict[str, list[str]]:
    """Fact -> the values a record holds (as served: facets show them so)."""
    funders = record.get("funder") or []
    licenses = record.get("license") or []
    links = record.get("link") or []
    relations = record.get("relation") or {}
    updates = record.get("update-to") or []
    assertions = record.get("assertion") or []
    affiliations = [
        aff for person in record.get("author") or [] for aff in person.get("affiliation") or []
    ]
    event = record.get("event") or {}
    cc_journal = "ISSN" in record and any("creativecommons.org" in x["URL"] for x in licenses)
    out = {
        "alternative-id": record.get("alternative-id") or [],
        "archive": record.get("archive") or [],
        "article-number": [record["article-number"]] if "article-number" in record else [],
        "assertion": [a["name"] for a in assertions],
        "assertion-group": [a["group"]["name"] for a in assertions if "group" in a],
        "award.number": [award for f in funders for award in f.get("award") or []],
        "category-name": record.get("subject") or [],
        "clinical-trial-number": [
            t["clinical-trial-number"] for t in record.get("clinical-trial-number") or []
        ],
        "content-domain": (record.get("content-domain") or {}).get("domain") or [],
        "description": [record["description"]] if "description" in record else [],
        # Approximation: Crossref reads DOAJ's list of journals; here a journal work with a
        # Creative Commons license counts as listed.
        "directory": ["doaj"] if cc_journal else [],
        "event": [event.get("name", "")] if event else [],
        "full-text.application": [x["intended-application"] for x in links],
        "full-text.type": [x["content-type"] for x in links],
        "full-text.version": [x["content-version"] for x in links],
        "funder-doi-asserted-by": [f["doi-asserted-by"] for f in funders if "doi-asserted-by" in f],
        "group-title": [record["group-title"]] if "group-title" in record else [],
        "isbn": record.get("ISBN") or [],
        "journal-issue": [record["journal-issue"]["issue"]] if "journal-issue" in record else [],
        "journal-volume": [record["volume"]] if "volume" in record else [],
        "license.version": [x["content-version"] for x in licenses],
        "relation.object": [o["id"] for objects in relations.values() for o in objects],
        "relation.object-type": [o["id-type"] for objects in relations.values() for o in objects],
        "relation.type": list(relations),
        "ror-id": [
            x["id"] for aff in affiliations for x in aff.get("id") or [] if x["id-type"] == "ROR"
        ],
        "update-type": [u["type"] for u in updates],
        "updated-by": [u["DOI"] for u in record.get("updated-by") or []],
        "updates": [u["DOI"] for u in updates],
    }
    return {fact: values for fact, values in out.items() if values}


def _record_texts(record: Record) -> dict[str, list[str]]:
    """``query.<field>`` -> the texts of a record that the field query searches."""
    event = record.get("event") or {}
    body = record.get("standards-body") or {}
    return {
        "chair": _names(record.get("chair")),
        "degree": record.get("degree") or [],
        "description": [record.get("description") or ""],
        "editor": _names(record.get("editor")),
        "event-acronym": [event.get("acronym") or ""],
        "event-location": [event.get("location") or ""],
        "event-name": [event.get("name") or ""],
        "event-sponsor": event.get("sponsor") or [],
        "event-theme": [event.get("theme") or ""],
        "publisher-location": [record.get("publisher-location") or ""],
        "standards-body-acronym": [body.get("acronym") or ""],
        "standards-body-name": [body.get("name") or ""],
        "translator": _names(record.get("translator")),
    }


def _first_day(date: Any) -> int:
    """The ordinal of the earliest day of a ``{"date-parts": [[y, m, d]]}`` value; 0 for none."""
    parts = (date or {}).get("date-parts") or [[None]]
    year, month, day = [*parts[0], None, None][:3]
    if not isinstance(year, int):
        return 0
    return dt.date(year, month or 1, day or 1).toordinal()


class RecordFacts:
    """What the filters, facets and field queries that read the served records need, from one
    pass over every record (without references), made on first use: a few seconds per
    100,000 works, once per corpus.

    Sources, and the approximations where the corpus has nothing to read: ``from-awarded-date``
    and the award amounts read a grant's ``award-start`` and ``award-amount`` (no corpus work
    is a grant: they select nothing); ``directory:doaj`` selects journal works with a Creative
    Commons license; ``reference-visibility`` reads the members' (every prefix is ``open``);
    ``citation-id`` selects works with a reference of that ``key``; ``has-update`` means
    ``updated-by`` (another work updates this one); ``is-update`` means ``update-to``.
    """

    def __init__(self, n: int, build: Callable[[int], Record]) -> None:
        self.postings: dict[str, dict[str, array[int]]] = {}
        self.raw: dict[str, dict[int, tuple[str, ...]]] = {f: {} for f in _RECORD_FACETS.values()}
        self.dates = {subject: array("i", [0]) * n for subject in _RECORD_DATES}
        self.license_delay: dict[int, int] = {}
        self.words: dict[str, dict[str, array[int]]] = {f: {} for f in _RECORD_QUERY_FIELDS}
        for i in range(n):
            record = build(i)
            for fact, values in _record_values(record).items():
                if fact in self.raw:
                    self.raw[fact][i] = tuple(dict.fromkeys(values))
                postings = self.postings.setdefault(fact, {})
                for value in {normalize_value(fact, x) for x in values}:
                    postings.setdefault(value, array("i")).append(i)
            for subject, path in _RECORD_DATES.items():
                self.dates[subject][i] = _first_day(_dig(record, path))
            delays = [x["delay-in-days"] for x in record.get("license") or ()]
            if delays:
                self.license_delay[i] = min(delays)
            for field, texts in _record_texts(record).items():
                words = self.words[field]
                for token in {t for text in texts for t in tokens(text)}:
                    words.setdefault(token, array("i")).append(i)

    def having(self, fact: str) -> set[int]:
        """The works with at least one value of ``fact``."""
        return {i for works in self.postings.get(fact, {}).values() for i in works}

    def matching(self, fact: str, values: Iterable[str]) -> set[int]:
        """The works with any of ``values`` (normalised as :func:`normalize_value` does)."""
        postings = self.postings.get(fact, {})
        return {i for value in values for i in postings.get(normalize_value(fact, value), _EMPTY)}


class Searcher:
    """Evaluates selections over a corpus's tables; results are cached (LRU)."""

    def __init__(
        self,
        tables: tb.Tables,
        doi_index: Callable[[str], int | None],
        builder: WorkBuilder | None = None,
        cache_size: int = 64,
    ) -> None:
        self.t = tables
        self._doi_index = doi_index
        self._builder = builder or WorkBuilder(tables)
        self._cache: OrderedDict[tuple[Any, ...], Result] = OrderedDict()
        self._cache_size = cache_size

    # -- entry points --------------------------------------------------------------------

    def run(self, selection: Selection) -> Result:
        """The works ``selection`` selects, in order. Raises SearchError for bad values."""
        key = selection.key()
        found = self._cache.get(key)
        if found is not None:
            self._cache.move_to_end(key)
            return found
        result = self._evaluate(selection)
        self._cache[key] = result
        if len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)
        return result

    def forget(self) -> None:
        """Drop every cached result (the corpus changed)."""
        self._cache.clear()

    @functools.cached_property
    def facts(self) -> RecordFacts:
        """The record facts (built on first use; re-indexing does not change them)."""
        return RecordFacts(self.t.n, self._builder.bare)

    # -- filters -------------------------------------------------------------------------

    def _evaluate(self, selection: Selection) -> Result:
        groups: dict[str, list[str]] = {}
        for name, value in selection.filters:
            check_filter(name)
            groups.setdefault(name, []).append(value)
        sets: list[Collection[int]] = []
        predicates: list[Predicate] = []
        for name, values in groups.items():
            compiled = self._compile(name, values)
            if isinstance(compiled, (set, range)):
                sets.append(compiled)
            else:
                predicates.append(compiled)
        scores = self._score(selection.queries) if selection.queries else None
        if scores is not None:
            sets.append(scores.keys())
        sets.sort(key=len)
        if sets:
            candidates: Iterable[int] = sets[0]
            for other in sets[1:]:
                candidates = [i for i in candidates if i in other]
            base = sorted(candidates)
        else:
            base = list(range(self.t.n))
        for predicate in predicates:
            base = [i for i in base if predicate(i)]
        return Result(self._order(base, selection, scores), scores)

    def _compile(self, name: str, values: list[str]) -> set[int] | range | Predicate:
        """A set of matching works (equality filters) or a predicate (the rest)."""
        c = self.t.columns
        if name.endswith("-date"):
            side, _, subject = name.removesuffix("-date").partition("-")
            ordinals = subject in _RECORD_DATES
            column = self.facts.dates[subject] if ordinals else getattr(c, _DATE_COLUMNS[subject])
            ordinals = ordinals or column is c.pub_ord
            bounds = []
            for value in values:
                try:
                    first, last = date_bounds(value.strip())
                except ValueError:
                    raise SearchError(
                        "date-not-valid",
                        value,
                        f"Date specified as {value} but must be of the form yyyy, yyyy-mm or"
                        " yyyy-mm-dd",
                    ) from None
                if ordinals:
                    bounds.append(first if side == "from" else last)
                else:  # epoch seconds; an until- date ends at the end of its last day
                    bounds.append((first if side == "from" else last + 1) - _EPOCH)
            if ordinals:
                if side == "from":
                    low = min(bounds)
                    return lambda i: column[i] >= low
                high = max(bounds)
                return lambda i: 0 < column[i] <= high
            if side == "from":
                low_ts = min(bounds) * 86_400
                return lambda i: column[i] >= low_ts
            high_ts = max(bounds) * 86_400
            return lambda i: column[i] < high_ts
        if name in _FLAG_FILTERS or name in (
            "has-references",
            "has-update-policy",
            "has-domain-restriction",
        ):
            wanted = {_bool(name, value) for value in values}
            if len(wanted) == 2:
                return range(self.t.n)
            (want,) = wanted
            if name == "has-references":
                return lambda i: (c.refs[i] > 0) is want
            if name == "has-update-policy":
                members = self.t.members
                return lambda i: (members[c.member[i]].code % 3 == 0) is want
            if name == "has-domain-restriction":
                members = self.t.members
                return lambda i: crossmark_restricted(members[c.member[i]]) is want
            bit = _FLAG_FILTERS[name]
            return lambda i: bool(c.flags[i] & bit) is want
        if name in _CONSTANT_FILTERS:
            constant = _CONSTANT_FILTERS[name]
            return range(self.t.n) if constant in {_bool(name, x) for x in values} else set()
        if name in _RECORD_FLAGS:
            wanted = {_bool(name, value) for value in values}
            having = self.facts.having(_RECORD_FLAGS[name])
            if len(wanted) == 2:
                return range(self.t.n)
            return having if wanted == {True} else set(range(self.t.n)) - having
        if name in _RECORD_VALUES:
            return self.facts.matching(name, values)
        if name in _INTEGER_FILTERS:
            numbers = [_integer(name, value) for value in values]
            if name in _AMOUNT_FILTERS:
                return set()
            delays = self.facts.license_delay
            return {i for i, delay in delays.items() if delay <= max(numbers)}
        if name == "reference-visibility":
            # Every corpus prefix deposits open references (see rec.member_record).
            return range(self.t.n) if "open" in {x.strip() for x in values} else set()
        if name == "citation-id":
            return self._citation_ids(values)
        return self._equality(name, values)

    def _citation_ids(self, values: list[str]) -> set[int]:
        """Works with a reference whose ``key`` is one of ``values``."""
        wanted: dict[str, int] = {}
        for value in values:
            match = _REFERENCE_KEY.match(value.strip())
            if match and int(match.group(2)) >= 1:  # keys run from 1 to the reference count
                base, number = match.group(1), int(match.group(2))
                wanted[base] = min(wanted.get(base, number), number)
        refs = self.t.columns.refs
        out = set()
        for i in range(self.t.n):
            lowest = wanted.get(self._builder.key_base(i))
            if lowest is not None and lowest <= refs[i]:
                out.add(i)
        return out

    def _equality(self, name: str, values: list[str]) -> set[int]:
        t = self.t
        out: set[int] = set()
        if name == "doi":
            for value in values:
                index = self._doi_index(value)
                if index is not None:
                    out.add(index)
            return out
        if name in ("type", "type-name"):
            wanted = {x.strip().lower() for x in values}
            codes = [
                code
                for code, type_id in enumerate(tb.WORK_TYPE_IDS)
                if type_id in wanted or v.TYPE_LABELS[type_id].lower() in wanted
            ]
            postings: list[Iterable[int]] = [self._by_type.get(code, _EMPTY) for code in codes]
        elif name == "member":
            ids = {x.strip() for x in values}
            postings = [
                self._by_member.get(row.code, _EMPTY) for row in t.members if str(row.id) in ids
            ]
        elif name == "prefix":
            wanted = {x.strip().lower() for x in values}
            out.update(
                i
                for row in t.members
                if any(p in wanted for p in row.prefixes)
                for i in self._by_member.get(row.code, _EMPTY)
                if t.prefix(i) in wanted
            )
            return out
        elif name in ("issn", "container-title"):
            if name == "issn":
                wanted = {normalize_issn(x) for x in values}
                rows = [r for r in t.containers if any(s in wanted for s, _ in r.issns)]
            else:
                titles = {x.strip().casefold() for x in values}
                rows = [r for r in t.containers if r.title.casefold() in titles]
            postings = [self._by_container.get(r.code, _EMPTY) for r in rows]
        elif name in ("funder", "award.funder"):
            ids = {funder_id(x) for x in values}
            postings = [
                self._by_funder[code] for code, row in enumerate(v.FUNDERS) if row[0] in ids
            ]
        elif name == "orcid":
            ids = {x.strip().upper().rsplit("/", 1)[-1] for x in values}
            postings = [
                self._by_person.get(code, _EMPTY)
                for code, row in enumerate(t.people)
                if row.orcid is not None and row.orcid in ids
            ]
        else:  # license.url
            urls = {x.strip() for x in values}
            postings = [
                self._by_license.get(code, _EMPTY)
                for code, url in enumerate(v.LICENSES)
                if url in urls
            ]
        for posting in postings:
            out.update(posting)
        return out

    # -- postings (built on first use) ----------------------------------------------------

    def _group(self, keys: Iterable[int]) -> dict[int, array[int]]:
        out: dict[int, array[int]] = {}
        for i, key in enumerate(keys):
            found = out.get(key)
            if found is None:
                found = out[key] = array("i")
            found.append(i)
        return out

    @functools.cached_property
    def _by_type(self) -> dict[int, array[int]]:
        return self._group(self.t.columns.type)

    @functools.cached_property
    def _by_member(self) -> dict[int, array[int]]:
        return self._group(self.t.columns.member)

    @functools.cached_property
    def _by_container(self) -> dict[int, array[int]]:
        return self._group(self.t.columns.container)

    @functools.cached_property
    def _by_license(self) -> dict[int, array[int]]:
        return self._group(self.t.columns.license)

    @functools.cached_property
    def _by_year(self) -> dict[int, array[int]]:
        return self._group(p // 10000 for p in self.t.columns.pub)

    @functools.cached_property
    def _by_funder(self) -> dict[int, array[int]]:
        c = self.t.columns
        out: dict[int, array[int]] = {code: array("i") for code in range(len(v.FUNDERS))}
        for i in range(self.t.n):
            if c.funders[i]:
                for code in c.funder_codes(i):
                    out[code].append(i)
        return out

    @functools.cached_property
    def _by_person(self) -> dict[int, array[int]]:
        c = self.t.columns
        out: dict[int, array[int]] = {}
        starts = c.author_start
        for i in range(self.t.n):
            for person in set(c.author[starts[i] : starts[i + 1]]):
                found = out.get(person)
                if found is None:
                    found = out[person] = array("i")
                found.append(i)
        return out

    @functools.cached_property
    def _by_title_word(self) -> dict[int, array[int]]:
        c = self.t.columns
        out: dict[int, array[int]] = {}
        starts = c.title_start
        for i in range(self.t.n):
            for code in set(c.title[starts[i] : starts[i + 1]]):
                found = out.get(code)
                if found is None:
                    found = out[code] = array("i")
                found.append(i)
        return out

    @functools.cached_property
    def _token_owners(self) -> dict[str, dict[str, list[int]]]:
        """token -> codes of the people, containers, members, funders, institutions whose
        names contain it."""
        out: dict[str, dict[str, list[int]]] = {
            "author": {},
            "container": {},
            "publisher": {},
            "funder": {},
            "affiliation": {},
        }

        def add(field: str, text: str, code: int) -> None:
            for token in set(tokens(text)):
                if token not in v.STOP_WORDS:
                    out[field].setdefault(token, []).append(code)

        for code, person in enumerate(self.t.people):
            add("author", f"{person.given} {person.family}", code)
        for container in self.t.containers:
            add("container", container.title, container.code)
        for member in self.t.members:
            add("publisher", member.name, member.code)
        for code, (_, name, _) in enumerate(v.FUNDERS):
            add("funder", name, code)
        for code, name in enumerate(v.INSTITUTIONS):
            add("affiliation", name, code)
        return out

    @functools.cached_property
    def _title_weight(self) -> dict[int, float]:
        """The weight (inverse document frequency) of each title word code in use."""
        n = max(self.t.n, 1)
        return {code: math.log(1 + n / len(works)) for code, works in self._by_title_word.items()}

    @functools.cached_property
    def _title_mass(self) -> array[float]:
        """Per work, the summed weight of its distinct title words: what a query quoting the
        whole title matches (the denominator of the coverage factor)."""
        weight = self._title_weight
        c = self.t.columns
        starts = c.title_start
        return array(
            "d",
            (sum(weight[code] for code in set(c.title[starts[i] : starts[i + 1]])) or 1.0
             for i in range(self.t.n)),
        )  # fmt: skip

    @functools.cached_property
    def _word_codes(self) -> dict[str, int]:
        return {word: code for code, word in enumerate(tb.WORDS)}

    def _postings(self, field: str, token: str) -> list[Sequence[int]]:
        """The works that contain ``token`` in ``field``, as posting lists."""
        if field == "title":
            code = self._word_codes.get(token)
            return [self._by_title_word.get(code, _EMPTY)] if code is not None else []
        if field == "year":
            return [self._by_year.get(int(token), _EMPTY)] if _YEAR.match(token) else []
        if field in self.facts.words:
            return [self.facts.words[field].get(token, _EMPTY)]
        owners = self._token_owners[field].get(token, [])
        if field == "author":
            return [self._by_person.get(code, _EMPTY) for code in owners]
        if field == "container":
            return [self._by_container.get(code, _EMPTY) for code in owners]
        if field == "publisher":
            return [self._by_member.get(code, _EMPTY) for code in owners]
        if field == "funder":
            return [self._by_funder[code] for code in owners]
        # affiliation: the works of every person at a matching institution
        institutions = set(owners)
        return [
            self._by_person.get(code, _EMPTY)
            for code, person in enumerate(self.t.people)
            if person.affiliation in institutions
        ]

    # -- queries -------------------------------------------------------------------------

    def _score(self, queries: tuple[tuple[str, str], ...]) -> dict[int, float]:
        total: dict[int, float] | None = None
        for field_name, text in queries:
            check_field_query(field_name)
            scores = self._score_one(_QUERY_FIELDS[field_name], text)
            if total is None:
                total = scores
            else:
                total = {i: s + scores[i] for i, s in total.items() if i in scores}
        return total or {}

    def _score_one(self, fields: tuple[str, ...], text: str) -> dict[int, float]:
        """The scores of one query parameter (see the module docstring): word weights, the
        title coverage factor, then the phrase bonus of the best candidates."""
        n = max(self.t.n, 1)
        words = [
            token
            for token in tokens(text)
            if token not in v.STOP_WORDS
            and len(token) > 1
            and (not token.isdigit() or _YEAR.match(token))
        ]
        scores: dict[int, float] = {}
        title_hits: dict[int, float] = {}  # the title's share, for the coverage factor
        for token in sorted(set(words)):
            for field in fields:
                postings = self._postings(field, token)
                df = sum(len(p) for p in postings)
                if not df:
                    continue
                weight = _FIELD_WEIGHTS.get(field, 1.0) * math.log(1 + n / df)
                into = title_hits if field == "title" else scores
                for posting in postings:
                    for i in posting:
                        into[i] = into.get(i, 0.0) + weight
        mass = self._title_mass
        for i, hit in title_hits.items():
            scores[i] = scores.get(i, 0.0) + hit * (1.0 + hit / mass[i])
        if title_hits:
            self._phrase_bonus(scores, title_hits.keys(), words)
        return scores

    def _phrase_bonus(
        self, scores: dict[int, float], titled: Iterable[int], words: list[str]
    ) -> None:
        """Rescore the best :data:`_RESCORE_WINDOW` of the ``titled`` candidates (those with
        title words): every pair of consecutive title words that the query also has next to
        each other adds both words' weights again. A citation quotes its title in order; text that
        merely shares words rarely does. Only the window is rescored, as Elasticsearch's
        ``rescore`` does, and a bonus only raises scores."""
        codes = self._word_codes
        sequence = [codes[w] for w in words if w in codes]
        pairs = set(itertools.pairwise(sequence))
        if not pairs:
            return
        weight = self._title_weight
        c = self.t.columns
        for i in heapq.nlargest(_RESCORE_WINDOW, titled, key=scores.__getitem__):
            title = c.title_codes(i)
            scores[i] += sum(
                weight[a] + weight[b] for a, b in itertools.pairwise(title) if (a, b) in pairs
            )

    # -- order ---------------------------------------------------------------------------

    def _order(
        self, base: list[int], selection: Selection, scores: dict[int, float] | None
    ) -> list[int]:
        sort = selection.sort
        descending = selection.order != "asc"
        if sort is None:
            if scores is None:
                return base
            sort, descending = "score", True
        c = self.t.columns
        key: Callable[[int], float]
        if sort in ("score", "relevance"):
            if scores is None:
                return base  # every score is 1.0: all tie, corpus order stays
            key = scores.__getitem__
        else:
            column: Sequence[int] = {
                "created": c.created,
                "deposited": c.deposited,
                "updated": c.deposited,
                "indexed": c.indexed,
                "published": c.pub_ord,
                "issued": c.pub_ord,
                "published-online": c.pub_ord,
                "published-print": c.pub_ord,
                "is-referenced-by-count": c.cited_by,
                "references-count": c.refs,
            }[sort]
            key = column.__getitem__
            if column is c.pub_ord:
                dated = [i for i in base if c.pub_ord[i]]
                undated = [i for i in base if not c.pub_ord[i]]
                return sorted(dated, key=key, reverse=descending) + undated
        return sorted(base, key=key, reverse=descending)

    # -- facets --------------------------------------------------------------------------

    def facets(self, result: Result, requested: Sequence[tuple[str, int | None]]) -> dict[str, Any]:
        """Facet counts over the whole result, Crossref's shape: ``{"type-name":
        {"value-count": 3, "values": {"Journal Article": 120, ...}}}``. ``None`` as the
        maximum means all values; values come by count, largest first."""
        out: dict[str, Any] = {}
        for name, limit in requested:
            counts = self._facet_counts(name, result.indexes)
            ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
            ranked = ranked[: len(ranked) if limit is None else limit]
            ranked = ranked[: FACET_VALUE_CAPS.get(name, len(ranked))]
            # value-count counts the values returned (so all 180 recorded facet objects have it).
            out[name] = {"value-count": len(ranked), "values": dict(ranked)}
        return out

    def _facet_counts(self, name: str, indexes: Sequence[int]) -> Counter[str]:
        t = self.t
        c = t.columns
        counts: Counter[str] = Counter()
        if name == "type-name":
            labels = [v.TYPE_LABELS[type_id] for type_id in tb.WORK_TYPE_IDS]
            counts.update(labels[c.type[i]] for i in indexes)
        elif name == "published":
            counts.update(str(c.pub[i] // 10000) for i in indexes if c.pub[i])
        elif name == "container-title":
            titles = [row.title for row in t.containers]
            counts.update(titles[c.container[i]] for i in indexes if c.container[i] >= 0)
        elif name == "publisher-name":
            names = [row.name for row in t.members]
            counts.update(names[c.member[i]] for i in indexes)
        elif name == "issn":
            for i in indexes:
                if c.container[i] >= 0:
                    counts.update(
                        f"https://id.crossref.org/issn/{value}"
                        for value, _ in t.containers[c.container[i]].issns
                    )
        elif name in ("orcid", "affiliation"):
            people = t.people
            for i in indexes:
                found: set[str] = set()
                for person in c.authors_of(i):
                    row = people[person]
                    if name == "orcid" and row.orcid:
                        # The facet spells iDs as its recordings do (http), unlike records.
                        found.add(f"http://orcid.org/{row.orcid}")
                    elif name == "affiliation" and row.affiliation >= 0:
                        found.add(v.INSTITUTIONS[row.affiliation])
                counts.update(found)
        elif name in ("funder-name", "funder-doi"):
            for i in indexes:
                if c.funders[i]:
                    counts.update(
                        v.FUNDERS[code][1]
                        if name == "funder-name"
                        else f"http://dx.doi.org/10.13039/{v.FUNDERS[code][0]}"  # as recorded
                        for code in c.funder_codes(i)
                    )
        elif name == "license":
            counts.update(v.LICENSES[c.license[i]] for i in indexes if c.license[i] >= 0)
        elif name == "link-application":
            linked = sum(1 for i in indexes if c.flags[i] & tb.FULL_TEXT)
            if linked:
                counts["text-mining"] = counts["similarity-checking"] = linked
        elif name == "source" and indexes:
            counts["Crossref"] = len(indexes)
        elif name in _RECORD_FACETS:
            raw = self.facts.raw[_RECORD_FACETS[name]]
            for i in indexes:
                counts.update(raw.get(i, ()))
        return counts
