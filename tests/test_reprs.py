"""Reprs people can read: a query shows its request, a Work its DOI, type, title, year and
first author, a Page its size, total and cursor, and no record of the corpus prints past a
few hundred characters. Encoding, equality and hashing stay exactly what they were."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, urlsplit

import msgspec
import pytest
from _corpus import recordings

from crossref_async import Crossref, models
from crossref_async._pretty import LIMIT
from crossref_async.models import (
    Affiliation,
    Contributor,
    Facet,
    Member,
    Page,
    PartialDate,
    Reference,
    Type,
    Work,
    decode_message,
    decode_page,
)

MIND = Work(
    DOI="10.1037/0003-066x.59.1.29",
    type="journal-article",
    title=("How the Mind Hurts and Heals the Body",),
    issued=PartialDate(date_parts=((2004, 1),)),
    author=(Contributor(given="Oakley", family="Ray", sequence="first"),),
)

# A works page as Crossref sends it, and its encoding by the models before the reprs were
# added (taken from main at fa51a62): encoding must not change by a byte.
BODY = (
    b'{"status":"ok","message-type":"work-list","message-version":"1.0.0","message":{'
    b'"total-results":336022,"items-per-page":2,"next-cursor":"DnF1ZXJ5VGhlbkZldGNo",'
    b'"facets":{"type-name":{"value-count":1,"values":{"Journal Article":9}}},"items":['
    b'{"DOI":"10.1037/0003-066x.59.1.29","type":"journal-article",'
    b'"title":["How the Mind Hurts and Heals the Body"],"issued":{"date-parts":[[2004,1]]},'
    b'"author":[{"given":"Oakley","family":"Ray","sequence":"first","affiliation":[]}],'
    b'"reference":[{"key":"r1","DOI":"10.1000/x","year":"1999"}],"is-referenced-by-count":3},'
    b'{"DOI":"10.5555/2"}]}}'
)
ENCODED_BEFORE = (
    b'{"items":[{"DOI":"10.1037/0003-066x.59.1.29","type":"journal-article",'
    b'"is-referenced-by-count":3,"title":["How the Mind Hurts and Heals the Body"],'
    b'"author":[{"given":"Oakley","family":"Ray","sequence":"first"}],'
    b'"reference":[{"key":"r1","DOI":"10.1000/x","year":"1999"}],'
    b'"issued":{"date-parts":[[2004,1]]}},{"DOI":"10.5555/2"}],"total-results":336022,'
    b'"items-per-page":2,"facets":{"type-name":{"value-count":1,"values":{"Journal Article":9}}},'
    b'"next-cursor":"DnF1ZXJ5VGhlbkZldGNo"}'
)

SINGLE = {
    "work": Work,
    "member": Member,
    "journal": models.Journal,
    "funder": models.Funder,
    "prefix": models.Prefix,
    "type": Type,
    "work-agency": models.Agency,
}
LISTS = {
    "work-list": Work,
    "member-list": Member,
    "journal-list": models.Journal,
    "funder-list": models.Funder,
    "license-list": models.LicenseEntry,
    "type-list": Type,
}


class FakePrinter:
    """IPython's pretty printer, as far as ``_repr_pretty_`` uses it."""

    def __init__(self) -> None:
        self.out: list[str] = []

    def text(self, obj: str) -> None:
        self.out.append(obj)


def corpus_messages() -> list[tuple[Any, Any]]:
    """Every decodable record of the corpus, single messages and list pages, with its type."""
    found: list[tuple[Any, Any]] = []
    for rec in recordings():
        kind = rec.message_type or ""
        if rec.status != 200 or not rec.is_json or kind not in {*SINGLE, *LISTS}:
            continue
        try:
            if kind in SINGLE:
                model: Any = SINGLE[kind]
                found.append((decode_message(rec.body, model, message_type=kind), model))
            else:
                page = decode_page(rec.body, LISTS[kind], message_type=kind)
                found.append((page, Page[LISTS[kind]]))  # type: ignore[name-defined]
        except Exception:
            # Malformed recordings are test_corpus_conformance's business.
            continue
    return found


def every_struct(obj: object, depth: int = 0) -> list[msgspec.Struct]:
    """``obj`` and every record inside it (the first 20 entries of each list)."""
    out: list[msgspec.Struct] = []
    if isinstance(obj, msgspec.Struct):
        out.append(obj)
        for name in obj.__struct_fields__:
            out += every_struct(getattr(obj, name), depth + 1)
    elif isinstance(obj, (tuple, list)):
        for item in obj[:20]:
            out += every_struct(item, depth + 1)
    elif isinstance(obj, dict):
        for item in list(obj.values())[:20]:
            out += every_struct(item, depth + 1)
    return out


# -- works -----------------------------------------------------------------------------------


def test_work_shows_doi_type_title_year_and_first_author() -> None:
    assert repr(MIND) == (
        "Work(10.1037/0003-066x.59.1.29, journal-article, "
        "'How the Mind Hurts and Heals the Body', 2004, Ray)"
    )


def test_work_title_is_shortened_on_one_line() -> None:
    long = Work(DOI="10.5555/1", title=("Toward a Unified   Theory\n of " + "x" * 80,))
    shown = repr(long)
    assert shown.startswith("Work(10.5555/1, 'Toward a Unified Theory of xxx")
    assert shown.endswith("…')")
    title = shown[len("Work(10.5555/1, ") + 1 : -2]
    assert len(title) == 60


def test_more_authors_say_et_al_and_an_organisation_gives_its_name() -> None:
    two = Work(author=(Contributor(family="Ng"), Contributor(family="Li")))
    assert repr(two) == "Work(Ng et al.)"
    group = Work(author=(Contributor(name="Australasian Trials Group"),))
    assert repr(group) == "Work(Australasian Trials Group)"


def test_a_selected_work_leaves_out_what_it_lacks() -> None:
    body = b'{"DOI": "10.5555/12345678", "title": ["Toward a Unified Theory"]}'
    assert (
        repr(models.decode_item(body, Work)) == "Work(10.5555/12345678, 'Toward a Unified Theory')"
    )
    counted = models.decode_item(b'{"is-referenced-by-count": 7}', Work)
    assert repr(counted) == "Work(is_referenced_by_count=7)"
    assert repr(Work()) == "Work()"


def test_a_real_work_is_one_line() -> None:
    # The brief's measure: this record printed 39,913 characters before.
    rec = next(
        r for r in recordings() if r.name.endswith("works_10.1371_journal.pone.0033693.json")
    )
    work = decode_message(rec.body, Work, message_type="work")
    shown = repr(work)
    assert shown.startswith("Work(10.1371/journal.pone.0033693, journal-article, 'Methylphenidate")
    assert shown.endswith(", 2012, Sadasivan et al.)")
    assert len(shown) < 150 and "\n" not in shown


# -- pages and other records -----------------------------------------------------------------


def test_page_shows_size_total_and_cursor() -> None:
    page = Page(items=(MIND,) * 3, total_results=336022, next_cursor="DnF1ZXJ5VGhlbkZldGNo")
    assert repr(page) == "Page(3 of 336,022 items, next_cursor='DnF1ZXJ5…')"
    assert repr(Page[Work]()) == "Page(0 of 0 items)"
    faceted = Page[Work](total_results=12, facets={"type-name": Facet(), "published": Facet()})
    assert repr(faceted) == "Page(0 of 12 items, facets=['type-name', 'published'])"


def test_other_records_show_their_set_fields_cut_down() -> None:
    assert repr(Type(id="book", label="Book")) == "Type(id='book', label='Book')"
    assert repr(PartialDate(date_parts=((2020, 5),), timestamp=1, date_time="x")) == (
        "PartialDate(date_parts=((2020, 5),))"
    )
    member = Member(id=1, primary_name="Annals", prefixes=("10.1370",), coverage={"a": 1.0})
    assert repr(member) == "Member(id=1, primary_name='Annals', prefixes=('10.1370',))"
    many = Contributor(family="Ng", affiliation=(Affiliation(name="Brown University"),) * 5)
    assert (
        repr(many)
        == "Contributor(family='Ng', affiliation=(Affiliation(name='Brown University'), …+4))"
    )
    ref = Reference(key="b1", issue="3", unstructured="y" * 200)
    assert repr(ref) == f"Reference(key='b1', unstructured='{'y' * 59}…')"


def test_no_record_of_the_corpus_prints_past_the_limit() -> None:
    seen: dict[str, int] = {}
    for message, _ in corpus_messages():
        for struct in every_struct(message):
            shown = repr(struct)
            name = type(struct).__name__
            seen[name] = max(seen.get(name, 0), len(shown))
            assert len(shown) <= LIMIT, shown
            assert "\n" not in shown
    # The walk reached the big ones, which printed thousands of characters before.
    assert {"Work", "Page", "Member", "Journal", "Funder", "Reference", "Contributor"} <= set(seen)


async def test_a_three_row_page_from_the_simulator() -> None:
    from crossref_async.testing import FakeCrossref

    async with Crossref(mailto="me@example.org", transport=FakeCrossref().transport()) as cr:
        page = await cr.works.page(rows=3, cursor="*")
    assert repr(page).startswith("Page(3 of 1,000 items, next_cursor='")
    assert len(repr(page)) < 60


# -- queries ---------------------------------------------------------------------------------


def test_query_shows_its_request() -> None:
    cr = Crossref(mailto="me@example.org")
    query = cr.works.query("renear").filter(type="journal-article").rows(20)
    assert repr(query) == "WorksQuery(GET /works?query=renear&filter=type:journal-article&rows=20)"
    assert repr(cr.members) == "ListQuery(GET /members)"
    assert repr(cr.member_works(311).query("a b")) == "WorksQuery(GET /members/311/works?query=a+b)"


@pytest.mark.parametrize(
    "build",
    [
        lambda cr: cr.works.query("renear ontologies", author="Renear & Co").select("DOI"),
        lambda cr: cr.works.filter(type=["book", "monograph"], from_pub_date="2020").sort("score"),
        lambda cr: cr.works.facet("type-name").sample(5),
        lambda cr: cr.journals.query("physics").offset(20).rows(5),
    ],
)
def test_query_repr_is_to_params(build: Any) -> None:
    query = build(Crossref(mailto="me@example.org"))
    shown = repr(query)
    url = shown[shown.index("GET ") + 4 : -1]
    assert urlsplit(url).path == query.path
    assert parse_qsl(urlsplit(url).query) == query.to_params()


def test_the_route_and_page_source_leave_the_filter_catalogue_out() -> None:
    source = Crossref(mailto="me@example.org").works.source()
    assert repr(source.route) == (
        "Route(path='/works', message_type='work-list', text_query=True, works=True)"
    )
    assert "from-pub-date" not in repr(source) and len(repr(source)) < 200


def test_query_repr_never_shows_secrets() -> None:
    cr = Crossref(mailto="someone@example.org", plus_token="s3cret-plus-token")
    shown = repr(cr.works.query("x").filter(type="book"))
    assert "s3cret" not in shown and "someone" not in shown and "mailto" not in shown


def test_a_query_not_yet_sendable_still_prints() -> None:
    cr = Crossref(mailto="me@example.org")
    shown = repr(cr.works.order("asc"))
    assert shown.startswith("WorksQuery(GET /works, not sendable: ")
    assert "order applies only together with sort" in shown


# -- rich and IPython ------------------------------------------------------------------------


def test_rich_repr_yields_the_same_few_fields() -> None:
    assert MIND.__rich_repr__() == [
        ("DOI", "10.1037/0003-066x.59.1.29"),
        ("type", "journal-article"),
        ("title", "How the Mind Hurts and Heals the Body"),
        ("year", 2004),
        ("author", "Ray"),
    ]
    assert Type(id="book").__rich_repr__() == [("id", "book")]
    page = Page(items=(MIND,), total_results=9, next_cursor="DnF1ZXJ5VGhlbkZldGNo")
    assert page.__rich_repr__() == [("size", 1), ("total", 9), ("next_cursor", "DnF1ZXJ5…")]
    member = Member(id=1, primary_name="Annals", coverage={"a": 1.0})
    assert member.__rich_repr__() == [("id", 1), ("primary_name", "Annals")]


def test_ipython_pretty_is_the_repr() -> None:
    cr = Crossref(mailto="me@example.org")
    query = cr.works.query("renear")
    for obj in (MIND, Page(items=(MIND,)), Type(id="book"), query):
        printer = FakePrinter()
        obj._repr_pretty_(printer, False)
        assert printer.out == [repr(obj)]
        printer = FakePrinter()
        obj._repr_pretty_(printer, True)
        assert printer.out == [f"{type(obj).__name__}(…)"]


# -- what must not change --------------------------------------------------------------------


def test_encoding_is_byte_identical() -> None:
    page = decode_page(BODY, Work, message_type="work-list")
    assert msgspec.json.encode(page) == ENCODED_BEFORE
    assert decode_page(BODY, Work, message_type="work-list") == page


def test_corpus_records_encode_to_their_own_keys() -> None:
    # Encoding round-trips and gains no key: the reprs, aliases and sequence methods are
    # methods and properties, never fields.
    for message, model in corpus_messages()[:60]:
        encoded = msgspec.json.encode(message)
        again = msgspec.json.decode(encoded, type=model)
        assert again == message
        assert msgspec.json.encode(again) == encoded
        works = message.items if isinstance(message, Page) else (message,)
        for work in works:
            if isinstance(work, Work):
                keys = set(msgspec.json.decode(msgspec.json.encode(work)))
                assert not keys & {"authors", "references", "doi"}


def test_equality_and_hashing_are_unchanged() -> None:
    one = Contributor(given="Josiah", family="Carberry", affiliation=(Affiliation(name="Brown"),))
    same = Contributor(given="Josiah", family="Carberry", affiliation=(Affiliation(name="Brown"),))
    assert one == same and hash(one) == hash(same)
    assert one != Contributor(given="Josiah", family="Carberry")
    assert Work(DOI="10.5555/1") == Work(DOI="10.5555/1") != Work(DOI="10.5555/2")


def test_no_model_does_work_per_instance() -> None:
    # Decoding speed: a repr is computed when printed, never when a record is built.
    for name in models.__all__:
        obj = getattr(models, name)
        if isinstance(obj, type) and issubclass(obj, msgspec.Struct):
            assert not hasattr(obj, "__post_init__"), name
            assert obj.__struct_config__.gc is False, name
