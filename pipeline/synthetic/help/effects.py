"""The realised effects the estimators are judged against (``data/truth/help/effects.json``).

All person-level effects are mean(y1 - y0) in percentage points over runs whose 12 months ended by the
reference date; area effects are mean(y1 - y0) referrals per 1,000 resident children per quarter over
treated ward-quarters.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from pipeline.core.synth_params import HelpParams


def _pp(rows: pd.DataFrame, outcome: str) -> float | None:
    if rows.empty:
        return None
    return round(100 * float((rows[f"y1_{outcome}"].astype(int) - rows[f"y0_{outcome}"].astype(int)).mean()), 4)


def _rate(rows: pd.DataFrame, column: str) -> float | None:
    return None if rows.empty else round(100 * float(rows[column].mean()), 4)


def offer_effects(scores: pd.DataFrame, params: HelpParams, capacity: int) -> dict:
    """The early-help offer: ITT among the offered, ATT among accepters, ITT near the cut, base rates."""
    done = scores[scores["followed_up_12m"]]
    offered = done[done["offered"]]
    accepted = offered[offered["accepted"]]
    half = max(1, capacity // 2)
    near = done[(done["rank"] > capacity - half) & (done["rank"] <= capacity + half)]
    u_third = pd.qcut(offered["u"], 3, labels=["low", "middle", "high"]) if len(offered) >= 3 else None
    out = {
        "kind": "offer",
        "parameters": params.model_dump(mode="json", include={
            "years", "capacity_per_1000", "score_correlation", "override_share", "outside_list_share", "acceptance",
            "effect_care", "effect_referral", "confounder_strength"}),
        "confounder_strength": params.confounder_strength,
        "capacity_per_run": capacity,
        "runs_followed_up": int(done["run_id"].nunique()),
        "offers_followed_up": len(offered),
        "offers_by_route": {k: int(v) for k, v in offered["route"].value_counts().sort_index().items()},
        "acceptance_rate": round(float(offered["accepted"].mean()), 4) if len(offered) else None,
        "acceptance_by_u_third": ({k: round(float(v), 4) for k, v in
                                   offered.groupby(u_third, observed=True)["accepted"].mean().items()}
                                  if u_third is not None else {}),
        "at_cut_window_ranks": [capacity - half + 1, capacity + half],
    }
    for outcome in ("care_12m", "referral_12m"):
        out[f"itt_{outcome}_pp"] = _pp(offered, outcome)
        out[f"att_accepted_{outcome}_pp"] = _pp(accepted, outcome)
        out[f"at_cut_itt_{outcome}_pp"] = _pp(near, outcome)
        out[f"itt_list_route_{outcome}_pp"] = _pp(offered[offered["route"] == "list"], outcome)
        out[f"y0_{outcome}_offered_pct"] = _rate(offered, f"y0_{outcome}")
        out[f"y0_{outcome}_listed_pct"] = _rate(done[done["listed"]], f"y0_{outcome}")
        out[f"y0_{outcome}_scored_pct"] = _rate(done, f"y0_{outcome}")
        # what a naive comparison sees: realised outcome of the offered against the scored not offered
        out[f"naive_offered_vs_not_{outcome}_pp"] = (
            round(100 * float(offered[outcome].mean() - done.loc[~done["offered"], outcome].mean()), 4)
            if len(offered) else None)
    logit = np.log(scores["score"] / (1 - scores["score"]))
    out["score_correlation_with_true_log_odds"] = round(float(np.corrcoef(logit, scores["true_log_odds"])[0, 1]), 4)
    return out


def area_effects(area: pd.DataFrame, programme: str, params: dict) -> dict:
    """An area programme: ATT per 1,000 children per quarter overall and by quarter since go-live."""
    rows = area[area["programme"] == programme]
    treated = rows[rows["treated"]]
    per_1000 = 1000 * (treated["y1_referrals"] - treated["y0_referrals"]) / treated["children"].clip(lower=1)
    by_event = per_1000.groupby(treated["event_quarter"].astype(int)).mean()
    baseline = 1000 * rows["y0_referrals"].sum() / max(1, rows["children"].sum())
    return {
        "kind": "area",
        "parameters": params,
        "outcome": "referrals per 1,000 resident children 0-17 per quarter",
        "treated_wards": sorted(treated["ward_code"].unique().tolist()),
        "treated_ward_quarters": len(treated),
        "att_referrals_per_1000_per_quarter": round(float(per_1000.mean()), 4) if len(treated) else None,
        "att_relative": (round(float((treated["y1_referrals"].sum() - treated["y0_referrals"].sum())
                                     / max(1, treated["y0_referrals"].sum())), 4) if len(treated) else None),
        "by_event_quarter": {str(k): round(float(v), 4) for k, v in by_event.items()},
        # the ATT over treated ward-quarters up to and including each quarter: an estimate whose panel ends
        # earlier (the impact stage stops at the last complete quarter of its extract) is judged on its window
        "att_referrals_per_1000_per_quarter_through": {
            f"{pd.Timestamp(q):%Y-%m-%d}": round(float(per_1000[treated["quarter_start"] <= q].mean()), 4)
            for q in sorted(treated["quarter_start"].unique())},
        "mean_referrals_per_1000_per_quarter": round(float(baseline), 4),
        "mean_referrals_per_ward_quarter": round(float(rows["y0_referrals"].mean()), 4),
    }
