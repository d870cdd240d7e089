"""The weighting (AIPW) judged against the truth of its own estimand: the offered rows it kept after trimming.

A small county with help on and NO unmeasured confounder (``confounder_strength: 0``): the rows the weighting
compared are written under data/impact/ and mapped to the truth through data/truth/person_map.parquet, and its
estimate is judged against mean(y1 − y0) over exactly the offered rows among them. It should then cover that
truth. About two and a half minutes on two cores.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest

from pipeline.impact.truth_check import OWN_ESTIMAND_KEY, check_against_truth, own_estimand_truth
from tests.test_pipeline.test_impact.test_stage import _env, _params, _riskpipe


@pytest.fixture(scope="module")
def unconfounded(tmp_path_factory):
    root = tmp_path_factory.mktemp("impact_unconfounded")
    _params(root, 10000, help_on=True, confounder_strength=0.0)
    env = _env()
    for step in (["synth"], ["ingest"], ["pseudonymise"], ["link"], ["impact"]):
        done = _riskpipe(root, env, *step)
        assert done.returncode == 0, f"{step}: {done.stdout[-2000:]}{done.stderr[-3000:]}"
    yield root
    shutil.rmtree(root, ignore_errors=True)


def _checks(root: Path) -> dict[tuple[str, str, str], dict]:
    truth = json.loads((root / "reports/impact/truth_check.json").read_text())
    return {(c["programme"], c["outcome"], c["design"]): c for c in truth["checks"]}


def test_the_weighting_is_judged_against_the_offered_rows_it_kept(unconfounded):
    root = unconfounded
    effects = json.loads((root / "data/truth/help/effects.json").read_text())["early_help_offer"]
    assert effects["confounder_strength"] == 0
    rows = pd.read_parquet(root / "data/impact/aipw_rows_early_help_offer_referral_12m.parquet")
    for design in ("aipw", "ipw_naive"):
        check = _checks(root)[("early_help_offer", "referral", design)]
        assert check["truth_key"] == OWN_ESTIMAND_KEY and check["truth"] is not None, check
        assert check["offered_rows"] == int(rows["offered"].sum())
        # nearly every kept offered row maps to its true child and run (linkage errors aside)
        assert check["matched"] >= 0.95 * check["offered_rows"] > 0, check


def test_without_the_confounder_aipw_covers_the_truth_of_the_rows_it_kept(unconfounded):
    # each run compared on its own, among the children ranked where offers are made (stage.trial_rows); a listed
    # child a practitioner chose not to offer is a comparison, not an offer
    checks = _checks(unconfounded)
    for outcome in ("referral", "care_entry"):
        check = checks[("early_help_offer", outcome, "aipw")]
        assert check["covered"], f"{outcome}: truth {check['truth']} outside [{check['ci_low']}, {check['ci_high']}]"
    # the naive comparison, over every child scored, still shows harm where the offer helps
    naive = checks[("early_help_offer", "referral", "naive_difference")]
    assert naive["effect"] > 0 > naive["truth"] and not naive["covered"], naive


def test_the_rows_aipw_kept_are_written_under_data_not_reports(unconfounded):
    root = unconfounded
    rows = pd.read_parquet(root / "data/impact/aipw_rows_early_help_offer_referral_12m.parquet")
    assert list(rows.columns) == ["person_id", "run_id", "offered"]
    assert rows["offered"].astype(bool).any() and (~rows["offered"].astype(bool)).any()
    # each run is a comparison of its own: a child appears once per run, is offered at most once, and has no
    # row after that offer
    assert not rows.duplicated(["person_id", "run_id"]).any()
    offered = rows[rows["offered"].astype(bool)]
    assert not offered.duplicated("person_id").any()
    estimate = next(e for e in json.loads((root / "reports/impact/estimates.json").read_text())["estimates"]
                    if (e["programme"], e["outcome"], e["design"]) == ("early_help_offer", "referral", "aipw"))
    assert (estimate["n_treated"], estimate["n_comparison"]) == (int(rows["offered"].sum()),
                                                                 int((~rows["offered"].astype(bool)).sum()))
    assert not list((root / "reports").rglob("aipw_rows*"))


def test_own_estimand_truth_averages_y1_minus_y0_over_the_offered_rows_only():
    rows = pd.DataFrame({"person_id": ["a", "b", "c", "d"], "run_id": ["R1", "R1", "R2", "R1"],
                         "offered": [1, 1, 1, 0]})
    true_person = pd.DataFrame({"person_id": ["a", "b", "d"], "true_person_id": [1, 2, 4]})  # c is not linked
    scores = pd.DataFrame({"run_id": ["R1", "R2", "R1", "R1", "R2"], "person_id": [1, 1, 2, 4, 3],
                           "y0_referral_12m": [True, True, False, True, True],
                           "y1_referral_12m": [False, True, False, False, False]})
    got = own_estimand_truth(rows, true_person, scores, "referral", 12)
    # a in R1: -1; b in R1: 0; c unmapped; d not offered (its -1 is not counted); a's R2 row was not kept
    assert got == {"truth": -0.5, "offered_rows": 3, "matched": 2}
    assert own_estimand_truth(rows, true_person, scores, "referral", 24)["truth"] is None  # no such truth


def test_the_weighting_is_judged_on_its_own_estimand_and_the_naive_one_on_the_itt():
    effects = {"early_help_offer": {"itt_list_route_referral_12m_pp": -3.0}}
    estimates = [{"programme": "early_help_offer", "outcome": "referral", "horizon_months": 12, "design": d,
                  "effect": -0.06, "ci_low": -0.09, "ci_high": -0.035, "flags": []}
                 for d in ("aipw", "ipw_naive", "naive_difference")]
    own = {("early_help_offer", "referral", 12): {"truth": -0.05, "offered_rows": 100, "matched": 99}}
    got = {c["design"]: c for c in check_against_truth(estimates, effects, own)["checks"]}
    assert got["aipw"]["truth"] == got["ipw_naive"]["truth"] == -0.05 and got["aipw"]["covered"]
    assert got["naive_difference"]["truth"] == pytest.approx(-0.03) and not got["naive_difference"]["covered"]
    # without the rows' truth the weighting falls back to the list-route ITT
    fallback = {c["design"]: c for c in check_against_truth(estimates, effects)["checks"]}
    assert fallback["aipw"]["truth"] == pytest.approx(-0.03) and not fallback["aipw"]["covered"]


def test_an_area_estimate_is_judged_over_its_own_window_and_in_its_own_units():
    effects = {"pilot": {"att_referrals_per_1000_per_quarter": -6.0,
                         "att_referrals_per_1000_per_quarter_through": {"2025-10-01": -4.5, "2026-01-01": -6.0}}}
    base = {"programme": "pilot", "outcome": "referral", "horizon_months": 0, "flags": []}
    estimates = [
        # the synthetic control's panel ends a quarter before the truth's average: judged on its window
        {**base, "design": "synthetic_control", "effect": -4.0, "ci_low": -5.0, "ci_high": -3.0,
         "diagnostics": {"last_period": "2025-10-01"}},
        # a monthly series: a third of the quarterly truth (-6 / 3 = -2)
        {**base, "design": "its_controlled", "effect": -1.5, "ci_low": -2.5, "ci_high": -0.5,
         "diagnostics": {"period_months": 1}},
        # neither: the truth as planted
        {**base, "design": "cs_did", "effect": -5.0, "ci_low": -5.8, "ci_high": -4.2, "diagnostics": {}},
    ]
    got = {c["design"]: c for c in check_against_truth(estimates, effects)["checks"]}
    assert got["synthetic_control"]["truth"] == -4.5 and got["synthetic_control"]["covered"]
    assert got["synthetic_control"]["truth_key"].endswith("_through[2025-10-01]")
    assert got["its_controlled"]["truth"] == pytest.approx(-2.0) and got["its_controlled"]["covered"]
    assert got["cs_did"]["truth"] == -6.0 and not got["cs_did"]["covered"]


def test_the_last_complete_period_counts_an_extract_taken_on_its_last_day():
    from pipeline.impact.panels import last_complete

    assert last_complete(pd.Timestamp("2026-03-31"), "Q") == pd.Timestamp("2026-01-01")
    assert last_complete(pd.Timestamp("2026-03-30"), "Q") == pd.Timestamp("2025-10-01")
    assert last_complete(pd.Timestamp("2026-03-31"), "M") == pd.Timestamp("2026-03-01")
    assert last_complete(pd.Timestamp("2026-03-15"), "M") == pd.Timestamp("2026-02-01")
