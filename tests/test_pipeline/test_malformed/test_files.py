"""Whole files that vanish, hide or go stale: the stage says so (error or warning), never exit 0 silently."""

from __future__ import annotations

import logging
import os

import pandas as pd
import pytest


def test_missing_source_file_is_an_error_not_exit_0(layout):
    proj = layout(["csc_person", "nhs_patient"])
    proj.path("nhs_patient").unlink()
    result = proj.cli()
    assert result.exit_code == 1
    assert "Missing extract in nhs_patient" in result.output and "nhs_demographics.csv" in result.output
    rep = proj.report()
    assert rep["tables_failed"] == ["nhs_patient"] and rep["tables"]["nhs_patient"]["status"] == "missing"
    assert "optional_tables: [nhs_patient]" in rep["tables"]["nhs_patient"]["error"]
    assert proj.staged("csc_person").exists() and not proj.staged("nhs_patient").exists()


def test_missing_file_allowed_when_params_say_the_source_is_optional(layout):
    proj = layout(["csc_person", "nhs_patient"], extra={"health": ", optional: true"})
    proj.path("nhs_patient").unlink()
    result = proj.cli()
    assert result.exit_code == 0, result.output
    assert proj.report()["tables"]["nhs_patient"]["status"] == "no_input"
    assert "Warning" in result.output and "optional in this run" in result.output


def test_missing_file_allowed_for_one_named_table(layout):
    proj = layout(["hes_admission", "ae_attendance"], extra={"health": ", optional_tables: [ae_attendance]"})
    proj.path("ae_attendance").unlink()
    assert proj.cli().exit_code == 0
    proj.path("hes_admission").unlink()  # the other table of the source is still required
    result = proj.cli()
    assert result.exit_code == 1 and "Missing extract in hes_admission" in result.output


def test_optional_table_of_another_source_is_refused(layout):
    proj = layout(["hes_admission"], extra={"health": ", optional_tables: [lsoa_imd]"})
    result = proj.cli()
    assert result.exit_code == 1 and "ingest.sources.health names unknown table(s): lsoa_imd" in result.output


def test_missing_raw_folder_named_in_params_is_a_clear_error(layout):
    proj = layout(["postcode_lsoa"])
    proj.path("postcode_lsoa").unlink()
    proj.raw("postcode_lsoa").rmdir()
    result = proj.cli()
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert (
        "raw folder raw/reference does not exist (ingest.sources.reference.raw_dir)"
        in proj.report()["tables"]["postcode_lsoa"]["error"]
    )


def test_files_glob_in_params_matching_nothing_is_an_error(layout):
    proj = layout(["lsoa_imd"], extra={"reference": ", files: {lsoa_imd: imd_2019.csv}"})
    result = proj.cli()
    assert result.exit_code == 1 and "no file matches imd_2019.csv under raw/reference" in result.output


def test_census_file_name_in_any_case_is_matched_and_listed(layout, raw):
    proj = layout(["school_pupil"])
    proj.path("school_pupil").rename(proj.raw("school_pupil") / "school_census/2024_Spring_PupilOnRoll.csv")
    result = proj.cli()
    assert result.exit_code == 0, result.output
    rep = proj.report()
    assert rep["files"]["taken"] == [
        {"file": "education/school_census/2024_Spring_PupilOnRoll.csv", "table": "school_pupil"}
    ]
    staged = pd.read_parquet(proj.staged("school_pupil"))
    assert len(staged) == 3 and (staged["census_date"] == pd.Timestamp("2024-01-18")).all()


def test_every_ignored_file_is_reported_and_shown(layout, raw, caplog):
    caplog.set_level(logging.INFO, logger="pipeline.ingest")
    proj = layout(["school_pupil"])
    proj.write("school_pupil", raw.good_text("school_pupil"), rel="school_census/2024_spring_pupilonrol.csv")
    proj.write("school_pupil", "notes", rel=".DS_Store")
    result = proj.cli()
    assert result.exit_code == 0
    ignored = proj.report()["files"]["ignored"]
    assert {
        "file": "education/school_census/2024_spring_pupilonrol.csv",
        "reason": "matches no enabled table's file pattern",
    } in ignored
    assert {"file": "education/.DS_Store", "reason": "hidden file"} in ignored
    assert "2 file(s) ignored" in result.output
    logged = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    why = "matches no enabled table's file pattern"
    assert f"ignored: education/school_census/2024_spring_pupilonrol.csv ({why})" in logged
    assert "school_pupil: 1 file(s) taken (education/school_census/2024_spring_pupilonroll.csv)" in caplog.messages
    markdown = (proj.root / "reports/ingest.md").read_text()
    assert "- **ignored**: education/school_census/2024_spring_pupilonrol.csv" in markdown


def test_header_only_census_file_warns_that_the_year_is_missing(layout, raw):
    proj = layout(["school_pupil"])
    proj.write("school_pupil", raw.GOOD["school_pupil"][1] + "\n", rel="school_census/2023_spring_pupilonroll.csv")
    result = proj.cli()
    assert result.exit_code == 0
    warning = (
        "school_pupil: school_census/2023_spring_pupilonroll.csv: header only, no data rows "
        "(census 2023 has no rows in school_pupil)"
    )
    assert warning in proj.report()["warnings"]
    assert "header only" in result.output and "census 2023" in result.output


def test_header_only_reference_file_warns(layout, raw):
    proj = layout(["postcode_lsoa"])
    proj.write("postcode_lsoa", "postcode,lsoa_code\n")
    assert proj.cli().exit_code == 0
    assert proj.report()["warnings"] == ["postcode_lsoa: postcode_lsoa.csv: header only, no data rows"]


def test_unknown_table_option_is_an_error_and_keeps_the_report(layout):
    proj = layout(["lsoa_imd"])
    assert proj.cli().exit_code == 0
    before = (proj.root / "reports/ingest.json").read_bytes()
    result = proj.cli("--table", "nosuch")
    assert result.exit_code == 1 and "--table: nosuch: not a table" in result.output
    assert (proj.root / "reports/ingest.json").read_bytes() == before


def test_table_option_naming_a_disabled_table_is_an_error(layout):
    proj = layout(["lsoa_imd"])
    result = proj.cli("--table", "postcode_lsoa")
    assert result.exit_code == 1 and "postcode_lsoa: not enabled in params.yaml ingest.sources" in result.output


def test_failed_table_leaves_no_stale_staged_file(layout):
    proj = layout(["csc_person", "early_help"])
    assert proj.cli().exit_code == 0 and proj.staged("early_help").exists()
    proj.write("early_help", b"EHEpisodeID,LAchildID\nE1,C1\n")  # required columns gone
    result = proj.cli()
    assert result.exit_code == 1 and "required column(s) missing" in result.output
    assert not proj.staged("early_help").exists() and not proj.quarantine("early_help").exists()
    assert proj.staged("csc_person").exists()
    assert not [p for p in (proj.root / "data").iterdir() if p.name.startswith(".")]  # no staging folder left


def test_symlink_to_a_file_outside_the_raw_folder_is_refused(layout, raw, tmp_path):
    proj = layout(["school_pupil"])
    outside = tmp_path / "elsewhere.csv"
    outside.write_text(raw.good_text("school_pupil"))
    proj.path("school_pupil").unlink()
    (proj.raw("school_pupil") / "school_census/2025_spring_pupilonroll.csv").symlink_to(outside)
    result = proj.cli()
    assert result.exit_code == 1
    assert "2025_spring_pupilonroll.csv: is a symbolic link to a file outside the raw folder" in result.output
    assert not proj.staged("school_pupil").exists()


def test_symlink_inside_the_raw_folder_is_followed(layout):
    proj = layout(["lsoa_imd"])
    real = proj.path("lsoa_imd").rename(proj.raw("lsoa_imd") / "imd_2019_original.csv")
    os.symlink(real.name, proj.path("lsoa_imd"))
    assert proj.cli().exit_code == 0
    assert len(pd.read_parquet(proj.staged("lsoa_imd"))) == 3


def test_symlinked_folder_is_not_walked_and_is_reported(layout, raw, tmp_path):
    proj = layout(["school_pupil"])
    elsewhere = tmp_path / "other_census"
    elsewhere.mkdir()
    (elsewhere / "2022_spring_pupilonroll.csv").write_text(raw.good_text("school_pupil"))
    (proj.raw("school_pupil") / "old_census").symlink_to(elsewhere)
    assert proj.cli().exit_code == 0
    assert {"file": "education/old_census", "reason": "symbolic link to a folder (not followed)"} in proj.report()[
        "files"
    ]["ignored"]


@pytest.mark.parametrize("workers", ["1", "2"])
def test_cin_dtd_with_workers_gives_a_clear_error_and_a_report(layout, raw, workers):
    proj = layout(["csc_person", "early_help"])
    proj.write("csc_person", raw.cin_xml('<!DOCTYPE Message [<!ENTITY la "201">]>\n'), rel="cin_census/cin_2025.xml")
    proj.tables += ["cin_child", "cin_episode"]
    proj.write_params()
    result = proj.cli("--workers", workers)
    assert result.exit_code == 1
    assert "Traceback" not in result.output and "pickle" not in result.output
    assert "cin_2025.xml: line 2, column 1: <!DOCTYPE declaration refused" in result.output
    rep = proj.report()
    assert sorted(rep["tables_failed"]) == ["cin_child", "cin_episode"]
    assert not proj.staged("cin_child").exists() and proj.staged("early_help").exists()


@pytest.mark.parametrize("workers", ["1", "2"])
def test_broken_symlink_is_a_clear_error(layout, workers):
    proj = layout(["hes_admission", "ae_attendance"])
    proj.path("ae_attendance").unlink()
    os.symlink("gone.csv", proj.path("ae_attendance"))
    result = proj.cli("--workers", workers)
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert "hes_ae.csv: unreadable (No such file or directory)" in result.output
    assert proj.staged("hes_admission").exists()


def test_staging_folder_left_by_a_killed_run_is_cleared(layout):
    proj = layout(["lsoa_imd"])
    leftover = proj.root / "data" / ".staged.abc123.staging"
    leftover.mkdir(parents=True)
    (leftover / "lsoa_imd.parquet").write_bytes(b"half written")
    assert proj.cli().exit_code == 0
    assert not leftover.exists() and proj.staged("lsoa_imd").exists()
