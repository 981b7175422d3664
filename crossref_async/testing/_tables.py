"""The corpus's data, generated from one seed: small tables plus compact per-work columns.

Only what filtering, sorting, faceting and searching need is stored, one array per field
(about 60 bytes a work, so 200,000 works fit in some tens of megabytes). Everything else in a
work record (references, abstract, links, pages...) is drawn later from a random generator
seeded by (seed, index): see ``_records``. Both halves are pure functions of the seed.

Alias DOIs (Crossref since February 2025: a DOI merged into another answers ``301`` to its
primary record, which lists it in ``aliases``): :data:`ALIAS_RATE` of the works after the
hostile ones, chosen by a generator of their own (so the other columns do not depend on
them), have one or two alias DOIs under their own prefix, ``<prefix>/alias.<index>`` and
``<prefix>/alias.<index>.b``. An alias never equals any corpus DOI (compared as DOIs are,
by :func:`doi_key`). It is not a work: list results and ``filter=doi:`` never find it.
"""

from __future__ import annotations

import bisect
import calendar
import datetime as dt
import functools
import itertools
import random
import re
from array import array
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from .._params import doi_key
from . import _showcase as sc
from . import _vocab as v

#: The corpus's "today". Dates are drawn relative to it, never to the real clock, so a seed
#: gives the same records on every machine and every day.
CORPUS_NOW = dt.datetime(2026, 1, 31, 12, 0, 0, tzinfo=dt.timezone.utc)
NOW_TS = int(CORPUS_NOW.timestamp())
_START_TS = calendar.timegm((2000, 1, 1, 0, 0, 0))
_END_TS = calendar.timegm((2025, 12, 31, 23, 59, 59))
_DAY = 86_400
_EPOCH_ORDINAL = dt.date(1970, 1, 1).toordinal()

#: DOIs that break naive clients, always the first works of the corpus (in this order).
#: ``10.5555/12345678`` is Crossref's own well-known test DOI and is an ordinary record here.
HOSTILE_DOIS: tuple[str, ...] = (
    "10.5555/12345678",
    "10.5555/ab;c#d?e<f>(g):h",
    "10.5555/Mixed.Case.DOI",
    "10.5555/space in suffix",
    "10.5555/percent%20literal",
    "10.5555/amp&ersand=1+plus",
    "10.5555/0012-9615(1999)069[0569:EDILSA]2.0.CO;2",
    "10.5555/slash/inside/suffix",
    "10.5555/(SICI)1097-4571(199806)49:8<693::AID-ASI4>3.0.CO;2-0",
    "10.5555/UPPER-lower_Under~tilde",
)

_TOKEN = re.compile(r"\w+")  # the tokens rule of _records.tokens

#: Title words by code: the generated vocabulary, then the showcase works' own words (see
#: ``_showcase``), which no generated title draws.
WORDS: tuple[str, ...] = v.TITLE_WORDS + tuple(
    dict.fromkeys(
        word
        for work in sc.WORKS
        for word in _TOKEN.findall(work.title.casefold())
        if word not in v.STOP_WORDS and word not in v.TITLE_WORDS
    )
)

#: The share of works (after :data:`HOSTILE_DOIS`) that have alias DOIs.
ALIAS_RATE = 0.02
_ALIAS_SALT = 0xA11A5

TEST_MEMBER_ID = 7822
TEST_PREFIX = "10.5555"

#: DOI prefixes of registration agencies other than Crossref: prefix -> the agency's
#: ``(id, label)``, spelled as ``/works/{doi}/agency`` answers (``datacite``/``DataCite`` and
#: ``medra``/``mEDRA`` are recorded, for 10.5284/1011335, 10.1430/8105 and
#: 10.3233/ISU-150780). Every DOI under
#: these prefixes counts as registered with that agency: its agency route answers 200 while
#: ``/works/{doi}`` is a 404, since it is not a Crossref work. No corpus member is ever given
#: one of these prefixes.
OTHER_AGENCIES: Mapping[str, tuple[str, str]] = MappingProxyType(
    {
        "10.1400": ("medra", "mEDRA"),
        "10.1430": ("medra", "mEDRA"),
        "10.3233": ("medra", "mEDRA"),  # as answered for 10.3233/ISU-150780 (recorded 2019)
        "10.5061": ("datacite", "DataCite"),  # Dryad
        "10.5281": ("datacite", "DataCite"),  # Zenodo
        "10.5284": ("datacite", "DataCite"),  # the Archaeology Data Service
        "10.6084": ("datacite", "DataCite"),  # figshare
    }
)

# Bits of Columns.flags.
ABSTRACT = 1
FUNDED = 2
LICENSED = 4
FULL_TEXT = 8
RELATION = 16
UPDATE = 32
ORCID = 64
AUTHENTICATED_ORCID = 128
AFFILIATION = 256

# Container kinds.
JOURNAL = "journal"
BOOK = "book"
PROCEEDINGS = "proceedings"

_JOURNAL_TYPES = frozenset({"journal-article", "peer-review", "component"})
_BOOK_TYPES = frozenset({"book-chapter", "reference-entry"})
_NO_REFERENCES_TYPES = frozenset({"dataset", "component", "peer-review"})


@dataclass(frozen=True)
class MemberRow:
    """A member (publisher): numeric id, name, country and DOI prefixes."""

    code: int
    id: int
    name: str
    location: str
    prefixes: tuple[str, ...]


@dataclass(frozen=True)
class ContainerRow:
    """Where works appear: a journal (ISSNs), a book (ISBN) or proceedings (an event)."""

    code: int
    kind: str
    title: str
    short_title: str
    member: int
    issns: tuple[tuple[str, str], ...]  # (value, "print" | "electronic")
    isbn: str | None
    subjects: tuple[int, ...]  # indexes into _vocab.SUBJECTS
    year: int  # first year (journals) or the event year (proceedings)


@dataclass(frozen=True)
class PersonRow:
    """A contributor who may write many works: name, ORCID iD and affiliation."""

    given: str
    family: str
    orcid: str | None
    authenticated: bool
    affiliation: int  # index into _vocab.INSTITUTIONS, -1 for none


class Columns:
    """Per-work arrays, one entry per work index (see the module docstring)."""

    def __init__(self, n: int) -> None:
        self.n = n
        self.doi: list[str] = []
        self.type = array("B")  # index into WORK_TYPE_IDS
        self.member = array("H")  # member code
        self.prefix_slot = array("B")  # index into the member's prefixes
        self.container = array("i")  # container code, -1 for none
        self.created = array("q")  # epoch seconds
        self.deposited = array("q")
        self.indexed = array("q")
        self.pub = array("i")  # date parts packed as yyyymmdd, 00 for missing parts; 0: none
        self.pub_ord = array("i")  # earliest day of pub as a proleptic ordinal; 0: none
        self.cited_by = array("i")
        self.refs = array("H")
        self.flags = array("H")
        self.funders = array("H")  # (first funder + 1) + 64 * (second funder + 1); 0: none
        self.license = array("b")  # index into _vocab.LICENSES, -1 for none
        self.language = array("B")  # index into _vocab.LANGUAGES
        self.author_start = array("i", [0])  # authors of work i: author[start[i]:start[i+1]]
        self.author = array("i")  # person codes
        self.title_start = array("i", [0])
        self.title = array("H")  # codes into _vocab.TITLE_WORDS

    def authors_of(self, i: int) -> array[int]:
        """The person codes of work ``i``, in author order."""
        return self.author[self.author_start[i] : self.author_start[i + 1]]

    def title_codes(self, i: int) -> array[int]:
        """The title word codes of work ``i``."""
        return self.title[self.title_start[i] : self.title_start[i + 1]]

    def funder_codes(self, i: int) -> tuple[int, ...]:
        """The funder codes of work ``i`` (zero, one or two)."""
        packed = self.funders[i]
        return tuple(c - 1 for c in (packed % 64, packed // 64) if c)


#: Work type ids in code order (the codes stored in Columns.type).
WORK_TYPE_IDS: tuple[str, ...] = tuple(sorted(v.TYPE_LABELS))
_TYPE_CODE = {t: c for c, t in enumerate(WORK_TYPE_IDS)}


class Tables:
    """Everything generated from ``(seed, n)``: members, containers, people, funders, columns.

    >>> t = Tables(seed=1, n=50)
    >>> t.columns.doi[0], t.members[0].id
    ('10.5555/12345678', 7822)
    >>> Tables(seed=1, n=50).columns.doi == t.columns.doi
    True
    """

    def __init__(self, *, seed: int, n: int) -> None:
        if n < 0:
            raise ValueError("the number of works cannot be negative")
        self.seed = seed
        self.n = n
        rng = random.Random(seed)
        self.members = _members(rng, n)
        self.containers = _containers(rng, n, self.members)
        self.people = _people(rng, n)
        self.columns = Columns(n)
        #: Work index -> the showcase work (``_showcase.WORKS``) there: see :func:`_fill`.
        self.showcase: dict[int, sc.Work] = {}
        _fill(rng, self)
        self.aliases = _aliases(seed, self)

    def prefix(self, i: int) -> str:
        """The DOI prefix of work ``i``."""
        c = self.columns
        return self.members[c.member[i]].prefixes[c.prefix_slot[i]]

    def type_id(self, i: int) -> str:
        """The type id (``journal-article``...) of work ``i``."""
        return WORK_TYPE_IDS[self.columns.type[i]]

    @functools.lru_cache(maxsize=65_536)  # noqa: B019 - one Tables per corpus, kept for its life
    def title_text(self, i: int) -> str:
        """The title of work ``i`` as served: its words joined by stop-word fillers."""
        if i == 0 and self.n and self.columns.doi[0] == HOSTILE_DOIS[0]:
            return "Toward a Unified Theory of High-Energy Metaphysics: Silly String Theory"
        shown = self.showcase.get(i)
        if shown is not None:
            return shown.title
        return title_from_codes(self.columns.title_codes(i))


def _aliases(seed: int, tables: Tables) -> dict[int, tuple[str, ...]]:
    """Work index -> its alias DOIs (see the module docstring)."""
    rng = random.Random(seed ^ _ALIAS_SALT)
    taken = {doi_key(doi) for doi in tables.columns.doi}
    out: dict[int, tuple[str, ...]] = {}
    for i in range(len(HOSTILE_DOIS), tables.n):
        if rng.random() >= ALIAS_RATE:
            continue
        base = f"{tables.prefix(i)}/alias.{i}"
        names = [base, f"{base}.b"] if rng.random() < 0.25 else [base]
        # Unreachable with today's suffix shapes, but a collision would shadow a real work.
        if any(doi_key(name) in taken for name in names):
            continue
        taken.update(doi_key(name) for name in names)
        out[i] = tuple(names)
    return out


def title_from_codes(codes: array[int] | list[int]) -> str:
    """Title text from word codes. Fillers are chosen from the codes themselves, so the title
    of a work is the same wherever it appears (its own record, references to it).

    >>> title_from_codes([0, 1, 2])
    'Abundance of acoustic adaptive'
    """
    if not codes:
        return ""
    text = " ".join([_WITH_FILLER[code] for code in codes[:-1]] + [WORDS[codes[-1]]])
    return text[:1].upper() + text[1:]


# Each title word with the filler that follows it (when one does), precomputed: titles are
# built for every reference to a work, the hottest path of record building.
_WITH_FILLER = tuple(
    f"{word} {v.TITLE_FILLERS[code // 4 % len(v.TITLE_FILLERS)]}" if code % 4 == 0 else word
    for code, word in enumerate(WORDS)
)


def issn_check(digits7: str) -> str:
    """The ISSN check character for seven digits (mod 11, ``X`` for ten)."""
    total = sum(int(d) * w for d, w in zip(digits7, range(8, 1, -1), strict=True))
    check = (11 - total % 11) % 11
    return "X" if check == 10 else str(check)


def orcid_check(digits15: str) -> str:
    """The ORCID iD check character (ISO 7064 11,2) for fifteen digits."""
    total = 0
    for d in digits15:
        total = (total + int(d)) * 2
    result = (12 - total % 11) % 11
    return "X" if result == 10 else str(result)


def isbn13_check(digits12: str) -> str:
    """The ISBN-13 check digit."""
    total = sum(int(d) * (1 if k % 2 == 0 else 3) for k, d in enumerate(digits12))
    return str((10 - total % 10) % 10)


def _clamp(value: int, low: int, high: int) -> int:
    return max(low, min(high, value))


def _members(rng: random.Random, n: int) -> list[MemberRow]:
    count = _clamp(n // 120, 6, 300)
    names = [
        f"{place.replace('-', ' ')} {kind}"
        for place, kind in itertools.product(v.PUBLISHER_PLACES, v.PUBLISHER_KINDS)
    ]
    rng.shuffle(names)
    ids = rng.sample([k for k in range(1, 40_000) if k != TEST_MEMBER_ID], count - 1)
    # Other agencies' prefixes are never Crossref's; the showcase members' are theirs only.
    used = {TEST_PREFIX, *OTHER_AGENCIES, *sc.PREFIXES}
    rows = [MemberRow(0, TEST_MEMBER_ID, "Crossref Test Member", "United States", (TEST_PREFIX,))]
    for code in range(1, count):
        prefixes = []
        for _ in range(1 + int(rng.random() ** 3 * 3)):
            prefix = f"10.{rng.randrange(1000, 99_999)}"
            while prefix in used:
                prefix = f"10.{rng.randrange(1000, 99_999)}"
            used.add(prefix)
            prefixes.append(prefix)
        location = v.COUNTRIES[rng.randrange(len(v.COUNTRIES))]
        rows.append(MemberRow(code, ids[code - 1], names[code], location, tuple(prefixes)))
    return _with_showcase_members(rows)


def _with_showcase_members(rows: list[MemberRow]) -> list[MemberRow]:
    """``rows`` and the showcase members after them (codes from ``len(rows)``); a generated
    id that a showcase member holds moves past the generated range (no random draw, so the
    other rows stay as drawn)."""
    taken = {row.id for row in rows} | sc.MEMBER_IDS
    spare = itertools.filterfalse(taken.__contains__, itertools.count(40_000))
    out = [
        MemberRow(row.code, next(spare), row.name, row.location, row.prefixes)
        if row.id in sc.MEMBER_IDS
        else row
        for row in rows
    ]
    for m in sc.MEMBERS:
        out.append(MemberRow(len(out), m.id, m.name, m.location, m.prefixes))
    return out


def _containers(rng: random.Random, n: int, members: list[MemberRow]) -> list[ContainerRow]:
    rows: list[ContainerRow] = []
    members = members[: generated_members(members)]  # generated rows draw generated members
    used_issns: set[str] = set()

    def issn() -> str:
        while True:
            digits = f"{rng.randrange(10**7):07d}"
            value = f"{digits[:4]}-{digits[4:]}{issn_check(digits)}"
            if value not in used_issns:
                used_issns.add(value)
                return value

    # Container 0 is the test member's journal, home of the hostile DOIs.
    used_issns.update(("0264-3561", *sc.ISSNS))
    rows.append(
        ContainerRow(
            0, JOURNAL, "Journal of Psychoceramics", "J. Psychoceram.", 0,
            (("0264-3561", "print"),), None, (19,), 1990,
        )
    )  # fmt: skip
    journal_titles = [
        pattern.format(topic) for pattern in v.JOURNAL_PATTERNS for topic in v.JOURNAL_TOPICS
    ]
    rng.shuffle(journal_titles)
    n_journals = _clamp(n // 150, 8, 600)
    for k in range(n_journals):
        title = journal_titles[k % len(journal_titles)]
        if k >= len(journal_titles):
            title += " B"
        issns = [(issn(), "print"), (issn(), "electronic")]
        if rng.random() < 0.3:
            issns = issns[1:]
        subjects = tuple(sorted(rng.sample(range(len(v.SUBJECTS)), 1 + int(rng.random() < 0.4))))
        rows.append(
            ContainerRow(
                len(rows), JOURNAL, title, _abbreviate(title), 1 + rng.randrange(len(members) - 1),
                tuple(issns), None, subjects, 1950 + rng.randrange(60),
            )
        )  # fmt: skip
    for _ in range(_clamp(n // 80, 4, 1500)):
        topic = v.JOURNAL_TOPICS[rng.randrange(len(v.JOURNAL_TOPICS))]
        word = v.TITLE_WORDS[rng.randrange(len(v.TITLE_WORDS))].capitalize()
        title = rng.choice(
            (f"Handbook of {topic}", f"{word} {topic}", f"Encyclopedia of {topic}",
             f"{topic}: {word} Perspectives")
        )  # fmt: skip
        digits = f"978{rng.randrange(10**9):09d}"
        rows.append(
            ContainerRow(
                len(rows), BOOK, title, "", 1 + rng.randrange(len(members) - 1), (),
                digits + isbn13_check(digits), (), 1995 + rng.randrange(31),
            )
        )  # fmt: skip
    for k in range(_clamp(n // 120, 3, 800)):
        topic = v.JOURNAL_TOPICS[rng.randrange(len(v.JOURNAL_TOPICS))]
        year = 2000 + rng.randrange(26)
        acronym = "".join(w[0] for w in topic.split()).upper() + "C"
        title = f"Proceedings of the {k % 40 + 2}th International Conference on {topic}"
        rows.append(
            ContainerRow(
                len(rows), PROCEEDINGS, title, f"{acronym} {year}",
                1 + rng.randrange(len(members) - 1), (), None, (), year,
            )
        )  # fmt: skip
    return _with_showcase_journals(rows, len(members))


def _with_showcase_journals(rows: list[ContainerRow], members: int) -> list[ContainerRow]:
    """``rows`` and the showcase journals after them, each published by its showcase member
    (whose codes follow the ``members`` generated ones)."""
    out = list(rows)
    for j in sc.JOURNALS:
        out.append(
            ContainerRow(
                len(out), JOURNAL, j.title, j.short_title, members + j.member, j.issns, None,
                j.subjects, j.first_year,
            )
        )  # fmt: skip
    return out


def generated_members(members: list[MemberRow]) -> int:
    """How many of ``members`` are generated (the showcase members follow them)."""
    return len(members) - len(sc.MEMBERS)


def _abbreviate(title: str) -> str:
    words = [w for w in title.split() if w.lower() not in v.STOP_WORDS]
    return " ".join(w[:4] + "." if len(w) > 5 else w for w in words)


def _people(rng: random.Random, n: int) -> list[PersonRow]:
    rows = [PersonRow("Josiah", "Carberry", "0000-0002-1825-0097", True, 0)]
    for _ in range(_clamp(n // 2, 60, 40_000)):
        orcid = None
        if rng.random() < 0.55:
            digits = f"0000000{rng.randrange(10**8):08d}"
            check = orcid_check(digits)
            orcid = f"{digits[:4]}-{digits[4:8]}-{digits[8:12]}-{digits[12:]}{check}"
        rows.append(
            PersonRow(
                given=v.GIVEN_NAMES[rng.randrange(len(v.GIVEN_NAMES))],
                family=v.FAMILY_NAMES[rng.randrange(len(v.FAMILY_NAMES))],
                orcid=orcid,
                authenticated=orcid is not None and rng.random() < 0.7,
                affiliation=rng.randrange(len(v.INSTITUTIONS)) if rng.random() < 0.7 else -1,
            )
        )
    # After the generated people, so no generated work draws them as an author.
    rows += [PersonRow(p.given, p.family, None, False, -1) for p in sc.PEOPLE]
    return rows


def _suffix(style: int, i: int, year: int, short: str, r: float) -> str:
    """A DOI suffix in one of the shapes real publishers use; ``i`` keeps it unique."""
    if style == 0:
        return f"j.{short}.{year}.{i:06d}"
    if style == 1:
        return f"s{10000 + i % 90000}-{year % 100:02d}-{i:05d}-{int(r * 10)}"
    if style == 2:
        return f"journal.{short}.{i:07d}"
    if style == 3:
        return f"{short.upper()}-{year}-{i}"  # mixed case: DOIs compare case-insensitively
    return f"{year}.{i}.{int(r * 1000)}"


def _fill(rng: random.Random, tables: Tables) -> None:
    """Draw every work's columns. The hot loop of corpus creation: plain float draws
    (``rng.random()``) and table look-ups only, which keeps 200,000 works to a few seconds."""
    c = tables.columns
    n = tables.n
    r = rng.random
    members = tables.members
    by_kind: dict[str, list[int]] = {JOURNAL: [], BOOK: [], PROCEEDINGS: []}
    for row in tables.containers[1 : len(tables.containers) - len(sc.JOURNALS)]:
        by_kind[row.kind].append(row.code)  # the showcase journals hold only showcase works
    weights = list(itertools.accumulate(w for _, w in v.TYPE_WEIGHTS))
    type_codes = [_TYPE_CODE[t] for t, _ in v.TYPE_WEIGHTS]
    type_ids = [t for t, _ in v.TYPE_WEIGHTS]
    total_weight = weights[-1]
    n_members = generated_members(members)  # the showcase members are never drawn
    n_people = len(tables.people) - len(sc.PEOPLE)  # the showcase people are never drawn
    person_flags = [_person_flags(row) for row in tables.people]
    calendar_days = _calendar_days()
    n_words = len(v.TITLE_WORDS)
    n_funders = len(v.FUNDERS)
    n_licenses = len(v.LICENSES)
    n_languages = len(v.LANGUAGES)
    word_code = {w: k for k, w in enumerate(WORDS)}
    # The showcase works take the places of the first journal articles drawn after the
    # hostile DOIs, so the corpus holds as many journal articles as without them.
    waiting = list(sc.WORKS)
    span = _END_TS - _START_TS
    hostile = min(n, len(HOSTILE_DOIS))
    journal_code = _TYPE_CODE["journal-article"]
    for i in range(n):
        if i < hostile:
            type_code = journal_code
            member = 0
            container = 0
        else:
            kind_index = bisect.bisect_right(weights, r() * total_weight)
            type_code = type_codes[kind_index]
            type_id = type_ids[kind_index]
            if type_id in _JOURNAL_TYPES:
                container = by_kind[JOURNAL][int(r() * len(by_kind[JOURNAL]))]
                member = tables.containers[container].member
            elif type_id in _BOOK_TYPES:
                container = by_kind[BOOK][int(r() * len(by_kind[BOOK]))]
                member = tables.containers[container].member
            elif type_id == "proceedings-article":
                container = by_kind[PROCEEDINGS][int(r() * len(by_kind[PROCEEDINGS]))]
                member = tables.containers[container].member
            else:
                container = -1
                member = 1 + int(r() * (n_members - 1))
        # Creation dates lean recent, as Crossref's do; a tenth of works are backfile
        # (published long before their DOI was created).
        created = _START_TS + int(span * r() ** 0.6)
        if i < hostile:
            created = calendar.timegm((2008 + i % 4, 1 + i % 12, 1 + i, 9, 30, i))
        # Publication: usually shortly before or after creation; partial dates are common.
        if r() < 0.1:
            pub_day = _BACKFILE_FIRST + int(r() * _BACKFILE_DAYS)
        else:
            pub_day = created // _DAY + _EPOCH_ORDINAL - int(r() * 330) + 30
        year, month, day, first_of_month, first_of_year = calendar_days[pub_day - _FIRST_DAY]
        precision = r()
        if precision < 0.01 and i >= hostile:
            pub = pub_ord = 0
        elif precision < 0.16:
            pub, pub_ord = year * 10000, first_of_year
        elif precision < 0.41:
            pub, pub_ord = year * 10000 + month * 100, first_of_month
        else:
            pub, pub_ord = year * 10000 + month * 100 + day, pub_day
        deposited = created + int((NOW_TS - created) * r() ** 4)
        if r() < 0.8:
            indexed = NOW_TS - int(r() * 200 * _DAY)
        else:
            indexed = deposited + int((NOW_TS - deposited) * r())
        indexed = max(indexed, deposited)
        type_id = WORK_TYPE_IDS[type_code]
        # About half of Crossref's works deposit references; lists average about 20.
        no_refs = type_id in _NO_REFERENCES_TYPES or r() < 0.35
        refs = 0 if no_refs else 3 + int(r() ** 2 * 50)
        cited = 0 if r() < 0.35 else int(min(20_000.0, r() ** -1.4))
        n_authors = 1 + int(r() ** 2 * 8)
        if type_id == "dissertation":
            n_authors = 1
        elif type_id == "dataset" and r() < 0.3:
            n_authors = 0
        flags = 0
        if i == 0 and hostile:
            authors = [0]
        else:
            authors = [1 + int(r() * (n_people - 1)) for _ in range(n_authors)]
        for person in authors:
            flags |= person_flags[person]
        if i == 0 and hostile:
            title = [word_code[w] for w in _CARBERRY_WORDS]
        else:
            title = [int(r() * n_words) for _ in range(5 + int(r() * 8))]
        if r() < (0.35 if type_id == "journal-article" else 0.15):
            flags |= ABSTRACT
        funders = 0
        if r() < 0.25:
            flags |= FUNDED
            funders = 1 + int(r() * n_funders)
            if r() < 0.2:
                second = 1 + int(r() * n_funders)
                if second != funders:
                    funders += 64 * second
        license_code = int(r() * n_licenses) if r() < 0.7 else -1
        if license_code >= 0:
            flags |= LICENSED
        if r() < 0.75:
            flags |= FULL_TEXT
        if r() < 0.05:
            flags |= RELATION
        if r() < 0.01 and i >= hostile:
            flags |= UPDATE
        member_row = members[member]
        slot = int(r() * len(member_row.prefixes))
        if i < hostile:
            doi = HOSTILE_DOIS[i]
        else:
            short = v.TITLE_WORDS[title[0]][:4]
            suffix = _suffix(member_row.code % 5, i, year, short, r())
            doi = f"{member_row.prefixes[slot]}/{suffix}"
        shown = waiting.pop(0) if waiting and i >= hostile and type_code == journal_code else None
        if shown is not None:
            tables.showcase[i] = shown
            # Everything above was drawn as usual (so later works are unchanged); the
            # showcase work's own facts replace the drawn ones. Creation, deposit and index
            # times, reference and citation counts stay as drawn, so that what depends on
            # them alone (created-date shards, sorts) is unchanged too.
            container = len(tables.containers) - len(sc.JOURNALS) + shown.journal
            member = tables.containers[container].member
            member_row = members[member]
            doi = shown.doi
            slot = member_row.prefixes.index(doi.split("/", 1)[0])
            pub, pub_ord = _packed(shown.published)
            authors = [n_people + a for a in shown.authors]
            flags &= ~(ORCID | AUTHENTICATED_ORCID | AFFILIATION | UPDATE)
            for person in authors:
                flags |= person_flags[person]
            title = [word_code[w] for w in _title_tokens(shown.title)]
        c.doi.append(doi)
        c.type.append(type_code)
        c.member.append(member)
        c.prefix_slot.append(slot)
        c.container.append(container)
        c.created.append(created)
        c.deposited.append(deposited)
        c.indexed.append(indexed)
        c.pub.append(pub)
        c.pub_ord.append(pub_ord)
        c.cited_by.append(cited)
        c.refs.append(refs)
        c.flags.append(flags)
        c.funders.append(funders)
        c.license.append(license_code)
        c.language.append(int(r() * n_languages))
        c.author.extend(authors)
        c.author_start.append(len(c.author))
        c.title.extend(title)
        c.title_start.append(len(c.title))


def _packed(parts: tuple[int, ...]) -> tuple[int, int]:
    """(packed yyyymmdd, ordinal of its first day) for date parts."""
    year, month, day = (*parts, 0, 0)[:3]
    first = dt.date(year, month or 1, day or 1).toordinal()
    return year * 10000 + month * 100 + day, first


def _title_tokens(title: str) -> list[str]:
    """The indexed words of a title, in order: lower-case, stop words left out."""
    return [w for w in _TOKEN.findall(title.casefold()) if w not in v.STOP_WORDS]


# The indexed words of the title of 10.5555/12345678 (see Tables.title_text).
_CARBERRY_WORDS = v.words("toward unified theory high energy metaphysics silly string")
_FIRST_DAY = dt.date(1950, 1, 1).toordinal()
_BACKFILE_FIRST = _FIRST_DAY
_BACKFILE_DAYS = dt.date(2000, 1, 1).toordinal() - _FIRST_DAY


def _calendar_days() -> list[tuple[int, int, int, int, int]]:
    """(year, month, day, first of month, first of year) for every day the corpus uses,
    indexed by ordinal minus _FIRST_DAY: a table look-up is far cheaper than date objects."""
    days = []
    ordinal = _FIRST_DAY
    last = dt.date(2027, 1, 1).toordinal()
    while ordinal < last:
        d = dt.date.fromordinal(ordinal)
        days.append(
            (d.year, d.month, d.day, ordinal - d.day + 1, dt.date(d.year, 1, 1).toordinal())
        )
        ordinal += 1
    return days


def _person_flags(row: PersonRow) -> int:
    flags = AFFILIATION if row.affiliation >= 0 else 0
    if row.orcid:
        flags |= ORCID | (AUTHENTICATED_ORCID if row.authenticated else 0)
    return flags


def pub_parts(packed: int) -> list[int]:
    """``[year]``, ``[year, month]`` or ``[year, month, day]`` from a packed yyyymmdd."""
    year, rest = divmod(packed, 10000)
    month, day = divmod(rest, 100)
    if not month:
        return [year]
    if not day:
        return [year, month]
    return [year, month, day]
