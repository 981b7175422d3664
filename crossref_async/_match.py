"""Citation matching: free-text references to DOIs, with a score and a decision.

This is what Crossref's old ``POST /links`` route did, built on ``query.bibliographic`` (which
Crossref made for citation look-up: titles, authors, ISSNs and years). As ``/links`` did,
a citation of fewer than three words is not matched at all, and a best candidate whose
relevance score is under the threshold is reported but not taken as a match.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ._errors import ValidationError
from ._tasks import run_concurrently
from .models import Work

if TYPE_CHECKING:
    from ._api import Api

__all__ = ["DEFAULT_THRESHOLD", "MIN_WORDS", "CitationMatch", "match_citation", "match_citations"]

MIN_WORDS = 3
#: Relevance score from which the best candidate counts as a match (separates true matches
#: from the rest with a margin of about 10 either way on the simulator). Crossref's scores are
#: unnormalized relevance; pick a threshold for your data (see README, "Citation matching").
DEFAULT_THRESHOLD = 55.0
#: Longer citation strings add nothing to the match and lengthen the URL.
MAX_CHARS = 1000


@dataclass(frozen=True)
class CitationMatch:
    """The outcome for one citation string.

    ``doi``, ``score`` and ``work`` describe the best candidate (present even when it is not
    good enough to be a match); ``matched`` says whether it clears the threshold; ``reason``
    says why not (``too few terms``, ``score below threshold``, ``no candidates``).

    :meth:`Crossref.match_citation` and :meth:`Crossref.match_citations` return them:

    >>> match = await cr.match_citation(
    ...     "Carberry, J. (1995). Toward a Unified Theory of High-Energy Metaphysics: "
    ...     "Silly String Theory. Journal of Psychoceramics, 6(2), 1015-1020."
    ... )
    >>> match.matched, match.doi, round(match.score), match.work.first_title
    (True, '10.5555/12345678', 136, 'Toward a Unified Theory of High-Energy Metaphysics: ...')
    >>> await cr.match_citation("Carberry 1995")
    CitationMatch(citation='Carberry 1995', matched=False, doi=None, score=None, work=None,
                  reason='too few terms')
    """

    citation: str
    matched: bool
    doi: str | None = None
    score: float | None = None
    work: Work | None = None
    reason: str | None = None


async def match_citation(
    client: Api, citation: str, *, threshold: float = DEFAULT_THRESHOLD, rows: int = 5
) -> CitationMatch:
    """Match one free-form citation with ``query.bibliographic``."""
    if not isinstance(citation, str):
        raise ValidationError(citation, "a citation is text")
    text = " ".join(citation.split())
    if len(text.split()) < MIN_WORDS:
        return CitationMatch(citation, False, reason="too few terms")
    page = await client.works.query(bibliographic=text[:MAX_CHARS]).page(rows=rows)
    if not page.items:
        return CitationMatch(citation, False, reason="no candidates")
    best = max(page.items, key=lambda w: w.score or 0.0)
    score = best.score or 0.0
    matched = score >= threshold
    return CitationMatch(
        citation,
        matched,
        doi=best.DOI,
        score=score,
        work=best,
        reason=None if matched else "score below threshold",
    )


async def match_citations(
    client: Api,
    citations: Iterable[str],
    *,
    threshold: float = DEFAULT_THRESHOLD,
    rows: int = 5,
) -> list[CitationMatch]:
    """Match many citations at once (paced by the governor); results in input order."""
    texts = list(citations)
    results: list[CitationMatch | None] = [None] * len(texts)

    async def one(i: int) -> None:
        results[i] = await match_citation(client, texts[i], threshold=threshold, rows=rows)

    await run_concurrently([functools.partial(one, i) for i in range(len(texts))])
    return [r for r in results if r is not None]
