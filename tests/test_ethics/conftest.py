"""A tiny trained project (features, model, evaluation outputs) for the governance and score tests.

Files follow docs/contracts.md. MLflow is replaced by an in-memory stand-in for
``pipeline.core.tracking`` so the gate -> alias -> score path runs in a second, offline.
"""

from __future__ import annotations

import functools
import hashlib
import json
import sys
import types
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from lightgbm import LGBMClassifier
from sklearn.calibration import CalibratedClassifierCV
from sklearn.frozen import FrozenEstimator
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer

from ethics.checklist import CHECKLIST_FILE, THRESHOLDS_FILE
from pipeline.core import config as core_config
from pipeline.core.tracking import TrackingError
from pipeline.privacy.tokens import make_tokens

MODEL = "m1"
FEATURES = ["absence_rate_test", "cin_referrals_test"]
KEY = bytes(range(32))
LEDGER_KEY = bytes(range(32, 64))  # held apart from the pseudonymisation key, as riskpipe requires


def _training_data() -> tuple[pd.DataFrame, pd.Series, int]:
    rng = np.random.default_rng(0)
    n = 400
    X = pd.DataFrame({"absence_rate_test": rng.uniform(0, 0.5, n), "cin_referrals_test": rng.integers(0, 3, n)})
    y = (rng.uniform(size=n) < 0.05 + X["absence_rate_test"] + 0.1 * X["cin_referrals_test"]).astype(int)
    return X, y, n


@functools.cache
def _fit_model_cached() -> object:
    X, y, _ = _training_data()
    return _fit_model(X, y.to_numpy())


def _fit_model(X: pd.DataFrame, y: np.ndarray):
    pipe = Pipeline([("cast", FunctionTransformer(lambda d: d.astype("float64"))),
                     ("lgbm", LGBMClassifier(n_estimators=30, min_child_samples=5, verbose=-1, random_state=0))])
    pipe.fit(X, y)
    return CalibratedClassifierCV(FrozenEstimator(pipe), method="sigmoid").fit(X, y)


def write_project(root: Path) -> dict:
    """Write the fixture project under ``root``; return handles the tests need."""
    X, y, n = _training_data()
    people = [f"P{i:08d}" for i in range(n)]
    model = _fit_model_cached()
    features = X.assign(person_id=people, index_date=pd.Timestamp("2025-01-16"), index_year=2025,
                        outcome=pd.array([pd.NA] * n, dtype="Int8"))
    (root / "data/features").mkdir(parents=True)
    features.to_parquet(root / "data/features/m1.parquet")
    mdir = root / "data/models" / MODEL
    mdir.mkdir(parents=True)
    split = np.array(["train"] * 100 + ["validation"] * 100 + ["test"] * 100 + ["score"] * 100)
    years = np.array([2021] * 100 + [2022] * 100 + [2023] * 100 + [2025] * 100)
    scores = pd.DataFrame({"person_id": people, "index_date": pd.Timestamp("2025-01-16"), "index_year": years,
                           "split": split, "outcome": y, "score_released": 0.1, "score_logistic": 0.1,
                           "score_rule": 1})
    scores.loc[split != "score", "index_date"] = pd.Timestamp("2022-01-16")
    scores.to_parquet(mdir / "scores.parquet")
    ethics = root / "ethics"
    (ethics / "contexts").mkdir(parents=True)
    (ethics / "thresholds.yaml").write_bytes(THRESHOLDS_FILE.read_bytes())
    (ethics / "checklist.yaml").write_bytes(CHECKLIST_FILE.read_bytes())
    context = {"title": "Test model", "owner": "Test directorate", "contact": "team@example.org",
               "purpose": "Testing", "intended_uses": ["testing"], "out_of_scope_uses": ["decisions"],
               "label_meaning": "a test label", "human_review": "always", "challenge_route": "a route",
               "ethical_considerations": ["none"], "caveats": ["synthetic"]}
    (ethics / "contexts" / "m1.yaml").write_text(yaml.safe_dump(context))
    th_hash = hashlib.sha256((ethics / "thresholds.yaml").read_bytes()).hexdigest()
    run = {"run_id": "r1", "model_uri": "runs:/r1/model", "model_version": "3", "tracking_uri": "memory",
           "feature_columns": FEATURES, "thresholds_sha256": th_hash,
           "evaluation_outcomes": {"validation": {"year": 2022, "positives": 40},
                                   "test": {"year": 2023, "positives": 40}}}
    (mdir / "run.json").write_text(json.dumps(run))
    block = {"auc": 0.8, "auc_ci": [0.76, 0.84], "precision_at_capacity": 0.35, "lift_at_capacity": 4.0,
             "calibration_slope": 1.02, "oe_ratio": 0.97, "prevalence": 0.08, "n": 100, "brier": 0.07,
             "precision_at_capacity_ci": [0.25, 0.45], "lift_at_capacity_ci": [3.0, 5.0],
             "calibration_slope_ci": [0.85, 1.15], "oe_ratio_ci": [0.85, 1.1],
             "precision_gain_over_rule": {"value": 0.15, "ci": [0.05, 0.25]}}
    metrics = {"capacity": 20, "test_index_date": "2023-01-19", "selection": {"tie_break_seed": 7}, "test": block,
               "validation": block,
               "baselines": {"rule": {**block, "precision_at_capacity": 0.20, "precision_at_capacity_ci": [0.1, 0.3]},
                             "logistic": block}}
    reports = root / "reports" / MODEL
    reports.mkdir(parents=True)
    (reports / "metrics.json").write_text(json.dumps(metrics))
    group_metrics = pd.DataFrame({
        "attribute": ["sex", "sex", "ethnicity_group", "ethnicity_group", "ethnicity_group"],
        "group": ["F", "M", "White", "Black", "Other"],
        "n": [500, 520, 700, 200, 12], "positives": [40, 42, 50, 20, 3],
        "fnr": [0.30, 0.36, 0.31, 0.40, None], "oe_ratio": [1.0, 0.95, 1.02, 0.9, None],
        # each group's O/E over everyone's, from the same bootstrap replicates (the subgroup_calibration check)
        "ratio_oe_ratio": [1.03, 0.98, 1.05, 0.93, None],
        "ratio_oe_ratio_ci_low": [0.85, 0.8, 0.9, 0.7, None], "ratio_oe_ratio_ci_high": [1.2, 1.18, 1.2, 1.2, None],
        "suppressed": [False, False, False, False, True]})
    group_metrics.to_csv(reports / "group_metrics.csv", index=False)
    pd.DataFrame({"model": "lightgbm", "bin": range(5), "mean_predicted": [0.02, 0.05, 0.1, 0.2, 0.4],
                  "observed": [0.02, 0.06, 0.09, 0.22, 0.38], "n": 100}
                 ).to_csv(reports / "calibration.csv", index=False)
    (reports / "features.json").write_text(json.dumps(
        {"max_event_date_before_index": {"school": {"2025-01-16": "2025-01-10"},
                                         "health": {"2025-01-16": "2024-12-01"}},
         "leakage_perturbation": {"sampled": 300, "rows_compared": 300, "differing_rows": 0,
                                  "differing_features": {}}}))
    rates = {"ethnicity_group": {"White": {"rate": 0.95, "records": 900}, "Black": {"rate": 0.93, "records": 300}},
             "sex": {"F": {"rate": 0.94, "records": 600}, "M": {"rate": 0.95, "records": 600}}}
    linkage = {"truth": {"precision": 0.99, "recall": 0.98},
               "link_rates": {"social_care_to_school": {"overall": 0.94, "records": 1200, "by_group": rates}}}
    (root / "reports/linkage.json").write_text(json.dumps(linkage))
    monitor = {"extract_date": "2026-03-31", "series_tested": 120, "breaks": [],
               "watched": [{"source": "school", "table": "school_exclusion", "columns": ["category"]}]}
    (root / "reports/monitor.json").write_text(json.dumps(monitor))
    # person index and pseudonymised event tables: half the people are at school, a few known to social care
    upns = pd.Series([f"A{i:012d}" for i in range(n)])
    child_ids = pd.Series([f"C{i}" for i in range(0, n, 4)])
    index = pd.concat([
        pd.DataFrame({"table": "school", "record_key_tok": make_tokens(upns, "upn", KEY), "person_id": people}),
        pd.DataFrame({"table": "social_care", "record_key_tok": make_tokens(child_ids, "la_child_id", KEY),
                      "person_id": people[::4]}),
    ], ignore_index=True).assign(match_probability=1.0, match_route="deterministic")
    (root / "data/linked").mkdir(parents=True)
    index.to_parquet(root / "data/linked/person_index.parquet")
    (root / "data/pseudo").mkdir(parents=True)
    pd.DataFrame({"upn_tok": make_tokens(upns, "upn", KEY), "census_date": pd.Timestamp("2025-01-16")}
                 ).to_parquet(root / "data/pseudo/school_pupil.parquet")
    pd.DataFrame({"la_child_id_tok": make_tokens(child_ids, "la_child_id", KEY),
                  "referral_date": pd.Timestamp("2024-06-01")}).to_parquet(root / "data/pseudo/cin_episode.parquet")
    (root / ".secrets").mkdir()
    (root / ".secrets/pseudo.key").write_text(KEY.hex() + "\n")
    (root / ".secrets/ledger.key").write_text(LEDGER_KEY.hex() + "\n")
    for key_file in (root / ".secrets").iterdir():
        key_file.chmod(0o600)
    params = {"models": [MODEL],
              "govern": {"checklist_file": "ethics/checklist.yaml", "thresholds_file": "ethics/thresholds.yaml",
                         "contexts_dir": "ethics/contexts"},
              "score": {"draft_mode": True}}
    (root / "params.yaml").write_text(yaml.safe_dump(params))
    return {"root": root, "params": root / "params.yaml", "model": model, "upns": upns, "child_ids": child_ids,
            "features": features}


class FakeTracking(types.ModuleType):
    """In-memory stand-in for pipeline.core.tracking: tags, the `approved` alias, artifacts, the model.

    The registry holds versions ``versions`` of ``riskpipe-m1``, each logged from run ``run_ids[version]``
    (default ``r1``) with model files whose SHA-256 is ``model_sha256`` (change it to stand for other
    files); ``failing`` names the calls that raise :class:`TrackingError` (as the real module does when
    MLflow fails).
    """

    TrackingError = TrackingError

    def __init__(self, model) -> None:
        super().__init__("pipeline.core.tracking")
        self.model, self.tags, self.aliases, self.artifacts = model, {}, {}, []
        self.versions, self.failing = {"1", "2", "3"}, set()
        self.run_ids, self.model_sha256 = {}, "f" * 64
        self.ledger_anchors = {}  # log name -> anchor, as tags of the MLflow experiment riskpipe-ledger

    def _maybe_fail(self, call):
        if call in self.failing:
            raise TrackingError(f"MLflow could not {call}: ConnectionError: fake outage")

    def tracking_uri(self, root="."):
        return "memory"

    def registered_model_name(self, model):
        return f"riskpipe-{model}"

    def model_version_exists(self, name, version, uri=None):
        self._maybe_fail("model_version_exists")
        return name == f"riskpipe-{MODEL}" and str(version) in self.versions

    def tag_model_version(self, name, version, tags, uri=None):
        self._maybe_fail("tag_model_version")
        self.tags.setdefault((name, str(version)), {}).update(tags)

    def revoke_approval(self, name, version, reason, uri=None):
        self._maybe_fail("revoke_approval")
        if self.aliases.get((name, "approved"), {}).get("version") != str(version):
            return False
        del self.aliases[(name, "approved")]
        self.tag_model_version(name, version, {"governance.status": "revoked"})
        return True

    def model_version_run_id(self, name, version, uri=None):
        self._maybe_fail("model_version_run_id")
        return self.run_ids.get(str(version), "r1")

    def model_artifact_sha256(self, model_uri, uri=None):
        self._maybe_fail("model_artifact_sha256")
        return self.model_sha256

    def load_model_files(self, model_uri, uri=None):
        self._maybe_fail("load_model_files")
        return self.model, self.model_sha256

    def set_alias_by_hand(self, version, release_digest=""):
        """``set_registered_model_alias`` called directly (with, if given, a copied release digest tag)."""
        self.aliases[(f"riskpipe-{MODEL}", "approved")] = {
            "version": str(version), "approval_ref": "forged", "release_digest": release_digest,
            "run_id": self.run_ids.get(str(version), "r1")}

    def record_governance(self, name, version, run_id, result, files, uri=None):
        self.tag_model_version(name, version, {"governance.status": result["status"]})
        if result["status"] == "approved":
            self.aliases[(name, "approved")] = {"version": str(version), "approval_ref": result["approval_ref"],
                                                "release_digest": result["release_digest"],
                                                "run_id": self.run_ids.get(str(version), "r1")}
        else:
            self.revoke_approval(name, version, "blocked")
        self.artifacts += [Path(f).name for f in files]

    def log_run_artifacts(self, run_id, files, artifact_path, uri=None):
        self._maybe_fail("log_run_artifacts")
        self.artifacts += [Path(f).name for f in files]

    def approved_model_version(self, name, uri=None):
        self._maybe_fail("approved_model_version")
        return self.aliases.get((name, "approved"))

    def record_ledger_anchor(self, log_name, anchor, uri=None, experiment_id=None):
        self._maybe_fail("record_ledger_anchor")
        self.ledger_anchors[log_name] = dict(anchor)

    def ledger_anchor(self, log_name, uri=None):
        self._maybe_fail("ledger_anchor")
        return self.ledger_anchors.get(log_name)

    def ledger_experiment(self, log_name, uri=None):
        return "ledger", self.ledger_anchor(log_name, uri)

    def ensure_ledger_experiment(self, uri=None):
        self._maybe_fail("ensure_ledger_experiment")
        return "ledger"

    def load_sklearn_model(self, model_uri, uri=None):
        return self.model


@pytest.fixture
def project(tmp_path, monkeypatch):
    # the keys come from the project's own .secrets/ files, never from the environment running the tests
    monkeypatch.delenv("RISKPIPE_PSEUDO_KEY", raising=False)
    monkeypatch.delenv("RISKPIPE_LEDGER_KEY", raising=False)
    handles = write_project(tmp_path)
    # params.yaml lists m1 under models:, which needs a spec file by that name
    specs = tmp_path / "specs"
    specs.mkdir()
    (specs / f"{MODEL}.yaml").write_text("name: m1\n")
    monkeypatch.setattr(core_config, "MODEL_SPECS_DIR", specs)
    fake = FakeTracking(handles["model"])
    monkeypatch.setitem(sys.modules, "pipeline.core.tracking", fake)
    import pipeline

    monkeypatch.setattr(pipeline, "tracking", fake, raising=False)
    preregister_fixture(tmp_path)
    return {**handles, "tracking": fake}


def preregister_fixture(root: Path) -> dict:
    """What ``riskpipe train`` does first: register m1's thresholds and checklist (the preregistration log)."""
    from ethics.release_store import preregister
    from pipeline.core.config import GovernParams
    from pipeline.core.paths import project_paths

    cfg = GovernParams(checklist_file="ethics/checklist.yaml", thresholds_file="ethics/thresholds.yaml",
                       contexts_dir="ethics/contexts")
    return preregister(project_paths(root), cfg, MODEL)
