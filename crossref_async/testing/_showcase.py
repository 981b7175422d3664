"""Showcase rows: real Crossref values that every corpus holds, so documentation runs offline.

The README and the examples use DOIs, ISSNs, members and queries a reader knows from
Crossref's own documentation (``10.1037/0003-066x.59.1.29``, ``renear ontologies``, the
ISSN ``0003-066X``, member ``311``). Generated tables would not hold them, so a snippet that
asks for them would get a 404 or no results against the simulator. These rows put them in.

They take the place of generated rows after the random draws were made, so every other
row, and every other work's columns, is exactly what it was without them:

- :data:`MEMBERS` replace the members with codes 1, 2, ... (a corpus always has at least six
  members); their works are whatever the generator gave those codes.
- :data:`JOURNALS` replace the first generated journals (a corpus has at least eight), and
  belong to the showcase member named by ``member``; works drawn into those journals are
  theirs, so ``journal_works("0028-0836")`` has records in any corpus of some size.
- :data:`WORKS` take the indexes right after :data:`~._tables.HOSTILE_DOIS` (in a corpus
  large enough to hold them): DOI, type, title, authors, journal, dates, volume, issue and
  pages as Crossref has them; what the generator drew for the index is kept for the rest
  (references, licenses, funders...).
- :data:`PEOPLE` are added after the generated people (never drawn as a random work's
  author); :data:`WORDS` are title words added after the generated vocabulary (never drawn
  in a random title), so ``query=renear ontologies`` finds the Renear and Palmer paper
  and little else.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Member:
    """A real Crossref member: id, name, country and DOI prefixes."""

    id: int
    name: str
    location: str
    prefixes: tuple[str, ...]


@dataclass(frozen=True)
class Journal:
    """A real journal: title, abbreviation, its member (index into :data:`MEMBERS`), ISSNs,
    and the year that makes its volume numbers come out as Crossref's (volume = year -
    first + 1)."""

    title: str
    short_title: str
    member: int
    issns: tuple[tuple[str, str], ...]
    first_year: int


@dataclass(frozen=True)
class Person:
    """An author of a showcase work."""

    given: str
    family: str


@dataclass(frozen=True)
class Work:
    """A real work: its DOI, title, journal (index into :data:`JOURNALS`), authors (indexes
    into :data:`PEOPLE`), publication date parts, creation time, issue, pages, references
    deposited and times cited."""

    doi: str
    title: str
    journal: int
    authors: tuple[int, ...]
    published: tuple[int, ...]
    created: tuple[int, int, int]
    issue: str
    pages: str
    references: int
    cited_by: int


#: Real members, in the order they replace member codes 1, 2, ...
MEMBERS: tuple[Member, ...] = (
    Member(15, "American Psychological Association (APA)", "United States", ("10.1037",)),
    Member(
        221,
        "American Association for the Advancement of Science (AAAS)",
        "United States",
        ("10.1126",),
    ),
    Member(297, "Springer Science and Business Media LLC", "Germany", ("10.1007", "10.1038")),
    Member(311, "Wiley", "United States", ("10.1002", "10.1111")),
)

#: Real journals, in the order they replace the first generated journals.
JOURNALS: tuple[Journal, ...] = (
    Journal(
        "American Psychologist", "American Psychologist", 0,
        (("0003-066X", "print"), ("1935-990X", "electronic")), 1946,
    ),
    Journal(
        "Science", "Science", 1, (("0036-8075", "print"), ("1095-9203", "electronic")), 1685,
    ),
    Journal("Nature", "Nature", 2, (("0028-0836", "print"), ("1476-4687", "electronic")), 1400),
)  # fmt: skip

#: Authors of :data:`WORKS`.
PEOPLE: tuple[Person, ...] = (
    Person("Oakley", "Ray"),
    Person("Allen H.", "Renear"),
    Person("Carole L.", "Palmer"),
)

#: Real works: the README's lookup DOI, and the hit of Crossref's own example query
#: (``query=renear+ontologies`` in the REST API documentation).
WORKS: tuple[Work, ...] = (
    Work(
        "10.1037/0003-066X.59.1.29", "How the Mind Hurts and Heals the Body", 0, (0,),
        (2004, 1), (2004, 1, 21), "1", "29-40", 112, 305,
    ),
    Work(
        "10.1126/science.1157784",
        "Strategic Reading, Ontologies, and the Future of Scientific Publishing", 1, (1, 2),
        (2009, 8, 14), (2009, 8, 13), "5942", "828-832", 23, 254,
    ),
)  # fmt: skip

#: Title words of :data:`WORKS` that the generated vocabulary lacks.
WORDS: tuple[str, ...] = (
    "how", "mind", "hurts", "heals", "body", "strategic", "reading", "ontologies", "future",
    "scientific", "publishing",
)  # fmt: skip

#: Every DOI, ISSN and member id above, to be kept out of generated rows.
DOIS = frozenset(w.doi.lower() for w in WORKS)
ISSNS = frozenset(value for j in JOURNALS for value, _ in j.issns)
PREFIXES = frozenset(p for m in MEMBERS for p in m.prefixes)
MEMBER_IDS = frozenset(m.id for m in MEMBERS)
