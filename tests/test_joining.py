"""The output joined part by part while a harvest runs: read back as it is joined, every line
decoded and every DOI counted across parts, and gone if the harvest does not publish it."""

from __future__ import annotations

import gzip
import json
import threading
from pathlib import Path

import httpx
import msgspec
import pytest

from crossref_async import Crossref, OutputError, RetryPolicy, VerificationError
from crossref_async._joining import Joined, Joiner, _Copy
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
    joined = joiner.add(7, b)
    assert joined.sha256 == inspect(b, compression=compression).sha256
    assert (joined.records, joined.invalid, joined.sound) == (25, 0, True)
    assert joiner.add(3, a).records == 50
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
    assert joiner.add(0, good).sound
    joined = joiner.add(1, cut)
    assert not joined.sound and joined.problem is not None
    contents = joiner.finish()
    assert contents.damaged is not None and not contents.sound

    plain = tmp_path / "c.jsonl"
    plain.write_bytes(b'{"DOI": "10.5555/1"}\n{"DOI": \n')
    joiner = Joiner(tmp_path / "w.jsonl.tmp", None)
    joiner.add(0, part(tmp_path, "d", None, records(5, 3)))
    joined = joiner.add(1, plain)
    assert (joined.records, joined.invalid, joined.sound) == (2, 1, False)
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
    assert not joiner.add(0, part(tmp_path, "a", None, records(0, 3))).sound
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


class _Counting(httpx.AsyncBaseTransport):
    """Counts the requests sent, for a thread to wait on."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.sent = 0
        self.changed = threading.Condition()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        with self.changed:
            self.sent += 1
            self.changed.notify_all()
        return await self.inner.handle_async_request(request)


async def test_parts_join_the_output_while_other_shards_are_harvested(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = FakeCrossref(works=900, seed=41, limits="fast-50")
    transport = _Counting(fake.transport())
    overlapped: list[bool] = []
    real_add = Joiner.add

    def add(self: Joiner, shard: int, path: Path) -> Joined:
        if not overlapped:
            # The first part waits (in its thread) until another request is sent: that
            # happens only if the cursors go on while parts are joined. (The timeout is a
            # hang guard, nothing here is timed.)
            with transport.changed:
                before = transport.sent
                overlapped.append(transport.changed.wait_for(lambda: transport.sent > before, 30))
        return real_add(self, shard, path)

    monkeypatch.setattr(Joiner, "add", add)
    out = tmp_path / "works.jsonl.gz"
    retry = RetryPolicy(attempts=4, backoff=0.005, max_backoff=0.02)
    async with Crossref(mailto=MAILTO, transport=transport, retry=retry) as cr:
        report = await harvest(cr, cr.works, out=out, rows=50, target=150, concurrency=1)
    assert report.verified and report.shards >= 4
    assert overlapped == [True]
    dois = [json.loads(line)["DOI"] for line in read_records(out)]
    assert len(dois) == len(set(dois)) == 900
    assert not (tmp_path / "works.jsonl.gz.tmp").exists()


async def test_a_harvest_that_fails_leaves_no_joined_output_behind(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = FakeCrossref(works=600, seed=42, limits="fast-50")
    real_append, real_add = PartFile.append, Joiner.add
    calls = [0]
    joined: list[int] = []

    def append(self: PartFile, page: list[msgspec.Raw]) -> int:
        calls[0] += 1
        if calls[0] == 9:  # after the first shards were done and joined
            raise OSError(28, "No space left on device")
        return real_append(self, page)

    def add(self: Joiner, shard: int, path: Path) -> Joined:
        joined.append(shard)
        return real_add(self, shard, path)

    monkeypatch.setattr(PartFile, "append", append)
    monkeypatch.setattr(Joiner, "add", add)
    out = tmp_path / "works.jsonl"
    async with client(fake) as cr:
        with pytest.raises(OutputError, match="No space left"):
            await harvest(cr, cr.works, out=out, rows=50, target=150, concurrency=1)
        assert joined  # a part had joined the output when the harvest failed
        assert not (tmp_path / "works.jsonl.tmp").exists() and not out.exists()
        monkeypatch.setattr(PartFile, "append", real_append)
        report = await harvest(cr, cr.works, out=out, rows=50, target=150, resume=True)
    # The resumed run joins the earlier run's done parts with its own.
    assert report.verified and report.records == 600
    dois = [json.loads(line)["DOI"] for line in read_records(out)]
    assert len(dois) == len(set(dois)) == 600


async def test_a_failed_write_to_the_output_is_an_output_error_naming_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = FakeCrossref(works=300, seed=44, limits="fast-50")
    real_init = _Copy.__init__

    class Full:
        def write(self, data: object) -> int:
            raise OSError(28, "No space left on device")

    def init(self: _Copy, part: object, whole: object, out: object) -> None:
        real_init(self, part, whole, Full())  # type: ignore[arg-type]

    monkeypatch.setattr(_Copy, "__init__", init)
    out = tmp_path / "works.jsonl"
    async with client(fake) as cr:
        with pytest.raises(OutputError, match=r"works\.jsonl\.tmp.*No space left") as info:
            await harvest(cr, cr.works, out=out, rows=50, target=150)
        assert "resume" in str(info.value)
        monkeypatch.setattr(_Copy, "__init__", real_init)
        report = await harvest(cr, cr.works, out=out, rows=50, target=150, resume=True)
    assert report.verified and report.records == 300
    assert not (tmp_path / "works.jsonl.tmp").exists()


async def test_a_part_that_changed_before_it_joined_stops_the_harvest_and_is_redone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = FakeCrossref(works=450, seed=45, limits="fast-50")
    real_add = Joiner.add

    def add(self: Joiner, shard: int, path: Path) -> Joined:
        with open(path, "ab") as fh:
            fh.write(b"not a record\n")  # between the shard's verification and its join
        return real_add(self, shard, path)

    monkeypatch.setattr(Joiner, "add", add)
    out = tmp_path / "works.jsonl"
    async with client(fake) as cr:
        with pytest.raises(VerificationError, match="read back, holds") as info:
            await harvest(cr, cr.works, out=out, rows=50, target=150, concurrency=1)
        assert info.value.invalid == 1 and "resume" in str(info.value)
        assert not out.exists()
        monkeypatch.setattr(Joiner, "add", real_add)
        report = await harvest(cr, cr.works, out=out, rows=50, target=150, resume=True)
    assert report.verified and report.records == 450 and report.pages >= 1  # walked again
    dois = [json.loads(line)["DOI"] for line in read_records(out)]
    assert len(dois) == len(set(dois)) == 450
