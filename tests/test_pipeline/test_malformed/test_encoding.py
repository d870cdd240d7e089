"""Encoding is decided per file, on evidence the report shows; a mixed file is refused, never guessed."""

from __future__ import annotations

import pytest

from pipeline.sources.errors import IngestError


def test_mixed_utf8_with_one_latin1_byte_is_an_error_naming_line_and_column(ingest_file, raw):
    text = raw.good_text("csc_person", 3, r1={"Forename": "Chloé"})  # UTF-8 é on line 2
    data = text.encode("utf-8").replace(b"Amy,Lee,03", "Zoë,Lee,03".encode("latin-1"))  # latin-1 ë on line 4
    with pytest.raises(IngestError, match=r"csc_persons.csv: mixed encoding: line 4, column 6 is not UTF-8"):
        ingest_file("csc_person", data)


def test_mixed_encoding_in_a_health_file_is_refused_too(ingest_file, raw):
    text = raw.good_text("nhs_patient", 2, r1={"Surname": "Brontë"}, r2={"Surname": "Müller"})
    data = text.replace("Müller", "\0").encode("utf-8").replace(b"\0", "Müller".encode("latin-1"))
    with pytest.raises(IngestError, match=r"nhs_demographics.csv: mixed encoding: line 3"):
        ingest_file("nhs_patient", data)


def test_a_whole_cp1252_file_is_decoded_with_its_evidence(ingest_file, raw):
    got = ingest_file("csc_person", raw.good_text("csc_person", 2, r1={"Forename": "Chloé"}).encode("cp1252"))
    assert got.accepted.loc[0, "forename"] == "Chloé"
    entry = got.report["files"][0]
    assert entry["encoding"] == "cp1252"
    assert entry["encoding_evidence"] == "not UTF-8: 1 bytes above 127, none forming a UTF-8 character"


def test_a_utf8_file_records_its_evidence(ingest_file, raw):
    got = ingest_file("school_pupil", raw.good_text("school_pupil", 2, r1={"forename": "Chloé"}))
    assert got.accepted.loc[0, "forename"] == "Chloé"
    assert got.report["files"][0]["encoding_evidence"] == "valid UTF-8 (2 bytes in multi-byte characters)"


def test_ascii_file_says_so(ingest_file, raw):
    got = ingest_file("postcode_lsoa", raw.good_text("postcode_lsoa", 2))
    assert got.report["files"][0]["encoding_evidence"] == "valid UTF-8 (ASCII only)"


def test_bom_file_with_a_bad_byte_later_names_the_line(ingest_file, raw):
    data = b"\xef\xbb\xbf" + raw.good_text("early_help", 3).encode() + b"E9,C9,2024-05-01,,school,\xff,\r\n"
    with pytest.raises(IngestError, match=r"early_help.csv: has a UTF-8 byte-order mark but line 5, column 26"):
        ingest_file("early_help", data)


def test_bytes_undefined_in_cp1252_are_an_error_with_line(ingest_file, raw):
    data = raw.good_text("lsoa_imd", 2).encode() + b"E0\x81,3\n"
    with pytest.raises(IngestError, match=r"lsoa_imd.csv: undecodable: line 4, column 3 is neither UTF-8 nor cp1252"):
        ingest_file("lsoa_imd", data)


def test_utf16_file_is_read(ingest_file, raw):
    got = ingest_file("ae_attendance", raw.good_text("ae_attendance", 2).encode("utf-16"))
    assert got.report["files"][0]["encoding"] == "utf-16" and len(got.accepted) == 2


def test_stray_bom_inside_a_value_is_removed_and_flagged(ingest_file, raw):
    got = ingest_file("cla_header", raw.good_text("cla_header", 2, r2={"CHILD": "\ufeffK2"}))
    assert list(got.accepted["la_child_id"]) == ["K1", "K2"]  # the key no longer hides a BOM
    assert got.accepted.loc[1, "_flags"] == "la_child_id:stray_bom"
    assert got.report["field_flags"]["la_child_id"] == {"stray_bom": {"count": 1, "action": "kept"}}


def test_two_exports_concatenated_quarantine_the_second_header(ingest_file, raw):
    first = raw.good_text("school_attendance", 2)
    second = "\ufeff" + raw.good_text("school_attendance", 2).replace("p1,", "p3,").replace("p2,", "p4,")
    got = ingest_file("school_attendance", first + second)
    assert list(got.quarantined["reasons"]) == ["repeated_header"]
    assert list(got.quarantined["_source_row"]) == [4] and got.line(4).lstrip("\ufeff").startswith("pupilonroll")
    assert list(got.accepted["pupil_record_id"]) == ["p1", "p2", "p3", "p4"]
    assert not got.accepted["pupil_record_id"].str.contains("\ufeff").any()
