"""The DOIs a shard has written, in memory that does not grow with the shard.

A shard's cursor sends records oldest first (sorted by ``created``), and a record's created
day never changes, so a record sent again (by a new cursor resuming at the last record's day,
or in a page sent twice) can only repeat one of the same day. The keys of the
latest day are kept whole; when the walk moves past a day, its keys shrink to 8-byte hashes,
kept only to catch a record that comes out of order (a search of one packed buffer, rare
and fast). A million-record harvest then holds 8 MB of hashes instead of a set of a million
DOI strings (about 100 MB).
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable

__all__ = ["WrittenKeys"]


class WrittenKeys:
    """Which DOI keys a shard has written: :meth:`add` says whether a key is new.

    >>> keys = WrittenKeys()
    >>> keys.add("10.1/a", "2024-01-01"), keys.add("10.1/b", "2024-01-02")
    (True, True)
    >>> keys.add("10.1/b", "2024-01-02"), keys.add("10.1/a", "2024-01-01")
    (False, False)
    >>> keys.add("10.1/c", "2024-01-01"), len(keys)
    (True, 3)
    """

    def __init__(self, known: Iterable[tuple[str, str | None]] = ()) -> None:
        self._day: str | None = None  # the latest created day added
        self._latest: set[str] = set()  # the keys of that day, whole
        # Earlier days' keys as hashes packed 8 bytes each (str hashes are stable within a
        # process, and a resume rebuilds them from the part): a false match needs a record
        # out of order and another DOI of the shard with the same 64-bit hash.
        self._older = bytearray()
        self._undated: set[str] = set()  # records without a created day (Crossref has none)
        self._count = 0
        for key, day in known:
            self.add(key, day)

    def __len__(self) -> int:
        return self._count

    def add(self, key: str, day: str | None) -> bool:
        """Count ``key`` (created on ``day``) as written: False if it already was."""
        if day is None:
            if key in self._undated:
                return False
            self._undated.add(key)
        elif self._day is None or day > self._day:
            if self._day is not None:
                self._older += array("q", map(hash, self._latest)).tobytes()
            self._day, self._latest = day, {key}
        elif day == self._day:
            if key in self._latest:
                return False
            self._latest.add(key)
        else:
            packed = array("q", [hash(key)]).tobytes()
            if self._holds(packed):
                return False
            self._older += packed
        self._count += 1
        return True

    def _holds(self, packed: bytes) -> bool:
        at = self._older.find(packed)
        while at >= 0 and at % 8:  # a match across two hashes is no match
            at = self._older.find(packed, at + 1)
        return at >= 0
