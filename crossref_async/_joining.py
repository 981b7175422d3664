"""The output joined while the harvest runs, part by part, as each shard is done.

Publishing used to start when the last cursor ended: every part copied into the output,
then the whole output read back and decoded, 6.5 s of a 100-second harvest of 200,000
records. A :class:`Joiner` does that work for each part as its shard is done, beside the
cursors still running, so the end of a harvest waits only for the parts that finish last.

Nothing is taken on trust that the read-back at the end checked before: each part is read
once, every line decoded and every DOI counted (across all parts, so a DOI in two parts is
still a repeat), and its bytes go to the output as they are read; then the bytes just
written are read back from the output and must hash to what was read from the part. The
output is the parts joined, in the order their shards finished.
"""

from __future__ import annotations

import hashlib
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from ._output import Contents, Tally, UniqueKeys
from ._sinks import Compression, Digest, compress, read_records

__all__ = ["Joined", "Joiner"]

_CHUNK = 1 << 20


@dataclass(frozen=True)
class Joined:
    """One part as it was joined: its SHA-256 as read, its lines, and whether they were
    sound (every line a record with a DOI, the part readable to its end, the bytes written
    read back the same). Repeats across parts are only known once all are joined."""

    sha256: str
    records: int
    invalid: int
    sound: bool
    problem: str | None = None


class _WriteFailed(Exception):
    """A write to the output failed: not damage of the part being read, so carried past the
    line reader's handling of damage, and raised as the ``OSError`` it was."""

    def __init__(self, error: OSError) -> None:
        super().__init__(str(error))
        self.error = error


class _Copy:
    """A digest that also writes what it is shown: the part's hash, the output's hash and the
    output itself see the same bytes, in the order they were read."""

    def __init__(self, part: Digest, whole: Digest, out: BinaryIO) -> None:
        self._part = part
        self._whole = whole
        self._out = out

    def update(self, data: bytes | memoryview) -> None:
        self._part.update(data)
        self._whole.update(data)
        try:
            self._out.write(data)
        except OSError as exc:
            raise _WriteFailed(exc) from exc


class Joiner:
    """The output's temporary file (``tmp``), built from parts added one at a time.

    :meth:`add` (from a worker thread; one at a time, in any order) appends a part and
    returns its SHA-256 as read; :meth:`finish` syncs the file and tells what it holds, as
    :func:`~crossref_async._output.inspect` would have; :meth:`discard` removes it.
    """

    def __init__(self, tmp: Path, compression: Compression, *, memory: int = 50_000) -> None:
        self.tmp = tmp
        self.compression = compression
        self._tally = Tally(UniqueKeys(memory=memory))
        self._whole = hashlib.sha256()
        self._digests: dict[int, str] = {}
        self._file: BinaryIO | None = None
        self._lock = threading.Lock()

    def __contains__(self, shard: object) -> bool:
        return shard in self._digests

    @property
    def shards(self) -> frozenset[int]:
        """The shards whose parts are in the output."""
        return frozenset(self._digests)

    def digest(self, shard: int) -> str:
        """The SHA-256 of a shard's part as it was read and copied."""
        return self._digests[shard]

    def add(self, shard: int, part: Path) -> Joined:
        """Append ``part`` (the part of ``shard``), counting its lines, then read the bytes
        back from the output. A missing part adds nothing (and has no lines). A failure to
        write the output is raised as the ``OSError`` it is."""
        with self._lock:
            tally = self._tally
            records, invalid, damaged = tally.records, tally.invalid, tally.damaged
            out = self._open()
            start = out.tell()
            digest = hashlib.sha256()
            try:
                if part.exists():
                    copy = _Copy(digest, self._whole, out)
                    tally.read(read_records(part, digest=copy, compression=self.compression))
            except _WriteFailed as exc:
                raise exc.error from None
            self._check_written(out, start, digest.hexdigest(), f"the part of shard {shard}")
            self._digests[shard] = digest.hexdigest()
            problem = tally.damaged if tally.damaged != damaged else None
            if problem is None and tally.invalid > invalid:
                problem = f"{tally.invalid - invalid:,} lines that are not a record with a DOI"
            return Joined(
                digest.hexdigest(),
                records=tally.records - records,
                invalid=tally.invalid - invalid,
                sound=problem is None,
                problem=problem,
            )

    def finish(self) -> Contents:
        """Sync the output and tell what it holds (the DOIs counted across every part)."""
        with self._lock:
            out = self._open()
            if self.compression and out.tell() == 0:
                # Nothing matched: still a valid (empty) compressed file, which gzip -t accepts.
                empty = compress(b"", self.compression)
                self._whole.update(empty)
                out.write(empty)
                self._check_written(out, 0, hashlib.sha256(empty).hexdigest(), "the empty output")
            size = out.tell()
            os.fsync(out.fileno())
            out.close()
            self._file = None
            on_disk = self.tmp.stat().st_size
            if on_disk != size:
                self._tally.note_damage(f"{on_disk:,} bytes on disk, {size:,} written")
            return self._tally.contents(on_disk, self._whole.hexdigest())

    def discard(self) -> None:
        """Close and remove the output's temporary file (idempotent)."""
        with self._lock:
            if self._file is not None:
                self._file.close()
                self._file = None
            self._tally.keys.close()
            self.tmp.unlink(missing_ok=True)

    def _open(self) -> BinaryIO:
        if self._file is None:
            self._file = open(self.tmp, "w+b")  # noqa: SIM115 (held across calls)
        return self._file

    def _check_written(self, out: BinaryIO, start: int, sha256: str, what: str) -> None:
        """Read back what was just written at ``start`` and compare it with ``sha256``; a
        difference is damage (the output is not published). Synced first, so that the sync
        at the end has little left to write."""
        out.flush()
        os.fsync(out.fileno())
        end = out.tell()
        digest = hashlib.sha256()
        with open(self.tmp, "rb") as back:
            back.seek(start)
            left = end - start
            while left > 0 and (chunk := back.read(min(_CHUNK, left))):
                digest.update(chunk)
                left -= len(chunk)
        if left != 0 or digest.hexdigest() != sha256:
            self._tally.note_damage(
                f"{what}, read back from {self.tmp}, differs from what was written"
            )
