"""Risk-list building blocks checked against independent computations."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from lightgbm import LGBMClassifier
from sklearn.calibration import CalibratedClassifierCV
from sklearn.frozen import FrozenEstimator
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer

from pipeline.lists.explanations import explain_rows
from pipeline.lists.record_dates import last_record_dates
from pipeline.lists.release import DRAFT_BANNER, ApprovalWithdrawnError, NotApprovedError, decide_release
from pipeline.lists.scoring import score_with_contributions
from pipeline.lists.selection import band_risk, select_top_by_capacity


def test_top_by_capacity_matches_a_plain_sort_of_the_margin():
    rng = np.random.default_rng(1)
    scored = pd.DataFrame({"person_id": [f"P{i:03d}" for i in range(50)], "margin": rng.normal(size=50)})
    top = select_top_by_capacity(scored.assign(risk=1 / (1 + np.exp(-scored["margin"]))), 7, seed=1)
    assert top["person_id"].tolist() == scored.nlargest(7, "margin")["person_id"].tolist()
    assert top["rank"].tolist() == list(range(1, 8))


def test_an_adult_list_compares_with_the_adults_of_the_county():
    from features.populations import get_population

    contributions = pd.DataFrame({"b": [1.5]})
    registry = {"b": {"description": "Known to adult social care", "kind": "binary"}}
    adults = get_population("adults")
    out = explain_rows(contributions, pd.DataFrame({"b": [1]}), registry, {"b": 0.1}, people=adults.plural)
    assert out.loc[0, "reasons"] == "Known to adult social care: yes; true of 10% of adults in the county"
    assert (get_population("children").plural, get_population("ld_register").plural) == ("children", "people")


def test_bands_are_multiples_of_the_base_rate():
    bands = band_risk(pd.Series([0.9, 0.3, 0.12, 0.05]), 0.05, {"very high": 10, "high": 5, "raised": 2})
    assert [b.split(" (")[0] for b in bands] == ["very high", "high", "raised", "below the listed bands"]
    assert bands[1] == "high (at least 5 times the average risk)"


def test_explanations_take_the_largest_contributions_in_order():
    contributions = pd.DataFrame({"a": [0.5, -0.2], "b": [1.5, -0.1], "c": [-0.7, 0.0]})
    values = pd.DataFrame({"a": [0.25, 0.0], "b": [1, 0], "c": [3.0, 1.0]})
    registry = {"a": {"description": "Absence rate", "kind": "numeric"}, "b": {"description": "CIN", "kind": "binary"}}
    averages = {"a": 0.1, "b": 0.2, "c": 2.0}
    out = explain_rows(contributions, values, registry, averages, max_reasons=5, max_protective=3)
    # no wording declared: the description and value, still with the county comparison
    assert out.loc[0, "reasons"].split("\n") == ["CIN: yes; true of 20% of children in the county",
                                                 "Absence rate: 0.2; county average 0.1"]
    assert out.loc[0, "protective_factors"] == "c: 3; county average 2.0"
    assert out.loc[0, "reason_1_feature"] == "b" and out.loc[0, "reason_2_feature"] == "a"
    assert out.loc[0, "reason_1_contribution"] == 1.5 and pd.isna(out.loc[0, "reason_3_feature"])
    assert out.loc[1, "reasons"] == "no single factor stands out"
    assert out.loc[1, "protective_factors"].split("\n") == ["Absence rate: 0; county average 0.1",
                                                            "CIN: no; true of 80% of children in the county"]


def test_last_record_dates_only_before_the_index_date():
    events = pd.DataFrame({"table": ["school", "school", "health", "health"],
                           "record_key_tok": ["u1", "u1", "h1", "h2"],
                           "event_date": pd.to_datetime(["2024-01-01", "2024-06-01", "2025-02-01", "2023-03-03"])})
    index = pd.DataFrame({"table": ["school", "health", "health"], "record_key_tok": ["u1", "h1", "h2"],
                          "person_id": ["P1", "P1", "P2"]})
    out = last_record_dates(events, index, pd.Timestamp("2025-01-16")).set_index("person_id")
    assert out.loc["P1", "school_last_record"] == pd.Timestamp("2024-06-01")
    assert pd.isna(out.loc["P1", "health_last_record"])  # the only health record is after the index date
    assert out.loc["P2", "health_last_record"] == pd.Timestamp("2023-03-03")


def test_release_decision():
    assert decide_release({"version": "4", "approval_ref": "ok"}, "5", draft_mode=True, withdrawn=[]).draft is False
    draft = decide_release(None, "5", draft_mode=True, withdrawn=[])
    assert draft.draft and draft.version == "5" and draft.approval == DRAFT_BANNER
    with pytest.raises(NotApprovedError):
        decide_release(None, "5", draft_mode=False, withdrawn=[])


def test_a_withdrawn_approval_issues_nothing_not_even_a_draft():
    for draft_mode in (True, False):
        with pytest.raises(ApprovalWithdrawnError, match="v4 holds the `approved` alias but its approval no longer "
                                                         "stands: dpia: rejected"):
            decide_release({"version": "4", "approval_ref": "ok"}, "5", draft_mode=draft_mode,
                           withdrawn=["dpia: rejected by D (DPO) on 2026-01-01: E"])


def test_contributions_are_lightgbms_own_and_add_up_to_its_log_odds():
    rng = np.random.default_rng(2)
    X = pd.DataFrame({"x1": rng.normal(size=300), "x2": rng.normal(size=300)})
    y = (X["x1"] + rng.normal(size=300) > 0.5).astype(int)
    pipe = Pipeline([("cast", FunctionTransformer(lambda d: d.astype("float64"))),
                     ("lgbm", LGBMClassifier(n_estimators=20, verbose=-1, random_state=0))]).fit(X, y)
    model = CalibratedClassifierCV(FrozenEstimator(pipe), method="sigmoid").fit(X, y)
    risk, contributions = score_with_contributions(model, X)
    raw = pipe[-1].predict(X, raw_score=True)
    bias = pipe[-1].predict(X, pred_contrib=True)[:, -1]
    np.testing.assert_allclose(contributions.sum(axis=1) + bias, raw, rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(risk, model.predict_proba(X)[:, 1])
    assert list(contributions.columns) == ["x1", "x2"]
    assert contributions["x1"].abs().mean() > contributions["x2"].abs().mean()


def test_explanations_read_shares_as_percentages_and_drop_category_lists():
    contributions = pd.DataFrame({"attendance_rate_12m": [0.9], "sen_status": [0.4]})
    values = pd.DataFrame({"attendance_rate_12m": [0.8234], "sen_status": ["ehcp"]})
    registry = {"attendance_rate_12m": {"description": "Share of sessions attended", "kind": "numeric"},
                "sen_status": {"description": "SEN at the latest census: none, SEN support or EHC plan",
                               "kind": "categorical"}}
    averages = {"attendance_rate_12m": 0.9312, "sen_status": {"ehcp": 0.031, "none": 0.969}}
    out = explain_rows(contributions, values, registry, averages)
    assert out.loc[0, "reasons"].split("\n") == ["Share of sessions attended: 82%; county average 93%",
                                                 "SEN at the latest census: ehcp; true of 3% of children in the county"]


def test_list_columns_and_record_dates_follow_the_source_registry():
    from pipeline.lists.record_dates import cannot_see, record_date_columns, records_seen
    from pipeline.lists.release import Release
    from pipeline.lists.render import build_risk_list
    from pipeline.sources.registry import person_sources

    registered = [s.name for s in person_sources()]
    assert list(dict.fromkeys(c[0] for c in record_date_columns())) == registered
    sources = ["school", "social_care", "health", "nccis"]  # a children's model's sources, in registry order
    shown = [s for s in person_sources() if s.name in sources]
    assert [s.name for s in shown] == sources
    assert ("social_care", "cla_episode", "la_child_id_tok", "start_date") in record_date_columns()
    assert ("nccis", "nccis_activity", "ccis_id_tok", "date_ascertained") in record_date_columns()
    coverage = pd.DataFrame({"person_id": ["P1"], **{f"{s}_last_record": pd.Series([pd.NaT], dtype="datetime64[us]")
                                                      for s in sources}})
    coverage["nccis_last_record"] = pd.Timestamp("2024-05-17")
    # to the month: no day on a list
    assert records_seen(coverage, shown).iloc[0] == "NCCIS (last 2024-05)"
    assert cannot_see(coverage, shown).iloc[0] == "no record in school, social care or health"
    top = pd.DataFrame({"rank": [1], "person_id": ["P1"], "risk": [0.5], "band": ["high"]})
    explanations = pd.DataFrame({"reasons": ["r"], "protective_factors": ["p"]})
    listed = build_risk_list(top, explanations, coverage, Release(draft=True, version="1", approval="DRAFT"), "m",
                             shown, person_index="sha256:0123456789abcdef")
    assert list(listed.columns) == ["status", "rank", "person_token", "risk", "risk_percent", "band", "reasons",
                                    "protective_factors", "cannot_see", "records_seen",
                                    *[f"{s}_last_record" for s in sources], "model", "model_version", "approval",
                                    "person_index"]
    assert listed.loc[0, "risk"] == "about 1 in 2 (50%)"
    assert listed.loc[0, "nccis_last_record"] == "2024-05" and listed.loc[0, "school_last_record"] == "no record"
    assert not listed.astype("str").apply(lambda c: c.str.contains(r"\d{4}-\d{2}-\d{2}")).any().any()


def test_special_category_detail_is_never_a_reason_on_a_list():
    from features.registry import FEATURES
    from pipeline.lists.explanations import feature_phrasebook

    hidden = sorted(n for n, f in FEATURES.items() if not f.show_on_list)
    assert {"admissions_self_harm_ever", "cp_category_latest"} <= set(hidden)
    shown = ["referrals_12m", "fsm_now"]
    # the hidden features push hardest both ways; every other one is small
    contributions = pd.DataFrame([[3.0] * len(hidden) + [0.2, 0.1], [-3.0] * len(hidden) + [-0.2, -0.1]],
                                 columns=hidden + shown)
    values = pd.DataFrame([[1] * len(hidden) + [2, 1]] * 2, columns=hidden + shown)
    values["cp_category_latest"] = "SAB"
    averages = {n: 0.5 for n in hidden + shown} | {"cp_category_latest": {"SAB": 0.2}}
    out = explain_rows(contributions, values, feature_phrasebook(), averages, max_reasons=5, max_protective=3)
    text = " ".join(out["reasons"]) + " " + " ".join(out["protective_factors"])
    assert "self-harm" not in text and "abuse" not in text.lower() and "SAB" not in text
    for name in hidden:
        assert FEATURES[name].description.split(":")[0] not in text
    assert out.loc[0, "reasons"].split("\n") == [
        "referred to children's social care twice in the last 12 months; county average 0.5",
        "eligible for free school meals now; true of 50% of children in the county"]
    # referrals and free school meals read as risk: never shown as protective, whatever the model says
    assert out.loc[1, "protective_factors"] == "none found" and out.loc[1, "hidden_contributions"] == 2


def test_an_adult_lists_page_calls_its_people_adults():
    from pipeline.lists.release import Release
    from pipeline.lists.render import render_risk_list_html

    row = {"rank": 1, "person_token": "P1", "risk": "about 1 in 2 (50%)", "risk_percent": 50.0, "band": "high",
           "reasons": "aged 90", "protective_factors": "none found", "cannot_see": "-", "records_seen": "-",
           "status": "DRAFT", "model": "m", "model_version": "1", "approval": "-", "person_index": "sha256:x"}
    html = render_risk_list_html(pd.DataFrame([row]), pd.DataFrame({"caveat": ["draft"]}), Release(True, "1", "-"),
                                 "t", ("adults", "adult"))
    assert "Each row is one adult, highest risk first" in html and "most adults on this list" in html
    assert ">1 adult</caption>" in html and "'token'" not in html
