"""The older-carer planning register's two scores and how well they do, with the uncertainty of few events.

The register (``features.ld_older_carer``) holds a few hundred people and a handful of unplanned moves a year,
so the scores are deliberately small:

- the **rule**: a points score a planning team can read (DOMAIN_ADULTS.md §6c: carer age, sole carer, carer
  frailty and health, no carer's assessment), scored by :class:`models.rule_score.RuleScore`, never learnt;
- a **penalised logistic regression** (scikit-learn, L2, the penalty chosen by cross-validated log loss over
  folds that each hold events). Gradient boosting (LightGBM) is not used: with tens of events it would fit
  noise, and a planning team cannot read it.

Every figure carries an interval or says why it has none: below ``MIN_EVENTS`` events (or non-events) AUROC,
the calibration slope and their intervals are "too few events to estimate"; O/E always has its exact
Poisson interval; the events captured in the top ``k`` come with the events available.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression, LogisticRegressionCV
from sklearn.model_selection import StratifiedKFold
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from models.metrics.calibration import calibration_slope_intercept
from models.metrics.discrimination import auc_with_ci
from models.offer_split import observed_over_expected
from models.preprocess import FeatureFrameCaster
from models.rule_score import RuleScore

MIN_EVENTS = 10  # fewer events (or non-events) than this: no AUROC or slope is reported, only counts and O/E
TOO_FEW = "too few events to estimate"
# (feature, op, value, points): older carers, a sole carer, the carer's frailty and health, no carer support
RULE_CRITERIA: list[tuple[str, str, float, int]] = [
    ("carer_age_min", ">=", 80, 2),        # the youngest carer at home is 80 or over
    ("carer_age_min", ">=", 75, 1),        # ... or 75-79 (points add: 80+ scores 3)
    ("sole_carer", "==", 1, 2),            # no second carer in the household
    ("carer_efi_max", ">=", 6, 1),         # a carer with 6+ frailty deficits
    ("carer_emergency_12m", ">=", 1, 1),   # a carer admitted as an emergency in the last year
    ("carer_dementia", "==", 1, 1),
    ("carer_assessed_ever", "==", 0, 1),   # no carer's assessment or carer support on record
]


# plain words for a planning register's reasons; the carers' health (frailty, admissions, dementia) scores points
# but is never printed on the register: it is another person's special-category data
REASON_WORDS = {
    ("carer_age_min", 80): "the youngest carer at home is 80 or over",
    ("carer_age_min", 75): "the youngest carer at home is 75 or over",
    ("sole_carer", 1): "one carer at home, no second carer",
    ("carer_assessed_ever", 0): "no carer's assessment or carer support on record",
}


def register_reasons(rows: pd.DataFrame, criteria: list[tuple[str, str, float, int]] | None = None) -> list[str]:
    """Per register row, the rule's reasons that may be shown, in plain words joined by "; " (the carers'
    health is counted in the points, never named; of the age reasons only the highest is given)."""
    shown = [(feature, op, value) for feature, op, value, _ in criteria or RULE_CRITERIA
             if (feature, value) in REASON_WORDS]
    hits = {(feature, value): RuleScore([(feature, op, value, 1)]).fit(rows).decision_function(rows) > 0
            for feature, op, value in shown}
    over_80, over_75 = REASON_WORDS[("carer_age_min", 80)], REASON_WORDS[("carer_age_min", 75)]
    out = []
    for i in range(len(rows)):
        words = [REASON_WORDS[key] for key, hit in hits.items() if hit[i]]
        if over_80 in words:
            words = [w for w in words if w != over_75]
        out.append("; ".join(words))
    return out


def rule_points(rows: pd.DataFrame, criteria: list[tuple[str, str, float, int]] | None = None) -> np.ndarray:
    """The rule's points per register row (the columns of ``features.ld_older_carer.REGISTER_COLUMNS``)."""
    rule = RuleScore(criteria or RULE_CRITERIA).fit(rows)
    return rule.decision_function(rows)


def fit_penalised(rows: pd.DataFrame, y: np.ndarray, columns: list[str] | tuple[str, ...], *, seed: int = 0):
    """L2-penalised logistic regression on standardised ``columns``, the penalty chosen by cross-validated
    log loss; folds = min(5, events), so each holds an event. The pipeline takes the features frame as it is
    (columns cast to numbers, a missing value imputed by the training rows' median).

    Returns:
        The fitted scikit-learn pipeline, or None when the training rows hold fewer than ``MIN_EVENTS``
        events or non-events (too few to fit honestly).
    """
    y = np.asarray(y, dtype=int)
    events = int(y.sum())
    if events < MIN_EVENTS or len(y) - events < MIN_EVENTS:
        return None
    folds = StratifiedKFold(n_splits=min(5, events), shuffle=True, random_state=seed)
    # the caster and the imputer let the released model (models.few_events) take the features frame as it is
    model = Pipeline([
        ("features", FeatureFrameCaster(list(columns), [], as_category=False)),
        ("impute", SimpleImputer(strategy="median", keep_empty_features=True)),
        ("scale", StandardScaler()),
        ("logistic", LogisticRegressionCV(Cs=np.logspace(-3, 1, 9), l1_ratios=(0.0,), cv=folds,
                                          scoring="neg_log_loss", max_iter=2000, use_legacy_attributes=False)),
    ])
    return model.fit(rows[list(columns)], y)


def calibrate_points(points: np.ndarray, y: np.ndarray) -> LogisticRegression | None:
    """A one-variable logistic map from the rule's points to a probability (fitted on training years), so
    the rule's calibration can be judged like the model's; None with too few events."""
    y = np.asarray(y, dtype=int)
    if y.sum() < MIN_EVENTS or len(y) - y.sum() < MIN_EVENTS:
        return None
    return LogisticRegression(C=1e6, max_iter=1000).fit(np.asarray(points, float).reshape(-1, 1), y)


def top_k_captured(y: np.ndarray, score: np.ndarray, k: int, *, seed: int = 0) -> dict:
    """Events among the ``k`` highest scores (ties broken at random, seeded), of the events there were."""
    y = np.asarray(y, dtype=int)
    order = np.lexsort((np.random.default_rng(seed).random(len(y)), -np.asarray(score, float)))
    captured = int(y[order[:k]].sum())
    events = int(y.sum())
    return {"k": int(min(k, len(y))), "captured": captured, "events": events,
            "share": round(captured / events, 4) if events else None}


def evaluate_scores(y: np.ndarray, scores: dict[str, np.ndarray], probabilities: dict[str, np.ndarray], k: int,
                    *, n_boot: int = 500, seed: int = 0) -> dict:
    """Per score: AUROC with a bootstrap interval (or ``TOO_FEW``), events in the top ``k``, and for
    scores with a probability O/E (exact Poisson interval) and the calibration slope.

    Returns:
        ``{"rows", "events", "scores": {name: {...}}}``; an unestimable figure is None with a ``note``.
    """
    y = np.asarray(y, dtype=int)
    events = int(y.sum())
    enough = events >= MIN_EVENTS and len(y) - events >= MIN_EVENTS
    out: dict = {"rows": int(len(y)), "events": events, "scores": {}}
    for name, score in scores.items():
        block: dict = {"top_k": top_k_captured(y, score, k, seed=seed)}
        if enough:
            auc = auc_with_ci(y, score, n_boot=n_boot, seed=seed)
            block.update(auroc=auc["auc"], auroc_ci=auc["auc_ci"])
        else:
            block.update(auroc=None, auroc_ci=[None, None], note=TOO_FEW)
        p = probabilities.get(name)
        if p is not None:
            block["observed_expected"] = observed_over_expected(events, float(np.sum(p)))
            block["calibration_slope"] = (calibration_slope_intercept(y, p)["calibration_slope"] if enough
                                          else None)
        out["scores"][name] = block
    return out
