"""The synthetic corpus as tests see it: records as served, look-ups, and the server's matching.

A :class:`Corpus` is a pure function of ``(works, seed)``. Work records are built on demand
(so 200,000 works cost tens of megabytes, not gigabytes) and the server keeps a bounded cache
of their encoded bytes, so hot records are served without re-encoding.

Alias DOIs: about 2% of the works (a seeded choice, see ``_tables``) have one or two alias
DOIs, listed in their record's ``aliases``. :meth:`Corpus.primary_of` and
:meth:`Corpus.aliases_of` look them up (case-insensitively, like every DOI). An alias is not
a work of its own: :meth:`Corpus.work` and :meth:`Corpus.index_of` answer None for it, list
results never contain it and ``filter=doi:<alias>`` matches nothing, as on Crossref since
February 2025; the server answers ``/works/<alias>`` with a 301 to the primary record.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any, overload

from .. import _params as catalogue
from .._params import doi_key
from . import _citations as cite
from . import _records as rec
from . import _tables as tb
from . import _vocab as v
from ._search import Result, Searcher, Selection, funder_id, normalize_issn, not_available

Record = dict[str, Any]

_SCORE_VALUE = b"1.0}"  # what encoded_head leaves off a record's bytes


class WorkList(Sequence[Record]):
    """``corpus.works``: every work record, exactly as the server sends it without a query
    (``score`` 1.0). Records are built on access; each access returns a fresh dict.

    >>> works = Corpus(works=50).works
    >>> len(works), works[0]["DOI"], works[-1]["score"]
    (50, '10.5555/12345678', 1.0)
    >>> [work["DOI"] for work in works[1:3]]
    ['10.5555/ab;c#d?e<f>(g):h', '10.5555/Mixed.Case.DOI']
    """

    def __init__(self, corpus: Corpus) -> None:
        self._corpus = corpus

    def __len__(self) -> int:
        return self._corpus.size

    @overload
    def __getitem__(self, index: int) -> Record: ...

    @overload
    def __getitem__(self, index: slice) -> list[Record]: ...

    def __getitem__(self, index: int | slice) -> Record | list[Record]:
        if isinstance(index, slice):
            return [self._corpus.record(i) for i in range(*index.indices(len(self)))]
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError(index)
        return self._corpus.record(index)

    def __iter__(self) -> Iterator[Record]:
        return (self._corpus.record(i) for i in range(len(self)))


class Corpus:
    """A deterministic synthetic Crossref: ``works`` works plus their members, journals,
    funders, prefixes, types and licenses, all drawn from ``seed``.

    >>> corpus = Corpus(works=200, seed=7)
    >>> corpus.works[0]["DOI"], corpus.work("10.5555/MIXED.case.doi")["DOI"]
    ('10.5555/12345678', '10.5555/Mixed.Case.DOI')
    >>> len(corpus.matching([("type", "journal-article"), ("has-references", "true")])) > 0
    True
    """

    def __init__(self, *, works: int = 1000, seed: int = 0, cache_records: int = 20_000) -> None:
        self.size = works
        self.seed = seed
        self.tables = tb.Tables(seed=seed, n=works)
        self.builder = rec.WorkBuilder(self.tables)
        self._doi_index = {doi_key(doi): i for i, doi in enumerate(self.tables.columns.doi)}
        self._alias_index = {
            doi_key(alias): i for i, aliases in self.tables.aliases.items() for alias in aliases
        }
        self.searcher = Searcher(self.tables, self.index_of, self.builder)
        self.works = WorkList(self)
        self._encoded: dict[int, bytes] = {}
        self._cache_records = cache_records

    # -- works ---------------------------------------------------------------------------

    def index_of(self, doi: str) -> int | None:
        """The index of the work with this DOI (compared case-insensitively), or None.

        >>> corpus = Corpus(works=50)
        >>> corpus.index_of("10.5555/MIXED.CASE.DOI"), corpus.index_of("10.9999/none")
        (2, None)
        """
        return self._doi_index.get(doi_key(doi))

    def primary_of(self, doi: str) -> str | None:
        """The primary DOI of which ``doi`` is an alias (compared case-insensitively), or
        None when ``doi`` is no alias (a primary DOI, or unknown).

        >>> corpus = Corpus(works=200)
        >>> index, aliases = next(iter(corpus.tables.aliases.items()))
        >>> corpus.primary_of(aliases[0].upper()) == corpus.works[index]["DOI"]
        True
        >>> corpus.primary_of(corpus.works[index]["DOI"]) is None, corpus.work(aliases[0])
        (True, None)
        """
        index = self._alias_index.get(doi_key(doi))
        return None if index is None else self.tables.columns.doi[index]

    def aliases_of(self, doi: str) -> tuple[str, ...]:
        """The alias DOIs of the work that ``doi`` names (its primary DOI or one of its
        aliases, case-insensitive), as its record lists them in ``aliases``; ``()`` for a
        work without aliases or an unknown DOI.

        >>> corpus = Corpus(works=200)
        >>> index, aliases = next(iter(corpus.tables.aliases.items()))
        >>> primary = corpus.works[index]["DOI"]
        >>> corpus.aliases_of(primary) == aliases == corpus.aliases_of(aliases[-1])
        True
        >>> list(aliases) == corpus.works[index]["aliases"], corpus.aliases_of("10.9999/none")
        (True, ())
        """
        index = self._doi_index.get(doi_key(doi))
        if index is None:
            index = self._alias_index.get(doi_key(doi))
        return () if index is None else self.tables.aliases.get(index, ())

    def work(self, doi: str) -> Record | None:
        """The record of the work with this DOI (case-insensitive), or None.

        >>> corpus = Corpus(works=50)
        >>> corpus.work("10.5555/mixed.case.doi")["DOI"]
        '10.5555/Mixed.Case.DOI'
        >>> corpus.work("10.9999/none") is None
        True
        """
        index = self.index_of(doi)
        return None if index is None else self.record(index)

    def record(self, index: int) -> Record:
        """The record of work ``index`` (a fresh dict).

        >>> corpus = Corpus(works=50)
        >>> corpus.record(0)["title"]
        ['Toward a Unified Theory of High-Energy Metaphysics: Silly String Theory']
        >>> corpus.record(0) == corpus.works[0], corpus.record(0) is corpus.record(0)
        (True, False)
        """
        return self.builder.build(index)

    def encoded_head(self, index: int) -> bytes:
        """Work ``index`` as JSON without its score: ``{...,"score":``. The server appends
        the score and ``}``. Cached (bounded; the oldest entries go first).

        >>> import json
        >>> head = Corpus(works=50).encoded_head(0)
        >>> head[-9:], json.loads(head + b"1.0}")["DOI"]
        (b',"score":', '10.5555/12345678')
        """
        found = self._encoded.get(index)
        if found is None:
            found = self.builder.encode(index)[: -len(_SCORE_VALUE)]
            if len(self._encoded) >= self._cache_records:
                del self._encoded[next(iter(self._encoded))]
            self._encoded[index] = found
        return found

    def reindex(self, dois: Iterable[str], at: dt.datetime | None = None) -> list[str]:
        """Re-index works as a re-deposit does: their ``indexed`` and ``deposited`` dates move
        to ``at`` (default: now), so ``from-index-date`` finds them, as it does on Crossref.
        For testing incremental updates (the corpus's own dates end at :data:`CORPUS_NOW`).
        Returns the DOIs re-indexed; unknown DOIs raise ``KeyError``. Cursors already open
        keep what they had selected.

        >>> import datetime as dt
        >>> corpus = Corpus(works=50)
        >>> when = dt.datetime(2026, 11, 20, 9, 30, tzinfo=dt.timezone.utc)
        >>> corpus.reindex(["10.5555/12345678"], at=when)
        ['10.5555/12345678']
        >>> corpus.record(0)["indexed"]["date-parts"], corpus.record(0)["deposited"]["date-parts"]
        ([[2026, 11, 20]], [[2026, 11, 20]])
        >>> [w["DOI"] for w in corpus.matching([("from-index-date", "2026-11-20")])]
        ['10.5555/12345678']
        """
        when = int((at or dt.datetime.now(dt.timezone.utc)).timestamp())
        indexes = []
        for doi in dois:
            index = self.index_of(doi)
            if index is None:
                raise KeyError(doi)
            indexes.append(index)
        columns = self.tables.columns
        for index in indexes:
            columns.indexed[index] = max(columns.indexed[index], when)
            columns.deposited[index] = max(columns.deposited[index], when)
            self._encoded.pop(index, None)
        self.searcher.forget()
        return [str(columns.doi[i]) for i in indexes]

    def warm(self, count: int | None = None) -> None:
        """Encode the first ``count`` works (all by default, up to the cache size) ahead of
        time, so a benchmark then measures the client rather than record building.

        >>> from crossref_async.testing import FakeCrossref
        >>> sim = FakeCrossref(works=200, limits="unmetered")
        >>> sim.corpus.warm()  # before the timed part: every record is now served from cache
        """
        for index in range(min(self.size, count or self.size, self._cache_records)):
            self.encoded_head(index)

    def search(
        self,
        filters: Iterable[tuple[str, str]] = (),
        query: str | None = None,
        *,
        field_queries: Mapping[str, str] | None = None,
        sort: str | None = None,
        order: str = "desc",
    ) -> Result:
        """Work indexes (and scores) selected by filters and queries, in the server's
        order. Raises :class:`SearchError` where the server answers a validation failure.

        >>> corpus = Corpus(works=50)
        >>> result = corpus.search([("type", "journal-article")], sort="published", order="asc")
        >>> len(result.indexes), result.indexes[:3], result.score(result.indexes[0])
        (32, [17, 9, 33], 1.0)
        >>> result = corpus.search(query="silly string theory")
        >>> result.indexes[:2], result.score(0)
        ([0, 38], 17.722659)
        """
        queries = [("", query)] if query else []
        queries += [
            (name.removeprefix("query."), text) for name, text in (field_queries or {}).items()
        ]
        if sort is not None and sort not in catalogue.SORT_FIELDS:
            raise not_available("sort", sort, catalogue.SORT_FIELDS)
        if order not in catalogue.ORDERS:
            raise not_available("order", order, catalogue.ORDERS)
        selection = Selection(tuple(filters), tuple(queries), sort, order)
        return self.searcher.run(selection)

    def matching(
        self,
        filters: Iterable[tuple[str, str]] = (),
        query: str | None = None,
        *,
        field_queries: Mapping[str, str] | None = None,
        sort: str | None = None,
        order: str = "desc",
    ) -> list[Record]:
        """The records a works list with these filters (``(name, value)`` pairs, the same
        name repeated meaning OR) and queries returns, in the server's order, with the
        server's scores. Uses the very code the server uses.

        >>> corpus = Corpus(works=100)
        >>> [w["DOI"] for w in corpus.matching([("doi", "10.5555/12345678")])]
        ['10.5555/12345678']
        """
        result = self.search(filters, query, field_queries=field_queries, sort=sort, order=order)
        out = []
        for i in result.indexes:
            record = self.record(i)
            record["score"] = result.score(i)
            out.append(record)
        return out

    def citation(self, doi_or_index: str | int, style: str = "plain") -> str:
        """A reference-list entry of a work (by DOI or index), as other works cite it: family
        names and initials, year, title, container, volume, issue, pages, no DOI; the text a
        citation matcher sends as ``query.bibliographic``. Styles: ``plain`` (numeric, as
        many science journals print them), ``apa``, ``vancouver``, ``chicago-author-date``,
        ``harvard1``, ``ieee``. Raises KeyError for an unknown DOI, IndexError for an index
        out of range, ValueError for an unknown style.

        >>> corpus = Corpus(works=20)
        >>> corpus.citation("10.5555/12345678", "apa")
        'Carberry, J. (2007). Toward a Unified Theory of High-Energy Metaphysics: Silly String Theory. Journal of Psychoceramics, 18(2), 1015–1020.'
        """  # noqa: E501 - the example prints one long line
        if style not in cite.REFERENCE_STYLES:
            raise ValueError(f"unknown style {style!r}; styles: {', '.join(cite.REFERENCE_STYLES)}")
        if isinstance(doi_or_index, str):
            index = self.index_of(doi_or_index)
            if index is None:
                raise KeyError(doi_or_index)
        else:
            index = doi_or_index
        return cite.reference(self.works[index], style)

    # -- everything else -----------------------------------------------------------------

    @functools.cached_property
    def aggregates(self) -> rec.Aggregates:
        """Per-member and per-journal tallies (one pass over the works, done on first use)."""
        return rec.Aggregates(self.tables)

    @property
    def members(self) -> list[Record]:
        """Every ``member`` record, by id.

        >>> [(m["id"], m["primary-name"]) for m in Corpus(works=50).members][:3]
        [(15, 'American Psychological Association (APA)'),
         (221, 'American Association for the Advancement of Science (AAAS)'),
         (297, 'Springer Science and Business Media LLC')]
        """
        return [self.member_record(row) for row in self._members_by_id]

    @functools.cached_property
    def _members_by_id(self) -> list[tb.MemberRow]:
        return sorted(self.tables.members, key=lambda row: row.id)

    def member_record(self, row: tb.MemberRow) -> Record:
        """The ``member`` record of a member row.

        >>> corpus = Corpus(works=50)
        >>> corpus.member_record(corpus.member_row("7822"))["counts"]
        {'current-dois': 0, 'backfile-dois': 10, 'total-dois': 10}
        """
        return rec.member_record(row, self.aggregates.members.get(row.code))

    def member_row(self, member_id: str) -> tb.MemberRow | None:
        """The member with this numeric id (given as text), or None.

        >>> row = Corpus(works=50).member_row("7822")
        >>> row.name, row.prefixes
        ('Crossref Test Member', ('10.5555',))
        """
        return self._member_ids.get(member_id.strip())

    @functools.cached_property
    def _member_ids(self) -> dict[str, tb.MemberRow]:
        return {str(row.id): row for row in self.tables.members}

    def member(self, member_id: int | str) -> Record | None:
        """The ``member`` record with this id, or None.

        >>> corpus = Corpus(works=50)
        >>> corpus.member(7822)["prefixes"], corpus.member("1") is None
        (['10.5555'], True)
        """
        row = self.member_row(str(member_id))
        return None if row is None else self.member_record(row)

    @property
    def journal_rows(self) -> list[tb.ContainerRow]:
        """The containers that are journals (they have ISSNs).

        >>> row = Corpus(works=50).journal_rows[0]
        >>> row.title, row.issns
        ('Journal of Psychoceramics', (('0264-3561', 'print'),))
        """
        return [row for row in self.tables.containers if row.kind == tb.JOURNAL]

    def journal_record(self, row: tb.ContainerRow) -> Record:
        """The ``journal`` record of a journal row.

        >>> corpus = Corpus(works=50)
        >>> record = corpus.journal_record(corpus.journal_rows[0])
        >>> record["title"], record["publisher"], record["ISSN"]
        ('Journal of Psychoceramics', 'Crossref Test Member', ['0264-3561'])
        """
        publisher = self.tables.members[row.member].name
        return rec.journal_record(row, publisher, self.aggregates.containers.get(row.code))

    @property
    def journals(self) -> list[Record]:
        """Every ``journal`` record.

        >>> [journal["title"] for journal in Corpus(works=50).journals][:2]
        ['Journal of Psychoceramics', 'International Journal of Remote Sensing']
        """
        return [self.journal_record(row) for row in self.journal_rows]

    def journal_row(self, issn: str) -> tb.ContainerRow | None:
        """The journal with this ISSN (print or electronic, hyphen optional), or None.

        >>> corpus = Corpus(works=50)
        >>> corpus.journal_row("02643561").title, corpus.journal_row("1234-5678")
        ('Journal of Psychoceramics', None)
        """
        return self._issns.get(normalize_issn(issn))

    @functools.cached_property
    def _issns(self) -> dict[str, tb.ContainerRow]:
        return {value: row for row in self.journal_rows for value, _ in row.issns}

    def journal(self, issn: str) -> Record | None:
        """The ``journal`` record with this ISSN, or None.

        >>> Corpus(works=50).journal("0264-3561")["title"]
        'Journal of Psychoceramics'
        """
        row = self.journal_row(issn)
        return None if row is None else self.journal_record(row)

    @property
    def funders(self) -> list[Record]:
        """Every ``funder`` record, as ``/funders`` lists them (without the singleton's
        hierarchy and counts).

        >>> funders = Corpus(works=50).funders
        >>> funders[0]["id"], funders[0]["name"], "work-count" in funders[0]
        ('100000001', 'National Science Foundation', False)
        """
        return [rec.funder_record(code) for code in range(len(v.FUNDERS))]

    def funder_code(self, value: str) -> int | None:
        """The code of the funder with this id (bare or as a 10.13039 DOI), or None.

        >>> corpus = Corpus(works=50)
        >>> corpus.funder_code("10.13039/100000001"), corpus.funder_code("999")
        (0, None)
        """
        wanted = funder_id(value)
        for code, row in enumerate(v.FUNDERS):
            if row[0] == wanted:
                return code
        return None

    def funder(self, value: str) -> Record | None:
        """The ``funder`` singleton record (with ``work-count``), or None.

        >>> funder = Corpus(works=50).funder("100000001")
        >>> funder["name"], funder["work-count"], funder["hierarchy"]
        ('National Science Foundation', 2, {'100000001': {}})
        """
        code = self.funder_code(value)
        if code is None:
            return None
        return rec.funder_record(code, work_count=self.aggregates.funders[code])

    @property
    def prefixes(self) -> list[Record]:
        """Every ``prefix`` record.

        >>> Corpus(works=50).prefixes[0]["prefix"]
        'https://id.crossref.org/prefix/10.5555'
        """
        return [
            rec.prefix_record(prefix, row) for row in self.tables.members for prefix in row.prefixes
        ]

    def prefix(self, prefix: str) -> Record | None:
        """The ``prefix`` record of this DOI prefix, or None.

        >>> corpus = Corpus(works=50)
        >>> corpus.prefix("10.5555")["name"], corpus.prefix("10.5061")
        ('Crossref Test Member', None)
        """
        row = self._prefix_owner.get(prefix.strip().lower())
        return None if row is None else rec.prefix_record(prefix.strip(), row)

    @functools.cached_property
    def _prefix_owner(self) -> dict[str, tb.MemberRow]:
        return {p.lower(): row for row in self.tables.members for p in row.prefixes}

    @property
    def types(self) -> list[Record]:
        """Every ``type`` record, in the order ``/types`` lists them.

        >>> Corpus(works=50).types[:2]
        [{'id': 'book-section', 'label': 'Book Section'}, {'id': 'monograph', 'label': 'Monograph'}]
        """
        return [rec.type_record(type_id) for type_id in v.TYPE_LABELS]

    def type(self, type_id: str) -> Record | None:
        """The ``type`` record with this id, or None.

        >>> corpus = Corpus(works=50)
        >>> corpus.type("book"), corpus.type("blog-post")
        ({'id': 'book', 'label': 'Book'}, None)
        """
        return rec.type_record(type_id) if type_id in v.TYPE_LABELS else None

    @property
    def licenses(self) -> list[Record]:
        """``/licenses`` items: each license URL in use and how many works carry it.

        >>> Corpus(works=50).licenses[0]
        {'URL': 'http://creativecommons.org/licenses/by/3.0/', 'work-count': 3}
        """
        counts = self.aggregates.licenses
        return [
            {"URL": url, "work-count": counts[code]}
            for code, url in sorted(enumerate(v.LICENSES), key=lambda kv: kv[1])
            if counts[code]
        ]

    def agency(self, doi: str) -> Record | None:
        """The ``work-agency`` record of a DOI, or None when no agency registered it: corpus
        and funder DOIs are Crossref's, any DOI under a prefix of :data:`OTHER_AGENCIES` is
        that agency's (echoed as given), everything else is unregistered.

        >>> Corpus(works=20).agency("10.5061/dryad.x")
        {'DOI': '10.5061/dryad.x', 'agency': {'id': 'datacite', 'label': 'DataCite'}}
        """
        index = self.index_of(doi)
        if index is not None:
            return rec.agency_record(self.tables.columns.doi[index])
        text = doi.strip()
        if text.startswith("10.13039/") and self.funder_code(text) is not None:
            return rec.agency_record(text)
        prefix, _, suffix = text.partition("/")
        other = tb.OTHER_AGENCIES.get(prefix)
        if other is not None and suffix:
            return rec.agency_record(text, other)
        return None
