"""Broken records: quarantined with a reason and the REAL line in the file, or refused naming the line."""

from __future__ import annotations

import pytest

from pipeline.ingest.cells import MAX_CELL_CHARS
from pipeline.sources.errors import IngestError


def test_truncated_last_line_is_quarantined_not_read_as_blanks(ingest_file, raw):
    text = raw.good_text("school_pupil", 3)
    cut = text[: text.rindex(raw.UPN) + 5]  # the export stopped inside row 3's UPN, no final newline
    got = ingest_file("school_pupil", cut)
    assert list(got.quarantined["reasons"]) == ["missing_dob;truncated_last_line"]  # every reason, sorted
    assert list(got.quarantined["_source_row"]) == [4]
    assert list(got.accepted["pupil_record_id"]) == ["p1", "p2"]


def test_truncated_last_line_of_a_health_file(ingest_file, raw):
    text = raw.good_text("hes_admission", 2)
    got = ingest_file("hes_admission", text[: text.rindex(",", 0, len(text) - 12)])
    assert list(got.quarantined["reasons"]) == ["truncated_last_line"] and len(got.accepted) == 1


def test_short_row_in_the_middle_is_quarantined(ingest_file, raw):
    text = raw.good_text("nccis_activity", 3)
    lines = text.split("\n")
    lines[2] = ",".join(lines[2].split(",")[:4])  # row 2 lost its last seven fields
    got = ingest_file("nccis_activity", "\n".join(lines))
    assert list(got.quarantined["reasons"]) == ["missing_dob;short_row"]
    assert list(got.quarantined["_source_row"]) == [3]


def test_row_with_extra_fields_is_a_file_error_naming_the_real_line(ingest_file, raw):
    text = raw.good_text("cla_episode", 2).replace("\n", "\n\n", 1)  # a blank line after the header
    text += raw.good_row("cla_episode", 3) + ",extra\n"
    with pytest.raises(
        IngestError, match=r"episodes.csv: malformed CSV \(line 5: 14 fields, more than the header's 13\)"
    ):
        ingest_file("cla_episode", text)


def test_nul_byte_in_a_name_is_quarantined(ingest_file, raw):
    got = ingest_file("csc_person", raw.good_text("csc_person", 3, r2={"Forename": "Am\x00y"}))
    assert list(got.quarantined["reasons"]) == ["nul_byte_in_forename"]
    assert list(got.quarantined["_source_row"]) == [3]
    assert got.report["quarantine_reasons"] == {"nul_byte_in_forename": 1}


def test_nul_byte_in_a_health_key_is_quarantined(ingest_file, raw):
    got = ingest_file("ae_attendance", raw.good_text("ae_attendance", 2, r1={"AEKEY": "A\x001"}))
    assert list(got.quarantined["reasons"]) == ["nul_byte_in_aekey"]


def test_absurdly_long_field_is_quarantined(ingest_file, raw):
    huge = "x" * (MAX_CELL_CHARS + 1)
    got = ingest_file("nhs_patient", raw.good_text("nhs_patient", 2, r1={"Surname": huge}))
    assert list(got.quarantined["reasons"]) == ["field_too_long_in_surname"]
    assert list(got.accepted["hes_id"]) == ["H2"]
    assert huge not in str(got.report)  # the report holds counts, never the value


def test_undeclared_column_with_junk_does_not_quarantine(ingest_file, raw):
    text = raw.good_text("lsoa_imd", 2)
    text = text.replace("imd_decile\n", "imd_decile,notes\n").replace(",1\n", ",1,\x00\n").replace(",2\n", ",2,\n")
    got = ingest_file("lsoa_imd", text)
    assert got.quarantined.empty and got.report["files"][0]["undeclared_columns_dropped"] == 1


def test_quarantine_line_counts_blank_lines(ingest_file, raw):
    text = raw.good_text("csc_person", 3, r3={"DOB": "31/02/2015"}).replace("\n", "\n\n\n")
    got = ingest_file("csc_person", text)
    row = int(got.quarantined.loc[0, "_source_row"])
    assert row == 10 and got.line(row).startswith("C3,")


def test_quarantine_line_counts_multi_line_quoted_fields(ingest_file, raw):
    text = raw.good_text("early_help", 3, r1={"LeadAgency": '"Team A\nsecond line\nthird"'})
    text = text.replace("E3,C3,2024-05-03,", "E3,C3,2024-05-03,2024-05-01")  # ends before it starts
    got = ingest_file("early_help", text)
    row = int(got.quarantined.loc[0, "_source_row"])
    assert got.quarantined.loc[0, "reasons"] == "end_date_before_start_date"
    assert row == 6 and got.line(row).startswith("E3,")
    assert got.accepted.loc[0, "lead_agency"] == "Team A\nsecond line\nthird"


def test_quarantine_line_counts_leading_blank_lines_and_crlf(ingest_file, raw):
    text = "\r\n\r\n" + raw.good_text("cla_header", 3, eol="\r\n", r2={"DOB": "not a date"})
    got = ingest_file("cla_header", text)
    row = int(got.quarantined.loc[0, "_source_row"])
    assert row == 5 and got.line(row).startswith("K2,")


def test_accepted_rows_carry_their_real_line_too(ingest_file, raw):
    got = ingest_file("school_attendance", raw.good_text("school_attendance", 2).replace("\n", "\n\n", 2))
    assert list(got.accepted["_source_row"]) == [3, 5]


def test_repeated_header_row_in_a_reference_file_is_quarantined(ingest_file, raw):
    text = raw.good_text("postcode_lsoa", 2) + "postcode,lsoa_code\n" + raw.good_row("postcode_lsoa", 3) + "\n"
    got = ingest_file("postcode_lsoa", text)
    assert list(got.quarantined["reasons"]) == ["repeated_header"] and list(got.quarantined["_source_row"]) == [4]


def test_missing_required_column_names_file_and_column(ingest_file, raw):
    text = raw.good_text("school_attendance", 2).replace("attendancereason", "reason")
    with pytest.raises(
        IngestError, match=r"termlysessiondetailsonroll.csv: required column\(s\) missing .*attendancereason"
    ):
        ingest_file("school_attendance", text)


def test_header_repeating_a_column_is_refused(ingest_file, raw):
    text = raw.good_text("lsoa_imd", 1).replace("imd_decile", "IMD_DECILE,imd_decile").replace(",1\n", ",1,1\n")
    with pytest.raises(IngestError, match=r"lsoa_imd.csv: header repeats column\(s\) IMD_DECILE, imd_decile"):
        ingest_file("lsoa_imd", text)


def test_stray_quote_mid_field_is_read_literally_and_line_numbers_marked_approximate(ingest_file, raw):
    text = raw.good_text("early_help", 3, r1={"LeadAgency": 'Team "A'})
    got = ingest_file("early_help", text)
    assert got.accepted.loc[0, "lead_agency"] == 'Team "A' and len(got.accepted) == 3
    assert got.report["files"][0]["line_numbers"].startswith("approximate")


def test_csv_with_no_final_newline_is_not_truncated_when_complete(ingest_file, raw):
    got = ingest_file("ks2", "UPN,KS2_ACADYR,KS2_READMRK,KS2_MATMRK\n" + raw.UPN + ",2018/2019,105,110")
    assert got.quarantined.empty and got.accepted.loc[0, "_source_row"] == 2
