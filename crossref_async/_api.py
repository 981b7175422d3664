"""What the feature modules (look-ups, the citation graph, bibliographies, citation matching,
formatted citations) use of the client: a small Protocol, so they depend on these few names
and not on :class:`~crossref_async.Crossref` itself (which imports them: no import cycle)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from ._query import WorksQuery
    from ._session import Session
    from .models import Agency, Work

__all__ = ["Api"]


class Api(Protocol):
    """The routes the features are built from, and the pipeline for anything else."""

    @property
    def works(self) -> WorksQuery[Work]:
        """All works, to query (:attr:`crossref_async.Crossref.works`)."""
        ...

    @property
    def session(self) -> Session:
        """The request pipeline (:class:`crossref_async._session.Session`)."""
        ...

    async def work(self, doi: str) -> Work:
        """The work with this DOI (:meth:`crossref_async.Crossref.work`)."""
        ...

    async def agency(self, doi: str) -> Agency:
        """A DOI's registration agency (:meth:`crossref_async.Crossref.agency`)."""
        ...
