"""The harvest's progress display (crossref_async._progress): what it shows, when it redraws,
where it writes, and that log lines do not tear its bar. Time is a fake clock throughout."""

from __future__ import annotations

import contextlib
import io
import logging
import os
import re
import sys
from pathlib import Path

import pytest

from crossref_async import Breaker, Crossref, CrossrefError, Pacing, RetryPolicy
from crossref_async._progress import ProgressDisplay, pause_of, retries_of
from crossref_async.harvest import Progress, harvest, plan
from crossref_async.testing import FakeCrossref, Faults

MAILTO = "tests@example.org"
PAUSE = "paused 12s: 429 Too Many Requests from pool polite-list"


@pytest.fixture(autouse=True)
def wide_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    """A terminal of 200 columns unless a test says otherwise (a StringIO has no size: the
    display reads $COLUMNS), so that no figure is cut off at the terminal's width."""
    monkeypatch.setenv("COLUMNS", "200")


class Terminal(io.StringIO):
    """What a terminal looks like to the display."""

    def isatty(self) -> bool:
        return True


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def progress(records: int, elapsed: float, *, total: int = 50_000, done: int = 3) -> Progress:
    return Progress(records, total=total, pages=records // 1000, shards_done=done, shards=8,
                    elapsed=elapsed)  # fmt: skip


def last_bar(stream: io.StringIO) -> str:
    """The bar as the terminal shows it now: the text after the last carriage return."""
    return stream.getvalue().rstrip("\n").rsplit("\r", 1)[-1].rstrip()


# -- the log-line mode (not a terminal) -----------------------------------------------------


def test_a_log_line_shows_every_figure_plainly() -> None:
    log = io.StringIO()
    pause: list[str | None] = [PAUSE]
    display = ProgressDisplay(log, True, lambda: pause[0], lambda: 1234, clock=Clock())
    display(progress(12_000, elapsed=10.0))
    assert log.getvalue() == (
        f"12,000/50,000 records  1,200/s  ETA 32s  shards 3/8  retries 1,234  [{PAUSE}]\n"
    )
    assert "\r" not in log.getvalue() and "\x1b" not in log.getvalue()


def test_the_harvest_s_own_pause_wins_and_figures_without_callables() -> None:
    log = io.StringIO()
    display = ProgressDisplay(log, True, clock=Clock())
    outage = Progress(100, total=1000, pages=1, shards_done=0, shards=2, elapsed=4.0,
                      paused="server failing for 30s")  # fmt: skip
    display(outage)
    assert log.getvalue() == (
        "100/1,000 records  25/s  ETA 36s  shards 0/2  [server failing for 30s]\n"
    )


def test_log_lines_come_at_most_every_five_seconds() -> None:
    log = io.StringIO()
    clock = Clock()
    display = ProgressDisplay(log, True, clock=clock)
    display(progress(1_000, elapsed=1.0))
    for step in range(1, 5):  # pages and ticks within 5 s: nothing new
        clock.now += 1.0
        display(progress(1_000 + step * 1_000, elapsed=1.0 + step))
        display.tick()
    assert len(log.getvalue().splitlines()) == 1
    clock.now += 1.0  # 5 s after the first line
    display.tick()
    lines = log.getvalue().splitlines()
    assert len(lines) == 2 and lines[1].startswith("5,000/50,000 records")


def test_a_pause_is_told_at_once_and_so_is_its_end() -> None:
    # (What tests/test_harvest_integrity.py asked of the old display, on a fake clock.)
    log = io.StringIO()
    clock = Clock()
    pause: list[str | None] = [None]
    display = ProgressDisplay(log, True, lambda: pause[0], clock=clock)
    display(Progress(records=500, total=2000, pages=5, shards_done=1, shards=4, elapsed=10.0))
    clock.now += 1.0
    pause[0] = "paused 42s: circuit open: 12 of the last 40 requests failed"
    display.tick()  # no page arrived: the ticker still tells of the pause
    clock.now += 1.0
    display.tick()  # still paused: nothing new within 5 s
    clock.now += 1.0
    pause[0] = None
    display.tick()
    lines = log.getvalue().splitlines()
    assert len(lines) == 3
    assert "paused" not in lines[0] and lines[0].startswith("500/2,000 records")
    assert lines[1].startswith("500/2,000 records")
    assert lines[1].endswith("[paused 42s: circuit open: 12 of the last 40 requests failed]")
    assert "paused" not in lines[2]


def test_the_rate_is_that_of_the_last_half_minute_and_falls_in_a_stall() -> None:
    log = io.StringIO()
    clock = Clock()
    display = ProgressDisplay(log, True, clock=clock)
    # The first page came after 10 s of planning: on average since the start, 100/s.
    display(progress(1_000, elapsed=10.0))
    assert "1,000/50,000 records  100/s  ETA 8m10s" in log.getvalue()
    clock.now += 10.0
    display(progress(11_000, elapsed=20.0))  # 10,000 records in the last 10 s
    assert log.getvalue().splitlines()[-1].startswith("11,000/50,000 records  1,000/s  ETA 39s")
    clock.now += 10.0
    display.tick()  # nothing came for 10 s: 10,000 in 20 s
    assert log.getvalue().splitlines()[-1].startswith("11,000/50,000 records  500/s  ETA 1m18s")
    # Forty seconds on at 2,000/s: the window holds only the last 30 s or so of pages.
    for _ in range(8):
        clock.now += 5.0
        display(progress(11_000 + int(clock.now - 120) * 2_000, elapsed=clock.now - 90))
    assert log.getvalue().splitlines()[-1].startswith("91,000/50,000 records  2,000/s")


def test_the_final_line_comes_at_once_with_the_whole_run_s_average() -> None:
    log = io.StringIO()
    clock = Clock()
    display = ProgressDisplay(log, True, retries=lambda: 3, clock=clock)
    display(progress(1_000, elapsed=1.0))
    clock.now += 0.5
    display(progress(50_000, elapsed=40.0, done=8))
    display.close()
    assert log.getvalue().splitlines() == [
        "1,000/50,000 records  1,000/s  ETA 49s  shards 3/8  retries 3",
        "50,000/50,000 records  1,250/s  ETA 0s  shards 8/8  retries 3",
    ]


def test_close_shows_the_figures_no_line_showed_yet_once() -> None:
    log = io.StringIO()
    clock = Clock()
    display = ProgressDisplay(log, True, clock=clock)
    display(progress(1_000, elapsed=1.0))
    clock.now += 1.0
    display(progress(3_000, elapsed=2.0))  # within 5 s: not shown
    display.close()  # the harvest failed here: its log says how far it got
    display.close()
    lines = log.getvalue().splitlines()
    assert len(lines) == 2 and lines[1].startswith("3,000/50,000 records")


@pytest.mark.parametrize("stream_type", [io.StringIO, Terminal])
def test_disabled_shows_nothing(stream_type: type[io.StringIO]) -> None:
    stream = stream_type()
    handlers = list(logging.getLogger("crossref_async").handlers)
    with ProgressDisplay(stream, False, lambda: PAUSE, lambda: 1, clock=Clock()) as display:
        display(progress(1_000, elapsed=1.0))
        display.tick()
        display(progress(50_000, elapsed=40.0, done=8))
        assert logging.getLogger("crossref_async").handlers == handlers
    assert stream.getvalue() == ""


# -- the bar (a terminal) -------------------------------------------------------------------


def test_the_bar_shows_records_rate_eta_the_pause_shards_and_retries(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    term = Terminal()
    with ProgressDisplay(term, True, lambda: PAUSE, lambda: 2, clock=Clock()) as display:
        display(progress(12_000, elapsed=10.0))
        bar = last_bar(term)
    assert bar.startswith(" 24%|")
    # tqdm's ETA: 38,000 records at 1,200/s, 31.7 s.
    assert bar.endswith(
        f"| 12,000/50,000 records [00:10<00:31, 1,200/s, {PAUSE}, shards 3/8, retries 2]"
    )
    assert len(bar) == 200
    assert term.getvalue().endswith("\n")  # the bar's line ended; the shell prompt goes below


def test_the_bar_fits_the_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "72")  # a line wider than this would wrap at every redraw
    term = Terminal()
    with ProgressDisplay(term, True, lambda: PAUSE, lambda: 2, clock=Clock()) as display:
        display(progress(12_000, elapsed=10.0))
        bar = last_bar(term)
    assert len(bar) == 72
    assert bar.endswith("| 12,000/50,000 records [00:10<00:31, 1,200/s, paused 12s: 429 Too")


def test_an_unsized_terminal_still_shows_the_bar(monkeypatch: pytest.MonkeyPatch) -> None:
    # A fresh pseudo-terminal says it is 0x0, as some CI runners' are: tqdm alone would
    # draw nothing (the bar cut to no width, and taken for below the screen).
    monkeypatch.delenv("COLUMNS", raising=False)
    monkeypatch.delenv("LINES", raising=False)
    ours, theirs = os.openpty()
    with (
        os.fdopen(theirs, "w", encoding="utf-8") as stream,
        contextlib.closing(os.fdopen(ours, "rb", buffering=0)) as screen,
    ):
        assert os.get_terminal_size(stream.fileno()) == (0, 0)
        with ProgressDisplay(stream, True, clock=Clock()) as display:
            display(progress(12_000, elapsed=10.0))
            shown = screen.read(4096).decode()
    assert "| 12,000/50,000 records [00:10<00:31, 1,200/s, shards 3/8]" in shown
    assert len(shown.rsplit("\r", 1)[-1]) == 80


def test_the_bar_is_redrawn_at_most_every_fifth_of_a_second() -> None:
    term = Terminal()
    clock = Clock()
    with ProgressDisplay(term, True, clock=clock) as display:
        display(progress(1_000, elapsed=1.0))
        drawn = term.getvalue()
        clock.now += 0.15
        display(progress(2_000, elapsed=1.15))
        display.tick()
        assert term.getvalue() == drawn
        clock.now += 0.1
        display(progress(3_000, elapsed=1.25))
        assert "3,000/50,000 records" in last_bar(term)
        clock.now += 0.05
        display(progress(50_000, elapsed=4.0, done=8))  # the last page: drawn at once
        assert "100%|" in last_bar(term)
        assert "50,000/50,000 records [00:04<00:00, 12,500/s, shards 8/8]" in last_bar(term)
    assert "50,000/50,000 records" in last_bar(term)


def test_the_ticker_moves_the_elapsed_time_on_between_pages() -> None:
    term = Terminal()
    clock = Clock()
    with ProgressDisplay(term, True, clock=clock) as display:
        display(progress(1_000, elapsed=5.0))
        clock.now += 70.0
        display.tick()
        assert "records [01:15<" in last_bar(term)


# -- where it writes ------------------------------------------------------------------------


@pytest.mark.parametrize("stream_type", [io.StringIO, Terminal])
def test_nothing_goes_to_stdout(
    stream_type: type[io.StringIO], capsys: pytest.CaptureFixture[str]
) -> None:
    stream = stream_type()
    clock = Clock()
    with ProgressDisplay(stream, True, lambda: PAUSE, lambda: 1, clock=clock) as display:
        display(progress(1_000, elapsed=1.0))
        logging.getLogger("crossref_async").warning("a warning while the bar shows")
        clock.now += 6.0
        display.tick()
        display(progress(50_000, elapsed=40.0, done=8))
    assert "50,000/50,000 records" in stream.getvalue()
    assert capsys.readouterr().out == ""


def console(monkeypatch: pytest.MonkeyPatch) -> Terminal:
    """A terminal that is also the process's stderr, as for the CLI (set in the test's own
    body: pytest sets its capture back before each phase of a test)."""
    term = Terminal()
    monkeypatch.setattr(sys, "stderr", term)
    return term


def _the_line_of(message: str, term: Terminal) -> str:
    (line,) = [line for line in term.getvalue().split("\n") if message in line]
    return line.rsplit("\r", 1)[-1]  # what the terminal shows of that line


def test_log_lines_go_above_the_bar_and_logging_is_restored(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    term = console(monkeypatch)
    # As the CLI sets logging up (basicConfig): a stderr handler on the root logger.
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
    monkeypatch.setattr(logging.root, "handlers", [handler])
    with ProgressDisplay(term, True, clock=Clock()) as display:
        display(progress(1_000, elapsed=1.0))
        assert handler not in logging.root.handlers  # redirected while the bar shows
        logging.getLogger("crossref_async.harvest").warning("shard 3: redoing it")
        # On a line of its own, formatted as before, once; the bar drawn again below it.
        line = _the_line_of("redoing", term)
        assert line == "WARNING crossref_async.harvest: shard 3: redoing it"
        assert "1,000/50,000 records" in last_bar(term)
    assert logging.root.handlers == [handler]


def test_logging_is_restored_when_the_harvest_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    term = console(monkeypatch)
    handler = logging.StreamHandler(sys.stderr)
    monkeypatch.setattr(logging.root, "handlers", [handler])
    redirected: list[logging.Handler] = []

    def fail() -> None:
        with ProgressDisplay(term, True, clock=Clock()) as display:
            display(progress(1_000, elapsed=1.0))
            redirected.extend(logging.root.handlers)
            raise CrossrefError("the harvest failed")

    with pytest.raises(CrossrefError, match="the harvest failed"):
        fail()
    assert handler not in redirected
    assert logging.root.handlers == [handler]
    assert term.getvalue().endswith("\n")


def test_with_no_handler_the_last_resort_is_kept_off_the_bar_too(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    term = console(monkeypatch)
    # No logging set up: Python would print warnings to stderr itself (logging.lastResort).
    monkeypatch.setattr(logging.root, "handlers", [])
    ours = logging.getLogger("crossref_async")
    monkeypatch.setattr(ours, "handlers", [])
    with ProgressDisplay(term, True, clock=Clock()) as display:
        display(progress(1_000, elapsed=1.0))
        ours.warning("a pool paused")
        assert _the_line_of("a pool paused", term) == "a pool paused"
    assert ours.handlers == []


def test_a_file_handler_is_left_alone(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    term = console(monkeypatch)
    to_file = logging.FileHandler(tmp_path / "harvest.log")
    to_console = logging.StreamHandler(sys.stderr)
    monkeypatch.setattr(logging.root, "handlers", [to_file, to_console])
    try:
        with ProgressDisplay(term, True, clock=Clock()) as display:
            display(progress(1_000, elapsed=1.0))
            assert to_file in logging.root.handlers and to_console not in logging.root.handlers
            logging.getLogger("crossref_async").warning("kept in the file")
        assert logging.root.handlers == [to_file, to_console]
    finally:
        to_file.close()
    assert (tmp_path / "harvest.log").read_text() == "kept in the file\n"


# -- what the client says: pause_of, retries_of ---------------------------------------------


async def test_pause_of_says_why_the_client_waits() -> None:
    fake = FakeCrossref(works=50, faults=Faults(error_rate=1.0))
    async with Crossref(mailto=MAILTO, transport=fake.transport(), retry=RetryPolicy.off()) as cr:
        pause = pause_of(cr.session)
        assert pause() is None
        for _ in range(8):  # the breaker's threshold: 8 failures in a row
            with pytest.raises(CrossrefError):
                await cr.work("10.5555/12345678")
        said = pause()
    assert said is not None
    assert re.fullmatch(r"paused \ds: circuit open: 8 requests in a row failed", said)


async def test_retries_of_counts_every_request_sent_again() -> None:
    fake = FakeCrossref(works=50, faults=Faults(error_rate=1.0))
    policy = RetryPolicy(attempts=3, backoff=0.001, max_backoff=0.002)
    pacing = Pacing(breaker=Breaker(enabled=False))
    async with Crossref(
        mailto=MAILTO, transport=fake.transport(), retry=policy, pacing=pacing
    ) as cr:
        retries = retries_of(cr.session)
        assert retries() == 0
        for _ in range(2):
            with pytest.raises(CrossrefError):
                await cr.work("10.5555/12345678")
        assert retries() == 4  # two requests, each tried three times
        assert pause_of(cr.session)() is None  # no breaker, no 429: not paused
    assert fake.stats.requests["single"] == 6


async def test_without_pacing_there_is_nothing_to_say() -> None:
    fake = FakeCrossref(works=50)
    async with Crossref(mailto=MAILTO, transport=fake.transport(), pacing=Pacing.off()) as cr:
        await cr.work("10.5555/12345678")
        assert pause_of(cr.session)() is None
        assert retries_of(cr.session)() == 0


# -- a real harvest -------------------------------------------------------------------------


@pytest.mark.parametrize("stream_type", [io.StringIO, Terminal])
async def test_a_harvest_s_final_line_matches_its_report(
    stream_type: type[io.StringIO], tmp_path: Path
) -> None:
    faults = Faults(error_rate=0.15, only_lists=True, seed=5)
    fake = FakeCrossref(works=1500, seed=4, limits="fast-50", faults=faults)
    policy = RetryPolicy(attempts=8, backoff=0.001, max_backoff=0.005, budget_ratio=1.0)
    pacing = Pacing(breaker=Breaker(enabled=False))

    def client() -> Crossref:
        return Crossref(mailto=MAILTO, transport=fake.transport(), retry=policy, pacing=pacing)

    async with client() as cr:
        the_plan = await plan(cr.works, target=400)
    stream = stream_type()
    # A second client, so that its retries are the harvest's alone (the report's count).
    async with client() as cr:
        with ProgressDisplay(stream, True, pause_of(cr.session), retries_of(cr.session)) as show:
            report = await harvest(cr, the_plan, out=tmp_path / "works.jsonl", rows=50,
                                   on_progress=show)  # fmt: skip
    assert report.records == report.expected == 1500 and report.shards > 1
    assert report.retries > 0  # else the retries figure would prove nothing
    if stream_type is Terminal:
        final = last_bar(stream)
        assert final.startswith("100%|")
        assert f"| {report.records:,}/{report.expected:,} records [" in final
        assert f", shards {report.shards}/{report.shards}, retries {report.retries}" in final
    else:
        final = stream.getvalue().splitlines()[-1]
        assert final.startswith(f"{report.records:,}/{report.expected:,} records  ")
        assert "ETA 0s" in final
        assert final.endswith(f"shards {report.shards}/{report.shards}  retries {report.retries}")
