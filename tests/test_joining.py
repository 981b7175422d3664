"""The output joined part by part while a harvest runs: read back as it is joined, every line
decoded and every DOI counted across parts, and gone if the harvest does not publish it."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import msgspec
import pytest

from crossref_async import Crossref, OutputError, RetryPolicy
from crossref_async._joining import Joiner, _Copy
from crossref_async._output import inspect
from crossref_async._sinks import Compression, PartFile, read_records
from crossref_async.harvest import harvest
from crossref_async.testing import FakeCrossref

MAILTO = "tests@example.org"
SUFFIX = {None: ".jsonl", "gzip": ".jsonl.gz", "zstd": ".jsonl.zst"}


def records(first: int, n: int) -> list[msgspec.Raw]:
    return [
        msgspec.Raw(json.dumps({"DOI": f"10.5555/{i}", "title": ["t"]}).encode())
        for i in range(first, first + n)
    ]


def part(tmp_path: Path, name: str, compression: Compression, *pages: list[msgspec.Raw]) -> Path:
    p = PartFile(tmp_path / f"{name}{SUFFIX[compression]}", compression)
    p.truncate(0)
    for page in pages:
        p.append(page)
    return p.path


@pytest.mark.parametrize("compression", [None, "gzip", "zstd"])
def test_the_joined_output_is_its_parts_read_back_and_counted(
    tmp_path: Path, compression: Compression
) -> None:
    a = part(tmp_path, "a", compression, records(0, 30), records(30, 20))
    b = part(tmp_path, "b", compression, records(50, 25))
    tmp = tmp_path / f"works{SUFFIX[compression]}.tmp"
    joiner = Joiner(tmp, compression, memory=10)  # the DOIs spill to disk
    assert joiner.add(7, b) == inspect(b, compression=compression).sha256
    joiner.add(3, a)
    contents = joiner.finish()
    assert tmp.read_bytes() == b.read_bytes() + a.read_bytes()  # in the order they were added
    assert (contents.records, contents.unique, contents.invalid, contents.sound) == (
        75,
        75,
        0,
        True,
    )
    assert contents == inspect(tmp, compression=compression)  # what a read-back would say
    assert joiner.shards == {3, 7} and 3 in joiner and 4 not in joiner


def test_a_doi_in_two_parts_is_a_repeat(tmp_path: Path) -> None:
    joiner = Joiner(tmp_path / "w.jsonl.tmp", None)
    joiner.add(0, part(tmp_path, "a", None, records(0, 10)))
    joiner.add(1, part(tmp_path, "b", None, records(9, 5)))
    contents = joiner.finish()
    assert (contents.records, contents.unique, contents.sound) == (15, 14, False)
    assert contents.duplicates == ("10.5555/9",)


def test_a_damaged_part_and_a_bad_line_are_noticed_with_their_line(tmp_path: Path) -> None:
    good = part(tmp_path, "a", "gzip", records(0, 10))
    cut = part(tmp_path, "b", "gzip", records(10, 400))
    cut.write_bytes(cut.read_bytes()[:-20])  # a cut-off gzip member
    joiner = Joiner(tmp_path / "w.jsonl.gz.tmp", "gzip")
    joiner.add(0, good)
    joiner.add(1, cut)
    contents = joiner.finish()
    assert contents.damaged is not None and not contents.sound

    plain = tmp_path / "c.jsonl"
    plain.write_bytes(b'{"DOI": "10.5555/1"}\n{"DOI": \n')
    joiner = Joiner(tmp_path / "w.jsonl.tmp", None)
    joiner.add(0, part(tmp_path, "d", None, records(5, 3)))
    joiner.add(1, plain)
    contents = joiner.finish()
    assert (contents.records, contents.invalid, contents.invalid_lines) == (5, 1, (5,))


def test_bytes_that_read_back_differently_are_damage(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = _Copy.update

    def flip_on_the_way_out(self: _Copy, data: bytes | memoryview) -> None:
        # The hashes see the part's bytes; the disk gets others (a write that went wrong).
        self._part.update(data)
        self._whole.update(data)
        self._out.write(bytes(data).replace(b"5555", b"5556"))

    monkeypatch.setattr(_Copy, "update", flip_on_the_way_out)
    joiner = Joiner(tmp_path / "w.jsonl.tmp", None)
    joiner.add(0, part(tmp_path, "a", None, records(0, 3)))
    contents = joiner.finish()
    assert contents.damaged is not None and "read back" in contents.damaged
    monkeypatch.setattr(_Copy, "update", real)


def test_discarding_removes_the_file(tmp_path: Path) -> None:
    tmp = tmp_path / "w.jsonl.tmp"
    joiner = Joiner(tmp, None)
    joiner.add(0, part(tmp_path, "a", None, records(0, 3)))
    assert tmp.exists()
    joiner.discard()
    joiner.discard()
    assert not tmp.exists()


def test_an_empty_compressed_output_is_still_a_valid_file(tmp_path: Path) -> None:
    joiner = Joiner(tmp_path / "w.jsonl.gz.tmp", "gzip")
    contents = joiner.finish()
    assert gzip.decompress((tmp_path / "w.jsonl.gz.tmp").read_bytes()) == b""
    assert (contents.records, contents.sound) == (0, True)


# -- in a harvest -------------------------------------------------------------------------------


def client(fake: FakeCrossref) -> Crossref:
    retry = RetryPolicy(attempts=4, backoff=0.005, max_backoff=0.02)
    return Crossref(mailto=MAILTO, transport=fake.transport(), retry=retry)


async def test_parts_join_the_output_while_other_shards_are_harvested(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = FakeCrossref(works=900, seed=41, limits="fast-50")
    requests_at_join: list[int] = []
    real_add = Joiner.add

    def add(self: Joiner, shard: int, path: Path) -> str:
        requests_at_join.append(fake.stats.total_requests)
        return real_add(self, shard, path)

    monkeypatch.setattr(Joiner, "add", add)
    out = tmp_path / "works.jsonl.gz"
    async with client(fake) as cr:
        report = await harvest(cr, cr.works, out=out, rows=50, target=150, concurrency=1)
    assert report.verified and report.shards >= 4
    assert len(requests_at_join) == report.shards
    # The first shards' parts joined while later shards still had pages to fetch.
    assert requests_at_join[0] < fake.stats.total_requests
    dois = [json.loads(line)["DOI"] for line in read_records(out)]
    assert len(dois) == len(set(dois)) == 900
    assert not (tmp_path / "works.jsonl.gz.tmp").exists()


async def test_a_harvest_that_fails_leaves_no_joined_output_behind(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = FakeCrossref(works=600, seed=42, limits="fast-50")
    real_append = PartFile.append
    calls = [0]

    def append(self: PartFile, page: list[msgspec.Raw]) -> int:
        calls[0] += 1
        if calls[0] == 9:  # after the first shards were done and joined
            raise OSError(28, "No space left on device")
        return real_append(self, page)

    monkeypatch.setattr(PartFile, "append", append)
    out = tmp_path / "works.jsonl"
    async with client(fake) as cr:
        with pytest.raises(OutputError, match="No space left"):
            await harvest(cr, cr.works, out=out, rows=50, target=150, concurrency=1)
        assert not (tmp_path / "works.jsonl.tmp").exists() and not out.exists()
        monkeypatch.setattr(PartFile, "append", real_append)
        report = await harvest(cr, cr.works, out=out, rows=50, target=150, resume=True)
    # The resumed run joins the earlier run's done parts with its own.
    assert report.verified and report.records == 600
    dois = [json.loads(line)["DOI"] for line in read_records(out)]
    assert len(dois) == len(set(dois)) == 600
