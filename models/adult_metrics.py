"""Evaluation figures the adults' models report beside the general ones (issue #18), as pure functions.

The Combined Predictive Model was judged by how concentrated admissions are at the top of its list (the
top 0.5% were 18.6 times as likely as average to be admitted), by what it finds among people with no
emergency admission in the prior two years (where prevention has room: a list of past admitters is what
practices already had), and published models reach AUROC about 0.77-0.80, so an internal AUROC above
0.9 is read as a leakage signal, not a success. Deaths in the horizon are shown by risk band, beside the
admissions, because death competes with every adult outcome. Calibration is shown by age band and
deprivation quintile, where admission rates differ most.

Every function takes the test year's labelled rows: ``outcome`` (0/1), a score column (higher = more
risk) and, where named, ``outcome_spells`` (emergency spells in the window), ``outcome_death``,
``emergency_spells_24m`` and the ``fair_*`` attributes.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

TOP_SHARES = (0.005, 0.01, 0.05)
RISK_BANDS = ((0.0, 0.005, "top 0.5%"), (0.005, 0.01, "0.5-1%"), (0.01, 0.05, "1-5%"), (0.05, 0.2, "5-20%"),
              (0.2, 1.0, "rest"))
LEAKAGE_AUROC = 0.9  # published whole-population models reach 0.77-0.80 (DOMAIN_ADULTS.md §1)
PRIOR_COLUMN = "emergency_spells_24m"
MIN_GROUP_ROWS = 50  # calibration groups with fewer rows are not shown (too few to read, and identifying)


def risk_rank(score: pd.Series, seed: int = 0) -> pd.Series:
    """Each row's place in the list, 0 = highest score; ties broken by a seeded draw (as the list breaks them)."""
    jitter = np.random.default_rng(seed).random(len(score))
    order = np.lexsort((jitter, -score.to_numpy(dtype="float64")))
    rank = np.empty(len(score), dtype=np.int64)
    rank[order] = np.arange(len(score))
    return pd.Series(rank, index=score.index)


def top_share_lift(rows: pd.DataFrame, score: str, shares: Sequence[float] = TOP_SHARES, seed: int = 0
                   ) -> list[dict]:
    """For the top ``share`` of the list: people, their admission rate, its lift over the average, and the
    share of all admitted people (and, with ``outcome_spells``, of all admissions) they hold.

    Returns:
        one dict per share: ``share, people, admitted_rate, lift, share_of_admitted_people`` and
        ``share_of_admissions`` (None without ``outcome_spells``); rates None when no one is admitted.
    """
    y = rows["outcome"].astype("float64")
    rank = risk_rank(rows[score], seed)
    base = float(y.mean()) if len(y) else float("nan")
    spells = rows["outcome_spells"].astype("float64") if "outcome_spells" in rows.columns else None
    out = []
    for share in shares:
        top = rank < max(int(round(share * len(rows))), 1)
        rate = float(y[top].mean())
        out.append({
            "share": share, "people": int(top.sum()), "admitted_rate": rate,
            "lift": rate / base if base > 0 else None,
            "share_of_admitted_people": float(y[top].sum() / y.sum()) if y.sum() > 0 else None,
            "share_of_admissions": float(spells[top].sum() / spells.sum())
            if spells is not None and spells.sum() > 0 else None,
        })
    return out


def auroc(y: pd.Series, score: pd.Series) -> float | None:
    """AUROC, or None when only one class is present."""
    y = y.astype("int64")
    return float(roc_auc_score(y, score.astype("float64"))) if y.nunique() == 2 else None


def no_prior_admission(rows: pd.DataFrame, score: str, prior: str = PRIOR_COLUMN) -> dict:
    """AUROC and admission rate among people with no emergency admission in the prior two years.

    Returns:
        ``people, admitted, admitted_rate, auroc, share_of_cohort``; and ``share_of_admitted_people``: the
        share of all admitted people who had no prior admission (the ones a past-admissions list cannot see).
    """
    none_before = rows[prior].fillna(0).eq(0)
    sub = rows[none_before]
    y = rows["outcome"].astype("float64")
    return {"people": int(len(sub)), "admitted": int(sub["outcome"].sum()),
            "admitted_rate": float(sub["outcome"].astype("float64").mean()) if len(sub) else None,
            "auroc": auroc(sub["outcome"], sub[score]) if len(sub) else None,
            "share_of_cohort": float(none_before.mean()),
            "share_of_admitted_people": float(y[none_before].sum() / y.sum()) if y.sum() > 0 else None}


def outcomes_by_band(rows: pd.DataFrame, score: str, bands=RISK_BANDS, seed: int = 0) -> list[dict]:
    """Admissions and deaths (the competing outcome) in each risk band of the list.

    Returns:
        one dict per band: ``band, people, admitted_rate, died_rate, died_without_admission_rate``.
    """
    rank = risk_rank(rows[score], seed) / max(len(rows), 1)
    y = rows["outcome"].astype("float64")
    died = rows["outcome_death"].astype("float64")
    out = []
    for low, high, label in bands:
        inside = (rank >= low) & (rank < high)
        n = int(inside.sum())
        out.append({"band": label, "people": n,
                    "admitted_rate": float(y[inside].mean()) if n else None,
                    "died_rate": float(died[inside].mean()) if n else None,
                    "died_without_admission_rate": float((died[inside] * (1 - y[inside])).mean()) if n else None})
    return out


def calibration_by(rows: pd.DataFrame, probability: str, group: str, min_rows: int = MIN_GROUP_ROWS) -> list[dict]:
    """Mean predicted probability against the observed rate in each group of ``group`` (O/E = observed ÷
    expected); groups under ``min_rows`` rows are left out.

    A group in which no one had the outcome in the test year has ``observed`` 0 and O/E 0, which read alone
    looks like gross over-prediction; the counts beside them (``observed_count`` 0 against, say, 4.2
    ``expected_count``) let a reader say "no one in this group had the outcome, about 4 were expected".

    Returns:
        one dict per group: ``group, people, mean_predicted, observed, observed_to_expected``, and
        ``observed_count`` (people with the outcome) and ``expected_count`` (the sum of their predicted
        probabilities).
    """
    out = []
    for value, part in rows.groupby(group, dropna=True, observed=True):
        if len(part) < min_rows:
            continue
        predicted = part[probability].astype("float64")
        outcome = part["outcome"].astype("float64")
        expected, observed = float(predicted.mean()), float(outcome.mean())
        out.append({"group": str(value), "people": int(len(part)), "mean_predicted": expected,
                    "observed": observed, "observed_to_expected": observed / expected if expected > 0 else None,
                    "observed_count": int(outcome.sum()), "expected_count": float(predicted.sum())})
    return out


def leakage_warning(test_auroc: float | None, threshold: float = LEAKAGE_AUROC) -> str | None:
    """A warning when the test AUROC is above ``threshold``: a sign that a feature sees the outcome."""
    if test_auroc is None or test_auroc <= threshold:
        return None
    return (f"test AUROC {test_auroc:.3f} is above {threshold}: published whole-population admission models "
            "reach about 0.77-0.80, so look for a feature that sees the outcome before trusting it")


def adult_block(test: pd.DataFrame, models: dict[str, tuple[str, str]], *, seed: int = 0) -> dict:
    """The ``adult`` block of metrics.json: every figure above for each model's scores of the test year.

    Args:
        test: the test year's labelled rows (see the module docstring).
        models: model name -> (ranking column, probability column), those present in ``test``.
        seed: the spec's seed (ties at a cut broken as the list breaks them).
    """
    out: dict = {"rows": int(len(test)), "admitted_rate": float(test["outcome"].astype("float64").mean()),
                 "died_rate": float(test["outcome_death"].astype("float64").mean())
                 if "outcome_death" in test.columns else None, "models": {}}
    for name, (rank_col, prob_col) in models.items():
        block = {"top": top_share_lift(test, rank_col, seed=seed),
                 "no_prior_admission": no_prior_admission(test, rank_col)
                 if PRIOR_COLUMN in test.columns else None,
                 "by_risk_band": outcomes_by_band(test, rank_col, seed=seed)
                 if "outcome_death" in test.columns else None,
                 "calibration_by_age_band": calibration_by(test, prob_col, "fair_age_band")
                 if "fair_age_band" in test.columns else None,
                 "calibration_by_imd_quintile": calibration_by(test, prob_col, "fair_imd_quintile")
                 if "fair_imd_quintile" in test.columns else None}
        test_auroc = auroc(test["outcome"], test[rank_col])
        block["auroc"] = test_auroc
        block["leakage_warning"] = leakage_warning(test_auroc) if name != "generator" else None
        out["models"][name] = block
    return out
