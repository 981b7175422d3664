"""Formatted citations of work records, as Crossref's content negotiation renders them.

Shapes follow the recorded bodies in ``../shared/crossref-corpus`` (the 2026 recordings where
older ones differ):

* BibTeX: one entry on one line after a space, `` @article{Frank_1970, title={...}, ...,
  month=Aug, pages={635–641} }``, fields in Crossref's order.
* RIS: ``TY  - JOUR`` ... ``ER  - ``, one tag a line.
* CSL-JSON: the work record in Crossref's CSL flavour: ``title`` and ``container-title`` as
  strings, ``container-title-short``, author ``role``, ``score`` 1, and Crossref's own
  ``type`` id (the 2026 recording; answers before 2020 sent CSL's ``article-journal``).
* Bibliographies: one reference in a CSL style (:data:`BIBLIOGRAPHY_STYLES`) and locale
  (:data:`BIBLIOGRAPHY_LOCALES`),
  ending in a newline. Numbered styles carry their number (``[1]``, ``1.``) as Crossref's do.

The styles imitate what citeproc renders from Crossref metadata (name forms, author lists,
punctuation, page ranges, localized terms) closely enough to test a client; they are not a
CSL processor. :func:`reference` renders the same styles as reference-list entries (no number,
no DOI), the strings a citation matcher is fed.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import msgspec

Record = dict[str, Any]

_encode = msgspec.json.Encoder().encode
_DASH = "–"  # en dash: page ranges in every style, as citeproc renders them
_PERIODICAL_TYPES = frozenset({"journal-article", "peer-review", "component", "journal-issue"})


# -- the facts a citation needs --------------------------------------------------------------


@dataclass(frozen=True)
class Work:
    """What citations are made of, read from a work record as served."""

    doi: str
    type: str
    title: str
    subtitle: str
    container: str
    authors: tuple[tuple[str, str], ...]  # (given, family), in author order
    date: tuple[int, ...]  # issued date parts: (), (year,), (year, month) or all three
    volume: str
    issue: str
    page: str
    publisher: str
    issns: tuple[str, ...]
    isbns: tuple[str, ...]

    @classmethod
    def of(cls, record: Mapping[str, Any]) -> Work:
        """The citation facts of a work record."""
        parts = (record.get("issued") or {}).get("date-parts") or [[]]
        return cls(
            doi=record["DOI"],
            type=record.get("type", ""),
            title=_first(record.get("title")),
            subtitle=_first(record.get("subtitle")),
            container=_first(record.get("container-title")),
            authors=tuple(
                (person.get("given", ""), person["family"])
                for person in record.get("author", ())
                if person.get("family")
            ),
            date=tuple(p for p in (parts[0] or []) if p is not None),
            volume=record.get("volume", ""),
            issue=record.get("issue", ""),
            page=record.get("page", ""),
            publisher=record.get("publisher", ""),
            issns=tuple(record.get("ISSN", ())),
            isbns=tuple(record.get("ISBN", ())),
        )

    @property
    def year(self) -> int | None:
        """The publication year, None without a date."""
        return self.date[0] if self.date else None

    @property
    def periodical(self) -> bool:
        """Whether the work appeared in a journal (cited with volume and issue)."""
        return bool(self.container) and (bool(self.volume) or self.type in _PERIODICAL_TYPES)


def _first(value: Any) -> str:
    """The first entry of a list field (``title``, ``container-title``), or ``""``."""
    if isinstance(value, list):
        return str(value[0]) if value else ""
    return str(value or "")


# -- locales ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Terms:
    """The localized words of a bibliography: what CSL locale files supply."""

    and_: str
    et_al: str
    no_date: str
    in_: str
    page: str
    pages: str
    volume: str
    number: str
    available_at: str
    available_from: str
    quotes: tuple[str, str]
    months: tuple[str, ...]  # short month names as the locale writes them in running text

    def quoted(self, text: str) -> str:
        """``text`` in the locale's quotation marks."""
        return f"{self.quotes[0]}{text}{self.quotes[1]}"


# Locales of text/x-bibliography; terms_for falls back by language, then to en-US.
_LOCALES: Mapping[str, Terms] = {
    "en-US": Terms(
        "and", "et al.", "n.d.", "In", "p.", "pp.", "vol.", "no.", "Available at",
        "Available from", ("“", "”"),
        ("Jan.", "Feb.", "Mar.", "Apr.", "May", "Jun.", "Jul.", "Aug.", "Sep.", "Oct.", "Nov.",
         "Dec."),
    ),
    "de-DE": Terms(
        "und", "u. a.", "o. J.", "In", "S.", "S.", "Bd.", "Nr.", "Verfügbar unter",
        "Verfügbar unter", ("„", "“"),
        ("Jan.", "Feb.", "März", "Apr.", "Mai", "Juni", "Juli", "Aug.", "Sep.", "Okt.", "Nov.",
         "Dez."),
    ),
    "fr-FR": Terms(
        "et", "et al.", "s. d.", "In", "p.", "p.", "vol.", "nᵒ", "Disponible à l’adresse",
        "Disponible sur", ("« ", " »"),
        ("janv.", "févr.", "mars", "avr.", "mai", "juin", "juill.", "août", "sept.", "oct.",
         "nov.", "déc."),
    ),
}  # fmt: skip


def terms_for(locale: str | None) -> Terms:
    """The terms of ``locale`` (case-insensitive), falling back by language, then to
    ``en-US``.

    >>> terms_for("de").and_, terms_for("fr-CA").and_, terms_for("xx-YY").and_
    ('und', 'et', 'and')
    """
    wanted = (locale or "").strip().lower().replace("_", "-")
    exact = {name.lower(): terms for name, terms in _LOCALES.items()}
    by_language = {name.split("-")[0].lower(): terms for name, terms in _LOCALES.items()}
    return exact.get(wanted) or by_language.get(wanted.split("-")[0]) or _LOCALES["en-US"]


# -- pieces ------------------------------------------------------------------------------


def _initials(given: str, *, dots: bool = True, spaced: bool = True) -> str:
    """``Henry S.`` -> ``H. S.`` (``H.S.`` unspaced, ``HS`` without dots); a hyphenated name
    keeps its hyphen (``Jean-Luc`` -> ``J.-L.``)."""
    mark = "." if dots else ""
    words = [
        ("-" if dots else "").join(piece[0] + mark for piece in word.split("-") if piece)
        for word in given.split()
    ]
    return (" " if spaced else "").join(words)


def _inverted(family: str, given: str) -> str:
    """``Family, Given`` (``Family`` alone without a given name)."""
    return f"{family}, {given}" if given else family


def _pieces(*parts: str, sep: str = " ") -> str:
    """The non-empty ``parts`` joined."""
    return sep.join(part for part in parts if part)


def _join(names: Sequence[str], sep: str, last: str) -> str:
    """``a, b, and c`` style lists: ``sep`` between names, ``last`` before the last one."""
    if len(names) < 2:
        return "".join(names)
    return sep.join(names[:-1]) + last + names[-1]


def _truncated(names: list[str], limit: int, keep: int) -> tuple[list[str], bool]:
    """At most ``limit`` names: longer lists keep their first ``keep`` (and get "et al.")."""
    return (names, False) if len(names) <= limit else (names[:keep], True)


def _end(text: str, mark: str = ".") -> str:
    """``text`` closed with ``mark``, unless it already ends a sentence."""
    return text if not text or text[-1] in ".?!" else text + mark


def _page_range(page: str, rule: str = "expanded") -> str:
    """A page range with an en dash. ``minimal`` keeps only the changed digits of the last
    page (Vancouver: 635–41, 1499–502); ``chicago`` follows the Chicago Manual (635–41,
    101–8, 1496–1504, 100–104)."""
    first, dash, last = page.partition("-")
    if not dash:
        return page
    if rule != "expanded" and first.isdigit() and last.isdigit() and len(first) == len(last):
        keep = 1
        while keep < len(last) and first[: len(first) - keep] != last[: len(last) - keep]:
            keep += 1
        start = int(first)
        if rule == "chicago":
            if start < 100 or start % 100 == 0:
                keep = len(last)
            elif start % 100 >= 10:
                keep = max(keep, 2)
        last = last[len(last) - keep :]
    return f"{first}{_DASH}{last}"


def _volume_issue(w: Work) -> str:
    """``169(3946)``: how most styles write where in a journal a work is."""
    return w.volume + (f"({w.issue})" if w.issue and w.volume else "")


# -- styles ------------------------------------------------------------------------------
# Each style renders a work with a locale's terms; ``full`` is the bibliography entry Crossref
# sends (numbered styles numbered, the DOI at the end), otherwise a bare reference-list entry.

Style = Callable[[Work, Terms, bool], str]


def _apa(w: Work, t: Terms, full: bool) -> str:
    names = [_inverted(family, _initials(given)) for given, family in w.authors]
    if len(names) > 20:  # APA 7: the first nineteen, an ellipsis, the last
        authors = ", ".join(names[:19]) + f", … {names[-1]}"
    else:
        authors = _join(names, ", ", ", & ")
    date = f"({w.year or t.no_date})."
    head = [authors, date, _end(w.title)] if authors else [_end(w.title), date]
    pages = _page_range(w.page)
    if w.periodical:
        source = _end(_pieces(w.container, _volume_issue(w), pages, sep=", "))
    elif w.container:
        where = f" ({t.pages} {pages})" if pages else ""
        source = _pieces(f"{t.in_} {w.container}{where}.", _end(w.publisher))
    else:
        source = _end(w.publisher)
    return _pieces(*head, source, f"https://doi.org/{w.doi}" if full else "")


def _chicago(w: Work, t: Terms, full: bool) -> str:
    names = [
        _inverted(family, given) if k == 0 else _pieces(given, family)
        for k, (given, family) in enumerate(w.authors)
    ]
    names, cut = _truncated(names, 10, 7)
    authors = ", ".join(names) + f", {t.et_al}" if cut else _join(names, ", ", f", {t.and_} ")
    pages = _page_range(w.page, "chicago")
    if w.periodical:
        title = t.quoted(_end(w.title))
        where = _pieces(w.container, w.volume, f"({w.issue})" if w.issue else "")
        source = _end(where + (f": {pages}" if pages else ""))
    elif w.container:
        title = t.quoted(_end(w.title))
        source = _pieces(
            _end(_pieces(f"{t.in_} {w.container}", pages, sep=", ")), _end(w.publisher)
        )
    else:
        title, source = _end(w.title), _end(w.publisher)
    link = f"https://doi.org/{w.doi}." if full else ""
    return _pieces(_end(authors), _end(str(w.year or t.no_date)), title, source, link)


def _ieee(w: Work, t: Terms, full: bool) -> str:
    names, cut = _truncated(
        [_pieces(_initials(given), family) for given, family in w.authors], 6, 1
    )
    if cut:
        authors = f"{names[0]} {t.et_al}"
    else:
        authors = _join(names, ", ", f" {t.and_} " if len(names) == 2 else f", {t.and_} ")
    pages = _page_range(w.page)
    page = f"{t.pages if _DASH in pages else t.page} {pages}" if pages else ""
    month = t.months[w.date[1] - 1] if len(w.date) > 1 else ""
    date = _pieces(month, str(w.year or t.no_date))
    doi = f"doi: {w.doi}" if full else ""
    if w.periodical:
        items = [w.container, w.volume and f"{t.volume} {w.volume}",
                 w.issue and f"{t.number} {w.issue}", page, date, doi]  # fmt: skip
        body = t.quoted(w.title + ",") + " " + _end(_pieces(*items, sep=", "))
    elif w.container:
        items = [f"{t.in_.lower()} {w.container}", w.publisher, date, page, doi]
        body = t.quoted(w.title + ",") + " " + _end(_pieces(*items, sep=", "))
    else:
        body = _pieces(_end(w.title), _end(_pieces(w.publisher, date, doi, sep=", ")))
    return ("[1]" if full else "") + (f"{authors}, {body}" if authors else body)


def _harvard(w: Work, t: Terms, full: bool) -> str:
    names = [_inverted(family, _initials(given, spaced=False)) for given, family in w.authors]
    authors = f"{names[0]} {t.et_al}" if len(names) > 3 else _join(names, ", ", " & ")
    pages = _page_range(w.page)
    page = f"{t.pages if _DASH in pages else t.page}{pages}" if pages else ""
    if w.periodical:
        source = _end(_pieces(w.container, _volume_issue(w), page, sep=", "))
    elif w.container:
        source = _pieces(f"{t.in_} {_end(w.container)}", _end(_pieces(w.publisher, page, sep=", ")))
    else:
        source = _end(w.publisher)
    year = _end(str(w.year or t.no_date))
    link = f"{t.available_at}: http://dx.doi.org/{w.doi}." if full else ""
    return _pieces(f"{authors}, {year}" if authors else year, _end(w.title), source, link)


def _vancouver(w: Work, t: Terms, full: bool) -> str:
    names = [
        _pieces(family, _initials(given, dots=False, spaced=False)) for given, family in w.authors
    ]
    names, cut = _truncated(names, 6, 6)
    authors = ", ".join(names) + (f", {t.et_al}" if cut else "")
    month = t.months[w.date[1] - 1].rstrip(".") if len(w.date) > 1 else ""
    day = str(w.date[2]) if len(w.date) > 2 else ""
    date = _pieces(str(w.year or ""), month, day)
    pages = _page_range(w.page, "minimal")
    if w.periodical:
        volume = _volume_issue(w)
        tail = (f";{volume}" if volume else "") + (f":{pages}" if pages else "")
        source = _pieces(_end(w.container), _end(date + tail))
    elif w.container:
        published = _end(_pieces(w.publisher, date, sep="; "))
        where = _end(f"{t.page} {pages}") if pages else ""
        source = _pieces(f"{t.in_}: {_end(w.container)}", published, where)
    else:
        source = _end(_pieces(w.publisher, date, sep="; "))
    link = f"{t.available_from}: http://dx.doi.org/{w.doi}" if full else ""
    return ("1. " if full else "") + _pieces(_end(authors), _end(w.title), source, link)


def _plain(w: Work, t: Terms, full: bool) -> str:
    """The numeric style of many science journals: ``H. S. Frank, Title, Science 169 (1970)
    635–641.``"""
    authors = ", ".join(_pieces(_initials(given), family) for given, family in w.authors)
    year = str(w.year or "")
    pages = _page_range(w.page)
    if w.periodical:
        source = _pieces(w.container, w.volume, f"({year})" if year else "", pages)
    else:
        source = _pieces(w.container, w.publisher, year, pages and f"{t.pages} {pages}", sep=", ")
    link = f"https://doi.org/{w.doi}" if full else ""
    return _pieces(_end(_pieces(authors, w.title, source, sep=", ")), link)


def _bibtex_style(w: Work, t: Terms, full: bool) -> str:
    return bibtex(w)


# CSL styles of text/x-bibliography. "bibtex" gives the BibTeX entry as text, as in
# Crossref's own content negotiation example.
_STYLES: Mapping[str, Style] = {
    "apa": _apa,
    "bibtex": _bibtex_style,
    "chicago-author-date": _chicago,
    "harvard1": _harvard,
    "ieee": _ieee,
    "vancouver": _vancouver,
}

# Styles of reference(): reference-list entries, the strings a citation matcher gets.
_REFERENCE_STYLES: Mapping[str, Style] = {
    "plain": _plain,
    **{name: style for name, style in _STYLES.items() if name != "bibtex"},
}


#: Values of ``style=`` in ``text/x-bibliography`` (``apa`` by default). ``bibtex`` gives
#: the BibTeX entry as text, as in Crossref's own content negotiation example.
BIBLIOGRAPHY_STYLES: tuple[str, ...] = tuple(_STYLES)
#: Values of ``locale=`` the simulator translates (``en-US`` by default). Others fall back by
#: language (``de-AT`` is ``de-DE``), then to ``en-US``, as citeproc falls back.
BIBLIOGRAPHY_LOCALES: tuple[str, ...] = tuple(_LOCALES)
#: Styles of :meth:`Corpus.citation`.
REFERENCE_STYLES: tuple[str, ...] = tuple(_REFERENCE_STYLES)


def bibliography(record: Mapping[str, Any], style: str = "apa", locale: str = "en-US") -> str:
    """The ``text/x-bibliography`` body of a work record: one entry and a newline. Raises
    KeyError for a style not in :data:`BIBLIOGRAPHY_STYLES`.

    >>> record = {"DOI": "10.1126/science.169.3946.635", "type": "journal-article",
    ...     "title": ["The Structure of Ordinary Water"], "container-title": ["Science"],
    ...     "author": [{"given": "Henry S.", "family": "Frank"}], "volume": "169",
    ...     "issue": "3946", "page": "635-641", "issued": {"date-parts": [[1970, 8, 14]]}}
    >>> print(bibliography(record, "ieee"), end="")
    [1]H. S. Frank, “The Structure of Ordinary Water,” Science, vol. 169, no. 3946, pp. 635–641, Aug. 1970, doi: 10.1126/science.169.3946.635.
    >>> print(bibliography(record, "chicago-author-date", "de-DE"), end="")
    Frank, Henry S. 1970. „The Structure of Ordinary Water.“ Science 169 (3946): 635–41. https://doi.org/10.1126/science.169.3946.635.
    """  # noqa: E501 - each example prints one long line
    return _STYLES[style](Work.of(record), terms_for(locale), True) + "\n"


def reference(record: Mapping[str, Any], style: str = "plain") -> str:
    """A reference-list entry of a work record (no number, no DOI) in one of
    :data:`REFERENCE_STYLES`. Raises KeyError for other styles."""
    return _REFERENCE_STYLES[style](Work.of(record), _LOCALES["en-US"], False)


# -- BibTeX, RIS, CSL-JSON -----------------------------------------------------------------

_BIBTEX_TYPES = {
    "journal-article": "article",
    "proceedings-article": "inproceedings",
    "book-chapter": "inbook",
    "reference-entry": "inbook",
    "book": "book",
    "monograph": "book",
    "edited-book": "book",
    "reference-book": "book",
    "dissertation": "phdthesis",
    "report": "techreport",
}
_BIBTEX_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov",
                  "Dec")  # fmt: skip


def bibtex(w: Work) -> str:
    """The BibTeX entry of a work, on one line as Crossref sends it (without the newline that
    ends the body). The title carries the subtitle, as in Crossref's entries."""
    entry = _BIBTEX_TYPES.get(w.type, "misc")
    family = "".join(ch for ch in w.authors[0][1] if ch.isalnum()) if w.authors else ""
    key = "_".join(part for part in (family, str(w.year or "")) if part) or "unknown"
    in_container = "journal" if entry == "article" else "booktitle"
    fields: list[tuple[str, str | None]] = [
        ("title", _pieces(w.title, w.subtitle, sep=": ")),
        ("volume", w.volume),
        ("ISSN", w.issns[-1] if w.issns else None),
        ("ISBN", w.isbns[0] if w.isbns else None),
        ("url", f"http://dx.doi.org/{w.doi}"),
        ("DOI", w.doi),
        ("number", w.issue),
        (in_container, w.container),
        ("publisher", w.publisher),
        ("author", " and ".join(_pieces(f"{family},", given) for given, family in w.authors)),
        ("year", str(w.year) if w.year else None),
        ("pages", _page_range(w.page)),
    ]
    body = [f"{name}={{{value}}}" for name, value in fields if value]
    if len(w.date) > 1:  # a bare month macro, placed before pages as Crossref places it
        body.insert(len(body) - (1 if w.page else 0), f"month={_BIBTEX_MONTHS[w.date[1] - 1]}")
    return f" @{entry}{{{key}, {', '.join(body)} }}"


_RIS_TYPES = {
    "journal-article": "JOUR",
    "proceedings-article": "CPAPER",
    "book-chapter": "CHAP",
    "reference-entry": "CHAP",
    "book": "BOOK",
    "monograph": "BOOK",
    "edited-book": "EDBOOK",
    "dataset": "DATA",
    "dissertation": "THES",
    "report": "RPRT",
}


def ris(record: Mapping[str, Any]) -> str:
    """The RIS record of a work: ``TY  - JOUR`` first, ``ER  - `` last, one tag a line."""
    w = Work.of(record)
    lines = [("TY", _RIS_TYPES.get(w.type, "GEN")), ("DO", w.doi)]
    lines += [("UR", f"http://dx.doi.org/{w.doi}"), ("TI", w.title), ("T2", w.container)]
    lines += [("AU", _pieces(f"{family},", given)) for given, family in w.authors]
    if w.year:
        lines.append(("PY", str(w.year)))
        lines.append(("DA", "/".join(f"{part:02d}" for part in w.date)))
    lines += [("PB", w.publisher), ("SP", w.page), ("IS", w.issue), ("VL", w.volume)]
    lines += [("SN", value) for value in (*w.issns, *w.isbns)]
    return "".join(f"{tag}  - {value}\n" for tag, value in lines if value) + "ER  - \n"


def csl_json(record: Mapping[str, Any]) -> bytes:
    """The CSL-JSON body of a work record, in Crossref's flavour (see the module docstring)."""
    out: Record = {}
    for key, value in record.items():
        if key in ("title", "container-title"):
            if value:
                out[key] = _first(value)
        elif key in ("author", "editor"):
            role = [{"vocabulary": "crossref", "role": key}]
            out[key] = [{**person, "role": role} for person in value]
        elif key not in ("short-container-title", "issn-type", "isbn-type", "score", "URL"):
            out[key] = value
    out["URL"] = f"http://dx.doi.org/{record['DOI']}"
    short = record.get("short-container-title")
    if short:
        out["container-title-short"] = short[0]
    out["score"] = 1
    return _encode(out)
