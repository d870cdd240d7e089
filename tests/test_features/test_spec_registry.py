"""Model specs load strictly; the registry decides model inputs and keeps fairness attributes apart."""

from __future__ import annotations

import pytest

from features.registry import FEATURES, feature_columns
from models.spec import SPECS_DIR, ModelSpecError, list_model_specs, load_model_spec, parse_model_spec
from pipeline.core.io import read_yaml

from .conftest import spec_with


def test_shipped_specs_load_and_name_known_features():
    assert {"neet18", "care_entry"} <= set(list_model_specs())
    for name in ("neet18", "care_entry"):
        spec = load_model_spec(name)
        cols = feature_columns(spec)
        assert cols and all(FEATURES[c].role == "model" for c in cols)
        assert not any(c.startswith("fair_") for c in cols)
        assert all(c.feature in FEATURES for c in spec.learners.rule.criteria)


def test_misspelt_key_fails_naming_it():
    raw = read_yaml(SPECS_DIR / "neet18.yaml")
    raw["outcome"]["horizon_month"] = 12
    with pytest.raises(ModelSpecError, match="outcome.horizon_month"):
        parse_model_spec(raw, "neet18")


def test_split_must_be_out_of_time():
    with pytest.raises(ModelSpecError, match="precede"):
        spec_with("neet18", split={"train_years": [2020], "validation_year": 2019, "test_year": 2021})


def test_fairness_input_needs_explicit_permission():
    with pytest.raises(ModelSpecError, match="allow_fairness_inputs"):
        spec_with("neet18", features={"fairness_inputs": ["fair_sex"]})
    spec = spec_with("neet18", features={"fairness_inputs": ["fair_sex"], "allow_fairness_inputs": True})
    assert "fair_sex" in feature_columns(spec)
    assert "fair_ethnicity_group" not in feature_columns(spec)


def test_never_features_cannot_become_inputs():
    spec = spec_with("neet18", features={"fairness_inputs": ["fair_sen"], "allow_fairness_inputs": True})
    with pytest.raises(ValueError, match="fairness_only"):
        feature_columns(spec)


def test_exclude_and_groups():
    spec = spec_with("care_entry", features={"include": ["health"], "exclude": ["ae_attendances_ever"]})
    cols = feature_columns(spec)
    assert cols and all(FEATURES[c].group == "health" for c in cols)
    assert "ae_attendances_ever" not in cols


def test_every_feature_is_described():
    for f in FEATURES.values():
        assert f.description and f.source and f.window
        assert f.kind in ("numeric", "binary", "categorical")
        assert (f.sql is None) == (f.domain is None)
    roles = {n: f.role for n, f in FEATURES.items()}
    assert roles["fair_sex"] == roles["fair_ethnicity_group"] == "fairness_only"
