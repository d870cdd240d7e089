"""MLflow through pipeline/core/tracking/: a real `mlflow server` on 127.0.0.1, model round trip, alias."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from pipeline.core.tracking import flatten_metrics, log_evaluation, log_training_run, tracking_uri, typical_feature_row


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def mlflow_server(tmp_path):
    port = _free_port()
    env = {**os.environ, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}
    env.pop("MLFLOW_TRACKING_URI", None)
    mlflow_bin = Path(sys.executable).parent / "mlflow"
    server = subprocess.Popen(
        [str(mlflow_bin), "server", "--host", "127.0.0.1", "--port", str(port), "--workers", "1",
         "--backend-store-uri", f"sqlite:///{tmp_path / 'server.db'}",
         "--artifacts-destination", str(tmp_path / "artifacts")],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(120):
            try:
                with urllib.request.urlopen(f"{url}/health", timeout=1) as response:
                    if response.status == 200:
                        break
            except OSError:
                time.sleep(0.5)
        else:
            pytest.fail("mlflow server did not start within 60 s")
        yield url
    finally:
        server.terminate()
        server.wait(timeout=30)


@pytest.fixture
def tiny_model():
    rng = np.random.default_rng(0)
    X = pd.DataFrame({"attendance_rate_12m": rng.uniform(0.6, 1, 200), "referrals_12m": rng.poisson(0.3, 200)})
    y = (rng.random(200) < 1 - X["attendance_rate_12m"]).astype(int)
    return LogisticRegression().fit(X, y), X, y


def test_logs_to_a_real_mlflow_server_and_round_trips_probabilities(mlflow_server, tiny_model, monkeypatch, tmp_path):
    import mlflow.pyfunc
    from mlflow.tracking import MlflowClient

    monkeypatch.setenv("MLFLOW_TRACKING_URI", mlflow_server)
    uri = tracking_uri(tmp_path)
    assert uri == mlflow_server  # the environment wins over the default SQLite file
    model, X, y = tiny_model
    lineage_file = tmp_path / "features.parquet"
    lineage_file.write_bytes(b"x")
    run = log_training_run(uri=uri, model_name="toy", model=model, X_train=X, y_train=y, spec={"name": "toy"},
                           params={"feature_columns": "a,b"}, lineage={str(lineage_file): "abc123"},
                           summary_metrics={"rows": {"train": {"rows": 200}}})
    assert run["model_version"] == 1
    client = MlflowClient(tracking_uri=uri)
    assert client.get_model_version_by_alias("riskpipe-toy", "candidate").version == "1"
    assert client.get_run(run["run_id"]).data.metrics["rows.train.rows"] == 200
    loaded = mlflow.pyfunc.load_model("models:/riskpipe-toy@candidate")
    predicted = np.asarray(loaded.predict(X.head(5)))
    np.testing.assert_allclose(predicted, model.predict_proba(X.head(5)), rtol=1e-9)
    logged = log_evaluation(uri=uri, run_id=run["run_id"], metrics={"test": {"auc": 0.8, "auc_ci": [0.7, 0.9]}})
    assert logged == 3
    assert client.get_run(run["run_id"]).data.metrics["test.auc_ci_high"] == 0.9


def test_default_uri_is_a_sqlite_file_in_the_project_root(monkeypatch, tmp_path):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    assert tracking_uri(tmp_path) == f"sqlite:///{(tmp_path / 'mlflow.db').resolve()}"


def test_flatten_metrics_keeps_numbers_and_intervals_only():
    flat = flatten_metrics({"capacity": 50, "test_index_date": "2021-01-21",
                            "test": {"auc": 0.7, "auc_ci": [0.6, None], "ok": True, "nan": float("nan")}})
    assert flat == {"capacity": 50.0, "test.auc": 0.7, "test.auc_ci_low": 0.6}


def test_input_example_is_a_typical_row_not_a_record():
    X = pd.DataFrame({"a": [1.0, 2.0, 30.0], "b": pd.Series(["x", "y", "y"], dtype="str")})
    row = typical_feature_row(X)
    assert row.to_dict("records") == [{"a": 2.0, "b": "y"}]


def test_pointing_mlflow_at_a_project_leaves_the_environment_as_the_user_set_it(tmp_path, monkeypatch):
    import os

    from pipeline.core.tracking import runs as tracking

    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    first = tracking.tracking_uri(tmp_path / "a")
    tracking._use_tracking_uri(first)
    assert "MLFLOW_TRACKING_URI" not in os.environ  # mlflow itself would have exported it
    assert tracking.tracking_uri(tmp_path / "b") != first
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "sqlite:///chosen.db")
    tracking._use_tracking_uri(first)
    assert os.environ["MLFLOW_TRACKING_URI"] == "sqlite:///chosen.db"
