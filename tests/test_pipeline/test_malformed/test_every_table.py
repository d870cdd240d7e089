"""The same breakages across every CSV table the registry declares, so a new source is covered on arrival.

A table added to the registry without a good sample file in this suite's conftest (``GOOD``) fails here
with a KeyError naming it: add one line there and it gets every case below.
"""

from __future__ import annotations

import pytest

from pipeline.sources.errors import IngestError
from pipeline.sources.registry import all_tables

CSV_TABLES = sorted(name for name, spec in all_tables().items() if spec.reader == "csv")


def _first_column(table: str, raw) -> tuple[str, str]:
    """(source name, canonical name) of the first column of the table's good file."""
    source = raw.GOOD[table][1].split(",")[0]
    spec = all_tables()[table]
    return source, next(c.name for c in spec.columns if c.source.lower() == source.lower())


@pytest.mark.parametrize("table", CSV_TABLES)
def test_good_file_is_taken_whole_with_real_lines(ingest_file, raw, table):
    got = ingest_file(table, raw.good_text(table, 3))
    assert len(got.accepted) == 3 and got.quarantined.empty
    assert got.accepted["_flags"].isna().all() and list(got.accepted["_source_row"]) == [2, 3, 4]


@pytest.mark.parametrize("table", CSV_TABLES)
def test_truncated_last_line_is_quarantined(ingest_file, raw, table):
    text = raw.good_text(table, 3)
    last = text.rstrip("\n").split("\n")[-1]
    got = ingest_file(table, text[: text.rindex(last)] + last.split(",")[0])
    assert len(got.accepted) == 2
    assert "truncated_last_line" in got.quarantined.loc[0, "reasons"].split(";")
    assert int(got.quarantined.loc[0, "_source_row"]) == 4


@pytest.mark.parametrize("table", CSV_TABLES)
def test_nul_byte_in_first_column_is_quarantined(ingest_file, raw, table):
    source, canonical = _first_column(table, raw)
    value = raw.good_row(table, 2).split(",")[0]
    got = ingest_file(table, raw.good_text(table, 3, r2={source: value[:1] + "\x00" + value[1:]}))
    assert f"nul_byte_in_{canonical}" in got.quarantined.loc[0, "reasons"].split(";")
    assert int(got.quarantined.loc[0, "_source_row"]) == 3 and len(got.accepted) == 2


@pytest.mark.parametrize("table", CSV_TABLES)
def test_mixed_encoding_is_refused_naming_the_line(ingest_file, raw, table):
    source, _ = _first_column(table, raw)
    text = raw.good_text(table, 3, r1={source: raw.good_row(table, 1).split(",")[0] + "é"})
    lines = text.encode("utf-8").split(b"\n")
    row3 = raw.good_row(table, 3).split(",")[0]
    lines[3] = lines[3].replace(f"{row3},".encode(), f"{row3}\xe9,".encode("latin-1"), 1)  # file line 4
    data = b"\n".join(lines)
    file = raw.GOOD[table][0].split("/")[-1]
    with pytest.raises(IngestError, match=rf"{file}: mixed encoding: line 4, column {len(row3) + 1} is not UTF-8"):
        ingest_file(table, data)


@pytest.mark.parametrize("table", CSV_TABLES)
def test_repeated_header_is_quarantined(ingest_file, raw, table):
    header = raw.GOOD[table][1]
    got = ingest_file(table, raw.good_text(table, 2) + header + "\n" + raw.good_row(table, 3) + "\n")
    assert list(got.quarantined["reasons"]) == ["repeated_header"] and len(got.accepted) == 3


@pytest.mark.parametrize("table", CSV_TABLES)
def test_header_only_file_gives_no_rows(ingest_file, raw, table):
    got = ingest_file(table, raw.GOOD[table][1] + "\n")
    assert got.report["rows_read"] == 0 and got.report["files"][0]["rows"] == 0
