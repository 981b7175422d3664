"""A bibliographic retrieval corpus: Crossref records as documents, searched with BM25.

Use case: seeding a retrieval-augmented generation (RAG) system that must cite its sources.
Works come from a query (``--query``, ``--filter NAME:VALUE``, e.g. ``has-abstract:true`` for
works with an abstract) and/or a list of DOIs (``--dois FILE``, resolved in batches); only
the fields a document needs are fetched (``select``). Each record becomes one document:

* ``id``: the DOI;
* ``text``: title, subtitle, abstract (its JATS XML stripped to plain text) and subjects;
* ``metadata``: authors, year, container, type, license URL, and a formatted citation built
  from the record (``Family, G., & Other, H. (2023). Title. Journal, 12(3), 1-9. https://...``).

The documents are streamed to a JSONL file as the pages arrive, ready for an embedding model
and a vector store. ``--ask`` then answers a question from that file with a small BM25 index
in pure Python (a stand-in for the vector search) and prints the best hits with their
citations. ``--ask`` without a source searches the file built before.

Offline, against the embedded simulator (works with abstracts, and a sample question)::

    python examples/rag_corpus.py --fake

Against Crossref::

    python examples/rag_corpus.py --mailto you@example.org --query "coral reef bleaching" \\
        --filter has-abstract:true --filter from-pub-date:2020 --max 2000 --out reefs.jsonl
    python examples/rag_corpus.py --mailto you@example.org --out reefs.jsonl \\
        --ask "how does ocean warming affect coral symbionts?"
"""

from __future__ import annotations

import argparse
import asyncio
import html
import json
import math
import re
import sys
from collections import Counter
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from _fake import connect, parse_args

from crossref_async import Crossref, InvalidDOIError, ValidationError, Work, doi_key, normalize_doi
from crossref_async.models import Contributor

#: What a document needs, and nothing else (no reference lists, links or funders).
FIELDS = (
    "DOI",
    "title",
    "subtitle",
    "abstract",
    "subject",
    "author",
    "issued",
    "published",
    "container-title",
    "volume",
    "issue",
    "page",
    "type",
    "license",
)
FAKE_FILTER = "has-abstract:true"
FAKE_QUESTION = "How does viral infection change mitochondrial growth?"

# -- records to documents ---------------------------------------------------------------------

_JATS_TITLE = re.compile(r"<jats:title>.*?</jats:title>", re.DOTALL)  # the "Abstract" heading
_TAG = re.compile(r"<[^>]+>")
_SPACE = re.compile(r"\s+")


def plain_text(jats: str) -> str:
    """A JATS abstract as plain text: headings dropped, tags removed, entities decoded."""
    text = _TAG.sub(" ", _JATS_TITLE.sub(" ", jats))
    return _SPACE.sub(" ", html.unescape(text)).strip()


def initials(given: str) -> str:
    """``"Mary-Ann Jo"`` -> ``"M.-A. J."``."""
    parts = [p for p in re.split(r"\s+", given.strip()) if p]
    return " ".join("-".join(f"{h[0]}." for h in p.split("-") if h) for p in parts)


def cited_name(person: Contributor) -> str | None:
    """``Family, G.``, or an organisation's name."""
    if person.family:
        return f"{person.family}, {initials(person.given)}" if person.given else person.family
    return person.name


def citation(work: Work) -> str:
    """An APA-like reference built from the record's own fields."""
    names = [name for name in map(cited_name, work.author) if name]
    if len(names) > 3:
        authors = f"{names[0]}, et al."
    elif len(names) > 1:
        authors = ", ".join(names[:-1]) + ", & " + names[-1]
    else:
        authors = names[0] if names else ""
    parts = [f"{authors} ({work.year or 'n.d.'})." if authors else f"({work.year or 'n.d.'})."]
    title = (work.first_title or "[untitled]").rstrip(".")
    parts.append(f"{title}.")
    where = work.container_title[0] if work.container_title else ""
    if where:
        if work.volume:
            where += f", {work.volume}" + (f"({work.issue})" if work.issue else "")
        if work.page:
            where += f", {work.page}"
        parts.append(f"{where}.")
    if work.doi_url:
        parts.append(work.doi_url)
    return " ".join(parts)


def document(work: Work) -> dict[str, Any]:
    """One retrieval document: the text to index and the metadata to cite it by."""
    abstract = plain_text(work.abstract) if work.abstract else ""
    text = [*work.title, *work.subtitle, abstract, "; ".join(work.subject)]
    licenses = [entry.URL for entry in work.license if entry.URL]
    return {
        "id": work.DOI,
        "text": "\n".join(part for part in text if part),
        "metadata": {
            "title": work.first_title,
            "authors": work.author_names,
            "year": work.year,
            "container": work.container_title[0] if work.container_title else None,
            "type": work.type,
            "license": licenses[0] if licenses else None,
            "has_abstract": bool(abstract),
            "citation": citation(work),
        },
    }


# -- building the corpus ----------------------------------------------------------------------


def read_dois(path: Path) -> Iterator[str]:
    """One DOI a line, in any pasted form; a line that holds none is reported and skipped."""
    with path.open(encoding="utf-8-sig") as lines:
        for number, line in enumerate(lines, 1):
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            try:
                yield normalize_doi(line)
            except InvalidDOIError as exc:
                print(f"{path}, line {number}: skipped, {exc}")


async def build(
    cr: Crossref,
    text: str | None,
    filters: list[tuple[str, str]],
    dois: Path | None,
    max_docs: int,
    out: Path,
) -> int:
    async with cr:  # closes the connections at the end
        query = None
        if text is not None or filters:
            query = cr.works.select(*FIELDS)  # the query is checked before the file is opened
            query = query.query(text) if text is not None else query
            query = query.filter(filters) if filters else query
        written: set[str] = set()
        missing = 0
        with out.open("w", encoding="utf-8") as fh:

            def write(work: Work) -> None:
                if work.DOI and doi_key(work.DOI) not in written:
                    written.add(doi_key(work.DOI))
                    fh.write(json.dumps(document(work), ensure_ascii=False) + "\n")

            if query is not None:
                total = await query.count()
                print(f"{total:,} works match; taking up to {max_docs:,}")
                async for work in query.stream(max_items=max_docs):
                    write(work)
            if dois is not None:
                async for doi, found in cr.iter_works_by_doi(read_dois(dois), select=FIELDS):
                    if found is None:
                        missing += 1
                        print(f"not in Crossref: {doi}")
                    else:
                        write(found)
    print(f"documents: {len(written):,} written to {out}")
    if missing:
        print(f"({missing} of the DOIs are not in Crossref)")
    return len(written)


# -- retrieval --------------------------------------------------------------------------------

_WORD = re.compile(r"[^\W_]+")
#: Words too common to tell documents apart.
_STOPWORDS = (
    "a an and are as at be by did do does for from has have how in into is it its of on or "
    "that the their them they this to was we were what when where which who why will with"
)
STOPWORDS = frozenset(_STOPWORDS.split())


def words(text: str) -> list[str]:
    return [w for w in _WORD.findall(text.lower()) if len(w) > 1 and w not in STOPWORDS]


class BM25:
    """Okapi BM25 over documents held as term counts (k1 = 1.5, b = 0.75)."""

    def __init__(self, docs: Iterable[dict[str, Any]], k1: float = 1.5, b: float = 0.75) -> None:
        self.k1, self.b = k1, b
        self.docs: list[tuple[str, str, Counter[str], int]] = []
        self.df: Counter[str] = Counter()
        for doc in docs:
            terms = Counter(words(doc["text"]))
            self.df.update(terms.keys())
            self.docs.append((doc["id"], doc["metadata"]["citation"], terms, terms.total()))
        self.avg_len = sum(d[3] for d in self.docs) / len(self.docs) if self.docs else 0.0

    def idf(self, term: str) -> float:
        n, df = len(self.docs), self.df[term]
        return math.log(1 + (n - df + 0.5) / (df + 0.5))

    def search(self, question: str, k: int) -> list[tuple[float, str, str]]:
        """The ``k`` best documents: ``(score, id, citation)``, best first."""
        terms = set(words(question))
        scored = []
        for doc_id, cite, counts, length in self.docs:
            score = 0.0
            for term in terms & counts.keys():
                tf = counts[term]
                norm = tf + self.k1 * (1 - self.b + self.b * length / self.avg_len)
                score += self.idf(term) * tf * (self.k1 + 1) / norm
            if score > 0:
                scored.append((score, doc_id, cite))
        scored.sort(key=lambda hit: (-hit[0], hit[1]))
        return scored[:k]


def read_docs(path: Path) -> Iterator[dict[str, Any]]:
    with path.open(encoding="utf-8") as lines:
        for line in lines:
            yield json.loads(line)


def ask(path: Path, question: str, k: int) -> None:
    index = BM25(read_docs(path))
    hits = index.search(question, k)
    print(f"\n{question}\nbest {len(hits)} of {len(index.docs):,} documents:")
    for rank, (score, doc_id, cite) in enumerate(hits, 1):
        print(f"{rank:>3}. {score:6.2f}  {doc_id}\n       {cite}")


def parse_filter(text: str) -> tuple[str, str]:
    name, colon, value = text.partition(":")
    if not colon or not name.strip() or not value.strip():
        raise ValueError(text)
    return name.strip(), value.strip()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--query", help="free-text query for the works")
    parser.add_argument(
        "--filter", action="append", default=[], metavar="NAME:VALUE", help="a works filter"
    )
    parser.add_argument("--dois", type=Path, help="a file of DOIs to add, one a line")
    parser.add_argument("--max", type=int, default=1000, help="documents from the query (1000)")
    parser.add_argument("--out", type=Path, default=Path("rag-corpus.jsonl"), help="documents")
    parser.add_argument("--ask", help="a question to answer from the documents")
    parser.add_argument("--top", type=int, default=5, help="hits to show (5)")
    args, fake = parse_args(parser, argv)

    filters: list[tuple[str, str]] = []
    for text in args.filter:
        try:
            filters.append(parse_filter(text))
        except ValueError:
            parser.error(f"--filter {text!r}: write a filter as NAME:VALUE (has-abstract:true)")
    if args.max < 1:
        parser.error(f"--max {args.max}: take at least one document")
    if args.top < 1:
        parser.error(f"--top {args.top}: show at least one hit")
    if args.dois is not None and not args.dois.is_file():
        parser.error(f"--dois {str(args.dois)!r}: no such file (one DOI a line)")
    question = args.ask
    if fake is not None and args.query is None and not filters and args.dois is None:
        filters = [parse_filter(FAKE_FILTER)]
        question = question or FAKE_QUESTION
    source = args.query is not None or filters or args.dois is not None
    if not source and question is None:
        parser.error("give --query, --filter or --dois to build a corpus, and/or --ask")
    if not source and not args.out.is_file():
        parser.error(f"--out {str(args.out)!r}: no corpus there yet; build it with --query first")

    if source:
        try:
            cr = connect(args, fake)
            asyncio.run(build(cr, args.query, filters, args.dois, args.max, args.out))
        except ValidationError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
    if question:
        ask(args.out, question, args.top)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
