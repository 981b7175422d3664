"""Reading and validating the parameters of a list request, as Crossref does.

Parameters a route does not take are refused with ``parameter-not-allowed``; bad ``rows``,
``sample`` and ``offset`` values with ``integer-not-valid``; unknown filters with
``filter-not-available``, listing the route's filters. All problems of one request are
reported together, in parameter order. Parameters the API does not know at all (``mailto``,
cache busters) are ignored, as Crossref ignores them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from .. import _params as catalogue
from . import _bodies as bodies
from ._search import (
    IMPLEMENTED_FACETS,
    SearchError,
    check_facet,
    check_field_query,
    check_filter,
    not_available,
)

_Fail = Callable[[dict[str, str]], None]

_KNOWN = frozenset(
    {"query", "filter", "select", "sort", "order", "facet", "rows", "offset", "sample", "cursor"}
)
_WORKS_ONLY = ("select", "sort", "order", "facet", "sample", "cursor")
_ALL_FACETS_MAX = 20  # ``facet=t``, the old "all facets" switch


class Invalid(Exception):
    """The request fails validation; ``details`` are the failure body's entries."""

    def __init__(self, details: list[dict[str, str]]) -> None:
        super().__init__(details)
        self.details = details


@dataclass(frozen=True)
class ListSpec:
    """What one kind of list route accepts.

    ``filters``: the route's filter names in the order Crossref lists them, or None when the
    route takes no ``filter`` (the works routes check theirs against the full catalogue).
    ``default_rows``: None means the whole list (``/types``). ``lenient_offset``: an
    ``offset`` that is not a number is ignored (the list starts at 0) rather than refused,
    as ``/journals?offset=things`` was answered in 2025.
    """

    works: bool = False
    filters: tuple[str, ...] | None = None
    query: bool = True
    default_rows: int | None = 20
    lenient_offset: bool = False


WORKS = ListSpec(works=True)
# The order of Crossref's own failure message for /members (recorded in 2026).
MEMBERS = ListSpec(filters=("prefix", "backfile-doi-count", "current-doi-count"))
FUNDERS = ListSpec(filters=("location",))
JOURNALS = ListSpec(lenient_offset=True)
LICENSES = ListSpec()
TYPES = ListSpec(query=False, default_rows=None)


@dataclass
class ListRequest:
    """A validated list request."""

    rows: int | None = 20
    offset: int = 0
    sample: int | None = None
    cursor: str | None = None
    filters: list[tuple[str, str]] = field(default_factory=list)
    queries: list[tuple[str, str]] = field(default_factory=list)
    select: tuple[str, ...] | None = None
    sort: str | None = None
    order: str = "desc"
    facets: list[tuple[str, int | None]] = field(default_factory=list)

    @property
    def search_terms(self) -> str | None:
        """The ``query`` text, echoed as ``search-terms``."""
        return next((text for name, text in self.queries if not name), None)


def check_singleton(params: Sequence[tuple[str, str]]) -> None:
    """A singleton takes no list parameters: refuse every one given."""
    details = []
    for name, _ in params:
        if name.startswith("query."):
            details.append(bodies.not_allowed("query.*"))
        elif name in _KNOWN:
            details.append(bodies.not_allowed(name))
    if details:
        raise Invalid(details)


def _integer(value: str, maximum: int | None) -> int | None:
    text = value.strip()
    if not text.isdigit() or (maximum is not None and int(text) > maximum):
        return None
    return int(text)


def parse(params: Sequence[tuple[str, str]], spec: ListSpec) -> ListRequest:
    """Validate ``params`` (in request order) for a route of kind ``spec``."""
    out = ListRequest(rows=spec.default_rows)
    details: list[dict[str, str]] = []
    given: set[str] = set()

    def fail(problem: dict[str, str]) -> None:
        details.append(problem)

    for name, value in params:
        if name.startswith("query."):
            if not spec.works:
                fail(bodies.not_allowed("query.*"))
                continue
            try:
                check_field_query(name.removeprefix("query."))
            except SearchError as exc:
                fail(exc.detail)
                continue
            out.queries.append((name.removeprefix("query."), value))
            continue
        if name not in _KNOWN:
            continue
        given.add(name)
        refused = (
            (name in _WORKS_ONLY and not spec.works)
            or (name == "query" and not spec.query)
            or (name == "filter" and not spec.works and spec.filters is None)
        )
        if refused:
            fail(bodies.not_allowed(name))
        elif name == "query":
            out.queries.append(("", value))
        elif name == "rows":
            rows = _integer(value, catalogue.MAX_ROWS)
            if rows is None:
                fail(bodies.integer_not_valid(value, catalogue.MAX_ROWS))
            else:
                out.rows = rows
        elif name == "offset":
            offset = _integer(value, None)
            if offset is None and spec.lenient_offset:
                continue
            if offset is None:
                fail(bodies.integer_not_valid(value, None))
            else:
                out.offset = offset
        elif name == "sample":
            sample = _integer(value, catalogue.MAX_SAMPLE)
            if sample is None:
                fail(bodies.integer_not_valid(value, catalogue.MAX_SAMPLE))
            else:
                out.sample = sample or None  # sample=0 is ignored, as Crossref does
        elif name == "cursor":
            out.cursor = value
        elif name == "filter":
            _filters(value, spec, out, fail)
        elif name == "select":
            _select(value, out, fail)
        elif name == "sort":
            if value in catalogue.SORT_FIELDS:
                out.sort = value
            else:
                fail(not_available("sort", value, catalogue.SORT_FIELDS).detail)
        elif name == "order":
            if value in catalogue.ORDERS:
                out.order = value
            else:
                fail(not_available("order", value, catalogue.ORDERS).detail)
        elif name == "facet":
            _facets(value, out, fail)
    _combinations(out, given, fail)
    if details:
        raise Invalid(details)
    return out


def _filters(value: str, spec: ListSpec, out: ListRequest, fail: _Fail) -> None:
    for item in value.split(","):
        name, sep, filter_value = item.partition(":")
        name = name.strip()
        if not sep:
            fail(
                bodies.detail(
                    "filter-not-valid", item, f"Filter specified as {item} but must be name:value"
                )
            )
            continue
        if spec.works:
            try:
                check_filter(name)
            except SearchError as exc:
                fail(exc.detail)
                continue
        elif spec.filters is not None and name not in spec.filters:
            fail(not_available("filter", name, spec.filters).detail)
            continue
        out.filters.append((name, filter_value))


def _select(value: str, out: ListRequest, fail: _Fail) -> None:
    chosen = []
    for item in value.split(","):
        if item in catalogue.SELECT_FIELDS:
            chosen.append(item)
        else:
            fail(not_available("select", item, catalogue.SELECT_FIELDS).detail)
    out.select = tuple(chosen)


def _facets(value: str, out: ListRequest, fail: _Fail) -> None:
    if value.strip() == "t":
        out.facets = [(name, _ALL_FACETS_MAX) for name in IMPLEMENTED_FACETS]
        return
    for item in value.split(","):
        name, _, count = item.partition(":")
        try:
            check_facet(name)
        except SearchError as exc:
            fail(exc.detail)
            continue
        if count in ("", "*"):
            # ``*``: every value, for every facet (recorded 2021-2026, issn, orcid and
            # container-title included); no count: the catalogue's default.
            out.facets.append((name, None if count == "*" else catalogue.FACETS[name]))
            continue
        limit = _integer(count, None)  # counts above 100 are accepted too (recorded)
        if limit is None:
            fail(bodies.integer_not_valid(count, None))
        else:
            out.facets.append((name, limit))


def _combinations(out: ListRequest, given: set[str], fail: _Fail) -> None:
    """Rules between parameters: offset + rows within 10,000; cursor without offset or
    sample; sample without offset (the simulator's wording, Crossref's rules)."""
    if out.cursor is not None:
        for clash in ("offset", "sample"):
            if clash in given:
                fail(
                    bodies.detail(
                        "parameter-not-allowed",
                        clash,
                        f"Parameter {clash} cannot be used with cursor",
                    )
                )
    elif out.sample is not None and "offset" in given:
        fail(
            bodies.detail(
                "parameter-not-allowed", "offset", "Parameter offset cannot be used with sample"
            )
        )
    rows = out.rows if out.rows is not None else 0
    if out.offset + rows > catalogue.MAX_OFFSET_WINDOW:
        fail(
            bodies.detail(
                "integer-not-valid",
                str(out.offset),
                f"Integer specified as {out.offset} but offset plus rows must be less than or"
                f" equal to {catalogue.MAX_OFFSET_WINDOW}. ",
            )
        )
