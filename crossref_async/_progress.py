"""The harvest's progress display for the command line, on tqdm.

On a terminal, a tqdm bar (records done of the total, elapsed and ETA, rate, then the pause
reason, shards and retries), one line cut to the terminal's width, redrawn at most every
0.2 s, with log lines written above it rather than through it. Anywhere else (a log file,
CI, a pipe), a plain line every few seconds and always one when every shard is done:

>>> import io
>>> from crossref_async.harvest import Progress
>>> log = io.StringIO()
>>> display = ProgressDisplay(log, enabled=True, retries=lambda: 2)
>>> display(Progress(records=12_000, total=50_000, pages=12, shards_done=3, shards=8,
...                  elapsed=10.0, paused="paused 12s: 429 Retry-After"))
>>> print(log.getvalue(), end="")
12,000/50,000 records  1,200/s  ETA 32s  shards 3/8  retries 2  [paused 12s: 429 Retry-After]

Nothing goes to stdout, which may carry the records (``--out -``).
"""

from __future__ import annotations

import collections
import contextlib
import logging
import os
import sys
import time
from collections.abc import Callable, Mapping, MutableMapping
from types import TracebackType
from typing import TYPE_CHECKING, Any, Protocol, TextIO

# tqdm ships no type information and its stubs (types-tqdm) are not on every package index
# this project installs from: pyproject.toml's mypy section takes it as untyped.
from tqdm import tqdm
from tqdm.contrib.logging import logging_redirect_tqdm

if TYPE_CHECKING:
    from ._governor import Pause, PoolStats
    from .harvest import Progress

__all__ = ["ProgressDisplay", "pause_of", "retries_of"]

#: The least time between two redraws: of the bar on a terminal, of a line in a log.
TTY_INTERVAL = 0.2
LOG_INTERVAL = 5.0
#: The rate (and so the ETA) is measured over the last this many seconds of pages, not
#: since the start: a harvest speeds up as the governor opens its window and stalls in a
#: 429 pause, and an average since the start answers for neither.
RATE_WINDOW = 30.0
#: Below this much history the window says little: the average since the start is shown.
MIN_RATE_SPAN = 2.0
#: What the bar says after the counts (tqdm fills ``{bar}`` to the terminal's width).
BAR_FORMAT = "{l_bar}{bar}| {records}/{of} records [{elapsed}<{remaining}, {speed}{postfix}]"
LOGGER = "crossref_async"
DEFAULT_SIZE = (80, 24)


class Governed(Protocol):
    """What the display asks a client's session (:attr:`Crossref.session`) or the client."""

    def paused(self) -> Pause | None:
        """Why and for how long requests are held back now, if they are."""

    def stats(self) -> Mapping[str, PoolStats]:
        """Per-pool traffic so far."""


def pause_of(session: Governed) -> Callable[[], str | None]:
    """A callable saying what the client is waiting for now, for :class:`ProgressDisplay`:
    ``"paused 12s: <reason>"`` (a 429 pause, an open circuit), or None while it sends freely.

    >>> print(pause_of(cr.session)())
    None
    """

    def pause() -> str | None:
        current = session.paused()
        if current is None:
            return None
        return f"paused {current.remaining:.0f}s: {current.reason}"

    return pause


def retries_of(session: Governed) -> Callable[[], int]:
    """A callable giving the client's retries so far (every pool's
    :attr:`~crossref_async.PoolStats.retries`: each request sent again after a failure, a
    429 included), for :class:`ProgressDisplay`.

    >>> retries_of(cr.session)()
    0
    """

    def retries() -> int:
        return sum(pool.retries for pool in session.stats().values())

    return retries


def human_seconds(seconds: float) -> str:
    """A duration for a log line, to the second below a minute.

    >>> human_seconds(32.4), human_seconds(725), human_seconds(12_300)
    ('32s', '12m05s', '3h25m')
    """
    whole = round(seconds)
    if whole < 60:
        return f"{whole}s"
    if whole < 3600:
        return f"{whole // 60}m{whole % 60:02d}s"
    return f"{whole // 3600}h{whole % 3600 // 60:02d}m"


class _Bar(tqdm):  # type: ignore[misc]  # tqdm is untyped
    """A tqdm bar showing the figures it is given rather than timing calls of its own:
    the harvest measures, the display's clock can be a test's. Overriding ``format_dict``
    is tqdm's documented way to add and change fields."""

    # No monitor thread: the harvest's ticker redraws, and a thread writing at its own
    # moments would be one more writer to the terminal.
    monitor_interval = 0

    def __init__(
        self, stream: TextIO, records: int, total: int, figures: dict[str, object], postfix: str
    ) -> None:
        self.figures = figures  # before tqdm's constructor: it draws the bar
        columns, lines = _screen(stream)
        super().__init__(
            file=stream,
            initial=records,
            total=total,
            postfix=postfix,
            bar_format=BAR_FORMAT,
            ncols=columns,
            nrows=lines,
            leave=True,
        )

    @property
    def format_dict(self) -> MutableMapping[str, Any]:
        """tqdm's fields, with the elapsed time and rate (so the ETA) of the harvest."""
        fields: MutableMapping[str, Any] = super().format_dict
        fields.update(self.figures)
        return fields


class ProgressDisplay:
    """The harvest's progress, on ``stream`` (the CLI gives stderr; never stdout).

    Pass it as ``harvest(..., on_progress=display)``, call :meth:`tick` every second while
    the harvest runs (so a stalled or paused harvest still shows its state) and
    :meth:`close` at the end, or use it as a context manager. On a terminal
    (``stream.isatty()``) a tqdm bar, redrawn at most every 0.2 s, with the ``crossref_async``
    log lines (and any that reach the same console handlers) written above the bar while it
    shows; otherwise a plain line at most every 5 s, at once when a pause begins or ends, and
    always when every shard is done. ``enabled=False`` shows nothing.

    ``pause`` is asked on every redraw what the client is waiting for (:func:`pause_of`),
    ``retries`` how many requests were sent again (:func:`retries_of`); ``clock`` (seconds)
    times the redraws and the rate.

    >>> import io
    >>> from crossref_async.harvest import Progress
    >>> now = [0.0]
    >>> log = io.StringIO()
    >>> with ProgressDisplay(log, enabled=True, clock=lambda: now[0]) as display:
    ...     display(Progress(1_000, total=4_000, pages=1, shards_done=0, shards=2, elapsed=1.0))
    ...     now[0] = 1.0
    ...     display(Progress(2_000, total=4_000, pages=2, shards_done=0, shards=2, elapsed=2.0))
    ...     now[0] = 4.0
    ...     display(Progress(4_000, total=4_000, pages=4, shards_done=2, shards=2, elapsed=5.0))
    >>> print(log.getvalue(), end="")
    1,000/4,000 records  1,000/s  ETA 3s  shards 0/2
    4,000/4,000 records  800/s  ETA 0s  shards 2/2
    """

    def __init__(
        self,
        stream: TextIO,
        enabled: bool,
        pause: Callable[[], str | None] | None = None,
        retries: Callable[[], int] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.stream = stream
        self.enabled = enabled
        self.tty = stream.isatty()
        self.pause = pause
        self.retries = retries
        self.clock = clock
        self._latest: Progress | None = None
        self._received = 0.0  # when the latest progress arrived, on ``clock``
        self._drawn: float | None = None  # when the last redraw was
        self._drawn_latest = True  # the last redraw showed the latest progress
        self._was_paused = False
        # (time, records) of the pages of the last RATE_WINDOW seconds, oldest first.
        self._samples: collections.deque[tuple[float, int]] = collections.deque()
        self._bar: _Bar | None = None
        self._restore = contextlib.ExitStack()
        self._closed = False

    def __enter__(self) -> ProgressDisplay:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def __call__(self, p: Progress) -> None:
        """Take the harvest's latest figures (after every page); redraw if it is time."""
        now = self.clock()
        self._latest, self._received = p, now
        self._drawn_latest = False
        self._samples.append((now, p.records))
        # Keep one sample older than the window, so the window spans all of it.
        while len(self._samples) > 2 and self._samples[1][0] <= now - RATE_WINDOW:
            self._samples.popleft()
        self._maybe_draw(now)

    def tick(self) -> None:
        """Redraw with the latest figures if it is time (called every second while the
        harvest runs: the elapsed time, the rate and a pause move on without pages)."""
        if self._latest is not None:
            self._maybe_draw(self.clock())

    def close(self) -> None:
        """End the display: the last figures shown, the bar's line ended, logging as it was.

        Safe to call more than once, and after an error.
        """
        if self._closed:
            return
        self._closed = True
        try:
            if self.enabled and self._latest is not None and not self._drawn_latest:
                self._draw(self._latest, self.clock())
            if self._bar is not None:
                self._bar.close()
        finally:
            self._restore.close()

    # -- inside -----------------------------------------------------------------------------

    def _maybe_draw(self, now: float) -> None:
        p = self._latest
        if not self.enabled or self._closed or p is None:
            return
        paused = self._paused(p)
        changed = (paused is not None) != self._was_paused
        self._was_paused = paused is not None
        interval = TTY_INTERVAL if self.tty else LOG_INTERVAL
        due = self._drawn is None or now - self._drawn >= interval
        if due or changed or (p.shards_done >= p.shards and not self._drawn_latest):
            self._draw(p, now, paused)

    def _paused(self, p: Progress) -> str | None:
        return p.paused or (self.pause() if self.pause is not None else None)

    def _figures(self, p: Progress, now: float) -> tuple[float, float, float | None]:
        """Elapsed seconds, records per second and seconds left, as of ``now``."""
        elapsed = p.elapsed + max(0.0, now - self._received)
        if p.shards_done >= p.shards:
            # The whole run's average (to its last page: the report's records/s also counts
            # the joining and reading back that follow).
            rate = p.records / p.elapsed if p.elapsed > 0 else 0.0
            return p.elapsed, rate, 0.0
        since, before = self._samples[0]
        if now - since >= MIN_RATE_SPAN:
            rate = (p.records - before) / (now - since)
        else:
            rate = p.records / elapsed if elapsed > 0 else 0.0
        left = p.total - p.records
        eta = left / rate if rate > 0 and left >= 0 else None
        return elapsed, rate, eta

    def _draw(self, p: Progress, now: float, paused: str | None = None) -> None:
        paused = paused if paused is not None else self._paused(p)
        self._drawn, self._drawn_latest = now, True
        elapsed, rate, eta = self._figures(p, now)
        details = [f"shards {p.shards_done}/{p.shards}"]
        if self.retries is not None:
            details.append(f"retries {self.retries():,}")
        if self.tty:
            self._draw_bar(p, elapsed, rate, details, paused)
            return
        when = human_seconds(eta) if eta is not None else "?"
        line = f"{p.records:,}/{p.total:,} records  {rate:,.0f}/s  ETA {when}  "
        line += "  ".join(details)
        if paused:
            line += f"  [{paused}]"
        self.stream.write(line + "\n")
        self.stream.flush()

    def _draw_bar(
        self, p: Progress, elapsed: float, rate: float, details: list[str], paused: str | None
    ) -> None:
        figures: dict[str, object] = {
            "records": f"{p.records:,}",
            "of": f"{p.total:,}",
            "elapsed": elapsed,
            # tqdm's ETA (``remaining``) is (total - n) / rate: "?" while the rate is 0.
            "rate": rate,
            "speed": f"{rate:,.0f}/s",
        }
        # The pause first: a line wider than the terminal is cut at its end.
        postfix = ", ".join(([paused] if paused else []) + details)
        bar = self._bar
        if bar is None:
            self._bar = _Bar(self.stream, p.records, p.total, figures, postfix)
            self._restore.enter_context(logging_redirect_tqdm(_console_loggers(), _Bar))
            return
        bar.n, bar.total, bar.figures = p.records, p.total, figures
        bar.ncols, bar.nrows = _screen(self.stream)  # the terminal may have been resized
        bar.set_postfix_str(postfix, refresh=False)
        bar.refresh()


def _screen(stream: TextIO) -> tuple[int, int]:
    """The terminal's columns and lines, each else ``$COLUMNS``/``$LINES``, else 80x24: a
    pseudo-terminal nobody sized (as some CI runners give) says 0x0, and tqdm would then
    trim the bar to nothing and take it for hidden below the screen."""
    columns = lines = 0
    with contextlib.suppress(OSError, ValueError, AttributeError):
        columns, lines = os.get_terminal_size(stream.fileno())

    def pick(told: int, variable: str, default: int) -> int:
        env = os.environ.get(variable, "")
        return told if told > 0 else int(env) if env.isdigit() and int(env) > 0 else default

    return pick(columns, "COLUMNS", DEFAULT_SIZE[0]), pick(lines, "LINES", DEFAULT_SIZE[1])


def _is_console(handler: logging.Handler) -> bool:
    # The handlers tqdm's redirect replaces (and the only ones that would tear the bar).
    return isinstance(handler, logging.StreamHandler) and handler.stream in (
        sys.stdout,
        sys.stderr,
    )


def _console_loggers() -> list[logging.Logger]:
    """The loggers whose console handlers a ``crossref_async`` record reaches: that logger
    and its ancestors up to the first that does not propagate (the CLI's ``basicConfig``
    handler is the root's). With no handler on the way, Python's last-resort handler would
    print to stderr: the ``crossref_async`` logger itself is redirected then."""
    found: list[logging.Logger] = []
    handlers = 0
    current: logging.Logger | None = logging.getLogger(LOGGER)
    while current is not None:
        handlers += len(current.handlers)
        if any(_is_console(h) for h in current.handlers):
            found.append(current)
        if not current.propagate:
            break
        current = current.parent
    if handlers == 0:
        found.append(logging.getLogger(LOGGER))
    return found
