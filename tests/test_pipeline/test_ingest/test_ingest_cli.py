"""`riskpipe ingest` end to end on a tiny raw layout: outputs, report, exit codes, no values leaked."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
from typer.testing import CliRunner

from pipeline.cli import app

PARAMS = """ingest:
  extract_date: 2026-03-31
  sources:
    school: {raw_dir: raw/education, tables: [ks2]}
    nccis: {raw_dir: raw/education, tables: []}
    social_care: {raw_dir: raw/social_care, tables: [csc_person, cla_header]}
    health: {raw_dir: raw/health, tables: [nhs_patient]}
    reference: {raw_dir: raw/reference, tables: []}
"""
SECRET_NHS = "9434765919"


def make_layout(root: Path) -> None:
    (root / "params.yaml").write_text(PARAMS)
    sc = root / "raw" / "social_care"
    (sc / "ssda903" / "2024").mkdir(parents=True)
    (sc / "csc_persons.csv").write_bytes(
        "LAchildID,Forename,Surname,DOB,Sex,NHSNumber,UPN,Postcode,Ethnicity\r\n"
        f"C1,Zoë,Lee,01/02/2015,F,{SECRET_NHS},UN2,AB1 2CD,WBRI\r\n"
        "C2,Sam,Ng,not a date,M,,B801200005001,AB1 2CD,AIND\r\n".encode("cp1252")
    )
    (sc / "ssda903" / "2024" / "header.csv").write_text(
        "CHILD,SEX,DOB,ETHNIC,UPN,MOTHER,MC_DOB\nC1,2,01/02/2015,WBRI,,,\n"
    )
    edu = root / "raw" / "education"
    edu.mkdir(parents=True)
    (edu / "ks2.csv").write_text("UPN;KS2_ACADYR;KS2_READMRK;KS2_MATMRK\nB801200005001;2018/2019;105;130\n")
    health = root / "raw" / "health"
    health.mkdir(parents=True)
    (health / "nhs_demographics.csv").write_text("PSEUDO_HESID,NHSNumber\nH1,9434765919\n")  # columns missing


def test_cli_ingest_writes_outputs_and_exits_1_on_file_error(tmp_path):
    make_layout(tmp_path)
    result = CliRunner().invoke(
        app, ["ingest", "--params", str(tmp_path / "params.yaml"), "--root", str(tmp_path)]
    )
    assert result.exit_code == 1
    assert "nhs_demographics.csv" in result.output and "required column" in result.output
    staged = pd.read_parquet(tmp_path / "data" / "staged" / "csc_person.parquet")
    assert list(staged["la_child_id"]) == ["C1"] and staged.loc[0, "upn_unknown"] == "UN2"
    quarantine = pd.read_csv(tmp_path / "data" / "quarantine" / "csc_person.csv", dtype=str)
    assert list(quarantine["reasons"]) == ["unparseable_dob"] and list(quarantine["_source_row"]) == ["3"]  # real line
    ks2 = pd.read_parquet(tmp_path / "data" / "staged" / "ks2.parquet")
    assert ks2.loc[0, "mat_mark"] == 130 and "mat_mark:out_of_range" in ks2.loc[0, "_flags"]
    header = pd.read_parquet(tmp_path / "data" / "staged" / "cla_header.parquet")
    assert header.loc[0, "sex"] == "F" and header.loc[0, "collection_year"] == 2024
    assert not (tmp_path / "data" / "staged" / "nhs_patient.parquet").exists()

    report = json.loads((tmp_path / "reports" / "ingest.json").read_text())
    assert report["reconciled"] and report["tables_failed"] == ["nhs_patient"]
    assert report["totals"] == {"rows_read": 4, "rows_accepted": 3, "rows_quarantined": 1}
    markdown = (tmp_path / "reports" / "ingest.md").read_text()
    assert "unparseable_dob" in markdown and "cp1252" in markdown
    for text in (json.dumps(report), markdown, result.output):
        for value in (SECRET_NHS, "Zoë", "Lee", "B801200005001", "AB1 2CD", "not a date"):
            assert value not in text


def test_cli_ingest_missing_extract_fails_unless_optional(tmp_path):
    make_layout(tmp_path)
    (tmp_path / "raw" / "health" / "nhs_demographics.csv").unlink()
    args = ["ingest", "--params", str(tmp_path / "params.yaml"), "--root", str(tmp_path)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 1
    assert "Missing extract in nhs_patient" in result.output and "optional_tables: [nhs_patient]" in result.output
    report = json.loads((tmp_path / "reports" / "ingest.json").read_text())
    assert report["tables"]["nhs_patient"]["status"] == "missing" and report["tables_failed"] == ["nhs_patient"]

    optional = PARAMS.replace("tables: [nhs_patient]", "tables: [nhs_patient], optional: true")
    (tmp_path / "params.yaml").write_text(optional)
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    report = json.loads((tmp_path / "reports" / "ingest.json").read_text())
    assert report["tables"]["nhs_patient"]["status"] == "no_input"
    assert any(w.startswith("nhs_patient: no files match") for w in report["warnings"])


def test_cli_ingest_in_parallel_gives_the_same_outputs_and_report(tmp_path):
    runs = {}
    for workers in (1, 2):
        root = tmp_path / f"workers{workers}"
        root.mkdir()
        make_layout(root)
        args = ["ingest", "--params", str(root / "params.yaml"), "--root", str(root), "--workers", str(workers)]
        result = CliRunner().invoke(app, args)
        assert result.exit_code == 1 and "nhs_demographics.csv" in result.output
        staged = {p.name: pd.read_parquet(p) for p in sorted((root / "data" / "staged").glob("*.parquet"))}
        report = json.loads((root / "reports" / "ingest.json").read_text())
        runs[workers] = staged, report
    (staged_one, report_one), (staged_two, report_two) = runs[1], runs[2]
    assert report_one == report_two and list(report_two["tables"]) == list(report_one["tables"])
    assert staged_one.keys() == staged_two.keys()
    for name, frame in staged_one.items():
        pd.testing.assert_frame_equal(frame, staged_two[name])
