"""Values that would be silently wrong: placeholder NHS numbers, US dates, columns in another date format."""

from __future__ import annotations

import pandas as pd
import pytest

from pipeline.sources.errors import IngestError


@pytest.mark.parametrize(
    ("table", "column", "canonical"),
    [
        ("csc_person", "NHSNumber", "nhs_number"),
        ("nhs_patient", "NHSNumber", "nhs_number"),
        ("hes_admission", "NEWNHSNO", "nhs_number"),
        ("ae_attendance", "NEWNHSNO", "nhs_number"),
    ],
)
@pytest.mark.parametrize("placeholder", ["0000000000", "1111111111", "999 999 9999"])
def test_placeholder_nhs_numbers_are_not_accepted(ingest_file, raw, table, column, canonical, placeholder):
    got = ingest_file(table, raw.good_text(table, 2, r1={column: placeholder}))
    assert pd.isna(got.accepted.loc[0, canonical]) and got.accepted.loc[1, canonical] == raw.nhs_number(2)
    assert got.accepted.loc[0, "_flags"] == f"{canonical}:invalid_nhs_placeholder"
    assert got.report["field_flags"][canonical] == {"invalid_nhs_placeholder": {"count": 1, "action": "nulled"}}


def test_bad_nhs_check_digit_still_nulled(ingest_file, raw):
    bad = raw.nhs_number(1)[:-1] + str((int(raw.nhs_number(1)[-1]) + 1) % 10)
    got = ingest_file("nhs_patient", raw.good_text("nhs_patient", 1, r1={"NHSNumber": bad}))
    assert got.accepted.loc[0, "_flags"] == "nhs_number:invalid_nhs_check_digit"


def _us_dates(n: int) -> list[str]:
    """``n`` US-style dates, most with a day above 12 (as in any real month)."""
    return [f"{(i % 12) + 1:02d}/{(i * 7) % 28 + 1:02d}/2015" for i in range(n)]


@pytest.mark.parametrize(
    ("table", "column", "line"),
    [
        ("school_pupil", "dob", 4),
        ("csc_person", "DOB", 4),
        ("nccis_activity", "ActivityStartDate", 4),
        ("hes_admission", "ADMIDATE", 4),
        ("cla_episode", "DECOM", 4),
    ],
)
def test_us_formatted_date_column_is_refused_naming_file_column_and_line(ingest_file, raw, table, column, line):
    rows = {f"r{i + 1}": {column: d} for i, d in enumerate(_us_dates(10))}
    with pytest.raises(IngestError) as caught:
        ingest_file(table, raw.good_text(table, 10, **rows))
    message = str(caught.value)
    assert message.startswith(raw.GOOD[table][0].split("/")[-1]) or raw.GOOD[table][0] in message
    assert f"column {column}: " in message and f"(first at line {line})" in message
    assert "valid as mm/dd/yyyy (US dates)" in message and "swapped" in message


def test_two_digit_years_across_a_column_are_refused(ingest_file, raw):
    rows = {f"r{i}": {"ADMIDATE": f"0{i}/01/24"} for i in range(1, 6)}
    with pytest.raises(IngestError, match=r"hes_apc.csv: column ADMIDATE: 5 of 5 dates \(100%\) are not dd/mm/yyyy"):
        ingest_file("hes_admission", raw.good_text("hes_admission", 5, **rows))


def test_one_slipped_date_among_many_is_handled_row_by_row(ingest_file, raw):
    got = ingest_file("csc_person", raw.good_text("csc_person", 20, r7={"DOB": "02/13/2015"}))
    assert list(got.quarantined["reasons"]) == ["unparseable_dob"] and list(got.quarantined["_source_row"]) == [8]


def test_unparseable_non_dob_dates_below_the_share_are_nulled_and_counted(ingest_file, raw):
    rows = {"r3": {"ActivityStartDate": "soon"}, "r9": {"ActivityStartDate": "2024/09/01"}}
    got = ingest_file("nccis_activity", raw.good_text("nccis_activity", 30, **rows))
    assert got.accepted["activity_start"].isna().sum() == 2
    assert got.report["field_flags"]["activity_start"]["unparseable_date"]["count"] == 2


def test_dd_mm_dates_with_day_at_most_12_are_read_day_first(ingest_file, raw):
    got = ingest_file("cla_header", raw.good_text("cla_header", 3))
    assert list(got.accepted["dob"]) == [pd.Timestamp(f"2012-02-0{d}") for d in (1, 2, 3)]


def test_two_us_only_dates_in_a_small_file_are_enough_evidence(ingest_file, raw):
    rows = {"r1": {"DOB": "02/13/2012"}, "r3": {"DOB": "03/25/2012"}}
    with pytest.raises(IngestError, match=r"header.csv: column DOB: 2 of 4 dates \(50%\).*2 of them are valid as mm"):
        ingest_file("cla_header", raw.good_text("cla_header", 4, **rows))
