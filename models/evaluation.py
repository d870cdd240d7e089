"""The metrics block: one function computes every figure that metrics.json and MLflow show.

Each block (one model's scores on one year) has discrimination with bootstrap CIs, the operating
point at capacity (with percentile bootstrap intervals for precision, recall and lift) and in the top
0.5%/1%/5%, and calibration (O/E and slope with intervals). Rows are selected by
:mod:`models.selection` (uncalibrated margin, ties by a draw seeded with the spec's seed), the rule the
issued list uses; calibration uses each model's calibrated probability. Fairness is audited by the
attributes of the spec's population, which the caller passes in (``features.populations``: models does
not import features).

With synthetic truth, every model is also judged against the generator's own probability ``p_true``
on the rows that have one: its *expected* precision at capacity (mean ``p_true`` of the rows it
selects: no draw of the outcome decides it) and its calibration against ``p_true``.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from models.generator_yardstick import STATE_RANKED, STATE_RANKED_SCORE, state_ranked_yardstick, state_ranking
from models.metrics.bootstrap import INTERVAL_METHOD, decision_replicates, intervals
from models.metrics.calibration import against_generator, calibration_metrics, reliability_table
from models.metrics.discrimination import discrimination_with_ci, percentile_interval
from models.metrics.fairness import group_gaps, group_metrics
from models.metrics.operating_point import expected_precision_at_k, operating_point_metrics
from models.score_columns import RELEASED_MARGIN, RELEASED_SCORE
from models.selection import select_top, selection_order

MODEL_SCORES = {  # model -> (ranking column: the uncalibrated margin, probability column)
    "lightgbm": (RELEASED_MARGIN, RELEASED_SCORE),  # the released learner (models.score_columns), LightGBM or not
    "logistic": ("margin_logistic", "score_logistic"),
    "rule": ("score_rule", "probability_rule"),
    "generator": ("p_true", "p_true"),
}
GENERATOR = "generator"  # the synthetic generator's own probability of the outcome: a yardstick, not a model
CI_LEVEL = 0.95


def metrics_blocks(y_true, scores: dict[str, tuple], capacity: int, *, person_id, tie_seed: int, n_boot: int = 1000,
                   seed: int = 0, n_bins: int = 10, p_true=None) -> dict[str, dict]:
    """Every headline metric of several sets of scores of the same rows on one year.

    The scores share one set of bootstrap draws (the same resampled rows), so differences between them
    are paired (see :func:`replicates_of_blocks`).

    Args:
        y_true: observed outcome (0/1) per row.
        scores: name -> ``(margin, probability)`` arrays aligned with ``y_true``.
        person_id: person token per row (the tie-breaking draw).
        tie_seed: the spec's seed (ties at the cut), as the issued list uses.
        seed: the bootstrap's seed.
        p_true: optional generator probability per row; adds ``against_generator`` to each block.

    Returns:
        Per name: ``n, prevalence, auc, auc_ci, average_precision, average_precision_ci, brier, ece,
        oe_ratio(_ci), calibration_slope(_ci), calibration_intercept, precision/recall/lift_at_capacity``
        with ``_ci``, ``precision/recall/lift_top_{0_5pct,1pct,5pct}`` and, with ``p_true``,
        ``against_generator``.
    """
    return replicates_of_blocks(y_true, scores, capacity, person_id=person_id, tie_seed=tie_seed, n_boot=n_boot,
                                seed=seed, n_bins=n_bins, p_true=p_true)[0]


def replicates_of_blocks(y_true, scores: dict[str, tuple], capacity: int, *, person_id, tie_seed: int,
                         n_boot: int = 1000, seed: int = 0, n_bins: int = 10, p_true=None,
                         decision_only: Mapping[str, tuple] | None = None
                         ) -> tuple[dict[str, dict], dict[str, dict[str, np.ndarray]], dict[str, np.ndarray]]:
    """:func:`metrics_blocks`, the bootstrap replicates of its decision metrics (name -> metric -> array) and
    each score's selection order (name -> row positions, :func:`models.selection.selection_order`).

    ``decision_only`` (name -> ``(margin, probability)``) adds scores whose replicates of the operating point
    (and, with ``p_true``, of the expected precision) are wanted without a block: no O/E or slope. Every score's
    replicates, and the AUROC's, come from one pass over the draws (:func:`decision_replicates`); the orders are
    returned so a caller reads a decision-only score's list without sorting its rows again.
    """
    y = np.asarray(y_true, dtype=np.int64)
    people = np.asarray(person_id)
    everything = {**scores, **(decision_only or {})}
    margins = {name: np.asarray(margin, dtype=np.float64) for name, (margin, _) in everything.items()}
    probabilities = {name: np.asarray(p, dtype=np.float64) for name, (_, p) in everything.items()}
    orders = {name: selection_order(m, people, tie_seed) for name, m in margins.items()}
    expected = None if p_true is None else np.asarray(p_true, dtype=np.float64)
    ranked = {name: margins[name] for name in scores} if len(y) and y.min() != y.max() else {}
    replicates = decision_replicates(y, {name: (orders[name], probabilities[name]) for name in everything},
                                     capacity, n_boot=n_boot, seed=seed, expected=expected, calibration=list(scores),
                                     ranking=ranked)
    discrimination = discrimination_with_ci(
        y, [margins[name] for name in scores], n_boot=n_boot, seed=seed, level=CI_LEVEL,
        replicates=[(replicates[name].pop("auc"), replicates[name].pop("average_precision")) for name in ranked])
    blocks = {}
    for name, ranking in zip(scores, discrimination, strict=True):
        order = orders[name]
        block = {"n": int(len(y)), "prevalence": float(y.mean()) if len(y) else None, **ranking,
                 **calibration_metrics(y, probabilities[name], n_bins), **operating_point_metrics(y, order, capacity)}
        cis = intervals(replicates[name], CI_LEVEL)
        if expected is not None:
            block["against_generator"] = {
                "expected_precision_at_capacity": expected_precision_at_k(expected, order, capacity),
                "expected_precision_at_capacity_ci": cis.pop("expected_precision_at_capacity_ci"),
                **against_generator(expected, probabilities[name]),
            }
        blocks[name] = {**block, **cis}
    return blocks, replicates, orders


def paired_difference(replicates: Mapping[str, Mapping[str, np.ndarray]], blocks: Mapping[str, Mapping], metric: str,
                      first: str, second: str) -> dict:
    """``first``'s ``metric`` minus ``second``'s, and a percentile interval from the same replicates."""
    a, b = blocks[first].get(metric), blocks[second].get(metric)
    point = a - b if a is not None and b is not None else None
    return {"value": point, "ci": percentile_interval(replicates[first][metric] - replicates[second][metric],
                                                       CI_LEVEL)}


def paired_ratio(replicates, blocks, first: str, second: str) -> dict:
    """Ratio of two models' expected precision at capacity, with a paired percentile interval."""
    key = "expected_precision_at_capacity"
    return ratio_with_interval(blocks[first]["against_generator"][key], blocks[second]["against_generator"][key],
                               replicates[first][key], replicates[second][key])


def ratio_with_interval(a: float | None, b: float | None, replicates_a, replicates_b) -> dict:
    """``a / b`` (None where either is missing or ``b`` is 0) and a percentile interval of the replicates' ratio,
    replicate by replicate (paired: both are of the same resampled rows)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = np.asarray(replicates_a) / np.asarray(replicates_b)
    return {"value": a / b if a is not None and b else None, "ci": percentile_interval(ratio, CI_LEVEL)}


def labelled_rows(scores: pd.DataFrame, split: str) -> pd.DataFrame:
    """Rows of one split whose outcome has matured."""
    return scores[(scores["split"] == split) & scores["outcome"].notna()]


def generator_comparison(rows: pd.DataFrame, capacity: int, *, tie_seed: int, n_boot: int, seed: int, n_bins: int
                         ) -> tuple[dict[str, dict], dict]:
    """Every model beside the generator's probability, on the rows that have one.

    The generator's full block (judged against the recorded label, like the models) and LightGBM's on the
    same rows are computed in full; every model gets ``against_generator`` (expected precision at capacity
    with its interval, calibration against ``p_true``). All replicates are of the same resampled rows.

    Returns:
        ``(blocks, summary)``: per model, ``{"against_generator": ...}`` (for the generator and LightGBM,
        the full block on these rows); ``summary`` = ``rows, coverage`` and LightGBM's expected
        precision at capacity as a ratio to the generator's and to the rule's (``value``, paired ``ci``).
        With ``p_state`` in truth, ``summary["state_ranked"]``
        (:func:`models.generator_yardstick.state_ranked_yardstick`) and every model's
        ``against_generator.expected_precision_to_state_ranked`` with its paired ``_ci``.
    """
    same = rows[rows["p_true"].notna()]
    scores = {m: (same[score], same[prob]) for m, (score, prob) in MODEL_SCORES.items()}
    people, p_true = same["person_id"].to_numpy(), same["p_true"].to_numpy(dtype=np.float64)
    full = {m: scores[m] for m in ("lightgbm", GENERATOR)}
    others = {m: score for m, score in scores.items() if m not in full}
    # the generator's list needs what no record holds; the list ranked by p_state asks only for the state, and
    # as one more decision-only score its expected precision has replicates of the same resampled rows
    state_score = state_ranking(same)
    decision_only = others | ({STATE_RANKED_SCORE: state_score} if state_score is not None else {})
    blocks, replicates, orders = replicates_of_blocks(same["outcome"], full, capacity, person_id=people,
                                                      tie_seed=tie_seed, n_boot=n_boot, seed=seed, n_bins=n_bins,
                                                      p_true=p_true, decision_only=decision_only)
    key = "expected_precision_at_capacity"
    for name, (_, probability) in others.items():
        blocks[name] = {"against_generator": {
            key: expected_precision_at_k(p_true, orders[name], capacity),
            f"{key}_ci": percentile_interval(replicates[name][key], CI_LEVEL),
            **against_generator(p_true, np.asarray(probability))}}
    summary = {"rows": int(len(same)), "coverage": len(same) / len(rows) if len(rows) else None,
               "lightgbm_to_generator": paired_ratio(replicates, blocks, "lightgbm", GENERATOR),
               "lightgbm_to_rule": paired_ratio(replicates, blocks, "lightgbm", "rule")}
    if state_score is not None:
        state = expected_precision_at_k(p_true, orders[STATE_RANKED_SCORE], capacity)
        shares = {name: ratio_with_interval(block["against_generator"][key], state, replicates[name][key],
                                            replicates[STATE_RANKED_SCORE][key]) for name, block in blocks.items()}
        summary["state_ranked"] = state_ranked_yardstick(len(same), state, shares)
        for name, share in shares.items():
            blocks[name]["against_generator"] |= {"expected_precision_to_state_ranked": share["value"],
                                                  "expected_precision_to_state_ranked_ci": share["ci"]}
    return blocks, summary


def evaluate_models(scores: pd.DataFrame, capacity: int, *, tie_seed: int, n_boot: int = 1000, seed: int = 0,
                    n_bins: int = 10, workers: int = 1) -> dict:
    """The ``metrics.json`` tree for every model and baseline on the test and validation years.

    Args:
        scores: ``scores.parquet`` columns (``person_id, split, outcome, index_date, score_*, margin_*``,
            ``probability_rule``) plus ``p_true`` where synthetic truth is attached (NaN where a
            row has no true probability: the generator comparison covers only rows that have one).
        tie_seed: the spec's seed, which breaks ties at the capacity cut as the issued list does.
        n_boot, seed: bootstrap replicates and their seed.
        workers: processes evaluating the years at once (:func:`rows_of_each_year`; the same figures whatever it is).

    Returns:
        ``{"capacity", "test_index_date", "selection", "bootstrap", "test", "validation", "baselines":
        {"logistic", "rule", "generator"?}, "validation_baselines": {...}, "generator_comparison"?:
        {"test", "validation"}}``. ``test`` has ``precision_gain_over_rule`` (paired). With truth, each
        model's block (and the generator's) has ``against_generator``, from the rows that have ``p_true``.
    """
    out: dict = {"capacity": int(capacity)}
    test = labelled_rows(scores, "test")
    out["test_index_date"] = str(pd.Timestamp(test["index_date"].max()).date()) if len(test) else None
    out["selection"] = {"ranked_by": "uncalibrated margin (LightGBM raw score, logistic decision function, rule "
                                      "points, generator probability)",
                        "ties": "seeded random draw per person (SipHash of the token keyed by the seed)",
                        "tie_break_seed": int(tie_seed)}
    out["bootstrap"] = {"replicates": int(n_boot), "interval": INTERVAL_METHOD, "level": CI_LEVEL, "seed": int(seed)}
    years = rows_of_each_year({split: labelled_rows(scores, split) for split in ("test", "validation")}, capacity,
                              workers, tie_seed=tie_seed, n_boot=n_boot, seed=seed, n_bins=n_bins)
    for split, main_key, baselines_key in (("test", "test", "baselines"),
                                           ("validation", "validation", "validation_baselines")):
        out[main_key], out[baselines_key], summary = years[split]
        if summary is not None:
            out.setdefault("generator_comparison", {})[split] = summary
    return out


def rows_of_each_year(rows: Mapping[str, pd.DataFrame], capacity: int, workers: int, **options
                      ) -> dict[str, tuple[dict, dict, dict | None]]:
    """:func:`evaluate_rows` of each year's rows (name -> rows). With ``workers`` above 1 the years after the first
    are evaluated in worker processes (``pipeline.core.workers``) while this one evaluates the first: each year's
    bootstrap is its own seeded draw of its own rows, so the figures are the same as one after another."""
    names = list(rows)
    if workers < 2 or len(names) < 2:
        return {name: evaluate_rows(rows[name], capacity, **options) for name in names}
    from pipeline.core.workers import worker_pool

    with worker_pool(min(workers - 1, len(names) - 1)) as pool:
        others = {name: pool.submit(evaluate_rows, rows[name], capacity, **options) for name in names[1:]}
        first = evaluate_rows(rows[names[0]], capacity, **options)
        return {names[0]: first, **{name: future.result() for name, future in others.items()}}


def evaluate_rows(rows: pd.DataFrame, capacity: int, *, tie_seed: int, n_boot: int, seed: int, n_bins: int
                  ) -> tuple[dict, dict, dict | None]:
    """Every model's block on one year's labelled rows: ``(lightgbm, {logistic, rule, generator?},
    generator summary or None)``; LightGBM's has ``precision_gain_over_rule`` (paired), and with ``p_true``
    every block has ``against_generator`` (:func:`generator_comparison`)."""
    models = {m: (rows[score], rows[prob]) for m, (score, prob) in MODEL_SCORES.items() if m != GENERATOR}
    blocks, replicates, _ = replicates_of_blocks(rows["outcome"], models, capacity, person_id=rows["person_id"],
                                              tie_seed=tie_seed, n_boot=n_boot, seed=seed, n_bins=n_bins)
    blocks["lightgbm"]["precision_gain_over_rule"] = paired_difference(
        replicates, blocks, "precision_at_capacity", "lightgbm", "rule")
    summary = None
    if "p_true" in rows.columns and rows["p_true"].notna().any():
        same_rows, summary = generator_comparison(rows, capacity, tie_seed=tie_seed, n_boot=n_boot, seed=seed,
                                                  n_bins=n_bins)
        for name, block in blocks.items():
            block["against_generator"] = same_rows[name]["against_generator"]
        blocks[GENERATOR] = {**same_rows[GENERATOR], "coverage": summary["coverage"],
                             "lightgbm_same_rows": same_rows["lightgbm"]}
    return blocks.pop("lightgbm"), blocks, summary


BACKTEST_COMPARED = ("auc", "precision_at_capacity", "recall_at_capacity", "lift_at_capacity", "oe_ratio",
                     "calibration_slope")


def scored_alike(rows: pd.DataFrame, other: pd.DataFrame) -> bool:
    """Whether :func:`evaluate_rows` would read the same values, in the same order, from both frames: the keys,
    the outcome, every score and probability and the generator's columns, with their dtypes."""
    columns = ["person_id", "index_date", "outcome", *dict.fromkeys(c for pair in MODEL_SCORES.values() for c in pair),
               STATE_RANKED]
    present = [c for c in columns if c in rows.columns]
    if present != [c for c in columns if c in other.columns] or len(rows) != len(other):
        return False
    return rows[present].reset_index(drop=True).equals(other[present].reset_index(drop=True))


def evaluate_backtest(rows: pd.DataFrame, protocol: Mapping, standard: Mapping, capacity: int, *, tie_seed: int,
                      n_boot: int, seed: int, n_bins: int,
                      standard_year: tuple[pd.DataFrame, tuple[dict, dict, dict | None]] | None = None) -> dict:
    """``metrics.json`` ``backtest``: the test year as the deployment-faithful backtest scored it.

    Args:
        rows: the backtest's labelled test-year scores (``backtest_scores.parquet``), with ``p_true`` where
            synthetic truth is attached (the generator's probability is the same as in ``test``).
        protocol: run.json ``backtest`` (``models.backtest.fit_backtest``).
        standard: the standard ``test`` block, to report the difference.
        standard_year: the standard test year's labelled rows and :func:`evaluate_rows`'s figures of them. When the
            standard fit already is the backtest (``differs_from_standard`` False) its rows are the standard
            test rows (:func:`scored_alike`), and their figures are copied rather than bootstrapped again: the
            same seed on the same rows would give the same numbers.

    Returns:
        ``{"protocol", "differs_from_standard", "test", "baselines", "generator_comparison"?,
        "minus_standard"}`` (LightGBM's backtest figure minus the standard one, per
        :data:`BACKTEST_COMPARED`); only ``protocol`` and ``reason`` when there is no backtest.
    """
    if rows.empty:
        return {"protocol": dict(protocol), "differs_from_standard": False,
                "reason": protocol.get("reason", "no backtest scores")}
    if (standard_year is not None and not protocol.get("differs_from_standard")
            and scored_alike(rows, standard_year[0])):
        test, baselines, summary = copy.deepcopy(standard_year[1])
    else:
        test, baselines, summary = evaluate_rows(rows, capacity, tie_seed=tie_seed, n_boot=n_boot, seed=seed,
                                                 n_bins=n_bins)
    out = {"protocol": dict(protocol), "differs_from_standard": bool(protocol.get("differs_from_standard")),
           "test": test, "baselines": baselines,
           "minus_standard": {k: (test[k] - standard[k] if test.get(k) is not None and standard.get(k) is not None
                                  else None) for k in BACKTEST_COMPARED}}
    if summary is not None:
        out["generator_comparison"] = summary
    return out


def calibration_curves(scores: pd.DataFrame, split: str = "test", n_bins: int = 10) -> pd.DataFrame:
    """Reliability table of every model on one split.

    Returns:
        Columns ``model, bin, mean_predicted, observed, n``.
    """
    rows = labelled_rows(scores, split)
    tables = []
    for model, (_, prob_col) in MODEL_SCORES.items():
        if prob_col not in rows.columns:
            continue
        subset = rows[rows[prob_col].notna()]
        if len(subset):
            tables.append(reliability_table(subset["outcome"], subset[prob_col], n_bins).assign(model=model))
    return pd.concat(tables, ignore_index=True)[["model", "bin", "mean_predicted", "observed", "n"]]


def fairness_table(rows: pd.DataFrame, score_col: str, prob_col: str, capacity: int, *,
                   attributes: Mapping[str, Sequence[str]], tie_seed: int, n_boot: int = 1000, seed: int = 0,
                   min_n: int = 10, min_positives: int = 5) -> pd.DataFrame:
    """``group_metrics`` of one model's flags at capacity on ``rows`` (one year, labelled).

    The rows flagged are those :func:`models.selection.select_top` picks by ``score_col`` (the margin):
    the rows the issued list would hold.

    Args:
        attributes: audited attribute -> ``fair_*`` columns (the population's ``fairness_attributes``);
            an attribute whose columns ``rows`` lacks is left out.
        tie_seed: the spec's seed.
    """
    attributes = {k: list(v) for k, v in attributes.items() if all(c in rows.columns for c in v)}
    selected = select_top(rows[score_col].to_numpy(), rows["person_id"].to_numpy(), capacity, tie_seed)
    return group_metrics(rows["outcome"].astype("int64"), selected.astype(np.float64), rows[prob_col], rows,
                         attributes, n_boot=n_boot, seed=seed, min_n=min_n, min_positives=min_positives,
                         ranking=rows[score_col].to_numpy())


def fairness_summary(table: pd.DataFrame) -> dict:
    """Largest between-group gaps per attribute, over unsuppressed groups only."""
    return group_gaps(table)
