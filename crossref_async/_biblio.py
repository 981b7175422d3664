"""Bibliography checks: find the DOIs in free text and say what became of each.

Every DOI found is resolved in batches; one Crossref does not have is asked for its
registration agency, which tells a DOI of another agency (DataCite, mEDRA, ...) from one that
was never registered (a typo, a hallucinated reference).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from ._errors import NotFoundError
from ._lookup import works_by_doi
from ._params import doi_key, normalize_doi
from ._tasks import run_concurrently
from .models import Work

if TYPE_CHECKING:
    from ._api import Api

__all__ = ["BibliographyEntry", "check_dois", "extract_dois"]

# A DOI in running text: 10.<registrant>/<suffix>, the suffix running to the next blank or
# quote. Trailing punctuation of the sentence, and closing brackets that the DOI did not open
# (``(doi:10.1/x)``, ``<https://doi.org/10.1/x>``), are trimmed afterwards (see _trim); SICI
# DOIs keep their own brackets.
_DOI_IN_TEXT = re.compile(r"""10\.\d{4,9}(?:\.\d+)*/[^\s"'\u201c\u201d\u2018\u2019]+""")
_ENCODED_SLASH = re.compile(r"%2[Ff]")
_TRAILING = ".,;:!?"
_PAIRS = {")": "(", "]": "[", "}": "{", ">": "<"}

Status = Literal["found", "other-agency", "not-registered"]


def _trim(candidate: str) -> str:
    """Drop sentence punctuation and unbalanced closing brackets from the end of a DOI."""
    while candidate:
        last = candidate[-1]
        unbalanced = last in _PAIRS and candidate.count(last) > candidate.count(_PAIRS[last])
        if last not in _TRAILING and not unbalanced:
            break
        candidate = candidate[:-1]
    return candidate


def extract_dois(text: str) -> list[str]:
    """Every distinct DOI in ``text`` (bare, ``doi:``, or in doi.org URLs), in order.

    >>> extract_dois("See https://doi.org/10.1037/0003-066X.59.1.29. Also (doi:10.5555/12345678).")
    ['10.1037/0003-066X.59.1.29', '10.5555/12345678']
    >>> extract_dois("10.1002/(SICI)1097-4636(199602)30:2<169::AID-JBM5>3.0.CO;2-M, p. 3")
    ['10.1002/(SICI)1097-4636(199602)30:2<169::AID-JBM5>3.0.CO;2-M']
    >>> extract_dois("<https://doi.org/10.1000%2Fabc>; [10.5555/x]")
    ['10.1000/abc', '10.5555/x']
    """
    found: dict[str, str] = {}
    for match in _DOI_IN_TEXT.finditer(_ENCODED_SLASH.sub("/", text)):
        doi = _trim(match.group(0))
        if "/" in doi and not doi.endswith("/"):
            found.setdefault(doi_key(doi), doi)
    return list(found.values())


@dataclass(frozen=True)
class BibliographyEntry:
    """What a DOI of a bibliography turned out to be.

    ``status`` is ``found`` (``work`` holds its metadata), ``other-agency`` (registered with
    ``agency``, not Crossref) or ``not-registered``. ``primary`` is the primary DOI when
    ``doi`` is an alias of another record (``work`` is then that record), else None.

    :meth:`Crossref.check_bibliography` and :meth:`Crossref.check_dois` return them:

    >>> text = "Carberry 1995, doi:10.5555/12345678; data: 10.5061/dryad.8515; 10.5555/typo-123."
    >>> for entry in await cr.check_bibliography(text):
    ...     print(entry.doi, entry.status, entry.agency, entry.work and entry.work.first_title)
    10.5555/12345678 found crossref Toward a Unified Theory of High-Energy Metaphysics: ...
    10.5061/dryad.8515 other-agency datacite None
    10.5555/typo-123 not-registered None None
    """

    doi: str
    status: Status
    work: Work | None = None
    agency: str | None = None
    primary: str | None = None


async def check_dois(client: Api, dois: Iterable[str]) -> list[BibliographyEntry]:
    """Resolve DOIs and classify each (found, other agency, not registered), in order."""
    unique = [normalize_doi(d) for d in dois]
    works = await works_by_doi(client, unique)
    agencies: dict[str, str | None] = {}

    async def ask_agency(doi: str) -> None:
        try:
            answer = await client.agency(doi)
        except NotFoundError:
            agencies[doi_key(doi)] = None
        else:
            agencies[doi_key(doi)] = answer.agency.id if answer.agency else None

    missing = [doi for doi, work in works.items() if work is None]
    await run_concurrently([functools.partial(ask_agency, doi) for doi in missing])
    out: list[BibliographyEntry] = []
    for doi, work in works.items():
        if work is not None:
            primary = works.aliases.get(doi)
            out.append(BibliographyEntry(doi, "found", work, "crossref", primary))
            continue
        agency = agencies.get(doi_key(doi))
        if agency is None:
            out.append(BibliographyEntry(doi, "not-registered"))
        elif agency == "crossref":
            # Registered with Crossref but not served (withdrawn from the index, or just
            # deposited); the agency is the truth about registration.
            out.append(BibliographyEntry(doi, "found", None, agency))
        else:
            out.append(BibliographyEntry(doi, "other-agency", None, agency))
    return out
