"""The older-carer register through the pipeline (issue #18): a small synthetic county is synthesised, ingested,
pseudonymised and linked, and the features stage builds ``ld_older_carer`` from the linked learning-disability
register and the carers' own records: the rows and moves the simulation's truth holds, every feature unchanged
when the future is deleted, and a clear stop for a county without the register. About 1.5 minutes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

from benchmarks.ld_older_carer import register_from_truth
from features.ld_older_carer import FEATURE_COLUMNS

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


def _run(root: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pipeline", *args, "--root", str(root)], cwd=ROOT,
                          capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def county(tmp_path_factory):
    root = tmp_path_factory.mktemp("ld_county")
    params = yaml.safe_load((ROOT / "params.yaml").read_text(encoding="utf-8"))
    params["synth"]["children"] = 300
    params["synth"]["adults"] = {"enabled": True, "population": 3000, "ld_with_older_parents_per_100k": 3000}
    (root / "params.yaml").write_text(yaml.safe_dump(params), encoding="utf-8")
    p = ["--params", str(root / "params.yaml")]
    for stage in (["synth", *p], ["ingest", *p], ["keygen", *p], ["pseudonymise", *p], ["link", *p],
                  ["features", "--model", "ld_older_carer", *p]):
        done = _run(root, *stage)
        assert done.returncode == 0, (stage[0], done.stdout[-2000:], done.stderr[-2000:])
    return root


def test_the_register_from_linked_records_is_the_one_the_simulation_holds(county):
    frame = pd.read_parquet(county / "data" / "features" / "ld_older_carer.parquet")
    assert set(FEATURE_COLUMNS) <= set(frame.columns) and frame["person_id"].str.startswith("P").all()
    labelled = frame.dropna(subset=["outcome"])
    truth = {p.stem: pd.read_parquet(p) for p in (county / "data" / "truth").glob("adults_*.parquet")}
    true_rows = register_from_truth(truth, "2026-03-31").dropna(subset=["outcome"])
    # the register holds 90% of the people (the GP's LD register fewer) and each row a few weeks after it is true
    assert abs(len(labelled) - len(true_rows)) <= 0.15 * len(true_rows)
    moves, true_moves = int(labelled["outcome"].sum()), int(true_rows["outcome"].sum())
    assert true_moves >= 20 and abs(moves - true_moves) <= 0.3 * true_moves
    assert labelled["outcome_any_move"].sum() >= moves
    assert (frame["carer_age_max"] >= 70).all()  # on the register only with a carer of 70 or over


def test_no_feature_sees_the_future(county):
    report = json.loads((county / "reports" / "ld_older_carer" / "features.json").read_text(encoding="utf-8"))
    leak = report["leakage_perturbation"]
    assert leak["rows_compared"] >= 100 and leak["differing_rows"] == 0, leak
    assert report["row_reconciliation"]["reconciled"]


def test_the_simulation_study_reads_the_pipelines_register_beside_the_truths(county):
    """``benchmarks.ld_older_carer --through-pipeline`` studies the register the features stage built, beside the
    same county's truth register: both are counted per year and both can be fitted and judged."""
    from benchmarks.ld_older_carer import compare_registers, pipeline_register, project_truth_register, study_county

    rows, truth_rows = pipeline_register(county), project_truth_register(county, "2026-03-31")
    assert rows["matured"].equals(rows["outcome"].notna()) and not rows["matured"].all()
    compared = compare_registers(rows, truth_rows)
    assert compared["years"] == sorted(set(rows["index_date"].dt.year) & set(truth_rows["index_date"].dt.year))
    assert compared["people_pipeline"] == int(rows["index_date"].dt.year.isin(compared["years"]).sum())
    assert compared["moves_truth"] == int(truth_rows.loc[truth_rows["matured"], "outcome"].sum())
    for frame in (rows, truth_rows):
        result = study_county(frame, seed=1, n_boot=50)
        assert result["train_events"] > 0 and "rule" in result["scores"]


def test_the_study_fits_the_pipelines_register_as_the_train_stage_would(county):
    """With the features report's input coverage the study's model leaves out the inputs whose source starts after
    its last fitted year (adult social care's CLD, April 2023), as the train stage does; the rule reads them all."""
    from benchmarks.ld_older_carer import TRAIN_YEARS, pipeline_register, study_county

    report = json.loads((county / "reports" / "ld_older_carer" / "features.json").read_text(encoding="utf-8"))
    coverage = report["input_coverage"]
    last_fitted = pd.Timestamp(f"{TRAIN_YEARS[-1]}-03-31")
    late = {c for c, entry in coverage.items()
            if c in FEATURE_COLUMNS and pd.Timestamp(entry["covered_from"]) > last_fitted}
    assert late, coverage  # the synthetic CLD starts in April 2023
    result = study_county(pipeline_register(county), seed=1, n_boot=50, coverage=coverage)
    assert late <= set(result["inputs_left_out"])
    assert "model" in result["scores"] and not late & set(result["model_coefficients"])
    assert set(result["model_coefficients"]) | set(result["inputs_left_out"]) == set(FEATURE_COLUMNS)


def test_a_county_without_the_register_stops_with_the_reason(county):
    for table in (county / "data" / "pseudo").glob("ld_*.parquet"):
        table.unlink()
    done = _run(county, "features", "--model", "ld_older_carer", "--params", str(county / "params.yaml"))
    assert done.returncode != 0
    assert "learning-disability register" in " ".join((done.stdout + done.stderr).split())
