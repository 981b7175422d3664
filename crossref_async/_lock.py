"""One writer per output: an exclusive lock that dies with the process holding it.

A harvest locks ``<output>.lock`` (and ``<state file>.lock``) before it reads or writes
anything, and holds the lock until it is done. The lock is the operating system's
(``flock`` on POSIX, ``msvcrt.locking`` on Windows), so a process killed with ``kill -9``
releases it at once and never blocks its own resume; a pid file alone could not promise that.
The holder writes its pid, host and start time into the file, so that a refused second run
can say who holds it and since when.

The lock file is removed by its holder on release. A process that opened the file just
before it was removed would lock an orphaned inode, so after locking, the path is checked to
still name the locked file, and the lock is taken again otherwise.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import socket
import sys
from pathlib import Path
from types import TracebackType

from ._errors import OutputError, OutputLockedError

__all__ = ["OutputLock", "lock_path"]


def lock_path(path: Path) -> Path:
    """The lock file for ``path``: ``works.jsonl`` -> ``works.jsonl.lock``."""
    return path.with_name(path.name + ".lock")


if sys.platform == "win32":  # pragma: no cover - exercised on Windows only
    import msvcrt

    def _try_lock(fd: int) -> bool:
        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True

    def _unlock(fd: int) -> None:
        os.lseek(fd, 0, os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)

else:
    import fcntl

    def _try_lock(fd: int) -> bool:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True

    def _unlock(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_UN)


class OutputLock:
    """An exclusive, non-blocking lock on one file the harvest writes (its output or state).

    ``what`` names the locked thing in messages ("output", "state file"). Acquiring raises
    :class:`OutputLockedError` at once if another process (or another harvest in this one)
    holds it. Use it as a context manager.
    """

    def __init__(self, path: Path, what: str = "output") -> None:
        self.target = path
        self.path = lock_path(path)
        self.what = what
        self._fd: int | None = None

    def acquire(self) -> None:
        """Take the lock, or raise :class:`OutputLockedError` naming the holder."""
        if self._fd is not None:
            raise RuntimeError("lock already held")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise OutputError(
                f"cannot create the folder of {self.target}: {exc.strerror or exc}",
                path=str(self.target),
            ) from exc
        for _ in range(100):
            try:
                fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            except OSError as exc:
                raise OutputError(
                    f"cannot write next to {self.target} (lock file {self.path}): "
                    f"{exc.strerror or exc}",
                    path=str(self.target),
                ) from exc
            if not _try_lock(fd):
                os.close(fd)
                raise self._refusal()
            if self._same_file(fd):
                self._fd = fd
                self._record_holder(fd)
                return
            # The holder removed the file between our open and our lock: try again.
            _unlock(fd)
            os.close(fd)
        raise OutputError(f"could not lock {self.path}: it keeps changing", path=str(self.target))

    def release(self) -> None:
        """Remove the lock file and let go of the lock (idempotent)."""
        fd, self._fd = self._fd, None
        if fd is None:
            return
        try:
            # Removed while still locked, so that no one locks a file about to vanish.
            self.path.unlink(missing_ok=True)
        finally:
            _unlock(fd)
            os.close(fd)

    def __enter__(self) -> OutputLock:
        self.acquire()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()

    def _same_file(self, fd: int) -> bool:
        try:
            on_disk = os.stat(self.path)
        except FileNotFoundError:
            return False
        mine = os.fstat(fd)
        return (on_disk.st_dev, on_disk.st_ino) == (mine.st_dev, mine.st_ino)

    @staticmethod
    def _record_holder(fd: int) -> None:
        holder = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "since": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        }
        os.ftruncate(fd, 0)
        os.lseek(fd, 0, os.SEEK_SET)
        os.write(fd, json.dumps(holder).encode())
        os.fsync(fd)

    def _refusal(self) -> OutputLockedError:
        pid: int | None = None
        since: str | None = None
        host = ""
        try:
            holder = json.loads(self.path.read_text())
            pid = int(holder["pid"])
            since = str(holder["since"])
            host = str(holder.get("host") or "")
        except (OSError, ValueError, KeyError, TypeError):
            pass  # the holder may not have written its name yet
        who = f"process {pid}" if pid is not None else "another process"
        if host and host != socket.gethostname():
            who += f" on {host}"
        when = f" since {since}" if since else ""
        return OutputLockedError(
            f"another harvest is writing the {self.what} {self.target} ({who}{when}); this run "
            "is refused so "
            f"that the two do not mix. Wait for it to finish, or stop it first (its lock is "
            f"{self.path}; the lock goes away with its process)",
            path=str(self.target),
            pid=pid,
            since=since,
        )
