"""Identifier normalization and filter value encoding (_params)."""

from __future__ import annotations

import datetime as dt
from typing import Any, cast
from urllib.parse import unquote

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crossref_async import InvalidDOIError, Pacing, ValidationError, doi_key, normalize_doi
from crossref_async import _params as P


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("10.1037/0003-066X.59.1.29", "10.1037/0003-066X.59.1.29"),
        ("  10.1037/0003-066X.59.1.29\n", "10.1037/0003-066X.59.1.29"),
        ("https://doi.org/10.1037/abc", "10.1037/abc"),
        ("http://doi.org/10.1037/abc", "10.1037/abc"),
        ("http://dx.doi.org/10.1037/abc", "10.1037/abc"),
        ("https://www.doi.org/10.1037/abc", "10.1037/abc"),
        ("doi.org/10.1037/abc", "10.1037/abc"),
        ("doi:10.1037/abc", "10.1037/abc"),
        ("DOI: 10.1037/abc", "10.1037/abc"),
        ("info:doi/10.1037/abc", "10.1037/abc"),
        ("https://doi.org/10.1000%2Fabc", "10.1000/abc"),
        (
            "10.1890/0012-9615(1999)069[0569:EDILSA]2.0.CO;2",
            "10.1890/0012-9615(1999)069[0569:EDILSA]2.0.CO;2",
        ),
        (
            "10.1002/(SICI)1097-4636(199602)30:2<169::AID-JBM5>3.0.CO;2-M",
            "10.1002/(SICI)1097-4636(199602)30:2<169::AID-JBM5>3.0.CO;2-M",
        ),
        ("10.5555/a b#c?d&e%f", "10.5555/a b#c?d&e%f"),
        ("10.1/../../members", "10.1/../../members"),
        ("10.1000.10/xyz", "10.1000.10/xyz"),
    ],
)
def test_normalize_doi_accepts_every_pasted_form(raw: str, expected: str) -> None:
    assert normalize_doi(raw) == expected


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "   ",
        "10.1037",
        "10.1037/",
        "11.1037/abc",
        "10.abc/def",
        "doi:",
        "https://doi.org/",
        "https://example.org/10.1037/abc",
        "not a doi",
        "10.1037/ abc",
        "10.1037/a\nb",
        "10./x",
    ],
)
def test_normalize_doi_rejects_non_dois(raw: str) -> None:
    with pytest.raises(InvalidDOIError) as info:
        normalize_doi(raw)
    assert info.value.value == raw
    assert "10.<registrant digits>/<suffix>" in info.value.rule
    assert isinstance(info.value, ValueError)


def test_normalize_doi_rejects_non_text() -> None:
    with pytest.raises(InvalidDOIError):
        normalize_doi(10.1037)  # type: ignore[arg-type]


def test_doi_key_folds_ascii_case_only() -> None:
    assert doi_key("10.1037/ABC") == doi_key("10.1037/abc") == "10.1037/abc"
    assert doi_key("10.1/Ä") == "10.1/Ä"


dois = st.builds(
    lambda registrant, suffix: f"10.{registrant}/{suffix}",
    st.integers(min_value=1000, max_value=999_999_999),
    st.text(
        alphabet=st.characters(blacklist_categories=("Cc", "Cs"), blacklist_characters="\x7f"),
        min_size=1,
    ).filter(lambda s: not s[0].isspace() and s == s.strip()),
)


@given(dois)
def test_any_doi_survives_encoding_as_one_path_segment(doi: str) -> None:
    segment = P.encode_segment(normalize_doi(doi))
    assert "/" not in segment and "?" not in segment and "#" not in segment
    assert unquote(segment) == doi


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("0378-4371", "0378-4371"),
        ("03784371", "03784371"[:4] + "-4371"),
        (" 2167-835x", "2167-835X"),
    ],
)
def test_issn(raw: str, expected: str) -> None:
    assert P.normalize_issn(raw) == expected


@pytest.mark.parametrize("raw", ["0378-437", "ABCD-EFGH", "0378-43711", ""])
def test_bad_issn(raw: str) -> None:
    with pytest.raises(ValidationError, match="ISSN"):
        P.normalize_issn(raw)


def test_orcid_prefix_member_funder_type() -> None:
    assert P.normalize_orcid("https://orcid.org/0000-0002-1825-009x") == "0000-0002-1825-009X"
    assert P.normalize_prefix("https://doi.org/10.1016") == "10.1016"
    assert P.normalize_member(" 311 ") == "311" and P.normalize_member(98) == "98"
    assert P.normalize_funder("10.13039/100000001") == "100000001"
    assert P.normalize_funder("https://doi.org/10.13039/100000001") == "100000001"
    assert P.normalize_funder(100000001) == "100000001"
    assert P.normalize_type("journal-article") == "journal-article"
    for bad, func in [
        ("0000-0002", P.normalize_orcid),
        ("10.1", P.normalize_prefix),
        ("abc", P.normalize_member),
        (0, P.normalize_member),
        ("10.13039/x", P.normalize_funder),
    ]:
        with pytest.raises(ValidationError):
            cast("Any", func)(bad)


def test_member_id_must_fit_crossrefs_integer() -> None:
    # Crossref answers 500 (NumberFormatException) for ids beyond a Java int.
    with pytest.raises(ValidationError, match="2147483647"):
        P.normalize_member(323234343434)
    with pytest.raises(ValidationError):
        P.normalize_member(True)


def test_unknown_type_suggests_the_right_one() -> None:
    with pytest.raises(ValidationError) as info:
        P.normalize_type("journal-artcle")
    assert info.value.suggestions[0] == "journal-article"
    assert "did you mean 'journal-article'" in str(info.value)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (dt.date(2024, 1, 5), "2024-01-05"),
        (dt.datetime(2024, 1, 5, 13, 0), "2024-01-05"),
        ("2024", "2024"),
        (2024, "2024"),
        ("2024-02", "2024-02"),
        ("2024-02-29", "2024-02-29"),
    ],
)
def test_dates(value: object, expected: str) -> None:
    assert P.encode_date(value) == expected


@pytest.mark.parametrize(
    "value", ["2024-13", "2023-02-29", "24", "2024/01/01", "2024-1-5", "", True, 1.5]
)
def test_bad_dates(value: object) -> None:
    with pytest.raises(ValidationError) as info:
        P.encode_date(value)
    assert info.value.value == value


def test_booleans_and_ints() -> None:
    assert P.encode_bool(True) == "true" and P.encode_bool("0") == "false"
    assert P.encode_int(10) == "10"
    with pytest.raises(ValidationError):
        P.encode_bool("maybe")
    with pytest.raises(ValidationError):
        P.encode_int(-1)


def test_comma_in_a_filter_value_is_refused() -> None:
    with pytest.raises(ValidationError, match="comma"):
        P.encode_filter_value("container-title", P.Kind.TEXT, "Journal of X, Series B")
    with pytest.raises(ValidationError, match="comma"):
        P.encode_filter_value("doi", P.Kind.DOI, "10.1000/a,b")


def test_choice_filters() -> None:
    assert P.encode_filter_value("reference-visibility", P.Kind.CHOICE, "open") == "open"
    with pytest.raises(ValidationError, match="reference-visibility"):
        P.encode_filter_value("reference-visibility", P.Kind.CHOICE, "public")


def test_catalogues_cover_the_documented_names() -> None:
    assert len(P.FIELD_QUERIES) == 21
    assert {
        "from-index-date",
        "until-created-date",
        "has-references",
        "award.number",
        "relation.type",
        "full-text.application",
        "license.delay",
    } <= set(P.WORK_FILTERS)
    # has-public-references and reference-visibility left /members (see test_retired_*).
    assert set(P.MEMBER_FILTERS) == {"prefix", "backfile-doi-count", "current-doi-count"}
    assert set(P.FUNDER_FILTERS) == {"location"}
    # No facet is capped: the API takes * and counts over 100 for every one (recorded).
    assert len(P.FACETS) == 21 and not any(P.FACETS.values())
    assert "relevance" in P.SORT_FIELDS and "DOI" in P.SELECT_FIELDS


async def test_a_lone_surrogate_is_refused_before_sending() -> None:
    from crossref_async import Crossref

    async with Crossref(mailto="tests@example.org", pacing=Pacing.off()) as cr:
        with pytest.raises(ValidationError, match="lone surrogate"):
            await cr.work("10.5555/\ud800")


@pytest.mark.parametrize("name", ["has-public-references", "reference-visibility"])
def test_retired_member_filters_are_refused_naming_filter_and_route(name: str) -> None:
    with pytest.raises(ValidationError, match="/members no longer has this filter") as info:
        P.encode_filters(P.MEMBER_FILTERS, "/members", [(name, "true")])
    assert info.value.value == name
    # The works filter of the same name is a different thing and stays.
    assert P.encode_filters(P.WORK_FILTERS, "/works", [("reference-visibility", "open")]) == (
        ("reference-visibility", "open"),
    )


@pytest.mark.parametrize(
    ("value", "low", "high", "rule"),
    [
        (0, 1, None, "depth must be a whole number, 1 or more"),
        (-1, 0, None, "depth must be a whole number, 0 or more"),
        (1001, 1, 1000, "depth must be between 1 and 1000"),
        (True, 0, 1000, "depth must be between 0 and 1000"),  # bool is an int, not a number
        (2.0, 1, None, "depth must be a whole number, 1 or more"),
        ("3", 1, None, "depth must be a whole number, 1 or more"),
    ],
)
def test_check_whole_refuses(value: object, low: int, high: int | None, rule: str) -> None:
    with pytest.raises(ValidationError) as info:
        P.check_whole(value, "depth", low=low, high=high)
    assert (info.value.value, info.value.rule) == (value, rule)


def test_check_whole_passes_bounds_and_takes_a_rule() -> None:
    assert P.check_whole(0, "offset", low=0) == 0
    assert P.check_whole(1000, "rows", low=0, high=1000) == 1000
    with pytest.raises(ValidationError) as info:
        P.check_whole(0, "size", rule="size must be a positive number of bytes")
    assert info.value.rule == "size must be a positive number of bytes"
