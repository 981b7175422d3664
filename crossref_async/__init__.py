"""crossref-async: an asyncio client for the Crossref REST API, built for harvesting.

>>> from crossref_async import Crossref
>>> cr = Crossref(mailto="you@example.org")
>>> cr.works.query("renear ontologies").filter(type="journal-article").rows(5).to_params()
[('query', 'renear ontologies'), ('filter', 'type:journal-article'), ('rows', '5')]
"""

from ._biblio import BibliographyEntry, extract_dois
from ._breaker import Breaker
from ._client import Crossref
from ._errors import (
    APIError,
    BadRequest,
    CircuitOpenError,
    ConnectionFailed,
    CrossrefError,
    DecodeError,
    ErrorDetail,
    Forbidden,
    HarvestStateError,
    IncompleteResultsError,
    InvalidDOIError,
    NotFound,
    OffsetLimitError,
    OutputError,
    OutputLockedError,
    PublicPoolWarning,
    RateLimited,
    RedirectError,
    RequestTimeout,
    ResponseTooLargeError,
    ServerError,
    TransportError,
    Unauthorized,
    UnexpectedStatus,
    ValidationError,
    VerificationError,
)
from ._governor import PoolStats
from ._graph import Edge
from ._lookup import WorksByDOI
from ._match import CitationMatch
from ._params import doi_key, normalize_doi
from ._query import ListQuery, WorksQuery
from ._retry import RetryPolicy
from ._settings import Pacing
from ._transport import Timeouts
from ._version import __version__
from .models import (
    Agency,
    Funder,
    Journal,
    LicenseEntry,
    Member,
    Page,
    Prefix,
    Type,
    Work,
)

__all__ = [
    "APIError",
    "Agency",
    "BadRequest",
    "BibliographyEntry",
    "Breaker",
    "CircuitOpenError",
    "CitationMatch",
    "ConnectionFailed",
    "Crossref",
    "CrossrefError",
    "DecodeError",
    "Edge",
    "ErrorDetail",
    "Forbidden",
    "Funder",
    "HarvestStateError",
    "IncompleteResultsError",
    "InvalidDOIError",
    "Journal",
    "LicenseEntry",
    "ListQuery",
    "Member",
    "NotFound",
    "OffsetLimitError",
    "OutputError",
    "OutputLockedError",
    "Pacing",
    "Page",
    "PoolStats",
    "Prefix",
    "PublicPoolWarning",
    "RateLimited",
    "RedirectError",
    "RequestTimeout",
    "ResponseTooLargeError",
    "RetryPolicy",
    "ServerError",
    "Timeouts",
    "TransportError",
    "Type",
    "Unauthorized",
    "UnexpectedStatus",
    "ValidationError",
    "VerificationError",
    "Work",
    "WorksByDOI",
    "WorksQuery",
    "__version__",
    "doi_key",
    "extract_dois",
    "normalize_doi",
]
