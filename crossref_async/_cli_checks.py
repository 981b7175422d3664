"""What the command line checks before its first request: the files it reads, the folders it
writes into, the values of its options, and the DOIs of a ``get`` listing.

Each problem is an error of one or two lines naming the value and the rule; the command
line maps them to exit statuses (see :mod:`crossref_async.cli`).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ._errors import ValidationError
from ._params import doi_key, normalize_doi

__all__ = [
    "Dois",
    "PathProblem",
    "UsageError",
    "nonblank",
    "prepare_output",
    "read_dois",
    "read_text",
    "whole_number",
]

#: The name that stands for standard input (``--file -``) or output (``--out -``).
STDIO = "-"


class PathProblem(ValidationError):
    """A file or folder named on the command line cannot be read or written: missing, a
    folder where a file is wanted, no permission, not UTF-8 text. ``option`` says which
    option named it, ``path`` is the path as given.

    >>> print(PathProblem("--file", "more-dois.txt", "no such file"))
    --file more-dois.txt: no such file
    """

    def __init__(self, option: str, path: str | Path, problem: str) -> None:
        self.option = option
        self.path = str(path)
        super().__init__(self.path, problem)
        self.args = (f"{option} {self.path}: {problem}",)


class UsageError(ValidationError):
    """Options that do not go together or a value the command cannot use (exit status 2).

    >>> print(UsageError("--query", "''", "an empty query matches nothing; leave --query out"))
    --query '': an empty query matches nothing; leave --query out
    """

    def __init__(self, option: str, shown: str, problem: str) -> None:
        super().__init__(shown, problem)
        self.args = (f"{option} {shown}: {problem}",)


def _os_problem(exc: OSError) -> str:
    if isinstance(exc, FileNotFoundError):
        return "no such file"
    if isinstance(exc, IsADirectoryError):
        return "is a folder, not a file"
    if isinstance(exc, PermissionError):
        return "cannot be read: permission denied"
    return f"cannot be read: {exc.strerror or exc}"


def read_text(path: Path, option: str) -> str:
    """The UTF-8 text of ``path`` (standard input for ``-``), or a :class:`PathProblem`.

    >>> try:
    ...     read_text(Path("no/such/file.txt"), "--file")
    ... except PathProblem as exc:
    ...     print(exc)
    --file no/such/file.txt: no such file
    """
    if str(path) == STDIO:
        return sys.stdin.read()
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise PathProblem(option, path, _os_problem(exc)) from None
    except UnicodeDecodeError as exc:
        raise PathProblem(option, path, f"not UTF-8 text (byte {exc.start})") from None


def prepare_output(path: Path, option: str = "--out") -> None:
    """Make sure ``path`` can be written: create its missing folders (as a harvest does for
    its output) and refuse a folder or a place that cannot be written. ``-`` (standard
    output) needs nothing."""
    if str(path) == STDIO:
        return
    if path.is_dir():
        raise PathProblem(option, path, "is a folder; give a file name")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        reason = "a file is in the way" if isinstance(exc, FileExistsError) else exc.strerror
        raise PathProblem(option, path, f"its folder cannot be created: {reason}") from None
    if not os.access(path.parent, os.W_OK | os.X_OK):
        raise PathProblem(option, path, "its folder cannot be written: permission denied")


def whole_number(low: int) -> Callable[[str], int]:
    """An argparse ``type=`` accepting whole numbers from ``low`` up; the error names the
    value and the rule."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = low - 1
        if value < low:
            raise argparse.ArgumentTypeError(f"{text!r}: must be a whole number, {low} or more")
        return value

    return parse


def nonblank(option: str, value: str | None) -> None:
    """Refuse an empty or blank ``value`` given for ``option``: an empty query is not "no
    query" (leaving the option out is).

    >>> try:
    ...     nonblank("--query", "  ")
    ... except UsageError as exc:
    ...     print(exc)
    --query '  ': an empty query matches nothing; give words or leave --query out
    """
    if value is not None and not value.strip():
        rule = f"an empty query matches nothing; give words or leave {option} out"
        raise UsageError(option, repr(value), rule)


@dataclass
class Dois:
    """The DOIs of a ``get``: each once, in first-seen order (normalized), with the lines
    that were not DOIs and the DOIs given more than once.

    ``bad`` holds ``where: value: rule`` lines (``where`` is ``file:line`` or ``argument N``);
    ``repeats`` maps each repeated DOI to every place it was given.
    """

    dois: list[str] = field(default_factory=list)
    bad: list[str] = field(default_factory=list)
    repeats: dict[str, list[str]] = field(default_factory=dict)


def read_dois(arguments: Sequence[str], lines: Iterable[tuple[str, str]]) -> Dois:
    """Check the DOIs given as ``arguments`` and as ``(where, text)`` lines; blank lines are
    skipped. Nothing is refused whole: the caller goes on with the good ones.

    >>> got = read_dois(["10.5555/1"], [("f:1", "doi:10.5555/1"), ("f:2", "nope"), ("f:3", "")])
    >>> got.dois, got.repeats
    (['10.5555/1'], {'10.5555/1': ['argument 1', 'f:1']})
    >>> print(*got.bad)
    f:2: 'nope': a DOI looks like 10.<registrant digits>/<suffix>
    """
    given = [(f"argument {n}", doi) for n, doi in enumerate(arguments, 1)]
    result = Dois()
    places: dict[str, list[str]] = {}
    first: dict[str, str] = {}
    for where, text in [*given, *lines]:
        if not text.strip():
            continue
        try:
            doi = normalize_doi(text)
        except ValidationError as exc:
            result.bad.append(f"{where}: {exc}")
            continue
        key = doi_key(doi)
        if key not in first:
            first[key] = doi
            result.dois.append(doi)
        places.setdefault(key, []).append(where)
    result.repeats = {first[k]: where for k, where in places.items() if len(where) > 1}
    return result
