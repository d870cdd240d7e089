"""A tiny synthetic features frame and spec that follow docs/contracts.md."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from models.spec import parse_model_spec
from pipeline.core.paths import ProjectPaths

FEATURES = ["attendance_rate_12m", "exclusions_12m", "sen_status", "referrals_12m"]


def make_features(n_per_year: int = 400, years=range(2015, 2021), seed: int = 0) -> pd.DataFrame:
    """Rows per index year with a known risk: more absence, exclusions, referrals and SEN = more risk."""
    rng = np.random.default_rng(seed)
    frames = []
    for year in years:
        n = n_per_year
        attendance = np.clip(rng.normal(0.93, 0.06, n), 0.4, 1.0)
        exclusions = rng.poisson(0.3, n)
        referrals = rng.poisson(0.2, n)
        sen = rng.choice(["none", "support", "ehcp"], n, p=[0.8, 0.15, 0.05])
        z = -3.2 + 12 * (0.93 - attendance) + 0.6 * exclusions + 0.7 * referrals + 0.8 * (sen != "none")
        p = 1 / (1 + np.exp(-z))
        outcome = pd.array((rng.random(n) < p).astype("int8"), dtype="Int8")
        frames.append(pd.DataFrame({
            "person_id": [f"p{year}_{i}" for i in range(n)],
            "index_date": pd.Timestamp(f"{year}-01-20"),
            "index_year": year,
            "outcome": outcome,
            "attendance_rate_12m": attendance,
            "exclusions_12m": exclusions,
            "sen_status": pd.Series(sen, dtype="str"),
            "referrals_12m": referrals,
            "fair_sex": rng.choice(["M", "F"], n),
            "fair_ethnicity_group": rng.choice(["White", "Asian", "Black", "Mixed"], n),
            "fair_sen": sen,
            "fair_fsm": rng.random(n) < 0.25,
            "fair_imd_quintile": pd.array(rng.integers(1, 6, n), dtype="Int8"),
            "fair_age_band": "13-14",
            "p_true": p,
        }))
    frame = pd.concat(frames, ignore_index=True)
    frame["index_date"] = frame["index_date"].astype("datetime64[us]")
    return frame


SPEC = {
    "name": "toy",
    "title": "Toy model",
    "description": "synthetic test model",
    "cohort": {"kind": "year9_on_roll", "nc_year": 9},
    "index_dates": {"kind": "spring_census", "first_year": 2015, "last_year": 2020},
    "outcome": {"kind": "nccis_neet"},
    "features": {"include": FEATURES},
    "split": {"train_years": [2015, 2016, 2017], "validation_year": 2018, "test_year": 2019},
    "capacity_per_year": 40,
    "seed": 7,
    "learners": {
        "lightgbm": {"n_estimators": 200, "learning_rate": 0.1, "early_stopping_rounds": 20, "n_jobs": 1},
        "rule": {"criteria": [
            {"feature": "attendance_rate_12m", "op": "<", "value": 0.9, "points": 2},
            {"feature": "exclusions_12m", "op": ">=", "value": 1, "points": 1},
            {"feature": "referrals_12m", "op": ">=", "value": 1, "points": 1},
        ]},
    },
}


@pytest.fixture(scope="session")
def toy_features() -> pd.DataFrame:
    return make_features()


@pytest.fixture(scope="session")
def toy_spec():
    return parse_model_spec(SPEC)


@pytest.fixture(scope="session")
def trained(toy_features, toy_spec):
    from models.training import train_models

    return train_models(toy_features, toy_spec, FEATURES)


@pytest.fixture(scope="session")
def feature_names() -> list[str]:
    return list(FEATURES)


@pytest.fixture(scope="session")
def features_factory():
    return make_features


@dataclass(frozen=True)
class ToyProject:
    """A project folder after ``run_train`` and ``run_evaluate`` of the toy spec."""

    paths: ProjectPaths
    specs_dir: Path
    thresholds_file: Path
    trained: object
    evaluated: object


# the smallest group the toy evaluation publishes (the CLI passes the gate's min_group_size; the toy county is small)
TOY_MIN_GROUP = 10
# the stages choose model inputs through the feature registry, which calls exclusions "suspensions"
REGISTRY_NAMES = {"exclusions_12m": "suspensions_12m"}
# registry inputs typed as the features stage types them: age in months as nullable Int64 (blank when the
# month of birth is unknown), a binary flag as int8; MLflow's schema check once rejected the Int64 column
REGISTRY_EXTRA = ("age_months", "fsm_now")


def registry_spec_raw() -> dict:
    """``SPEC`` with feature names the registry knows (what ``models/specs/toy.yaml`` would hold)."""
    raw = yaml.safe_load(yaml.safe_dump(SPEC))
    raw["features"]["include"] = [REGISTRY_NAMES.get(n, n) for n in FEATURES] + list(REGISTRY_EXTRA)
    for criterion in raw["learners"]["rule"]["criteria"]:
        criterion["feature"] = REGISTRY_NAMES.get(criterion["feature"], criterion["feature"])
    return raw


def write_toy_spec(folder: Path) -> Path:
    """A specs folder holding ``toy.yaml`` (``registry_spec_raw``)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "toy.yaml").write_text(yaml.safe_dump(registry_spec_raw()), encoding="utf-8")
    return folder


@pytest.fixture(scope="session")
def registry_features(toy_features) -> pd.DataFrame:
    """The toy features frame as the features stage would write it for ``registry_spec_raw``."""
    frame = toy_features.drop(columns="p_true").rename(columns=REGISTRY_NAMES)
    rng = np.random.default_rng(1)
    age = pd.array(rng.integers(156, 168, len(frame)), dtype="Int64")
    age[rng.random(len(frame)) < 0.02] = pd.NA
    fsm = frame["fair_fsm"].astype("int8").to_numpy()
    return frame.assign(age_months=age, fsm_now=fsm)[
        [*frame.columns[:frame.columns.get_loc("fair_sex")], "age_months", "fsm_now",
         *frame.columns[frame.columns.get_loc("fair_sex"):]]]


@pytest.fixture(scope="session")
def registry_spec():
    return parse_model_spec(registry_spec_raw())


@pytest.fixture(scope="module")
def toy_project(tmp_path_factory, registry_features) -> ToyProject:
    """The toy spec trained and evaluated through the stage functions, MLflow in the project's SQLite file."""
    import models.spec
    from features.populations import CHILDREN
    from features.registry import feature_columns
    from models.evaluate_stage import run_evaluate
    from models.train_stage import run_train
    from pipeline.core.config import EvaluateParams, TrainParams
    from pipeline.core.io import write_parquet
    from pipeline.core.paths import project_paths

    root = tmp_path_factory.mktemp("toy_project")
    paths = project_paths(root)
    write_parquet(registry_features, paths.features_table("toy"))
    thresholds_file = root / "thresholds.yaml"
    thresholds_file.write_text("min_precision_at_capacity: 0.1\n", encoding="utf-8")
    specs_dir = write_toy_spec(root / "specs")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(models.spec, "SPECS_DIR", specs_dir)
        patch.delenv("MLFLOW_TRACKING_URI", raising=False)
        trained = run_train("toy", TrainParams(), paths, params_file=root / "params.yaml",
                            thresholds_file=thresholds_file, choose_inputs=feature_columns)
        evaluated = run_evaluate("toy", EvaluateParams(n_boot=20), paths, key_file=root / "no.key",
                                 fairness_attributes=CHILDREN.fairness_attributes, min_group_n=TOY_MIN_GROUP)
    return ToyProject(paths, specs_dir, thresholds_file, trained, evaluated)
