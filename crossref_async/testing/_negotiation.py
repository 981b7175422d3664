"""Content negotiation: formatted citations of a work, and the doi.org hop that leads to them.

Two routes, as Crossref and doi.org answer them:

* ``/works/{doi}/transform/{media type}`` and ``/works/{doi}/transform`` (the media type from
  the ``Accept`` header): the work in one of :data:`CITATION_FORMATS`, with ``vary: Accept``.
  A path's media type wins over the header, whose parameters still apply to it (``style``,
  ``locale``). A missing ``Accept`` counts as ``*/*``, which gets CSL-JSON. Answers: 404
  ``Resource not found.`` (``text/plain``, as recorded for a DataCite DOI) unless the DOI is
  a corpus work; then 406 with a short text body when no acceptable format is served, or
  when ``text/x-bibliography`` asks for a style not in :data:`BIBLIOGRAPHY_STYLES` (the body
  names it); otherwise 200. A locale the simulator lacks falls back by language, then to
  ``en-US``, as citeproc does.
* ``/{doi}`` (a path whose first segment starts with ``10.``; the DOI is the whole decoded rest
  of the path): doi.org's redirect. A corpus work answers ``302`` with ``Location:
  /works/{percent-encoded doi}/transform`` when the ``Accept`` header names a media type (so
  a client following redirects with the same header gets the body, or a 406), and to the
  work's landing page (``resource.primary.URL``, off the simulator) when it names none: no
  header, only wildcards or HTML, as a browser sends. Any other DOI is a 404: doi.org sends
  other agencies' DOIs to their own resolvers, which the simulator does not imitate.

Media types served by Crossref but not here (RDF, Turtle, UNIXREF/UNIXSD XML) are 406s whose
body says so.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from . import _bodies as bodies
from . import _citations as cite
from . import _wire as wire
from ._corpus import Corpus

_PLAIN = b"text/plain;charset=utf-8"
_HTML_TYPES = frozenset({"text/html", "application/xhtml+xml"})
_NOT_IMPLEMENTED = frozenset(
    {
        "application/rdf+xml",
        "text/turtle",
        "application/vnd.crossref.unixref+xml",
        "application/vnd.crossref.unixsd+xml",
    }
)


def _csl(record: dict[str, Any], params: Mapping[str, str]) -> bytes:
    return cite.csl_json(record)


def _bibtex(record: dict[str, Any], params: Mapping[str, str]) -> bytes:
    return (cite.bibtex(cite.Work.of(record)) + "\n").encode()


def _ris(record: dict[str, Any], params: Mapping[str, str]) -> bytes:
    return cite.ris(record).encode()


def _bibliography(record: dict[str, Any], params: Mapping[str, str]) -> bytes:
    locale = params.get("locale", "en-US")
    return cite.bibliography(record, params.get("style", "apa"), locale).encode()


Render = Callable[[dict[str, Any], Mapping[str, str]], bytes]

# Media types of formatted citations in the simulator's order of preference (what a wildcard
# gets), with the content type of the answer (as recorded, where recorded) and the renderer.
_FORMATS: Mapping[str, tuple[bytes, Render]] = {
    "application/vnd.citationstyles.csl+json": (
        b"application/vnd.citationstyles.csl+json",
        _csl,
    ),
    "text/x-bibliography": (b"text/x-bibliography", _bibliography),
    "application/x-bibtex": (b"application/x-bibtex", _bibtex),
    "application/x-research-info-systems": (b"application/x-research-info-systems", _ris),
    # Crossref's older, non-standard name of its CSL-JSON ("citeproc-json-ish").
    "application/citeproc+json": (b"application/citeproc+json", _csl),
}

#: Media types of ``/works/{doi}/transform``, in the order a wildcard prefers them.
CITATION_FORMATS: tuple[str, ...] = tuple(_FORMATS)


# -- the Accept header -------------------------------------------------------------------

_ELEMENT = re.compile(r'(?:[^,"]|"[^"]*")+')
_PARAMETER = re.compile(r'(?:[^;"]|"[^"]*")+')


@dataclass(frozen=True)
class MediaRange:
    """One entry of an ``Accept`` header: ``text/x-bibliography; style=ieee; q=0.5``."""

    type: str
    params: dict[str, str] = field(default_factory=dict)
    q: float = 1.0

    def specificity(self, media: str) -> int:
        """How specifically this range names ``media``: 2 exactly, 1 as ``type/*``, 0 as
        ``*/*``, -1 not at all."""
        if self.type == media:
            return 2
        if self.type == "*/*":
            return 0
        major, _, minor = self.type.partition("/")
        return 1 if minor == "*" and media.startswith(major + "/") else -1


def parse_accept(header: str | None) -> list[MediaRange]:
    """The media ranges of an ``Accept`` header, in order; ``*/*`` when it is missing or
    empty. Malformed entries are skipped.

    >>> parse_accept("text/x-bibliography; style=ieee; locale=de-DE, */*;q=0.1")
    [MediaRange(type='text/x-bibliography', params={'style': 'ieee', 'locale': 'de-DE'}, q=1.0), MediaRange(type='*/*', params={}, q=0.1)]
    """  # noqa: E501 - the example prints one long line
    ranges = []
    for element in _ELEMENT.findall(header or ""):
        media, *rest = (part.strip() for part in _PARAMETER.findall(element))
        if media.count("/") != 1:
            continue
        params: dict[str, str] = {}
        for parameter in rest:
            name, _, value = parameter.partition("=")
            params[name.strip().lower()] = value.strip().strip('"')
        try:
            q = float(params.pop("q", "1"))
        except ValueError:
            continue
        ranges.append(MediaRange(media.lower(), params, q))
    return ranges or [MediaRange("*/*")]


def negotiate(ranges: list[MediaRange]) -> tuple[str, dict[str, str]] | None:
    """The format to send, with the parameters of the range that chose it, or None.

    Each format takes the quality of the most specific range naming it (so ``*/*,
    application/x-bibtex;q=0`` refuses BibTeX); the best quality wins, then the more
    specific range, then the range listed first, then the simulator's preference.
    """
    best: tuple[tuple[float, int, int, int], str, dict[str, str]] | None = None
    for preference, media in enumerate(_FORMATS):
        matches = [
            (r.specificity(media), -position, r)
            for position, r in enumerate(ranges)
            if r.specificity(media) >= 0
        ]
        if not matches:
            continue
        specificity, position, chosen = max(matches, key=lambda m: (m[0], m[1]))
        if chosen.q <= 0:
            continue
        key = (chosen.q, specificity, position, -preference)
        if best is None or key > best[0]:
            best = (key, media, chosen.params if specificity == 2 else {})
    return None if best is None else (best[1], best[2])


# -- answers -----------------------------------------------------------------------------


def transform(corpus: Corpus, doi: str, media: str | None, accept: str | None) -> wire.Answer:
    """The answer of ``/works/{doi}/transform[/{media}]`` (see the module docstring)."""
    index = corpus.index_of(doi)
    if index is None:
        return wire.Answer(404, bodies.NOT_FOUND, _PLAIN)
    ranges = parse_accept(accept)
    if media is not None:
        media = media.strip().lower()
        if media not in _FORMATS:
            return _not_acceptable(media)
        named = [r for r in ranges if r.type == media]
        chosen: tuple[str, dict[str, str]] | None = (media, named[0].params if named else {})
    else:
        chosen = negotiate(ranges)
    if chosen is None:
        return _not_acceptable(", ".join(r.type for r in ranges))
    media, params = chosen
    if media == "text/x-bibliography":
        style = params.get("style", "apa").strip().lower()  # CSL style ids are lower case
        if style not in cite.BIBLIOGRAPHY_STYLES:
            styles = ", ".join(cite.BIBLIOGRAPHY_STYLES)
            text = f"Unknown citation style: {style}. Styles: {styles}\n"
            return wire.Answer(406, text.encode(), _PLAIN)
        params = {**params, "style": style}
    content_type, render = _FORMATS[media]
    body = render(corpus.record(index), params)
    return wire.Answer(200, body, content_type, [(b"vary", b"Accept")])


def resolve(corpus: Corpus, doi: str, accept: str | None) -> wire.Answer:
    """doi.org's answer for ``/{doi}``: a 302 to the transform route or the landing page."""
    index = corpus.index_of(doi)
    if index is None:
        return wire.Answer(404, bodies.NOT_FOUND, _PLAIN)
    negotiating = any(
        "*" not in r.type and r.type not in _HTML_TYPES and r.q > 0 for r in parse_accept(accept)
    )
    if negotiating:
        # The canonical spelling of the DOI, so the hop lands on exactly one record.
        location = "/works/" + quote(corpus.tables.columns.doi[index], safe="") + "/transform"
    else:
        location = corpus.record(index)["resource"]["primary"]["URL"]
    page = f'<html><head><title>Handle Redirect</title></head>\n<body><a href="{location}">'
    page += f"{location}</a></body></html>\n"
    return wire.Answer(
        302, page.encode(), b"text/html;charset=utf-8", [(b"location", location.encode())]
    )


def _not_acceptable(asked: str) -> wire.Answer:
    available = ", ".join(_FORMATS)
    if asked in _NOT_IMPLEMENTED:
        text = f"{asked} is served by Crossref but not by the crossref-async simulator."
    else:
        text = f"No acceptable format in: {asked}."
    return wire.Answer(406, f"Not Acceptable. {text} Available: {available}\n".encode(), _PLAIN)
