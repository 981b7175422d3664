"""Where a harvest keeps its files, and how its output is published and guarded.

A harvest into ``works.jsonl.gz`` keeps, until it is done, a state folder
``works.jsonl.gz.harvest/`` (the plan, ``run.json`` with the endpoint, one part and one
checkpoint per shard), a lock ``works.jsonl.gz.lock``, and when done a manifest
``works.jsonl.gz.manifest.json``. :class:`Layout` names them all.

Publishing joins the done parts (each checked against the SHA-256 its checkpoint recorded)
into a temporary file, merging in the earlier output for an incremental update, syncs it,
reads it back from disk, and only if it holds exactly what was expected renames it over the
output; parts joined while the harvest ran (:mod:`crossref_async._joining`) were read back
as they were joined. The rules for an output that already exists live here too: whose
manifest it has, and what a run may do with it.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import msgspec

from ._errors import HarvestStateError, OutputError, VerificationError
from ._joining import Joiner
from ._output import Contents, Manifest, dois_in, fsync_dir, inspect, manifest_path, now_iso
from ._shards import Plan, Shard, canonical_params, without_index_date
from ._sinks import Checkpoint, Compression, PartFile, compress, encode_lines, read_records

__all__ = ["Layout", "Published", "finished_contents", "publish"]

logger = logging.getLogger("crossref_async")

_SUFFIXES = {"gzip": ".jsonl.gz", "zstd": ".jsonl.zst", None: ".jsonl"}


def output_error(exc: OSError, path: Path, what: str) -> OutputError:
    """An :class:`OutputError` for a failed write, with what to do about it."""
    reason = exc.strerror or str(exc)
    return OutputError(
        f"cannot write {what} ({path}): {reason}. Everything checkpointed so far is kept: "
        "fix that, then run the harvest again with resume",
        path=str(path),
    )


@dataclass(frozen=True)
class Layout:
    """The files of a harvest into ``out``."""

    out: Path
    compression: Compression

    @property
    def state_dir(self) -> Path:
        """``<out>.harvest``: plan, checkpoints and parts while the harvest runs."""
        return Path(str(self.out) + ".harvest")

    @property
    def plan_file(self) -> Path:
        return self.state_dir / "plan.json"

    @property
    def run_file(self) -> Path:
        return self.state_dir / "run.json"

    def part(self, shard: Shard) -> PartFile:
        """The part file of one shard."""
        name = f"{shard.name}{_SUFFIXES[self.compression]}"
        return PartFile(self.state_dir / name, self.compression)

    @property
    def tmp(self) -> Path:
        """Where the output is joined before it replaces ``out``."""
        return self.out.with_name(self.out.name + ".tmp")

    def merges(self, update: bool) -> bool:
        """Whether publishing merges into an earlier output (an update of one that exists)."""
        return update and self.out.exists()

    def checkpoint_path(self, shard: Shard) -> Path:
        return self.state_dir / f"{shard.name}.json"

    def checkpoint(self, shard: Shard) -> Checkpoint:
        """The shard's saved checkpoint (a fresh one if none); a bad one is an error."""
        path = self.checkpoint_path(shard)
        try:
            return Checkpoint.load(path, shard.id)
        except ValueError as exc:
            raise HarvestStateError(
                f"{path} is not a checkpoint this version wrote ({exc}); delete the "
                "harvest's state folder to start over"
            ) from exc

    def save(self, cp: Checkpoint, shard: Shard) -> None:
        """Save a checkpoint; a failed write is an :class:`OutputError`."""
        path = self.checkpoint_path(shard)
        try:
            cp.save(path)
        except OSError as exc:
            raise output_error(exc, path, "a checkpoint") from exc


@dataclass(frozen=True)
class Published:
    """What publishing wrote: the output's contents (None if not published yet), for an
    update how many records of the earlier output were kept and replaced, and whether every
    shard of the plan is in it."""

    contents: Contents | None
    kept: int = 0
    replaced: int = 0
    complete: bool = False


def publish(
    layout: Layout,
    the_plan: Plan,
    *,
    endpoint: str,
    update: bool,
    keep_parts: bool,
    joined: Joiner | None = None,
) -> Published:
    """Join the parts of every done shard into the output, read it back, and publish it.

    Shards of the plan that are not done yet (another job's ``--shard``, or a run that
    stopped) keep their state, and the state folder stays until every shard is done. An
    ``update`` (an incremental run into an existing output) replaces the output only once
    every shard is done. ``joined`` holds the parts already joined while the harvest ran
    (:mod:`crossref_async._joining`): the other done shards' parts are added to it.
    """
    out = layout.out
    done = [s for s in the_plan.shards if layout.checkpoint(s).done]
    complete = len(done) == len(the_plan.shards)
    merging = layout.merges(update)
    if joined is not None and (merging or not joined.shards <= {s.id for s in done}):
        joined.discard()  # not this output's parts alone: joined again from the start
        joined = None
    if merging and not complete:
        # An update replaces the earlier output only once, whole: until every shard is done,
        # the earlier output stays as it was and the new records wait in the parts.
        logger.info(
            "%d of %d shards done; %s is updated once all are", len(done), len(the_plan.shards), out
        )
        return Published(None, complete=False)
    tmp = layout.tmp
    try:
        if joined is not None:
            kept = replaced = 0
            expected = _join_rest(layout, done, joined)
            contents = joined.finish()
        else:
            kept, replaced, expected = _join(layout, done, tmp, merging)
            contents = inspect(tmp, compression=layout.compression)
    except OSError as exc:
        _drop(tmp, joined)
        raise output_error(exc, tmp, "the output") from exc
    except BaseException:
        _drop(tmp, joined)
        raise
    if not contents.sound or contents.records != expected:
        _drop(tmp, joined)
        raise _mismatch(
            f"the joined output, read back from disk, holds {contents.describe()}; "
            f"{expected:,} records were expected. {out} was not replaced, and the shard "
            f"parts are kept in {layout.state_dir}",
            out,
            contents,
            expected,
        )
    try:
        os.replace(tmp, out)
        fsync_dir(out.parent)
        if complete:
            _write_manifest(layout, the_plan, contents, endpoint, update, replaced, expected - kept)
    except OSError as exc:
        raise output_error(exc, out, "the output") from exc
    if complete and not keep_parts:
        shutil.rmtree(layout.state_dir, ignore_errors=True)
    return Published(contents, kept, replaced, complete)


def _mismatch(
    message: str, path: Path, contents: Contents | None, expected: int
) -> VerificationError:
    return VerificationError(
        message,
        path=str(path),
        records=contents.records if contents else 0,
        unique=contents.unique if contents else 0,
        invalid=contents.invalid if contents else 0,
        expected=expected,
    )


def part_keys(part: PartFile) -> set[str]:
    """The DOI keys in a part."""
    return set(dois_in(read_records(part.path))) if part.size else set()


def _drop(tmp: Path, joined: Joiner | None) -> None:
    if joined is not None:
        joined.discard()
    tmp.unlink(missing_ok=True)


def _join_rest(layout: Layout, done: list[Shard], joined: Joiner) -> int:
    """Add the done shards' parts not joined yet to ``joined``, and check that every part
    is what its shard verified; returns the records expected in all."""
    expected = 0
    for shard in done:
        part, cp = layout.part(shard), layout.checkpoint(shard)
        expected += cp.written
        if shard.id not in joined:
            _check_present(layout, shard, part, cp)
            joined.add(shard.id, part.path)
        _check_unchanged(layout, shard, part, cp, joined.digest(shard.id))
    return expected


def _check_present(layout: Layout, shard: Shard, part: PartFile, cp: Checkpoint) -> None:
    if cp.written and not part.path.exists():
        raise _mismatch(
            f"the part of shard {shard.label} is missing ({part.path})",
            layout.out,
            None,
            cp.written,
        )


def _check_unchanged(
    layout: Layout, shard: Shard, part: PartFile, cp: Checkpoint, sha256: str
) -> None:
    if cp.sha256 is not None and sha256 != cp.sha256:
        raise _mismatch(
            f"the part of shard {shard.label} ({part.path}) changed after it was "
            "verified; run the harvest again with resume to redo that shard",
            layout.out,
            None,
            cp.written,
        )


def _join(layout: Layout, done: list[Shard], tmp: Path, merging: bool) -> tuple[int, int, int]:
    """Write the output to ``tmp``: the earlier output's records not seen again (when
    merging), then every done part, each checked against its checkpoint's SHA-256.
    Returns (records kept from before, records replaced, records expected in all)."""
    kept = replaced = expected = 0
    with open(tmp, "wb") as dst:
        if merging:
            fresh = {key for shard in done for key in part_keys(layout.part(shard))}
            kept, replaced = _carry_over(layout, fresh, dst)
            expected = kept
        for shard in done:
            part, cp = layout.part(shard), layout.checkpoint(shard)
            expected += cp.written
            _check_present(layout, shard, part, cp)
            if not part.path.exists():
                continue
            digest = hashlib.sha256()
            with open(part.path, "rb") as src:
                while chunk := src.read(1 << 20):
                    digest.update(chunk)
                    dst.write(chunk)
            _check_unchanged(layout, shard, part, cp, digest.hexdigest())
        if layout.compression and dst.tell() == 0:
            # Nothing matched: still a valid (empty) compressed file, which gzip -t accepts.
            dst.write(compress(b"", layout.compression))
        dst.flush()
        os.fsync(dst.fileno())
    return kept, replaced, expected


def _carry_over(layout: Layout, fresh: set[str], dst: BinaryIO) -> tuple[int, int]:
    """Copy the earlier output's records that this run did not fetch again, after making
    sure the earlier output is still what its manifest says."""
    old = layout.out
    manifest = Manifest.load(manifest_path(old))
    digest = hashlib.sha256()
    kept = replaced = 0
    batch: list[msgspec.Raw] = []
    for line in read_records(old, digest=digest):
        if next(dois_in([line]), None) in fresh:
            replaced += 1
            continue
        kept += 1
        batch.append(msgspec.Raw(line))
        if len(batch) >= 1000:
            dst.write(compress(encode_lines(batch), layout.compression))
            batch = []
    if batch:
        dst.write(compress(encode_lines(batch), layout.compression))
    if manifest is None or digest.hexdigest() != manifest.sha256:
        raise _mismatch(
            f"{old} is not what its harvest wrote (its SHA-256 differs from the manifest's), "
            f"so it is not updated; the new records are kept in {layout.state_dir}. Replace "
            "it with overwrite=True (--overwrite)",
            old,
            None,
            manifest.records if manifest else 0,
        )
    return kept, replaced


def since_of(params: Sequence[tuple[str, str]]) -> str | None:
    """The ``from-index-date`` of an incremental query, if it has one."""
    for name, value in params:
        if name == "filter":
            for item in value.split(","):
                key, _, day = item.partition(":")
                if key == "from-index-date":
                    return day
    return None


def _write_manifest(
    layout: Layout,
    the_plan: Plan,
    contents: Contents,
    endpoint: str,
    update: bool,
    replaced: int,
    new: int,
) -> None:
    path = manifest_path(layout.out)
    earlier = Manifest.load(path) if update else None
    since = since_of(the_plan.params)
    history = list(earlier.history) if earlier else []
    history.append({"finished": now_iso(), "since": since, "records": new, "replaced": replaced})
    Manifest(
        endpoint=endpoint,
        path=the_plan.path,
        query=canonical_params(without_index_date(the_plan.params)),
        records=contents.records,
        bytes=contents.bytes,
        sha256=contents.sha256,
        finished=now_iso(),
        since=since,
        history=tuple(history[-100:]),
    ).save(path)


# -- an output that already exists ------------------------------------------------------------


def manifest_for(
    out: Path, endpoint: str, path: str, params: Sequence[tuple[str, str]], *, purpose: str
) -> Manifest:
    """The manifest of an existing output, checked to belong to this query and endpoint."""
    manifest = Manifest.load(manifest_path(out))
    if manifest is None:
        raise HarvestStateError(
            f"{out} exists but has no manifest ({manifest_path(out).name}), so it is not "
            f"known to be a finished harvest of this query; to {purpose} it, it must be. "
            "Move it away, or pass overwrite=True (--overwrite) to replace it"
        )
    query = canonical_params(without_index_date(params))
    if (manifest.path, manifest.query) != (path, query):
        raise HarvestStateError(
            f"{out} holds a harvest of another query ({manifest.path} {_show(manifest.query)}); "
            f"this run is for {path} {_show(query)}. Use another output, or pass "
            "overwrite=True (--overwrite) to replace it"
        )
    if manifest.endpoint != endpoint:
        raise HarvestStateError(
            f"{out} was harvested from {manifest.endpoint}; this run talks to {endpoint}. "
            "Use another output, or pass overwrite=True (--overwrite)"
        )
    return manifest


def _show(query: Sequence[tuple[str, str]]) -> str:
    return "&".join(f"{k}={v}" for k, v in query) or "(everything)"


def exists_message(out: Path, endpoint: str, path: str, params: Sequence[tuple[str, str]]) -> str:
    """Why an existing output is refused, and what to do instead."""
    try:
        manifest = manifest_for(out, endpoint, path, params, purpose="resume")
        what = (
            f" (a finished harvest of this query: {manifest.records:,} records, finished "
            f"{manifest.finished})"
        )
    except HarvestStateError:
        what = ""
    return (
        f"{out} already exists{what} and is not replaced without being asked. To verify it, "
        "run again with resume (--resume); to add the records indexed since, run "
        "incrementally (since=/state_file=, --since/--state); to replace it, pass "
        "overwrite=True (--overwrite)"
    )


def finished_contents(
    out: Path, endpoint: str, path: str, params: Sequence[tuple[str, str]]
) -> Contents:
    """Verify a finished output against its manifest (read back whole; nothing is sent)."""
    manifest = manifest_for(out, endpoint, path, params, purpose="resume")
    contents = inspect(out)
    if contents.sha256 != manifest.sha256 or not contents.sound:
        raise _mismatch(
            f"{out} no longer holds what its harvest wrote ({contents.describe()}; the "
            f"manifest says {manifest.records:,} records, SHA-256 {manifest.sha256[:12]}...). "
            "Replace it with overwrite=True (--overwrite)",
            out,
            contents,
            manifest.records,
        )
    logger.warning(
        "%s is already complete (%s, finished %s); nothing to do",
        out,
        contents.describe(),
        manifest.finished,
    )
    return contents
