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
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from ._search import Result
from ._stats import Stats

# Elasticsearch scroll ids start like this; real tokens do too.
_TOKEN_HEAD = "DnF1ZXJ5VGhlbkZldGNo"


@dataclass
class CursorState:
    """One cursor: its result set, how far it has got, when it was last used."""

    token: str
    result: Result
    position: int
    last_used: float

    def take(self, rows: int) -> Sequence[int]:
        """The next ``rows`` work indexes; the position moves past them."""
        page = self.result.indexes[self.position : self.position + rows]
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

    def create(self, result: Result) -> CursorState:
        """A new cursor at the start of ``result``."""
        self.sweep()
        self._created += 1
        digest = hashlib.sha256(f"{self._seed}:{self._created}".encode()).digest()
        # Standard base64 (with + / =), so a client that forgets to percent-encode the token
        # sends a different one and is told it is invalid, as with the real API.
        token = _TOKEN_HEAD + base64.b64encode(digest + digest[:8]).decode()
        state = CursorState(token, result, 0, self._clock())
        self._live[token] = state
        self._stats.count("cursors_created")
        return state

    def get(self, token: str) -> CursorState | None:
        """The live cursor with this token, touched; None if unknown or expired."""
        state = self._live.get(token)
        if state is None:
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
