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
import zlib
from collections.abc import Awaitable, Callable, Iterable, Iterator, Sequence
from contextlib import ExitStack
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, BinaryIO, Literal, cast

import msgspec

from ._errors import ValidationError

__all__ = [
    "GZIP_LEVEL",
    "ZSTD_LEVEL",
    "Checkpoint",
    "Compression",
    "PartFile",
    "compression_for",
    "read_records",
]

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


#: The gzip level of parts and outputs. Not gzip's 6 (nor the 5 of earlier versions): a
#: harvest compresses every byte it fetches, and at 6 that costs about 2.3 times the CPU of 3
#: (about 5 MB of JSONL a page: ~96 ms at 6, ~71 ms at 5, ~41 ms at 3, ~33 ms at 1, on the
#: 2-core machine of ``benchmarks/ceiling.py``) for files about 15% smaller. 3 is the last of
#: zlib's fast levels: 1 saves a fifth of the compression time but makes files 11% larger and
#: decompresses no faster, and every harvest reads its output back once.
GZIP_LEVEL = 3
#: zstd's own default: ~10 ms a page, files about half the size of gzip's at GZIP_LEVEL;
#: level 1 is hardly faster, level 6 already 3.5 times slower.
ZSTD_LEVEL = 3
#: Bytes of JSONL handed to a compressor (or written) at once: a page of 1000 records is
#: about 5 MB, and writing it in pieces keeps the worker threads from each holding (and the
#: allocator keeping, per thread) several copies of whole pages.
_PIECE = 1 << 20


def encode_lines(records: Iterable[msgspec.Raw]) -> bytes:
    """JSONL bytes of the records, as received."""
    return b"".join(_lines(records))


def _lines(records: Iterable[msgspec.Raw]) -> Iterator[bytes]:
    """The JSONL bytes of the records, in pieces of about ``_PIECE`` bytes (whole lines)."""
    batch: list[msgspec.Raw | bytes] = []
    size = 0
    for record in records:
        batch.append(record)
        size += len(record) + 1
        if size >= _PIECE:
            batch.append(b"")  # the last line's newline, without another copy
            yield b"\n".join(batch)
            batch, size = [], 0
    if batch:
        batch.append(b"")
        yield b"\n".join(batch)


def _compressed(pieces: Iterable[bytes], compression: Compression, size: int) -> Iterator[bytes]:
    """``pieces`` as one gzip member or zstd frame (of ``size`` bytes uncompressed), in
    pieces. zlib and zstandard release the GIL while they compress, so a worker thread
    doing this leaves the event loop free."""
    if compression is None:
        yield from pieces
        return
    packer: Any
    if compression == "gzip":
        # wbits 31: a gzip member (header, deflate data, CRC and size), mtime 0.
        packer = zlib.compressobj(GZIP_LEVEL, zlib.DEFLATED, 31)
    else:
        # The size in the frame's header, as a one-shot compress writes it.
        packer = _zstd().ZstdCompressor(level=ZSTD_LEVEL).compressobj(size=size)
    for piece in pieces:
        if packed := packer.compress(piece):
            yield packed
    yield packer.flush()


def compress(data: bytes, compression: Compression) -> bytes:
    """One self-contained gzip member or zstd frame (members and frames concatenate)."""
    if compression is None:
        return data
    return b"".join(_compressed([data], compression, len(data)))


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
        """Append one page of records durably; returns the new size in bytes.

        The page is one gzip member or zstd frame of its own, written in pieces and synced
        before this returns: the size returned is a point the part can be cut back to.
        """
        if not records:
            return self.size
        size = sum(len(record) for record in records) + len(records)
        with open(self.path, "ab") as fh:
            for piece in _compressed(_lines(records), self.compression, size):
                fh.write(piece)
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
    ``recount`` is set when the shard's window narrowed after pages from a wider one (the
    opening page, a split): ``expected`` then comes from a count of the whole new window, so
    that a record missing from those earlier pages is still noticed.
    """

    shard: int
    resume_from: str | None = None
    written: int = 0
    size: int = 0
    expected: int | None = None
    recount: bool = False
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
        if min(cp.written, cp.size, cp.pages, cp.attempts) < 0:
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
