"""Realised performance split by whether early help was offered: the gap is the help working, not drift.

A model of risk without help (``ModelSpec.estimand``) should be calibrated among the children who were not
offered help; among those who were, fewer outcomes than predicted is what the help is for. Label-free drift
monitors (e.g. CBPE) assume P(outcome | features) is unchanged, which effective help breaks exactly for the
listed children (../shared/DOMAIN_IMPACT.md section 4), so the realised figures are split and the offered
rows' shortfall is reported as a performative gap, roughly the effect of the offer among them.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.stats import chi2
from sklearn.metrics import roc_auc_score

from models.spec import OFFER_EXPOSURE_COLUMNS

OFFERED = OFFER_EXPOSURE_COLUMNS[0]


def observed_over_expected(observed: int, expected: float, *, level: float = 0.95) -> dict:
    """O/E with an exact Poisson interval on the observed count (Garwood), the expected count taken as known.

    Returns:
        ``{"observed", "expected", "ratio", "low", "high"}`` (ratio None when nothing was expected).
    """
    alpha = 1 - level
    low = chi2.ppf(alpha / 2, 2 * observed) / 2 if observed > 0 else 0.0
    high = chi2.ppf(1 - alpha / 2, 2 * (observed + 1)) / 2
    if expected <= 0:
        return {"observed": int(observed), "expected": float(expected), "ratio": None, "low": None, "high": None}
    return {"observed": int(observed), "expected": round(float(expected), 3),
            "ratio": round(observed / expected, 4), "low": round(low / expected, 4), "high": round(high / expected, 4)}


def _stratum(rows: pd.DataFrame, score: str) -> dict:
    y = rows["outcome"].astype("int64").to_numpy()
    p = rows[score].astype("float64").to_numpy()
    auc = float(roc_auc_score(y, p)) if 0 < y.sum() < len(y) else None
    return {"rows": int(len(rows)), "outcome_rate": round(float(y.mean()), 5) if len(y) else None,
            "mean_predicted": round(float(p.mean()), 5) if len(p) else None,
            "auroc": None if auc is None else round(auc, 4),
            "observed_over_expected": observed_over_expected(int(y.sum()), float(p.sum()))}


def performance_by_offer(scores: pd.DataFrame, exposure: pd.DataFrame, *, split: str = "test",
                         score: str = "score_released") -> dict | None:
    """Realised performance of the ``split`` year's list among the offered and the not offered.

    Args:
        scores: ``person_id, index_date, split, outcome`` and ``score`` (scores.parquet).
        exposure: ``person_id, index_date, offered_in_window`` (the features frame's exposure columns).

    Returns:
        ``{"year", "offered", "not_offered", "performative_gap"}``: each stratum's rows, outcome rate, mean
        predicted risk, AUROC and O/E; the gap is the offered rows' mean predicted minus their outcome rate
        (positive = fewer outcomes than the risk without help: read as the help's effect, not drift). None when
        the split has no labelled rows or the features carry no exposure.
    """
    if OFFERED not in exposure.columns:
        return None
    keys = ["person_id", "index_date"]
    rows = scores[scores["split"].eq(split) & scores["outcome"].notna()]
    if rows.empty:
        return None
    right = pd.DataFrame({"person_id": exposure["person_id"].astype("str"),
                          "index_date": pd.to_datetime(exposure["index_date"]), OFFERED: exposure[OFFERED]})
    left = rows.assign(person_id=rows["person_id"].astype("str"), index_date=pd.to_datetime(rows["index_date"]))
    joined = left.merge(right.drop_duplicates(keys), on=keys, how="left")
    offered = joined[OFFERED].fillna(False).astype(bool).to_numpy()
    out = {"year": int(pd.to_datetime(rows["index_date"]).dt.year.max()), "score": score,
           "offered": _stratum(joined[offered], score), "not_offered": _stratum(joined[~offered], score)}
    o = out["offered"]
    out["performative_gap"] = (None if not o["rows"] else
                               round(float(o["mean_predicted"] - o["outcome_rate"]), 5))
    return out


def describe_offer_split(block: dict | None, people: str = "children") -> str:
    """One sentence for the model card from :func:`performance_by_offer`'s block (``people``: what the
    population's people are called)."""
    if not block:
        return "Not measured: the features carry no early help offer records"
    n, o = block["not_offered"], block["offered"]

    def oe(stratum: dict) -> str:
        r = stratum["observed_over_expected"]
        return "-" if r["ratio"] is None else f"{r['ratio']:.2f} (95% {r['low']:.2f}-{r['high']:.2f})"

    text = (f"In {block['year']}, among the {n['rows']:,} {people} not offered early help, observed/expected "
            f"outcomes {oe(n)}: this is the model's calibration for risk without help")
    if o["rows"]:
        points = float(np.round(block["performative_gap"] * 100, 1))
        gap = ("about as many outcomes as predicted without help" if points == 0 else
               f"{abs(points):.1f} percentage points {'fewer' if points > 0 else 'more'} outcomes than predicted "
               "without help")
        text += (f"; among the {o['rows']:,} offered, {oe(o)}, {gap}: read as the help's effect (and who was "
                 "chosen), not as the model drifting")
    return text
