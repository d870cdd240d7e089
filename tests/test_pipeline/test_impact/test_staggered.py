"""Callaway–Sant'Anna on a simulated staggered rollout: covers the planted ATT; naive TWFE is pulled to zero."""

from __future__ import annotations

import json

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pandas as pd
import pytest

from pipeline.impact.estimate import FEW_CLUSTERS, PRETREND_FAILED, RECORDING_CHANGE
from pipeline.impact.staggered import estimate_staggered, plot_event_study, prepare_rollout_panel

QUARTERS = pd.date_range("2021-01-01", periods=14, freq="QS")
WAVES = {0: QUARTERS[5], 1: QUARTERS[7], 2: QUARTERS[9]}  # plus never-treated wards


def _rollout(seed: int, *, per_wave: int = 6, never: int = 6, growth: float = -1.5, pretrend: float = 0.0):
    """Ward × quarter referral rates with a rollout in 3 waves whose effect grows each quarter since go-live.

    The effect in quarter e after go-live (e = 0 at go-live) is ``growth × (e + 1)`` per 1,000 children.
    ``pretrend`` makes wards' rates climb by that much a quarter over the 4 quarters before go-live, then hold
    (the programme went where need was rising: parallel trends fail).

    Returns:
        The panel and the true overall ATT (mean planted effect over live ward-quarters).
    """
    rng = np.random.default_rng(seed)
    rows, effects = [], []
    wards = [(w, wave) for wave in (0, 1, 2) for w in range(per_wave)] + [(w, None) for w in range(never)]
    season = rng.normal(0, 1.5, len(QUARTERS)).cumsum() * 0.5
    for number, (_, wave) in enumerate(wards):
        children = int(rng.integers(3000, 6000))
        level = rng.normal(40, 6)
        go_live = WAVES[wave] if wave is not None else pd.NaT
        for t, quarter in enumerate(QUARTERS):
            rate = level + 0.3 * t + season[t]
            if wave is not None and quarter >= go_live:
                effect = growth * ((quarter.year - go_live.year) * 4 + (quarter.month - go_live.month) // 3 + 1)
                rate += effect
                effects.append(effect)
            if wave is not None:
                to_go = (go_live.year - quarter.year) * 4 + (go_live.month - quarter.month) // 3
                rate += pretrend * min(max(4 - to_go, 0), 4)
            events = rng.poisson(max(rate, 0.1) * children / 1000)
            rows.append({"ward_code": f"E05{number:06d}", "period": quarter, "children": children, "events": events,
                         "rate_per_1000": 1000 * events / children, "go_live": go_live})
    return pd.DataFrame(rows), float(np.mean(effects))


@pytest.fixture(scope="module")
def planted():
    panel, truth = _rollout(7)
    return estimate_staggered(panel, programme="key_worker", outcome="referrals"), truth


def test_cs_covers_the_planted_att_and_twfe_is_biased_toward_zero(planted):
    result, truth = planted
    assert result.overall.design == "cs_did" and result.twfe.design == "twfe"
    assert result.overall.covers(truth), (result.overall.effect, truth)
    # Effects grow with exposure: TWFE uses already-live wards as comparisons and is pulled toward zero.
    assert truth < result.twfe.effect < 0
    assert result.twfe.effect - result.overall.effect > 0.15 * abs(truth)
    assert not result.twfe.covers(truth)
    assert "toward zero" in result.overall.diagnostics["twfe_explanation"]


def test_event_study_has_pre_periods_and_effects_growing(planted):
    result, _ = planted
    cs = result.event_study.query("design == 'cs_did'").set_index("event_time")["effect"]
    assert cs.index.min() <= -4 and cs.loc[-1] == 0
    assert cs.loc[4] < cs.loc[0] < 0
    assert [e.diagnostics["event_time"] for e in result.by_event_time] == sorted(cs.index[cs.index >= 0])
    assert set(result.event_study["design"]) == {"cs_did", "twfe"}


def test_pretrend_passes_without_anticipation(planted):
    result, _ = planted
    assert result.overall.diagnostics["pretrend_p"] > 0.05
    assert result.overall.diagnostics["pretrend_event_times"] == [-5, -4, -3, -2]
    assert PRETREND_FAILED not in result.overall.flags


def test_pretrend_fails_with_a_planted_drift():
    panel, _ = _rollout(7, pretrend=2.5)
    result = estimate_staggered(panel, programme="key_worker", outcome="referrals")
    assert result.overall.diagnostics["pretrend_p"] < 0.05
    assert PRETREND_FAILED in result.overall.flags


def test_cs_matches_a_two_by_two_cell_by_hand(planted):
    result, _ = planted
    check = result.overall.diagnostics["cross_check_cell"]
    assert check["agrees"], check


def test_few_wards_are_flagged_and_recording_changes_too():
    panel, _ = _rollout(3, per_wave=3, never=4)
    regime = pd.DataFrame({"source": ["social_care"], "table": ["csc_referral"], "field": ["referral_date"],
                           "ward_code": [panel["ward_code"].iloc[0]], "change_date": ["2022-02-01"],
                           "description": ["new front door"]})
    result = estimate_staggered(panel, programme="key_worker", outcome="referrals", recording_regime=regime)
    assert FEW_CLUSTERS in result.overall.flags and RECORDING_CHANGE in result.overall.flags
    assert "too narrow" in result.overall.diagnostics["few_clusters_note"]


def test_wards_live_before_the_panel_are_dropped_and_counted():
    panel, _ = _rollout(4)
    first = panel["ward_code"].iloc[0]
    panel.loc[panel["ward_code"].eq(first), "go_live"] = pd.Timestamp("2019-06-01")
    frame, facts = prepare_rollout_panel(panel)
    assert facts["dropped_already_live_wards"] == 1 and first not in set(frame["ward_code"])


def test_unbalanced_panel_is_refused_naming_the_ward():
    panel, _ = _rollout(5)
    with pytest.raises(ValueError, match="not balanced"):
        prepare_rollout_panel(panel.iloc[1:])


def test_event_study_figure(planted, tmp_path):
    result, _ = planted
    figure = plot_event_study(result)
    labels = [t.get_text() for t in figure.axes[0].get_legend().get_texts()]
    assert any("Callaway" in label for label in labels) and any("TWFE" in label for label in labels)
    figure.savefig(tmp_path / "event_study.png")


def test_covariates_are_used_with_a_recorded_fallback_and_diagnostics_are_json(planted):
    panel, _ = _rollout(7)
    deprivation = {ward: i % 5 for i, ward in enumerate(panel["ward_code"].unique())}
    panel["deprivation_decile"] = panel["ward_code"].map(deprivation).astype(float)
    result = estimate_staggered(panel, programme="key_worker", outcome="referrals",
                                covariates=("deprivation_decile",))
    diagnostics = result.overall.diagnostics
    assert diagnostics["covariates_used"] == ["deprivation_decile"]
    assert diagnostics["estimation_method"] in {"doubly robust", "outcome regression"}
    if diagnostics["estimation_method"] == "outcome regression":
        assert any("dr with covariates" in note for note in diagnostics["library_warnings"])
    for estimate in (result.overall, result.twfe, *result.by_event_time, planted[0].overall):
        json.dumps(estimate.to_dict())


def test_anticipation_periods_are_left_out_of_the_pretrend_test():
    panel, _ = _rollout(8)
    result = estimate_staggered(panel, programme="key_worker", outcome="referrals", anticipation=1)
    # With one anticipation period the reference is -2 and -1 may already move: neither is tested.
    assert result.overall.diagnostics["pretrend_event_times"] == [-6, -5, -4, -3]
