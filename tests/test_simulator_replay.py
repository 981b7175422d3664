"""Every recorded request, replayed against the simulator: the two cannot drift apart again.

For each request in ``../shared/crossref-corpus/manifest.json`` whose route the simulator
serves, the same method, path and query go to the simulator; the answer must have the
recorded status and ``message-type``, and the key sets of its message must match the
recording: the envelope of a list exactly; a record's keys must include the recording's
(records differ in which optional fields they carry, so keys that only some records have are
named below, each with why); one level down the same, for list items and nested objects.

The recorded identifiers (a DOI, member, ISSN, funder, prefix) are not in the synthetic
corpus, so each is replaced by one of the corpus of the same kind, and a work by a corpus
work of the same type: the request keeps its shape and parameters, and asks about a record
that exists. Identifiers that were recorded as unknown (404) are kept, so they stay unknown.
Requests whose behaviour another part of issue 13 builds are skipped with a ``needs ...``
reason, to be turned on when that part lands.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, quote, unquote, urlencode, urlsplit

import httpx
import pytest
from _corpus import Recording, recordings

from crossref_async.testing import FakeCrossref

Record = dict[str, Any]


@pytest.fixture(scope="module")
def sim() -> FakeCrossref:
    return FakeCrossref(works=3000, seed=0, limits="unmetered")


@pytest.fixture
async def http(sim: FakeCrossref) -> AsyncIterator[httpx.AsyncClient]:
    async with sim.client() as client:
        yield client


# Keys a record carries only when it has that metadata: a recorded record with one of them
# proves nothing about a synthetic record without it.
OPTIONAL: dict[str, frozenset[str]] = {
    "work": frozenset(
        # present or not by record, on the real API as here
        [
            "abstract",
            "accepted",
            "alternative-id",
            "approved",
            "archive",
            "article-number",
            "assertion",
            "author",
            "chair",
            "clinical-trial-number",
            "container-title",
            "content-created",
            "content-updated",
            "degree",
            "description",
            "edition-number",
            "editor",
            "event",
            "funder",
            "group-title",
            "institution",
            "ISBN",
            "isbn-type",
            "ISSN",
            "issn-type",
            "issue",
            "journal-issue",
            "language",
            "license",
            "link",
            "page",
            "posted",
            "published-online",
            "published-other",
            "published-print",
            "publisher-location",
            "reference",
            "relation",
            "review",
            "special_numbering",
            "standards-body",
            "subject",
            "subtitle",
            "short-title",
            "short-container-title",
            "subtype",
            "translator",
            "update-policy",
            "update-to",
            "updated-by",
            "version",
            "volume",
            "original-title",
            "aliases",
            "project",
            "award",
            "award-start",
        ]
    ),
    # Members and journals: counts by type and coverage by period exist once there are
    # works of that type or period; funders list descendants when they have some.
    "member": frozenset(),
    "journal": frozenset(),
    "funder": frozenset(["descendants", "hierarchy-names"]),
    "prefix": frozenset(),
    "type": frozenset(),
}


@dataclass(frozen=True)
class Replay:
    """One recorded request and how to send it to the simulator."""

    recording: Recording
    method: str
    target: str  # path and query, identifiers replaced
    skip: str | None = None


# Recording folders, newest first (see the corpus README). When one request was recorded in
# several years, the newest answer is the API's behaviour; the older ones are history.
ERAS = (
    "habanero",
    "commonmeta-py",
    "caltechlibrary-crossrefapi",
    "habanero-2025-07-d385ae3",
    "rcrossref",
    "habanero-2021-10-b5b4af9",
    "rcrossref-2019-05-39e137a",
)


def _era(rec: Recording) -> int:
    folder = rec.name.split("/", 1)[0]
    return ERAS.index(folder) if folder in ERAS else len(ERAS)


def _kind(rec: Recording) -> str:
    path = urlsplit(rec.uri).path.removeprefix("/v1").strip("/")
    return path.split("/", 1)[0]


def _richest_by_type(sim: FakeCrossref) -> dict[str, Record]:
    """The corpus work with the most fields of each type (built once: 3,000 records)."""
    richest: dict[str, Record] = {}
    for work in sim.corpus.works[: len(sim.corpus.works)]:
        best = richest.get(work["type"])
        if best is None or len(work) > len(best):
            richest[work["type"]] = work
    return richest


def _identifiers(
    sim: FakeCrossref, richest: dict[str, Record], recorded: Record | None
) -> dict[str, str]:
    """Recorded identifier -> corpus identifier, by route."""
    corpus = sim.corpus
    work_type = (recorded or {}).get("type", "journal-article")
    work = richest.get(work_type) or max(richest.values(), key=len)
    return {
        "works": str(work["DOI"]),
        "members": str(corpus.tables.members[0].id),
        "journals": corpus.journal_rows[0].issns[0][0],
        "funders": "100000001",
        "prefixes": corpus.tables.members[0].prefixes[0],
    }


def _method(rec: Recording) -> str:
    sibling = rec.path.with_name(rec.path.name.rsplit(".", 1)[0] + ".headers.json")
    if sibling.is_file():
        return str(json.loads(sibling.read_text()).get("request_method") or "GET")
    return "GET"


def _skip_reason(rec: Recording, newer: bool) -> str | None:
    if newer:
        return "superseded: the same request was recorded again more recently"
    if rec.status is not None and rec.status >= 500:
        return "not behaviour: a server fault of its day (5xx), recorded once"
    if "/transform/application/vnd.crossref.unixsd+xml" in rec.uri:
        return "not served: the simulator has no UNIXSD XML transform"
    if rec.status == 301:
        # The alias 301s are the simulator's (tests/test_simulator_wire.py); this one is the
        # load balancer's hop from http:// to https://, which no loopback server can mimic.
        return "not served: the load balancer's http -> https redirect"
    return None


def _request_key(rec: Recording) -> str:
    url = urlsplit(rec.uri)
    params = sorted(parse_qsl(url.query, keep_blank_values=True))
    return unquote(url.path.removeprefix("/v1")) + "?" + urlencode(params)


def replays(sim: FakeCrossref) -> list[Replay]:
    newest: dict[str, int] = {}
    usable = [rec for rec in recordings() if rec.uri.startswith("http") and rec.status]
    for rec in usable:  # (the others are fragments, not responses)
        key = _request_key(rec)
        newest[key] = min(newest.get(key, len(ERAS)), _era(rec))
    out = []
    richest = _richest_by_type(sim)
    for rec in usable:
        url = urlsplit(rec.uri)
        path = url.path.removeprefix("/v1")
        params = parse_qsl(url.query, keep_blank_values=True)
        # A recorded cursor token names the real server's state; a fresh walk starts at *.
        params = [(k, "*" if k == "cursor" and rec.status == 200 else v) for k, v in params]
        parts = path.strip("/").split("/")
        recorded = json.loads(rec.body).get("message") if rec.is_json else None
        if (
            len(parts) > 1
            and rec.status == 200
            and parts[0] in ("works", "members", "journals", "funders", "prefixes")
        ):
            replacement = _identifiers(
                sim, richest, recorded if isinstance(recorded, dict) else None
            )
            head = unquote("/".join(parts[1:]))
            tail = ""
            if parts[0] == "works":
                for marker in ("/agency", "/transform"):
                    at = head.find(marker)
                    if at > 0:
                        head, tail = head[:at], head[at:]
                        break
                agency = (recorded or {}).get("agency", {}).get("id") if tail == "/agency" else None
                if agency in (None, "crossref"):
                    head = replacement["works"]
            else:
                _, _, rest = head.removeprefix("10.13039/").partition("/")
                head, tail = replacement[parts[0]], ("/" + rest if rest else "")
            path = f"/{parts[0]}/{quote(head, safe='')}{tail}"
        target = path + ("?" + urlencode(params) if params else "")
        newer = newest[_request_key(rec)] < _era(rec)
        out.append(Replay(rec, _method(rec), target, _skip_reason(rec, newer)))
    return out


def _cases() -> list[Any]:
    sim = FakeCrossref(works=3000, seed=0, limits="unmetered")
    return [
        pytest.param(
            r, id=r.recording.name, marks=[pytest.mark.skip(reason=r.skip)] if r.skip else []
        )
        for r in replays(sim)
    ]


def _missing(recorded: Record, ours: Record, optional: frozenset[str]) -> set[str]:
    return set(recorded) - set(ours) - optional


def _union(items: list[Any]) -> Record:
    out: Record = {}
    for item in items:
        if isinstance(item, dict):
            for key, value in item.items():
                out.setdefault(key, value)
    return out


@pytest.mark.parametrize("replay", _cases())
async def test_recorded_request_replays(http: httpx.AsyncClient, replay: Replay) -> None:
    rec = replay.recording
    response = await http.request(replay.method, replay.target)
    assert response.status_code == rec.status, (replay.target, response.text[:300])
    if not rec.is_json or replay.method == "HEAD":
        return
    recorded = json.loads(rec.body)
    if not isinstance(recorded, dict) or "message-type" not in recorded:
        return
    ours = response.json()
    assert ours["message-type"] == recorded["message-type"]
    assert set(ours) == set(recorded)  # status, message-type, message-version, message
    message, mine = recorded["message"], ours["message"]
    kind = recorded["message-type"]
    if not isinstance(message, dict):
        assert type(mine) is type(message)
        return
    if kind.endswith("-list"):
        single = kind.removesuffix("-list")
        optional = frozenset({"next-cursor"} if "cursor" not in replay.target else set())
        assert set(mine) - optional == set(message) - optional, replay.target
        if message.get("items") and mine.get("items"):
            theirs, got = _union(message["items"]), _union(mine["items"])
            selected = "select=" in replay.target
            allowed = OPTIONAL.get(single, frozenset()) if not selected else frozenset()
            assert not _missing(theirs, got, allowed), replay.target
            _nested(theirs, got, allowed)
        return
    allowed = OPTIONAL.get(kind, frozenset())
    assert not _missing(message, mine, allowed), (replay.target, _missing(message, mine, allowed))
    _nested(message, mine, allowed)


def _nested(recorded: Record, ours: Record, allowed: frozenset[str]) -> None:
    """One level down: each nested object (or list of objects) both sides hold."""
    for key, value in recorded.items():
        if key not in ours or key in ("facets", "hierarchy", "hierarchy-names", "relation"):
            continue  # keyed by value (facet values, funder ids, relation types), not names
        mine = ours[key]
        if isinstance(value, dict) and isinstance(mine, dict):
            assert not _missing(value, mine, _NESTED_OPTIONAL), (key, set(value) - set(mine))
        elif isinstance(value, list) and isinstance(mine, list):
            theirs = _union(value)
            if theirs and mine:
                got = _union(mine)
                assert not _missing(theirs, got, _NESTED_OPTIONAL), (key, set(theirs) - set(got))


# Keys inside nested objects that only some of them carry, as the recordings show: a
# reference holds the fields of what it cites (a book's edition, a series), an author an
# ORCID iD only when one was deposited, an event a number, an institution an acronym; and a
# journal issue its online date when it was published online.
_NESTED_OPTIONAL = frozenset(
    (
        "volume-title",
        "issue",
        "edition",
        "series-title",
        "first-page",
        "journal-title",
        "volume",
        "article-title",
        "ORCID",
        "authenticated-orcid",
        "suffix",
        "acronym",
        "number",
        "published-online",
        "URL",  # a Crossmark assertion links its policy only when it has one
    )
)
