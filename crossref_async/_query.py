"""Immutable list-query builders: every call returns a new query; ``to_params()`` is pure.

A query reads like the URL it builds::

    cr.works.query("renear ontologies").filter(type="journal-article").select("DOI", "title")

Every name and value is checked when the builder method is called, and combinations (such as
``offset + rows``) again in :meth:`ListQuery.to_params`, so a bad query raises
:class:`~crossref_async.ValidationError` before any request is sent.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, Literal, TypeVar
from urllib.parse import urlencode

import msgspec

from . import _params as P
from . import _pretty
from ._errors import ValidationError
from ._paging import iter_items, iter_pages
from .models import Page

if TYPE_CHECKING:
    from ._retry import Outcome
    from ._session import Session

T = TypeVar("T")
Q = TypeVar("Q", bound="ListQuery[Any]")
W = TypeVar("W", bound="WorksQuery[Any]")

DEFAULT_ROWS = 20
Params = list[tuple[str, str]]

#: List routes that take cursors besides the works routes (Crossref passes ``cursor`` to
#: their backend, as the 2022 recordings show, and its staff recommend it for /journals).
CURSOR_LISTS = frozenset({"member-list", "journal-list", "funder-list"})


@dataclass(frozen=True)
class Route:
    """What one list route accepts. ``path`` is already percent-encoded."""

    path: str
    message_type: str
    # The filter catalogue runs to thousands of characters: a repr names the route only.
    filters: Mapping[str, P.Kind] | None = dataclasses.field(repr=False)
    text_query: bool = True
    works: bool = False  # field queries, select, sort, facet, sample and cursors

    @property
    def cursors(self) -> bool:
        """Whether the route pages by cursor: the works routes, and the lists too long for
        offsets (167,000 journals, 46,000 funders, 33,000 members against offset's 10,000).

        >>> Route("/journals", "journal-list", None).cursors
        True
        >>> Route("/types", "type-list", None).cursors
        False
        """
        return self.works or self.message_type in CURSOR_LISTS


@dataclass(frozen=True)
class PageSource:
    """One list query as paging sees it: where it goes, its parameters for any page, and
    one page fetched through the client's pipeline. Made by :meth:`ListQuery.source`."""

    session: Session = dataclasses.field(repr=False)
    route: Route
    params: Callable[..., list[tuple[str, str]]] = dataclasses.field(repr=False)
    rows: int | None = None  # the query's own rows(), if set
    offset: int | None = None  # the query's own offset(), if set
    sampled: bool = False

    @property
    def path(self) -> str:
        """The route's path."""
        return self.route.path

    @property
    def cursors(self) -> bool:
        """Whether the route pages by cursor (:attr:`Route.cursors`)."""
        return self.route.cursors

    @property
    def works(self) -> bool:
        """Whether this is a works route (which never falls back to offsets)."""
        return self.route.works

    async def fetch(
        self, params: list[tuple[str, str]], item: type[T], outcome: Outcome | None = None
    ) -> Page[T]:
        """One page with exactly these parameters, items decoded as ``item``."""
        return await self.session.page(
            self.route.path, self.route.message_type, params, item, outcome
        )


def _check_rows(rows: int) -> int:
    return P.check_whole(rows, "rows", low=0, high=P.MAX_ROWS)


def _check_offset(offset: int) -> int:
    return P.check_whole(offset, "offset", low=0)


def _check_window(rows: int | None, offset: int | None) -> None:
    if (
        offset is not None
        and offset + (DEFAULT_ROWS if rows is None else rows) > P.MAX_OFFSET_WINDOW
    ):
        raise ValidationError(
            offset,
            f"offset + rows must not exceed {P.MAX_OFFSET_WINDOW:,} "
            f"(offset {offset} + rows {DEFAULT_ROWS if rows is None else rows}); "
            "use stream() or pages(), which page with cursors",
        )


def _check_text(text: object, what: str) -> str:
    if not isinstance(text, str) or not text.strip():
        raise ValidationError(text, f"{what} needs at least one non-blank word")
    return " ".join(text.split())


@dataclass(frozen=True)
class ListQuery(Generic[T]):
    """A query on a list route (``/members``, ``/journals``, ...). Build it from the client.

    >>> import asyncio
    >>> from crossref_async import Crossref
    >>> cr = Crossref(mailto="me@example.org")
    >>> cr.members.query("hindawi").rows(5).to_params()
    [('query', 'hindawi'), ('rows', '5')]

    Its repr is the request it makes (without the ``mailto`` and token the client adds), and
    ``async for`` walks it as :meth:`stream` does:

    >>> cr.members.query("calder learned society")
    ListQuery(GET /members?query=calder+learned+society)
    """

    _session: Session = dataclasses.field(repr=False, compare=False)
    _route: Route
    _item: type[T] = dataclasses.field(repr=False)
    _text: str | None = None
    _filters: tuple[tuple[str, str], ...] = ()
    _rows: int | None = None
    _offset: int | None = None

    # -- builders ---------------------------------------------------------------------------

    def query(self: Q, text: str, /) -> Q:
        """Free-text query (``query=``); the words are ORed and ranked by relevance.

        >>> cr.members.query("  learned   society ").to_params()
        [('query', 'learned society')]
        >>> [member.primary_name async for member in cr.members.query("calder").stream()]
        ['Calder Learned Society']
        """
        if not self._route.text_query:
            raise ValidationError("query", f"{self._route.path} does not support query")
        return dataclasses.replace(self, _text=_check_text(text, "query"))

    def filter(
        self: Q,
        filters: Mapping[str, object] | Iterable[tuple[str, object]] | None = None,
        /,
        **kwargs: object,
    ) -> Q:
        """Add filters: ``filter(type="journal-article", from_pub_date="2024-01")``.

        Keyword names are the Crossref names with ``_`` for ``-``; dotted or any other raw
        names go in a mapping (``filter({"award.number": "CBET-0756451"})``) or a sequence of
        ``(name, value)`` pairs. A list, tuple or set value means OR, and so does naming the
        same filter again. Dates take ``date``
        objects or ``YYYY``, ``YYYY-MM``, ``YYYY-MM-DD``; yes/no filters take booleans.

        >>> from datetime import date
        >>> query = cr.works.filter(type=["book", "monograph"], from_pub_date=date(2020, 1, 1))
        >>> query.filter(has_references=True).to_params()
        [('filter', 'type:book,type:monograph,from-pub-date:2020-01-01,has-references:true')]
        >>> cr.works.filter({"award.number": "CBET-0756451"}).to_params()
        [('filter', 'award.number:CBET-0756451')]
        >>> await cr.works.count(), await cr.works.filter(type="journal-article").count()
        (1000, 607)
        """
        if isinstance(filters, str):
            raise ValidationError(
                filters, "filter() takes name=value keywords, a mapping, or (name, value) pairs"
            )
        given = list(filters.items() if isinstance(filters, Mapping) else (filters or ()))
        for pair in given:
            if not isinstance(pair, tuple) or len(pair) != 2 or not isinstance(pair[0], str):
                raise ValidationError(pair, "a filter is a (name, value) pair with a text name")
        items = [*given, *((P.kebab(k), v) for k, v in kwargs.items())]
        if not items:
            raise ValidationError(filters, "filter() needs at least one name=value")
        if self._route.filters is None:
            raise ValidationError("filter", f"{self._route.path} does not support filters")
        added = P.encode_filters(self._route.filters, self._route.path, items)
        return dataclasses.replace(self, _filters=self._filters + added)

    def rows(self: Q, rows: int) -> Q:
        """Items per page, 0 to 1000 (0 returns only the counts and facets).

        >>> page = await cr.works.rows(3).page()
        >>> len(page.items), page.total_results
        (3, 1000)
        >>> page = await cr.works.rows(0).page()
        >>> page.items, page.total_results
        ((), 1000)
        """
        _check_rows(rows)
        _check_window(rows, self._offset)
        return dataclasses.replace(self, _rows=rows)

    def offset(self: Q, offset: int) -> Q:
        """Skip ``offset`` items; ``offset + rows`` may not exceed 10,000 (use cursors beyond).

        >>> page = await cr.types.offset(2).rows(2).page()
        >>> [type.id for type in page.items]
        ['report-component', 'report']
        >>> cr.works.offset(9990).rows(20)
        Traceback (most recent call last):
        ...
        crossref_async.ValidationError: 9990: offset + rows must not exceed 10,000 ...
        """
        _check_offset(offset)
        _check_window(self._rows, offset)
        return dataclasses.replace(self, _offset=offset)

    # -- reading it -------------------------------------------------------------------------

    def __repr__(self) -> str:
        try:
            params = self.to_params()
        except ValidationError as exc:
            # A query built in an order that is not yet sendable (order() before sort())
            # still prints, saying why it cannot be sent.
            return f"{type(self).__name__}(GET {self._route.path}, not sendable: {exc})"
        # Readable and still a valid URL: the separators Crossref's values use stay as typed.
        query = urlencode(params, safe=":,*()'!")
        return f"{type(self).__name__}(GET {self._route.path}{'?' if query else ''}{query})"

    def _repr_pretty_(self, p: _pretty.PrettyPrinter, cycle: bool) -> None:
        """IPython's pretty form: the repr (the request the query makes)."""
        _pretty.pretty(self, p, cycle)

    def __aiter__(self) -> AsyncIterator[T]:
        """``async for item in query`` is ``async for item in query.stream()``.

        >>> [member.primary_name async for member in cr.members.query("calder")]
        ['Calder Learned Society']
        """
        return self.stream()

    # -- parameters -------------------------------------------------------------------------

    def _own_params(self) -> Params:
        """Parameters particular to the route (field queries, select, ...), in URL order."""
        return []

    def _check_combination(self, rows: int | None, offset: int | None, cursor: str | None) -> None:
        if cursor is not None:
            if not self._route.cursors:
                raise ValidationError(
                    "cursor",
                    f"{self._route.path} does not support cursors (works routes, /members, "
                    "/journals and /funders do)",
                )
            if offset is not None:
                raise ValidationError(offset, "offset cannot be combined with a cursor")
        _check_window(rows, offset)

    def to_params(
        self, *, rows: int | None = None, offset: int | None = None, cursor: str | None = None
    ) -> Params:
        """The query string as ordered ``(name, value)`` pairs; pure, and checked.

        ``rows``, ``offset`` and ``cursor`` override what the query holds, for one request.
        The client adds ``mailto`` when it sends them.

        >>> query = cr.members.query("learned society").rows(5)
        >>> query.to_params()
        [('query', 'learned society'), ('rows', '5')]
        >>> query.to_params(rows=10, offset=20)
        [('query', 'learned society'), ('rows', '10'), ('offset', '20')]
        """
        rows = self._rows if rows is None else _check_rows(rows)
        offset = self._offset if offset is None else _check_offset(offset)
        self._check_combination(rows, offset, cursor)
        params: Params = []
        if self._text is not None:
            params.append(("query", self._text))
        params.extend(self._own_params())
        if self._filters:
            params.append(("filter", P.join_filters(self._filters)))
        if rows is not None:
            params.append(("rows", str(rows)))
        if offset is not None:
            params.append(("offset", str(offset)))
        if cursor is not None:
            params.append(("cursor", cursor))
        return params

    @property
    def path(self) -> str:
        """The route's path, percent-encoded (``/members/311/works``).

        >>> cr.members.path, cr.member_works(311).path, cr.funder_works("10.13039/100000001").path
        ('/members', '/members/311/works', '/funders/100000001/works')
        """
        return self._route.path

    @property
    def sample_size(self) -> int | None:
        """The ``sample`` asked for (works routes only), or None.

        >>> cr.members.sample_size is None
        True
        """
        return None

    def source(self) -> PageSource:
        """This query as paging and the harvester see it: its route, parameters, and one
        page fetched through the client's pipeline (:class:`PageSource`).

        >>> source = cr.journals.query("physics").source()
        >>> source.path, source.cursors, source.params(rows=2, cursor="*")
        ('/journals', True, [('query', 'physics'), ('rows', '2'), ('cursor', '*')])
        """
        return PageSource(
            self._session,
            self._route,
            self.to_params,
            rows=self._rows,
            offset=self._offset,
            sampled=self.sample_size is not None,
        )

    # -- execution --------------------------------------------------------------------------

    async def page(
        self, *, rows: int | None = None, offset: int | None = None, cursor: str | None = None
    ) -> Page[T]:
        """Fetch one page: items, ``total_results``, ``facets`` and ``next_cursor``.

        >>> page = await cr.works.query("silly string").page(rows=2)
        >>> page.total_results, [work.DOI for work in page.items], page.next_cursor
        (33, ['10.5555/12345678', '10.52995/s10094-22-00094-1'], None)
        >>> page = await cr.works.page(rows=2, cursor="*")  # starts a cursor
        >>> page.next_cursor
        '...'
        """
        params = self.to_params(rows=rows, offset=offset, cursor=cursor)
        return await self.source().fetch(params, self._item)

    async def raw_page(
        self, *, rows: int | None = None, offset: int | None = None, cursor: str | None = None
    ) -> Page[msgspec.Raw]:
        """Like :meth:`page`, but items stay :class:`msgspec.Raw` (each record's own bytes).

        >>> import msgspec
        >>> page = await cr.members.raw_page(rows=2)
        >>> raw = page.items[0]
        >>> bytes(raw)[:40]
        b'{"last-status-check-time":1769860800000,'
        >>> msgspec.json.decode(raw)["primary-name"]
        'American Psychological Association (APA)'
        """
        params = self.to_params(rows=rows, offset=offset, cursor=cursor)
        return await self.source().fetch(params, msgspec.Raw)

    def pages(self, *, rows: int | None = None, complete: bool = False) -> AsyncIterator[Page[T]]:
        """Every non-empty page, in order: cursors on works routes, ``/members``,
        ``/journals`` and ``/funders`` (past offset's 10,000), offsets elsewhere.

        ``rows`` per page defaults to the query's ``rows()`` or 1000. Requests are made only
        as the pages are consumed. A page may be shorter than ``rows`` with more to come;
        paging ends at an empty page, a missing next cursor, or ``total-results`` items.
        When the server ends the list short of ``total-results``, a WARNING names both
        numbers; ``complete=True`` raises :class:`~crossref_async.IncompleteResultsError`
        instead.

        >>> async for page in cr.journal_works("0264-3561").pages(rows=4):
        ...     print(len(page.items), page.total_results)
        4 10
        4 10
        2 10
        """
        return iter_pages(self.source(), self._item, rows=rows, complete=complete)

    def raw_pages(
        self, *, rows: int | None = None, complete: bool = False
    ) -> AsyncIterator[Page[msgspec.Raw]]:
        """Like :meth:`pages`, with items as :class:`msgspec.Raw` (each record's own bytes).

        >>> async for page in cr.types.raw_pages(rows=12):
        ...     print(len(page.items), bytes(page.items[0]))
        12 b'{"id":"book-section","label":"Book Section"}'
        12 b'{"id":"reference-entry","label":"Reference Entry"}'
        6 b'{"id":"journal-issue","label":"Journal Issue"}'
        """
        return iter_pages(self.source(), msgspec.Raw, rows=rows, complete=complete)

    def stream(
        self, *, max_items: int | None = None, rows: int | None = None, complete: bool = False
    ) -> AsyncIterator[T]:
        """Every matching item, one at a time (at most ``max_items``), paging as
        :meth:`pages` does (``complete=True``: raise if the server ends the list short).

        >>> [work.first_title async for work in cr.works.query(author="carberry").stream()]
        ['Toward a Unified Theory of High-Energy Metaphysics: Silly String Theory']
        >>> [type.id async for type in cr.types.stream(max_items=3, rows=2)]
        ['book-section', 'monograph', 'report-component']
        """
        return iter_items(
            self.source(), self._item, max_items=max_items, rows=rows, complete=complete
        )

    async def count(self) -> int:
        """How many items match (one request with ``rows=0``).

        >>> await cr.journals.count(), await cr.works.filter(type="journal-article").count()
        (13, 607)
        """
        page = await self.source().fetch(self.to_params(rows=0), msgspec.Raw)
        return page.total_results or 0


Order = Literal["asc", "desc"]


# repr=False: keep ListQuery's repr (the request), not a generated one of every field.
@dataclass(frozen=True, repr=False)
class WorksQuery(ListQuery[T]):
    """A query on a works route: ``/works`` or the works of one member, journal, funder,
    prefix or type. Adds field queries, ``select``, ``sort``/``order``, ``facet``, ``sample``.

    >>> from crossref_async import Crossref
    >>> cr = Crossref(mailto="me@example.org")
    >>> q = (cr.works.query("renear ontologies", author="renear")
    ...        .filter(type="journal-article", from_pub_date="2024-01")
    ...        .select("DOI", "title").sort("published", "asc").rows(50))
    >>> q.to_params()  # doctest: +NORMALIZE_WHITESPACE
    [('query', 'renear ontologies'), ('query.author', 'renear'), ('select', 'DOI,title'),
     ('sort', 'published'), ('order', 'asc'),
     ('filter', 'type:journal-article,from-pub-date:2024-01'), ('rows', '50')]
    >>> cr.works.query("renear").filter(type="journal-article").rows(20)
    WorksQuery(GET /works?query=renear&filter=type:journal-article&rows=20)
    """

    _fields: tuple[tuple[str, str], ...] = ()
    _select: tuple[str, ...] = ()
    _sort: str | None = None
    _order: Order | None = None
    _facets: tuple[tuple[str, str], ...] = ()
    _sample: int | None = None

    def query(self: W, text: str | None = None, /, **fields: str) -> W:
        """Free text and field queries: ``query("josiah carberry", author="carberry")``.

        Field names are the ``query.<field>`` names with ``_`` for ``-`` (``container_title``,
        ``bibliographic``, ``funder_name``, ...); all given parts are ANDed by Crossref.
        A field query given again replaces the earlier one.

        >>> query = cr.works.query("silly string", author="carberry")
        >>> query.to_params()
        [('query', 'silly string'), ('query.author', 'carberry')]
        >>> query.query(container_title="psychoceramics", author="josiah carberry").to_params()
        [('query', 'silly string'), ('query.container-title', 'psychoceramics'),
         ('query.author', 'josiah carberry')]
        >>> await query.count()
        1
        """
        if text is None and not fields:
            raise ValidationError(text, "query() needs text or at least one field query")
        out = self if text is None else ListQuery.query(self, text)
        added: dict[str, str] = {}
        for key, value in fields.items():
            name = P.check_name(P.kebab(key), P.FIELD_QUERIES, "field query")
            added[name] = _check_text(value, f"query.{name}")
        kept = tuple(f for f in out._fields if f[0] not in added)
        return dataclasses.replace(out, _fields=kept + tuple(added.items()))

    @property
    def sample_size(self) -> int | None:
        """The ``sample`` asked for, or None.

        >>> cr.works.sample(5).sample_size, cr.works.sample_size
        (5, None)
        """
        return self._sample

    def harvest_form(self: W) -> tuple[W, tuple[tuple[str, str], ...]]:
        """This query as a harvest pages it, and the created-date filters taken out of it.

        Paging parameters (``rows``, ``offset``) go; facets go (they would be computed again
        for every page); a ``select`` keeps ``DOI`` and ``created``, which the harvester
        needs to de-duplicate and to resume. The query's own ``from-created-date`` and
        ``until-created-date`` filters come back apart, to bound the shard windows: a
        filter name given twice means OR to Crossref, so windows cannot simply be added.

        >>> query = cr.works.filter(type="book", from_created_date="2020").select("title").rows(5)
        >>> base, created = query.harvest_form()
        >>> base.to_params(), created
        ([('select', 'title,DOI,created'), ('filter', 'type:book')],
         (('from-created-date', '2020'),))
        """
        created = tuple(f for f in self._filters if f[0] in P.CREATED_BOUNDS)
        selected = self._select
        if selected:
            selected = tuple(dict.fromkeys((*selected, "DOI", "created")))
        base = dataclasses.replace(
            self,
            _filters=tuple(f for f in self._filters if f[0] not in P.CREATED_BOUNDS),
            _rows=None,
            _offset=None,
            _facets=(),
            _select=selected,
        )
        return base, created

    def select(self: W, *fields: str) -> W:
        """Return only these elements (``select("DOI", "title")``; ``"DOI,title"`` works too).

        >>> query = cr.works.select("DOI", "title").select("DOI,type")
        >>> query.to_params()
        [('select', 'DOI,title,type')]
        >>> page = await query.filter(doi="10.5555/12345678").page()
        >>> work = page.items[0]
        >>> work.type, work.publisher  # publisher was not selected
        ('journal-article', None)
        """
        names = [n.strip() for f in fields for n in str(f).split(",") if n.strip()]
        if not names:
            raise ValidationError(fields, "select() needs at least one field name")
        chosen = list(self._select)
        for name in names:
            P.check_name(name, P.SELECT_FIELDS, "select field")
            if name not in chosen:
                chosen.append(name)
        return dataclasses.replace(self, _select=tuple(chosen))

    def sort(self: W, field: str, order: Order | None = None) -> W:
        """Sort by ``field`` (``published``, ``score``, ``is-referenced-by-count``, ...).

        >>> query = cr.works.sort("is-referenced-by-count").select("DOI", "is-referenced-by-count")
        >>> query.to_params()
        [('select', 'DOI,is-referenced-by-count'), ('sort', 'is-referenced-by-count')]
        >>> [(work.DOI, work.is_referenced_by_count) async for work in query.stream(max_items=2)]
        [('10.52995/s10325-22-00325-3', 20000), ('10.90259/s10262-24-00262-8', 17249)]
        """
        P.check_name(field, P.SORT_FIELDS, "sort field")
        out = dataclasses.replace(self, _sort=field)
        return out.order(order) if order is not None else out

    def order(self: W, order: Order) -> W:
        """``asc`` or ``desc`` (Crossref's default) for the chosen sort.

        >>> query = cr.member_works(7822).sort("published")
        >>> [work.year async for work in query.stream()]
        [2010, 2010, 2010, 2009, 2009, 2008, 2008, 2008, 2007, 1995]
        >>> [work.year async for work in query.order("asc").stream()]
        [1995, 2007, 2008, 2008, 2008, 2009, 2009, 2010, 2010, 2010]
        >>> query.order("asc").to_params()
        [('sort', 'published'), ('order', 'asc')]
        """
        P.check_name(order, P.ORDERS, "order")
        return dataclasses.replace(self, _order=order)

    def facet(self: W, *names: str, **counts: int | str) -> W:
        """Ask for facet counts: ``facet("type-name")`` (all values) or ``facet(issn=10)``.

        A bare name asks for all values (``*``); a count asks for the most frequent values,
        any number of them (``container-title``, ``issn`` and ``orcid`` too: Crossref's
        documentation says 100 at most, the API has taken ``*`` and more since 2021). A
        facet's ``value_count`` is how many values came back. Keyword names take ``_`` for
        ``-``.

        >>> cr.works.facet("issn", orcid=500).to_params()
        [('facet', 'issn:*,orcid:500')]
        >>> query = cr.works.facet("type-name", published=3)
        >>> query.to_params()
        [('facet', 'type-name:*,published:3')]
        >>> page = await query.page(rows=0)
        >>> page.facets["published"]
        Facet(value_count=3, values={'2024': 68, '2022': 57, '2019': 56})
        >>> page.facets["type-name"].values
        {'Journal Article': 607, 'Book Chapter': 96, 'Proceedings Article': 64, ...}
        """
        wanted: list[tuple[str, int | str | None]] = [(n, None) for n in names]
        wanted += [(P.kebab(k), v) for k, v in counts.items()]
        if not wanted:
            raise ValidationError(names, "facet() needs at least one facet name")
        facets = dict(self._facets)
        for name, count in wanted:
            facets[name] = _facet_value(name, count)
        return dataclasses.replace(self, _facets=tuple(facets.items()))

    def sample(self: W, n: int) -> W:
        """``n`` random items (1 to 100); not combinable with rows, offset or cursors.

        >>> query = cr.works.filter(type="book").sample(3)
        >>> query.to_params()
        [('filter', 'type:book'), ('sample', '3')]
        >>> page = await query.page()
        >>> len(page.items), {work.type for work in page.items}
        (3, {'book'})
        """
        P.check_whole(n, "sample", high=P.MAX_SAMPLE)
        return dataclasses.replace(self, _sample=n)

    def _own_params(self) -> Params:
        params: Params = [(f"query.{name}", value) for name, value in self._fields]
        if self._select:
            params.append(("select", ",".join(self._select)))
        if self._sort is not None:
            params.append(("sort", self._sort))
        if self._order is not None:
            params.append(("order", self._order))
        if self._facets:
            params.append(("facet", ",".join(f"{n}:{c}" for n, c in self._facets)))
        return params

    def _check_combination(self, rows: int | None, offset: int | None, cursor: str | None) -> None:
        super()._check_combination(rows, offset, cursor)
        if self._order is not None and self._sort is None:
            raise ValidationError(self._order, "order applies only together with sort")
        if self._sample is not None:
            if cursor is not None:
                raise ValidationError(self._sample, "sample cannot be combined with a cursor")
            if offset is not None:
                raise ValidationError(self._sample, "sample cannot be combined with offset")
            if rows not in (None, 0):
                raise ValidationError(
                    self._sample, "sample cannot be combined with rows (it sets the count itself)"
                )

    def to_params(
        self, *, rows: int | None = None, offset: int | None = None, cursor: str | None = None
    ) -> Params:
        """:meth:`ListQuery.to_params`, with field queries, ``select``, ``sort``, ``order``,
        ``facet`` and ``sample`` before the filter, as Crossref's own URLs have them.

        >>> query = cr.works.query("ontologies", author="renear").filter(type="book-chapter")
        >>> query.select("DOI").sort("score").to_params(rows=1000, cursor="*")
        [('query', 'ontologies'), ('query.author', 'renear'), ('select', 'DOI'),
         ('sort', 'score'), ('filter', 'type:book-chapter'), ('rows', '1000'), ('cursor', '*')]
        >>> cr.works.sample(5).to_params(), cr.works.sample(5).to_params(rows=0)
        ([('sample', '5')], [('rows', '0')])
        """
        params = super().to_params(rows=rows, offset=offset, cursor=cursor)
        if self._sample is not None and not any(k == "rows" for k, _ in params):
            params.append(("sample", str(self._sample)))
        return params


def _facet_value(name: str, count: int | str | None) -> str:
    P.check_name(name, P.FACETS, "facet")
    cap = P.FACETS[name]
    if count is None:
        return "*" if cap is None else str(cap)
    if count == "*":
        if cap is not None:
            raise ValidationError(count, f"facet {name!r} does not accept '*' (at most {cap})")
        return "*"
    count = P.check_whole(count, name, rule=f"facet {name!r} takes a positive count or '*'")
    if cap is not None and count > cap:
        raise ValidationError(count, f"facet {name!r} returns at most {cap} values")
    return str(count)
