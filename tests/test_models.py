"""Unit tests of crossref_async.models: convenience properties, partial records, Raw pages,
decode errors and decoder caching. The real-response checks are in test_corpus_conformance."""

from __future__ import annotations

import datetime
import json

import msgspec
import pytest

from crossref_async import DecodeError, models
from crossref_async._params import SELECT_FIELDS
from crossref_async.models import (
    Contributor,
    Envelope,
    Institution,
    Page,
    PartialDate,
    Type,
    Work,
    WorkKey,
    decode_item,
    decode_message,
    decode_page,
    decode_raw_page,
    decoder,
)


def envelope(message: object, message_type: str = "work", status: str = "ok") -> bytes:
    return json.dumps(
        {
            "status": status,
            "message-type": message_type,
            "message-version": "1.0.0",
            "message": message,
        }
    ).encode()


def work_list(items: list[dict[str, object]], **extra: object) -> bytes:
    return envelope({"total-results": len(items), "items": items, **extra}, "work-list")


# -- dates --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("parts", "year", "date"),
    [
        (((2020,),), 2020, datetime.date(2020, 1, 1)),
        (((2020, 5),), 2020, datetime.date(2020, 5, 1)),
        (((2020, 5, 17),), 2020, datetime.date(2020, 5, 17)),
        (((None,),), None, None),
        (((),), None, None),
        ((), None, None),
        (((2020, None, None),), 2020, datetime.date(2020, 1, 1)),
        # Impossible parts deposited by publishers: keep what is valid.
        (((2021, 2, 30),), 2021, datetime.date(2021, 2, 1)),
        (((2021, 13, 5),), 2021, datetime.date(2021, 1, 1)),
        (((2021, 0),), 2021, datetime.date(2021, 1, 1)),
        (((0,),), 0, None),
    ],
)
def test_partial_date(parts: tuple[tuple[int | None, ...], ...], year: int, date: object) -> None:
    when = PartialDate(date_parts=parts)
    assert when.year == year
    assert when.date == date


def test_partial_date_from_json_with_null_parts() -> None:
    when = decoder(PartialDate).decode(b'{"date-parts": [[null]]}')
    assert when.date_parts == ((None,),)
    assert when.year is None
    assert when.date is None


def test_full_date_fields() -> None:
    when = decoder(PartialDate).decode(
        b'{"date-parts": [[2023, 3, 7]], "date-time": "2023-03-07T10:36:47Z",'
        b' "timestamp": 1678185407000, "version": "3.8.3"}'
    )
    assert when.date == datetime.date(2023, 3, 7)
    assert when.datetime == datetime.datetime(2023, 3, 7, 10, 36, 47, tzinfo=datetime.timezone.utc)
    assert when.timestamp == 1678185407000
    assert when.version == "3.8.3"
    assert PartialDate(date_time="not a date").datetime is None
    assert PartialDate().datetime is None


@pytest.mark.parametrize(
    ("parts", "day"),
    [
        (((2023, 1, 17),), "2023-01-17"),
        (((987, 3, 4),), "0987-03-04"),
        (((2023, 1, 17, 9),), "2023-01-17"),  # later parts are not part of the day
        (((2023, 1),), None),
        (((2023, None, 17),), None),
        (((None,),), None),
        ((), None),
    ],
)
def test_partial_date_day(parts: tuple[tuple[int | None, ...], ...], day: str | None) -> None:
    assert PartialDate(date_parts=parts).day == day


# -- the work key ------------------------------------------------------------------------------


def test_work_key_reads_doi_and_created_alone() -> None:
    record = (
        b'{"indexed": {"date-parts": [[2024, 2, 1]]}, "DOI": "10.5555/1", "title": ["T"],'
        b' "created": {"date-parts": [[2023, 1, 17]], "date-time": "2023-01-17T09:30:00Z",'
        b' "timestamp": 1673947800000}, "author": [{"family": "Ng"}]}'
    )
    key = decoder(WorkKey).decode(record)
    work = decoder(Work).decode(record)
    assert key == WorkKey(DOI=work.DOI, created=work.created)
    assert key.created is not None and key.created.day == "2023-01-17"
    assert decoder(WorkKey).decode(b'{"title": ["no key"]}') == WorkKey()


def test_work_key_fields_have_their_work_shape() -> None:
    # The key is a cut of Work, not a second description of the same fields.
    work = {f.encode_name: (f.name, f.type) for f in msgspec.structs.fields(Work)}
    for field in msgspec.structs.fields(WorkKey):
        assert work[field.encode_name] == (field.name, field.type)


def test_every_select_field_is_a_work_field() -> None:
    # SELECT_FIELDS is kept by hand from Crossref's documentation: a name Work has no field
    # for would be asked for, sent back, and then dropped by the decoder without a word.
    wire_names = {field.encode_name for field in msgspec.structs.fields(Work)}
    assert [name for name in SELECT_FIELDS if name not in wire_names] == []
    assert len(set(SELECT_FIELDS)) == len(SELECT_FIELDS)


# -- work convenience ---------------------------------------------------------------------------


def test_year_and_issued_date_fall_back() -> None:
    issued = PartialDate(date_parts=((2019, 4),))
    print_date = PartialDate(date_parts=((2018,),))
    assert Work(issued=issued, published_print=print_date).year == 2019
    assert Work(issued=issued).issued_date == datetime.date(2019, 4, 1)
    # issued is [[null]]: the year comes from the next date that has one.
    no_year = PartialDate(date_parts=((None,),))
    assert Work(issued=no_year, published_print=print_date).year == 2018
    assert Work(issued=no_year, published_print=print_date).issued_date is None
    assert Work(created=PartialDate(date_parts=((2001, 1, 2),))).year == 2001
    assert Work().year is None
    assert Work().issued_date is None


def test_author_names() -> None:
    work = Work(
        author=(
            Contributor(given="Josiah", family="Carberry"),
            Contributor(name="The Crossref Consortium"),
            Contributor(family="Plato"),
            Contributor(given=" Ada ", family=" Lovelace "),
            Contributor(),
            Contributor(given="  ", name="  "),
        )
    )
    assert work.author_names == [
        "Josiah Carberry",
        "The Crossref Consortium",
        "Plato",
        "Ada Lovelace",
    ]
    assert Work().author_names == []


def test_first_title() -> None:
    assert Work().first_title is None
    assert Work(title=()).first_title is None
    assert Work(title=("Main", "Translated")).first_title == "Main"
    assert decode_item(b'{"title": []}', Work).first_title is None


@pytest.mark.parametrize(
    ("doi", "url"),
    [
        ("10.1037/0003-066X.59.1.29", "https://doi.org/10.1037/0003-066X.59.1.29"),
        (
            "10.1002/(SICI)1097-4636(199709)36:3<277::AID-JBM1>3.0.CO;2-F",
            "https://doi.org/10.1002/(SICI)1097-4636(199709)36:3%3C277::AID-JBM1%3E3.0.CO;2-F",
        ),
        ("10.1000/a#b?c%d e", "https://doi.org/10.1000/a%23b%3Fc%25d%20e"),
    ],
)
def test_doi_url(doi: str, url: str) -> None:
    assert Work(DOI=doi).doi_url == url


def test_doi_url_without_doi() -> None:
    assert Work().doi_url is None


def test_institution_one_or_many() -> None:
    one = decode_item(b'{"institution": {"name": "APA", "acronym": ["APA"]}}', Work)
    many = decode_item(b'{"institution": [{"name": "A"}, {"name": "B"}]}', Work)
    assert one.institutions == (Institution(name="APA", acronym=("APA",)),)
    assert [i.name for i in many.institutions] == ["A", "B"]
    assert Work().institutions == ()


# -- partial records, unknown fields, immutability ----------------------------------------------


def test_select_partial_records_decode_with_the_same_type() -> None:
    body = work_list([{"DOI": "10.5555/1", "title": ["Only two fields"]}, {"DOI": "10.5555/2"}])
    page = decode_page(body, Work, message_type="work-list")
    first, second = page.items
    assert first.DOI == "10.5555/1"
    assert first.first_title == "Only two fields"
    assert second.title == ()
    for work in page.items:
        assert work.author == ()
        assert work.issued is None
        assert work.publisher is None
        assert work.relation == {}
        assert work.year is None
        assert work.author_names == []
    # Fields left at their default are not written back.
    assert json.loads(msgspec.json.encode(second)) == {"DOI": "10.5555/2"}


def test_unknown_fields_are_ignored() -> None:
    work = decode_item(b'{"DOI": "10.5555/1", "field-of-2030": {"x": [1, 2]}}', Work)
    assert work == Work(DOI="10.5555/1")


def test_models_are_frozen() -> None:
    work = Work(DOI="10.5555/1")
    with pytest.raises(AttributeError):
        work.DOI = "10.5555/2"  # type: ignore[misc]


def test_kebab_and_explicit_names() -> None:
    body = (
        b'{"is-referenced-by-count": 3, "references-count": 2, "reference-count": 2,'
        b' "special_numbering": "C", "ISSN": ["1234-5678"], "URL": "https://doi.org/x",'
        b' "author": [{"ORCID": "https://orcid.org/0000-0002-1825-0097",'
        b' "authenticated-orcid": true,'
        b' "affiliation": [{"name": "U", "id": [{"id": "https://ror.org/1",'
        b' "id-type": "ROR", "asserted-by": "publisher"}]}]}]}'
    )
    work = decode_item(body, Work)
    assert (work.is_referenced_by_count, work.references_count, work.reference_count) == (3, 2, 2)
    assert work.special_numbering == "C"
    assert work.ISSN == ("1234-5678",)
    assert work.URL == "https://doi.org/x"
    author = work.author[0]
    assert author.ORCID == "https://orcid.org/0000-0002-1825-0097"
    assert author.authenticated_orcid is True
    assert author.affiliation[0].id[0].id_type == "ROR"


def test_facets_and_cursor() -> None:
    body = work_list(
        [],
        **{
            "next-cursor": "DnF1ZXJ5",
            "items-per-page": 20,
            "query": {"start-index": 0, "search-terms": None},
            "facets": {
                "type-name": {"value-count": 2, "values": {"Journal Article": 9, "Book": 1}}
            },
        },
    )
    page = decode_page(body, Work, message_type="work-list")
    assert page.next_cursor == "DnF1ZXJ5"
    assert page.items_per_page == 20
    assert page.query is not None
    assert page.query.start_index == 0
    assert page.facets["type-name"].value_count == 2
    assert page.facets["type-name"].values == {"Journal Article": 9, "Book": 1}


# -- Raw pages ----------------------------------------------------------------------------------


def test_raw_page_keeps_item_bytes() -> None:
    items = [
        b'{"DOI" :  "10.5555/1",\n  "title": ["caf\\u00e9 \xc3\xa9"], "x": 1.50}',
        b"{}",
        b'{"nested": {"a": [1, {"b": null}]}}',
    ]
    body = (
        b'{"status": "ok", "message-type": "work-list", "message": {"items": [ '
        + b" ,\n ".join(items)
        + b' ], "total-results": 3}}'
    )
    page = decode_raw_page(body, message_type="work-list")
    assert page.total_results == 3
    assert [bytes(raw) for raw in page.items] == items
    for raw, item in zip(page.items, items, strict=True):
        assert json.loads(bytes(raw)) == json.loads(item)
        assert decode_item(raw, Work) == decode_item(item, Work)


# -- errors -------------------------------------------------------------------------------------


def test_truncated_body() -> None:
    body = work_list([{"DOI": "10.5555/1"}])[:-7]
    with pytest.raises(DecodeError) as info:
        decode_page(body, Work, message_type="work-list", url="https://api.crossref.org/works")
    error = info.value
    assert error.message_type == "work-list"
    assert error.position == f"byte {len(body)} (end of input)"
    assert error.url == "https://api.crossref.org/works"
    assert error.body_excerpt.startswith('{"status": "ok"')
    assert isinstance(error.__cause__, msgspec.DecodeError)
    assert "truncated" in str(error)


def test_truncated_raw_page() -> None:
    body = work_list([{"DOI": "10.5555/1"}])[:60]
    with pytest.raises(DecodeError) as info:
        decode_raw_page(body, message_type="work-list")
    assert info.value.position == "byte 60 (end of input)"


def test_html_body() -> None:
    body = b"<html><body><h1>429 Too Many Requests</h1></body></html>"
    with pytest.raises(DecodeError) as info:
        decode_message(body, Work, message_type="work")
    assert info.value.message_type == "work"
    assert info.value.position == "byte 0"
    assert "429 Too Many Requests" in info.value.body_excerpt


def test_malformed_json_in_the_middle() -> None:
    body = b'{"status": "ok", "message": {"DOI": "x",, }}'
    with pytest.raises(DecodeError) as info:
        decode_message(body, Work, message_type="work")
    assert info.value.position == f"byte {body.index(b',,') + 1}"


def test_wrong_shape_names_the_json_path() -> None:
    body = work_list([{"DOI": "10.5555/1"}, {"DOI": "10.5555/2", "title": "not a list"}])
    with pytest.raises(DecodeError) as info:
        decode_page(body, Work, message_type="work-list")
    assert info.value.position == "$.message.items[1].title"
    assert "Expected `array`, got `str`" in str(info.value)


def test_error_envelope_is_named() -> None:
    body = envelope(
        [{"type": "parameter-not-allowed", "value": "x", "message": "no"}],
        message_type="validation-failure",
        status="failed",
    )
    with pytest.raises(DecodeError) as info:
        decode_message(body, Work, message_type="work")
    assert "validation-failure" in str(info.value)
    assert info.value.position == "$.message"


def test_error_envelope_that_fits_the_model() -> None:
    # An exception body's message is an object, so it decodes as a (useless) Work.
    body = envelope({"name": "class java.lang.Exception"}, "exception", status="error")
    with pytest.raises(DecodeError) as info:
        decode_message(body, Work, message_type="work")
    assert info.value.position == "$.status"
    assert "'error'" in str(info.value)


def test_other_message_type_is_refused() -> None:
    # A list decoded as a single work would otherwise be a Work with every field empty.
    body = work_list([{"DOI": "10.5555/1"}])
    with pytest.raises(DecodeError) as info:
        decode_message(body, Work, message_type="work")
    assert info.value.position == "$.message-type"
    assert "'work-list'" in str(info.value)


def test_loose_list_label_accepts_any_list() -> None:
    body = work_list([{"DOI": "10.5555/1"}])
    assert len(decode_page(body, Work, message_type="list").items) == 1
    assert len(decode_raw_page(body, message_type="list").items) == 1
    with pytest.raises(DecodeError):
        decode_page(envelope({"DOI": "10.5555/1"}), Work, message_type="list")


def test_envelope_without_message() -> None:
    with pytest.raises(DecodeError) as info:
        decode_message(b'{"status": "ok", "message-type": "work"}', Work, message_type="work")
    assert info.value.position == "$.message"


def test_decode_item_errors() -> None:
    with pytest.raises(DecodeError) as info:
        decode_item(b'{"id": 5}', Type, message_type="type")
    assert info.value.position == "$.id"
    assert info.value.message_type == "type"


# -- decoder cache ------------------------------------------------------------------------------


def test_decoders_are_built_once() -> None:
    assert decoder(Work) is decoder(Work)
    assert decoder(Page[Work]) is decoder(Page[Work])
    body = work_list([{"DOI": "10.5555/1"}])
    type_body = envelope({"id": "book"}, "type")

    def decode_all() -> None:
        decode_page(body, Work, message_type="work-list")
        decode_raw_page(body, message_type="work-list")
        decode_message(type_body, Type, message_type="type")

    decode_all()
    built = decoder(Envelope[Page[Work]])
    size = len(models._decoders)
    for _ in range(3):
        decode_all()
    assert decoder(Envelope[Page[Work]]) is built
    assert len(models._decoders) == size  # no decoder built twice
