"""The features stage's IO: the files it writes hold exactly what ``build_features`` returns; missing inputs stop it."""

from __future__ import annotations

import json
from datetime import date

import pandas as pd
import pytest
import yaml

import models.spec
from features.build import build_features
from features.stage import FeatureInputsMissing, run_features
from models.spec import ModelSpecError
from pipeline.core.config import FeaturesParams
from pipeline.core.io import read_yaml, write_parquet
from pipeline.core.paths import project_paths

from .conftest import tiny_person_index, tiny_tables

EXTRACT = date(2026, 3, 31)
SPLIT = {"index_dates": {"first_year": 2018, "last_year": 2020},
         "split": {"train_years": [2018], "validation_year": 2019, "test_year": 2020, "score_year": None}}


@pytest.fixture
def specs_dir(tmp_path, monkeypatch):
    """neet18 with index years 2018-2020 (the tiny county's), as the only spec on file."""
    raw = read_yaml(models.spec.SPECS_DIR / "neet18.yaml")
    for key, value in SPLIT.items():
        raw[key] = {**raw.get(key, {}), **value}
    folder = tmp_path / "specs"
    folder.mkdir()
    (folder / "neet18.yaml").write_text(yaml.safe_dump(raw), encoding="utf-8")
    monkeypatch.setattr(models.spec, "SPECS_DIR", folder)
    return folder


@pytest.fixture
def project(tmp_path):
    paths = project_paths(tmp_path / "project")
    for name, frame in tiny_tables().items():
        write_parquet(frame, paths.pseudo_table(name))
    write_parquet(tiny_person_index(), paths.person_index)
    return paths


def test_writes_the_frame_and_report_that_build_features_returns(specs_dir, project):
    written = list(run_features(["neet18"], FeaturesParams(extract_date=EXTRACT, duckdb_threads=1), project))
    expected = build_features(tiny_tables(), tiny_person_index(), models.spec.load_model_spec("neet18"), EXTRACT)

    assert [w.model for w in written] == ["neet18"]
    assert written[0].frame_file == project.features / "neet18.parquet"
    frame = pd.read_parquet(written[0].frame_file)
    pd.testing.assert_frame_equal(frame, expected.frame)
    report = json.loads((project.reports / "neet18" / "features.json").read_text())
    assert report == json.loads(json.dumps(expected.report, default=str))
    labelled = expected.frame["outcome"].dropna()
    assert (written[0].rows, written[0].labelled) == (len(expected.frame), len(labelled))
    assert written[0].prevalence == pytest.approx(labelled.mean())
    assert written[0].leakage_check_passed


def test_missing_tables_are_named_before_anything_is_built(specs_dir, project):
    project.pseudo_table("ks2").unlink()
    with pytest.raises(FeatureInputsMissing, match=r"\['ks2'\]"):
        run_features(["neet18"], FeaturesParams(), project)
    assert not project.features.exists()


def test_missing_person_index_is_named(specs_dir, project):
    project.person_index.unlink()
    with pytest.raises(FeatureInputsMissing, match="person_index.parquet"):
        run_features(["neet18"], FeaturesParams(), project)


def test_an_unknown_spec_stops_before_inputs_are_checked(specs_dir, tmp_path):
    with pytest.raises(ModelSpecError, match="nosuch"):
        run_features(["neet18", "nosuch"], FeaturesParams(), project_paths(tmp_path / "empty"))
