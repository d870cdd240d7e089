"""LightGBM's number of trees chosen on every training year held out in turn, and calibration scores from the
same fold models.

Why: choosing the trees by early stopping on the latest training year alone decides one number on that year's
few dozen outcomes. On the 30,000-child demo county care_entry's latest training year held 22 entries to care;
its log-loss was lowest at 45 trees where, summed over the ten training years held out in turn (209 entries),
it was lowest at 86, and the list chosen by the 45-tree model had a third fewer entries expected by the
generator. Each training year is held out in turn (from the latest back, until the years held out hold
:data:`ENOUGH_OUTCOMES` outcomes: every year of a small county, two of a large one): LightGBM is fitted on the
other training years with the spec's ``n_estimators`` and its weighted log-loss on the held-out year recorded
after every tree; the curves are summed and the trees chosen where the sum is lowest.

The same fold models then score their held-out years with that many trees (a boosted model's first ``k`` trees
are the model fitted with ``k``: the trees and their row samples are drawn in order from the seed), so
calibration is fitted on those years' rows, each scored by a model that never saw it, and on the validation year.
Neither the validation year nor the test year has any say in the trees.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from models.learners import fit_lightgbm, make_lightgbm_pipeline


@dataclass(frozen=True)
class HeldOutYears:
    """The trees chosen and every held-out year's out-of-fold scores.

    ``scores``, ``outcomes`` and ``weights`` (None when the rows are unweighted) follow ``years``' order, each
    year's rows in the training frame's order; ``scores`` are what calibration reads from a LightGBM pipeline
    (``models.calibration.model_response``: its margin), so they are on the scale of the released model's.
    """

    trees: int
    years: list[int]
    outcomes_held_out: int
    scores: np.ndarray
    outcomes: np.ndarray
    weights: np.ndarray | None
    partial: bool = False  # fewer years held out than could be (enough outcomes already)

    def describe_years(self) -> str:
        """"every training year" or "the training years 2022-2023": the years held out."""
        return ("the training years " + (f"{self.years[0]}-{self.years[-1]}" if len(self.years) > 1
                                         else str(self.years[0]))) if self.partial else "every training year"

    def describe(self) -> str:
        """How the trees were chosen, for run.json and the card."""
        return (f"the summed log-loss of {len(self.years)} training years ({self.years[0]}-{self.years[-1]}) each "
                f"held out in turn, {self.outcomes_held_out:,} outcomes")


def first_trees_response(pipeline, rows: pd.DataFrame, trees: int) -> np.ndarray:
    """What ``models.calibration.model_response`` reads from a LightGBM pipeline (its margin), from its first ``trees``
    trees only (a Pipeline passes no predict arguments on, so the caster and LightGBM are called in turn)."""
    return np.asarray(pipeline[-1].decision_function(pipeline[:-1].transform(rows), num_iteration=trees),
                      dtype=np.float64)


# held-out years are taken from the latest back until they hold this many outcomes (at least two years): a
# county with a few dozen outcomes a year holds out every year, while one with thousands a year needs two, so the
# folds cost two fits of the spec's trees instead of ten where the curve is already sharp
ENOUGH_OUTCOMES = 1000


def usable_years(years: np.ndarray, y: np.ndarray, enough: int | None = None) -> list[int]:
    """The training years to hold out, in order: each with both outcomes in the year and in the rest, taken from the
    latest back until they hold ``enough`` outcomes (None: every such year)."""
    out, outcomes = [], 0
    for year in sorted((int(v) for v in np.unique(years)), reverse=True):
        held = years == year
        if len(np.unique(y[held])) == 2 and len(np.unique(y[~held])) == 2:
            out.append(year)
            outcomes += int(y[held].sum())
            if enough is not None and outcomes >= enough and len(out) >= 2:
                break
    return sorted(out)


def held_out_years(train: pd.DataFrame, y: np.ndarray, feature_columns: list[str], categorical: list[str],
                   params: dict, seed: int, weights: np.ndarray | None = None,
                   enough: int | None = ENOUGH_OUTCOMES) -> HeldOutYears | None:
    """Trees chosen on the summed held-out log-loss of the usable training years (:func:`usable_years`: the latest
    back until they hold ``enough`` outcomes); None with fewer than two.

    Args:
        train: the training rows (``index_year`` and ``feature_columns``).
        y: their outcomes (0/1).
        params: the spec's LightGBM settings; ``n_estimators`` is the most trees tried.
        weights: the rows' ``models.untreated`` weights (None = 1); the held-out log-loss is weighted by them.
    """
    years = train["index_year"].astype("int64").to_numpy()
    y = np.asarray(y)
    every = usable_years(years, y)
    chosen = usable_years(years, y, enough)
    if len(chosen) < 2:
        return None
    w = np.ones(len(y)) if weights is None else np.asarray(weights, dtype=np.float64)
    total, folds = None, []
    for year in chosen:
        held = years == year
        fold = fit_lightgbm(make_lightgbm_pipeline(feature_columns, categorical, params, seed), train[~held], y[~held],
                            train[held], y[held], None, sample_weight=w[~held], validation_weight=w[held])
        # binary_logloss is the held-out rows' weighted mean: times their weight, each year counts by its size
        curve = np.asarray(fold.named_steps["lightgbm"].evals_result_["valid_0"]["binary_logloss"]) * w[held].sum()
        total = curve if total is None else total + curve
        folds.append((held, fold))
    trees = int(np.argmin(total)) + 1
    scores = [first_trees_response(fold, train[held], trees) for held, fold in folds]
    return HeldOutYears(
        partial=len(chosen) < len(every), trees=trees, years=chosen,
        outcomes_held_out=int(sum(y[held].sum() for held, _ in folds)),
        scores=np.concatenate(scores), outcomes=np.concatenate([y[held] for held, _ in folds]),
        weights=None if weights is None else np.concatenate([w[held] for held, _ in folds]),
    )
