"""DOI helpers: clean a pasted DOI, compare DOIs, find the DOIs in free text.

DOIs are case-insensitive over ASCII letters, hold almost any printable character (``/ ; #
? & < > % ( ) :`` and spaces), and are pasted as ``https://doi.org/...``, ``doi:...`` or
bare. The client normalizes every DOI it is given with :func:`normalize_doi`; these helpers
are for code that handles DOIs of its own (a reference list, a spreadsheet):

>>> from crossref_async.doi import doi_key, extract_dois, normalize_doi
>>> normalize_doi("https://doi.org/10.5555/Mixed.Case")
'10.5555/Mixed.Case'
>>> doi_key("10.5555/Mixed.Case") == doi_key("doi:10.5555/mixed.case".removeprefix("doi:"))
True
>>> extract_dois("Cited as doi:10.5555/12345678, see also https://doi.org/10.1037/abc.")
['10.5555/12345678', '10.1037/abc']

(Until the next release these are importable from ``crossref_async`` too, where they were.)
"""

from __future__ import annotations

from ._biblio import extract_dois
from ._params import doi_key, normalize_doi

__all__ = ["doi_key", "extract_dois", "normalize_doi"]

# Help, reprs and the API reference name them where users import them from.
for _function in (doi_key, extract_dois, normalize_doi):
    _function.__module__ = __name__
