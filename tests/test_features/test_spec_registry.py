"""Model specs load strictly; the registry decides model inputs and keeps fairness attributes apart.

Models are declared once (a spec file plus its name in params.yaml); the kinds a spec names are looked
up in the features side's registries, and its population decides feature groups, audits and age bands.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from features.build import build_events
from features.cohorts import COHORT_KINDS, INDEX_DATE_KINDS, build_cohort
from features.context import age_band
from features.kinds import KindRegistry, UnknownKindError
from features.outcomes import OUTCOME_KINDS
from features.populations import CHILDREN, POPULATIONS, Population, UnknownPopulationError, get_population
from features.registry import FEATURES, GROUPS, feature_columns
from features.spec_checks import check_spec_kinds
from models.spec import SPECS_DIR, ModelSpecError, list_model_specs, load_model_spec, parse_model_spec
from pipeline.core.config import ConfigError, load_params
from pipeline.core.io import read_yaml

from .conftest import spec_with

ROOT = Path(__file__).resolve().parents[2]


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


def test_label_keyed_exclusion_is_refused_with_its_replacement():
    with pytest.raises(ModelSpecError, match="negative by construction.*left_before_window"):
        spec_with("neet18", exclusions={"no_nccis_record": True})


def test_care_entry_scores_only_children_not_open_to_social_care():
    spec = load_model_spec("care_entry")
    assert spec.exclusions.open_to_social_care_on_index and spec.exclusions.looked_after_on_index
    assert spec_with("neet18").exclusions.open_to_social_care_on_index is False  # off unless a spec says so


def test_capacity_by_year_overrides_the_default_for_named_years():
    spec = spec_with("care_entry", capacity_per_year=200, capacity_by_year={2026: 180})
    assert spec.capacity_in(2026) == 180 and spec.capacity_in(2025) == 200 and spec.capacity_in(None) == 200
    with pytest.raises(ModelSpecError, match="capacity_by_year.2026.*greater than 0"):
        spec_with("care_entry", capacity_by_year={2026: 0})


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


# ---------------------------------------------------------------- models declared once: params list, kinds, populations


def test_every_listed_model_has_a_spec_whose_kinds_population_and_features_exist():
    listed = load_params(ROOT / "params.yaml").models
    assert listed and len(set(listed)) == len(listed)
    for name in {*listed, *list_model_specs()}:
        spec = check_spec_kinds(load_model_spec(name))
        assert spec.population in POPULATIONS


def test_params_models_must_each_have_a_spec(tmp_path):
    params = tmp_path / "params.yaml"
    params.write_text("models: [neet18, neet19]\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"no model spec for \['neet19'\].*known specs: .*neet18"):
        load_params(params)
    params.write_text("models: [neet18, neet18]\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="more than once"):
        load_params(params)
    params.write_text("models: [../neet18]\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="lower-case"):
        load_params(params)


@pytest.mark.parametrize(("section", "registry"), [("cohort", COHORT_KINDS), ("index_dates", INDEX_DATE_KINDS),
                                                   ("outcome", OUTCOME_KINDS)])
def test_an_unknown_kind_fails_listing_the_known_ones(section, registry):
    spec = spec_with("neet18", **{section: {"kind": "year_11"}})  # any text passes the spec's own checks
    with pytest.raises(ModelSpecError, match=rf"{section}\.kind 'year_11'; known kinds: "
                                             rf"{', '.join(registry.kinds())}"):
        check_spec_kinds(spec)
    with pytest.raises(UnknownKindError, match="known kinds"):
        registry.get("year_11")


def test_build_cohort_dispatches_through_the_registries(tables, person_index):
    events = build_events(tables, person_index)
    cohort = build_cohort(events, spec_with("neet18"))
    assert set(cohort["index_date"]) == {pd.Timestamp("2020-01-16")}  # the Year 9 census, not Year 8's
    with pytest.raises(UnknownKindError, match="cohort.kind 'nope'"):
        build_cohort(events, spec_with("neet18", cohort={"kind": "nope"}))


def test_a_kind_is_registered_once():
    registry = KindRegistry("outcome")
    registry.register("a")(len)
    assert registry.get("a") is len and "a" in registry and registry.kinds() == ("a",)
    with pytest.raises(ValueError, match="registered twice"):
        registry.register("a")(len)


def test_the_shipped_kinds_are_the_ones_the_specs_document():
    assert set(COHORT_KINDS.kinds()) == {"year9_on_roll", "known_to_services", "gp_registered", "community_registered",
                                         "ld_older_carer"}
    assert set(INDEX_DATE_KINDS.kinds()) == {"spring_census", "annual"}
    assert set(OUTCOME_KINDS.kinds()) == {"nccis_neet", "care_entry", "emergency_spell", "care_home_entry",
                                          "ld_unplanned_move"}


def test_populations_name_registry_groups_and_fairness_features():
    fair = {n for n, f in FEATURES.items() if f.group == "fairness"}
    for population in POPULATIONS.values():
        assert set(population.feature_groups) <= set(GROUPS)
        assert {c for cols in population.fairness_attributes.values() for c in cols} <= fair
        assert set(population.report_attributes) <= fair
        lows = [low for low, _, _ in population.age_bands]
        assert lows == sorted(lows) and all(low <= high for low, high, _ in population.age_bands)
    assert spec_with("neet18").population == "children"


def test_an_unknown_population_fails_listing_the_known_ones():
    spec = spec_with("neet18", population="pensioners")
    with pytest.raises(ModelSpecError, match="unknown population 'pensioners'; known populations: children, adults"):
        check_spec_kinds(spec)
    with pytest.raises(UnknownPopulationError):
        get_population("pensioners")


def test_a_population_offers_only_its_feature_groups(monkeypatch):
    school_only = Population("pupils", "test population", feature_groups=("school", "fairness"))
    monkeypatch.setitem(POPULATIONS, "pupils", school_only)
    spec = spec_with("neet18", population="pupils", features={"include": []})  # empty = every model feature
    cols = feature_columns(spec)
    assert cols and {FEATURES[c].group for c in cols} == {"school"}
    assert cols == [c for c in feature_columns(spec_with("neet18")) if FEATURES[c].group == "school"]
    with pytest.raises(ValueError, match="population 'pupils' does not allow: \\['health'\\]"):
        feature_columns(spec_with("neet18", population="pupils", features={"include": ["school", "health"]}))


def test_age_bands_come_from_the_population():
    ages = pd.Series([0, 3, 12, 17, 18, None], dtype="Int64")
    assert age_band(ages, CHILDREN.age_bands).tolist()[:4] == ["under 1", "1-4", "10-15", "16-17"]
    assert age_band(ages, CHILDREN.age_bands)[4:].isna().all()
    assert age_band(ages, ((0, 9, "young"), (10, 99, "older"))).tolist()[:5] == ["young"] * 2 + ["older"] * 3
