"""Property tests for the date parser and the decoding/sniffing readers."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipeline.sources.encoding import decode_bytes
from pipeline.sources.errors import IngestError
from pipeline.sources.readers import parse_dates, sniff_delimiter

MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
dates = st.dates(min_value=date(1000, 1, 1), max_value=date(9999, 12, 31))


def as_text(d: date, style: int) -> str:
    """Written independently of the parser's format strings."""
    if style == 0:
        return f"{d.day:02d}/{d.month:02d}/{d.year:04d}"
    if style == 1:
        return f"{d.year:04d}-{d.month:02d}-{d.day:02d}"
    return f"{d.year:04d}-{MONTHS[d.month - 1]}-{d.day:02d} 00:00:00"


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(dates, st.integers(0, 2)), min_size=1, max_size=20))
def test_any_date_in_any_format_parses_back_to_itself(items):
    text = pd.Series([as_text(d, style) for d, style in items], dtype="str")
    parsed = parse_dates(text)
    assert [p.date() for p in parsed] == [d for d, _ in items]


@settings(max_examples=150, deadline=None)
@given(st.lists(st.one_of(st.none(), st.text(max_size=30)), max_size=20))
def test_garbage_never_raises_and_gives_nat(values):
    parsed = parse_dates(pd.Series(values, dtype="str"))
    assert len(parsed) == len(values) and str(parsed.dtype) == "datetime64[us]"
    for value, got in zip(values, parsed, strict=True):
        if value is None or value.strip() == "":
            assert pd.isna(got)


def test_impossible_calendar_dates_are_nat():
    parsed = parse_dates(pd.Series(["31/02/2020", "2021-02-29", "2020-Foo-01 00:00:00", "1/1/20"]))
    assert parsed.isna().all()


@given(st.text(alphabet=st.characters(codec="cp1252"), min_size=1, max_size=40))
def test_decoding_round_trips_cp1252_and_utf8(text):
    if not text.strip(" \t\r\n\x00\ufeff"):
        return
    assert decode_bytes(text.encode("utf-8"), "f.csv") == (text, "utf-8")
    data = text.encode("cp1252")
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:  # bytes that are also valid UTF-8 are read as UTF-8, by design
        # the bytes also hold a UTF-8 letter (é written as two bytes): mixed, refused, never guessed
        if any(ch >= "\u00c0" for ch in data.decode("utf-8", errors="ignore")):
            with pytest.raises(IngestError, match=r"f.csv: mixed encoding: line \d+, column \d+"):
                decode_bytes(data, "f.csv")
        else:
            assert decode_bytes(data, "f.csv") == (text, "cp1252")


def test_sniffer_prefers_the_splitting_delimiter():
    assert sniff_delimiter("a;b;c\n1;2;3") == ";"
    assert sniff_delimiter("a,b\n1,2") == ","
    assert sniff_delimiter("a\tb|c\tz") == "\t"
    assert sniff_delimiter('"x;y",b,c\n') == ","
