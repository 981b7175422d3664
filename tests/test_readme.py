"""Every code block of the README runs as written, against the embedded simulator.

A new user copies these blocks first; each one is run here, or listed in
:data:`NOT_RUNNABLE` with the reason, so a block added later that is neither fails
:func:`test_every_block_is_run_or_listed`. The rules, so that "as written" stays honest:

- ``>>>`` blocks run as doctests (asyncio REPL: top-level ``await``; ``cr`` is a client over
  the simulator), as ``tests/test_doctests.py`` runs the docstrings.
- Other ``python`` blocks are exec'd unchanged, each in a fresh namespace in a temporary
  working directory. A block whose first line names ``python -m asyncio`` is compiled with
  top-level ``await`` allowed, as that REPL does. ``Crossref(...)`` made without a
  ``transport``, ``http_client`` or ``base_url`` gets the embedded simulator's transport:
  :func:`_simulated` patches ``Crossref.__init__`` in this process (the README's text is
  not touched). What a block leaves open is closed afterwards.
- ``bash`` blocks run in a temporary directory with ``bash -e``, ``crossref-async``,
  ``.venv/bin/crossref-async`` and ``.venv/bin/python`` standing for this test's
  interpreter, and ``examples/`` linked to the repository's. The test changes commands in
  these ways only: a ``crossref-async`` command that talks to the API gets ``--fake``
  appended when it lacks it (so nothing leaves the machine), and ``--fake-works``
  :data:`FAKE_WORKS` when it has none (a smaller simulator, for time); commands that
  create a virtual environment or install from PyPI are left out (:data:`NEEDS_PYPI`), and
  this test's environment stands for the one they make.
- The Slurm recipe runs with a ``sbatch`` stand-in that runs ``harvest.sh`` once per array
  index, ``$SLURM_ARRAY_TASK_ID`` set; the Kubernetes Job runs its container command once
  per completion index, ``$JOB_COMPLETION_INDEX`` set, with its mounts (``/plan``,
  ``/data``) in the temporary directory. Both share a budget through a real redis-server on
  127.0.0.1 (``tests/_redis.py``), with a password, standing for the README's
  ``login01:6379`` and ``redis.crossref.svc``; the README's own ``redis-server`` line (it
  binds 0.0.0.0:6379) is not run.
- The command synopsis (the ``Command line`` block) runs line by line with its optional
  ``[...]`` parts left out; lines that cannot run here are in :data:`SYNOPSIS_SKIPPED`.
"""

from __future__ import annotations

import ast
import asyncio
import contextlib
import inspect
import json
import os
import re
import shlex
import subprocess
import sys
import textwrap
from collections.abc import Container, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from _doctest import run_text, simulator_client
from _redis import redis_server

from crossref_async import Crossref
from crossref_async.testing import FakeCrossref

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"

#: The simulator's size for shell commands that do not give ``--fake-works``.
FAKE_WORKS = 1500

#: Blocks not run, by a line they contain, with the reason.
NOT_RUNNABLE: dict[str, str] = {
    "python3 -m venv --clear .venv": "the test command: recreates the venv from PyPI and runs "
    "this test suite",
    "benchmarks/run_all.py": "installs the bench extra from PyPI and runs every benchmark "
    "(25 minutes)",
    "from starlette.applications import Starlette": "a web application: needs starlette and an "
    "ASGI server, which are no dependencies of this project",
    "├── ValidationError": "not code: the exception hierarchy",
    "Crossref (_client)": "not code: the architecture diagram",
}

#: Command prefixes left out of shell blocks, and why.
NEEDS_PYPI = {
    "python3 -m venv": "creates a venv to install into (this test's venv stands for it)",
    ".venv/bin/pip install": "installs from PyPI (this test's venv has the package installed)",
}

#: Synopsis lines not run, by their first words, with the reason.
SYNOPSIS_SKIPPED = {
    "crossref-async harvest  --plan": "a shard of a plan under a Redis budget at redis-host: "
    "the Slurm and Kubernetes recipes run this command",
    "crossref-async fake-server": "serves until stopped, on a fixed port (tests/"
    "test_simulator_server.py runs the server)",
}

#: Exit statuses a command may end with when it did what it says: ``check`` exits 1 when an
#: entry is not registered, as the README's bibliography has one.
EXIT_OK: dict[str, Container[int]] = {"check": (0, 1)}

API_COMMANDS = ("harvest", "plan", "count", "get", "check", "cite")


@dataclass(frozen=True)
class Block:
    """A fenced code block: its language, text (dedented) and first line number."""

    lang: str
    text: str
    line: int


def readme_blocks() -> list[Block]:
    """Every fenced block of the README, in order (fences may be indented, in lists)."""
    blocks: list[Block] = []
    lines = README.read_text(encoding="utf-8").splitlines()
    k = 0
    while k < len(lines):
        opening = re.match(r"^(\s*)```(\w*)\s*$", lines[k])
        if opening is None:
            k += 1
            continue
        indent, lang = opening.groups()
        end = k + 1
        while not lines[end].strip().startswith("```"):
            end += 1
        body = [
            line[len(indent) :] if line.startswith(indent) else line for line in lines[k + 1 : end]
        ]
        blocks.append(Block(lang, "\n".join(body) + "\n", k + 2))
        k = end + 1
    return blocks


def _reason(block: Block) -> str | None:
    return next((why for key, why in NOT_RUNNABLE.items() if key in block.text), None)


def _kind(block: Block) -> str:
    """How the block is run: doctest, python, bash, slurm, kubernetes, synopsis, or skipped."""
    if _reason(block) is not None:
        return "skipped"
    if block.lang == "python":
        return "doctest" if block.text.lstrip().startswith(">>>") else "python"
    if block.lang == "bash":
        return "slurm" if "SBATCH" in block.text or "sbatch" in block.text else "bash"
    if block.lang == "yaml" and "kind: Job" in block.text:
        return "kubernetes"
    if block.lang == "" and block.text.startswith("crossref-async "):
        return "synopsis"
    return "unknown"


BLOCKS = readme_blocks()


def _ids(kind: str) -> list[Any]:
    return [pytest.param(b, id=f"line-{b.line}") for b in BLOCKS if _kind(b) == kind]


def test_every_block_is_run_or_listed() -> None:
    unknown = [
        f"README.md:{b.line} ({b.lang or 'no language'})" for b in BLOCKS if _kind(b) == "unknown"
    ]
    assert not unknown, "blocks neither run nor listed in NOT_RUNNABLE: " + ", ".join(unknown)
    # Each reason still names a block: a stale entry would hide nothing, but would mislead.
    stale = [key for key in NOT_RUNNABLE if not any(key in b.text for b in BLOCKS)]
    assert not stale, f"NOT_RUNNABLE entries that match no block: {stale}"
    kinds = {_kind(b) for b in BLOCKS}
    assert {"doctest", "python", "bash", "slurm", "kubernetes", "synopsis"} <= kinds


#: The two commands a new user runs first, as the README must keep them (byte for byte: other
#: documents and the project's own checks quote them).
MAIN_COMMAND = (
    "python3 -m venv .venv && .venv/bin/pip install -q . && .venv/bin/crossref-async harvest "
    "--fake --filter type:journal-article --shard-size 3000 --out works.jsonl.gz\n"
)
TEST_COMMAND = (
    "python3 -m venv --clear .venv && .venv/bin/pip install -q -e '.[dev]' && "
    ".venv/bin/python -m pytest -q\n"
)


def test_the_two_commands_are_unchanged() -> None:
    text = README.read_text(encoding="utf-8")
    for marker, command in (("main-command", MAIN_COMMAND), ("test-command", TEST_COMMAND)):
        assert f"<!-- {marker} -->\n```bash\n{command}```\n" in text, marker


@pytest.mark.parametrize("block", _ids("skipped"))
def test_not_runnable_block(block: Block) -> None:
    """Listed with its reason, so the summary (``-ra``) shows what is not run, and why."""
    pytest.skip(f"README.md:{block.line}: {_reason(block)}")


def test_readme_examples() -> None:
    """The ``>>>`` examples, as one docstring (moved here from tests/test_doctests.py)."""
    # A fence closing a block would read as expected output: fences become blank lines.
    lines = README.read_text(encoding="utf-8").splitlines()
    text = "\n".join("" if line.lstrip().startswith("```") else line for line in lines)
    failures = run_text(text, "README.md", {"cr": simulator_client()})
    assert not failures, "\n".join(failures)


# -- python blocks -------------------------------------------------------------------------


@contextlib.contextmanager
def _simulated() -> Iterator[list[Crossref]]:
    """``Crossref(...)`` without a transport gets the simulator's; yields the clients made."""
    made: list[Crossref] = []
    original = Crossref.__init__
    sim = FakeCrossref(limits="unmetered")

    def init(self: Crossref, *args: Any, **kwargs: Any) -> None:
        if not any(kwargs.get(k) for k in ("transport", "http_client", "base_url")):
            kwargs["transport"] = sim.transport()
        original(self, *args, **kwargs)
        made.append(self)

    with mock.patch.object(Crossref, "__init__", init):
        yield made


async def _exec(block: Block) -> list[Crossref]:
    """Run a python block; a ``python -m asyncio`` block with top-level await."""
    flags = (
        ast.PyCF_ALLOW_TOP_LEVEL_AWAIT if "python -m asyncio" in block.text.splitlines()[0] else 0
    )
    code = compile(block.text, f"README.md:{block.line}", "exec", flags=flags)
    namespace: dict[str, Any] = {"__name__": "__main__"}
    with _simulated() as made:
        if flags:
            result = eval(code, namespace)  # the README's own code
            if inspect.iscoroutine(result):
                await result
        else:
            # asyncio.run() inside the block needs a thread with no running loop.
            await asyncio.to_thread(exec, code, namespace)
    for cr in made:
        await cr.aclose()
    return made


@pytest.mark.parametrize("block", _ids("python"))
def test_python_block(
    block: Block,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    made = asyncio.run(_exec(block))
    assert made, "the block made no client"
    out = capsys.readouterr().out
    assert "Traceback" not in out


def test_quick_start_finds_what_it_names(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The quick start's DOI, query and batch are in the simulator: no 404, no empty result."""
    monkeypatch.chdir(tmp_path)
    block = next(b for b in _ids("python") if "asyncio.run(main())" in b.values[0].text).values[0]
    asyncio.run(_exec(block))
    out = capsys.readouterr().out.splitlines()
    assert (
        out[0]
        == "How the Mind Hurts and Heals the Body 2004 ['Oakley Ray'] https://doi.org/10.1037/0003-066X.59.1.29"
    )
    assert out[1] == "1"  # "renear ontologies", journal articles since 2009
    title = "Strategic Reading, Ontologies, and the Future of Scientific Publishing"
    assert out[2] == f"10.1126/science.1157784 {title}"
    assert "'10.5555/12345678': 'Toward a Unified Theory" in out[3]
    assert out[4].startswith("not found: ")
    printed = out[5]
    text = README.read_text(encoding="utf-8")
    comment = re.search(r"# ('from-pub-dat'.*?)\n\s+# (.*?)\n\s+print\(exc\)", text)
    assert comment is not None
    assert printed == f"{comment[1]} {comment[2]}"


# -- shell blocks --------------------------------------------------------------------------


def _workdir(tmp_path: Path) -> dict[str, str]:
    """The temporary directory's ``.venv/bin`` stand-ins and ``examples`` link; the
    environment to run in."""
    bin_dir = tmp_path / ".venv" / "bin"
    bin_dir.mkdir(parents=True)
    (tmp_path / "examples").symlink_to(ROOT / "examples")
    for name, command in (("python", ""), ("crossref-async", " -m crossref_async")):
        script = bin_dir / name
        script.write_text(f'#!/bin/sh\nexec {shlex.quote(sys.executable)}{command} "$@"\n')
        script.chmod(0o755)
    env = {k: v for k, v in os.environ.items() if not k.startswith("CROSSREF_")}
    return {**env, "PATH": f"{bin_dir}{os.pathsep}{env['PATH']}", "PYTHONWARNINGS": "ignore"}


def _faked(command: str) -> str:
    """``command`` with ``--fake`` (and a small ``--fake-works``) added to an API command, before
    any redirection or comment; other commands unchanged."""
    words = re.match(r"\s*(?:exec\s+)?(?:\.venv/bin/)?crossref-async\s+(\w[\w-]*)", command)
    if words is None or words[1] not in API_COMMANDS:
        return command
    body, sep, rest = _split_tail(command)
    extra = "" if re.search(r"--fake(\s|$)", body) else " --fake"
    if "--fake-works" not in body:
        extra += f" --fake-works {FAKE_WORKS}"
    return f"{body.rstrip()}{extra}{sep}{rest}"


def _split_tail(command: str) -> tuple[str, str, str]:
    """``command`` split before its first redirection or comment."""
    found = re.search(r"\s(?:>|\|)\s|\s+#\s", command)
    if found is None:
        return command, "", ""
    return command[: found.start()], found.group(), command[found.end() :]


def _commands(text: str) -> Iterator[str]:
    """The block's commands: continuation lines joined, comment-only lines left out."""
    for line in text.replace("\\\n", " ").splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            yield line


def _script(text: str, skipped: list[str]) -> str:
    """A shell block as the test runs it (see the module docstring)."""
    out = []
    for line in _commands(text):
        kept = []
        for part in line.split(" && "):
            why = next((r for p, r in NEEDS_PYPI.items() if part.strip().startswith(p)), None)
            if why is not None:
                skipped.append(f"{part.strip()}: {why}")
            else:
                kept.append(_faked(part))
        if kept:
            out.append(" && ".join(kept))
    return "\n".join(out) + "\n"


def _run(script: str, cwd: Path, env: dict[str, str], ok: Container[int] = (0,)) -> str:
    done = subprocess.run(
        ["bash", "-e", "-c", script], cwd=cwd, env=env, capture_output=True, text=True,
        timeout=300, check=False,
    )  # fmt: skip
    assert done.returncode in ok, f"exit {done.returncode}\n{script}\n{done.stdout}\n{done.stderr}"
    assert "Traceback" not in done.stderr, done.stderr
    return done.stdout


@pytest.mark.parametrize("block", _ids("bash"))
def test_shell_block(block: Block, tmp_path: Path) -> None:
    env = _workdir(tmp_path)
    skipped: list[str] = []
    script = _script(block.text, skipped)
    _run(script, tmp_path, env)
    if "--out works.jsonl.gz" in block.text:
        assert (tmp_path / "works.jsonl.gz").exists()
    if "--state state.json" in block.text:
        assert (tmp_path / "state.json").exists()
        _run(script, tmp_path, env)  # the next day's run of the same command updates it


# -- the synopsis --------------------------------------------------------------------------


@pytest.mark.parametrize("block", _ids("synopsis"))
def test_synopsis(block: Block, tmp_path: Path) -> None:
    env = _workdir(tmp_path)
    ran = []
    for line in _commands(block.text):
        if any(line.startswith(key) for key in SYNOPSIS_SKIPPED):
            continue
        command = re.sub(r"\s*\[[^\]]*\]", "", line)  # optional parts left out
        verb = command.split()[1]
        _run(_faked(command), tmp_path, env, EXIT_OK.get(verb, (0,)))
        ran.append(verb)
    assert "get" in ran and "check" in ran
    lines = (tmp_path / "works.jsonl").read_text(encoding="utf-8").splitlines()
    dois = [ln for ln in (ROOT / "examples" / "more-dois.txt").read_text().splitlines() if ln]
    assert len(lines) == 2 + len(dois)  # two DOIs on the command line, the file's
    stale = [
        k for k in SYNOPSIS_SKIPPED if not any(ln.startswith(k) for ln in block.text.splitlines())
    ]
    assert not stale, stale


# -- Slurm and Kubernetes ------------------------------------------------------------------


PASSWORD = "readme-test-password"


@pytest.fixture(scope="module")
def budget_server() -> Iterator[Any]:
    """One redis-server for both recipes: the second finds the identity known, and skips the
    cold-start pause (one lease TTL) a new server imposes."""
    with redis_server(password=PASSWORD) as server:
        yield server


def _sbatch(bin_dir: Path) -> None:
    """A ``sbatch`` that runs the script once per index of ``--array=A-B``, in turn."""
    (bin_dir / "sbatch").write_text(
        textwrap.dedent(
            """\
            #!/bin/bash -e
            for arg in "$@"; do
              case "$arg" in
                --array=*) range="${arg#--array=}"; range="${range%%%*}";;
                -*) ;;
                *) script="$arg";;
              esac
            done
            for ((i=${range%-*}; i<=${range#*-}; i++)); do
              SLURM_ARRAY_TASK_ID=$i bash "$script"
            done
            """
        )
    )
    (bin_dir / "sbatch").chmod(0o755)


def test_slurm_recipe(tmp_path: Path, budget_server: Any) -> None:
    login, job = (param.values[0] for param in _ids("slurm"))
    assert "sbatch --array" in login.text and "#SBATCH" in job.text
    env = _workdir(tmp_path)
    _sbatch(tmp_path / ".venv" / "bin")
    host = budget_server.url.split("@")[-1].split("/")[0]
    env["REDIS_PASSWORD"] = PASSWORD
    skipped: list[str] = []
    job_text = job.text.replace("login01:6379", host)
    (tmp_path / "harvest.sh").write_text(_script(job_text, skipped))
    # The README's redis-server (0.0.0.0:6379) is not started: budget_server stands for it.
    commands = _script(login.text, skipped).splitlines()
    _run("\n".join(c for c in commands if not c.startswith("redis-server ")), tmp_path, env)
    assert not skipped
    shards = len(json.loads((tmp_path / "plan.json").read_text())["shards"])
    parts = sorted(p.name for p in tmp_path.glob("part-*.jsonl.gz"))
    assert parts == sorted(f"part-{i}.jsonl.gz" for i in range(shards))


def _container_command(text: str) -> str:
    """The Job's container command: the folded ``args`` scalar, joined."""
    lines = text.splitlines()
    start = next(k for k, line in enumerate(lines) if line.strip() == "- >-") + 1
    folded = []
    for line in lines[start:]:
        if line.strip().endswith(":") or line.strip().startswith("env:"):
            break
        folded.append(line.strip())
    return " ".join(folded)


@pytest.mark.parametrize("block", _ids("kubernetes"))
def test_kubernetes_job(block: Block, tmp_path: Path, budget_server: Any) -> None:
    env = _workdir(tmp_path)
    command = _faked(_container_command(block.text))
    command = command.replace("/plan/", f"{tmp_path}/plan/").replace("/data/", f"{tmp_path}/data/")
    (tmp_path / "plan").mkdir()
    (tmp_path / "data").mkdir()
    # "Same plan" as the Slurm recipe's, made by its command, mounted at /plan.
    login = next(
        param.values[0] for param in _ids("slurm") if "sbatch --array" in param.values[0].text
    )
    plan = next(line for line in _commands(login.text) if line.startswith("crossref-async plan"))
    _run(_faked(plan.replace("> plan.json", "> plan/plan.json")), tmp_path, env)
    shards = len(json.loads((tmp_path / "plan" / "plan.json").read_text())["shards"])
    # The Secret and the env of the container spec.
    env = {**env, "CROSSREF_BUDGET": budget_server.url, "CROSSREF_MAILTO": "you@example.org"}
    for index in range(shards):
        _run(command, tmp_path, {**env, "JOB_COMPLETION_INDEX": str(index)})
    assert len(list((tmp_path / "data").glob("part-*.jsonl.gz"))) == shards
