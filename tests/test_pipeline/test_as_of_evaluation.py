"""A small county run as commands: the test year evaluated with features linked as on its index date.

synth → keygen (from the environment) → ingest → pseudonymise → link → features → features --as-of-test →
train → evaluate for neet18, then metrics.json ``test_as_of_linkage`` is checked against the files it is made
from: the as-of person index, the as-of features and the trained model's scores of them.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
MODEL = "neet18"


def _riskpipe(root: Path, env: dict, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pipeline", *args, "--root", str(root), "--params",
                           str(root / "params.yaml")], cwd=REPO, capture_output=True, text=True, check=False, env=env)


@pytest.fixture(scope="module")
def county(tmp_path_factory):
    root = tmp_path_factory.mktemp("as_of_eval")
    params = yaml.safe_load((REPO / "params.yaml").read_text())
    params["synth"] |= {"children": 4000}
    (root / "params.yaml").write_text(yaml.safe_dump(params))
    shutil.copytree(REPO / "ethics", root / "ethics", ignore=shutil.ignore_patterns("*.jsonl", "*.py", "__pycache__"))
    env = {**os.environ, "RISKPIPE_PSEUDO_KEY": bytes(range(32)).hex(),
           "RISKPIPE_LEDGER_KEY": bytes(range(32, 64)).hex()}
    env.pop("MLFLOW_TRACKING_URI", None)
    steps = (["synth"], ["ingest"], ["pseudonymise"], ["link"], ["features", "--model", MODEL],
             ["features", "--model", MODEL, "--as-of-test"], ["train", "--model", MODEL],
             ["evaluate", "--model", MODEL])
    for step in steps:
        done = _riskpipe(root, env, *step)
        assert done.returncode == 0, f"{step}: {done.stdout[-2000:]}{done.stderr[-2000:]}"
    yield root
    shutil.rmtree(root, ignore_errors=True)


def _metrics(root: Path) -> dict:
    return json.loads((root / f"reports/{MODEL}/metrics.json").read_text())


def test_metrics_report_the_test_year_linked_as_on_its_index_date(county):
    metrics = _metrics(county)
    block = metrics["test_as_of_linkage"]
    assert block["index_date"] == metrics["test_index_date"]  # one census day in the test year
    index_file = county / block["person_index"]
    day_after = (pd.Timestamp(block["index_date"]) + pd.Timedelta(days=1)).date().isoformat()
    assert block["linked_from_records_before"] == day_after  # the index date's own census records included
    assert index_file.exists() and f"linked_as_of/{day_after}/" in block["person_index"]
    for name in ("auc", "precision_at_capacity", "lift_at_capacity"):
        assert len(block["metrics"][f"{name}_ci"]) == 2
        assert block["difference_from_full"][name] == pytest.approx(block["metrics"][name] - metrics["test"][name])


def test_the_block_is_computed_from_the_as_of_features(county):
    block = _metrics(county)["test_as_of_linkage"]
    frame = pd.read_parquet(county / f"data/features_as_of/{MODEL}.parquet")
    as_of_people = set(pd.read_parquet(county / block["person_index"])["person_id"].astype(str))
    assert set(frame["person_id"].astype(str)) <= as_of_people  # rows are the as-of index's people
    assert block["rows"] == len(frame) and block["rows_labelled"] == int(frame["outcome"].notna().sum())
    assert block["metrics"]["n"] == block["rows_labelled"]
    report = json.loads((county / f"reports/{MODEL}/features_as_of.json").read_text())
    assert report["index_dates"][0]["row_reconciliation"]["reconciled"]
    assert report["index_dates"][0]["leakage_check_passed"]


def test_the_card_says_what_later_records_add(county):
    from ethics.card.model import describe_as_of_linkage

    block = _metrics(county)["test_as_of_linkage"]
    line = describe_as_of_linkage(block)
    assert line.startswith(f"Linked as the records stood on {block['index_date']}, the test year's list would find")
    assert f"({block['found_at_capacity_full']:.0f} with all records)" in line


def test_the_figures_are_the_trained_models_on_the_as_of_rows(county):
    """Re-scoring data/features_as_of with the model run.json names gives metrics.json's figures."""
    from models.as_of_evaluation import score_rows
    from models.evaluation import metrics_blocks
    from pipeline.core.tracking import load_sklearn_model, tracking_uri

    metrics = _metrics(county)
    block = metrics["test_as_of_linkage"]
    run = json.loads((county / f"data/models/{MODEL}/run.json").read_text())
    frame = pd.read_parquet(county / f"data/features_as_of/{MODEL}.parquet")
    scored = score_rows(load_sklearn_model(run["model_uri"], tracking_uri(county)), frame, run["feature_columns"])
    rows = scored[scored["outcome"].notna()]
    again = metrics_blocks(rows["outcome"].astype("int64"), {"m": (rows["margin_released"], rows["score_released"])},
                           metrics["capacity"], person_id=rows["person_id"].astype(str).to_numpy(),
                           tie_seed=metrics["selection"]["tie_break_seed"], n_boot=50)["m"]
    for name in ("auc", "precision_at_capacity", "lift_at_capacity"):
        assert block["metrics"][name] == pytest.approx(again[name])
