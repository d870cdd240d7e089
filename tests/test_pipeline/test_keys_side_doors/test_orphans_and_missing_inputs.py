"""Issue 16, crashes and orphans: a killed train leaves no RUNNING MLflow run; a missing stage input says which
stage to run; notebook 01 copes with a group that has no true pairs.

Before: `kill` of `train` left its run RUNNING, later commands died with `FileNotFoundError … run.json`, and
notebook 01 raised "Cannot convert non-finite values (NA or inf) to integer".
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from pipeline.cli import app
from pipeline.core.paths import StageInputMissing, missing_input_message, producing_command, require_input

REPO = Path(__file__).resolve().parents[3]


@pytest.fixture
def store(tmp_path, monkeypatch):
    """A local MLflow store in a temporary folder (runs' artifacts land beside it, never in the repo)."""
    import mlflow

    monkeypatch.chdir(tmp_path)
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    # set_tracking_uri exports the variable: set through monkeypatch first so teardown removes it again
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    mlflow.set_tracking_uri(uri)
    yield uri
    os.environ.pop("MLFLOW_TRACKING_URI", None)


def test_sigterm_during_a_run_ends_it_failed(store):
    import mlflow
    from mlflow.tracking import MlflowClient

    from pipeline.core.tracking.interrupted_runs import TrainingInterrupted, failing_on_signals

    mlflow.set_experiment("riskpipe-toy")
    before = signal.getsignal(signal.SIGTERM)
    with pytest.raises(TrainingInterrupted, match="SIGTERM"):
        with failing_on_signals(), mlflow.start_run() as run:
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(5)  # the handler raises first
    assert MlflowClient().get_run(run.info.run_id).info.status == "FAILED"
    assert signal.getsignal(signal.SIGTERM) is before  # the previous handler is back


KILLED_TRAIN = textwrap.dedent("""
    import sys, time, mlflow
    from pipeline.core.tracking.interrupted_runs import PROCESS_TAG, this_process
    mlflow.set_tracking_uri(sys.argv[1])
    mlflow.set_experiment("riskpipe-toy")
    with mlflow.start_run(tags={PROCESS_TAG: this_process()}) as run:
        print(run.info.run_id, flush=True)
        time.sleep(600)
""")


def test_a_kill_9_run_is_ended_failed_by_the_next_train(store):
    from mlflow.tracking import MlflowClient

    from pipeline.core.tracking import end_orphaned_runs

    child = subprocess.Popen([sys.executable, "-c", KILLED_TRAIN, store], stdout=subprocess.PIPE, text=True,
                             cwd=Path.cwd(), env={**os.environ, "PYTHONPATH": str(REPO)})
    run_id = child.stdout.readline().strip()
    assert MlflowClient().get_run(run_id).info.status == "RUNNING"
    assert end_orphaned_runs("riskpipe-toy") == []  # its process is alive: not an orphan
    child.kill()  # SIGKILL: nothing in the process can end the run
    child.wait(timeout=30)
    child.stdout.close()
    assert MlflowClient().get_run(run_id).info.status == "RUNNING"  # what issue 16 found
    assert end_orphaned_runs("riskpipe-toy") == [run_id]
    ended = MlflowClient().get_run(run_id)
    assert ended.info.status == "FAILED" and "killed" in ended.data.tags["riskpipe.ended"]


@pytest.mark.parametrize(("path", "command"), [
    ("data/staged/school_pupil.parquet", "ingest"),
    ("data/pseudo/csc_person.parquet", "pseudonymise"),
    ("data/pseudo_key.json", "pseudonymise"),
    ("data/linked/person_index.parquet", "link"),
    ("data/features/neet18.parquet", "features --model neet18"),
    ("data/models/care_entry/run.json", "train --model care_entry"),
    ("reports/neet18/metrics.json", "evaluate --model neet18"),
    ("reports/neet18/governance.json", "govern --model neet18"),
    ("reports/neet18/features.json", "features --model neet18"),
    ("/elsewhere/project/data/models/neet18/scores.parquet", "train --model neet18"),
    ("notes/todo.txt", None),
])
def test_each_stage_output_names_the_command_that_makes_it(path, command):
    assert producing_command(path) == command


def test_a_missing_input_says_which_stage_to_run_first(tmp_path):
    with pytest.raises(StageInputMissing, match=r"run.json not found: run `riskpipe train --model m1` first"):
        require_input(tmp_path / "data/models/m1/run.json", tmp_path)
    assert "riskpipe synth" in missing_input_message("data/raw/health/hes_apc.csv")


def test_evaluate_without_run_json_says_run_train_not_a_traceback(tmp_path):
    shutil.copy(REPO / "params.yaml", tmp_path / "params.yaml")
    features = tmp_path / "data/features/neet18.parquet"
    features.parent.mkdir(parents=True)
    pd.DataFrame({"x": [1]}).to_parquet(features)
    scores = tmp_path / "data/models/neet18/scores.parquet"  # a train killed before writing run.json
    scores.parent.mkdir(parents=True)
    pd.DataFrame({"x": [1]}).to_parquet(scores)
    result = CliRunner().invoke(app, ["evaluate", "--model", "neet18", "--root", str(tmp_path),
                                      "--params", str(tmp_path / "params.yaml")])
    text = " ".join(result.output.split())
    assert result.exit_code == 2, result.output
    assert "Input missing" in text and "run `riskpipe" in text and "first" in text
    assert "run.json not found: run `riskpipe train --model neet18` first" in text
    assert not (tmp_path / "reports" / "neet18").exists()  # nothing half written


def linkage_report_with_an_empty_group() -> dict:
    rates = {"by_group": {a: {g: {"rate": 0.8, "records": 100} for g in groups}
                          for a, groups in {"ethnicity_group": ["Asian", "White"], "imd_quintile": ["1", "2"],
                                            "age_band": ["5-10", "11-15"], "sex": ["F", "M"]}.items()},
             "overall": 0.8, "records": 400}
    group = {"precision": 1.0, "predicted_pairs": 50, "recall": 0.98, "true_pairs": 51}
    empty = {"precision": None, "predicted_pairs": 0, "recall": None, "true_pairs": 0}
    truth = {"precision": 0.99, "recall": 0.98, "f1": 0.985, "records_evaluated": 400, "records_not_in_truth": 0,
             "by_group": {"ethnicity_group": {"Asian": group, "White": group, "Gypsy/Roma": empty},
                          "imd_quintile": {"1": group, "2": empty}},
             "worst_ethnic_group_recall": {"group": "Asian", "recall": 0.98}}
    return {
        "sources": {"school": {"records": 300, "people": 250, "records_per_person": 1.2},
                    "health": {"records": 100, "people": 100, "records_per_person": 1.0}},
        "people": 300, "records_without_key": {"school": 0}, "deterministic_links": {"nhs_number": 10},
        "ambiguous_deterministic_tokens": {}, "scored_pairs": 80, "accepted_probabilistic_pairs": 40,
        "pairs_over_threshold_without_dob_evidence": 1, "links_refused_over_source_limits": 0,
        "people_per_source_pair": {}, "training_notes": [],
        "cluster_sizes": {"by_route": {"deterministic": 200, "probabilistic": 100, "singleton": 100},
                          "records_per_person": {"1": 250, "2": 50}, "oversized": {"people": 0, "person_ids": []}},
        "link_rates": {"health_to_school": rates, "social_care_to_school": rates},
        "thresholds": {"scored": 0.5, "cluster": 0.95},
        "truth": truth, "deterministic_only": {"precision": 1.0, "recall": 0.9, "f1": 0.95},
    }


def test_linkage_truth_table_copes_with_a_group_without_true_pairs():
    from pipeline.explore.linkage import linkage_truth_table

    table = linkage_truth_table(linkage_report_with_an_empty_group())
    empty = table[table["true_pairs"] == 0]
    assert len(empty) == 2 and (empty["missed_pairs"] == 0).all() and empty["recall"].isna().all()


@pytest.mark.slow
def test_notebook_01_runs_when_a_group_has_no_true_pairs(tmp_path):
    import nbformat
    from nbclient import NotebookClient

    shutil.copy(REPO / "params.yaml", tmp_path / "params.yaml")
    shutil.copy(REPO / "dvc.yaml", tmp_path / "dvc.yaml")
    (tmp_path / "reports").mkdir()
    (tmp_path / "reports/linkage.json").write_text(json.dumps(linkage_report_with_an_empty_group()))
    levels = {f"level_{c}": ["exact", "else"] for c in ("forename", "surname", "dob", "postcode")}
    pd.DataFrame({"source_l": ["school", "health"], "record_key_tok_l": ["ab" * 16, "cd" * 16],
                  "source_r": ["health", "school"], "record_key_tok_r": ["ef" * 16, "01" * 16],
                  "match_weight": [5.0, 2.0], "match_probability": [0.97, 0.8], **levels}
                 ).to_csv(tmp_path / "reports/linkage_review.csv", index=False)
    nb = nbformat.read(REPO / "notebooks/01_linkage_quality.ipynb", as_version=4)
    NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    texts = [out.get("text", "") + json.dumps(out.get("data", {})) for cell in nb.cells
             for out in cell.get("outputs", [])]
    assert not [t for t in texts if "Traceback" in t]
    assert any("Groups with no true pairs" in t and "Gypsy/Roma" in t for t in texts)


def test_govern_without_a_trained_model_says_run_train(tmp_path, monkeypatch):
    shutil.copy(REPO / "params.yaml", tmp_path / "params.yaml")
    monkeypatch.chdir(tmp_path)  # MLflow's default store lands in the project, not the repo
    monkeypatch.setenv("RISKPIPE_PSEUDO_KEY", bytes(range(32)).hex())
    monkeypatch.setenv("RISKPIPE_LEDGER_KEY", bytes(range(40, 72)).hex())
    result = CliRunner().invoke(app, ["govern", "--model", "neet18", "--root", str(tmp_path),
                                      "--params", str(tmp_path / "params.yaml")])
    text = " ".join(result.output.split())
    assert result.exit_code == 2, result.output
    assert "Input missing:" in text and "run `riskpipe train --model neet18` first" in text
