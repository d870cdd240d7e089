"""scan-pii: finds identifiers in clear files of every kind, nothing in pseudonymised ones."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from stdnum.gb import nhs, upn
from typer.testing import CliRunner

from pipeline.cli import app
from pipeline.core.io import write_csv, write_parquet, write_text
from pipeline.privacy.actions import Privacy
from pipeline.privacy.identifier_detectors import (
    is_name_column,
    nhs_checksum_ok,
    read_names_list,
    scan_value_counts,
    upn_checksum_ok,
)
from pipeline.privacy.scan_pii import scan_file, scan_paths
from pipeline.pseudonymise.tables import pseudonymise_table
from pipeline.sources.spec import Column, Kind, TableSpec

NHS_NUMBER, UPN, POSTCODE = "9434765919", "H885123456781", "AB1 2CD"
CLEAR = pd.DataFrame({
    "forename": ["Aisha", "Tom"],
    "family_name": ["Begum", "Smith"],
    "nhs": [f"{NHS_NUMBER[:3]} {NHS_NUMBER[3:6]} {NHS_NUMBER[6:]}", None],
    "pupil": [UPN, "UN1"],
    "address": [f"1 High St, {POSTCODE}", "no fixed abode"],
    "district": ["AB1", "AB1 2"],
    "code": ["X780", "N1"],
})
EXPECTED = {("forename", "name_column"), ("family_name", "name_column"), ("nhs", "nhs_number"),
            ("pupil", "upn"), ("address", "postcode")}
SPEC = TableSpec("t", "health", "", columns=(
    Column("hes_id", "h", privacy=Privacy.RECORD_KEY), Column("forename", "f", privacy=Privacy.FORENAME),
    Column("surname", "s", privacy=Privacy.SURNAME), Column("dob", "d", Kind.DATE, privacy=Privacy.DOB),
    Column("nhs_number", "n", privacy=Privacy.NHS_NUMBER), Column("upn", "u", privacy=Privacy.UPN),
    Column("postcode", "p", privacy=Privacy.POSTCODE), Column("diagnosis", "x", privacy=Privacy.KEEP),
))


def kinds(findings):
    return {(f.column.split("!")[-1].split(".")[-1], f.kind) for f in findings}


@pytest.mark.parametrize("suffix", ["csv", "parquet", "xlsx", "json"])
def test_finds_identifiers_in_clear_tables(tmp_path, suffix):
    path = tmp_path / f"clear.{suffix}"
    if suffix == "csv":
        write_csv(CLEAR, path)
    elif suffix == "parquet":
        write_parquet(CLEAR, path)
    elif suffix == "xlsx":
        CLEAR.to_excel(path, index=False, sheet_name="people")
    else:
        write_text(json.dumps({"people": CLEAR.to_dict(orient="records")}), path)
    findings = scan_file(path)
    assert kinds(findings) == EXPECTED
    assert all(f.count == 1 for f in findings if f.kind != "name_column")
    shown = repr(findings)
    for value in (NHS_NUMBER[:3] + " ", UPN, POSTCODE, "Begum"):
        assert value not in shown


def test_finds_identifiers_in_html_and_markdown(tmp_path):
    html = tmp_path / "list.html"
    write_text(CLEAR.to_html(index=False), html)
    assert kinds(scan_file(html)) == {("(text)", "nhs_number"), ("(text)", "upn"), ("(text)", "postcode"),
                                      ("forename", "name_column"), ("family_name", "name_column")}
    md = tmp_path / "card.md"
    write_text("# Card\n\n| Forename | score |\n|---|---|\n| Tom | 0.2 |\n\nSee NHS 943-476-5919.\n", md)
    assert kinds(scan_file(md)) == {("(text)", "nhs_number"), ("Forename", "name_column")}


def test_an_html_page_without_a_table_is_scanned_not_unreadable(tmp_path):
    # pandas looks for tables with lxml and, finding none, would try bs4 (not installed): the page must still scan
    page = tmp_path / "card.html"
    write_text("<html><body><h1>Recording check</h1><p>Nothing about anyone.</p></body></html>", page)
    assert scan_file(page) == []
    write_text("<html><body><p>Seen: NHS 943 476 5919</p></body></html>", page)
    assert kinds(scan_file(page)) == {("(text)", "nhs_number")}


def test_nothing_found_in_a_pseudonymised_table(tmp_path):
    rng = np.random.default_rng(1)
    n = 500
    staged = pd.DataFrame({
        "hes_id": [f"H{i}" for i in range(n)],
        "forename": rng.choice(["Aisha", "Tom", "Zoë"], n),
        "surname": rng.choice(["Begum", "Smith"], n),
        "dob": pd.to_datetime("2010-01-01") + pd.to_timedelta(rng.integers(0, 3000, n), unit="D"),
        "nhs_number": [f"9{i:09d}" for i in range(n)],
        "upn": UPN,
        "postcode": POSTCODE,
        "diagnosis": rng.choice(["X780", "J069", "Z602"], n),
    })
    path = tmp_path / "pseudo" / "t.parquet"
    write_parquet(pseudonymise_table(staged, SPEC, bytes(32), None), path)
    assert scan_paths([tmp_path / "pseudo"], read_names_list("Aisha\nBegum\n")) == []


@settings(deadline=None, max_examples=60)  # pandas per example: no per-example deadline
@given(st.lists(st.binary(min_size=16, max_size=16), min_size=1, max_size=50))
def test_hex_tokens_are_never_identifiers(raw):
    tokens = pd.Series([b.hex() for b in raw] + ["9434765919" + "a" * 22, "ab12cd" + "0" * 26], dtype="str")
    hits = scan_value_counts(tokens, np.ones(len(tokens)), "surname_tok", frozenset({"ab", "a"}))
    assert hits == {}


@settings(deadline=None, max_examples=60)  # pandas per example: no per-example deadline
@given(st.text("0123456789", min_size=10, max_size=10))
def test_nhs_checksum_agrees_with_stdnum(digits):
    assert bool(nhs_checksum_ok(pd.Series([digits]))[0]) == nhs.is_valid(digits)


@settings(deadline=None, max_examples=60)  # pandas per example: no per-example deadline
@given(st.sampled_from(["801", "885", "935", "202"]), st.text("0123456789", min_size=8, max_size=8),
       st.sampled_from("0123456789ABCDEFGHJKLMNPQRTUVWXYZ"))
def test_upn_check_letter_agrees_with_stdnum(la, middle, last):
    body = la + middle + last
    good = upn.calc_check_digit(body) + body
    bad = ("A" if good[0] != "A" else "B") + body
    assert upn_checksum_ok(pd.Series([good, bad])).tolist() == [True, False]


def test_districts_sectors_and_codes_are_not_postcodes():
    values = pd.Series(["AB1", "AB1 2", "SW1A", "E01000001", "X780", "2024-01-15", "12345678901"],
                       dtype="str")
    assert scan_value_counts(values, np.ones(len(values)), "codes") == {}


def test_integer_nhs_numbers_are_found():
    got = scan_value_counts(pd.Series([9434765919, 12, 9434765918]), np.array([3, 1, 1]), "x")
    assert got == {"nhs_number": 3}


def test_listed_names_match_whole_words_only():
    values = pd.Series(["Referred by Smith", "Smithson school", "SMITH", "nothing"], dtype="str")
    got = scan_value_counts(values, np.ones(4), "notes", read_names_list("smith\n"))
    assert got == {"listed_name": 2}


@pytest.mark.parametrize(("column", "expected"), [
    ("Forename", True), ("surname", True), ("FirstName", True), ("last_name", True), ("name", True),
    ("given_name", True), ("family_name", True), ("middlenames", True), ("preferred_surname", True),
    ("school_name", False), ("ethnicity", False), ("forename_tok", True), ("level_forename", False),
    ("gamma_surname", False), ("surname_count", False), ("tf_forename", False)])
def test_name_columns_are_recognised(column, expected):
    assert is_name_column(column) is expected


def test_unreadable_file_is_a_finding(tmp_path):
    bad = tmp_path / "broken.parquet"
    bad.write_bytes(b"not parquet")
    assert [f.kind for f in scan_file(bad)] == ["unreadable"]


def test_cli_exit_codes_and_no_values_shown(tmp_path):
    clear = tmp_path / "clear.csv"
    write_csv(CLEAR, clear)
    names = tmp_path / "names.txt"
    names.write_text("Begum\n")
    runner = CliRunner()
    found = runner.invoke(app, ["scan-pii", str(tmp_path), "--names", str(names)])
    assert found.exit_code == 1
    assert "nhs_number" in found.output and "listed_name" in found.output
    assert "Begum" not in found.output and "943" not in found.output
    clean = tmp_path / "clean"
    clean.mkdir()
    write_csv(pd.DataFrame({"code": ["X780"]}), clean / "ok.csv")
    assert runner.invoke(app, ["scan-pii", str(clean)]).exit_code == 0
    assert runner.invoke(app, ["scan-pii", str(tmp_path / "missing")]).exit_code == 2


def test_counts_under_a_name_like_key_are_not_names(tmp_path):
    path = tmp_path / "pseudonymise.json"
    path.write_text(json.dumps({"non_null_tokens": {"forename_tok": 29871, "surname_tok": 29990}}))
    assert scan_file(path) == []


def test_a_ten_digit_snomed_code_in_a_code_column_is_not_an_nhs_number():
    """1149233001 is shaped like a SNOMED CT concept id (Verhoeff, partition 00) and passes the NHS modulus-11 check."""
    import pandas as pd

    from pipeline.privacy.identifier_detectors import nhs_checksum_ok, scan_frame

    assert nhs_checksum_ok(pd.Series(["1149233001"], dtype=object)).all()
    codes = pd.DataFrame({"snomed": ["1149233001", "22298006", "38341003", "195967001", "73211009"] * 3})
    assert not [f for f in scan_frame(codes) if f[1] == "nhs_number"]
    # the same value among NHS numbers is still an NHS number, and so is one leaked into a code column
    numbers = pd.DataFrame({"nhs": ["1149233001", "9434765919", "4010232137"]})
    assert [f for f in scan_frame(numbers) if f[1] == "nhs_number"]
    leaked = pd.DataFrame({"snomed": ["22298006", "38341003", "9434765919"]})
    assert [f for f in scan_frame(leaked) if f[1] == "nhs_number"]
