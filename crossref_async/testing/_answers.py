"""What the simulator answers: the response to a route and its parameters.

Validation failures become 400s with Crossref's bodies, unknown resources the plain-text
404, unknown cursors the ``resource-failure`` 404; formatted citations and the doi.org hop are
content negotiation's (``_negotiation``); everything else is an envelope built from the
corpus. Works lists are assembled from cached record bytes, so big pages stay cheap.

Alias DOIs (since February 2025): ``/works/{alias}`` answers ``301`` with ``Location`` the
primary record's URL on the same host and with the same version prefix, without the query
string (so a ``mailto`` given there is lost on the hop, as on the real API). Crossref's
announcement speaks of "the record of an aliased DOI"; ``/works/{alias}/agency`` and
``/works/{alias}/transform[/...]`` read the same record, so they redirect the same way, to
the same route of the primary DOI. Aliases never appear in lists (they are not works).

Cursors on ``/members``, ``/journals`` and ``/funders`` (and their queried and filtered
lists) work as on ``/works``: ``cursor=*`` answers with ``next-cursor``, later pages follow
from the server's position, ``offset`` is refused with a cursor. An unknown token there is
answered as recorded in 2022 for ``/members?cursor=5``: a 500 ``exception`` body from the
search backend (the ``resource-failure`` 404 is the works routes' answer).
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator, Sequence
from typing import Any, ClassVar, overload
from urllib.parse import quote

import msgspec

from . import _bodies as bodies
from . import _negotiation as negotiation
from . import _requests as requests
from . import _routes as routes
from . import _tables as tb
from . import _wire as wire
from ._corpus import Corpus
from ._cursors import CursorState, CursorStore
from ._records import tokens
from ._search import Result, SearchError, Selection
from ._stats import Stats
from ._vocab import STOP_WORDS

_encode = msgspec.json.Encoder().encode
_CURSOR_LISTS = frozenset({routes.MEMBERS, routes.JOURNALS, routes.FUNDERS})
# The redirect page of Crossref's load balancer (recorded in 2025 and 2026).
_MOVED = (
    b"<html>\n<head><title>301 Moved Permanently</title></head>\n<body>\n"
    b"<center><h1>301 Moved Permanently</h1></center>\n</body>\n</html>\n"
)
_SCOPE_FILTER = {
    routes.MEMBER: "member",
    routes.JOURNAL: "issn",
    routes.FUNDER: "funder",
    routes.PREFIX: "prefix",
    routes.TYPE: "type",
}


class Responder:
    """Computes answers from the corpus; owns the cursors and the sampling generator.

    ``filler``: synthetic rows listed after the real ones by ``/members``, ``/journals`` and
    ``/funders`` (see :class:`Filler`), so a test can page past offset 10,000 cheaply.
    """

    def __init__(
        self, corpus: Corpus, cursors: CursorStore, stats: Stats, seed: int, *, filler: int = 0
    ) -> None:
        self.corpus = corpus
        self._cursors = cursors
        self.stats = stats
        self._sampler = random.Random(seed ^ 0x5A3B1E)
        self._filler = filler

    def answer(
        self,
        route: routes.Route,
        params: Sequence[tuple[str, str]],
        accept: str | None = None,
        *,
        origin: str = "",
        shortfall: int = 0,
    ) -> wire.Answer:
        """The full answer to an admitted request (computing it may advance a cursor);
        ``accept`` is the request's ``Accept`` header, which only content negotiation reads;
        ``origin`` (``http://host:port``) makes an alias's ``Location`` absolute;
        ``shortfall``: serve a list page that many items short if more remain (the
        ``short_page`` fault)."""
        try:
            moved = self._moved(route, origin)
            if moved is not None:
                return moved
            if route.name == routes.NOT_FOUND:
                return wire.Answer(404, bodies.ROUTE_NOT_FOUND, bodies.JSON)
            if route.name == routes.RESOLVE:  # doi.org ignores query strings
                return negotiation.resolve(self.corpus, route.ident or "", accept)
            if route.name == routes.TRANSFORM:
                requests.check_singleton(params)
                return negotiation.transform(self.corpus, route.ident or "", route.media, accept)
            if route.name == routes.WORKS:
                return self._works(route, requests.parse(params, requests.WORKS), shortfall)
            if route.is_list:
                return self._other_list(route.name, params, shortfall)
            requests.check_singleton(params)
            return self._singleton(route)
        except requests.Invalid as exc:
            return wire.Answer(400, bodies.validation_failure(exc.details), bodies.JSON)
        except SearchError as exc:
            return wire.Answer(400, bodies.validation_failure([exc.detail]), bodies.JSON)

    def _moved(self, route: routes.Route, origin: str) -> wire.Answer | None:
        """The 301 of a work route naming an alias DOI, or None."""
        if route.name not in (routes.WORK, routes.AGENCY, routes.TRANSFORM):
            return None
        primary = self.corpus.primary_of(route.ident or "")
        if primary is None or self.corpus.index_of(route.ident or "") is not None:
            return None
        tail = {routes.WORK: "", routes.AGENCY: "/agency"}.get(route.name)
        if tail is None:
            tail = "/transform" + (f"/{route.media}" if route.media else "")
        location = f"{origin}{route.version}/works/{quote(primary, safe='/')}{tail}"
        self.stats.count("alias_redirects")
        return wire.Answer(301, _MOVED, bodies.HTML, [(b"location", location.encode())])

    def _singleton(self, route: routes.Route) -> wire.Answer:
        corpus = self.corpus
        ident = route.ident or ""
        if route.name == routes.WORK:
            index = corpus.index_of(ident)
            if index is None:
                return _not_found()
            body = bodies.envelope_raw("work", corpus.encoded_head(index) + b"1.0}")
            return wire.Answer(200, body, bodies.JSON)
        lookups: dict[str, tuple[str, Callable[[str], dict[str, Any] | None]]] = {
            routes.AGENCY: ("work-agency", corpus.agency),
            routes.MEMBER: ("member", corpus.member),
            routes.JOURNAL: ("journal", corpus.journal),
            routes.FUNDER: ("funder", corpus.funder),
            routes.PREFIX: ("prefix", corpus.prefix),
            routes.TYPE: ("type", corpus.type),
        }
        message_type, lookup = lookups[route.name]
        record = lookup(ident)
        if record is None:
            return _not_found()
        return wire.Answer(200, bodies.envelope(message_type, record), bodies.JSON)

    # -- works lists ---------------------------------------------------------------------

    def _scope_filters(self, route: routes.Route) -> list[tuple[str, str]] | None:
        """The filter a scoped works route (``/members/98/works``) adds, none for ``/works``;
        None when the scope does not exist (a 404, like an unknown singleton)."""
        if route.scope is None:
            return []
        ident = route.ident or ""
        corpus = self.corpus
        exists = {
            routes.MEMBER: lambda: corpus.member_row(ident) is not None,
            routes.JOURNAL: lambda: corpus.journal_row(ident) is not None,
            routes.FUNDER: lambda: corpus.funder_code(ident) is not None,
            routes.PREFIX: lambda: corpus.prefix(ident) is not None,
            routes.TYPE: lambda: corpus.type(ident) is not None,
        }[route.scope]()
        return [(_SCOPE_FILTER[route.scope], ident)] if exists else None

    def _works(self, route: routes.Route, req: requests.ListRequest, shortfall: int) -> wire.Answer:
        scope = self._scope_filters(route)
        if scope is None:
            return _not_found()
        filters = [*req.filters, *scope]
        rows = req.rows if req.rows is not None else 20
        token = None
        if req.cursor is not None and req.cursor != "*":
            state = self._cursors.get(req.cursor)
            if state is None or state.result is None:
                self.stats.count("cursor_invalid")
                return wire.Answer(404, bodies.cursor_invalid(req.cursor), bodies.JSON_BARE)
            result = state.result
        else:
            selection = Selection(tuple(filters), tuple(req.queries), req.sort, req.order)
            result = self.corpus.searcher.run(selection)
            state = (
                self._cursors.create(result.indexes, result=result) if req.cursor == "*" else None
            )
        if state is not None:
            page = self._from_cursor(state, rows, shortfall)
            token = state.token
            total = len(result.indexes)
            offset = 0
        elif req.sample is not None:
            page = self._sampler.sample(list(result.indexes), min(req.sample, len(result.indexes)))
            # As recorded (2022): a filtered or queried sample announces the query's total
            # (query=ecology&sample=20: 452,242); a bare /works?sample=N announces N.
            total = len(result.indexes) if filters or req.queries else len(page)
            offset = 0
        else:
            page = self._from_offset(result.indexes, req.offset, rows, shortfall)
            total = len(result.indexes)
            offset = req.offset
        facets = self.corpus.searcher.facets(result, req.facets) if req.facets else {}
        items = b",".join(self._item(i, result, req.select) for i in page)
        message = b"".join(
            (
                b'{"facets":',
                _encode(facets),
                b',"next-cursor":' + _encode(token) if token is not None else b"",
                b',"total-results":',
                str(total).encode(),
                b',"items":[',
                items,
                b'],"items-per-page":',
                str(rows).encode(),
                b',"query":{"start-index":',
                str(offset).encode(),
                b',"search-terms":',
                _encode(req.search_terms),
                b"}}",
            )
        )
        return wire.Answer(
            200, bodies.envelope_raw("work-list", message), bodies.JSON, rows=len(page)
        )

    def _item(self, i: int, result: Result, select: tuple[str, ...] | None) -> bytes:
        score = result.score(i)
        if select is None:
            tail = b"1.0}" if result.scores is None else _encode(score) + b"}"
            return self.corpus.encoded_head(i) + tail
        record = self.corpus.record(i)
        record["score"] = score
        return _encode({name: record[name] for name in select if name in record})

    # -- paging --------------------------------------------------------------------------

    def _from_cursor(self, state: CursorState, rows: int, shortfall: int) -> Sequence[Any]:
        """The next page of a cursor; the cursor moves past exactly what is served."""
        page = state.take(self._page_size(state.remaining, rows, shortfall))
        self.stats.page(state.token)
        return page

    def _from_offset(
        self, items: Sequence[Any], offset: int, rows: int, shortfall: int
    ) -> Sequence[Any]:
        """The page at ``offset``: ``rows`` items, fewer when the short-page fault cuts it."""
        return items[offset : offset + self._page_size(len(items) - offset, rows, shortfall)]

    def _page_size(self, remaining: int, rows: int, shortfall: int) -> int:
        """How many of the ``remaining`` items a page of ``rows`` serves: ``rows`` less
        ``shortfall`` (at least one) when the fault hit and more than a page remains, so a
        short page is never the last one."""
        if shortfall and rows > 1 and remaining > rows:
            self.stats.count("short_pages")
            return max(1, rows - shortfall)
        return max(0, min(rows, remaining))

    # -- other lists ---------------------------------------------------------------------

    def _other_list(
        self, name: str, params: Sequence[tuple[str, str]], shortfall: int
    ) -> wire.Answer:
        spec, message_type, paged = {
            routes.MEMBERS: (requests.MEMBERS, "member-list", True),
            routes.JOURNALS: (requests.JOURNALS, "journal-list", True),
            routes.FUNDERS: (requests.FUNDERS, "funder-list", True),
            routes.TYPES: (requests.TYPES, "type-list", False),
            routes.LICENSES: (requests.LICENSES, "license-list", False),
        }[name]
        cursor, params = _split_cursor(name, params)
        req = requests.parse(params, spec)
        token = None
        if cursor is not None and cursor != "*":
            state = self._cursors.get(cursor, name)
            if state is None:
                self.stats.count("cursor_invalid")
                return wire.Answer(500, _backend_exception(), bodies.JSON_BARE)
            records: Sequence[Any] = state.items
        else:
            records = self._list_records(name, req)
            state = self._cursors.create(records, route=name) if cursor == "*" else None
        total = len(records)
        rows = req.rows if req.rows is not None else total
        if state is not None:
            page = list(self._from_cursor(state, rows, shortfall))
            token = state.token
        else:
            page = list(self._from_offset(records, req.offset, rows, shortfall))
        message: dict[str, Any] = {}
        if token is not None:
            message["next-cursor"] = token
        if paged:
            message["items-per-page"] = rows
            message["query"] = {"start-index": req.offset, "search-terms": req.search_terms}
        message["total-results"] = total
        message["items"] = page
        return wire.Answer(200, bodies.envelope(message_type, message), bodies.JSON, rows=len(page))

    def _list_records(self, name: str, req: requests.ListRequest) -> Sequence[dict[str, Any]]:
        words = [t for t in tokens(req.search_terms or "") if t not in STOP_WORDS]
        real = self._real_records(name, req, words)
        if not self._filler or name not in _CURSOR_LISTS or req.filters:
            return real
        filler = Filler(name, self._template(name), self._filler)
        return _Joined(real, filler) if filler.matches(words) else real

    def _template(self, name: str) -> dict[str, Any]:
        """A real record of list ``name`` for filler rows to copy."""
        corpus = self.corpus
        return {
            routes.MEMBERS: lambda: corpus.members[0],
            routes.JOURNALS: lambda: corpus.journals[0],
            routes.FUNDERS: lambda: corpus.funders[0],
        }[name]()

    def _real_records(
        self, name: str, req: requests.ListRequest, words: list[str]
    ) -> list[dict[str, Any]]:
        corpus = self.corpus
        if name == routes.MEMBERS:
            rows = [row for row in corpus.tables.members if self._member_passes(row, req)]
            rows.sort(key=lambda row: row.id)
            rows = [row for row in rows if _has_words(row.name, words)]
            return [corpus.member_record(row) for row in rows]
        if name == routes.JOURNALS:
            return [
                corpus.journal_record(row)
                for row in corpus.journal_rows
                if _has_words(row.title, words)
            ]
        if name == routes.FUNDERS:
            locations = {value.strip().casefold() for _, value in req.filters}
            return [
                record
                for record in corpus.funders
                if _has_words(" ".join([record["name"], *record["alt-names"]]), words)
                and (not locations or record["location"].casefold() in locations)
            ]
        if name == routes.LICENSES:
            return [record for record in corpus.licenses if _has_words(record["URL"], words)]
        return corpus.types

    def _member_passes(self, row: tb.MemberRow, req: requests.ListRequest) -> bool:
        """Members filters: ``prefix`` (owns it), ``current-doi-count`` and
        ``backfile-doi-count`` (at least that many). Same name repeated: OR."""
        groups: dict[str, list[str]] = {}
        for name, value in req.filters:
            groups.setdefault(name, []).append(value.strip())
        tally = self.corpus.aggregates.members.get(row.code)
        total = tally.total if tally else 0
        current = tally.current if tally else 0
        for name, values in groups.items():
            if name == "prefix":
                ok = any(p.lower() in (x.lower() for x in values) for p in row.prefixes)
            else:
                count = current if name == "current-doi-count" else total - current
                ok = any(x.isdigit() and count >= int(x) for x in values)
            if not ok:
                return False
        return True


class Filler(Sequence[dict[str, Any]]):
    """``size`` synthetic rows of list ``name`` (``members``, ``journals``, ``funders``),
    made on demand as copies of ``template`` with their own id and name: ``Filler Member 7``
    (id 900007), ``Filler Journal 7`` (ISSN 8000-0007), ``Filler Funder 7`` (id 900000007).
    They exist only in those lists: they match a ``query`` of the words ``filler`` and the
    list's noun and no other, and no list with a ``filter`` holds them; no singleton route
    knows them.

    >>> rows = Filler("journals", {"title": "T", "ISSN": [], "issn-type": []}, 12_000)
    >>> len(rows), rows[10_001]["title"], rows[10_001]["ISSN"], rows.matches(["filler"])
    (12000, 'Filler Journal 10001', ['8001-0001'], True)
    """

    _NOUNS: ClassVar[dict[str, str]] = {
        routes.MEMBERS: "member",
        routes.JOURNALS: "journal",
        routes.FUNDERS: "funder",
    }

    def __init__(self, name: str, template: dict[str, Any], size: int) -> None:
        self.name = name
        self.template = template
        self.size = size
        self.noun = self._NOUNS[name]

    def matches(self, words: Sequence[str]) -> bool:
        """Whether a query of these (lower-case, stop-word free) words matches the rows."""
        return set(words) <= {"filler", self.noun}

    def __len__(self) -> int:
        return self.size

    @overload
    def __getitem__(self, index: int) -> dict[str, Any]: ...

    @overload
    def __getitem__(self, index: slice) -> list[dict[str, Any]]: ...

    def __getitem__(self, index: int | slice) -> dict[str, Any] | list[dict[str, Any]]:
        if isinstance(index, slice):
            return [self._row(k) for k in range(*index.indices(self.size))]
        if not -self.size <= index < self.size:
            raise IndexError(index)
        return self._row(index % self.size)

    def _row(self, k: int) -> dict[str, Any]:
        row = dict(self.template)
        title = f"Filler {self.noun.title()} {k}"
        if self.name == routes.MEMBERS:
            row.update({"id": 900_000 + k, "primary-name": title, "names": [title]})
            row.update({"prefixes": [], "prefix": [], "tokens": ["filler", self.noun, str(k)]})
        elif self.name == routes.JOURNALS:
            issn = f"{8000 + k // 10_000:04d}-{k % 10_000:04d}"
            row.update(
                {"title": title, "ISSN": [issn], "issn-type": [{"value": issn, "type": "print"}]}
            )
        else:
            ident = f"{900_000_000 + k}"
            row.update(
                {
                    "id": ident,
                    "name": title,
                    "alt-names": [],
                    "uri": f"http://dx.doi.org/10.13039/{ident}",
                }
            )
            row["tokens"] = ["filler", self.noun, str(k)]
        return row


class _Joined(Sequence[dict[str, Any]]):
    """Two sequences as one, without copying (the real rows, then the filler)."""

    def __init__(self, first: Sequence[dict[str, Any]], second: Sequence[dict[str, Any]]):
        self._first = first
        self._second = second

    def __len__(self) -> int:
        return len(self._first) + len(self._second)

    @overload
    def __getitem__(self, index: int) -> dict[str, Any]: ...

    @overload
    def __getitem__(self, index: slice) -> list[dict[str, Any]]: ...

    def __getitem__(self, index: int | slice) -> dict[str, Any] | list[dict[str, Any]]:
        if isinstance(index, slice):
            start, stop, step = index.indices(len(self))
            if step != 1:
                return [self[k] for k in range(start, stop, step)]
            split = len(self._first)
            head = list(self._first[start : min(stop, split)]) if start < split else []
            tail = self._second[max(start - split, 0) : max(stop - split, 0)]
            return head + list(tail)
        if index < 0:
            index += len(self)
        if index < len(self._first):
            return self._first[index]
        return self._second[index - len(self._first)]

    def __iter__(self) -> Iterator[dict[str, Any]]:
        yield from self._first
        yield from self._second


def _split_cursor(
    name: str, params: Sequence[tuple[str, str]]
) -> tuple[str | None, list[tuple[str, str]]]:
    """The ``cursor`` of a list route that takes one (the last given wins, as for every
    parameter) and the other parameters, for the shared list validation that knows cursors
    only on works routes. Refuses ``offset`` with a cursor, as the works routes do."""
    if name not in _CURSOR_LISTS:
        return None, list(params)
    cursors = [value for key, value in params if key == "cursor"]
    rest = [(key, value) for key, value in params if key != "cursor"]
    if cursors and any(key == "offset" for key, _ in rest):
        raise requests.Invalid(
            [
                bodies.detail(
                    "parameter-not-allowed", "offset", "Parameter offset cannot be used with cursor"
                )
            ]
        )
    return (cursors[-1] if cursors else None), rest


def _backend_exception() -> bytes:
    """The 500 body of the search backend failing on a list cursor it does not know (as
    recorded in 2022 for ``/members?cursor=5``; the stack trace shortened)."""
    return msgspec.json.encode(
        {
            "status": "error",
            "message-type": "exception",
            "message-version": "1.0.0",
            "message": {
                "name": "class clojure.lang.ExceptionInfo",
                "description": "clojure.lang.ExceptionInfo: Response Exception",
                "message": "Response Exception",
                "stack": ["qbits.spandex$response_ex__GT_ex_info.invokeStatic(spandex.clj:218)"],
                "cause": None,
            },
        }
    )


def _has_words(text: str, words: list[str]) -> bool:
    """Whether every query word is a word of ``text`` (list routes search names)."""
    if not words:
        return True
    present = set(tokens(text))
    return all(word in present for word in words)


def _not_found() -> wire.Answer:
    # Crossref's unknown-resource answer: plain text, yet labelled JSON.
    return wire.Answer(404, bodies.NOT_FOUND, bodies.JSON)
