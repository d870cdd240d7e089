"""The whole-population benchmark's record of the adult models' evaluation (#18 figures) and its totals."""

from __future__ import annotations

import json

from benchmarks.whole_population import summarise
from benchmarks.whole_population_report import model_figures, render_section

MACHINE = {"date": "2026-11-28", "commit": "abc1234", "cpu": "test", "cores": 2, "memory_gb": 8}


def _metrics() -> dict:
    top = [{"share": s, "people": 10, "admitted_rate": 0.5, "lift": lift, "share_of_admitted_people": 0.1,
            "share_of_admissions": 0.1} for s, lift in ((0.005, 12.5), (0.01, 9.0), (0.05, 4.25))]
    return {
        "test": {"auc": 0.781, "n": 1000, "prevalence": 0.09, "lift_top_0_5pct": 12.5, "lift_top_1pct": 9.0,
                 "lift_top_5pct": 4.25, "oe_ratio": 0.97, "auc_ci": [0.7, 0.8]},
        "baselines": {"generator": {"auc": 0.802, "n": 1000, "prevalence": 0.09, "lift_top_0_5pct": 15.0,
                                    "lift_top_1pct": 10.0, "lift_top_5pct": 4.5, "oe_ratio": 1.0}},
        "adult": {"rows": 1000, "models": {"lightgbm": {
            "top": top, "auroc": 0.781,
            "no_prior_admission": {"share_of_cohort": 0.85, "auroc": 0.71, "share_of_admitted_people": 0.7},
            "calibration_by_age_band": [{"group": "85+", "people": 60, "observed_to_expected": 1.08}],
            "calibration_by_imd_quintile": [{"group": "1", "people": 60, "observed_to_expected": 0.93}],
            "by_risk_band": [{"band": "top 0.5%", "admitted_rate": 0.5, "died_rate": 0.2}]}}},
        "competing_risks": {"by_band": [{"band": "top 1%", "12m": {"care_home": 0.153, "death": 0.228}}],
                            "bulky": list(range(100))},
    }


def test_model_figures_read_the_evaluation_and_render_in_the_section(tmp_path):
    (tmp_path / "metrics.json").write_text(json.dumps(_metrics()))
    figures = model_figures(tmp_path)
    assert figures["test"]["released"]["auc"] == 0.781 and figures["test"]["generator"]["auc"] == 0.802
    assert "bulky" not in figures["competing_risks"]  # only the figures the section shows are kept
    run = {"features:m": {"wall_s": 10.0, "peak_rss_mb": 100.0}, "evaluate:m": {"wall_s": 5.0, "peak_rss_mb": 50.0},
           "model_figures": {"m": figures}}
    size = summarise(run)
    # the figures are not a stage: totals count the stages only; two stages are not the pipeline end to end
    assert not size["complete"] and size["total_wall_s"] == 15.0 and size["peak_rss_mb"] == 100.0
    rest = ("synth", "ingest", "pseudonymise", "link", "train:m")
    every = {stage: {"wall_s": 1.0, "peak_rss_mb": 10.0} for stage in rest}
    assert summarise(run | every)["complete"]
    text = render_section({"machine": MACHINE, "python": "3.11", "sizes": {"100000": size}})
    assert "| model_figures |" not in text
    assert "AUROC released 0.781, generator 0.802" in text
    assert "released 12.5 / 9.0 / 4.2" in text and "generator 15.0 / 10.0 / 4.5" in text
    assert "85+ 1.08" in text and "top 1% 15.3% / 22.8%" in text


def test_a_model_without_an_evaluation_has_no_figures(tmp_path):
    assert model_figures(tmp_path) == {}
