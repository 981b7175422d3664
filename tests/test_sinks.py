"""Part files and their compression: every page one self-contained gzip member or zstd frame
at the chosen levels, written in pieces, that concatenates with the others and can be cut off."""

from __future__ import annotations

import gzip
import zlib
from pathlib import Path

import msgspec
import pytest

from crossref_async._sinks import (
    GZIP_LEVEL,
    ZSTD_LEVEL,
    Compression,
    PartFile,
    compress,
    encode_lines,
    read_records,
)

zstandard = pytest.importorskip("zstandard")


def _page(first: int, count: int, pad: int = 5000) -> list[msgspec.Raw]:
    # About 5 kB a record, as Crossref's are: 300 of them are more than one piece (1 MB).
    return [
        msgspec.Raw(msgspec.json.encode({"DOI": f"10.5555/{i}", "pad": "x" * (pad + i % 7)}))
        for i in range(first, first + count)
    ]


def _expected(records: list[msgspec.Raw]) -> bytes:
    return b"".join(bytes(r) + b"\n" for r in records)


def _one_member(data: bytes, compression: Compression) -> bytes:
    """The contents of ``data``, which must be exactly one gzip member or zstd frame."""
    unpacker = (
        zlib.decompressobj(31)
        if compression == "gzip"
        else zstandard.ZstdDecompressor().decompressobj()
    )
    out: bytes = unpacker.decompress(data)
    assert unpacker.eof
    assert unpacker.unused_data == b""
    return out


def test_levels_are_the_fast_ones() -> None:
    # The levels the harvest's throughput was measured with (benchmarks/ceiling.py); a change
    # of level is a change of the ceiling, to be measured again.
    assert (GZIP_LEVEL, ZSTD_LEVEL) == (3, 3)


def test_encode_lines_is_jsonl_whatever_the_pieces() -> None:
    records = _page(0, 450)  # about 2.25 MB: three pieces
    assert encode_lines(records) == _expected(records)
    assert encode_lines(records[:1]) == _expected(records[:1])
    assert encode_lines([]) == b""


@pytest.mark.parametrize("compression", ["gzip", "zstd"])
def test_compress_round_trips_at_the_chosen_level(compression: Compression) -> None:
    data = encode_lines(_page(0, 450))
    packed = compress(data, compression)
    assert _one_member(packed, compression) == data
    assert len(packed) < len(data) / 3
    if compression == "gzip":
        # What zlib makes at GZIP_LEVEL, byte for byte: the level is the one in force.
        packer = zlib.compressobj(GZIP_LEVEL, zlib.DEFLATED, 31)
        assert packed == packer.compress(data) + packer.flush()
        assert gzip.decompress(packed) == data
    else:
        assert zstandard.get_frame_parameters(packed).content_size == len(data)
        assert zstandard.ZstdDecompressor().decompress(packed) == data


@pytest.mark.parametrize("compression", ["gzip", "zstd"])
def test_members_concatenate(compression: Compression) -> None:
    first, second = encode_lines(_page(0, 3)), encode_lines(_page(3, 2))
    joined = (
        compress(first, compression) + compress(second, compression) + compress(b"", compression)
    )
    if compression == "gzip":
        assert gzip.decompress(joined) == first + second
    else:
        reader = zstandard.ZstdDecompressor().stream_reader(joined, read_across_frames=True)
        assert reader.read() == first + second


@pytest.mark.parametrize("compression", [None, "gzip", "zstd"])
def test_each_page_is_a_unit_that_can_be_cut_off(tmp_path: Path, compression: Compression) -> None:
    suffix = {None: "", "gzip": ".gz", "zstd": ".zst"}[compression]
    part = PartFile(tmp_path / f"part.jsonl{suffix}", compression)
    part.truncate(0)
    one, two, three = _page(0, 450), _page(450, 2), _page(452, 300)
    after_one = part.append(one)
    after_two = part.append(two)
    after_three = part.append(three)
    assert part.append([]) == after_three == part.size
    data = part.path.read_bytes()
    pages = [data[:after_one], data[after_one:after_two], data[after_two:]]
    for stored, records in zip(pages, (one, two, three), strict=True):
        if compression is None:
            assert stored == _expected(records)
        else:
            assert _one_member(stored, compression) == _expected(records)
    assert list(read_records(part.path)) == [bytes(r) for r in one + two + three]
    # A crash after the second page's checkpoint: the part is cut back there, and is whole.
    part.truncate(after_two)
    assert list(read_records(part.path)) == [bytes(r) for r in one + two]
    assert part.append(three) == after_three
    assert part.path.read_bytes() == data
