"""Formatted citations by content negotiation on doi.org.

doi.org answers a DOI with metadata in the format the ``Accept`` header names, redirecting to
the registration agency's service (Crossref's, for Crossref DOIs). BibTeX, RIS, CSL-JSON and
formatted text in any CSL style and locale are available.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from ._errors import ValidationError
from ._params import check_name, encode_segment, normalize_doi

if TYPE_CHECKING:
    from ._api import Api
    from ._transport import Answer

__all__ = ["DEFAULT_CITE_BASE_URL", "FORMATS", "cite", "media_type"]

DEFAULT_CITE_BASE_URL = "https://doi.org"

#: Format names and the media types doi.org negotiates.
FORMATS: dict[str, str] = {
    "bibtex": "application/x-bibtex",
    "ris": "application/x-research-info-systems",
    "csl-json": "application/vnd.citationstyles.csl+json",
    "text": "text/x-bibliography",
    "crossref-xml": "application/vnd.crossref.unixsd+xml",
}

_STYLE = re.compile(r"^[a-z0-9][a-z0-9-]*$")
_LOCALE = re.compile(r"^[a-z]{2,3}(?:-[A-Z]{2})?$")


def media_type(format: str, style: str | None = None, locale: str | None = None) -> str:
    """The ``Accept`` value for a format (with a CSL style and locale for ``text``).

    >>> media_type("text", style="apa", locale="en-US")
    'text/x-bibliography; style=apa; locale=en-US'
    """
    check_name(format, FORMATS, "citation format")
    accept = FORMATS[format]
    if (style or locale) and format != "text":
        raise ValidationError(style or locale, "style and locale apply to format='text' only")
    if style is not None:
        if not _STYLE.match(style):
            raise ValidationError(style, "a CSL style name such as apa, ieee, chicago-author-date")
        accept += f"; style={style}"
    if locale is not None:
        if not _LOCALE.match(locale):
            raise ValidationError(locale, "a locale such as en-US, de-DE, fr-FR")
        accept += f"; locale={locale}"
    return accept


async def cite(
    client: Api,
    doi: str,
    *,
    format: str = "bibtex",
    style: str | None = None,
    locale: str | None = None,
) -> str:
    """The citation of ``doi`` in ``format``, as doi.org serves it."""
    accept = media_type(format, style, locale)
    path = "/" + encode_segment(normalize_doi(doi))

    def text(answer: Answer) -> str:
        return answer.content.decode("utf-8", "replace")

    return await client.session.send("GET", path, [], "single", text, service="cite", accept=accept)
