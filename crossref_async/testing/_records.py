"""JSON-shaped records, built on demand from the tables: works, members, journals, funders...

A work's indexed fields (DOI, type, dates, authors, title, container...) come from the
columns; the rest is drawn from a generator seeded by ``(seed, index)``, so a record is the
same however often, and in whatever order, it is built. Shapes follow the real records in
``../shared/crossref-corpus``: key names, nesting, partial ``date-parts``, reference entries
with and without DOIs, JATS abstracts, ``relation`` maps, ``update-to``.
"""

from __future__ import annotations

import calendar
import functools
import random
import re
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import msgspec

from . import _tables as tb
from . import _vocab as v

Record = dict[str, Any]

#: Work keys the simulator sends that the recorded corpus does not show (the recordings
#: predate them), each as Crossref documents it: ``aliases`` (February 2025: the alias DOIs
#: of a primary record).
UNRECORDED_WORK_KEYS: frozenset[str] = frozenset({"aliases"})

_INDEX_VERSION = "3.50.1"
_CURRENT_FROM_YEAR = tb.CORPUS_NOW.year - 2  # Crossref's "current": this year and the two before
_METRICS = (
    "affiliations",
    "abstracts",
    "orcids",
    "licenses",
    "references",
    "funders",
    "similarity-checking",
    "award-numbers",
    "ror-ids",
    "update-policies",
    "resource-links",
    "descriptions",
)
_TOKEN = re.compile(r"\w+")
_encode = msgspec.json.Encoder().encode
_SCORE_TAIL = b',"score":1.0}'
_POOL_SIZE = 2048
# Kinds of reference (see WorkBuilder._reference_plan).
_CITED, _OUTSIDE, _UNMATCHED, _FREE = range(4)


def tokens(text: str) -> list[str]:
    """Lower-case word tokens of ``text`` (the same rule everywhere: records, queries)."""
    return _TOKEN.findall(text.casefold())


def stamp(ts: int, ms: int = 0) -> Record:
    """A full Crossref date (``created``, ``deposited``...): parts, ISO time and milliseconds."""
    g = time.gmtime(ts)
    return {
        "date-parts": [[g.tm_year, g.tm_mon, g.tm_mday]],
        "date-time": time.strftime("%Y-%m-%dT%H:%M:%SZ", g),
        "timestamp": ts * 1000 + ms,
    }


def _mix(seed: int, i: int, salt: int) -> int:
    """A cheap deterministic hash of (seed, work, salt): for the few fields that must agree
    between a work's own record and the references that cite it (volume, issue, page)."""
    x = (seed * 0x9E3779B1 + i * 0x85EBCA77 + salt * 0xC2B2AE3D) & 0xFFFFFFFF
    x ^= x >> 15
    x = (x * 0x2C1B3C6D) & 0xFFFFFFFF
    return x ^ (x >> 12)


_MONTHS = v.words(
    "January February March April May June July August September October November December"
)


def _day_text(ts: int) -> str:
    """``3 March 2010``: how assertions write dates (locale-independent, unlike strftime)."""
    g = time.gmtime(ts)
    return f"{g.tm_mday} {_MONTHS[g.tm_mon - 1]} {g.tm_year}"


def _pick(rng: random.Random, options: tuple[str, ...]) -> str:
    # random.choice and randrange cost several times a plain float draw; records make
    # hundreds of draws each, so this is most of the build time saved.
    return options[int(rng.random() * len(options))]


def _below(rng: random.Random, low: int, high: int | None = None) -> int:
    """``randrange(low, high)`` (or ``randrange(low)``) from one float draw."""
    if high is None:
        low, high = 0, low
    return low + int(rng.random() * (high - low))


def _domain(member: tb.MemberRow) -> str:
    slug = "-".join(tokens(member.name)[:2])
    return f"www.{slug}.example"


def crossmark_restricted(member: tb.MemberRow) -> bool:
    """Whether a member restricts Crossmark to its content domains (one in seven do)."""
    return member.code % 7 == 3


def _parts(ts: int) -> list[int]:
    g = time.gmtime(ts)
    return [g.tm_year, g.tm_mon, g.tm_mday]


@dataclass(frozen=True)
class Update:
    """One update: notice ``notice`` updates work ``target`` (a correction or a retraction),
    asserted by ``source`` (``publisher`` or ``retraction-watch``, whose entries carry the
    Retraction Watch database's ``record-id``)."""

    notice: int
    target: int
    kind: str
    source: str
    when: int
    record_id: str | None = None

    def entry(self, doi: str) -> Record:
        """The ``update-to`` (``doi``: the target's) or ``updated-by`` (the notice's) entry."""
        out: Record = {
            "DOI": doi,
            "type": self.kind,
            "label": self.kind.capitalize(),
            "source": self.source,
            "updated": stamp(self.when),
        }
        if self.record_id is not None:
            out["record-id"] = self.record_id
        return out


class WorkBuilder:
    """Builds full work records from the tables (see the module docstring)."""

    def __init__(self, tables: tb.Tables) -> None:
        self.t = tables
        self.hostile = min(tables.n, len(tb.HOSTILE_DOIS))

    # -- facts shared by a work and the references to it ---------------------------------

    def year(self, i: int) -> int | None:
        """The publication year of work ``i``, or None when it has no date."""
        packed = self.t.columns.pub[i]
        return packed // 10000 if packed else None

    def volume(self, i: int) -> str | None:
        """Volume of a journal work: years since the journal started."""
        c = self.t.columns
        year = self.year(i)
        if c.container[i] < 0 or year is None:
            return None
        container = self.t.containers[c.container[i]]
        if container.kind != tb.JOURNAL:
            return None
        return str(max(1, year - container.year + 1))

    def issue(self, i: int) -> str:
        """Issue number (1 to 12; a showcase work's own)."""
        shown = self.t.showcase.get(i)
        if shown is not None:
            return shown.issue
        return str(1 + _mix(self.t.seed, i, 1) % 12)

    def pages(self, i: int) -> str:
        """``first-last`` page range, or an electronic article number (``e1234567``)."""
        shown = self.t.showcase.get(i)
        if shown is not None:
            return shown.pages
        h = _mix(self.t.seed, i, 2)
        if h % 4 == 0:
            return f"e{1_000_000 + h % 9_000_000}"
        first = 1 + h % 1500
        return f"{first}-{first + 3 + (h >> 11) % 30}"

    def short_author(self, person: int) -> str:
        """``J Howaldt``: how reference lists name a first author."""
        row = self.t.people[person]
        return f"{row.given[0]} {row.family}"

    @functools.lru_cache(maxsize=16_384)  # noqa: B019 - one builder per corpus
    def citation(self, i: int) -> str:
        """A Vancouver-style citation string of work ``i`` (used as ``unstructured``)."""
        c = self.t.columns
        authors = ", ".join(
            f"{self.t.people[p].family} {self.t.people[p].given[0]}" for p in c.authors_of(i)[:3]
        )
        text = f"{authors}. {self.t.title_text(i)}."
        if c.container[i] >= 0:
            text += f" {self.t.containers[c.container[i]].title}."
        year = self.year(i)
        if year is not None:
            text += f" {year}"
            volume = self.volume(i)
            if volume:
                text += f";{volume}({self.issue(i)})"
            text += f":{self.pages(i)}."
        return text

    # -- the record ---------------------------------------------------------------------

    def build(self, i: int) -> Record:
        """The full record of work ``i``, keys in the order Crossref tends to send them,
        ``reference`` and ``score`` last (the server splices a query's score there)."""
        record, plan = self._build(i)
        score = record.pop("score")
        if plan:
            record["reference"] = self._reference_dicts(i, plan)
        record["score"] = score
        return record

    def bare(self, i: int) -> Record:
        """:meth:`build` without ``reference`` (cheaper: what filters and facets read)."""
        return self._build(i)[0]

    def encode(self, i: int) -> bytes:
        """:meth:`build` encoded as JSON, faster: the reference list (most of a record) is
        assembled from cached per-target fragments rather than built and encoded anew."""
        record, plan = self._build(i)
        body = _encode(record)
        if not plan:
            return body
        assert body.endswith(_SCORE_TAIL)
        return b"".join(
            (
                body[: -len(_SCORE_TAIL)],
                b',"reference":',
                self._reference_bytes(i, plan),
                _SCORE_TAIL,
            )
        )

    def _build(self, i: int) -> tuple[Record, list[tuple[int, int]]]:
        """The record without its references, and the plan of its reference list."""
        t = self.t
        c = t.columns
        rng = random.Random(t.seed * 4_294_967_296 + i)
        plan = self._reference_plan(i, rng)
        r = rng.random
        doi = c.doi[i]
        type_id = t.type_id(i)
        member = t.members[c.member[i]]
        container = t.containers[c.container[i]] if c.container[i] >= 0 else None
        flags = c.flags[i]
        domain = _domain(member)
        pub = c.pub[i]
        parts = tb.pub_parts(pub) if pub else None
        w: Record = {}
        w["indexed"] = {**stamp(c.indexed[i], (i * 37) % 1000), "version": _INDEX_VERSION}
        w["reference-count"] = c.refs[i]
        w["publisher"] = member.name
        volume = self.volume(i)
        if container is not None and container.kind == tb.JOURNAL:
            w["issue"] = self.issue(i)
        if flags & tb.LICENSED:
            w["license"] = self._licenses(c.license[i], parts, r)
        if flags & tb.FUNDED:
            w["funder"] = [self._funder(code, rng) for code in c.funder_codes(i)]
        w["content-domain"] = {
            "domain": [domain],
            "crossmark-restriction": crossmark_restricted(member),
        }
        if container is not None and container.kind == tb.JOURNAL:
            w["short-container-title"] = [container.short_title]
        if flags & tb.ABSTRACT:
            w["abstract"] = self._abstract(i, rng)
        w["DOI"] = doi
        w["type"] = type_id
        w["created"] = stamp(c.created[i])
        if container is None or container.kind != tb.PROCEEDINGS or r() < 0.5:
            w["page"] = self.pages(i)
            if w["page"].startswith("e"):  # an electronic article number, not a page range
                w["article-number"] = w["page"][1:]
        if member.code % 3 == 0:
            w["update-policy"] = f"https://doi.org/{member.prefixes[0]}/crossmark_policy"
        w["source"] = "Crossref"
        w["is-referenced-by-count"] = c.cited_by[i]
        w["title"] = [t.title_text(i)]
        w["prefix"] = t.prefix(i)
        if volume:
            w["volume"] = volume
        authors = c.authors_of(i)
        if authors:
            w["author"] = [self._author(p, k) for k, p in enumerate(authors)]
        if type_id in ("book", "edited-book", "monograph") and r() < 0.5:
            w["editor"] = [self._editor(rng)]
        w["member"] = str(member.id)
        if parts is not None:
            self._publication_dates(w, type_id, parts, r)
        w["container-title"] = [container.title] if container is not None else []
        w["original-title"] = []
        if r() < 0.9:
            w["language"] = v.LANGUAGES[c.language[i]]
        if flags & tb.FULL_TEXT:
            w["link"] = self._links(doi, domain)
        w["deposited"] = stamp(c.deposited[i])
        w["resource"] = {"primary": {"URL": f"https://{domain}/doi/{quote(doi, safe='/')}"}}
        w["subtitle"] = []
        w["short-title"] = []
        w["issued"] = {"date-parts": [parts if parts is not None else [None]]}
        w["references-count"] = c.refs[i]
        if container is not None and container.kind == tb.JOURNAL and parts is not None:
            w["journal-issue"] = {
                "issue": w["issue"],
                "published-print": {"date-parts": [parts[:1]]},
            }
        self._type_specific(w, i, type_id, container, member, parts, rng)
        if member.code % 2 == 0:
            w["alternative-id"] = [doi.split("/", 1)[1].rsplit(".", 1)[-1]]
        if member.code % 4 == 1:
            w["archive"] = ["Portico"]
        w["URL"] = f"https://doi.org/{doi}"
        aliases = t.aliases.get(i)
        if aliases:
            w["aliases"] = list(aliases)
        if flags & tb.RELATION:
            w["relation"] = self._relation(i, type_id, rng)
        self._extras(w, i, type_id)
        updates = self.updates_of(i)
        if updates:
            w["update-to"] = [update.entry(c.doi[update.target]) for update in updates]
        updated_by = self.updated_by(i)
        if updated_by:
            w["updated-by"] = [update.entry(c.doi[update.notice]) for update in updated_by]
        if container is not None and container.kind == tb.JOURNAL:
            w["ISSN"] = [value for value, _ in container.issns]
            w["issn-type"] = [{"value": value, "type": kind} for value, kind in container.issns]
            w["subject"] = [v.SUBJECTS[s][1] for s in container.subjects]
        if parts is not None:
            w["published"] = {"date-parts": [parts]}
            if type_id == "journal-article" and r() < 0.4:
                w["assertion"], accepted = self._history(c.created[i], r)
                w["accepted"] = {"date-parts": [_parts(accepted)]}
        w["score"] = 1.0
        return w, plan

    def _extras(self, w: Record, i: int, type_id: str) -> None:
        """Fields drawn from a hash of the work rather than its generator, so adding them
        left every earlier field of every record as it was."""
        h = _mix(self.t.seed, i, 6)
        if type_id == "journal-article" and h % 40 == 0:
            registry, head = v.TRIAL_REGISTRIES[(h >> 8) % len(v.TRIAL_REGISTRIES)]
            number = f"{head}{(h >> 10) % 10**8:08d}"
            w["clinical-trial-number"] = [{"clinical-trial-number": number, "registry": registry}]
        if type_id == "dataset":
            w["description"] = f"Measurements for {self.t.title_text(i).lower()}"
        if type_id == "posted-content":
            w["version"] = {"version": f"v{1 + (h >> 4) % 3}"}

    # -- updates (corrections, retractions) ------------------------------------------------

    def updates_of(self, i: int) -> tuple[Update, ...]:
        """The updates that work ``i`` (an update notice) makes: its ``update-to``. A
        retraction that Retraction Watch also records is listed twice, once per source,
        as Crossref lists it."""
        c = self.t.columns
        if not c.flags[i] & tb.UPDATE or self.t.n < 2:
            return ()
        h = _mix(self.t.seed, i, 7)
        target = h % self.t.n
        if target == i:
            target = (target + 1) % self.t.n
        kind = "retraction" if (h >> 20) % 5 < 2 else "correction"
        when = c.created[i]
        out = [Update(i, target, kind, "publisher", when)]
        if kind == "retraction" and (h >> 24) % 4:  # Retraction Watch knows most retractions
            out.append(Update(i, target, kind, "retraction-watch", when, str(10_000 + i)))
        return tuple(out)

    def updated_by(self, j: int) -> tuple[Update, ...]:
        """The updates made to work ``j`` (its ``updated-by``), oldest notice first."""
        return self._updated_by().get(j, ())

    @functools.cache  # noqa: B019 - computed once per corpus
    def _updated_by(self) -> dict[int, tuple[Update, ...]]:
        out: dict[int, list[Update]] = {}
        flags = self.t.columns.flags
        for i in range(self.t.n):
            if flags[i] & tb.UPDATE:
                for update in self.updates_of(i):
                    out.setdefault(update.target, []).append(update)
        return {j: tuple(updates) for j, updates in out.items()}

    def _other(self, i: int, rng: random.Random) -> int:
        n = self.t.n
        j = int(rng.random() * n)
        return (j + 1) % n if j == i and n > 1 else j

    def _publication_dates(self, w: Record, type_id: str, parts: list[int], r: Any) -> None:
        """``published-online``/``-print`` (``published`` is the earliest of them)."""
        if type_id == "posted-content":
            w["posted"] = {"date-parts": [parts]}
            return
        if type_id in ("book", "monograph", "edited-book", "reference-book", "dissertation"):
            w["published-print"] = {"date-parts": [parts]}
            return
        roll = r()
        if roll < 0.8:
            w["published-online"] = {"date-parts": [parts]}
        if roll >= 0.4:
            later = roll > 0.9 and len(parts) > 1
            print_parts = [parts[0] + 1] if later else parts[:2] if roll < 0.8 else parts
            w["published-print"] = {"date-parts": [print_parts]}

    def _history(self, created: int, r: Any) -> tuple[list[Record], int]:
        """Crossmark publication-history assertions (received, accepted, published), and
        the accepted time (the record's ``accepted`` date)."""
        group = {"name": "publication_history", "label": "Publication History"}
        received = created - (60 + int(r() * 300)) * 86_400
        accepted = received + (20 + int(r() * 120)) * 86_400
        history = [
            {
                "value": _day_text(ts),
                "order": order,
                "name": name,
                "label": name.capitalize(),
                "group": group,
            }
            for order, (name, ts) in enumerate(
                (("received", received), ("accepted", accepted), ("published", created)), 1
            )
        ]
        return history, accepted

    def _author(self, person: int, position: int) -> Record:
        row = self.t.people[person]
        out: Record = {}
        if row.orcid:
            out["ORCID"] = f"https://orcid.org/{row.orcid}"
            out["authenticated-orcid"] = row.authenticated
        out["given"] = row.given
        out["family"] = row.family
        out["sequence"] = "first" if position == 0 else "additional"
        out["affiliation"] = []
        if row.affiliation >= 0:
            affiliation: Record = {"name": v.INSTITUTIONS[row.affiliation]}
            if person % 3:  # two in three publishers deposit the ROR id (since 2023)
                ror = v.INSTITUTION_RORS[row.affiliation]
                affiliation = {"id": [{"id": ror, "id-type": "ROR", "asserted-by": "publisher"}]}
                affiliation["name"] = v.INSTITUTIONS[row.affiliation]
            out["affiliation"] = [affiliation]
        out["role"] = [{"role": "author", "vocabulary": "crossref"}]
        return out

    def _editor(self, rng: random.Random) -> Record:
        return {
            "given": _pick(rng, v.GIVEN_NAMES),
            "family": _pick(rng, v.FAMILY_NAMES),
            "sequence": "first",
            "affiliation": [],
            "role": [{"role": "editor", "vocabulary": "crossref"}],
        }

    def _licenses(self, code: int, parts: list[int] | None, r: Any) -> list[Record]:
        year, month, day = ((parts or [tb.CORPUS_NOW.year]) + [1, 1])[:3]
        start = {
            "date-parts": [[year, month, day]],
            "date-time": f"{year:04d}-{month:02d}-{day:02d}T00:00:00Z",
            "timestamp": calendar.timegm((year, month, day, 0, 0, 0)) * 1000,
        }
        url = v.LICENSES[code]
        entries = [{"start": start, "content-version": "vor", "delay-in-days": 0, "URL": url}]
        if r() < 0.4:
            entries.append(
                {"start": start, "content-version": "tdm", "delay-in-days": 0, "URL": url}
            )
        return entries

    def _funder(self, code: int, rng: random.Random) -> Record:
        funder_id, name, _ = v.FUNDERS[code]
        letters = "".join(chr(65 + _below(rng, 26)) for _ in range(3))
        award = f"{letters}-{_below(rng, 100_000, 9_999_999)}"
        doi = f"10.13039/{funder_id}"
        return {
            "DOI": doi,
            "name": name,
            "doi-asserted-by": "publisher",
            "award": [award],
            "award-info": [{"award-number": [award]}],
            "id": [{"id": doi, "id-type": "DOI", "asserted-by": "publisher"}],
        }

    def _abstract(self, i: int, rng: random.Random) -> str:
        words = [tb.WORDS[c] for c in self.t.columns.title_codes(i)]
        extra = [_pick(rng, v.TITLE_WORDS) for _ in range(24)]
        first = f"We investigate {' and '.join(words[:2])} in the context of {words[-1]}."
        second = " ".join(extra[:12]).capitalize() + " were measured."
        third = f"Results indicate that {' '.join(extra[12:])} matters."
        return f"<jats:title>Abstract</jats:title><jats:p>{first} {second} {third}</jats:p>"

    def _links(self, doi: str, domain: str) -> list[Record]:
        path = quote(doi, safe="/")
        return [
            {
                "URL": f"https://{domain}/content/pdf/{path}",
                "content-type": "application/pdf",
                "content-version": "vor",
                "intended-application": "text-mining",
            },
            {
                "URL": f"https://{domain}/content/full/{path}",
                "content-type": "unspecified",
                "content-version": "vor",
                "intended-application": "similarity-checking",
            },
        ]

    def _relation(self, i: int, type_id: str, rng: random.Random) -> Record:
        kind = (
            "is-preprint-of"
            if type_id == "posted-content"
            else ("has-review", "is-supplemented-by", "has-preprint", "references")[_below(rng, 4)]
        )
        target = self.t.columns.doi[self._other(i, rng)]
        return {kind: [{"id-type": "doi", "id": target, "asserted-by": "subject"}]}

    def _reference_plan(self, i: int, rng: random.Random) -> list[tuple[int, int]]:
        """What each reference cites, as (kind, argument) pairs: about half cite corpus works
        by DOI (so citation graphs can be crawled, cycles included), some cite outside DOIs
        that never resolve here, some describe a corpus work without its DOI (unmatched
        citations), the rest are free text. Kinds: _CITED (a work), _OUTSIDE (a pool entry),
        _UNMATCHED (a work), _FREE (a pool entry)."""
        t = self.t
        n_refs = t.columns.refs[i]
        if not n_refs:
            return []
        r = rng.random
        plan = []
        partner = i ^ 1
        for k in range(n_refs):
            roll = r()
            if k == 0 and self.hostile <= partner < t.n and i >= self.hostile:
                # Neighbours cite each other: a guaranteed cycle for crawl tests.
                plan.append((_CITED, partner))
            elif roll < 0.45:
                plan.append((_CITED, self._other(i, rng)))
            elif roll < 0.6:
                plan.append((_OUTSIDE, int(r() * _POOL_SIZE)))
            elif roll < 0.7:
                plan.append((_UNMATCHED, self._other(i, rng)))
            else:
                plan.append((_FREE, int(r() * _POOL_SIZE)))
        return plan

    def key_base(self, i: int) -> str:
        """What the ``key`` of each of work ``i``'s references starts with (``CR`` or
        ``ref``); the keys are it followed by 1, 2, ... up to ``reference-count``."""
        return "CR" if self.t.members[self.t.columns.member[i]].code % 2 else "ref"

    def _reference_dicts(self, i: int, plan: list[tuple[int, int]]) -> list[Record]:
        key_base = self.key_base(i)
        out: list[Record] = []
        for k, (kind, arg) in enumerate(plan, 1):
            if kind == _CITED:
                out.append({"key": f"{key_base}{k}", **self.doi_reference(arg)})
            elif kind == _OUTSIDE:
                doi, text = self._outside_pool()[arg]
                out.append(
                    {"key": f"{key_base}{k}", "doi-asserted-by": "publisher", "DOI": doi,
                     "unstructured": text}
                )  # fmt: skip
            elif kind == _UNMATCHED:
                out.append({"key": f"{key_base}{k}", "unstructured": self.citation(arg)})
            else:
                out.append({"key": f"{key_base}{k}", "unstructured": self._free_pool()[arg]})
        return out

    def _reference_bytes(self, i: int, plan: list[tuple[int, int]]) -> bytes:
        """The JSON of :meth:`_reference_dicts`, from cached fragments (same keys, same
        order, same values)."""
        key_base = self.key_base(i).encode()
        fragments: dict[int, Callable[[int], bytes]] = {
            _CITED: self._cited_fragment,
            _OUTSIDE: self._outside_fragments().__getitem__,
            _UNMATCHED: self._unmatched_fragment,
            _FREE: self._free_fragments().__getitem__,
        }
        parts = [
            b'{"key":"%s%d",%s}' % (key_base, k, fragments[kind](arg))
            for k, (kind, arg) in enumerate(plan, 1)
        ]
        return b"[" + b",".join(parts) + b"]"

    @functools.lru_cache(maxsize=65_536)  # noqa: B019 - one builder per corpus, kept for its life
    def _cited_fragment(self, j: int) -> bytes:
        return _encode(self.doi_reference(j))[1:-1]

    @functools.lru_cache(maxsize=16_384)  # noqa: B019 - one builder per corpus
    def _unmatched_fragment(self, j: int) -> bytes:
        return b'"unstructured":' + _encode(self.citation(j))

    @functools.cache  # noqa: B019 - computed once per corpus
    def _outside_fragments(self) -> list[bytes]:
        return [
            _encode({"doi-asserted-by": "publisher", "DOI": doi, "unstructured": text})[1:-1]
            for doi, text in self._outside_pool()
        ]

    @functools.cache  # noqa: B019 - computed once per corpus
    def _free_fragments(self) -> list[bytes]:
        return [b'"unstructured":' + _encode(text) for text in self._free_pool()]

    @functools.lru_cache(maxsize=65_536)  # noqa: B019 - one builder per corpus, kept for its life
    def doi_reference(self, j: int) -> Record:
        """How other works cite work ``j`` by DOI (without the citing work's ``key``).
        Which optional fields appear depends on ``j`` only, so every citation of a work
        agrees. Callers copy the mapping; it is shared."""
        c = self.t.columns
        h = _mix(self.t.seed, j, 4)
        ref: Record = {"doi-asserted-by": "crossref" if h % 10 < 7 else "publisher"}
        volume = self.volume(j)
        if volume:
            ref["first-page"] = self.pages(j).split("-")[0]
        ref["DOI"] = c.doi[j]
        if (h >> 4) % 10 < 7:
            ref["article-title"] = self.t.title_text(j)
        if volume:
            ref["volume"] = volume
        authors = c.authors_of(j)
        if authors:
            ref["author"] = self.short_author(authors[0])
        year = self.year(j)
        if year is not None:
            ref["year"] = str(year)
        if volume:
            ref["journal-title"] = self.t.containers[c.container[j]].title
        return ref

    @functools.cache  # noqa: B019 - computed once per corpus
    def _free_pool(self) -> list[str]:
        """Free-text citations of works outside the corpus. A pool shared by all works (like
        the classics every paper cites) keeps record building cheap."""
        rng = random.Random(self.t.seed ^ 0x5EED_F4EE)
        return [self._free_citation(rng) for _ in range(_POOL_SIZE)]

    @functools.cache  # noqa: B019 - computed once per corpus
    def _outside_pool(self) -> list[tuple[str, str]]:
        """(DOI, citation) of outside works: DOIs that never resolve in the simulator."""
        rng = random.Random(self.t.seed ^ 0x0075_1DE0)
        return [
            (f"10.{_below(rng, 1000, 9999)}/ext.{_below(rng, 10**7)}", self._free_citation(rng))
            for _ in range(_POOL_SIZE)
        ]

    def _free_citation(self, rng: random.Random) -> str:
        family = _pick(rng, v.FAMILY_NAMES)
        given = _pick(rng, v.GIVEN_NAMES)
        words = " ".join(_pick(rng, v.TITLE_WORDS) for _ in range(6))
        topic = _pick(rng, v.JOURNAL_TOPICS)
        year = 1960 + _below(rng, 60)
        return (
            f"{family} {given[0]}. {words.capitalize()}. Rev {topic}. "
            f"{year};{_below(rng, 1, 80)}:{_below(rng, 1, 900)}."
        )

    def _type_specific(
        self,
        w: Record,
        i: int,
        type_id: str,
        container: tb.ContainerRow | None,
        member: tb.MemberRow,
        parts: list[int] | None,
        rng: random.Random,
    ) -> None:
        if container is not None and container.kind == tb.BOOK and container.isbn:
            w["ISBN"] = [container.isbn]
            w["isbn-type"] = [{"type": "print", "value": container.isbn}]
            w["publisher-location"] = member.location
        elif container is not None and container.kind == tb.PROCEEDINGS:
            year = container.year
            w["event"] = {
                "name": container.title.removeprefix("Proceedings of the "),
                "location": v.INSTITUTIONS[container.code % len(v.INSTITUTIONS)].split(", ")[-1],
                "acronym": container.short_title,
                "sponsor": [member.name],
                "start": {"date-parts": [[year, 6, 10]]},
                "end": {"date-parts": [[year, 6, 14]]},
            }
        elif type_id in ("book", "monograph", "edited-book", "reference-book"):
            digits = f"978{_mix(self.t.seed, i, 3) % 10**9:09d}"
            isbn = digits + tb.isbn13_check(digits)
            w["ISBN"] = [isbn]
            w["isbn-type"] = [{"type": "electronic", "value": isbn}]
            w["publisher-location"] = member.location
        elif type_id == "posted-content":
            w["subtype"] = "preprint"
            w["group-title"] = f"{v.JOURNAL_TOPICS[i % len(v.JOURNAL_TOPICS)]} Preprints"
            w["institution"] = [{"name": f"{member.name} Preprint Server"}]
        elif type_id == "dissertation":
            w["degree"] = ["PhD"]
            w["institution"] = [{"name": _pick(rng, v.INSTITUTIONS), "place": [member.location]}]
            topic = v.JOURNAL_TOPICS[_mix(self.t.seed, i, 8) % len(v.JOURNAL_TOPICS)]
            w["institution"][0]["department"] = [f"School of {topic}"]
            if parts is not None:
                w["approved"] = {"date-parts": [parts]}
        elif type_id == "peer-review":
            w["review"] = {
                "type": "referee-report",
                "stage": "pre-publication",
                "recommendation": ("minor-revision", "major-revision", "accept")[_below(rng, 3)],
                "revision-round": str(1 + _below(rng, 2)),
            }
        elif type_id == "report":
            w["institution"] = [{"name": _pick(rng, v.INSTITUTIONS)}]


# -- other message types ------------------------------------------------------------------


@dataclass
class _Tally:
    """Counts over one member's or journal's works, for ``counts``, ``breakdowns``,
    ``coverage`` and ``counts-type``."""

    total: int = 0
    current: int = 0
    by_year: Counter[int] = field(default_factory=Counter)
    by_type: dict[str, Counter[str]] = field(
        default_factory=lambda: {"all": Counter(), "current": Counter(), "backfile": Counter()}
    )
    # metric -> [current count, backfile count]
    covered: dict[str, list[int]] = field(default_factory=dict)


_FLAG_METRICS = (
    ("abstracts", tb.ABSTRACT),
    ("orcids", tb.ORCID),
    ("licenses", tb.LICENSED),
    ("funders", tb.FUNDED),
    ("award-numbers", tb.FUNDED),
    ("affiliations", tb.AFFILIATION),
    ("resource-links", tb.FULL_TEXT),
    ("similarity-checking", tb.FULL_TEXT),
)


class Aggregates:
    """Per-member and per-journal tallies, computed in one pass over the columns."""

    def __init__(self, tables: tb.Tables) -> None:
        self.members: dict[int, _Tally] = {}
        self.containers: dict[int, _Tally] = {}
        self.licenses: Counter[int] = Counter()
        self.funders: Counter[int] = Counter()
        c = tables.columns
        for i in range(tables.n):
            year = c.pub[i] // 10000 if c.pub[i] else None
            current = year is not None and year >= _CURRENT_FROM_YEAR
            period = "current" if current else "backfile"
            type_id = tables.type_id(i)
            flags = c.flags[i]
            keys = [self.members.setdefault(c.member[i], _Tally())]
            if c.container[i] >= 0:
                keys.append(self.containers.setdefault(c.container[i], _Tally()))
            for tally in keys:
                tally.total += 1
                tally.current += current
                if year is not None:
                    tally.by_year[year] += 1
                tally.by_type["all"][type_id] += 1
                tally.by_type[period][type_id] += 1
                for metric, bit in _FLAG_METRICS:
                    counts = tally.covered.setdefault(metric, [0, 0])
                    counts[0 if current else 1] += bool(flags & bit)
                refs = tally.covered.setdefault("references", [0, 0])
                refs[0 if current else 1] += bool(c.refs[i])
            if c.license[i] >= 0:
                self.licenses[c.license[i]] += 1
            for code in c.funder_codes(i):
                self.funders[code] += 1


def _coverage(tally: _Tally) -> tuple[Record, Record, Record]:
    """(``coverage``, ``coverage-type``, ``flags``) of a member or journal."""
    backfile = tally.total - tally.current
    coverage: Record = {}
    per_period: dict[str, Record] = {"all": {}, "current": {}, "backfile": {}}
    flags: Record = {}
    for metric in _METRICS:
        cur, back = tally.covered.get(metric, [0, 0])
        coverage[f"{metric}-current"] = cur / tally.current if tally.current else 0.0
        coverage[f"{metric}-backfile"] = back / backfile if backfile else 0.0
        per_period["all"][metric] = (cur + back) / tally.total if tally.total else 0.0
        per_period["current"][metric] = coverage[f"{metric}-current"]
        per_period["backfile"][metric] = coverage[f"{metric}-backfile"]
        flags[f"deposits-{metric}-current"] = cur > 0
        flags[f"deposits-{metric}-backfile"] = back > 0
    flags["deposits"] = tally.total > 0
    flags["deposits-articles"] = tally.by_type["all"]["journal-article"] > 0
    return coverage, per_period, flags


def _counts(tally: _Tally) -> tuple[Record, Record]:
    counts = {
        "current-dois": tally.current,
        "backfile-dois": tally.total - tally.current,
        "total-dois": tally.total,
    }
    years = sorted(tally.by_year.items(), key=lambda kv: (-kv[1], -kv[0]))
    return counts, {"dois-by-issued-year": [[y, n] for y, n in years]}


def member_record(row: tb.MemberRow, tally: _Tally | None) -> Record:
    """A ``member`` message."""
    tally = tally or _Tally()
    coverage, per_period, flags = _coverage(tally)
    counts, breakdowns = _counts(tally)
    check_time = tb.NOW_TS * 1000
    coverage_type = {
        period: {
            type_id: {"last-status-check-time": check_time, **per_period[period]}
            for type_id in sorted(tally.by_type[period])
        }
        for period in ("all", "backfile", "current")
    }
    return {
        "last-status-check-time": check_time,
        "primary-name": row.name,
        "counts": counts,
        "breakdowns": breakdowns,
        "prefixes": list(row.prefixes),
        "coverage": coverage,
        "prefix": [
            {
                "name": row.name,
                "value": p,
                "public-references": True,
                "reference-visibility": "open",
            }
            for p in row.prefixes
        ],
        "id": row.id,
        "tokens": tokens(row.name),
        "counts-type": {
            period: dict(sorted(tally.by_type[period].items()))
            for period in ("all", "backfile", "current")
        },
        "coverage-type": coverage_type,
        "flags": flags,
        "location": row.location,
        "names": [row.name],
    }


def journal_record(row: tb.ContainerRow, publisher: str, tally: _Tally | None) -> Record:
    """A ``journal`` message."""
    tally = tally or _Tally()
    coverage, per_period, flags = _coverage(tally)
    counts, breakdowns = _counts(tally)
    check_time = tb.NOW_TS * 1000
    return {
        "last-status-check-time": check_time,
        "counts": counts,
        "breakdowns": breakdowns,
        "publisher": publisher,
        "coverage": coverage,
        "title": row.title,
        "subjects": [{"ASJC": v.SUBJECTS[s][0], "name": v.SUBJECTS[s][1]} for s in row.subjects],
        "coverage-type": {
            period: {"last-status-check-time": check_time, **per_period[period]}
            for period in ("all", "backfile", "current")
        },
        "flags": flags,
        "ISSN": [value for value, _ in row.issns],
        "issn-type": [{"value": value, "type": kind} for value, kind in row.issns],
    }


def _acronym(name: str) -> str:
    return "".join(w[0] for w in name.split() if w[0].isupper())


def funder_record(code: int, work_count: int | None = None) -> Record:
    """A ``funder`` message; with ``work_count`` the singleton's extra fields too."""
    funder_id, name, location = v.FUNDERS[code]
    acronym = _acronym(name)
    record: Record = {
        "id": funder_id,
        "location": location,
        "name": name,
        "alt-names": [acronym],
        "uri": f"http://dx.doi.org/10.13039/{funder_id}",
        "replaces": [],
        "replaced-by": [],
        "tokens": [*tokens(name), acronym.lower()],
    }
    if work_count is not None:
        record["hierarchy-names"] = {funder_id: name}
        record["work-count"] = work_count
        record["descendants"] = []
        record["descendant-work-count"] = work_count
        record["hierarchy"] = {funder_id: {}}
    return record


def prefix_record(prefix: str, member: tb.MemberRow) -> Record:
    """A ``prefix`` message (identifiers as id.crossref.org URIs, as the API sends them)."""
    return {
        "member": f"https://id.crossref.org/member/{member.id}",
        "name": member.name,
        "prefix": f"https://id.crossref.org/prefix/{prefix}",
    }


def type_record(type_id: str) -> Record:
    """A ``type`` message."""
    return {"id": type_id, "label": v.TYPE_LABELS[type_id]}


CROSSREF_AGENCY = ("crossref", "Crossref")


def agency_record(doi: str, agency: tuple[str, str] = CROSSREF_AGENCY) -> Record:
    """A ``work-agency`` message: the DOI and its agency's ``(id, label)``."""
    agency_id, label = agency
    return {"DOI": doi, "agency": {"id": agency_id, "label": label}}
