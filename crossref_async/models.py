"""Typed, immutable models of every Crossref REST API message, and their cached decoders.

Every model is a frozen :class:`msgspec.Struct` built on :class:`CrossrefStruct`: JSON keys are
the attribute names in kebab case (``is_referenced_by_count`` is ``is-referenced-by-count``),
upper-case keys have explicit names (``DOI``, ``URL``, ``ISSN``, ``ISBN``, ``ORCID``), every
field has a default and unknown keys are ignored. So a record cut down by ``select=`` decodes
with the same types as a full one, and a field Crossref adds tomorrow does not break decoding
today. Lists are tuples (the structs are frozen); absent scalars are ``None``.

The decoders are built once per type and reused. A list can also be decoded in *Raw* mode,
where each item stays a :class:`msgspec.Raw` holding the record's exact bytes: a harvest that
writes records through untouched never pays for building Python objects.

>>> body = b'''{"status": "ok", "message-type": "work", "message-version": "1.0.0",
...   "message": {"DOI": "10.5555/12345678", "title": ["Toward a Unified Theory"],
...               "issued": {"date-parts": [[2008, 8]]},
...               "author": [{"given": "Josiah", "family": "Carberry", "sequence": "first"}]}}'''
>>> work = decode_message(body, Work, message_type="work")
>>> work.first_title, work.year, work.issued_date, work.author_names
('Toward a Unified Theory', 2008, datetime.date(2008, 8, 1), ['Josiah Carberry'])
>>> work.doi_url
'https://doi.org/10.5555/12345678'
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Iterator
from typing import Any, ClassVar, Generic, TypeVar, overload
from urllib.parse import quote

import msgspec

from . import _pretty
from ._errors import DecodeError, excerpt

__all__ = [
    "Affiliation",
    "Agency",
    "Assertion",
    "AssertionExplanation",
    "AssertionGroup",
    "AwardInfo",
    "Breakdowns",
    "ClinicalTrial",
    "ContentDomain",
    "Contributor",
    "ContributorRole",
    "CrossrefStruct",
    "DoiCounts",
    "Envelope",
    "Event",
    "Facet",
    "FreeToRead",
    "Funder",
    "FunderRef",
    "Identifier",
    "Institution",
    "IsbnType",
    "IssnType",
    "Journal",
    "JournalIssue",
    "JournalSubject",
    "LicenseEntry",
    "Link",
    "Member",
    "MemberPrefix",
    "Page",
    "PartialDate",
    "Prefix",
    "Query",
    "Reference",
    "RegistrationAgency",
    "Relation",
    "Resource",
    "ResourceLink",
    "Review",
    "StandardsBody",
    "Type",
    "Update",
    "Work",
    "WorkKey",
    "WorkLicense",
    "WorkVersion",
    "decode_item",
    "decode_message",
    "decode_page",
    "decode_raw_page",
    "decoder",
]

T = TypeVar("T")

_Strs = tuple[str, ...]


# gc=False: decoded records never form reference cycles (they are frozen trees of tuples and
# strings), and keeping tens of thousands of small objects out of the cyclic collector is the
# largest single speed-up msgspec offers for big pages (a third off a 100-work page here).
# Subclasses inherit every option at run time; they restate frozen and kw_only only because
# type checkers do not carry those over from a base class.
class CrossrefStruct(
    msgspec.Struct, kw_only=True, rename="kebab", frozen=True, omit_defaults=True, gc=False
):
    """Base of every model: frozen, keyword-only, kebab-case keys, defaults for every field.

    Fields of the hot types (:class:`Work`, :class:`Reference`, :class:`Contributor`...) are
    declared in the order Crossref sends its keys: msgspec looks for the next key at the
    next field first, so a matching order saves a search per key.

    Unknown keys are ignored (never forbidden), so new API fields never break decoding.
    ``msgspec.json.encode`` gives back the JSON shape, without the fields left at their default.
    Instances stay out of the cyclic garbage collector: never put a model inside one of its
    own maps (such as ``Work.relation``), or it would never be freed.

    >>> decode_item(b'{"id": "book", "label": "Book", "a-key-added-later": 1}', Type)
    Type(id='book', label='Book')
    >>> msgspec.json.encode(Work(DOI="10.5555/12345678", is_referenced_by_count=3))
    b'{"DOI":"10.5555/12345678","is-referenced-by-count":3}'

    The repr shows only the fields that are set, long text and lists cut down, and never
    more than a few hundred characters; a class may name the fields that identify it in
    ``_repr_fields`` (:class:`Member`, :class:`Journal`...). rich (``__rich_repr__``) and
    IPython (``_repr_pretty_``) show the same fields.

    >>> Contributor(family="Carberry", affiliation=(Affiliation(name="Brown University"),) * 5)
    Contributor(family='Carberry', affiliation=(Affiliation(name='Brown University'), …+4))
    >>> Affiliation(name="Department of Computer Science, Brown University, 115 Waterman Street")
    Affiliation(name='Department of Computer Science, Brown University, 115 Water…')
    """

    #: The fields the repr shows, when only some identify the record (None: all that are set).
    _repr_fields: ClassVar[tuple[str, ...] | None] = None

    def __repr__(self) -> str:
        return _pretty.struct_repr(self)

    def __rich_repr__(self) -> list[tuple[str, Any]]:
        """The fields the repr shows, for rich's pretty printer."""
        return list(_pretty.fields(self))

    def _repr_pretty_(self, p: _pretty.PrettyPrinter, cycle: bool) -> None:
        """IPython's pretty form: the short repr."""
        _pretty.pretty(self, p, cycle)


# -- small shared pieces ------------------------------------------------------------------------


class PartialDate(CrossrefStruct, frozen=True, kw_only=True):
    """A Crossref date: ``date-parts`` (year, month, day; later parts may be missing, and a
    part may be ``null``), plus ``date-time``/``timestamp`` on full dates (``created``,
    ``deposited``, ``indexed``) and ``version`` on ``indexed``.

    >>> PartialDate(date_parts=((2020, 5),)).date
    datetime.date(2020, 5, 1)
    >>> PartialDate(date_parts=((None,),)).year is None
    True
    """

    _repr_fields = ("date_parts",)

    date_parts: tuple[tuple[int | None, ...], ...] = ()
    date_time: str | None = None
    timestamp: int | None = None
    version: str | None = None

    @property
    def parts(self) -> tuple[int | None, ...]:
        """The first ``date-parts`` entry (``(2020, 5)``), or ``()`` when there is none.

        >>> PartialDate(date_parts=((2020, 5),)).parts
        (2020, 5)
        >>> PartialDate().parts
        ()
        """
        return self.date_parts[0] if self.date_parts else ()

    @property
    def year(self) -> int | None:
        """The year, or None when the date has no year (``[[null]]``).

        >>> decode_item(b'{"date-parts": [[1896, 5]]}', PartialDate).year
        1896
        >>> decode_item(b'{"date-parts": [[null]]}', PartialDate).year is None
        True
        """
        parts = self.parts
        return parts[0] if parts else None

    @property
    def day(self) -> str | None:
        """The day as ``YYYY-MM-DD`` when year, month and day are all given (as they are on
        ``created``, ``deposited`` and ``indexed``), else None.

        >>> PartialDate(date_parts=((2023, 1, 17),)).day
        '2023-01-17'
        >>> PartialDate(date_parts=((2023, 1),)).day is None
        True
        """
        parts = self.parts
        if len(parts) < 3 or None in parts[:3]:
            return None
        year, month, day = parts[:3]
        return f"{year:04d}-{month:02d}-{day:02d}"

    @property
    def date(self) -> datetime.date | None:
        """The date, with a missing (or impossible) month or day taken as 1: ``[[2013, 2]]``
        is 2013-02-01, as Crossref itself reads partial dates. None without a year.

        >>> decode_item(b'{"date-parts": [[2013, 2]]}', PartialDate).date
        datetime.date(2013, 2, 1)
        >>> PartialDate(date_parts=((2019, 6, 31),)).date  # no 31 June: the day is dropped
        datetime.date(2019, 6, 1)
        >>> PartialDate(date_parts=((2019, 0, 12),)).date  # month 0: taken as 1, with the day
        datetime.date(2019, 1, 12)
        """
        parts = self.parts
        year = parts[0] if parts else None
        if year is None:
            return None
        month = parts[1] if len(parts) > 1 else None
        day = parts[2] if len(parts) > 2 else None
        # Deposited data holds impossible dates (month 0, 31 June); keep what is valid
        # rather than dropping the whole date.
        for candidate in ((month or 1, day or 1), (month or 1, 1), (1, 1)):
            try:
                return datetime.date(year, *candidate)
            except ValueError:
                continue
        return None

    @property
    def datetime(self) -> datetime.datetime | None:
        """``date-time`` as an aware datetime (UTC), or None if absent or unreadable.

        >>> created = decode_item(b'''{"date-parts": [[2023, 1, 17]],
        ...     "date-time": "2023-01-17T09:30:00Z", "timestamp": 1673947800000}''', PartialDate)
        >>> created.datetime
        datetime.datetime(2023, 1, 17, 9, 30, tzinfo=datetime.timezone.utc)
        >>> PartialDate(date_parts=((2023, 1, 17),)).datetime is None  # issued dates have none
        True
        """
        if not self.date_time:
            return None
        try:
            # fromisoformat only reads a trailing "Z" from Python 3.11 on.
            return datetime.datetime.fromisoformat(self.date_time.replace("Z", "+00:00"))
        except ValueError:
            return None


class Identifier(CrossrefStruct, frozen=True, kw_only=True):
    """An external identifier of an organisation: ``id`` (a ROR URL, a funder DOI...),
    ``id-type`` (``ROR``, ``DOI``...) and who asserted it (``asserted-by``).

    >>> ror = decode_item(b'''{"id": "https://ror.org/02jz4aj89", "id-type": "ROR",
    ...                        "asserted-by": "publisher"}''', Identifier)
    >>> ror.id_type, ror.id, ror.asserted_by
    ('ROR', 'https://ror.org/02jz4aj89', 'publisher')
    """

    id: str | None = None
    id_type: str | None = None
    asserted_by: str | None = None


class Relation(CrossrefStruct, frozen=True, kw_only=True):
    """One entry of a work's ``relation`` map: the related object's ``id``, its ``id-type``
    (``doi``, ``issn``, ``uri``...) and ``asserted-by`` (``subject`` or ``object``).

    >>> work = decode_item(b'''{"DOI": "10.1371/journal.pone.0060462", "relation": {
    ...     "is-supplemented-by": [{"id-type": "doi", "id": "10.5061/dryad.b835k",
    ...                             "asserted-by": "subject"}]}}''', Work)
    >>> work.relation["is-supplemented-by"]
    (Relation(id='10.5061/dryad.b835k', id_type='doi', asserted_by='subject'),)
    """

    id: str | None = None
    id_type: str | None = None
    asserted_by: str | None = None


class IssnType(CrossrefStruct, frozen=True, kw_only=True):
    """An ISSN with its kind: ``type`` is ``print``, ``electronic`` or ``link``.

    >>> work = decode_item(b'''{"ISSN": ["0004-637X", "1538-4357"], "issn-type": [
    ...     {"type": "print", "value": "0004-637X"},
    ...     {"type": "electronic", "value": "1538-4357"}]}''', Work)
    >>> {issn.type: issn.value for issn in work.issn_type}
    {'print': '0004-637X', 'electronic': '1538-4357'}
    """

    value: str | None = None
    type: str | None = None


class IsbnType(CrossrefStruct, frozen=True, kw_only=True):
    """An ISBN with its kind: ``type`` is ``print`` or ``electronic``.

    >>> book = decode_item(b'''{"ISBN": ["9783662463697", "9783662463703"], "isbn-type": [
    ...     {"type": "print", "value": "9783662463697"},
    ...     {"type": "electronic", "value": "9783662463703"}]}''', Work)
    >>> book.isbn_type[1]
    IsbnType(value='9783662463703', type='electronic')
    """

    value: str | None = None
    type: str | None = None


# -- work parts ---------------------------------------------------------------------------------


class Affiliation(CrossrefStruct, frozen=True, kw_only=True):
    """A contributor's affiliation: ``name``, identifiers (``id``: ROR and others),
    ``place``, ``department`` and ``acronym``.

    >>> aff = decode_item(b'''{"name": "Maastricht University",
    ...     "place": ["Maastricht, Netherlands"],
    ...     "id": [{"id": "https://ror.org/02jz4aj89", "id-type": "ROR"}]}''', Affiliation)
    >>> aff.name, aff.place, [i.id for i in aff.id if i.id_type == "ROR"]
    ('Maastricht University', ('Maastricht, Netherlands',), ['https://ror.org/02jz4aj89'])
    """

    name: str | None = None
    id: tuple[Identifier, ...] = ()
    place: _Strs = ()
    department: _Strs = ()
    acronym: _Strs = ()


class ContributorRole(CrossrefStruct, frozen=True, kw_only=True):
    """A contributor's role from a controlled ``vocabulary`` (such as ``crossref``).

    >>> editor = decode_item(b'''{"given": "Ana", "family": "Lima", "sequence": "first",
    ...     "role": [{"role": "editor", "vocabulary": "crossref"}]}''', Contributor)
    >>> editor.role
    (ContributorRole(role='editor', vocabulary='crossref'),)
    """

    role: str | None = None
    vocabulary: str | None = None


class Contributor(CrossrefStruct, frozen=True, kw_only=True):
    """An author, editor, chair or translator: a person (``given``/``family``) or an
    organisation (``name``), with ``ORCID``, affiliations and ``sequence`` (``first`` or
    ``additional``).

    >>> author = decode_item(b'''{"ORCID": "https://orcid.org/0000-0002-1825-0097",
    ...     "authenticated-orcid": true, "given": "Josiah", "family": "Carberry",
    ...     "sequence": "first", "affiliation": [{"name": "Brown University"}]}''', Contributor)
    >>> author.display_name, author.sequence, author.ORCID
    ('Josiah Carberry', 'first', 'https://orcid.org/0000-0002-1825-0097')
    >>> author.authenticated_orcid, author.affiliation[0].name
    (True, 'Brown University')
    """

    ORCID: str | None = msgspec.field(default=None, name="ORCID")
    authenticated_orcid: bool | None = None
    given: str | None = None
    suffix: str | None = None
    family: str | None = None
    name: str | None = None
    sequence: str | None = None
    affiliation: tuple[Affiliation, ...] = ()
    role: tuple[ContributorRole, ...] = ()
    prefix: str | None = None

    @property
    def display_name(self) -> str | None:
        """``"Given Family"`` for a person, ``name`` for an organisation, else None.

        >>> Contributor(given="Adeildo S.", family="Ramos", suffix="Jr.").display_name
        'Adeildo S. Ramos'
        >>> Contributor(name="Australasian Gastro-Intestinal Trials Group").display_name
        'Australasian Gastro-Intestinal Trials Group'
        >>> Contributor(sequence="additional").display_name is None
        True
        """
        person = " ".join(p.strip() for p in (self.given, self.family) if p and p.strip())
        if person:
            return person
        return self.name.strip() if self.name and self.name.strip() else None


class WorkLicense(CrossrefStruct, frozen=True, kw_only=True):
    """A license on a work: ``URL``, when it starts, ``delay-in-days`` after publication,
    and the ``content-version`` it covers (``vor``, ``am``, ``tdm``, ``unspecified``).

    >>> cc_by = decode_item(b'''{"URL": "http://creativecommons.org/licenses/by/4.0/",
    ...     "content-version": "vor", "delay-in-days": 16,
    ...     "start": {"date-parts": [[2023, 1, 17]], "date-time": "2023-01-17T00:00:00Z"}}''',
    ...     WorkLicense)
    >>> cc_by.content_version, cc_by.delay_in_days, cc_by.start.date
    ('vor', 16, datetime.date(2023, 1, 17))
    """

    start: PartialDate | None = None
    content_version: str | None = None
    delay_in_days: int | None = None
    URL: str | None = msgspec.field(default=None, name="URL")


class Link(CrossrefStruct, frozen=True, kw_only=True):
    """A full-text link: ``URL``, ``content-type`` (MIME type), ``content-version`` and
    ``intended-application`` (``text-mining``, ``similarity-checking``, ``unspecified``).

    >>> pdf = decode_item(b'''{
    ...     "URL": "https://cdn.elifesciences.org/articles/01567/elife-01567-v1.pdf",
    ...     "content-type": "application/pdf", "content-version": "vor",
    ...     "intended-application": "text-mining"}''', Link)
    >>> pdf.content_type, pdf.intended_application
    ('application/pdf', 'text-mining')
    """

    URL: str | None = msgspec.field(default=None, name="URL")
    content_type: str | None = None
    content_version: str | None = None
    intended_application: str | None = None


class AwardInfo(CrossrefStruct, frozen=True, kw_only=True):
    """Structured award data on a work's funder entry (newer records).

    >>> dfg = decode_item(b'''{"name": "Deutsche Forschungsgemeinschaft",
    ...     "award": ["NA 240/10-2"], "award-info": [{"award-number": ["NA 240/10-2"]}]}''',
    ...     FunderRef)
    >>> dfg.award_info
    (AwardInfo(award_number=('NA 240/10-2',)),)
    """

    award_number: _Strs = ()


class FunderRef(CrossrefStruct, frozen=True, kw_only=True):
    """A funder named on a work: ``name``, the funder's ``DOI`` (and who asserted it), the
    ``award`` numbers, and identifiers.

    >>> dfg = decode_item(b'''{"DOI": "10.13039/501100001659",
    ...     "name": "Deutsche Forschungsgemeinschaft", "doi-asserted-by": "publisher",
    ...     "award": ["NA 240/10-2"]}''', FunderRef)
    >>> dfg.name, dfg.DOI, dfg.award
    ('Deutsche Forschungsgemeinschaft', '10.13039/501100001659', ('NA 240/10-2',))
    >>> decode_item(b'{"name": "SystemsX"}', FunderRef).DOI is None  # not in the Funder Registry
    True
    """

    DOI: str | None = msgspec.field(default=None, name="DOI")
    name: str | None = None
    doi_asserted_by: str | None = None
    award: _Strs = ()
    award_info: tuple[AwardInfo, ...] = ()
    id: tuple[Identifier, ...] = ()


class Reference(CrossrefStruct, frozen=True, kw_only=True):
    """One entry of a work's reference list: its ``key``, the cited ``DOI`` if matched,
    the ``unstructured`` citation text, and the structured citation fields.

    >>> ref = decode_item(b'''{"key": "bib2", "doi-asserted-by": "publisher",
    ...     "first-page": "413", "DOI": "10.1534/genetics.109.104976",
    ...     "article-title": "In the beginning was the worm", "volume": "182",
    ...     "author": "Brenner", "year": "2009", "journal-title": "Genetics"}''', Reference)
    >>> ref.DOI, ref.author, ref.year, ref.journal_title
    ('10.1534/genetics.109.104976', 'Brenner', '2009', 'Genetics')
    >>> plain = decode_item(b'{"key": "ref11", "unstructured": "See www.gps.gov."}', Reference)
    >>> plain.DOI, plain.unstructured
    (None, 'See www.gps.gov.')
    """

    _repr_fields = (
        "key",
        "DOI",
        "author",
        "year",
        "article_title",
        "journal_title",
        "volume",
        "first_page",
        "unstructured",
    )

    # Wire order (see CrossrefStruct): a large page holds a hundred thousand of these.
    issue: str | None = None
    key: str | None = None
    doi_asserted_by: str | None = None
    first_page: str | None = None
    DOI: str | None = msgspec.field(default=None, name="DOI")
    series_title: str | None = None
    article_title: str | None = None
    volume: str | None = None
    author: str | None = None
    volume_title: str | None = None
    year: str | None = None
    journal_title: str | None = None
    unstructured: str | None = None
    ISSN: str | None = msgspec.field(default=None, name="ISSN")
    edition: str | None = None
    issn_type: str | None = None
    component: str | None = None
    standard_designator: str | None = None
    standards_body: str | None = None
    ISBN: str | None = msgspec.field(default=None, name="ISBN")
    isbn_type: str | None = None


class Update(CrossrefStruct, frozen=True, kw_only=True):
    """An editorial update (``update-to`` / ``updated-by``): the other work's ``DOI``, the
    update ``type`` (``correction``, ``retraction``...), its ``label`` and date.

    >>> work = decode_item(b'''{"DOI": "10.1371/journal.pone.0033445", "updated-by": [
    ...     {"DOI": "10.1371/annotation/c76da2c1-ccb8-4797-94c1-359d3ceceeda",
    ...      "type": "correction", "source": "publisher", "label": "Correction",
    ...      "updated": {"date-parts": [[2012, 5, 8]]}}]}''', Work)
    >>> fix = work.updated_by[0]
    >>> fix.type, fix.label, fix.updated.date
    ('correction', 'Correction', datetime.date(2012, 5, 8))

    ``source`` says who asserted the update: ``publisher``, or ``retraction-watch`` for the
    entries Crossref takes from the Retraction Watch database, which carry that database's
    ``record_id`` (a number; kept as sent, number or string, so neither spelling breaks a page):

    >>> work = decode_item(b'''{"updated-by": [{"DOI": "10.5555/notice", "type": "retraction",
    ...     "source": "retraction-watch", "label": "Retraction", "record-id": 46211,
    ...     "updated": {"date-parts": [[2023, 9, 11]]}}]}''', Work)
    >>> work.updated_by[0].source, work.updated_by[0].record_id
    ('retraction-watch', 46211)
    """

    updated: PartialDate | None = None
    DOI: str | None = msgspec.field(default=None, name="DOI")
    type: str | None = None
    source: str | None = None
    label: str | None = None
    record_id: int | str | None = None


class AssertionGroup(CrossrefStruct, frozen=True, kw_only=True):
    """The group of a Crossmark assertion.

    >>> body = b'{"name": "publication_history", "label": "Publication History"}'
    >>> decode_item(body, AssertionGroup)
    AssertionGroup(name='publication_history', label='Publication History')
    """

    name: str | None = None
    label: str | None = None


class AssertionExplanation(CrossrefStruct, frozen=True, kw_only=True):
    """Where a Crossmark assertion is explained.

    >>> check = decode_item(b'''{"value": "This document is Similarity Check deposited",
    ...     "name": "similarity_check",
    ...     "explanation": {"URL": "https://www.crossref.org/services/similarity-check/"}}''',
    ...     Assertion)
    >>> check.explanation
    AssertionExplanation(URL='https://www.crossref.org/services/similarity-check/')
    """

    URL: str | None = msgspec.field(default=None, name="URL")


class Assertion(CrossrefStruct, frozen=True, kw_only=True):
    """A custom Crossmark assertion (``received``, ``peer-review-method``...).

    >>> received = decode_item(b'''{"value": "2013-09-20", "order": 0, "name": "received",
    ...     "label": "Received", "group": {"name": "publication_history",
    ...                                   "label": "Publication History"}}''', Assertion)
    >>> received.name, received.value, received.group.label
    ('received', '2013-09-20', 'Publication History')
    """

    value: str | None = None
    URL: str | None = msgspec.field(default=None, name="URL")
    order: int | None = None
    name: str | None = None
    label: str | None = None
    explanation: AssertionExplanation | None = None
    group: AssertionGroup | None = None


class ClinicalTrial(CrossrefStruct, frozen=True, kw_only=True):
    """A clinical trial number and the DOI of the registry that assigned it.

    >>> trial = decode_item(b'''{"clinical-trial-number": "nct03797326",
    ...                          "registry": "10.18810/clinical-trials-gov"}''', ClinicalTrial)
    >>> trial.clinical_trial_number, trial.registry
    ('nct03797326', '10.18810/clinical-trials-gov')
    """

    clinical_trial_number: str | None = None
    registry: str | None = None
    type: str | None = None


class ContentDomain(CrossrefStruct, frozen=True, kw_only=True):
    """Domains where Crossmark content for the work appears.

    >>> domain = decode_item(b'''{"domain": ["www.elifesciences.org"],
    ...                           "crossmark-restriction": false}''', ContentDomain)
    >>> domain.domain, domain.crossmark_restriction
    (('www.elifesciences.org',), False)
    """

    domain: _Strs = ()
    crossmark_restriction: bool | None = None


class Event(CrossrefStruct, frozen=True, kw_only=True):
    """The conference or event of a proceedings work.

    >>> icc = decode_item(b'''{"name": "IEEE International Conference on Communications",
    ...     "location": "Ottawa, ON", "acronym": "ICC 2012",
    ...     "start": {"date-parts": [[2012, 6, 10]]}, "end": {"date-parts": [[2012, 6, 15]]}}''',
    ...     Event)
    >>> icc.acronym, icc.location, icc.start.date, icc.end.date
    ('ICC 2012', 'Ottawa, ON', datetime.date(2012, 6, 10), datetime.date(2012, 6, 15))
    """

    name: str | None = None
    theme: str | None = None
    location: str | None = None
    acronym: str | None = None
    number: str | None = None
    sponsor: _Strs = ()
    start: PartialDate | None = None
    end: PartialDate | None = None


class Institution(CrossrefStruct, frozen=True, kw_only=True):
    """An institution named on a work (dissertations, reports, posted content).

    >>> pdb = decode_item(b'''{"name": "Worldwide Protein Data Bank", "acronym": ["wwPDB"],
    ...     "id": [{"id": "https://ror.org/047qy5748", "id-type": "ROR"}]}''', Institution)
    >>> pdb.name, pdb.acronym, pdb.id[0].id
    ('Worldwide Protein Data Bank', ('wwPDB',), 'https://ror.org/047qy5748')
    """

    name: str | None = None
    id: tuple[Identifier, ...] = ()
    place: _Strs = ()
    department: _Strs = ()
    acronym: _Strs = ()


class StandardsBody(CrossrefStruct, frozen=True, kw_only=True):
    """The body that published a standard.

    >>> decode_item(b'{"name": "BSI British Standards", "acronym": "BSI"}', StandardsBody)
    StandardsBody(name='BSI British Standards', acronym='BSI')
    """

    name: str | None = None
    acronym: str | None = None


class JournalIssue(CrossrefStruct, frozen=True, kw_only=True):
    """The journal issue a work appeared in, with the issue's own dates.

    >>> issue = decode_item(b'''{"issue": "2", "published-online": {"date-parts": [[2023, 1, 17]]},
    ...                          "published-print": {"date-parts": [[2023, 1]]}}''', JournalIssue)
    >>> issue.issue, issue.published_print.date, issue.published_online.date
    ('2', datetime.date(2023, 1, 1), datetime.date(2023, 1, 17))
    """

    issue: str | None = None
    published_print: PartialDate | None = None
    published_online: PartialDate | None = None


class ResourceLink(CrossrefStruct, frozen=True, kw_only=True):
    """A landing-page URL of a work.

    >>> work = decode_item(b'''{"DOI": "10.3847/1538-4357/acacf5", "resource": {
    ...     "primary": {"URL": "https://iopscience.iop.org/article/10.3847/1538-4357/acacf5"}}}''',
    ...     Work)
    >>> work.resource.primary
    ResourceLink(URL='https://iopscience.iop.org/article/10.3847/1538-4357/acacf5')
    """

    URL: str | None = msgspec.field(default=None, name="URL")


class Resource(CrossrefStruct, frozen=True, kw_only=True):
    """Where the work resolves: the ``primary`` landing page and any ``secondary`` ones.

    >>> resource = decode_item(b'''{
    ...     "primary": {"URL": "https://elifesciences.org/articles/01567"},
    ...     "secondary": [{"URL": "https://europepmc.org/article/MED/24327559"}]}''', Resource)
    >>> resource.primary.URL, [link.URL for link in resource.secondary]
    ('https://elifesciences.org/articles/01567', ['https://europepmc.org/article/MED/24327559'])
    """

    primary: ResourceLink | None = None
    secondary: tuple[ResourceLink, ...] = ()


class Review(CrossrefStruct, frozen=True, kw_only=True):
    """Peer-review metadata (for works of type ``peer-review``).

    >>> report = decode_item(b'''{"type": "referee-report", "stage": "pre-publication",
    ...                           "running-number": "PR3V1", "revision-round": "1"}''', Review)
    >>> report.type, report.stage, report.revision_round
    ('referee-report', 'pre-publication', '1')
    """

    type: str | None = None
    stage: str | None = None
    recommendation: str | None = None
    revision_round: str | None = None
    running_number: str | None = None
    competing_interest_statement: str | None = None
    language: str | None = None


class FreeToRead(CrossrefStruct, frozen=True, kw_only=True):
    """When a work is free to read.

    >>> free = decode_item(b'{"start-date": {"date-parts": [[2021, 3, 1]]}}', FreeToRead)
    >>> free.start_date.date, free.end_date
    (datetime.date(2021, 3, 1), None)
    """

    start_date: PartialDate | None = None
    end_date: PartialDate | None = None


class WorkVersion(CrossrefStruct, frozen=True, kw_only=True):
    """The version label of posted content (``{"version": "v1"}``).

    >>> preprint = decode_item(b'{"type": "posted-content", "version": {"version": "v2"}}', Work)
    >>> preprint.version
    WorkVersion(version='v2')
    """

    version: str | None = None


# -- the work -----------------------------------------------------------------------------------


class Work(CrossrefStruct, frozen=True, kw_only=True):
    """One Crossref work (``message-type: work``, and the items of ``work-list``).

    Every field is optional: records cut down with ``select=`` decode with this same type,
    the fields not selected left as ``None`` or ``()``.

    Identity: ``DOI``, ``URL``, ``prefix``, ``member``, ``type``, ``subtype``, ``source``,
    ``alternative_id``, ``aliases`` (other DOIs of this same record: since February 2025 an
    alias DOI answers with a redirect to its primary record, which lists it here). Titles:
    ``title``, ``subtitle``, ``short_title``, ``original_title``,
    ``container_title``, ``short_container_title``, ``group_title``. People: ``author``,
    ``editor``, ``chair``, ``translator`` (:class:`Contributor`), ``institution``.
    Dates (:class:`PartialDate`): ``issued``, ``published``, ``published_print``,
    ``published_online``, ``published_other``, ``posted``, ``accepted``, ``approved``,
    ``content_created``, ``content_updated``, ``created``, ``deposited``, ``indexed``.
    Where: ``volume``, ``issue``, ``page``, ``article_number``, ``journal_issue``,
    ``publisher``, ``publisher_location``, ``ISSN``/``issn_type``, ``ISBN``/``isbn_type``,
    ``event``, ``standards_body``, ``degree``. Content: ``abstract`` (JATS XML as a string),
    ``description``, ``language``, ``subject``, ``license``, ``link``, ``resource``,
    ``free_to_read``. Links to other records: ``funder``, ``reference``, ``relation`` (a map
    from relation type to :class:`Relation` entries), ``update_to``, ``updated_by``,
    ``update_policy``, ``assertion``, ``clinical_trial_number``, ``archive``, ``review``.
    Counts: ``references_count`` (and its deprecated twin ``reference_count``),
    ``is_referenced_by_count``. ``score`` is the search relevance.

    >>> w = Work(DOI="10.1000/xyz", title=("A title",), issued=PartialDate(date_parts=((2020,),)))
    >>> w.doi_url, w.first_title, w.year, w.issued_date
    ('https://doi.org/10.1000/xyz', 'A title', 2020, datetime.date(2020, 1, 1))

    The repr is the DOI, type, first title (shortened past 60 characters), year and first
    author, each left out when the record lacks it (a ``select=`` record); a record with none
    of them shows the fields it has:

    >>> Work(DOI="10.1037/0003-066x.59.1.29", type="journal-article",
    ...      title=("How the Mind Hurts and Heals",),
    ...      issued=PartialDate(date_parts=((2004, 1),)),
    ...      author=(Contributor(given="Oakley", family="Ray"),))
    Work(10.1037/0003-066x.59.1.29, journal-article, 'How the Mind Hurts and Heals', 2004, Ray)
    >>> Work(DOI="10.5555/1", author=(Contributor(family="Carberry"), Contributor(family="Ng")))
    Work(10.5555/1, Carberry et al.)
    >>> Work(is_referenced_by_count=3)
    Work(is_referenced_by_count=3)
    """

    # Declared in the order Crossref sends the keys (see CrossrefStruct), not by topic: the
    # docstring above is the map by topic. Fields missing from the corpus come last.
    indexed: PartialDate | None = None
    reference_count: int | None = None
    publisher: str | None = None
    issue: str | None = None
    license: tuple[WorkLicense, ...] = ()
    funder: tuple[FunderRef, ...] = ()
    content_domain: ContentDomain | None = None
    short_container_title: _Strs = ()
    published_print: PartialDate | None = None
    abstract: str | None = None
    DOI: str | None = msgspec.field(default=None, name="DOI")
    type: str | None = None
    created: PartialDate | None = None
    update_to: tuple[Update, ...] = ()
    page: str | None = None
    update_policy: str | None = None
    publisher_location: str | None = None
    # Older records (2019 recordings) carry one object here, newer ones a list; the
    # `institutions` property always gives a tuple.
    institution: tuple[Institution, ...] | Institution | None = None
    source: str | None = None
    is_referenced_by_count: int | None = None
    title: _Strs = ()
    isbn_type: tuple[IsbnType, ...] = ()
    prefix: str | None = None
    volume: str | None = None
    accepted: PartialDate | None = None
    author: tuple[Contributor, ...] = ()
    member: str | None = None
    edition_number: str | None = None
    posted: PartialDate | None = None
    group_title: str | None = None
    published_online: PartialDate | None = None
    reference: tuple[Reference, ...] = ()
    description: str | None = None
    container_title: _Strs = ()
    original_title: _Strs = ()
    language: str | None = None
    link: tuple[Link, ...] = ()
    deposited: PartialDate | None = None
    # The only snake_case key Crossref sends; kebab renaming would spell it with a dash.
    special_numbering: str | None = msgspec.field(default=None, name="special_numbering")
    score: float | None = None
    clinical_trial_number: tuple[ClinicalTrial, ...] = ()
    content_updated: PartialDate | None = None
    resource: Resource | None = None
    standards_body: StandardsBody | None = None
    event: Event | None = None
    approved: PartialDate | None = None
    editor: tuple[Contributor, ...] = ()
    updated_by: tuple[Update, ...] = ()
    subtitle: _Strs = ()
    short_title: _Strs = ()
    issued: PartialDate | None = None
    content_created: PartialDate | None = None
    references_count: int | None = None
    journal_issue: JournalIssue | None = None
    alternative_id: _Strs = ()
    review: Review | None = None
    URL: str | None = msgspec.field(default=None, name="URL")
    degree: _Strs = ()
    archive: _Strs = ()
    relation: dict[str, tuple[Relation, ...]] = msgspec.field(default_factory=dict)
    ISBN: _Strs = msgspec.field(default=(), name="ISBN")
    ISSN: _Strs = msgspec.field(default=(), name="ISSN")
    issn_type: tuple[IssnType, ...] = ()
    subject: _Strs = ()
    version: WorkVersion | None = None
    published: PartialDate | None = None
    published_other: PartialDate | None = None
    assertion: tuple[Assertion, ...] = ()
    article_number: str | None = None
    subtype: str | None = None
    chair: tuple[Contributor, ...] = ()
    translator: tuple[Contributor, ...] = ()
    part_number: str | None = None
    component_number: str | None = None
    free_to_read: FreeToRead | None = None
    aliases: _Strs = ()

    def __repr__(self) -> str:
        parts = [repr(value) if name == "title" else str(value) for name, value in self._summary()]
        if not parts:
            return _pretty.struct_repr(self)
        return _pretty.join("Work", parts)

    def __rich_repr__(self) -> list[tuple[str, Any]]:
        """The DOI, type, first title, year and first author, for rich's pretty printer."""
        return list(self._summary())

    def _summary(self) -> Iterator[tuple[str, Any]]:
        if self.DOI:
            yield "DOI", self.DOI
        if self.type:
            yield "type", self.type
        if self.first_title:
            yield "title", _pretty.shorten(self.first_title)
        if self.year is not None:
            yield "year", self.year
        if self.author:
            first = self.author[0]
            name = first.family or first.display_name
            if name:
                more = " et al." if len(self.author) > 1 else ""
                yield "author", _pretty.shorten(name, 30) + more

    # -- the names users guess: properties, never fields, so encoding a Work never has them.

    @property
    def doi(self) -> str | None:
        """An alias of ``DOI`` (Crossref's own key is upper case).

        >>> Work(DOI="10.5555/12345678").doi
        '10.5555/12345678'
        """
        return self.DOI

    @property
    def authors(self) -> tuple[Contributor, ...]:
        """An alias of ``author`` (Crossref's key is singular; it holds every author).

        >>> work = Work(author=(Contributor(family="Ng"), Contributor(family="Li")))
        >>> [a.family for a in work.authors]
        ['Ng', 'Li']
        """
        return self.author

    @property
    def references(self) -> tuple[Reference, ...]:
        """An alias of ``reference`` (Crossref's key is singular; it holds the whole list).

        >>> Work(reference=(Reference(key="ref1"),)).references
        (Reference(key='ref1'),)
        """
        return self.reference

    @property
    def dois(self) -> tuple[str, ...]:
        """Every DOI of this record: its ``DOI`` first, then its ``aliases`` (the DOIs that
        redirect to it).

        >>> Work(DOI="10.5555/primary", aliases=("10.5555/old-one",)).dois
        ('10.5555/primary', '10.5555/old-one')
        >>> Work().dois
        ()
        """
        return ((self.DOI,) if self.DOI else ()) + self.aliases

    @property
    def doi_url(self) -> str | None:
        """The DOI as a resolvable ``https://doi.org/`` URL (characters that would break a
        URL, such as ``#``, ``?``, ``%``, ``<`` and spaces, percent-encoded).

        >>> Work(DOI="10.1002/(SICI)1097-4636(199706)35:4<439::AID-JBM4>3.0.CO;2-H").doi_url
        'https://doi.org/10.1002/(SICI)1097-4636(199706)35:4%3C439::AID-JBM4%3E3.0.CO;2-H'
        >>> Work().doi_url is None
        True
        """
        if not self.DOI:
            return None
        return "https://doi.org/" + quote(self.DOI, safe="/:;()!*'@&=+$,-._~")

    @property
    def first_title(self) -> str | None:
        """The first title, or None when the work has none.

        >>> Work(title=("Toward a Unified Theory", "Silly String Theory")).first_title
        'Toward a Unified Theory'
        >>> decode_item(b'{"DOI": "10.5555/untitled", "title": []}', Work).first_title is None
        True
        """
        return self.title[0] if self.title else None

    @property
    def year(self) -> int | None:
        """The year of ``issued``, else of ``published``, ``published-print``,
        ``published-online`` or ``created`` (the first that has one).

        >>> Work(issued=PartialDate(date_parts=((2008, 8),))).year
        2008
        >>> Work(issued=PartialDate(date_parts=((None,),)),
        ...      published_print=PartialDate(date_parts=((1995, 7),))).year
        1995
        >>> Work().year is None
        True
        """
        for when in (
            self.issued,
            self.published,
            self.published_print,
            self.published_online,
            self.created,
        ):
            if when is not None and when.year is not None:
                return when.year
        return None

    @property
    def issued_date(self) -> datetime.date | None:
        """``issued`` as a date (missing month or day taken as 1), or None.

        >>> decode_item(b'{"issued": {"date-parts": [[1896, 5]]}}', Work).issued_date
        datetime.date(1896, 5, 1)
        >>> decode_item(b'{"issued": {"date-parts": [[null]]}}', Work).issued_date is None
        True
        """
        return self.issued.date if self.issued is not None else None

    @property
    def author_names(self) -> list[str]:
        """Display names of the authors in order: ``"Given Family"``, or ``name`` for an
        organisation; authors with neither are left out.

        >>> work = decode_item(b'''{"author": [
        ...     {"given": "Josiah", "family": "Carberry", "sequence": "first"},
        ...     {"name": "Australasian Gastro-Intestinal Trials Group", "sequence": "additional"},
        ...     {"sequence": "additional"}]}''', Work)
        >>> work.author_names
        ['Josiah Carberry', 'Australasian Gastro-Intestinal Trials Group']
        """
        return [name for name in (a.display_name for a in self.author) if name]

    @property
    def affiliations(self) -> tuple[Affiliation, ...]:
        """The authors' affiliations, each once, in the order they first appear (where the
        institutions of a paper's authors are; :attr:`institutions` is something else).

        >>> work = decode_item(b'''{"author": [
        ...     {"family": "Ng", "affiliation": [{"name": "Maastricht University"}]},
        ...     {"family": "Ho", "affiliation": [{"name": "Maastricht University"},
        ...                                      {"name": "Leiden University"}]},
        ...     {"family": "Li"}]}''', Work)
        >>> [affiliation.name for affiliation in work.affiliations]
        ['Maastricht University', 'Leiden University']
        """
        return tuple(dict.fromkeys(a for author in self.author for a in author.affiliation))

    @property
    def institutions(self) -> tuple[Institution, ...]:
        """``institution`` as a tuple, whichever shape the record used: the institution a
        record itself names (dissertations, reports), not the authors' (see
        :attr:`affiliations`).

        >>> old = decode_item(b'{"institution": {"name": "Front Matter"}}', Work)
        >>> new = decode_item(b'{"institution": [{"name": "Front Matter"}]}', Work)
        >>> old.institutions == new.institutions == (Institution(name="Front Matter"),)
        True
        >>> Work().institutions
        ()
        """
        if self.institution is None:
            return ()
        if isinstance(self.institution, Institution):
            return (self.institution,)
        return self.institution


class WorkKey(CrossrefStruct, frozen=True, kw_only=True):
    """The two fields of a work that a harvest reads from records it otherwise writes through
    untouched: ``DOI`` (to drop a record a cursor sends twice) and ``created`` (to resume a
    shard from its last day, and to place shard boundaries). Both keep the shape they have in
    :class:`Work`; every other key is skipped without building anything.

    >>> key = decoder(WorkKey).decode(b'''{"DOI": "10.5555/12345678", "title": ["Skipped"],
    ...     "created": {"date-parts": [[2023, 1, 17]], "timestamp": 1673947800000}}''')
    >>> key.DOI, key.created.day, key.created.date
    ('10.5555/12345678', '2023-01-17', datetime.date(2023, 1, 17))
    """

    DOI: str | None = msgspec.field(default=None, name="DOI")
    created: PartialDate | None = None


# -- other message types ------------------------------------------------------------------------


class DoiCounts(CrossrefStruct, frozen=True, kw_only=True):
    """DOI counts of a member or journal: all, current (last two years) and backfile.

    >>> body = b'{"counts": {"current-dois": 402, "backfile-dois": 2085, "total-dois": 2487}}'
    >>> decode_item(body, Member).counts
    DoiCounts(total_dois=2487, current_dois=402, backfile_dois=2085)
    """

    total_dois: int | None = None
    current_dois: int | None = None
    backfile_dois: int | None = None


class Breakdowns(CrossrefStruct, frozen=True, kw_only=True):
    """``dois-by-issued-year``: ``(year, count)`` pairs.

    >>> body = b'{"breakdowns": {"dois-by-issued-year": [[2017, 35], [2018, 23], [2020, 22]]}}'
    >>> journal = decode_item(body, Journal)
    >>> dict(journal.breakdowns.dois_by_issued_year)[2018]
    23
    """

    dois_by_issued_year: tuple[tuple[int, ...], ...] = ()


class MemberPrefix(CrossrefStruct, frozen=True, kw_only=True):
    """A DOI prefix owned by a member, with its reference-distribution setting.

    >>> member = decode_item(b'''{"id": 1, "prefixes": ["10.1370"], "prefix": [
    ...     {"value": "10.1370", "name": "Annals of Family Medicine",
    ...      "public-references": false, "reference-visibility": "limited"}]}''', Member)
    >>> member.prefix[0].value, member.prefix[0].reference_visibility
    ('10.1370', 'limited')
    """

    value: str | None = None
    name: str | None = None
    public_references: bool | None = None
    reference_visibility: str | None = None


# Coverage and flags are maps, not structs: their keys are metric names that Crossref keeps
# adding (``ror-ids``, ``descriptions``...), and a map never drops one silently.
_Coverage = dict[str, float | int | None]


class Member(CrossrefStruct, frozen=True, kw_only=True):
    """A Crossref member (``message-type: member``, items of ``member-list``).

    ``coverage`` maps ``<metric>-current``/``<metric>-backfile`` to the share of DOIs that
    carry it; ``coverage_type`` maps ``all``/``current``/``backfile`` to a map from work type
    to per-metric shares; ``counts_type`` maps the same periods to DOI counts by work type;
    ``flags`` maps ``deposits-...`` names to booleans. Any of them may be None (old records).

    >>> body = b'''{"status": "ok", "message-type": "member", "message-version": "1.0.0",
    ...   "message": {"id": 1, "primary-name": "Annals of Family Medicine",
    ...     "location": "Leawood, KS, United States", "prefixes": ["10.1370"],
    ...     "counts": {"current-dois": 402, "backfile-dois": 2085, "total-dois": 2487},
    ...     "counts-type": {"all": {"journal-article": 2487}},
    ...     "coverage": {"orcids-current": 0.0, "similarity-checking-current": 1.0},
    ...     "flags": {"deposits-references-current": true}}}'''
    >>> member = decode_message(body, Member, message_type="member")  # or await cr.member(1)
    >>> member.id, member.primary_name, member.prefixes, member.counts.total_dois
    (1, 'Annals of Family Medicine', ('10.1370',), 2487)
    >>> member.coverage["similarity-checking-current"], member.counts_type["all"]
    (1.0, {'journal-article': 2487})
    >>> member.flags["deposits-references-current"], member.coverage_type is None
    (True, True)
    """

    _repr_fields = ("id", "primary_name", "location", "prefixes")

    id: int | None = None
    primary_name: str | None = None
    names: _Strs = ()
    location: str | None = None
    tokens: _Strs = ()
    prefixes: _Strs = ()
    prefix: tuple[MemberPrefix, ...] = ()
    counts: DoiCounts | None = None
    counts_type: dict[str, dict[str, int] | None] | None = None
    breakdowns: Breakdowns | None = None
    coverage: _Coverage | None = None
    # Per period, per work type (one level deeper than on a journal).
    coverage_type: dict[str, dict[str, _Coverage] | None] | None = None
    flags: dict[str, bool] | None = None
    last_status_check_time: int | None = None


class Funder(CrossrefStruct, frozen=True, kw_only=True):
    """A funder of the Open Funder Registry (``message-type: funder``, items of
    ``funder-list``; the list items lack the hierarchy and counts).

    ``hierarchy`` is the nested tree of funder ids around this funder (each node a map of
    child ids, ``{"more": true}`` where the tree was cut); ``hierarchy_names`` maps those ids
    to names; ``descendants`` lists every funder id below this one.

    >>> body = b'''{"status": "ok", "message-type": "funder", "message-version": "1.0.0",
    ...   "message": {"id": "100000001", "name": "National Science Foundation",
    ...     "alt-names": ["US NSF", "NSF"], "location": "United States",
    ...     "uri": "https://doi.org/10.13039/100000001", "work-count": 392984,
    ...     "descendants": ["100000076"],
    ...     "hierarchy": {"100000001": {"100000076": {"more": true}}},
    ...     "hierarchy-names": {"100000001": "National Science Foundation",
    ...                         "100000076": "Directorate for Biological Sciences"}}}'''
    >>> nsf = decode_message(body, Funder, message_type="funder")  # or await cr.funder(id)
    >>> nsf.name, nsf.alt_names, nsf.work_count
    ('National Science Foundation', ('US NSF', 'NSF'), 392984)
    >>> [nsf.hierarchy_names[child] for child in nsf.hierarchy[nsf.id]]
    ['Directorate for Biological Sciences']
    """

    _repr_fields = ("id", "name", "location", "work_count")

    id: str | None = None
    name: str | None = None
    alt_names: _Strs = ()
    location: str | None = None
    uri: str | None = None
    tokens: _Strs = ()
    replaces: _Strs = ()
    replaced_by: _Strs = ()
    work_count: int | None = None
    descendant_work_count: int | None = None
    descendants: _Strs = ()
    hierarchy: dict[str, Any] = msgspec.field(default_factory=dict)
    hierarchy_names: dict[str, str | None] = msgspec.field(default_factory=dict)


class JournalSubject(CrossrefStruct, frozen=True, kw_only=True):
    """A journal subject: its ``name`` and ASJC code.

    >>> journal = decode_item(b'''{"title": "Journal of Landscape Ecology", "subjects": [
    ...     {"ASJC": 2303, "name": "Ecology"}]}''', Journal)
    >>> journal.subjects
    (JournalSubject(ASJC=2303, name='Ecology'),)
    """

    ASJC: int | None = msgspec.field(default=None, name="ASJC")
    name: str | None = None


class Journal(CrossrefStruct, frozen=True, kw_only=True):
    """A journal (``message-type: journal``, items of ``journal-list``). ``coverage``,
    ``coverage_type`` and ``flags`` are maps as on :class:`Member`.

    >>> body = b'''{"status": "ok", "message-type": "journal", "message-version": "1.0.0",
    ...   "message": {"title": "Journal of Landscape Ecology",
    ...     "publisher": "De Gruyter Poland Sp. z o.o.", "ISSN": ["1803-2427", "1805-4196"],
    ...     "issn-type": [{"value": "1803-2427", "type": "print"},
    ...                   {"value": "1805-4196", "type": "electronic"}],
    ...     "counts": {"current-dois": 58, "backfile-dois": 172, "total-dois": 230},
    ...     "coverage-type": {"all": {"abstracts": 0.86, "orcids": 0.02}}}}'''
    >>> journal = decode_message(body, Journal, message_type="journal")  # or await cr.journal(issn)
    >>> journal.title, journal.ISSN, journal.counts.total_dois
    ('Journal of Landscape Ecology', ('1803-2427', '1805-4196'), 230)
    >>> journal.coverage_type["all"]["abstracts"]
    0.86
    """

    _repr_fields = ("title", "publisher", "ISSN")

    title: str | None = None
    publisher: str | None = None
    ISSN: _Strs = msgspec.field(default=(), name="ISSN")
    issn_type: tuple[IssnType, ...] = ()
    subjects: tuple[JournalSubject, ...] = ()
    counts: DoiCounts | None = None
    breakdowns: Breakdowns | None = None
    coverage: _Coverage | None = None
    coverage_type: dict[str, _Coverage | None] | None = None
    flags: dict[str, bool] | None = None
    last_status_check_time: int | None = None


class Prefix(CrossrefStruct, frozen=True, kw_only=True):
    """A DOI prefix (``message-type: prefix``): its ``member`` URI and publisher ``name``.

    >>> body = b'''{"status": "ok", "message-type": "prefix", "message-version": "1.0.0",
    ...   "message": {"member": "http://id.crossref.org/member/78", "name": "Elsevier BV",
    ...               "prefix": "http://id.crossref.org/prefix/10.1016"}}'''
    >>> prefix = decode_message(body, Prefix, message_type="prefix")  # or await cr.prefix(prefix)
    >>> prefix.name, prefix.member, prefix.prefix
    ('Elsevier BV', 'http://id.crossref.org/member/78', 'http://id.crossref.org/prefix/10.1016')
    """

    prefix: str | None = None
    member: str | None = None
    name: str | None = None


class Type(CrossrefStruct, frozen=True, kw_only=True):
    """A work type (``message-type: type``, items of ``type-list``): ``journal-article``...

    >>> body = b'''{"status": "ok", "message-type": "type", "message-version": "1.0.0",
    ...   "message": {"id": "journal-article", "label": "Journal Article"}}'''
    >>> decode_message(body, Type, message_type="type")  # or await cr.type("journal-article")
    Type(id='journal-article', label='Journal Article')
    """

    id: str | None = None
    label: str | None = None


class LicenseEntry(CrossrefStruct, frozen=True, kw_only=True):
    """An item of ``/licenses`` (``license-list``): a license ``URL`` and how many works use it.

    >>> body = b'''{"status": "ok", "message-type": "license-list", "message-version": "1.0.0",
    ...   "message": {"total-results": 8087, "items": [
    ...     {"URL": "http://creativecommons.org/licenses/by/4.0/", "work-count": 1214}]}}'''
    >>> decode_page(body, LicenseEntry, message_type="license-list").items[0]
    LicenseEntry(URL='http://creativecommons.org/licenses/by/4.0/', work_count=1214)
    """

    URL: str | None = msgspec.field(default=None, name="URL")
    work_count: int | None = None


class RegistrationAgency(CrossrefStruct, frozen=True, kw_only=True):
    """A DOI registration agency: ``id`` (``crossref``, ``datacite``...) and ``label``.

    >>> body = b'{"DOI": "10.5061/dryad.b835k", "agency": {"id": "datacite", "label": "DataCite"}}'
    >>> decode_item(body, Agency).agency
    RegistrationAgency(id='datacite', label='DataCite')
    """

    id: str | None = None
    label: str | None = None


class Agency(CrossrefStruct, frozen=True, kw_only=True):
    """The agency that registered a DOI (``/works/{doi}/agency``, ``work-agency``).

    >>> body = b'''{"status": "ok", "message-type": "work-agency", "message-version": "1.0.0",
    ...   "message": {"DOI": "10.1126/science.169.3946.635",
    ...               "agency": {"id": "crossref", "label": "Crossref"}}}'''
    >>> agency = decode_message(body, Agency, message_type="work-agency")  # or await cr.agency(doi)
    >>> agency.DOI, agency.agency.id
    ('10.1126/science.169.3946.635', 'crossref')
    """

    DOI: str | None = msgspec.field(default=None, name="DOI")
    agency: RegistrationAgency | None = None


# -- lists and the envelope ---------------------------------------------------------------------


class Facet(CrossrefStruct, frozen=True, kw_only=True):
    """One facet of a works list: ``values`` maps each value to its count, and
    ``value_count`` is the number of values returned (the size of ``values``, as in every
    recorded facet), not the number of distinct values that exist.

    >>> body = b'''{"status": "ok", "message-type": "work-list", "message-version": "1.0.0",
    ...   "message": {"total-results": 18, "items": [], "facets": {"type-name": {
    ...     "value-count": 2, "values": {"Journal Article": 10, "Book Chapter": 3}}}}}'''
    >>> types = decode_page(body, Work, message_type="work-list").facets["type-name"]
    >>> types.value_count, types.values
    (2, {'Journal Article': 10, 'Book Chapter': 3})
    """

    value_count: int | None = None
    values: dict[str, int] = msgspec.field(default_factory=dict)


class Query(CrossrefStruct, frozen=True, kw_only=True):
    """The ``query`` echo of a list message.

    >>> body = b'''{"status": "ok", "message-type": "work-list", "message-version": "1.0.0",
    ...   "message": {"total-results": 0, "items": [], "items-per-page": 20,
    ...               "query": {"start-index": 0, "search-terms": "widget"}}}'''
    >>> decode_page(body, Work, message_type="work-list").query
    Query(start_index=0, search_terms='widget')
    """

    start_index: int | None = None
    search_terms: str | None = None


class Page(CrossrefStruct, Generic[T], frozen=True, kw_only=True):
    """One page of a list message: ``items`` (typed, or :class:`msgspec.Raw` in Raw mode),
    ``total_results``, ``items_per_page``, the ``query`` echo, ``facets`` and, on works
    lists requested with a cursor, ``next_cursor``.

    >>> body = b'''{"status": "ok", "message-type": "type-list", "message-version": "1.0.0",
    ...   "message": {"total-results": 1, "items": [{"id": "book", "label": "Book"}]}}'''
    >>> page = decode_page(body, Type, message_type="type-list")
    >>> page.total_results, page.items[0].label
    (1, 'Book')

    A page is a sequence of its items: ``len(page)``, ``page[0]``, ``for item in page`` and
    ``bool(page)`` all look at ``items`` (so a ``rows=0`` page, which carries only counts and
    facets, is false). Its repr is its size, the total and the cursor:

    >>> len(page), page[0], [t.id for t in page], bool(page)
    (1, Type(id='book', label='Book'), ['book'], True)
    >>> Page(items=(Type(id="book"),) * 3, total_results=336022, next_cursor="DnF1ZXJ5VGhlbkZldGNo")
    Page(3 of 336,022 items, next_cursor='DnF1ZXJ5…')
    """

    items: tuple[T, ...] = ()
    total_results: int = 0
    items_per_page: int | None = None
    query: Query | None = None
    facets: dict[str, Facet] = msgspec.field(default_factory=dict)
    next_cursor: str | None = None

    def __repr__(self) -> str:
        parts = [f"{len(self.items):,} of {self.total_results:,} items"]
        parts += [f"{name}={_pretty.summary(value)}" for name, value in self._summary()[2:]]
        return _pretty.join("Page", parts)

    def __rich_repr__(self) -> list[tuple[str, Any]]:
        """The size, total, cursor and facet names, for rich's pretty printer."""
        return self._summary()

    def _summary(self) -> list[tuple[str, Any]]:
        out: list[tuple[str, Any]] = [("size", len(self.items)), ("total", self.total_results)]
        if self.next_cursor is not None:
            # Cursors are long opaque tokens; their head tells two apart.
            out.append(("next_cursor", _pretty.shorten(self.next_cursor, 9)))
        if self.facets:
            out.append(("facets", list(self.facets)))
        return out

    def __len__(self) -> int:
        return len(self.items)

    def __iter__(self) -> Iterator[T]:
        return iter(self.items)

    @overload
    def __getitem__(self, index: int) -> T: ...
    @overload
    def __getitem__(self, index: slice) -> tuple[T, ...]: ...
    def __getitem__(self, index: int | slice) -> T | tuple[T, ...]:
        return self.items[index]

    def __bool__(self) -> bool:
        return bool(self.items)


class Envelope(CrossrefStruct, Generic[T], frozen=True, kw_only=True):
    """The wrapper of every response: ``status`` (``ok``), ``message_type``,
    ``message_version`` and the ``message`` itself.

    >>> body = b'''{"status": "ok", "message-type": "type", "message-version": "1.0.0",
    ...   "message": {"id": "book", "label": "Book"}}'''
    >>> envelope = decoder(Envelope[Type]).decode(body)
    >>> envelope.status, envelope.message_type, envelope.message
    ('ok', 'type', Type(id='book', label='Book'))
    """

    status: str | None = None
    message_type: str | None = None
    message_version: str | None = None
    message: T | None = None


class _Header(CrossrefStruct, frozen=True, kw_only=True):
    """The envelope without its message: read when decoding failed, to say why."""

    status: str | None = None
    message_type: str | None = None


# -- decoding -----------------------------------------------------------------------------------

_decoders: dict[Any, msgspec.json.Decoder[Any]] = {}


def decoder(model: type[T]) -> msgspec.json.Decoder[T]:
    """The JSON decoder for ``model`` (any type msgspec understands), built once and reused.

    Useful to read back records written by a Raw harvest:

    >>> decoder(Work).decode(b'{"DOI": "10.5555/1", "title": ["On reuse"]}').first_title
    'On reuse'
    >>> decoder(Work) is decoder(Work)
    True
    """
    found = _decoders.get(model)
    if found is None:
        found = _decoders.setdefault(model, msgspec.json.Decoder(model))
    return found


_AT_PATH = re.compile(r" - at `(\$[^`]*)`$")
_AT_BYTE = re.compile(r"\(byte (\d+)\)")
# Bodies reach megabytes; the excerpt only needs the head.
_EXCERPT_HEAD = 4096


def _decode_error(
    exc: msgspec.MsgspecError,
    body: bytes | str,
    message_type: str,
    url: str | None,
    *,
    is_list: bool = False,
) -> DecodeError:
    """Translate a msgspec error into DecodeError, with the JSON path or byte offset."""
    text = str(exc)
    position: str | None = None
    match = _AT_PATH.search(text)
    if match:
        position = match.group(1)
        text = text[: match.start()]
    elif (byte := _AT_BYTE.search(text)) is not None:
        position = f"byte {byte.group(1)}"
        text = (text[: byte.start()] + text[byte.end() :]).strip()
    elif "truncated" in text:
        position = f"byte {len(body)} (end of input)"
    if isinstance(exc, msgspec.ValidationError):
        # A shape error on a well-formed body is usually an error envelope (or another
        # message type) where a result was expected: say that rather than "expected object".
        try:
            header = decoder(_Header).decode(body)
        except (msgspec.DecodeError, msgspec.ValidationError, RecursionError):
            header = None
        if header is not None:
            mismatch = _mismatch(header.status, header.message_type, message_type, is_list=is_list)
            if mismatch is not None:
                text = f"{mismatch} ({text})"
    return DecodeError(
        text,
        message_type=message_type,
        position=position,
        url=url,
        body_excerpt=excerpt(body[:_EXCERPT_HEAD]),
        # Not JSON at all (cut short, an HTML page) is a broken transfer; valid JSON of the
        # wrong shape comes back the same on every try.
        transient=not isinstance(exc, msgspec.ValidationError),
    )


def _too_deep(body: bytes | str, message_type: str, url: str | None) -> DecodeError:
    """msgspec raises RecursionError on JSON nested deeper than it decodes. No Crossref
    message comes near that depth, and the same body is as deep on every try (a body cut
    short is caught as truncated by the transport or the parser), so it is not transient."""
    return DecodeError(
        "the JSON is nested too deeply to decode",
        message_type=message_type,
        url=url,
        body_excerpt=excerpt(body[:_EXCERPT_HEAD]),
    )


# The message types Crossref sends on success. A caller may instead name what it expects
# loosely ("list", "work or list"): then only the singleton/list distinction is checked.
_MESSAGE_TYPES = frozenset(
    {
        "work",
        "work-list",
        "work-agency",
        "member",
        "member-list",
        "funder",
        "funder-list",
        "journal",
        "journal-list",
        "prefix",
        "type",
        "type-list",
        "license-list",
    }
)


def _mismatch(status: str | None, got: str | None, expected: str, *, is_list: bool) -> str | None:
    """Why an envelope is not the expected successful message, or None if it is."""
    if status is not None and status != "ok":
        return f"status is {status!r} (message-type {got!r}), not 'ok'"
    if got is None or got == expected:
        return None
    if expected in _MESSAGE_TYPES or got.endswith("-list") != is_list:
        return f"message-type is {got!r}, not {expected!r}"
    return None


def _open(
    envelope: Envelope[T],
    body: bytes | str,
    message_type: str,
    url: str | None,
    *,
    is_list: bool = False,
) -> T:
    """The message of a decoded envelope, or DecodeError if it is not the expected one."""
    mismatch = _mismatch(envelope.status, envelope.message_type, message_type, is_list=is_list)
    if mismatch is not None:
        raise DecodeError(
            mismatch,
            message_type=message_type,
            position="$.message-type" if envelope.status in (None, "ok") else "$.status",
            url=url,
            body_excerpt=excerpt(body[:_EXCERPT_HEAD]),
        )
    if envelope.message is None:
        raise DecodeError(
            "the envelope has no message",
            message_type=message_type,
            position="$.message",
            url=url,
            body_excerpt=excerpt(body[:_EXCERPT_HEAD]),
        )
    return envelope.message


def decode_message(
    body: bytes | str, model: type[T], *, message_type: str, url: str | None = None
) -> T:
    """Decode a response envelope and return its ``message`` as ``model``.

    ``message_type`` is the ``message-type`` the response must carry (``work``, ``member``,
    ``work-agency``...). Raises :class:`~crossref_async.DecodeError` (with the JSON path or
    byte offset in ``position``) for malformed or truncated JSON, a wrong shape, an error
    envelope or another message type.

    >>> body = b'{"status":"ok","message-type":"prefix","message":{"prefix":"10.5555"}}'
    >>> decode_message(body, Prefix, message_type="prefix").prefix
    '10.5555'
    >>> try:
    ...     decode_message(b'{"status":"ok","message', Prefix, message_type="prefix")
    ... except DecodeError as exc:
    ...     print(exc.position)
    byte 23 (end of input)
    """
    try:
        envelope = decoder(Envelope[model]).decode(body)  # type: ignore[valid-type]
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise _decode_error(exc, body, message_type, url) from exc
    except RecursionError as exc:
        raise _too_deep(body, message_type, url) from exc
    message: T = _open(envelope, body, message_type, url)
    return message


def decode_page(
    body: bytes | str, item: type[T], *, message_type: str, url: str | None = None
) -> Page[T]:
    """Decode a list envelope (``work-list``, ``member-list``...) into a :class:`Page` of
    ``item``. Errors as for :func:`decode_message`.

    >>> body = b'''{"status": "ok", "message-type": "member-list", "message-version": "1.0.0",
    ...   "message": {"items-per-page": 20, "query": {"start-index": 0, "search-terms": null},
    ...               "total-results": 1, "items": [{"id": 7822, "primary-name": "Test"}]}}'''
    >>> page = decode_page(body, Member, message_type="member-list")
    >>> page.total_results, page.items_per_page, page.items[0].id
    (1, 20, 7822)
    >>> try:
    ...     decode_page(body, Work, message_type="work-list")
    ... except DecodeError as exc:
    ...     print(exc)
    cannot decode work-list at $.message-type: message-type is 'member-list', not 'work-list'
    """
    try:
        envelope = decoder(Envelope[Page[item]]).decode(body)  # type: ignore[valid-type]
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise _decode_error(exc, body, message_type, url, is_list=True) from exc
    except RecursionError as exc:
        raise _too_deep(body, message_type, url) from exc
    page: Page[T] = _open(envelope, body, message_type, url, is_list=True)
    return page


def decode_raw_page(
    body: bytes | str, *, message_type: str, url: str | None = None
) -> Page[msgspec.Raw]:
    """Decode a list envelope keeping each item as :class:`msgspec.Raw`: the record's bytes
    exactly as received, never turned into Python objects (for harvests that write records
    through). Everything else on the page is decoded as usual.

    Each Raw item refers to ``body``'s buffer; ``bytes(raw)`` copies one record out.

    >>> body = b'{"message-type": "work-list", "message": {"items": [{"DOI":"10.5555/1"}]}}'
    >>> bytes(decode_raw_page(body, message_type="work-list").items[0])
    b'{"DOI":"10.5555/1"}'
    """
    try:
        envelope = decoder(Envelope[Page[msgspec.Raw]]).decode(body)
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise _decode_error(exc, body, message_type, url, is_list=True) from exc
    except RecursionError as exc:
        raise _too_deep(body, message_type, url) from exc
    return _open(envelope, body, message_type, url, is_list=True)


def decode_item(
    data: bytes | str | msgspec.Raw,
    model: type[T],
    *,
    message_type: str = "item",
    url: str | None = None,
) -> T:
    """Decode one bare record (a Raw item, a line of a JSONL harvest) as ``model``.

    >>> decode_item(b'{"id": "book", "label": "Book"}', Type).label
    'Book'
    """
    try:
        return decoder(model).decode(data)
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        body = bytes(data) if isinstance(data, msgspec.Raw) else data
        raise _decode_error(exc, body, message_type, url) from exc
    except RecursionError as exc:
        body = bytes(data) if isinstance(data, msgspec.Raw) else data
        raise _too_deep(body, message_type, url) from exc
