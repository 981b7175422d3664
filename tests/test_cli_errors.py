"""The command line's everyday mistakes: each refused before the first request, in one or two
lines naming the value and the rule, with its own exit status and no traceback.

Most run ``cli.main`` in this process against the embedded simulator, whose every instance is
counted (``sims``), so "before the first request" is asserted, not assumed; the broken pipes,
``-v`` and the mailto warning run ``python -m crossref_async`` in a child process, as a user
would.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import tempfile
import warnings
from pathlib import Path
from typing import Any

import pytest
from _cli import run_cli

import crossref_async.testing
from crossref_async import Crossref, PublicPoolWarning, ValidationError, cli
from crossref_async.harvest import harvest, iter_records, plan
from crossref_async.testing import FakeCrossref
from crossref_async.testing._server import DEFAULT_WORKS

WORKS = 300
FAKE = ["--fake", "--fake-works", str(WORKS), "--fake-preset", "fast-50"]
DOI = "10.5555/12345678"  # in every corpus


@pytest.fixture(autouse=True)
def _no_settings_from_the_caller(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (cli.BUDGET_ENV, cli.MAILTO_ENV, "CROSSREF_PLUS_TOKEN"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def sims(monkeypatch: pytest.MonkeyPatch) -> list[FakeCrossref]:
    """Every simulator the command line builds (it builds one per run, at its first use)."""
    made: list[FakeCrossref] = []

    class Counted(FakeCrossref):
        def __init__(self, **kwargs: Any) -> None:
            super().__init__(**kwargs)
            made.append(self)

    monkeypatch.setattr(crossref_async.testing, "FakeCrossref", Counted)
    return made


def sent(sims: list[FakeCrossref]) -> int:
    return sum(sim.stats.total_requests for sim in sims)


def run(capsys: pytest.CaptureFixture[str], *argv: str, fake: bool = True) -> tuple[int, str, str]:
    """``crossref-async ARGV --fake ...`` in this process: status, stdout, stderr."""
    try:
        status = cli.main([*argv, *(FAKE if fake else [])])
    except SystemExit as exc:  # argparse's own refusals
        status = int(exc.code or 0)
    out, err = capsys.readouterr()
    assert "Traceback" not in err and "Traceback" not in out
    return status, out, err


def refused(
    capsys: pytest.CaptureFixture[str],
    sims: list[FakeCrossref],
    status: int,
    *argv: str,
    says: tuple[str, ...],
) -> str:
    """Run ARGV; assert the status, a message of one or two lines holding ``says``, and that
    nothing was sent."""
    got, _, err = run(capsys, *argv)
    assert got == status, err
    lines = err.strip().splitlines()
    assert 1 <= len(lines) <= 2, err
    for text in says:
        assert text in err, err
    assert sent(sims) == 0
    return err


# -- files and folders: exit status 9 ------------------------------------------------------------


def test_missing_files_are_named_before_any_request(
    capsys: pytest.CaptureFixture[str], sims: list[FakeCrossref], tmp_path: Path
) -> None:
    missing = str(tmp_path / "more-dois.txt")
    refused(capsys, sims, 9, "get", "--file", missing, says=(missing, "no such file"))
    refused(capsys, sims, 9, "check", missing, says=(missing, "no such file"))
    out = str(tmp_path / "w.jsonl")
    refused(capsys, sims, 9, "harvest", "--out", out, "--plan", missing, says=("--plan",))
    refused(capsys, sims, 9, "get", "--file", str(tmp_path), says=("is a folder",))


def test_a_file_that_is_not_text_is_refused(
    capsys: pytest.CaptureFixture[str], sims: list[FakeCrossref], tmp_path: Path
) -> None:
    binary = tmp_path / "dois.bin"
    binary.write_bytes(b"10.5555/1\n\xff\xfe\n")
    refused(capsys, sims, 9, "get", "--file", str(binary), says=("not UTF-8",))


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads every file")
def test_an_unreadable_file_is_refused(
    capsys: pytest.CaptureFixture[str], sims: list[FakeCrossref], tmp_path: Path
) -> None:
    locked = tmp_path / "plan.json"
    locked.write_text("{}")
    locked.chmod(0)
    out = str(tmp_path / "w.jsonl")
    refused(capsys, sims, 9, "harvest", "--out", out, "--plan", str(locked), says=("permission",))


def test_a_plan_file_that_is_not_a_plan_is_bad_input(
    capsys: pytest.CaptureFixture[str], sims: list[FakeCrossref], tmp_path: Path
) -> None:
    bad = tmp_path / "plan.json"
    bad.write_text("{not json")
    out = str(tmp_path / "w.jsonl")
    refused(capsys, sims, 2, "harvest", "--out", out, "--plan", str(bad), says=("not a plan",))


def test_outputs_in_a_folder_that_is_a_file_are_refused(
    capsys: pytest.CaptureFixture[str], sims: list[FakeCrossref], tmp_path: Path
) -> None:
    (tmp_path / "afile").write_text("x")
    inside = str(tmp_path / "afile" / "w.jsonl")
    out = str(tmp_path / "w.jsonl")
    says = ("a file is in the way",)
    refused(capsys, sims, 9, "get", DOI, "--out", inside, says=("--out", *says))
    refused(capsys, sims, 9, "harvest", "--out", inside, says=("--out", *says))
    refused(capsys, sims, 9, "harvest", "--out", out, "--state", inside, says=("--state", *says))
    refused(capsys, sims, 9, "get", DOI, "--out", str(tmp_path), says=("is a folder",))


def test_get_and_harvest_create_missing_folders(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    got = tmp_path / "new" / "deeper" / "works.jsonl"
    status, _, err = run(capsys, "get", DOI, "--out", str(got))
    assert status == 0, err
    assert json.loads(got.read_text())["DOI"] == DOI
    # --state is created where it is missing, as --out is: a nightly job's first run should
    # not fail (and after the whole harvest, as it once did) for want of a folder.
    out, state = tmp_path / "a" / "w.jsonl", tmp_path / "b" / "c" / "state.json"
    status, _, err = run(capsys, "harvest", "--out", str(out), "--state", str(state))
    assert status == 0, err
    assert state.exists() and sum(1 for _ in iter_records(out)) == WORKS


# -- option values: exit status 2 ----------------------------------------------------------------


def test_a_bad_preset_lists_the_choices_and_help_lists_them_too(
    capsys: pytest.CaptureFixture[str], sims: list[FakeCrossref]
) -> None:
    status, _, err = run(capsys, "count", "--fake", "--fake-preset", "bogus", fake=False)
    assert status == 2 and len(err.strip().splitlines()) == 2
    assert "'bogus'" in err and "polite-2026" in err and "fast-50" in err
    status, out, _ = run(capsys, "count", "--help", fake=False)
    assert status == 0 and "polite-2026" in out and "unlimited" in out
    assert sent(sims) == 0


@pytest.mark.parametrize("works", ["-5", "0", "many"])
def test_the_simulator_size_must_be_a_whole_number(
    capsys: pytest.CaptureFixture[str], sims: list[FakeCrossref], works: str
) -> None:
    status, _, err = run(capsys, "count", "--fake", "--fake-works", works, fake=False)
    assert status == 2 and f"'{works}'" in err and "1 or more" in err
    assert len(err.strip().splitlines()) == 2 and not sims
    status, _, err = run(capsys, "fake-server", "--works", works, fake=False)
    assert status == 2 and f"'{works}'" in err and "1 or more" in err


def test_fake_works_and_fake_server_works_have_one_default() -> None:
    args = cli._parser().parse_args(["harvest", "--out", "x.jsonl"])
    assert args.fake_works == DEFAULT_WORKS == 20_000  # the README's figures are for 20,000
    assert "20000" in subprocess_help("fake-server")


def subprocess_help(*command: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "crossref_async", *command, "--help"],
        capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    return done.stdout


@pytest.mark.parametrize("query", ["", "   "])
def test_an_empty_query_is_refused_not_taken_as_no_query(
    capsys: pytest.CaptureFixture[str], sims: list[FakeCrossref], query: str
) -> None:
    says = ("--query", repr(query), "empty query")
    refused(capsys, sims, 2, "count", "--query", query, says=says)
    refused(capsys, sims, 2, "plan", "--query", query, says=says)
    refused(capsys, sims, 2, "count", "--field", "author=", says=("author=",))


@pytest.mark.parametrize(
    ("option", "value", "rule"),
    [
        ("--rows", "5000", "rows must be between 1 and 1000"),
        ("--rows", "0", "rows must be between 1 and 1000"),
        ("--concurrency", "0", "concurrency must be a whole number"),
        ("--shard-size", "0", "target must be a whole number"),
        ("--max-outage", "-1", "max_outage must be seconds"),
        ("--shard", "-1", "shard id"),
        ("--out", "works.csv", ".jsonl, .jsonl.gz or .jsonl.zst"),
    ],
)
def test_harvest_options_are_refused_before_any_request(
    capsys: pytest.CaptureFixture[str],
    sims: list[FakeCrossref],
    tmp_path: Path,
    option: str,
    value: str,
    rule: str,
) -> None:
    argv = ["harvest", "--out", str(tmp_path / "w.jsonl"), option, value]
    if option == "--out":
        argv = ["harvest", "--out", str(tmp_path / value)]
    refused(capsys, sims, 2, *argv, says=(option, value, rule))
    assert list(tmp_path.iterdir()) == []  # nothing written either


def test_plan_shard_size_is_refused_before_any_request(
    capsys: pytest.CaptureFixture[str], sims: list[FakeCrossref]
) -> None:
    refused(capsys, sims, 2, "plan", "--shard-size", "-3", says=("--shard-size", "-3"))


def test_a_route_must_be_kind_and_id(
    capsys: pytest.CaptureFixture[str], sims: list[FakeCrossref]
) -> None:
    refused(capsys, sims, 2, "count", "--route", "publisher:311", says=("member, journal",))


async def test_the_library_checks_harvest_options_before_planning(tmp_path: Path) -> None:
    fake = FakeCrossref(works=100, limits="fast-50")
    async with Crossref(mailto="me@example.org", transport=fake.transport()) as cr:
        for bad in (
            {"rows": 5000},
            {"max_outage": -1.0},
            {"target": 0},
            {"concurrency": 0},
            {"shard_ids": [-1]},
            {"out": tmp_path / "works.csv"},
            {"out": tmp_path / "works"},
        ):
            options: dict[str, Any] = {"out": tmp_path / "w.jsonl", **bad}
            with pytest.raises(ValidationError):
                await harvest(cr, cr.works, **options)
        with pytest.raises(ValidationError, match=r"\.jsonl, \.jsonl\.gz or \.jsonl\.zst"):
            await harvest(cr, await plan_of(cr), out=tmp_path / "works.csv")
    assert fake.stats.total_requests == 1  # plan_of's own; none from the refusals
    assert not os.listdir(tmp_path)


async def plan_of(cr: Crossref) -> Any:
    return await plan(cr.works.filter(type="book"))


# -- plans and shards ----------------------------------------------------------------------------


def test_a_plan_with_query_options_or_an_unknown_shard_is_refused(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    status, text, err = run(capsys, "plan", "--shard-size", "100")
    assert status == 0, err
    saved = tmp_path / "plan.json"
    saved.write_text(text)
    out = str(tmp_path / "w.jsonl")
    status, _, err = run(capsys, "harvest", "--out", out, "--plan", str(saved), "--filter", "a:b")
    assert status == 2 and "--filter" in err and "holds its own query" in err
    status, _, err = run(capsys, "harvest", "--out", out, "--plan", str(saved), "--since", "2020")
    assert status == 2 and "--since" in err and "holds its own query" in err
    status, _, err = run(capsys, "harvest", "--out", out, "--plan", str(saved), "--shard", "99")
    assert status == 2 and "--shard 99" in err and "shards are 0 to" in err
    assert not Path(out).exists()


# -- get: bad lines and repeats ------------------------------------------------------------------


def test_get_reports_bad_lines_with_their_numbers_and_goes_on(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    listing = tmp_path / "dois.txt"
    listing.write_text(
        f"{DOI}\nnot-a-doi\n\nhttps://doi.org/10.5555/Mixed.Case.DOI\n10.1234\n"
        f"doi:{DOI}\n10.5555/mixed.case.doi\n"
    )
    out = tmp_path / "works.jsonl"
    status, _, err = run(capsys, "get", DOI, "--file", str(listing), "--out", str(out))
    assert status == 1, err  # some lines were not DOIs
    assert f"{listing}:2: 'not-a-doi': a DOI looks like 10." in err
    assert f"{listing}:5: '10.1234'" in err
    assert f"{DOI} given 3 times (argument 1, {listing}:1, {listing}:6); written once" in err
    assert f"10.5555/Mixed.Case.DOI given 2 times ({listing}:4, {listing}:7)" in err
    assert "2 found, 0 not found, 2 skipped (not DOIs), 2 given more than once" in err
    dois = [json.loads(line)["DOI"] for line in out.read_text().splitlines()]
    assert dois == [DOI, "10.5555/Mixed.Case.DOI"]


def test_get_names_standard_input_lines(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO(f"{DOI}\nsee above\n"))
    status, out, err = run(capsys, "get", "--file", "-", "--select", "DOI")
    assert status == 1 and "<stdin>:2: 'see above'" in err
    assert [json.loads(line)["DOI"] for line in out.splitlines()] == [DOI]


def test_get_with_only_good_dois_given_twice_succeeds(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, err = run(capsys, "get", DOI, DOI.upper(), "--select", "DOI")
    assert status == 0, err
    assert out.splitlines() == [json.dumps({"DOI": DOI}, separators=(",", ":"))]
    assert "given 2 times (argument 1, argument 2)" in err


def test_get_with_nothing_to_get_says_so(
    capsys: pytest.CaptureFixture[str], sims: list[FakeCrossref], tmp_path: Path
) -> None:
    empty = tmp_path / "empty.txt"
    empty.write_text("\n\n")
    refused(capsys, sims, 2, "get", "--file", str(empty), says=("give DOIs",))


# -- standard output -----------------------------------------------------------------------------


def test_out_dash_streams_jsonl_to_standard_output(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)  # a file named "-" would land here
    status, out, err = run(capsys, "get", DOI, "--out", "-", "--select", "DOI,type")
    assert status == 0, err
    assert json.loads(out)["DOI"] == DOI and not Path("-").exists()


def test_harvest_to_standard_output_writes_every_record_once_and_cleans_up(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    private = tmp_path / "tmp"
    private.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(private))
    monkeypatch.chdir(tmp_path)
    status, out, err = run(capsys, "harvest", "--out", "-", "--no-progress", "--shard-size", "100")
    assert status == 0, err
    dois = [json.loads(line)["DOI"] for line in out.splitlines()]
    assert len(dois) == len(set(dois)) == WORKS
    assert "records    300 (expected 300)" in err and "<standard output>" in err
    assert list(private.iterdir()) == [] and not Path("-").exists()


@pytest.mark.parametrize("option", [["--resume"], ["--state", "s.json"], ["--keep-parts"]])
def test_harvest_to_standard_output_refuses_what_needs_a_file(
    capsys: pytest.CaptureFixture[str], sims: list[FakeCrossref], option: list[str]
) -> None:
    refused(capsys, sims, 2, "harvest", "--out", "-", *option, says=(option[0], "needs a file"))


@pytest.mark.parametrize(
    "command",
    [
        ["get", DOI, "10.5555/Mixed.Case.DOI"],
        ["count"],
        ["plan"],
        ["cite", DOI],
        ["harvest", "--out", "-", "--no-progress"],
    ],
)
def test_a_closed_pipe_ends_quietly(command: list[str]) -> None:
    # The reading end is closed before the command starts: its first write fails, always.
    read, write = os.pipe()
    os.close(read)
    try:
        done = subprocess.run(
            [sys.executable, "-m", "crossref_async", *command, *FAKE],
            stdout=write, stderr=subprocess.PIPE, text=True, timeout=120, check=False,
        )  # fmt: skip
    finally:
        os.close(write)
    assert done.returncode == cli.BROKEN_PIPE == 141, done.stderr
    assert "Traceback" not in done.stderr and "Exception ignored" not in done.stderr
    assert "BrokenPipe" not in done.stderr


# -- logs, URLs and warnings ---------------------------------------------------------------------


def test_verbose_goes_before_or_after_the_command_and_fake_urls_say_simulator() -> None:
    after = run_cli("count", "-v", works=WORKS)
    assert after.returncode == 0, after.stderr
    assert "INFO" in after.stderr and "DEBUG" not in after.stderr
    assert "http://crossref-simulator.invalid/v1/works" in after.stderr
    both = run_cli("-v", "count", "-v", works=WORKS)
    assert both.returncode == 0 and "DEBUG" in both.stderr
    assert "api.crossref.org" not in after.stderr + both.stderr


def test_an_api_error_under_fake_names_the_simulator(
    capsys: pytest.CaptureFixture[str],
) -> None:
    status, _, err = run(capsys, "count", "--route", "member:99999999")
    assert status == 2 and len(err.strip().splitlines()) == 1
    assert "404 from http://crossref-simulator.invalid/v1/members/99999999/works" in err
    assert "api.crossref.org" not in err
    status, _, err = run(capsys, "cite", "10.5555/never-registered")
    assert status == 2 and "http://doi-simulator.invalid/" in err


def test_the_cli_tells_a_user_without_mailto_about_the_option_and_variable(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # A Redis nobody serves: the client is built (and warns), then stops at start (status 8)
    # before anything is sent to any API.
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        status, _, err = run(capsys, "count", "--budget", "redis://127.0.0.1:1/0", fake=False)
    assert status == 8, err
    assert "no mailto given" in err
    assert "--mailto you@example.org or set CROSSREF_MAILTO" in err
    assert "Crossref(mailto" not in err
    assert not [w for w in caught if issubclass(w.category, PublicPoolWarning)]


def test_the_library_warning_still_names_the_parameter() -> None:
    with pytest.warns(PublicPoolWarning, match=r"Crossref\(mailto="):
        Crossref()
