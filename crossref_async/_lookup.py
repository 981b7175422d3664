"""Many DOIs in few requests: batched ``filter=doi:A,doi:B,...`` look-ups.

Crossref answers ``filter=doi:A,doi:B,...`` (the same filter repeated means OR) with one list,
so a hundred DOIs cost one list request instead of a hundred single ones. The only bound is
the URL's length: batches are cut by the encoded size of the filter as well as by count. A
DOI with a comma cannot go in a filter (Crossref has no escape for it) and is fetched on its
own. Answers are matched back case-insensitively; a DOI that Crossref does not return is
reported missing (``None``), not raised.

Alias DOIs (since February 2025): a DOI merged into another record answers a single request
with a ``301`` to its primary record, but a ``filter=doi:`` batch never matches it. So a DOI
a batch leaves out is asked for once on its own, where the redirect tells the truth; its
answer is the primary record (whose ``DOI`` differs from the one asked for and whose
``aliases`` list it), and :attr:`WorksByDOI.aliases` maps each such input to its primary.
An alias whose primary came back in the same batch (listed in that record's ``aliases``)
costs no extra request.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import AsyncIterable, AsyncIterator, Iterable, Sequence
from typing import TYPE_CHECKING
from urllib.parse import quote_plus

from ._errors import NotFoundError, ValidationError
from ._params import MAX_ROWS, check_whole, doi_key, normalize_doi
from ._tasks import run_concurrently
from .models import Work

if TYPE_CHECKING:
    from ._api import Api

__all__ = ["DEFAULT_BATCH", "WorksByDOI", "batches", "iter_works_by_doi", "works_by_doi"]

#: DOIs per filter request. Measured on the simulator (benchmarks/dois.py): fewer requests
#: win until the URL nears the limit of the proxies in front of Crossref (about 8 kB).
DEFAULT_BATCH = 100
#: Encoded characters of the ``filter`` value per request; with the rest of the URL this stays
#: well under 8 kB.
MAX_FILTER_CHARS = 6000
#: Batches resolved at once by the streaming variant (the governor still paces them).
WINDOW = 8


class WorksByDOI(dict[str, Work | None]):
    """What :meth:`Crossref.works_by_doi` returns: ``{normalized DOI: Work or None}`` in the
    caller's order (a plain dict in every other way), plus :attr:`aliases`.

    >>> primary = Work(DOI="10.5555/primary", aliases=("10.5555/old",))
    >>> found = WorksByDOI({"10.5555/old": primary, "10.5555/PRIMARY": primary, "10.5555/x": None})
    >>> found.aliases
    {'10.5555/old': '10.5555/primary'}
    >>> found == {"10.5555/old": primary, "10.5555/PRIMARY": primary, "10.5555/x": None}
    True
    """

    @property
    def aliases(self) -> dict[str, str]:
        """``{input DOI: primary DOI}`` for each input that was an alias: its answer is the
        primary record, whose ``DOI`` is another DOI (not merely another spelling).

        >>> work = Work(DOI="10.5555/Primary")
        >>> WorksByDOI({"10.5555/alias": work, "10.5555/primary": work}).aliases
        {'10.5555/alias': '10.5555/Primary'}
        """
        return {
            doi: work.DOI
            for doi, work in self.items()
            if work is not None and work.DOI is not None and doi_key(work.DOI) != doi_key(doi)
        }


def _check_batch(size: int) -> int:
    return check_whole(size, "batch_size", high=MAX_ROWS)


def batches(dois: Sequence[str], size: int = DEFAULT_BATCH) -> list[list[str]]:
    """Cut DOIs (no commas) into batches of at most ``size`` and at most the URL budget."""
    out: list[list[str]] = []
    current: list[str] = []
    used = 0
    for doi in dois:
        cost = len(quote_plus(f"doi:{doi}")) + 3  # the encoded comma between filters
        if current and (len(current) >= size or used + cost > MAX_FILTER_CHARS):
            out.append(current)
            current, used = [], 0
        current.append(doi)
        used += cost
    if current:
        out.append(current)
    return out


def _refuse_string(dois: object) -> None:
    # A lone string iterates as characters: each would fail as "not a DOI", naming "1".
    if isinstance(dois, (str, bytes)):
        raise ValidationError(
            dois, "give an iterable of DOIs; a single DOI is looked up with work()"
        )


def _unique(dois: Iterable[str]) -> list[str]:
    """Normalized DOIs in first-seen order, without case-insensitive repeats."""
    seen: dict[str, str] = {}
    for doi in dois:
        normalized = normalize_doi(doi)
        seen.setdefault(doi_key(normalized), normalized)
    return list(seen.values())


async def _fetch_batch(
    client: Api, batch: list[str], select: tuple[str, ...], found: dict[str, Work]
) -> None:
    query = client.works.filter(doi=batch)
    if select:
        query = query.select("DOI", *select)
    page = await query.page(rows=len(batch))
    for work in page.items:
        if work.DOI is not None:
            found[doi_key(work.DOI)] = work
    for work in page.items:
        # An alias asked for beside its primary: the record names it (when selected).
        for alias in work.aliases:
            found.setdefault(doi_key(alias), work)


async def _fetch_single(client: Api, doi: str, found: dict[str, Work]) -> None:
    # The single route follows an alias's redirect to its primary record: keyed by the DOI
    # asked for, so the caller sees which input it answers.
    with contextlib.suppress(NotFoundError):
        found[doi_key(doi)] = await client.work(doi)


async def _resolve(
    client: Api, dois: list[str], select: tuple[str, ...], size: int
) -> dict[str, Work]:
    found: dict[str, Work] = {}
    batchable = [d for d in dois if "," not in d]
    calls = [
        functools.partial(_fetch_batch, client, batch, select, found)
        for batch in batches(batchable, size)
    ]
    calls += [functools.partial(_fetch_single, client, d, found) for d in dois if "," in d]
    await run_concurrently(calls)
    # A batch never matches an alias DOI: whatever it left out is asked for once on its own.
    missing = [d for d in batchable if doi_key(d) not in found]
    await run_concurrently([functools.partial(_fetch_single, client, d, found) for d in missing])
    return found


async def works_by_doi(
    client: Api,
    dois: Iterable[str],
    *,
    select: Sequence[str] = (),
    batch_size: int = DEFAULT_BATCH,
) -> WorksByDOI:
    """Resolve DOIs in batches: ``{normalized DOI: Work or None}`` in the caller's order,
    an alias answered by its primary record (see :class:`WorksByDOI`)."""
    size = _check_batch(batch_size)
    _refuse_string(dois)
    unique = _unique(dois)  # every DOI checked before the first request
    found = await _resolve(client, unique, tuple(select), size)
    return WorksByDOI((doi, found.get(doi_key(doi))) for doi in unique)


async def iter_works_by_doi(
    client: Api,
    dois: Iterable[str] | AsyncIterable[str],
    *,
    select: Sequence[str] = (),
    batch_size: int = DEFAULT_BATCH,
) -> AsyncIterator[tuple[str, Work | None]]:
    """Like :func:`works_by_doi` for inputs of any size: ``(doi, Work or None)`` pairs in
    input order, reading ``batch_size x 8`` DOIs at a time so memory stays bounded. A DOI
    repeated within one window is answered once; repeats further apart are answered again.
    A list (any sequence) is checked whole before the first request; a stream is checked a
    window at a time, so a malformed DOI read late raises :class:`InvalidDOIError` after the
    pairs of earlier windows were yielded (check each line first when the input is messy).
    """
    size = _check_batch(batch_size)
    _refuse_string(dois)
    if isinstance(dois, Sequence):
        # Everything given at once is checked before the first request is sent.
        for doi in dois:
            normalize_doi(doi)
    chunk: list[str] = []
    async for doi in _aiter(dois):
        chunk.append(doi)
        if len(chunk) >= size * WINDOW:
            for pair in await _window(client, chunk, tuple(select), size):
                yield pair
            chunk = []
    if chunk:
        for pair in await _window(client, chunk, tuple(select), size):
            yield pair


async def _window(
    client: Api, chunk: list[str], select: tuple[str, ...], size: int
) -> list[tuple[str, Work | None]]:
    unique = _unique(chunk)
    found = await _resolve(client, unique, select, size)
    return [(doi, found.get(doi_key(doi))) for doi in unique]


async def _aiter(items: Iterable[str] | AsyncIterable[str]) -> AsyncIterator[str]:
    if isinstance(items, AsyncIterable):
        async for item in items:
            yield item
    else:
        for item in items:
            yield item
