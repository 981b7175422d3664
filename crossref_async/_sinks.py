"""Where harvested records go: JSONL part files (plain, gzip, zstd) and per-shard checkpoints.

Records are written through untouched: each is the exact bytes Crossref sent (a
:class:`msgspec.Raw`), one per line. Every page is appended as a whole unit (for gzip and zstd
one complete member or frame), flushed and synced before the shard's checkpoint records the
new size, so after a crash the part can be cut back to the last checkpoint and is valid.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
from collections.abc import Awaitable, Callable, Iterable, Iterator, Sequence
from contextlib import ExitStack
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, BinaryIO, Literal, cast

import msgspec

from ._errors import ValidationError

__all__ = ["Checkpoint", "Compression", "PartFile", "compression_for", "read_records"]

Compression = Literal["gzip", "zstd"] | None
Digest = Any  # a hashlib object (its type is private to hashlib)


def sha256_of(path: Path) -> str:
    """The SHA-256 of a file's bytes as stored, in hex."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


#: A user callback that receives each page's records (``msgspec.Raw``) of a shard.
CallbackSink = Callable[[int, Sequence[msgspec.Raw]], Awaitable[None]]


def compression_for(path: str | Path) -> Compression:
    """``.gz`` -> gzip, ``.zst`` -> zstd, anything else -> none."""
    name = str(path).lower()
    if name.endswith(".gz"):
        return "gzip"
    if name.endswith((".zst", ".zstd")):
        _zstd()
        return "zstd"
    return None


def _zstd() -> Any:
    try:
        import zstandard
    except ImportError as exc:  # an optional dependency
        raise ValidationError(
            "zstd", "writing .zst needs the zstandard package: pip install 'crossref-async[zstd]'"
        ) from exc
    return zstandard


def encode_lines(records: Iterable[msgspec.Raw]) -> bytes:
    """JSONL bytes of the records, as received."""
    body = b"\n".join(records)
    return body + b"\n" if body else b""


def compress(data: bytes, compression: Compression) -> bytes:
    """One self-contained gzip member or zstd frame (members and frames concatenate)."""
    if compression == "gzip":
        return gzip.compress(data, compresslevel=5, mtime=0)
    if compression == "zstd":
        return bytes(_zstd().ZstdCompressor(level=3).compress(data))
    return data


class PartFile:
    """An append-only JSONL part that can be cut back to a checkpointed size."""

    def __init__(self, path: Path, compression: Compression) -> None:
        self.path = path
        self.compression = compression

    @property
    def size(self) -> int:
        """Bytes on disk."""
        try:
            return self.path.stat().st_size
        except FileNotFoundError:
            return 0

    def truncate(self, size: int) -> None:
        """Cut the part back to ``size`` bytes (0 empties it), creating it if needed."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path, "ab") as fh:
            fh.truncate(size)
            fh.flush()
            os.fsync(fh.fileno())

    def append(self, records: Sequence[msgspec.Raw]) -> int:
        """Append one page of records durably; returns the new size in bytes."""
        if not records:
            return self.size
        data = compress(encode_lines(records), self.compression)
        with open(self.path, "ab") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
            return fh.tell()


class _Tap(io.RawIOBase):
    """A read-only file that shows every byte read from it to ``digest`` on the way."""

    def __init__(self, raw: BinaryIO, digest: Digest) -> None:
        self._raw = raw
        self._digest = digest

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        n = self._raw.readinto(buffer)  # type: ignore[attr-defined]
        if n:
            self._digest.update(memoryview(buffer)[:n])
        return int(n or 0)

    def drain(self) -> None:
        """Read (and show) whatever the decompressor left unread, such as trailing bytes."""
        while chunk := self._raw.read(1 << 20):
            self._digest.update(chunk)


def _open_decompressed(
    path: Path, stack: ExitStack, digest: Digest | None, compression: Compression
) -> BinaryIO:
    raw: BinaryIO = stack.enter_context(path.open("rb"))
    if digest is not None:
        tap = _Tap(raw, digest)
        # Registered first, so it runs after the decompressor closed: the hash covers the
        # whole file as stored, trailing bytes included.
        stack.callback(tap.drain)
        raw = cast(BinaryIO, stack.enter_context(io.BufferedReader(tap, 1 << 20)))
    if compression == "gzip":
        return cast(BinaryIO, stack.enter_context(gzip.GzipFile(fileobj=raw, mode="rb")))
    if compression == "zstd":
        reader = _zstd().ZstdDecompressor().stream_reader(raw, read_across_frames=True)
        return cast(BinaryIO, stack.enter_context(reader))
    return raw


def read_records(
    path: Path, *, digest: Digest | None = None, compression: Compression | Literal[False] = False
) -> Iterator[bytes]:
    """The lines of a part or output file (any compression), without the newline.

    The compression is known from the file name unless given. With ``digest`` (a hashlib
    object), every byte of the file as stored is also hashed.
    """
    if compression is False:
        compression = compression_for(path)
    with ExitStack() as stack:
        stream = _open_decompressed(path, stack, digest, compression)
        rest = b""
        while chunk := stream.read(1 << 20):
            *lines, rest = (rest + chunk).split(b"\n")
            yield from (line for line in lines if line)
        if rest:
            yield rest


@dataclass
class Checkpoint:
    """A shard's progress, saved atomically after every page.

    ``written`` and ``size`` are the records and bytes in the part at that moment;
    ``resume_from`` is the created day of the last record written (records come oldest
    first), where a new cursor continues; ``expected`` is the shard's ``total-results``;
    ``sha256`` is the finished part's checksum, which a later run checks before trusting it.
    ``at_day`` counts the records written on the ``resume_from`` day; ``before`` is set when
    the shard's next cursor announces only part of its window (its window narrowed after a
    page from a wider one): the records written on days before it, so that ``expected`` is
    ``before`` plus what that cursor announces.
    """

    shard: int
    resume_from: str | None = None
    written: int = 0
    size: int = 0
    expected: int | None = None
    at_day: int = 0
    before: int = 0
    pages: int = 0
    done: bool = False
    attempts: int = 0
    sha256: str | None = None

    @classmethod
    def load(cls, path: Path, shard: int) -> Checkpoint:
        """The saved checkpoint, or a fresh one if there is none.

        Raises ValueError for a file that is not a checkpoint of this shard (wrong types,
        another shard's), rather than resuming from numbers that cannot be trusted.
        """
        try:
            data = json.loads(path.read_text())
        except FileNotFoundError:
            return cls(shard)
        except ValueError:
            # A checkpoint is replaced atomically, so it is never half-written; if it is
            # unreadable anyway, the safe course is to redo the shard.
            return cls(shard)
        if not isinstance(data, dict):
            raise ValueError("not a JSON object")
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        try:
            cp = msgspec.convert(known, cls)
        except msgspec.ValidationError as exc:
            raise ValueError(str(exc)) from exc
        if cp.shard != shard:
            raise ValueError(f"it is the checkpoint of shard {cp.shard}, not {shard}")
        if min(cp.written, cp.size, cp.pages, cp.attempts, cp.at_day, cp.before) < 0:
            raise ValueError("negative counts")
        return cp

    def save(self, path: Path) -> None:
        """Write atomically: a temporary file, synced, then renamed over the old one."""
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        with open(tmp, "w") as fh:
            json.dump(asdict(self), fh)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
