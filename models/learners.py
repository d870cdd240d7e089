"""The learners: LightGBM with early stopping, and an L2 logistic regression, as sklearn Pipelines.

Both start with :class:`~models.preprocess.FeatureFrameCaster`, so the logged model takes the raw
features frame (text columns included) and ``predict_proba`` works on it directly.

Speed at county scale (millions of rows, two cores): LightGBM bins each feature into at most 63
values and builds histograms column-wise (indicator and count features have few distinct values,
so ranking is unchanged in practice). The logistic regression can be fitted on every positive and
a weighted random subset of at most ``max_negatives`` negatives (see :func:`case_control_rows`).
"""

from __future__ import annotations

import lightgbm as lgb
import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from models.preprocess import FeatureFrameCaster
from models.rule_score import RuleScore

LIGHTGBM_DEFAULTS = {
    "n_estimators": 2000,
    "learning_rate": 0.03,
    "num_leaves": 15,
    "min_child_samples": 40,
    "subsample": 0.8,
    "subsample_freq": 1,
    "colsample_bytree": 0.8,
    "reg_lambda": 1.0,
    "max_bin": 63,
    "force_col_wise": True,
    "verbose": -1,
}
EARLY_STOPPING_ROUNDS = 100
LOGISTIC_DEFAULTS = {"C": 1.0, "max_iter": 2000}
# spec keys of ``learners.logistic`` that set how it is fitted rather than LogisticRegression itself
LOGISTIC_FIT_KEYS = ("max_negatives",)


def monotone_constraints(feature_columns: list[str], directions: dict[str, int]) -> list[int]:
    """LightGBM's ``monotone_constraints`` (one entry per input, in order) from a spec's ``monotone``.

    Args:
        feature_columns: the model inputs, in the order the caster passes them.
        directions: feature -> +1 (risk may only rise with it) or -1 (only fall); others are free.

    Raises:
        ValueError: a named feature is not a model input, or a direction is not +1 or -1.
    """
    unknown = sorted(set(directions) - set(feature_columns))
    if unknown:
        raise ValueError(f"learners.lightgbm.monotone names features that are not model inputs: {unknown}")
    wrong = sorted(name for name, d in directions.items() if d not in (1, -1))
    if wrong:
        raise ValueError(f"learners.lightgbm.monotone: directions must be 1 or -1 ({wrong})")
    return [int(directions.get(c, 0)) for c in feature_columns]


def make_lightgbm_pipeline(feature_columns: list[str], categorical: list[str], params: dict, seed: int) -> Pipeline:
    """Caster (categories) then ``LGBMClassifier``; spec params override the defaults.

    ``monotone`` (feature -> +1/-1) constrains the risk to rise (+1) or fall (-1) with the features that
    practitioners read as risk or protection, so the list's reasons never say "fewer suspensions, higher
    risk" (:func:`monotone_constraints`; LightGBM's ``advanced`` method).
    """
    params = dict(params)
    directions = params.pop("monotone", None)
    settings = {**LIGHTGBM_DEFAULTS, **{k: v for k, v in params.items() if k != "early_stopping_rounds"}}
    if directions:
        settings["monotone_constraints"] = monotone_constraints(feature_columns, directions)
        settings.setdefault("monotone_constraints_method", "advanced")
    settings["random_state"] = seed
    return Pipeline([
        ("features", FeatureFrameCaster(feature_columns, categorical, as_category=True)),
        ("lightgbm", lgb.LGBMClassifier(**settings)),
    ])


def fit_lightgbm(pipeline: Pipeline, X_train: pd.DataFrame, y_train, X_validation: pd.DataFrame, y_validation,
                 early_stopping_rounds: int | None = EARLY_STOPPING_ROUNDS, *, sample_weight=None,
                 validation_weight=None) -> Pipeline:
    """Fit with early stopping on ``X_validation``'s log-loss (the rows held out for it); returns the fitted pipeline.

    The caster is fitted once and each frame cast once (``Pipeline.fit`` would cast the training
    rows a second time); the returned pipeline holds both fitted steps. Weights (None = 1) are the rows'
    ``models.untreated`` weights. ``early_stopping_rounds=None`` fits every tree and only records the held-out
    log-loss after each (``evals_result_["valid_0"]["binary_logloss"]``).
    """
    caster = pipeline.named_steps["features"]
    stopping = [] if early_stopping_rounds is None else [lgb.early_stopping(early_stopping_rounds, verbose=False)]
    pipeline.named_steps["lightgbm"].fit(
        caster.fit_transform(X_train), y_train, sample_weight=sample_weight,
        eval_X=caster.transform(X_validation), eval_y=y_validation, eval_metric="binary_logloss",
        eval_sample_weight=None if validation_weight is None else [validation_weight], callbacks=stopping,
    )
    return pipeline


def fit_lightgbm_trees(pipeline: Pipeline, X_train: pd.DataFrame, y_train, sample_weight=None) -> Pipeline:
    """Fit with the pipeline's own ``n_estimators`` (no early stopping): the refit on every training year."""
    caster = pipeline.named_steps["features"]
    pipeline.named_steps["lightgbm"].fit(caster.fit_transform(X_train), y_train, sample_weight=sample_weight)
    return pipeline


def case_control_rows(y, max_negatives: int | None, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Every positive and at most ``max_negatives`` random negatives, weighted by 1 / the fraction kept.

    With a rare outcome the negatives carry little information per row but nearly all the cost.
    Weighting the kept negatives by the inverse of the fraction kept makes the weighted
    log-likelihood an unbiased estimate of the full one, so the coefficients and intercept estimate
    the full-data fit (no intercept correction needed); calibration on the validation year then
    fixes any residual offset. A cap on the count (not a ratio) leaves small counties untouched.

    Args:
        y: 0/1 outcomes.
        max_negatives: negatives to keep; None (or more than there are) keeps every row, weight 1.

    Returns:
        ``(rows, weights)``: positional indices into ``y`` (sorted) and their sample weights.
    """
    y = np.asarray(y)
    negatives = np.flatnonzero(y == 0)
    if max_negatives is None or max_negatives >= len(negatives):
        return np.arange(len(y)), np.ones(len(y))
    kept = np.random.default_rng(seed).choice(negatives, size=int(max_negatives), replace=False)
    rows = np.sort(np.concatenate([np.flatnonzero(y == 1), kept]))
    weights = np.where(y[rows] == 1, 1.0, len(negatives) / int(max_negatives))
    return rows, weights


def fit_logistic(pipeline: Pipeline, X_train: pd.DataFrame, y_train, max_negatives: int | None,
                 seed: int, sample_weight=None) -> Pipeline:
    """Fit the logistic pipeline on :func:`case_control_rows` of the training rows (all rows when None); their
    weights times ``sample_weight`` (the rows' ``models.untreated`` weights; None = 1)."""
    rows, weights = case_control_rows(y_train, max_negatives, seed)
    if sample_weight is not None:
        weights = weights * np.asarray(sample_weight, dtype=np.float64)[rows]
    return pipeline.fit(X_train.iloc[rows], np.asarray(y_train)[rows], logistic__sample_weight=weights)


def make_logistic_pipeline(feature_columns: list[str], categorical: list[str], params: dict, seed: int) -> Pipeline:
    """Caster (text), median-impute + standardise numbers, one-hot categories, L2 logistic regression."""
    numeric = [c for c in feature_columns if c not in categorical]
    columns = ColumnTransformer([
        ("numeric", make_pipeline(SimpleImputer(strategy="median", add_indicator=True), StandardScaler()), numeric),
        ("categorical", OneHotEncoder(handle_unknown="ignore", min_frequency=10), categorical),
    ])
    settings = {**LOGISTIC_DEFAULTS, **{k: v for k, v in params.items() if k not in LOGISTIC_FIT_KEYS},
                "random_state": seed}
    return Pipeline([
        ("features", FeatureFrameCaster(feature_columns, categorical, as_category=False)),
        ("columns", columns),
        ("logistic", LogisticRegression(**settings)),
    ])


def find_lightgbm(model) -> tuple:
    """``(preprocess, lgbm)`` inside a (calibrated) pipeline: walks CalibratedClassifierCV, FrozenEstimator, Pipeline.

    ``preprocess`` is the pipeline before the LightGBM step (or None); raises TypeError if none is found.
    """
    obj = model
    for _ in range(8):
        if isinstance(obj, lgb.LGBMClassifier):
            return None, obj
        if isinstance(obj, Pipeline) and isinstance(obj.steps[-1][1], lgb.LGBMClassifier):
            return (obj[:-1] if len(obj.steps) > 1 else None), obj.steps[-1][1]
        if (obj := _inside(obj)) is None:
            break
    raise TypeError(f"no LightGBM classifier found inside {type(model).__name__}")


def _inside(obj):
    """The model one wrapper further in: a Pipeline's last step, a CalibratedClassifierCV's (first) estimator, a
    FrozenEstimator's or ``CalibratedScore``'s ``estimator``; None when ``obj`` wraps nothing."""
    if isinstance(obj, Pipeline):
        return obj.steps[-1][1]
    if getattr(obj, "calibrated_classifiers_", None):
        return obj.calibrated_classifiers_[0].estimator
    return getattr(obj, "estimator", None)


def lightgbm_margin(model, features: pd.DataFrame) -> np.ndarray:
    """LightGBM's raw score (log-odds before calibration) of each row: what rows are ranked by.

    Calibration is monotone, so this ranks as the calibrated risk does, without the ties that isotonic
    calibration makes. ``model`` is the fitted pipeline or a calibrated wrapper of it.
    """
    preprocess, lgbm = find_lightgbm(model)
    prepared = preprocess.transform(features) if preprocess is not None else features
    return np.asarray(lgbm.predict(prepared, raw_score=True), dtype=np.float64)


def ranked_estimator(model):
    """The fitted learner inside a calibrated wrapper whose ``decision_function`` ranks rows (a Pipeline, a
    rule): walks ``CalibratedScore``, ``CalibratedClassifierCV`` and ``FrozenEstimator``.

    Raises:
        TypeError: nothing inside ``model`` has a decision function.
    """
    obj = model
    for _ in range(8):
        if isinstance(obj, Pipeline) or (hasattr(obj, "decision_function") and not hasattr(obj, "estimator")):
            return obj
        if (obj := _inside(obj)) is None:
            break
    raise TypeError(f"no learner with a decision function found inside {type(model).__name__}")


def released_inputs(model, columns: list[str]) -> list[str]:
    """The columns ``model`` reads: the learners' inputs ``columns``, then any criterion of a released rule that is
    not among them. An input left out of the fitted learners for its source's coverage (``models.input_coverage``)
    stays in the council's rule, which then scores with it (``learners.rule`` in the spec)."""
    learner = ranked_estimator(model)
    criteria = [feature for feature, *_ in learner.criteria or []] if isinstance(learner, RuleScore) else []
    return list(dict.fromkeys([*columns, *criteria]))


def model_margin(model, features: pd.DataFrame) -> np.ndarray:
    """The released learner's uncalibrated margin of each row, what rows are ranked by: LightGBM's raw score
    (:func:`lightgbm_margin`), a logistic regression's decision function, or the rule's points."""
    try:
        return lightgbm_margin(model, features)
    except TypeError:
        return np.asarray(ranked_estimator(model).decision_function(features), dtype=np.float64)


def model_contributions(model, features: pd.DataFrame) -> pd.DataFrame:
    """Each input's part in each row's margin, one column per column of ``features``: LightGBM's per-row
    contributions (TreeSHAP, log-odds, no bias); for a logistic pipeline, coefficient times the transformed
    value, summed over the columns an input became (one-hot levels, a missing-value indicator); for the rule,
    the points each input scored.
    """
    try:
        preprocess, lgbm = find_lightgbm(model)
    except TypeError:
        return _linear_or_rule_contributions(ranked_estimator(model), features)
    prepared = preprocess.transform(features) if preprocess is not None else features
    contrib = np.asarray(lgbm.predict(prepared, pred_contrib=True))
    names = list(getattr(prepared, "columns", features.columns))
    return pd.DataFrame(contrib[:, :-1], index=features.index, columns=names)


def _linear_or_rule_contributions(learner, features: pd.DataFrame) -> pd.DataFrame:
    columns = list(features.columns)
    out = pd.DataFrame(0.0, index=features.index, columns=columns)
    if not isinstance(learner, Pipeline):  # the rule: the points of each criterion its row meets
        for feature, op, value, points in getattr(learner, "criteria", None) or []:
            one = type(learner)([(feature, op, value, points)]).fit(features)
            out[feature] += one.decision_function(features)
        return out
    transformed = np.asarray(learner[:-1].transform(features), dtype=np.float64)
    names = [str(n) for n in learner[:-1].get_feature_names_out()]
    coef = np.asarray(learner[-1].coef_, dtype=np.float64).ravel()
    # each transformed column belongs to the input whose name it carries (the longest match: "age" vs "age_min")
    for j, name in enumerate(names):
        owner = max((c for c in columns if c in name), key=len, default=None)
        if owner is not None:
            out[owner] += transformed[:, j] * coef[j]
    return out
