"""An offline Crossref: the REST API simulator for tests, benchmarks and demos.

:class:`FakeCrossref` is an ASGI application serving a deterministic synthetic corpus with
Crossref's semantics (singletons, lists, filters, queries, facets, server-side cursors),
Crossref's 2026 rate and concurrency limits, and injectable faults; also the registration
agency of any DOI (:data:`OTHER_AGENCIES`), formatted citations by content negotiation
(:data:`CITATION_FORMATS`) and citation matching with ``query.bibliographic`` (scores
against :data:`MATCH_THRESHOLD`, references from :meth:`Corpus.citation`). Use it in process through
:meth:`FakeCrossref.transport`, or on a loopback socket with :func:`serve` (async) or
:func:`serve_in_thread` (sync; both need the ``server`` extra, uvicorn). Its :class:`Stats`
count what it saw.

>>> sim = FakeCrossref(works=100, limits="polite-2026", faults=Faults(error_rate=0.1))
>>> sim.corpus.works[0]["DOI"]
'10.5555/12345678'
"""

from __future__ import annotations

from .._switch import is_testing, set_testing
from ._app import FakeCrossref
from ._citations import BIBLIOGRAPHY_LOCALES, BIBLIOGRAPHY_STYLES, REFERENCE_STYLES
from ._corpus import Corpus, WorkList
from ._faults import Fault, Faults
from ._limits import KEEP, PRESETS, Change, Limits, Pool
from ._negotiation import CITATION_FORMATS
from ._search import (
    IMPLEMENTED_FACETS,
    IMPLEMENTED_FIELD_QUERIES,
    IMPLEMENTED_FILTERS,
    MATCH_THRESHOLD,
    SearchError,
)
from ._server import serve, serve_in_thread
from ._stats import RequestRecord, Stats
from ._tables import CORPUS_NOW, HOSTILE_DOIS, OTHER_AGENCIES

__all__ = [
    "BIBLIOGRAPHY_LOCALES",
    "BIBLIOGRAPHY_STYLES",
    "CITATION_FORMATS",
    "CORPUS_NOW",
    "HOSTILE_DOIS",
    "IMPLEMENTED_FACETS",
    "IMPLEMENTED_FIELD_QUERIES",
    "IMPLEMENTED_FILTERS",
    "KEEP",
    "MATCH_THRESHOLD",
    "OTHER_AGENCIES",
    "PRESETS",
    "REFERENCE_STYLES",
    "Change",
    "Corpus",
    "FakeCrossref",
    "Fault",
    "Faults",
    "Limits",
    "Pool",
    "RequestRecord",
    "SearchError",
    "Stats",
    "WorkList",
    "is_testing",
    "serve",
    "serve_in_thread",
    "set_testing",
]
