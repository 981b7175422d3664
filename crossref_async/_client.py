"""The ``Crossref`` client: lifecycle, the one request pipeline, and the route entry points."""

from __future__ import annotations

import logging
import os
import re
import warnings
from collections.abc import AsyncIterable, AsyncIterator, Iterable, Mapping, Sequence
from types import TracebackType
from typing import TYPE_CHECKING, Any, TypeVar

from . import _params as P
from ._biblio import BibliographyEntry, check_dois, extract_dois
from ._breaker import Breaker
from ._cite import DEFAULT_CITE_BASE_URL, cite
from ._errors import NotFoundError, PublicPoolWarning, ValidationError
from ._governor import Governor, Identity, PoolStats
from ._graph import Edge, citation_graph
from ._lookup import DEFAULT_BATCH, WorksByDOI, iter_works_by_doi, works_by_doi
from ._match import DEFAULT_THRESHOLD, CitationMatch, match_citation, match_citations
from ._query import ListQuery, Route, WorksQuery
from ._retry import RetryPolicy
from ._session import Session
from ._settings import Pacing
from ._shared import SharedBudget, identity_for, redact_url, url_problem
from ._sharing import Sharing
from ._transport import (
    DEFAULT_MAX_BODY_SIZE,
    DEFAULT_TIMEOUTS,
    PLUS_HEADER,
    Credentials,
    Secret,
    Service,
    Timeouts,
    Transport,
    build_url,
    origin,
    parse_base,
)
from ._version import __version__
from .models import (
    Agency,
    Funder,
    Journal,
    LicenseEntry,
    Member,
    Prefix,
    Reference,
    Type,
    Work,
)

if TYPE_CHECKING:
    import httpx

__all__ = ["DEFAULT_BASE_URL", "DEFAULT_TIMEOUT", "Crossref"]

logger = logging.getLogger("crossref_async")

T = TypeVar("T")

DEFAULT_BASE_URL = "https://api.crossref.org/v1"
#: Crossref answers most requests in well under a second, but deep facets and large pages
#: can take tens of seconds; see :class:`Timeouts` for each limit and why.
DEFAULT_TIMEOUT = DEFAULT_TIMEOUTS
PROJECT_URL = "https://github.com/crossref-async/crossref-async"

# Header values must be printable ASCII (httpx refuses anything else when sending).
_MAILTO = re.compile(r"^[!-~]+@[!-~]+\.[!-~]+$")
_MAILTO_FORBIDDEN = re.compile(r"[<>()\[\],;:\"@]")
_HEADER_TEXT = re.compile(r"^[ -~]+$")


class Crossref:
    """An asyncio client for the Crossref REST API.

    Use it as an async context manager (or call :meth:`aclose`). One shared
    :class:`httpx.AsyncClient` carries every request; a client passed in as ``http_client`` is
    used as is and left open.

    Args:
        mailto: your contact address; it puts requests in Crossref's polite pool and goes in
            the ``mailto`` parameter and the User-Agent of every request.
        plus_token: a Metadata Plus token, sent as ``Crossref-Plus-API-Token: Bearer ...``,
            never logged, shown, kept in an error, or sent to another host on a redirect.
        base_url: the API root (a simulator on loopback, a proxy, ...). Credentials in it
            (``https://user:password@proxy.example.org``) are taken out of the URL and sent
            as HTTP Basic auth, with the same care as the token.
        timeout: a :class:`Timeouts` (every limit, the total deadlines and the stall
            notice), or as in httpx seconds or an :class:`httpx.Timeout`. A client passed as
            ``http_client`` keeps its own connect/read/write/pool timeouts unless this is
            given; the deadlines and the notice apply to it too.
        transport: an httpx transport (such as :class:`httpx.ASGITransport` for tests).
        http_client: an :class:`httpx.AsyncClient` to use instead of creating one.
        user_agent: your tool's name and version, put in front of the library's agent.
        retry: how failed requests are retried (:class:`RetryPolicy`; ``RetryPolicy.off()``
            for none).
        pacing: how requests are governed (:class:`Pacing`: the breaker's settings, or
            ``Pacing.off()`` for no governor at all, for tests against mocks only).
        cite_base_url: where formatted citations are negotiated (doi.org, or a simulator).
        max_body_size: the largest body read, in bytes after decompression (256 MiB, far
            above any real page); a larger one is :class:`ResponseTooLargeError`.
        budget: one budget shared by every process of this identity, through Redis: a URL
            (``redis://host:6379/0``, ``rediss://`` for TLS) or a :class:`SharedBudget`; by
            default ``CROSSREF_BUDGET`` from the environment, if set. Requests then also wait
            for a lease and a start in the shared schedule (asyncio only).
        limits, breaker: deprecated: ``pacing=Pacing.off()`` and ``pacing=Pacing(breaker=...)``.

    Over the embedded simulator (:mod:`crossref_async.testing`), as in the other examples:

    >>> from crossref_async import Crossref
    >>> from crossref_async.testing import FakeCrossref
    >>> fake = FakeCrossref(works=50)
    >>> async with Crossref(mailto="me@example.org", transport=fake.transport()) as cr:
    ...     work = await cr.work("10.5555/12345678")
    >>> work.DOI
    '10.5555/12345678'
    >>> cr
    Crossref(base_url='https://api.crossref.org/v1', mailto='me@example.org')
    >>> Crossref(mailto="me@example.org", base_url="https://me:pw@proxy.example.org")
    Crossref(base_url='https://proxy.example.org', mailto='me@example.org', credentials=<redacted>)
    """

    def __init__(
        self,
        *,
        mailto: str | None = None,
        plus_token: str | None = None,
        base_url: str = DEFAULT_BASE_URL,
        timeout: float | httpx.Timeout | Timeouts | None = DEFAULT_TIMEOUT,
        transport: httpx.AsyncBaseTransport | None = None,
        http_client: httpx.AsyncClient | None = None,
        user_agent: str | None = None,
        retry: RetryPolicy | None = None,
        pacing: Pacing | None = None,
        cite_base_url: str = DEFAULT_CITE_BASE_URL,
        max_body_size: int = DEFAULT_MAX_BODY_SIZE,
        budget: str | SharedBudget | None = None,
        limits: bool | None = None,
        breaker: Breaker | None = None,
    ) -> None:
        # From here on the token lives only in a Secret (masked repr), so not even this
        # frame's locals show it in a traceback of a construction error.
        token = Secret(plus_token) if isinstance(plus_token, str) else plus_token
        del plus_token
        if mailto is not None and (not isinstance(mailto, str) or not _is_mailto(mailto)):
            raise ValidationError(
                mailto, "mailto must be an e-mail address such as you@example.org"
            )
        if token is not None and (
            not isinstance(token, Secret)
            or not token.reveal().strip()
            or not _HEADER_TEXT.match(token.reveal())
        ):
            # The value itself never goes into the message: it is a secret.
            raise ValidationError("<plus token>", "plus_token must be non-empty printable ASCII")
        if http_client is not None and transport is not None:
            raise ValidationError("transport", "give either transport or http_client, not both")
        self.mailto = mailto
        self.base_url, api_credentials = parse_base(base_url, "base_url")
        self.cite_base_url, cite_credentials = parse_base(cite_base_url, "cite_base_url")
        self._has_plus = token is not None
        if token is not None:
            bearer = Secret("Bearer " + token.reveal().strip().removeprefix("Bearer ").strip())
            api_credentials = (
                api_credentials or Credentials(origin(build_url(self.base_url, "", [])), ())
            ).with_headers((PLUS_HEADER, bearer))
        self._api_credentials = api_credentials
        self.user_agent = _user_agent(user_agent, mailto)
        self.timeouts = Timeouts.of(timeout)
        self._transport = Transport(
            timeouts=self.timeouts,
            max_body_size=max_body_size,
            transport=transport,
            http_client=http_client,
            override_timeouts=timeout is not DEFAULT_TIMEOUT,
        )
        self._http = self._transport.http  # the httpx client, for tests and debugging
        self.retry_policy = retry or RetryPolicy()
        self.pacing = _pacing(pacing, limits, breaker)
        identity: Identity = "plus" if self._has_plus else "polite" if mailto else "public"
        sharing = _sharing(budget, self.pacing, mailto, token)
        #: The request pipeline that every route and feature of this client goes through.
        self.session = Session(
            # The Plus token is for the API only, never for doi.org or another base;
            # credentials from a base URL go to that base only.
            api=Service(self.base_url, api_credentials, mailto=mailto, same_host=True),
            cite=Service(self.cite_base_url, cite_credentials, same_host=False),
            user_agent=self.user_agent,
            transport=self._transport,
            retry=self.retry_policy,
            governor=(
                Governor(identity, breaker=self.pacing.breaker) if self.pacing.enabled else None
            ),
            sharing=sharing,
        )
        if mailto is None and not self._has_plus:
            warnings.warn(
                "no mailto given: requests go to Crossref's public pool (5 single-record and 1 "
                "list request a second, one at a time); pass Crossref(mailto='you@example.org') "
                "for the polite pool",
                PublicPoolWarning,
                stacklevel=2,
            )

    # -- lifecycle --------------------------------------------------------------------------

    async def __aenter__(self) -> Crossref:
        if self.session.sharing is not None:
            # A shared budget that cannot be reached is an error at start, naming its URL.
            await self.session.sharing.connect()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the HTTP client if this object created it (idempotent).

        >>> from crossref_async.testing import FakeCrossref
        >>> client = Crossref(mailto="me@example.org", transport=FakeCrossref(works=10).transport())
        >>> await client.aclose()
        >>> await client.aclose()  # closing again does nothing
        >>> await client.work("10.5555/12345678")
        Traceback (most recent call last):
        ...
        RuntimeError: this Crossref client is closed
        """
        await self.session.aclose()

    @property
    def governor(self) -> Governor | None:
        """The governor of this client's budget (its pools and breaker); None with
        ``Pacing.off()``.

        >>> cr.governor.breaker.tripped
        False
        """
        return self.session.governor

    def __repr__(self) -> str:
        # getattr: a traceback that records locals shows this for a half-built client too.
        plus = ", plus_token=<redacted>" if getattr(self, "_has_plus", False) else ""
        api = getattr(self, "_api_credentials", None)
        basic = api is not None and "authorization" in api.names()
        credentials = ", credentials=<redacted>" if basic else ""
        base, mailto = getattr(self, "base_url", None), getattr(self, "mailto", None)
        return f"Crossref(base_url={base!r}, mailto={mailto!r}{plus}{credentials})"

    def stats(self) -> dict[str, PoolStats]:
        """Per-pool budgets and traffic so far (empty with ``Pacing.off()``).

        Each :class:`PoolStats` holds the advertised and current rate and concurrency,
        requests, retries, 429s, server and transport errors, and smoothed latency. Pools are
        named as Crossref names them (``x-api-pool``; here the simulator's ``unmetered`` ones).

        >>> work = await cr.work("10.5555/12345678")
        >>> total = await cr.works.count()
        >>> sorted(cr.stats())
        ['unmetered-array', 'unmetered-single']
        >>> cr.stats()["unmetered-single"]
        PoolStats(name='unmetered-single', advertised_rate=1000000.0, interval=1.0,
                  advertised_concurrency=1000, rate=1000000.0, concurrency=1000, in_flight=0,
                  max_in_flight=..., requests=..., rate_limited=0, server_errors=0,
                  transport_errors=0, retries=0, latency=..., paused_for=0.0)
        """
        return self.session.stats()

    # -- singletons -------------------------------------------------------------------------

    async def work(self, doi: str) -> Work:
        """The work with this DOI (``https://doi.org/...`` and ``doi:`` forms accepted).

        Raises :class:`NotFoundError` when Crossref does not know it (see :meth:`agency`).

        >>> work = await cr.work("https://doi.org/10.5555/12345678")
        >>> work.DOI, work.type, work.container_title, work.year
        ('10.5555/12345678', 'journal-article', ('Journal of Psychoceramics',), 1995)
        >>> work.first_title
        'Toward a Unified Theory of High-Energy Metaphysics: Silly String Theory'
        >>> await cr.work("10.5555/no-such-work")
        Traceback (most recent call last):
        ...
        crossref_async.NotFoundError: 404 from https://api.crossref.org/v1/works/...:
        Resource not found.
        """
        return await self.session.message(_work_path(doi), Work, "work")

    async def agency(self, doi: str) -> Agency:
        """The registration agency of a DOI (``crossref``, ``datacite``, ``medra``, ...).

        >>> await cr.agency("10.5555/12345678")
        Agency(DOI='10.5555/12345678', agency=RegistrationAgency(id='crossref', label='Crossref'))
        >>> (await cr.agency("10.5061/dryad.123")).agency.id  # a DataCite prefix
        'datacite'
        """
        return await self.session.message(_work_path(doi) + "/agency", Agency, "work-agency")

    async def member(self, member_id: int | str) -> Member:
        """A Crossref member (a publisher or other depositor), by its numeric id.

        >>> member = await cr.member(7822)
        >>> member.primary_name, member.prefixes, member.counts.total_dois
        ('Crossref Test Member', ('10.5555',), 10)
        """
        return await self.session.message(_member_path(member_id), Member, "member")

    async def journal(self, issn: str) -> Journal:
        """A journal by one of its ISSNs (``NNNN-NNNN``).

        >>> journal = await cr.journal("0264-3561")
        >>> journal.title, journal.publisher, journal.ISSN
        ('Journal of Psychoceramics', 'Crossref Test Member', ('0264-3561',))
        """
        return await self.session.message(_journal_path(issn), Journal, "journal")

    async def funder(self, funder_id: int | str) -> Funder:
        """A funder, by id (``100000001``) or DOI (``10.13039/100000001``).

        >>> funder = await cr.funder("10.13039/100000001")
        >>> funder.id, funder.name, funder.alt_names, funder.work_count
        ('100000001', 'National Science Foundation', ('NSF',), 17)
        """
        return await self.session.message(_funder_path(funder_id), Funder, "funder")

    async def prefix(self, prefix: str) -> Prefix:
        """A DOI prefix (``10.1016``) and the member that owns it.

        >>> await cr.prefix("10.5555")
        Prefix(prefix='https://id.crossref.org/prefix/10.5555',
               member='https://id.crossref.org/member/7822', name='Crossref Test Member')
        """
        return await self.session.message(_prefix_path(prefix), Prefix, "prefix")

    async def type(self, type_id: str) -> Type:
        """A work type (``journal-article``, ``book-chapter``, ...).

        >>> await cr.type("journal-article")
        Type(id='journal-article', label='Journal Article')
        """
        return await self.session.message(_type_path(type_id), Type, "type")

    async def exists(
        self,
        doi: str | None = None,
        *,
        member: int | str | None = None,
        journal: str | None = None,
        funder: int | str | None = None,
        prefix: str | None = None,
        type: str | None = None,
    ) -> bool:
        """Whether one singleton exists, by a HEAD request (no body is transferred).

        Give exactly one of: a DOI, ``member=``, ``journal=`` (ISSN), ``funder=``,
        ``prefix=``, ``type=``.

        >>> await cr.exists("10.5555/12345678"), await cr.exists("10.5555/no-such-work")
        (True, False)
        >>> await cr.exists(journal="0264-3561"), await cr.exists(member=7822)
        (True, True)
        """
        given = {
            "doi": doi,
            "member": member,
            "journal": journal,
            "funder": funder,
            "prefix": prefix,
            "type": type,
        }
        chosen = {k: v for k, v in given.items() if v is not None}
        if len(chosen) != 1:
            raise ValidationError(
                sorted(chosen),
                "exists() takes exactly one of doi, member, journal, funder, prefix, type",
            )
        ((what, value),) = chosen.items()
        path = _SINGLETON_PATHS[what](value)
        try:
            await self.session.send("HEAD", path, [], "single", lambda answer: answer)
        except NotFoundError:
            return False
        return True

    # -- many DOIs, references, citations -----------------------------------------------------

    async def works_by_doi(
        self,
        dois: Iterable[str],
        *,
        select: Sequence[str] = (),
        batch_size: int = DEFAULT_BATCH,
    ) -> WorksByDOI:
        """Resolve many DOIs in few requests: ``{normalized DOI: Work or None}``.

        DOIs are normalized and de-duplicated (case-insensitively) and sent as
        ``filter=doi:...`` batches; the answer keeps the caller's order, and a DOI Crossref
        does not have maps to None. ``select`` limits the fields (``DOI`` is always added).
        A DOI a batch leaves out is asked for once on its own: an alias DOI (which batches
        never match) is answered there by its primary record, whose ``DOI`` is not the one
        asked for; ``.aliases`` maps each such input to its primary DOI (:class:`WorksByDOI`).

        >>> found = await cr.works_by_doi(
        ...     ["https://doi.org/10.5555/12345678", "10.5555/MIXED.case.doi", "10.5555/nothing"]
        ... )
        >>> {doi: work.DOI if work else None for doi, work in found.items()}
        {'10.5555/12345678': '10.5555/12345678', '10.5555/MIXED.case.doi': '10.5555/Mixed.Case.DOI',
         '10.5555/nothing': None}
        >>> found = await cr.works_by_doi(["10.5555/12345678"], select=["title"])
        >>> found["10.5555/12345678"].first_title, found["10.5555/12345678"].publisher
        ('Toward a Unified Theory of High-Energy Metaphysics: Silly String Theory', None)
        """
        return await works_by_doi(self, dois, select=select, batch_size=batch_size)

    def iter_works_by_doi(
        self,
        dois: Iterable[str] | AsyncIterable[str],
        *,
        select: Sequence[str] = (),
        batch_size: int = DEFAULT_BATCH,
    ) -> AsyncIterator[tuple[str, Work | None]]:
        """Like :meth:`works_by_doi` for inputs of any size, with bounded memory: yields
        ``(doi, Work or None)`` pairs in input order, a window of batches at a time.

        >>> dois = ["10.5555/12345678", "10.5555/no-such-work", "10.5555/Mixed.Case.DOI"]
        >>> async for doi, work in cr.iter_works_by_doi(dois, select=["type"]):
        ...     print(doi, work.type if work else None)
        10.5555/12345678 journal-article
        10.5555/no-such-work None
        10.5555/Mixed.Case.DOI journal-article
        """
        return iter_works_by_doi(self, dois, select=select, batch_size=batch_size)

    async def references(self, doi: str) -> tuple[Reference, ...]:
        """A work's reference list (each with its DOI where present, and the unstructured
        text); empty when the publisher deposited none or keeps them closed.

        >>> refs = await cr.references("10.37491/j.deep.2020.000104")
        >>> [ref.DOI for ref in refs]
        ['10.52995/s10105-17-00105-2', None, '10.60372/journal.rein.0000330']
        >>> print(refs[1].unstructured)
        Dubois M. Failure magnetic longitudinal cognitive variability deposition.
        Rev Molecular Genetics. 1978;5:613.
        """
        return (await self.work(doi)).reference

    def citation_graph(
        self,
        seeds: Iterable[str],
        *,
        depth: int = 1,
        max_nodes: int = 10_000,
        batch_size: int = DEFAULT_BATCH,
    ) -> AsyncIterator[Edge]:
        """Crawl the citation graph from ``seeds`` breadth-first, yielding
        :class:`Edge` (citing, cited) as each layer arrives.

        >>> async for edge in cr.citation_graph(["10.37491/j.deep.2020.000104"]):
        ...     print(edge)
        Edge(citing='10.37491/j.deep.2020.000104', cited='10.52995/s10105-17-00105-2', depth=0)
        Edge(citing='10.37491/j.deep.2020.000104', cited='10.60372/journal.rein.0000330', depth=0)
        >>> edges = [e async for e in cr.citation_graph(["10.37491/j.deep.2020.000104"], depth=2)]
        >>> len(edges), sorted({edge.depth for edge in edges})
        (9, [0, 1])
        """
        return citation_graph(self, seeds, depth=depth, max_nodes=max_nodes, batch_size=batch_size)

    async def check_bibliography(self, text: str) -> list[BibliographyEntry]:
        """Find the DOIs in ``text`` and report each: found (with metadata), registered with
        another agency (not Crossref), or not registered at all.

        >>> text = '''Carberry J. Silly String Theory. doi:10.5555/12345678.
        ... Data: https://doi.org/10.5061/dryad.123; see also 10.1234/no-such-work.'''
        >>> for entry in await cr.check_bibliography(text):
        ...     print(entry.doi, entry.status, entry.agency)
        10.5555/12345678 found crossref
        10.5061/dryad.123 other-agency datacite
        10.1234/no-such-work not-registered None
        """
        return await check_dois(self, extract_dois(text))

    async def check_dois(self, dois: Iterable[str]) -> list[BibliographyEntry]:
        """:meth:`check_bibliography` for DOIs already extracted.

        >>> entries = await cr.check_dois(["10.5555/12345678", "10.1400/abc"])
        >>> [(entry.status, entry.agency) for entry in entries]
        [('found', 'crossref'), ('other-agency', 'medra')]
        >>> entries[0].work.first_title
        'Toward a Unified Theory of High-Energy Metaphysics: Silly String Theory'
        """
        return await check_dois(self, dois)

    async def match_citation(
        self, citation: str, *, threshold: float = DEFAULT_THRESHOLD, rows: int = 5
    ) -> CitationMatch:
        """Match a free-form citation to its DOI (``query.bibliographic``): the best
        candidate, its score, and whether the score clears ``threshold``. Fewer than three
        words never match.

        >>> match = await cr.match_citation(
        ...     "Carberry, J. (1995). Toward a Unified Theory of High-Energy Metaphysics: "
        ...     "Silly String Theory. Journal of Psychoceramics, 6(2), 1015–1020."
        ... )
        >>> match.matched, match.doi, match.score
        (True, '10.5555/12345678', 135.53526)
        >>> match = await cr.match_citation("Carberry silly string")
        >>> match.matched, match.doi, match.reason
        (False, '10.5555/12345678', 'score below threshold')
        """
        return await match_citation(self, citation, threshold=threshold, rows=rows)

    async def match_citations(
        self, citations: Iterable[str], *, threshold: float = DEFAULT_THRESHOLD, rows: int = 5
    ) -> list[CitationMatch]:
        """:meth:`match_citation` for many citations at once, in input order.

        >>> matches = await cr.match_citations([
        ...     "Carberry, J. (1995). Toward a Unified Theory of High-Energy Metaphysics: "
        ...     "Silly String Theory. Journal of Psychoceramics, 6(2), 1015–1020.",
        ...     "Carberry J",
        ... ])
        >>> [(match.matched, match.doi, match.reason) for match in matches]
        [(True, '10.5555/12345678', None), (False, None, 'too few terms')]
        """
        return await match_citations(self, citations, threshold=threshold, rows=rows)

    async def cite(
        self,
        doi: str,
        *,
        format: str = "bibtex",
        style: str | None = None,
        locale: str | None = None,
    ) -> str:
        """A formatted citation by content negotiation: ``bibtex``, ``ris``, ``csl-json``,
        ``crossref-xml``, or ``text`` in a CSL ``style`` (``apa``, ``ieee``...) and
        ``locale`` (``en-US``...).

        >>> print(await cr.cite("10.5555/12345678", format="text", style="apa"))
        Carberry, J. (1995). Toward a Unified Theory of High-Energy Metaphysics: Silly String
        Theory. Journal of Psychoceramics, 6(2), 1015–1020. https://doi.org/10.5555/12345678
        >>> print(await cr.cite("10.5555/12345678"))  # BibTeX
        @article{Carberry_1995, title={Toward a Unified Theory of High-Energy Metaphysics: Silly
        String Theory}, volume={6}, ISSN={0264-3561}, ... author={Carberry, Josiah}, year={1995},
        month=Jul, pages={1015–1020} }
        >>> print(await cr.cite("10.5555/12345678", format="ris"))
        TY  - JOUR
        DO  - 10.5555/12345678
        ...
        AU  - Carberry, Josiah
        PY  - 1995
        ...
        """
        return await cite(self, doi, format=format, style=style, locale=locale)

    # -- list routes ------------------------------------------------------------------------

    @property
    def works(self) -> WorksQuery[Work]:
        """All works: ``cr.works.query(...).filter(...).select(...)``.

        >>> await cr.works.count()
        1000
        >>> page = await cr.works.query(author="carberry").select("DOI", "title").page()
        >>> page.total_results, [work.DOI for work in page.items]
        (1, ['10.5555/12345678'])
        """
        return WorksQuery(
            self.session, Route("/works", "work-list", P.WORK_FILTERS, works=True), Work
        )

    @property
    def members(self) -> ListQuery[Member]:
        """All members (``query`` and the member filters).

        >>> page = await cr.members.query("learned society").page()
        >>> [(member.id, member.primary_name) for member in page.items]
        [(6566, 'Calder Learned Society'), (11944, 'Brackenmoor Learned Society'),
         (13011, 'Northbridge Learned Society')]
        >>> [member.id async for member in cr.members.filter(prefix="10.5555").stream()]
        [7822]
        """
        return ListQuery(self.session, Route("/members", "member-list", P.MEMBER_FILTERS), Member)

    @property
    def funders(self) -> ListQuery[Funder]:
        """All funders of the Funder Registry (``query`` and the ``location`` filter).

        >>> page = await cr.funders.query("national").page(rows=2)
        >>> page.total_results, [funder.name for funder in page.items]
        (4, ['National Science Foundation', 'National Institutes of Health'])
        >>> [funder.name async for funder in cr.funders.filter(location="Germany").stream()]
        ['Deutsche Forschungsgemeinschaft']
        """
        return ListQuery(self.session, Route("/funders", "funder-list", P.FUNDER_FILTERS), Funder)

    @property
    def journals(self) -> ListQuery[Journal]:
        """All journals (``query``; Crossref offers no filters here).

        >>> query = cr.journals.query("physics")
        >>> [(journal.title, journal.ISSN) async for journal in query.stream()]
        [('Applied Physics Quarterly', ('1055-6699', '1664-4840')),
         ('Acta Applied Physics', ('3491-6768', '6077-3766'))]
        """
        return ListQuery(self.session, Route("/journals", "journal-list", None), Journal)

    @property
    def licenses(self) -> ListQuery[LicenseEntry]:
        """License URLs used by works, with counts (``query`` and paging; Crossref takes no
        filters here: licenses of some works come from ``cr.works.filter(...).facet("license")``).

        >>> page = await cr.licenses.page(rows=2)
        >>> page.total_results, page.items
        (9, (LicenseEntry(URL='http://creativecommons.org/licenses/by/3.0/', work_count=76),
             LicenseEntry(URL='http://creativecommons.org/licenses/by/4.0/', work_count=66)))
        """
        return ListQuery(self.session, Route("/licenses", "license-list", None), LicenseEntry)

    @property
    def types(self) -> ListQuery[Type]:
        """All work types (paging only).

        >>> await cr.types.count()
        30
        >>> [type.id async for type in cr.types.stream(max_items=3)]
        ['book-section', 'monograph', 'report-component']
        """
        return ListQuery(self.session, Route("/types", "type-list", None, text_query=False), Type)

    def member_works(self, member_id: int | str) -> WorksQuery[Work]:
        """Works deposited by one member.

        >>> query = cr.member_works(7822).sort("published", "asc").select("DOI")
        >>> query.path
        '/members/7822/works'
        >>> [work.DOI async for work in query.stream(max_items=2)]
        ['10.5555/12345678', '10.5555/percent%20literal']
        """
        return self._works_of(_member_path(member_id))

    def journal_works(self, issn: str) -> WorksQuery[Work]:
        """Works in one journal.

        >>> query = cr.journal_works("02643561")  # the ISSN is normalized
        >>> query.path, await query.count()
        ('/journals/0264-3561/works', 10)
        """
        return self._works_of(_journal_path(issn))

    def funder_works(self, funder_id: int | str) -> WorksQuery[Work]:
        """Works funded by one funder (and, as Crossref does, its sub-organizations).

        >>> query = cr.funder_works("10.13039/100000001")
        >>> query.path, await query.count(), await query.filter(type="journal-article").count()
        ('/funders/100000001/works', 17, 9)
        """
        return self._works_of(_funder_path(funder_id))

    def prefix_works(self, prefix: str) -> WorksQuery[Work]:
        """Works under one DOI prefix.

        >>> page = await cr.prefix_works("10.5555").facet("type-name").page(rows=0)
        >>> page.total_results, page.facets["type-name"].values
        (10, {'Journal Article': 10})
        """
        return self._works_of(_prefix_path(prefix))

    def type_works(self, type_id: str) -> WorksQuery[Work]:
        """Works of one type.

        >>> query = cr.type_works("book-chapter")
        >>> query.path, await query.count()
        ('/types/book-chapter/works', 96)
        """
        return self._works_of(_type_path(type_id))

    def _works_of(self, path: str) -> WorksQuery[Work]:
        return WorksQuery(
            self.session, Route(path + "/works", "work-list", P.WORK_FILTERS, works=True), Work
        )


def _sharing(
    budget: str | SharedBudget | None,
    pacing: Pacing,
    mailto: str | None,
    token: Secret | None,
) -> Sharing | None:
    """The shared budget asked for (``budget=``, else ``CROSSREF_BUDGET``), or None (also
    for ``budget=""``: none, whatever the environment says)."""
    if isinstance(budget, str) and not budget.strip():
        return None
    if budget is None:
        budget = os.environ.get("CROSSREF_BUDGET", "").strip() or None
        if budget is None:
            return None
    if not pacing.enabled:
        raise ValidationError("budget", "a shared budget needs the governor: not with Pacing.off()")
    if isinstance(budget, SharedBudget):
        return Sharing(budget, owned=False)
    if not isinstance(budget, str):
        raise ValidationError(budget, "budget must be a redis:// URL or a SharedBudget")
    identity = identity_for(mailto, token.reveal() if token is not None else None)
    problem = url_problem(budget)
    if problem is not None:
        raise ValidationError(
            redact_url(budget),
            f"budget must be a redis://, rediss:// or unix:// URL with a host ({problem})",
        )
    shared = SharedBudget(budget, identity=identity)
    return Sharing(shared, owned=True)


def _pacing(pacing: Pacing | None, limits: bool | None, breaker: Breaker | None) -> Pacing:
    """The one pacing setting, from ``pacing=`` or the deprecated ``limits=``/``breaker=``."""
    if limits is None and breaker is None:
        return pacing or Pacing()
    if pacing is not None:
        raise ValidationError("pacing", "give pacing=, or the older limits=/breaker=, not both")
    warnings.warn(
        "Crossref(limits=..., breaker=...) is deprecated: use pacing=Pacing.off() or "
        "pacing=Pacing(breaker=Breaker(...))",
        DeprecationWarning,
        stacklevel=3,
    )
    return Pacing(enabled=limits is not False, breaker=breaker or Breaker())


def _is_mailto(text: str) -> bool:
    local, _, domain = text.rpartition("@")
    return bool(_MAILTO.match(text)) and not _MAILTO_FORBIDDEN.search(local + domain)


def _user_agent(prefix: str | None, mailto: str | None) -> str:
    if prefix is not None and (
        not isinstance(prefix, str) or not prefix.strip() or not _HEADER_TEXT.match(prefix)
    ):
        raise ValidationError(
            prefix, "user_agent must be one line of printable ASCII, such as 'MyTool/1.2'"
        )
    contact = f"; mailto:{mailto}" if mailto else ""
    agent = f"crossref-async/{__version__} ({PROJECT_URL}{contact})"
    return f"{prefix.strip()} {agent}" if prefix else agent


def _work_path(doi: str) -> str:
    return "/works/" + P.encode_segment(P.normalize_doi(doi))


def _member_path(member_id: int | str) -> str:
    return "/members/" + P.normalize_member(member_id)


def _journal_path(issn: str) -> str:
    return "/journals/" + P.normalize_issn(issn)


def _funder_path(funder_id: int | str) -> str:
    return "/funders/" + P.normalize_funder(funder_id)


def _prefix_path(prefix: str) -> str:
    return "/prefixes/" + P.encode_segment(P.normalize_prefix(prefix))


def _type_path(type_id: str) -> str:
    return "/types/" + P.normalize_type(type_id)


_SINGLETON_PATHS: Mapping[str, Any] = {
    "doi": _work_path,
    "member": _member_path,
    "journal": _journal_path,
    "funder": _funder_path,
    "prefix": _prefix_path,
    "type": _type_path,
}
