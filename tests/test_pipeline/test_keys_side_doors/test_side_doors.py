"""Issue 16, side doors: link-pair and audit never write clear identifiers into the project's data folders, and
audit refuses to compare "groups" that are people.

Before: `link-pair` on raw extracts wrote clear local-ID <-> hospital-ID pairs into reports/, and
`audit --group <NHS column>` wrote every NHS number into its HTML.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from pipeline.cli import app
from pipeline.privacy.identifier_detectors import nhs_checksum_ok

REPO = Path(__file__).resolve().parents[3]


def said(result) -> str:
    return " ".join(result.output.split())


def valid_nhs_numbers(n: int, seed: int = 0) -> list[str]:
    rng = np.random.default_rng(seed)
    found: list[str] = []
    while len(found) < n:
        candidates = pd.Series([f"{v:010d}" for v in rng.integers(10**9, 10**10 - 1, 4 * n)], dtype=object)
        found += candidates[nhs_checksum_ok(candidates)].tolist()
    return found[:n]


@pytest.fixture
def project(tmp_path):
    shutil.copy(REPO / "params.yaml", tmp_path / "params.yaml")
    return tmp_path


@pytest.fixture
def scored(tmp_path_factory) -> Path:
    """A vendor's scored file: 200 people with NHS numbers, sex, an outcome and a score."""
    rng = np.random.default_rng(1)
    frame = pd.DataFrame({"NHSNumber": valid_nhs_numbers(200), "sex": rng.choice(["F", "M"], 200),
                          "outcome": rng.integers(0, 2, 200), "risk": rng.random(200).round(4)})
    path = tmp_path_factory.mktemp("vendor") / "scores.csv"
    frame.to_csv(path, index=False)
    return path


def audit(project: Path, scores: Path, out: Path, *groups: str):
    args = ["audit", "--scores", str(scores), "--label", "outcome", "--score", "risk", "--top-k", "20",
            "--out", str(out), "--params", str(project / "params.yaml"), "--root", str(project)]
    for group in groups:
        args += ["--group", group]
    return CliRunner().invoke(app, args)


def test_audit_refuses_an_nhs_number_group(project, scored):
    result = audit(project, scored, project.parent / "audit_out", "NHSNumber")
    assert result.exit_code == 2, result.output
    assert "--group NHSNumber refused: its name says it identifies people" in said(result)
    assert not (project.parent / "audit_out").exists()


def test_audit_refuses_identifiers_under_an_innocent_name_and_one_group_per_person(project, scored, tmp_path):
    frame = pd.read_csv(scored, dtype="str")
    frame["cohort"] = frame["NHSNumber"]                      # NHS numbers under another name
    frame["batch"] = [f"B{i:04d}" for i in range(len(frame))]  # one group per row: each group a person
    frame = frame.drop(columns="NHSNumber")
    path = tmp_path / "renamed.csv"
    frame.to_csv(path, index=False)
    held = audit(project, path, tmp_path / "a", "cohort")
    assert held.exit_code == 2 and "it holds identifiers (nhs number)" in said(held), held.output
    unique = audit(project, path, tmp_path / "b", "batch")
    assert unique.exit_code == 2 and "nearly every group is one person" in said(unique), unique.output


def test_audit_of_clear_identifiers_is_refused_inside_the_project(project, scored):
    for folder in ("reports/vendor", "data/audit", "outputs/audit"):
        result = audit(project, scored, project / folder, "sex")
        assert result.exit_code == 2, result.output
        assert "audit will not write" in said(result) and "columns ['NHSNumber']" in said(result)
        assert not (project / folder).exists()


def test_audit_of_clear_identifiers_outside_the_project_writes_no_identifier(project, scored, tmp_path):
    result = audit(project, scored, tmp_path / "elsewhere", "sex")
    assert result.exit_code == 0, result.output
    html = (tmp_path / "elsewhere" / "audit.html").read_text()
    assert not [n for n in pd.read_csv(scored, dtype="str")["NHSNumber"] if n in html]


def test_audit_of_a_pseudonymised_file_may_write_into_reports(project, scored, tmp_path):
    frame = pd.read_csv(scored, dtype="str").drop(columns="NHSNumber")
    frame.insert(0, "person_token", [f"{i:032x}" for i in range(len(frame))])
    frame.insert(1, "person_id", [f"P{i:08d}" for i in range(len(frame))])  # as link numbers people
    path = tmp_path / "tokens.csv"
    frame.to_csv(path, index=False)
    result = audit(project, path, project / "reports" / "vendor", "sex")
    assert result.exit_code == 0, result.output
    assert (project / "reports" / "vendor" / "audit.html").exists()


def test_link_pair_on_clear_tables_refuses_the_project_folders(project, tmp_path):
    left, right = tmp_path / "school.csv", tmp_path / "hospital.csv"
    left.write_text("LAchildID,forename,dob\nLA1,Ann,2012-01-01\n")
    right.write_text("HospitalID,forename,dob\nH1,Ann,2012-01-01\n")
    for folder in ("reports", "data/linked", "outputs"):
        out = project / folder / "pairs.csv"
        result = CliRunner().invoke(app, [
            "link-pair", str(left), str(right), "--id-left", "LAchildID", "--id-right", "HospitalID",
            "--map", "forename=forename,dob=dob", "--out", str(out), "--root", str(project),
            "--params", str(project / "params.yaml")])
        assert result.exit_code == 2, result.output
        assert "link-pair will not write" in said(result) and f"project's {folder.split('/')[0]}/ folder" in said(
            result)
        assert not out.exists()


def test_link_pair_of_pseudonymised_tables_is_not_refused_by_the_guard(project, tmp_path):
    out = project / "reports" / "pairs.csv"
    result = CliRunner().invoke(app, [
        "link-pair", str(tmp_path / "absent_l.parquet"), str(tmp_path / "absent_r.parquet"), "--id-left", "a",
        "--id-right", "b", "--pseudonymised", "--out", str(out), "--root", str(project),
        "--params", str(project / "params.yaml")])
    assert "will not write" not in said(result)
    assert result.exit_code == 2 and "link-pair stopped" in said(result)  # it went on, to the missing files
