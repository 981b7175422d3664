"""Showcase rows: real Crossref values that every corpus holds, so documentation runs offline.

The README and the examples use DOIs, ISSNs, members and queries a reader knows from
Crossref's own documentation (``10.1037/0003-066x.59.1.29``, ``renear ontologies``, the
ISSN ``0003-066X``, member ``311``). Generated tables would not hold them, so a snippet that
asks for them would get a 404 or no results against the simulator. These rows put them in.

They are added without changing what the generator draws, so every generated member,
journal, person and DOI is what it was without them:

- :data:`MEMBERS`, :data:`JOURNALS` and :data:`PEOPLE` come after the generated rows, and no
  generated work is drawn into them: each member and journal holds its showcase works only.
  A generated member whose random id is a showcase member's gets an id past the generated
  range (from 40,000) instead.
- :data:`WORKS` take the places of the first journal articles drawn after
  :data:`~._tables.HOSTILE_DOIS` (``Tables.showcase`` says where; a corpus too small for
  them holds the first ones only), so a corpus holds as many journal articles as without
  them, and the random draws for those places are made as usual, so later works do not
  change. DOI, title, authors, journal, publication date, volume, issue and pages are
  Crossref's; the rest is what the generator drew there (creation and index dates,
  references, citation count, licenses, funders...).
- The words of their titles that the generated vocabulary lacks are added after it
  (``_tables.WORDS``; never drawn in a generated title), so ``query=renear ontologies``
  finds the Renear and Palmer paper and little else.
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
    subjects: tuple[int, ...]  # indexes into _vocab.SUBJECTS


@dataclass(frozen=True)
class Person:
    """An author of a showcase work."""

    given: str
    family: str


@dataclass(frozen=True)
class Work:
    """A real work: its DOI, title, journal (index into :data:`JOURNALS`), authors (indexes
    into :data:`PEOPLE`), publication date parts, issue and pages."""

    doi: str
    title: str
    journal: int
    authors: tuple[int, ...]
    published: tuple[int, ...]
    issue: str
    pages: str


#: Real members (their codes follow the generated members').
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

#: Real journals (their codes follow the generated containers'), each of a showcase member.
JOURNALS: tuple[Journal, ...] = (
    Journal(
        "American Psychologist", "American Psychologist", 0,
        (("0003-066X", "print"), ("1935-990X", "electronic")), 1946, (15,),
    ),
    Journal(
        "Science", "Science", 1, (("0036-8075", "print"), ("1095-9203", "electronic")), 1685,
        (16, 12),
    ),
    Journal(
        "Nature", "Nature", 2, (("0028-0836", "print"), ("1476-4687", "electronic")), 1395,
        (16, 12),
    ),
    Journal(
        "Annalen der Physik", "Annalen der Physik", 3,
        (("0003-3804", "print"), ("1521-3889", "electronic")), 1584, (16,),
    ),
)  # fmt: skip

#: Authors of :data:`WORKS`.
PEOPLE: tuple[Person, ...] = (
    Person("Oakley", "Ray"),
    Person("Allen H.", "Renear"),
    Person("Carole L.", "Palmer"),
    Person("Josh", "Abramson"),
    Person("Jonas", "Adler"),
    Person("John", "Jumper"),
    Person("A.", "Einstein"),
)

#: Real works: the README's lookup DOI, the hit of Crossref's own example query
#: (``query=renear+ontologies`` in the REST API documentation), a Nature paper of 2024 and
#: a Wiley one (member 311).
WORKS: tuple[Work, ...] = (
    Work(
        "10.1037/0003-066X.59.1.29", "How the Mind Hurts and Heals the Body", 0, (0,),
        (2004, 1), "1", "29-40",
    ),
    Work(
        "10.1126/science.1157784",
        "Strategic Reading, Ontologies, and the Future of Scientific Publishing", 1, (1, 2),
        (2009, 8, 14), "5942", "828-832",
    ),
    Work(
        "10.1038/s41586-024-07487-w",
        "Accurate structure prediction of biomolecular interactions with AlphaFold 3", 2,
        (3, 4, 5), (2024, 5, 8), "8016", "493-500",
    ),
    Work(
        "10.1002/andp.19053220607",
        "Über einen die Erzeugung und Verwandlung des Lichtes betreffenden heuristischen "
        "Gesichtspunkt", 3, (6,), (1905, 1), "6", "132-148",
    ),
)  # fmt: skip

#: Every DOI, ISSN and member id above, to be kept out of generated rows.
DOIS = frozenset(w.doi.lower() for w in WORKS)
ISSNS = frozenset(value for j in JOURNALS for value, _ in j.issns)
PREFIXES = frozenset(p for m in MEMBERS for p in m.prefixes)
MEMBER_IDS = frozenset(m.id for m in MEMBERS)
