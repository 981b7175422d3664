"""crossref-async: an asyncio client for the Crossref REST API, built for harvesting.

>>> from crossref_async import Crossref
>>> cr = Crossref(mailto="you@example.org")
>>> cr.works.query("renear ontologies").filter(type="journal-article").rows(5).to_params()
[('query', 'renear ontologies'), ('filter', 'type:journal-article'), ('rows', '5')]
"""

import inspect as _inspect
import typing as _typing

from ._biblio import BibliographyEntry
from ._breaker import Breaker
from ._client import Crossref
from ._errors import (
    APIError,
    BadRequestError,
    CircuitOpenError,
    ConnectionFailedError,
    CrossrefError,
    DecodeError,
    ErrorDetail,
    ForbiddenError,
    HarvestStateError,
    IncompleteResultsError,
    InvalidDOIError,
    NotFoundError,
    OffsetLimitError,
    OutputError,
    OutputLockedError,
    PublicPoolWarning,
    RateLimitedError,
    RedirectError,
    RequestTimeoutError,
    ResponseTooLargeError,
    ServerError,
    TransportError,
    UnauthorizedError,
    UnexpectedStatusError,
    ValidationError,
    VerificationError,
)

# Deprecated, kept for one release and left out of __all__: the old names of eight errors
# (the same classes as the new names) and the DOI helpers' old home (now crossref_async.doi).
# "import X as X" keeps them importable under mypy's --no-implicit-reexport.
from ._errors import BadRequest as BadRequest
from ._errors import ConnectionFailed as ConnectionFailed
from ._errors import Forbidden as Forbidden
from ._errors import NotFound as NotFound
from ._errors import RateLimited as RateLimited
from ._errors import RequestTimeout as RequestTimeout
from ._errors import Unauthorized as Unauthorized
from ._errors import UnexpectedStatus as UnexpectedStatus
from ._governor import PoolStats
from ._graph import Edge
from ._lookup import WorksByDOI
from ._match import CitationMatch
from ._query import ListQuery, WorksQuery
from ._retry import RetryPolicy
from ._settings import Pacing
from ._shared import BudgetUnavailableError, SharedBudget
from ._switch import is_testing, set_testing
from ._transport import Timeouts
from ._version import __version__

# The DOI helpers' old home, deprecated (see above): they live in crossref_async.doi now.
from .doi import doi_key as doi_key
from .doi import extract_dois as extract_dois
from .doi import normalize_doi as normalize_doi
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
    "BadRequestError",
    "BibliographyEntry",
    "Breaker",
    "BudgetUnavailableError",
    "CircuitOpenError",
    "CitationMatch",
    "ConnectionFailedError",
    "Crossref",
    "CrossrefError",
    "DecodeError",
    "Edge",
    "ErrorDetail",
    "ForbiddenError",
    "Funder",
    "HarvestStateError",
    "IncompleteResultsError",
    "InvalidDOIError",
    "Journal",
    "LicenseEntry",
    "ListQuery",
    "Member",
    "NotFoundError",
    "OffsetLimitError",
    "OutputError",
    "OutputLockedError",
    "Pacing",
    "Page",
    "PoolStats",
    "Prefix",
    "PublicPoolWarning",
    "RateLimitedError",
    "RedirectError",
    "RequestTimeoutError",
    "ResponseTooLargeError",
    "RetryPolicy",
    "ServerError",
    "SharedBudget",
    "Timeouts",
    "TransportError",
    "Type",
    "UnauthorizedError",
    "UnexpectedStatusError",
    "ValidationError",
    "VerificationError",
    "Work",
    "WorksByDOI",
    "WorksQuery",
    "__version__",
    "is_testing",
    "set_testing",
]


def _publish(obj: object, module: str) -> None:
    """Name ``obj`` by the public module it is documented under (``crossref_async.Crossref``,
    not ``crossref_async._client.Crossref``), as httpx does: in reprs, help and tracebacks."""
    if isinstance(obj, type) and obj.__module__ != module:
        # typing.get_type_hints reads a class's string annotations in the module that
        # __module__ names; resolve them first where they were written, so that moving the
        # name does not break introspection (dataclass converters, schema tools).
        try:
            hints = _typing.get_type_hints(obj, include_extras=True)
        except (NameError, TypeError):  # hints that never resolved (TYPE_CHECKING names)
            hints = {}
        own = _inspect.get_annotations(obj)
        if hints and own:
            type.__setattr__(obj, "__annotations__", {k: hints.get(k, v) for k, v in own.items()})
    if getattr(obj, "__module__", None) != module:
        obj.__module__ = module


for _name in __all__:
    _obj = globals()[_name]
    if isinstance(_obj, type) or callable(_obj):
        _home = _obj.__module__
        # Names from a public module (models) already carry it; the rest are re-exported here.
        _publish(_obj, _home if not _home.split(".")[-1].startswith("_") else __name__)
del _name, _obj, _home
