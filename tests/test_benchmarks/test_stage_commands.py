"""The benchmark runs each per-model stage once for every model params.yaml lists, as dvc.yaml does."""

from __future__ import annotations

from pathlib import Path

from benchmarks.run import ALL_STAGES, MODEL_STAGES, stage_commands
from pipeline.core.config import load_params
from pipeline.core.io import read_yaml

ROOT = Path(__file__).resolve().parents[2]


def test_a_model_stage_runs_once_per_listed_model():
    assert stage_commands("train", 1000, ["a", "b_c"]) == [("train:a", ["--model", "a"]),
                                                           ("train:b_c", ["--model", "b_c"])]


def test_other_stages_run_once_and_synth_gets_the_county_size():
    assert stage_commands("synth", 1000, ["a"]) == [("synth", ["--children", "1000"])]
    assert stage_commands("link", 1000, ["a"]) == [("link", [])]


def test_the_shipped_params_list_drives_every_model_stage():
    models = load_params(ROOT / "params.yaml").models
    assert models
    dvc_stages = read_yaml(ROOT / "dvc.yaml")["stages"]
    for stage in MODEL_STAGES & set(ALL_STAGES):
        assert dvc_stages[stage]["foreach"] == "${models}"  # dvc.yaml runs the same list
        assert [name for name, _ in stage_commands(stage, 10, models)] == [f"{stage}:{m}" for m in models]
