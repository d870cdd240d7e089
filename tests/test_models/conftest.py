"""A tiny synthetic features frame and spec that follow docs/contracts.md."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from models.spec import parse_model_spec

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
