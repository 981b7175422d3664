"""A harvest's published output: read back from disk, counted, and described by a manifest.

Nothing is taken on trust at the end of a harvest: the joined file is read back (every line
decoded, every DOI counted once) and compared with what the shards verified before it
replaces anything. Counting distinct DOIs must not cost memory in proportion to the output
(harvests run to millions of records), so keys spill to hashed bucket files on disk beyond a
bound, and each bucket is counted on its own.

A finished output gets a manifest beside it (``works.jsonl.gz.manifest.json``): the
endpoint, the query, the record count and the SHA-256 of the file. It is what lets a
``--resume`` of a finished harvest verify the file and send nothing, and an incremental run
update the file it belongs to, and no other.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import struct
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, Literal

import msgspec

from ._errors import HarvestStateError
from ._params import check_whole, doi_key
from ._sinks import Compression, read_records

__all__ = [
    "Contents",
    "Manifest",
    "Tally",
    "UniqueKeys",
    "fsync_dir",
    "inspect",
    "manifest_path",
]

MANIFEST_FORMAT = 1
_SAMPLE = 5


class _DoiOnly(msgspec.Struct):
    # Not models.WorkKey: reading an output back checks every line of files of any size,
    # and needs the DOI alone; a record's other fields, whatever their shape, must not
    # make a line unreadable here.
    DOI: str | None = None


_doi_decoder = msgspec.json.Decoder(_DoiOnly)


class UniqueKeys:
    """Counts distinct keys in bounded memory: a set up to ``memory`` keys, then hashed
    bucket files in a temporary folder, each counted alone at the end.

    ``duplicates`` keeps a few of the keys seen twice, for messages.
    """

    def __init__(self, *, memory: int = 50_000, buckets: int = 64) -> None:
        self.memory = memory
        self.buckets = buckets
        self.duplicates: list[str] = []
        self._seen: set[bytes] = set()
        self._dir: tempfile.TemporaryDirectory[str] | None = None
        self._files: list[BinaryIO] = []

    def add(self, key: str) -> None:
        """Count one key."""
        data = key.encode("utf-8", "surrogatepass")
        if self._files:
            self._spill(data)
            return
        if data in self._seen:
            self._note(data)
            return
        self._seen.add(data)
        if len(self._seen) > self.memory:
            self._start_spilling()

    def count(self) -> int:
        """The number of distinct keys added (and closes any bucket files)."""
        if not self._files:
            return len(self._seen)
        total = 0
        try:
            for handle in self._files:
                handle.flush()
                handle.seek(0)
                seen: set[bytes] = set()
                for data in _read_framed(handle):
                    if data in seen:
                        self._note(data)
                    else:
                        seen.add(data)
                total += len(seen)
        finally:
            self.close()
        return total

    def close(self) -> None:
        """Remove the bucket files (idempotent)."""
        for handle in self._files:
            handle.close()
        self._files = []
        if self._dir is not None:
            self._dir.cleanup()
            self._dir = None

    def _note(self, data: bytes) -> None:
        if len(self.duplicates) < _SAMPLE:
            self.duplicates.append(data.decode("utf-8", "surrogatepass"))

    def _start_spilling(self) -> None:
        self._dir = tempfile.TemporaryDirectory(prefix="crossref-async-keys-")
        self._files = [
            open(Path(self._dir.name, f"{i:03d}"), "w+b", buffering=1 << 16)  # noqa: SIM115
            for i in range(self.buckets)
        ]
        seen, self._seen = self._seen, set()
        for data in seen:
            self._spill(data)

    def _spill(self, data: bytes) -> None:
        # hash() of bytes is stable within a process, which is all the buckets need.
        self._files[hash(data) % self.buckets].write(struct.pack("<I", len(data)) + data)


def _read_framed(handle: BinaryIO) -> Iterator[bytes]:
    while header := handle.read(4):
        (size,) = struct.unpack("<I", header)
        yield handle.read(size)


@dataclass(frozen=True)
class Contents:
    """What a JSONL output holds, read back from disk.

    ``invalid`` counts lines that are not a JSON record with a DOI, or not valid UTF-8;
    ``duplicates`` and ``invalid_lines`` hold a few examples (DOIs, line numbers).
    """

    records: int
    unique: int
    invalid: int
    bytes: int
    sha256: str
    duplicates: tuple[str, ...] = ()
    invalid_lines: tuple[int, ...] = ()
    damaged: str | None = None

    @property
    def sound(self) -> bool:
        """Every line a valid record, no DOI twice, and the file readable to its end."""
        return self.damaged is None and self.invalid == 0 and self.unique == self.records

    def describe(self) -> str:
        """``50,000 records, 50,000 unique DOIs, all valid JSON``, with examples if not."""
        text = f"{self.records:,} records, {self.unique:,} unique DOIs"
        if self.damaged is not None:
            text = f"unreadable after {text} ({self.damaged})"
        if self.invalid:
            where = ", ".join(str(n) for n in self.invalid_lines)
            text += f", {self.invalid:,} invalid lines (line {where}...)"
        else:
            text += ", all valid JSON"
        if self.duplicates:
            text += f"; repeated: {', '.join(self.duplicates)}"
        return text


@dataclass
class Tally:
    """The lines of one or more files read back in turn: records, invalid lines (with a few
    line numbers, counted across every file read), distinct DOIs, and the first damage."""

    keys: UniqueKeys = field(default_factory=UniqueKeys)
    records: int = 0
    invalid: int = 0
    bad_lines: list[int] = field(default_factory=list)
    damaged: str | None = None

    def read(self, lines: Iterator[bytes]) -> None:
        """Count every line of ``lines``; a stream that breaks off is noted as damaged."""
        try:
            for line in lines:
                self.records += 1
                doi = _doi_of(line)
                if doi is None:
                    self.invalid += 1
                    if len(self.bad_lines) < _SAMPLE:
                        self.bad_lines.append(self.records)
                    continue
                self.keys.add(doi_key(doi))
        except (OSError, EOFError, ValueError) as exc:
            # A damaged compressed stream (a CRC error, a cut-off frame) or a failing disk.
            self.note_damage(f"{type(exc).__name__}: {exc}")
        except Exception as exc:
            if type(exc).__module__.split(".")[0] != "zstandard":
                raise
            self.note_damage(f"zstd: {exc}")

    def note_damage(self, what: str) -> None:
        """Keep the first damage seen."""
        if self.damaged is None:
            self.damaged = what

    def contents(self, size: int, sha256: str) -> Contents:
        """What was read, for a file of ``size`` bytes (counts the DOIs and frees the keys)."""
        try:
            unique = self.keys.count()
        finally:
            self.keys.close()
        return Contents(
            records=self.records,
            unique=unique,
            invalid=self.invalid,
            bytes=size,
            sha256=sha256,
            duplicates=tuple(self.keys.duplicates),
            invalid_lines=tuple(self.bad_lines),
            damaged=self.damaged,
        )


def inspect(
    path: Path, *, compression: Compression | Literal[False] = False, memory: int = 50_000
) -> Contents:
    """Read a whole output back: records, distinct DOIs, invalid lines, and its SHA-256.

    The compression is known from the file name unless given.
    """
    digest = hashlib.sha256()
    tally = Tally(UniqueKeys(memory=memory))
    tally.read(read_records(path, digest=digest, compression=compression))
    return tally.contents(path.stat().st_size, digest.hexdigest())


def _doi_of(line: bytes) -> str | None:
    try:
        line.decode("utf-8")
        doi = _doi_decoder.decode(line).DOI
    except (UnicodeDecodeError, msgspec.DecodeError, msgspec.ValidationError):
        return None
    return doi if doi else None


def dois_in(lines: Iterable[bytes]) -> Iterator[str]:
    """The DOI key of each line that has one."""
    for line in lines:
        doi = _doi_of(line)
        if doi is not None:
            yield doi_key(doi)


def manifest_path(out: Path) -> Path:
    """``works.jsonl.gz`` -> ``works.jsonl.gz.manifest.json``."""
    return out.with_name(out.name + ".manifest.json")


@dataclass(frozen=True)
class Manifest:
    """What a finished output holds and which harvest wrote it.

    ``query`` is the canonical form of the query (without an incremental run's
    ``from-index-date``); ``since`` the start of the latest incremental run, if any.
    """

    endpoint: str
    path: str
    query: tuple[tuple[str, str], ...]
    records: int
    bytes: int
    sha256: str
    finished: str
    since: str | None = None
    history: tuple[dict[str, object], ...] = field(default=())

    def to_json(self) -> str:
        """The manifest as JSON."""
        return json.dumps(
            {
                "format": MANIFEST_FORMAT,
                "endpoint": self.endpoint,
                "path": self.path,
                "query": [list(pair) for pair in self.query],
                "records": self.records,
                "bytes": self.bytes,
                "sha256": self.sha256,
                "finished": self.finished,
                "since": self.since,
                "history": list(self.history),
            },
            indent=2,
        )

    @classmethod
    def load(cls, path: Path) -> Manifest | None:
        """The manifest at ``path``, None if there is none; a damaged one is an error."""
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            return cls(
                endpoint=str(data["endpoint"]),
                path=str(data["path"]),
                query=tuple((str(k), str(v)) for k, v in data["query"]),
                records=_whole(data["records"]),
                bytes=_whole(data["bytes"]),
                sha256=str(data["sha256"]),
                finished=str(data["finished"]),
                since=str(data["since"]) if data.get("since") else None,
                history=tuple(dict(h) for h in data.get("history") or ()),
            )
        except FileNotFoundError:
            return None
        except (OSError, KeyError, TypeError, ValueError) as exc:
            raise HarvestStateError(
                f"{path} is not a manifest written by crossref-async ({exc}); move it away "
                "if the output beside it is not a harvest's"
            ) from exc

    def save(self, path: Path) -> None:
        """Write atomically and durably."""
        write_durably(path, self.to_json().encode())


def _whole(value: object) -> int:
    return check_whole(value, "a count", low=0)


def now_iso() -> str:
    """The current UTC time, to the second."""
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


def fsync_dir(path: Path) -> None:
    """Make a rename in ``path`` durable (a no-op where folders cannot be synced)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass  # some filesystems (and Windows) refuse to sync a folder
    finally:
        os.close(fd)


def write_durably(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data``: a synced temporary file renamed over it."""
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    fsync_dir(path.parent)
