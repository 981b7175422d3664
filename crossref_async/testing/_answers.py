"""What the simulator answers: the response to a route and its parameters.

Validation failures become 400s with Crossref's bodies, unknown resources the plain-text
404, unknown cursors the ``resource-failure`` 404; formatted citations and the doi.org hop are
content negotiation's (``_negotiation``); everything else is an envelope built from the
corpus. Works lists are assembled from cached record bytes, so big pages stay cheap.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from typing import Any

import msgspec

from . import _bodies as bodies
from . import _negotiation as negotiation
from . import _requests as requests
from . import _routes as routes
from . import _tables as tb
from . import _wire as wire
from ._corpus import Corpus
from ._cursors import CursorStore
from ._records import tokens
from ._search import Result, SearchError, Selection
from ._stats import Stats
from ._vocab import STOP_WORDS

_encode = msgspec.json.Encoder().encode
_SCOPE_FILTER = {
    routes.MEMBER: "member",
    routes.JOURNAL: "issn",
    routes.FUNDER: "funder",
    routes.PREFIX: "prefix",
    routes.TYPE: "type",
}


class Responder:
    """Computes answers from the corpus; owns the cursors and the sampling generator."""

    def __init__(self, corpus: Corpus, cursors: CursorStore, stats: Stats, seed: int) -> None:
        self.corpus = corpus
        self._cursors = cursors
        self.stats = stats
        self._sampler = random.Random(seed ^ 0x5A3B1E)

    def answer(
        self, route: routes.Route, params: Sequence[tuple[str, str]], accept: str | None = None
    ) -> wire.Answer:
        """The full answer to an admitted request (computing it may advance a cursor);
        ``accept`` is the request's ``Accept`` header, which only content negotiation reads."""
        try:
            if route.name == routes.NOT_FOUND:
                return wire.Answer(404, bodies.ROUTE_NOT_FOUND, bodies.JSON)
            if route.name == routes.RESOLVE:  # doi.org ignores query strings
                return negotiation.resolve(self.corpus, route.ident or "", accept)
            if route.name == routes.TRANSFORM:
                requests.check_singleton(params)
                return negotiation.transform(self.corpus, route.ident or "", route.media, accept)
            if route.name == routes.WORKS:
                return self._works(route, requests.parse(params, requests.WORKS))
            if route.is_list:
                return self._other_list(route.name, params)
            requests.check_singleton(params)
            return self._singleton(route)
        except requests.Invalid as exc:
            return wire.Answer(400, bodies.validation_failure(exc.details), bodies.JSON)
        except SearchError as exc:
            return wire.Answer(400, bodies.validation_failure([exc.detail]), bodies.JSON)

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

    def _works(self, route: routes.Route, req: requests.ListRequest) -> wire.Answer:
        scope = self._scope_filters(route)
        if scope is None:
            return _not_found()
        filters = [*req.filters, *scope]
        rows = req.rows if req.rows is not None else 20
        token = None
        if req.cursor is not None and req.cursor != "*":
            state = self._cursors.get(req.cursor)
            if state is None:
                self.stats.count("cursor_invalid")
                return wire.Answer(404, bodies.cursor_invalid(req.cursor), bodies.JSON_BARE)
            result = state.result
        else:
            selection = Selection(tuple(filters), tuple(req.queries), req.sort, req.order)
            result = self.corpus.searcher.run(selection)
            state = self._cursors.create(result) if req.cursor == "*" else None
        if state is not None:
            page = state.take(rows)
            token = state.token
            self.stats.page(token)
            total = len(result.indexes)
            offset = 0
        elif req.sample is not None:
            page = self._sampler.sample(list(result.indexes), min(req.sample, len(result.indexes)))
            total = len(page)
            offset = 0
        else:
            page = result.indexes[req.offset : req.offset + rows]
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

    # -- other lists ---------------------------------------------------------------------

    def _other_list(self, name: str, params: Sequence[tuple[str, str]]) -> wire.Answer:
        spec, message_type, paged = {
            routes.MEMBERS: (requests.MEMBERS, "member-list", True),
            routes.JOURNALS: (requests.JOURNALS, "journal-list", True),
            routes.FUNDERS: (requests.FUNDERS, "funder-list", True),
            routes.TYPES: (requests.TYPES, "type-list", False),
            routes.LICENSES: (requests.LICENSES, "license-list", False),
        }[name]
        req = requests.parse(params, spec)
        records = self._list_records(name, req)
        total = len(records)
        rows = req.rows if req.rows is not None else total
        page = records[req.offset : req.offset + rows]
        message: dict[str, Any] = {}
        if paged:
            message["items-per-page"] = rows
            message["query"] = {"start-index": req.offset, "search-terms": req.search_terms}
        message["total-results"] = total
        message["items"] = page
        return wire.Answer(200, bodies.envelope(message_type, message), bodies.JSON, rows=len(page))

    def _list_records(self, name: str, req: requests.ListRequest) -> list[dict[str, Any]]:
        corpus = self.corpus
        words = [t for t in tokens(req.search_terms or "") if t not in STOP_WORDS]
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


def _has_words(text: str, words: list[str]) -> bool:
    """Whether every query word is a word of ``text`` (list routes search names)."""
    if not words:
        return True
    present = set(tokens(text))
    return all(word in present for word in words)


def _not_found() -> wire.Answer:
    # Crossref's unknown-resource answer: plain text, yet labelled JSON.
    return wire.Answer(404, bodies.NOT_FOUND, bodies.JSON)
