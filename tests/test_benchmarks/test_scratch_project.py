"""The benchmarks' shared scratch project: both drivers make it and walk the stages the same way."""

from __future__ import annotations

import datetime as dt

import yaml

import benchmarks.run
import benchmarks.whole_population as whole_population
from benchmarks.ld_older_carer import pipeline_project
from benchmarks.scratch_project import make_scratch_project, run_stages

MODELS = ["emergency_admission", "care_home_admission"]


def test_run_stages_runs_a_model_stage_per_model_and_stops_after_a_failed_stage():
    calls = []

    def run_one(stage, name, args):
        calls.append((stage, name, args))
        return {"failed": True} if name == "train:care_home_admission" else {"wall_s": 1.0}

    out = run_stages(["synth", "link", "train", "evaluate"], 50, MODELS, run_one,
                     after_stage=lambda stage, so_far: {"seen": {"stages": len(so_far)}} if stage == "link" else {})
    assert calls == [("synth", "synth", ["--children", "50"]), ("link", "link", []),
                     ("train", "train:emergency_admission", ["--model", "emergency_admission"]),
                     ("train", "train:care_home_admission", ["--model", "care_home_admission"])]
    assert list(out) == ["synth", "link", "seen", "train:emergency_admission", "train:care_home_admission"]
    assert out["seen"] == {"stages": 2}  # called once the stage's runs were recorded


def test_the_register_project_runs_the_same_stages_with_the_same_settings_and_keys(tmp_path, monkeypatch):
    calls = []
    monkeypatch.setattr(benchmarks.run, "run_stage",
                        lambda stage, work, extra: calls.append((stage, work, extra)) or {"wall_s": 1.0})
    project = pipeline_project(7, tmp_path / "county-7", children=120, population=2000, dyads_per_100k=2500)
    # the stages and arguments the driver ran before it shared the loop; synth's --children repeats params.yaml's
    before = [("synth", []), ("ingest", []), ("pseudonymise", []), ("link", []),
              ("features", ["--model", "ld_older_carer"])]
    assert [(stage, extra) for stage, _, extra in calls] == [
        (s, ["--children", "120"] if s == "synth" else e) for s, e in before]
    assert all(work == project for _, work, _ in calls)
    synth = yaml.safe_load((project / "params.yaml").read_text())["synth"]
    assert (synth["seed"], synth["children"], synth["adults"]["population"],
            synth["adults"]["ld_with_older_parents_per_100k"]) == (7, 120, 2000, 2500)
    keys = [project / ".secrets" / name for name in ("pseudo.key", "ledger.key")]
    assert all(key.stat().st_size > 0 for key in keys)

    # a kept project made again keeps its keys (keygen would refuse to replace them; tokens must go on matching)
    made = [(key.stat().st_ino, key.stat().st_mtime_ns) for key in keys]
    make_scratch_project(project, {"synth": synth})
    assert [(key.stat().st_ino, key.stat().st_mtime_ns) for key in keys] == made


def test_one_size_records_each_run_and_its_figures_and_stops_after_a_failure(tmp_path, monkeypatch):
    runs = []

    def guarded(stage, scratch, args, env, max_rss_mb):
        runs.append((stage, args))
        failed = stage == "evaluate" and args[-1] == "care_home_admission"
        return {"wall_s": 1.0, "cpu_s": 1.0, "peak_rss_mb": 5.0} | ({"failed": True} if failed else {})

    monkeypatch.setattr(whole_population, "make_scratch_project", lambda workdir, params, env: workdir)
    monkeypatch.setattr(whole_population, "_guarded", guarded)
    monkeypatch.setattr(whole_population, "_base_rates", lambda scratch, env: {"rate": 0.1})
    monkeypatch.setattr(whole_population, "model_figures", lambda folder: {"model": folder.name})
    stages = ["synth", "train", "evaluate", "govern"]
    out = whole_population.one_size(1000, stages, MODELS, stop_at=None, base_rates=True, workdir=tmp_path)
    assert [stage for stage, _ in runs] == ["synth", "train", "train", "evaluate", "evaluate"]  # govern not run
    assert runs[0] == ("synth", ["--children", "200"])
    assert out["base_rates"] == {"rate": 0.1}
    assert out["model_figures"] == {"emergency_admission": {"model": "emergency_admission"}}
    assert out["evaluate:care_home_admission"]["failed"] and "load_before" in out["synth"]

    past = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)
    runs.clear()
    out = whole_population.one_size(1000, ["synth", "train"], MODELS, stop_at=past, base_rates=False,
                                    workdir=tmp_path)
    assert not runs and all(record["not_run"] for record in out.values())
    assert list(out) == ["synth", "train:emergency_admission", "train:care_home_admission"]
