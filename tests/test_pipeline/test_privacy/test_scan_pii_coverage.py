"""Issue 16: scan-pii covers notebooks and logs, local IDs and exact dates of birth, and stays quiet on riskpipe's
own artefacts (MLflow runs, mlflow.db, pseudonymised tables, reports) — tested both ways.

Before: .ipynb and .log files were not read, LAchildID values and dates of birth were not looked for, and every
MLflow ``spec.json`` (``"name": "neet18"``) was reported as a name column.
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression
from typer.testing import CliRunner

from pipeline.cli import app
from pipeline.core.io import write_json, write_parquet
from pipeline.privacy.actions import Privacy
from pipeline.privacy.scan_pii import scan_file, scan_paths
from pipeline.pseudonymise.tables import pseudonymise_table, summarise_table
from pipeline.sources.spec import Column, Kind, TableSpec

NHS_NUMBER, UPN = "9434765919", "H885123456781"
KEY = bytes(range(32))


def kinds(findings) -> set[str]:
    return {f.kind for f in findings}


def notebook(cells: list[dict]) -> dict:
    return {"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}


def code_cell(source: str, outputs: list[dict]) -> dict:
    return {"cell_type": "code", "source": source, "outputs": outputs, "metadata": {}, "execution_count": 1}


def test_identifiers_planted_in_a_notebook_are_found(tmp_path):
    table = pd.DataFrame({"la_child_id": ["LA1234567", "LA7654321"], "dob": ["2012-03-07", "2011-11-30"],
                          "forename": ["Aisha", "Tom"]}).to_html()
    path = tmp_path / "explore.ipynb"
    path.write_text(json.dumps(notebook([
        code_cell(f"lookup('{NHS_NUMBER}')", [{"output_type": "stream", "name": "stdout",
                                               "text": ["child LAchildID: 8812345\n", "DOB: 07/03/2012\n"]}]),
        code_cell("df.head()", [{"output_type": "execute_result", "execution_count": 1, "metadata": {},
                                 "data": {"text/html": table, "text/plain": "a table"}}]),
    ])))
    found = scan_file(path)
    assert {"nhs_number", "local_id", "date_of_birth", "name_column"} <= kinds(found)
    assert {f.column for f in found if f.kind == "local_id"} >= {"(text)", "la_child_id"}


def test_a_clean_notebook_is_clean(tmp_path):
    path = tmp_path / "review.ipynb"
    path.write_text(json.dumps(notebook([
        code_cell("report = explore.load_linkage(ROOT)", [{"output_type": "stream", "name": "stdout",
                                                           "text": "la_child_id_tok: " + "ab" * 16 + "\n"}]),
        code_cell("rates", [{"output_type": "execute_result", "execution_count": 1, "metadata": {},
                             "data": {"text/html": pd.DataFrame({"group": ["Asian"], "rate": [0.9]}).to_html()}}]),
    ])))
    assert scan_file(path) == []


def test_identifiers_in_a_log_are_found_and_riskpipe_log_lines_are_not(tmp_path):
    leaky = tmp_path / "ingest.log"
    leaky.write_text("2026-03-31 10:00:01 WARNING quarantined LAchildID=LA1234567 (DOB 07/03/2012)\n"
                     f"2026-03-31 10:00:02 ERROR bad row: UPN {UPN}\n")
    assert kinds(scan_file(leaky)) == {"local_id", "date_of_birth", "upn"}
    clean = tmp_path / "riskpipe.log"
    clean.write_text("2026-03-31 10:00:01 INFO link: 12345 deterministic links\n"
                     "2026-03-31 10:00:02 WARNING la_child_id: 3 rows quarantined (missing_required)\n"
                     "2026-03-31 10:00:03 WARNING dob: 12 rows unparseable; census_date 2024-01-18\n")
    assert scan_file(clean) == []


def test_local_ids_and_dates_of_birth_in_tables(tmp_path):
    frame = pd.DataFrame({"CHILD": ["A1001", "A1002"], "PersonBirthDate": ["07/03/2012", "30/11/2011"],
                          "birth_year": ["2012", "2011"], "dob_year_tok": ["ab" * 16, "cd" * 16],
                          "census_date": ["2024-01-18", "2024-01-18"]})
    frame.to_csv(tmp_path / "ssda903.csv", index=False)
    found = {(f.column, f.kind): f.count for f in scan_file(tmp_path / "ssda903.csv")}
    assert found == {("CHILD", "local_id"): 2, ("PersonBirthDate", "date_of_birth"): 2}
    typed = pd.DataFrame({"la_child_id": pd.array([1001, 1002], dtype="int64"),
                          "dob": pd.to_datetime(["2012-03-07", "2011-11-30"]),
                          "referral_date": pd.to_datetime(["2020-01-01", "2021-01-01"])})
    write_parquet(typed, tmp_path / "typed.parquet")
    assert {(f.column, f.kind) for f in scan_file(tmp_path / "typed.parquet")} == {
        ("la_child_id", "local_id"), ("dob", "date_of_birth")}


def test_a_json_name_is_a_finding_only_when_it_looks_like_a_persons(tmp_path):
    people = tmp_path / "export.json"
    write_json({"children": [{"name": "Aisha Begum", "group": "Asian"}]}, people)
    assert ("children.name", "name_column") in {(f.column, f.kind) for f in scan_file(people)}
    spec = tmp_path / "spec.json"
    write_json({"name": "neet18", "title": "Not in education at 18", "features": [{"name": "attendance_rate"}]},
               spec)
    assert scan_file(spec) == []


@pytest.fixture
def riskpipe_artefacts(tmp_path, monkeypatch):
    """What a run leaves: a real MLflow training run (sqlite store, artifacts), pseudonymised tables, reports."""
    from pipeline.core.tracking import log_training_run

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"attendance_rate_12m": rng.uniform(0.6, 1, 200), "referrals_12m": rng.poisson(0.3, 200)})
    y = pd.Series((rng.random(200) < 1 - X["attendance_rate_12m"]).astype(int))
    spec = {"name": "neet18", "title": "NEET at 18", "population": "children", "outcome": {"kind": "nccis_neet"}}
    log_training_run(uri=f"sqlite:///{tmp_path / 'mlflow.db'}", model_name="neet18",
                     model=LogisticRegression().fit(X, y), X_train=X, y_train=y, spec=spec,
                     params={"feature_columns": ",".join(X.columns)}, lineage={"data/features/neet18.parquet": "ab"},
                     summary_metrics={"rows": {"train": 200}})
    table = TableSpec("nhs_patient", "health", "", columns=(
        Column("hes_id", "h", privacy=Privacy.RECORD_KEY), Column("forename", "f", privacy=Privacy.FORENAME),
        Column("dob", "d", Kind.DATE, privacy=Privacy.DOB), Column("nhs_number", "n", privacy=Privacy.NHS_NUMBER),
        Column("sex", "s", privacy=Privacy.KEEP)))
    clear = pd.DataFrame({"hes_id": ["H1", "H2"], "forename": ["Aisha", "Tom"],
                          "dob": pd.to_datetime(["2012-03-07", "2011-11-30"]), "nhs_number": [NHS_NUMBER, None],
                          "sex": ["F", "M"]})
    pseudo = pseudonymise_table(clear, table, KEY, None)
    write_parquet(pseudo, tmp_path / "data/pseudo/nhs_patient.parquet")
    write_json({"tables": {"nhs_patient": summarise_table(clear, pseudo, table)}}, tmp_path / "reports/pseudo.json")
    return tmp_path


def test_riskpipes_own_artefacts_raise_no_false_alarm(riskpipe_artefacts):
    root = riskpipe_artefacts
    specs = list(root.rglob("spec.json"))
    assert specs and json.loads(specs[0].read_text())["name"] == "neet18"  # the file that used to alarm
    assert scan_paths([root]) == []
    result = CliRunner().invoke(app, ["scan-pii", str(root), str(root / "mlflow.db")])
    assert result.exit_code == 0 and "No identifiers found" in result.output, result.output
