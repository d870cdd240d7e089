"""Malformed-input suite: each case asserts the documented outcome and exact reconciliation."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd
import pytest

from pipeline.ingest.files import read_table_frames
from pipeline.ingest.tables import IngestError, ingest_table
from pipeline.sources import readers
from pipeline.sources.layout import third_thursday_of_january
from pipeline.sources.registry import all_tables

ALL_TABLES = all_tables()

EXTRACT = date(2026, 3, 31)
CSC_HEADER = ["LAchildID", "Forename", "Surname", "DOB", "Sex", "NHSNumber", "UPN", "Postcode", "Ethnicity"]
GOOD = {
    "LAchildID": "C1",
    "Forename": "Amy",
    "Surname": "Lee",
    "DOB": "01/02/2015",
    "Sex": "F",
    "NHSNumber": "9434765919",
    "UPN": "B801200005001",
    "Postcode": "AB1 2CD",
    "Ethnicity": "WBRI",
}


def csc_text(rows: list[dict], sep: str = ",") -> str:
    lines = [sep.join(CSC_HEADER)] + [sep.join({**GOOD, **r}[c] for c in CSC_HEADER) for r in rows]
    return "\r\n".join(lines) + "\r\n"


def run(
    tmp_path: Path,
    table: str,
    data: str | bytes,
    *,
    rows: int,
    rel: str | None = None,
    encoding: str = "utf-8",
):
    """Write one file, read and ingest it; assert read = rows = accepted + quarantined."""
    spec = ALL_TABLES[table]
    path = tmp_path / (rel or spec.files.replace("*", "2024"))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data if isinstance(data, bytes) else data.encode(encoding))
    frames = read_table_frames(spec, [path], tmp_path)
    result = ingest_table(frames, spec, EXTRACT)
    rep = result.report
    assert rep["rows_read"] == rows
    assert rep["rows_read"] == len(result.accepted) + len(result.quarantined)
    assert rep["rows_accepted"] == len(result.accepted)
    assert rep["rows_quarantined"] == len(result.quarantined)
    return result


def test_cp1252_file_is_decoded_and_recorded(tmp_path):
    result = run(tmp_path, "csc_person", csc_text([{"Forename": "Zoë"}]), rows=1, encoding="cp1252")
    assert result.report["files"][0]["encoding"] == "cp1252"
    assert result.accepted.loc[0, "forename"] == "Zoë"


def test_utf8_bom_header_matches(tmp_path):
    result = run(tmp_path, "csc_person", b"\xef\xbb\xbf" + csc_text([{}]).encode(), rows=1)
    assert result.report["files"][0]["encoding"] == "utf-8-sig"
    assert result.accepted.loc[0, "la_child_id"] == "C1"


@pytest.mark.parametrize("sep", [";", "\t", "|"])
def test_delimiters_are_sniffed(tmp_path, sep):
    result = run(tmp_path, "csc_person", csc_text([{}, {"LAchildID": "C2"}], sep=sep), rows=2)
    assert result.report["files"][0]["delimiter"] == sep
    assert list(result.accepted["la_child_id"]) == ["C1", "C2"]


def test_missing_required_column_is_file_level(tmp_path):
    text = csc_text([{}]).replace("Surname", "Lastname")
    with pytest.raises(IngestError, match=r"csc_persons.csv: required column\(s\) missing .*Surname"):
        run(tmp_path, "csc_person", text, rows=1)


def test_empty_file_is_file_level(tmp_path):
    with pytest.raises(IngestError, match="csc_persons.csv: empty file"):
        run(tmp_path, "csc_person", b"", rows=0)


def test_header_only_file_gives_zero_rows(tmp_path):
    result = run(tmp_path, "csc_person", ",".join(CSC_HEADER) + "\n", rows=0)
    assert result.accepted.empty and result.quarantined.empty
    assert list(result.accepted.columns[:2]) == ["la_child_id", "forename"]


def test_undecodable_bytes_are_file_level(tmp_path):
    data = csc_text([{}]).encode() + b"C3,\x81\x8d,x\r\n"
    with pytest.raises(IngestError, match="undecodable"):
        run(tmp_path, "csc_person", data, rows=2)


def test_row_with_extra_fields_is_file_level_with_line(tmp_path):
    text = csc_text([{}]) + "C2,a,b,01/01/2015,F,,,,WBRI,extra,more\r\n"
    with pytest.raises(IngestError, match=r"malformed CSV \(line 3"):
        run(tmp_path, "csc_person", text, rows=2)


def test_unparseable_dob_is_quarantined(tmp_path):
    result = run(tmp_path, "csc_person", csc_text([{}, {"LAchildID": "C2", "DOB": "31/02/2015"}]), rows=2)
    q = result.quarantined
    assert list(q["reasons"]) == ["unparseable_dob"]
    assert q.loc[0, "_source_row"] == 3 and q.loc[0, "dob"] == "31/02/2015"  # as recorded, for fixing
    assert result.report["quarantine_reasons"] == {"unparseable_dob": 1}


def test_missing_record_key_is_quarantined(tmp_path):
    result = run(tmp_path, "csc_person", csc_text([{"LAchildID": ""}, {"LAchildID": "C2"}]), rows=2)
    assert list(result.quarantined["reasons"]) == ["missing_la_child_id"]
    assert list(result.accepted["la_child_id"]) == ["C2"]


def test_mixed_date_formats_in_one_column(tmp_path):
    rows = [
        {"LAchildID": "A", "DOB": "01/02/2015"},
        {"LAchildID": "B", "DOB": "2015-02-01"},
        {"LAchildID": "C", "DOB": "2015-Feb-01 00:00:00"},
    ]
    result = run(tmp_path, "csc_person", csc_text(rows), rows=3)
    assert (result.accepted["dob"] == pd.Timestamp("2015-02-01")).all()
    assert str(result.accepted["dob"].dtype) == "datetime64[us]"


def test_end_before_start_is_quarantined(tmp_path):
    text = (
        "EHEpisodeID,LAchildID,StartDate,EndDate,ReferralSource,LeadAgency,ClosureReason\n"
        "E1,C1,2024-05-01,2024-04-01,school,LA,MOVED\nE2,C1,2024-05-01,,family,LA,\n"
    )
    result = run(tmp_path, "early_help", text, rows=2)
    assert list(result.quarantined["reasons"]) == ["end_date_before_start_date"]
    assert result.accepted["end_date"].isna().all()


def test_event_before_birth_is_quarantined(tmp_path):
    text = (
        "CCIS_ID,UPN,Forename,Surname,DOB,Gender,Postcode,ActivityCode,ActivityStartDate,DateAscertained,"
        "AcademicAge\nN1,,A,B,01/09/2008,M,AB1 2CD,540,01/09/2007,01/10/2024,16\n"
        "N2,,A,B,01/09/2008,M,AB1 2CD,540,01/09/2024,01/10/2024,16\n"
    )
    result = run(tmp_path, "nccis_activity", text, rows=2)
    assert list(result.quarantined["reasons"]) == ["activity_start_before_dob"]


def test_date_after_extract_date_is_quarantined(tmp_path):
    result = run(tmp_path, "csc_person", csc_text([{}, {"LAchildID": "C2", "DOB": "01/01/2027"}]), rows=2)
    assert list(result.quarantined["reasons"]) == ["dob_after_extract_date"]


def test_bad_nhs_check_digit_is_nulled_and_counted(tmp_path):
    result = run(tmp_path, "csc_person", csc_text([{"NHSNumber": "9434765918"}]), rows=1)
    assert result.accepted["nhs_number"].isna().all()
    assert result.accepted.loc[0, "_flags"] == "nhs_number:invalid_nhs_check_digit"
    flags = result.report["field_flags"]["nhs_number"]
    assert flags == {"invalid_nhs_check_digit": {"count": 1, "action": "nulled"}}


def test_bad_upn_check_letter_is_kept_and_counted(tmp_path):
    result = run(tmp_path, "csc_person", csc_text([{"UPN": "A801200005001"}, {"LAchildID": "C2"}]), rows=2)
    assert list(result.accepted["upn"]) == ["A801200005001", "B801200005001"]
    assert result.report["field_flags"]["upn"] == {"invalid_upn_check_letter": {"count": 1, "action": "kept"}}


def test_temporary_upn_is_valid_but_counted(tmp_path):
    result = run(tmp_path, "csc_person", csc_text([{"UPN": "M80120000500A"}]), rows=1)
    assert result.accepted.loc[0, "upn"] == "M80120000500A"
    assert result.report["field_flags"]["upn"] == {"temporary_upn": {"count": 1, "action": "kept"}}


def test_upn_unknown_code_moves_to_upn_unknown(tmp_path):
    result = run(tmp_path, "csc_person", csc_text([{"UPN": "UN3"}]), rows=1)
    row = result.accepted.iloc[0]
    assert pd.isna(row["upn"]) and row["upn_unknown"] == "UN3"
    assert result.report["field_flags"]["upn"]["upn_unknown_code"]["count"] == 1


def test_exact_duplicate_row_is_quarantined(tmp_path):
    result = run(tmp_path, "csc_person", csc_text([{}, {}, {"LAchildID": "C2"}]), rows=3)
    assert list(result.quarantined["reasons"]) == ["duplicate_row"]
    assert list(result.quarantined["_source_row"]) == [3]


def test_duplicate_key_keeps_first(tmp_path):
    result = run(tmp_path, "csc_person", csc_text([{}, {"Surname": "Other"}]), rows=2)
    assert list(result.quarantined["reasons"]) == ["duplicate_key"]
    assert list(result.accepted["surname"]) == ["Lee"]


def test_duplicate_key_after_a_quarantined_first_row_is_kept(tmp_path):
    result = run(tmp_path, "csc_person", csc_text([{"DOB": "garbage"}, {"Surname": "Other"}]), rows=2)
    assert list(result.quarantined["reasons"]) == ["unparseable_dob"]
    assert list(result.accepted["surname"]) == ["Other"]


def test_unknown_code_is_kept_and_counted(tmp_path):
    result = run(tmp_path, "csc_person", csc_text([{"Ethnicity": "XXXX"}]), rows=1)
    assert result.accepted.loc[0, "ethnicity"] == "XXXX"
    assert result.accepted.loc[0, "ethnicity_group"] == "Unknown"
    assert result.report["field_flags"]["ethnicity"]["unknown_code"]["count"] == 1


def test_unknown_sex_code_is_nulled(tmp_path):
    result = run(tmp_path, "csc_person", csc_text([{"Sex": "Q"}]), rows=1)
    assert result.accepted["sex"].isna().all()
    assert result.report["field_flags"]["sex"]["unknown_code"]["action"] == "nulled"


def test_invalid_postcode_is_flagged(tmp_path):
    result = run(tmp_path, "csc_person", csc_text([{"Postcode": "NOT A PC"}, {"LAchildID": "C2"}]), rows=2)
    assert result.report["field_flags"]["postcode"]["invalid_postcode_format"]["count"] == 1
    assert result.accepted.loc[0, "postcode"] == "NOT A PC"


@pytest.mark.parametrize(
    ("folder", "codes", "flagged"),
    [
        ("2024", ["1", "2"], 0),  # old codes in an old year
        ("2025", ["M", "F"], 0),  # new codes in a new year
        ("2025", ["1", "F"], 1),  # an old code in a new year: mapped, and counted
    ],
)
def test_903_sex_codes_by_year(tmp_path, folder, codes, flagged):
    text = "CHILD,SEX,DOB,ETHNIC,UPN,MOTHER,MC_DOB\n" + "".join(
        f"{i},{c},01/01/2010,WBRI,,,\n" for i, c in enumerate(codes)
    )
    result = run(tmp_path, "cla_header", text, rows=2, rel=f"ssda903/{folder}/header.csv")
    assert list(result.accepted["sex"]) == ["M", "F"]
    assert (result.accepted["collection_year"] == int(folder)).all()
    got = result.report["field_flags"].get("sex", {}).get("sex_code_other_year", {}).get("count", 0)
    assert got == flagged


def test_school_census_date_and_pupil_key(tmp_path):
    text = (
        "pupilonrolltableid,NativeId,dob,surname,forename,upn,sex,ethnicity,senprovision\n"
        "p1,S1,2015-Feb-01 00:00:00,Lee,Amy,B801200005001,F,WENG,N\n"
    )
    result = run(tmp_path, "school_pupil", text, rows=1, rel="school_census/2025_spring_pupilonroll.csv")
    row = result.accepted.iloc[0]
    assert row["census_date"] == pd.Timestamp(third_thursday_of_january(2025)) == pd.Timestamp("2025-01-16")
    assert row["pupil_record_id"] == "p1" and row["ethnicity_group"] == "White"
    assert row["_source_file"] == "school_census/2025_spring_pupilonroll.csv" and row["_source_row"] == 2


CIN_2025 = """<?xml version="1.0"?>
<Message><Header><CollectionDetails><Collection>CIN</Collection><Year>2025</Year>
<ReferenceDate>2025-03-31</ReferenceDate></CollectionDetails><Source><SourceLevel>L</SourceLevel>
<LEA>201</LEA></Source></Header>
<Children>
<Child><ChildIdentifiers><LAchildID>K1</LAchildID><PersonBirthDate>2015-01-01</PersonBirthDate>
<{sex_tag}>{sex}</{sex_tag}></ChildIdentifiers><ChildCharacteristics><Ethnicity>{eth}</Ethnicity>
</ChildCharacteristics>
<CINdetails><CINreferralDate>2024-06-01</CINreferralDate><ReferralSource>1A</ReferralSource>
<Assessments><AssessmentActualStartDate>2024-06-02</AssessmentActualStartDate>
<FactorsIdentifiedAtAssessment><AssessmentFactors>3B</AssessmentFactors><AssessmentFactors>4B</AssessmentFactors>
</FactorsIdentifiedAtAssessment></Assessments>
<ReferralNFA>false</ReferralNFA>
<ChildProtectionPlans><CPPstartDate>2024-07-01</CPPstartDate><InitialCategoryOfAbuse>NEG</InitialCategoryOfAbuse>
<LatestCategoryOfAbuse>NEG</LatestCategoryOfAbuse><NumberOfPreviousCPP>0</NumberOfPreviousCPP>
</ChildProtectionPlans></CINdetails></Child>
</Children></Message>
"""


def cin_run(tmp_path, table, xml, rows):
    return run(tmp_path, table, xml, rows=rows, rel="cin_census/cin_2025.xml")


def test_cin_valid_2026_schema_flattens_four_tables(tmp_path):
    xml = CIN_2025.format(sex_tag="Sex", sex="F", eth="WBRI")
    child = cin_run(tmp_path, "cin_child", xml, 1)
    assert child.report["files"][0]["schema"] == "CIN_schema_2026.xsd"
    assert child.report["files"][0]["schema_errors"]["count"] == 0
    assert child.accepted.loc[0, "sex"] == "F" and child.accepted.loc[0, "collection_year"] == 2025
    assert cin_run(tmp_path, "cin_episode", xml, 1).accepted.loc[0, "referral_source"] == "1A"
    assessment = cin_run(tmp_path, "cin_assessment", xml, 1).accepted
    assert assessment.loc[0, "factors"] == "3B;4B"
    assert cin_run(tmp_path, "cin_cp_plan", xml, 1).accepted.loc[0, "initial_category"] == "NEG"


def test_cin_schema_invalid_is_reported_with_lines_and_still_flattened(tmp_path):
    xml = CIN_2025.format(sex_tag="GenderCurrent", sex="2", eth="ZZZZ")  # old element, bad code
    result = cin_run(tmp_path, "cin_child", xml, 1)
    errors = result.report["files"][0]["schema_errors"]
    assert errors["count"] >= 2
    assert {e["element"] for e in errors["first"]} >= {"GenderCurrent", "Ethnicity"}
    assert all(isinstance(e["line"], int) and e["line"] > 1 for e in errors["first"])
    assert result.accepted.loc[0, "sex"] == "F"  # still read
    flags = result.report["field_flags"]
    assert "xsd_cvc_enumeration_valid" in flags["ethnicity"] and "unknown_code" in flags["ethnicity"]


def test_truncated_xml_is_file_level(tmp_path):
    xml = CIN_2025.format(sex_tag="Sex", sex="F", eth="WBRI")
    with pytest.raises(IngestError, match=r"cin_2025.xml: malformed or truncated XML at line \d+"):
        cin_run(tmp_path, "cin_child", xml[: len(xml) // 2], 0)


def test_xml_of_the_wrong_kind_is_file_level(tmp_path):
    with pytest.raises(IngestError, match="wrong schema: root element <Other>"):
        cin_run(tmp_path, "cin_child", "<Other><x/></Other>", 0)


CSV_SHAPES = {
    "plain": "a,b\n1,2\n",
    "blank lines": "a,b\n\n1,2\n\n",
    "blank cells": "a,b\n1,\n,2\n",
    "quoted empty": 'a,b\n"",x\n',
    "quoted spaces": 'a,b\n" 1 ",2\n',
    "whitespace-only line": "a,b\n   \n1,2\n",
    "quoted newline": 'a,b\n"x\ny",2\n',
    "crlf": "a,b\r\n1,2\r\n",
    "short row": "a,b\n1\n",
    "leading blank lines": "\n\na,b\n1,2\n",
    "header only": "a,b\n",
    "stray quote": 'a,b\nab"c,2\n',
    "NA words": "a,b\nNA,null\n",
    "no final newline": "a,b\n1,2",
    "one column": "a\n1\n  \n2\n",
}


@pytest.mark.parametrize("text", CSV_SHAPES.values(), ids=CSV_SHAPES.keys())
def test_csv_reader_matches_pandas_reader(text, monkeypatch):
    fast = readers.read_csv_text(text, "f.csv")
    monkeypatch.setattr(readers, "_read_csv_arrow", lambda *args: None)  # pandas' reader only
    pd.testing.assert_frame_equal(fast, readers.read_csv_text(text, "f.csv"))
