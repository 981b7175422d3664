"""Locating the recorded Crossref response corpus (../shared/crossref-corpus).

The corpus lives beside the repository, never inside it. Set ``CROSSREF_CORPUS`` to use another
copy. Locally a missing corpus skips the tests that need it; in CI (``CI`` set) it fails them,
because a skipped conformance test proves nothing.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent


def corpus_dir() -> Path:
    """The corpus folder, or a skip (locally) / failure (in CI) when it is missing."""
    path = Path(os.environ.get("CROSSREF_CORPUS", ROOT.parent / "shared" / "crossref-corpus"))
    if not (path / "manifest.json").is_file():
        message = f"recorded response corpus not found at {path}"
        if os.environ.get("CI"):
            pytest.fail(message + " (CI needs ../shared beside the clone)")
        pytest.skip(message, allow_module_level=True)
    return path


@dataclass(frozen=True)
class Recording:
    """One recorded response: body file, status, request URI, headers and manifest entry."""

    path: Path
    status: int | None
    uri: str
    message_type: str | None
    is_json: bool
    entry: dict[str, Any]

    @property
    def body(self) -> bytes:
        return self.path.read_bytes()

    @property
    def headers(self) -> dict[str, str]:
        sibling = self.path.with_name(self.path.name.rsplit(".", 1)[0] + ".headers.json")
        if not sibling.is_file():
            return {}
        data: dict[str, Any] = json.loads(sibling.read_text())
        return dict(data.get("headers") or {})

    @property
    def name(self) -> str:
        return str(self.entry["file"])


def recordings() -> Iterator[Recording]:
    """Every file listed in the corpus manifest."""
    base = corpus_dir()
    for entry in json.loads((base / "manifest.json").read_text()):
        status = entry.get("http_status")
        yield Recording(
            path=base / entry["file"],
            status=int(status) if status not in (None, "") else None,
            uri=entry.get("uri") or "",
            message_type=entry.get("message_type"),
            is_json=bool(entry.get("json")),
            entry=entry,
        )
