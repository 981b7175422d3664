"""Deep-paging cursors whose state lives on the server, as Crossref's do.

``cursor=*`` stores the result set and a position, and answers with a token. Every later
request with that token serves the next ``rows`` records and moves the position on, and the
token stays the same page after page. So a request that is sent again after its response was
lost (a timeout, a reset, a truncated body) gets the page after the lost one: the lost page is
skipped silently, exactly the trap of the real API. After the last record, a cursor serves
empty pages forever.

A cursor expires ``ttl`` seconds after its last use (Crossref: about five minutes). A request
with an expired or unknown token is answered 404 with Crossref's ``resource-failure`` body
(``cursor-invalid``), the answer Crossref gives to a token it does not know.

Cursors also serve ``/members``, ``/journals`` and ``/funders`` (the API passes them to its
search backend since 2022; Crossref's staff recommend them for ``/journals``), over the
records of that list. A token belongs to the kind of list that made it: sent to another
route it is unknown there.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from ._search import Result
from ._stats import Stats

# Elasticsearch scroll ids start like this; real tokens do too.
_TOKEN_HEAD = "DnF1ZXJ5VGhlbkZldGNo"


@dataclass
class CursorState:
    """One cursor: the list it walks (``items``: work indexes, or the records of another
    list), the works result it came from (None for other lists), the ``route`` kind that
    made it, how far it has got and when it was last used."""

    token: str
    items: Sequence[Any]
    result: Result | None
    route: str
    position: int
    last_used: float

    @property
    def remaining(self) -> int:
        """How many items are left after the position."""
        return max(0, len(self.items) - self.position)

    def take(self, count: int) -> Sequence[Any]:
        """The next ``count`` items; the position moves past exactly the items returned, so
        a page served short loses nothing: the next one starts after its last item."""
        page = self.items[self.position : self.position + count]
        self.position += len(page)
        return page


class CursorStore:
    """Live cursors by token, with idle expiry on the simulator's clock."""

    def __init__(self, *, ttl: float, clock: Callable[[], float], seed: int, stats: Stats):
        self.ttl = ttl
        self._clock = clock
        self._seed = seed
        self._stats = stats
        self._created = 0
        self._live: dict[str, CursorState] = {}

    def create(
        self, items: Sequence[Any], *, result: Result | None = None, route: str = "works"
    ) -> CursorState:
        """A new cursor at the start of ``items`` (a works ``result``'s indexes, or the
        records of the ``route`` list)."""
        self.sweep()
        self._created += 1
        digest = hashlib.sha256(f"{self._seed}:{self._created}".encode()).digest()
        # Standard base64 (with + / =), so a client that forgets to percent-encode the token
        # sends a different one and is told it is invalid, as with the real API.
        token = _TOKEN_HEAD + base64.b64encode(digest + digest[:8]).decode()
        state = CursorState(token, items, result, route, 0, self._clock())
        self._live[token] = state
        self._stats.count("cursors_created")
        return state

    def get(self, token: str, route: str = "works") -> CursorState | None:
        """The live cursor with this token made by a ``route`` list, touched; None if
        unknown there or expired."""
        state = self._live.get(token)
        if state is None or state.route != route:
            return None
        now = self._clock()
        if now - state.last_used > self.ttl:
            del self._live[token]
            self._stats.count("cursors_expired")
            return None
        state.last_used = now
        return state

    def sweep(self) -> None:
        """Forget cursors idle for longer than the TTL (they count as expired)."""
        now = self._clock()
        for token in [t for t, s in self._live.items() if now - s.last_used > self.ttl]:
            del self._live[token]
            self._stats.count("cursors_expired")

    def __len__(self) -> int:
        return len(self._live)
