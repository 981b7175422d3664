"""``crossref-async ... --budget URL`` (and ``$CROSSREF_BUDGET``) against a real redis-server.

Each command runs in a process of its own against the embedded simulator (``--fake``), as a
user's array task would; the budget is a ``redis-server`` on a loopback port (tests/_redis.py).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import redis
from _cli import run_cli
from _redis import free_port, redis_instance, redis_url, served_before

from crossref_async import cli
from crossref_async._shared import identity_for
from crossref_async.testing import FakeCrossref

__all__ = ["redis_instance", "redis_url"]  # the fixtures, used by name

MAILTO = "budget-cli@example.org"
TOKEN = "cli-plus-token-never-stored"
WORKS = 500
PRESET = "fast-50"  # run_cli's default


@pytest.fixture(autouse=True)
def _no_budget_from_the_caller(monkeypatch: pytest.MonkeyPatch) -> None:
    # The CLI's subprocesses inherit this environment: a budget set by whoever runs the tests
    # must not leak into them.
    monkeypatch.delenv(cli.BUDGET_ENV, raising=False)
    monkeypatch.delenv("CROSSREF_MAILTO", raising=False)


def expected_dois() -> set[str]:
    """The DOIs the CLI's simulator holds (it is built with the same size, preset and seed)."""
    corpus = FakeCrossref(works=WORKS, limits=PRESET).corpus
    return {corpus.tables.columns.doi[i].lower() for i in corpus.search([]).indexes}


def written_dois(path: Path) -> list[str]:
    return [json.loads(line)["DOI"].lower() for line in path.read_bytes().splitlines()]


def budget_keys(url: str) -> dict[str, bytes]:
    """Every key of the namespace, with its value as Redis serialises it (DUMP)."""
    with redis.Redis.from_url(url) as client:
        keys = [key.decode() for key in client.scan_iter(match="crossref-async:*")]
        return {key: bytes(client.dump(key) or b"") for key in keys}


def assert_identity_keys(url: str) -> None:
    found = budget_keys(url)
    identity = identity_for(MAILTO)
    assert any(key.startswith(f"crossref-async:{{{identity}}}:") for key in found), found
    for key, value in found.items():
        for secret in (MAILTO, TOKEN):
            assert secret not in key
            assert secret.encode() not in value, key


def cli_command(*args: str) -> list[str]:
    """The command run_cli runs (for processes started side by side)."""
    fake = ["--fake", "--fake-works", str(WORKS), "--fake-preset", PRESET]
    return [sys.executable, "-m", "crossref_async", *args, *fake]


def test_harvest_with_a_shared_budget_is_exact(
    redis_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CROSSREF_PLUS_TOKEN", TOKEN)  # must never reach Redis
    for identity in (identity_for(MAILTO, TOKEN), identity_for(MAILTO)):  # --fake: no token
        served_before(redis_url, identity)
    out = tmp_path / "works.jsonl"
    done = run_cli(
        "harvest", "--budget", redis_url, "--mailto", MAILTO, "--out", str(out),
        "--shard-size", "200", "--no-progress", works=WORKS,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    dois = written_dois(out)
    assert len(dois) == len(set(dois)) == WORKS
    assert set(dois) == expected_dois()
    assert_identity_keys(redis_url)


def test_an_array_of_shards_shares_one_budget(redis_url: str, tmp_path: Path) -> None:
    # The README's recipe: one plan, then one harvest per array task, all at once.
    served_before(redis_url, identity_for(MAILTO))
    planned = run_cli("plan", "--mailto", MAILTO, "--shard-size", "250", works=WORKS)
    assert planned.returncode == 0, planned.stderr
    plan_file = tmp_path / "plan.json"
    plan_file.write_text(planned.stdout)
    shard_ids = [shard["id"] for shard in json.loads(planned.stdout)["shards"]]
    assert len(shard_ids) >= 2
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    tasks = [
        subprocess.Popen(
            cli_command(
                "harvest",
                "--plan",
                str(plan_file),
                "--shard",
                str(k),
                "--budget",
                redis_url,
                "--mailto",
                MAILTO,
                "--out",
                str(tmp_path / f"part-{k}.jsonl"),
                "--no-progress",
            ),
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for k in shard_ids
    ]
    for task in tasks:
        _, stderr = task.communicate(timeout=300)
        assert task.returncode == 0, stderr
    dois = [doi for k in shard_ids for doi in written_dois(tmp_path / f"part-{k}.jsonl")]
    assert len(dois) == len(set(dois)) == WORKS
    assert set(dois) == expected_dois()
    assert_identity_keys(redis_url)


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("http://127.0.0.1:6379/0", "not a Redis URL"),
        ("localhost:6379", "not a Redis URL"),
        ("redis:///0", "no host"),
        ("redis://:secret@:6379/0", "no host"),
        ("redis://127.0.0.1:99999/0", "port"),
        ("redis://127.0.0.1:6379/zero", "database"),
        ("unix://", "socket path"),
    ],
)
def test_a_bad_budget_url_is_refused(url: str, problem: str) -> None:
    refused = run_cli("count", "--budget", url)
    assert refused.returncode == 7, refused.stderr
    lines = refused.stderr.strip().splitlines()
    assert 1 <= len(lines) <= 2 and "Traceback" not in refused.stderr
    assert lines[0].startswith("crossref-async: error: --budget ")
    assert problem in lines[0] and "redis://" in lines[-1]
    assert "secret" not in refused.stderr
    shown = url.replace(":secret@", ":***@")
    assert repr(shown) in lines[0]
    assert refused.stdout == ""


def test_a_bad_budget_url_sends_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def no_client(*args: object, **kwargs: object) -> None:
        raise AssertionError("a client was made for a refused --budget")

    monkeypatch.setattr(cli, "Crossref", no_client)
    out = tmp_path / "works.jsonl"
    argv = ["harvest", "--fake", "--budget", "redis://", "--out", str(out)]
    assert cli.main(argv) == 7
    assert "--budget 'redis://': no host" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []
    monkeypatch.setenv(cli.BUDGET_ENV, "https://example.org/budget")
    assert cli.main(["count", "--fake"]) == 7
    assert "CROSSREF_BUDGET 'https://example.org/budget'" in capsys.readouterr().err


@pytest.mark.parametrize("command", ["harvest", "count"])
def test_an_unreachable_redis_is_one_line(command: str, tmp_path: Path) -> None:
    port = free_port()  # nothing listens there
    url = f"redis://:secret@127.0.0.1:{port}/0"
    out = tmp_path / "works.jsonl"
    extra = ["--out", str(out), "--no-progress"] if command == "harvest" else []
    failed = run_cli(command, "--budget", url, "--mailto", MAILTO, *extra)
    assert failed.returncode == 8, failed.stderr
    lines = failed.stderr.strip().splitlines()
    assert len(lines) == 1, failed.stderr
    assert lines[0].startswith("crossref-async: error: shared budget at ")
    assert f"redis://:***@127.0.0.1:{port}/0" in lines[0]
    assert "secret" not in failed.stderr + failed.stdout
    assert "Traceback" not in failed.stderr
    assert not out.exists()


def test_the_environment_gives_the_budget(redis_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(cli.BUDGET_ENV, redis_url)
    served_before(redis_url, identity_for(MAILTO))
    counted = run_cli("count", "--mailto", MAILTO)
    assert counted.returncode == 0, counted.stderr
    assert int(counted.stdout) == WORKS
    assert_identity_keys(redis_url)
    # The variable is what the client uses: pointed at nothing, it fails the same way...
    closed = f"redis://127.0.0.1:{free_port()}/0"
    monkeypatch.setenv(cli.BUDGET_ENV, closed)
    failed = run_cli("count", "--mailto", MAILTO)
    assert failed.returncode == 8 and closed in failed.stderr, failed.stderr
    # ...and --budget '' (no shared budget) overrides it.
    alone = run_cli("count", "--mailto", MAILTO, "--budget", "")
    assert alone.returncode == 0, alone.stderr
    assert int(alone.stdout) == WORKS
