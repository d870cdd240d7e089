"""The retrain study of issue 19: after years of lists that trigger help, does a retrained model still predict
risk without help for the children the help reached?

A county's lists offer early help to the top of each year's scores; the help prevents some care entries, so
the recorded outcomes of the offered are outcomes *with* help. The care_entry learners (``models.training``,
the spec's LightGBM settings) are retrained on those years twice: ``naive`` (every label as recorded) and
``ipw`` (``models.untreated``: offered rows dropped, the others weighted by 1/(1 - e(x))); ``dropin`` too when
asked. Each is judged among the children offered help in the held-out years (the test and score years, after
the lists began) against their true outcome *without* help (y0, which only a simulation knows):
O/E = observed y0 / the sum of predicted risks, with an exact Poisson interval. O/E above 1 = under-prediction.

The county is simulated here (:func:`simulate_listed_county`: features, a council score that is a noisy
function of them, a top-share list each year with overrides, acceptance, and a relative reduction of care entry
for those who accept), so the study runs in seconds and the test (tests/test_models/test_untreated.py) can run
it small. Run: ``.venv/bin/python -m benchmarks.performative_retrain [--children 8000] [--seed 7] [--dropin]``;
it prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import sys

import numpy as np
import pandas as pd

from models.offer_split import observed_over_expected
from models.spec import ModelSpec, RuleCriterion, RuleSpec, load_model_spec
from models.training import train_models

FEATURES = ["prior_referrals", "parent_factors", "absence_rate", "age_years"]
FIRST_YEAR, LAST_YEAR = 2014, 2025


def simulate_listed_county(children_per_year: int = 8000, *, first_list_year: int = 2019, list_share: float = 0.08,
                           offer_if_listed: float = 0.9, offer_if_not_listed: float = 0.01, acceptance: float = 0.7,
                           relative_reduction: float = 0.6, confounder: float = 0.0, seed: int = 7) -> pd.DataFrame:
    """One row per child x 31 March index date, 2014-2025, with the offer exposure and both potential outcomes.

    Args:
        children_per_year: rows per index year (fresh children each year: the years are cohorts).
        first_list_year: the first index year whose list offers help (rows before it are never offered).
        list_share: the share of each year's rows listed (top of the council's score).
        offer_if_listed / offer_if_not_listed: the chance of an offer (overrides both ways, referrals).
        acceptance: the chance an offered family accepts; ``relative_reduction``: care entries the accepted
            help prevents.
        confounder: strength of an unobserved factor that raises risk and lowers acceptance (0 = none).

    Returns:
        ``person_id, index_date, index_year, outcome`` (Int8; <NA> in 2025, not yet matured), the features,
        ``offered_in_window, offer_date`` (exposure), ``y0, y1`` (truth: care entry without / with an offer) and
        ``p0`` (the true chance of y0).
    """
    rng = np.random.default_rng(seed)
    years = np.repeat(np.arange(FIRST_YEAR, LAST_YEAR + 1), children_per_year)
    n = len(years)
    parent = rng.binomial(1, 0.15, n)
    referrals = rng.poisson(0.3 + 0.8 * parent)
    absence = np.clip(rng.beta(2, 12, n) + 0.1 * parent, 0, 1)
    age = rng.integers(0, 18, n)
    u = rng.normal(size=n)
    logit = -4.6 + 0.55 * referrals + 1.1 * parent + 3.0 * absence - 0.04 * age + confounder * u
    p0 = 1 / (1 + np.exp(-logit))
    y0 = rng.random(n) < p0
    council = logit - confounder * u + rng.normal(0, 0.7, n)  # the council's score sees no confounder
    listed = np.zeros(n, dtype=bool)
    for year in range(first_list_year, LAST_YEAR + 1):
        rows = np.flatnonzero(years == year)
        top = rows[np.argsort(-council[rows])[: int(round(list_share * len(rows)))]]
        listed[top] = True
    lists_on = years >= first_list_year
    offered = lists_on & (rng.random(n) < np.where(listed, offer_if_listed, offer_if_not_listed))
    accepted = offered & (rng.random(n) < np.clip(acceptance - 0.1 * confounder * u, 0, 1))
    y1 = y0 & ~(rng.random(n) < relative_reduction)
    observed = np.where(accepted, y1, y0)
    index_date = pd.to_datetime(pd.Series(years).astype(str) + "-03-31")
    offer_date = (index_date + pd.to_timedelta(rng.integers(0, 330, n), unit="D")).where(offered)
    outcome = pd.array(observed.astype("int8"), dtype="Int8")
    outcome[years == LAST_YEAR] = pd.NA
    return pd.DataFrame({
        "person_id": [f"p{i:07d}" for i in range(n)], "index_date": index_date, "index_year": years,
        "outcome": outcome, "prior_referrals": referrals, "parent_factors": parent, "absence_rate": absence,
        "age_years": age, "offered_in_window": offered, "offer_date": offer_date,
        "y0": y0, "y1": np.where(offered, y1, y0), "p0": p0})


def study_spec(base: ModelSpec | None = None, *, untreated: str = "naive", dropin_effect: float | None = None
               ) -> ModelSpec:
    """The care_entry spec's learners and calibration on the simulated years: trained 2014-2022, calibrated
    on 2023, tested on 2024, scored 2025; ``training.untreated`` set to ``untreated``."""
    base = base or load_model_spec("care_entry")
    split = base.split.model_copy(update={"train_years": list(range(FIRST_YEAR, 2023)), "validation_year": 2023,
                                          "test_year": 2024, "score_year": LAST_YEAR})
    training = base.training.model_copy(update={"untreated": untreated, "dropin_effect": dropin_effect})
    index_dates = base.index_dates.model_copy(update={"first_year": FIRST_YEAR, "last_year": LAST_YEAR})
    # the council's additive rule, on the simulated features (the real one reads features this frame lacks)
    rule = RuleSpec(criteria=[RuleCriterion(feature="prior_referrals", op=">=", value=2, points=2),
                              RuleCriterion(feature="parent_factors", op="==", value=1, points=2)])
    learners = base.learners.model_copy(update={"rule": rule})
    return base.model_copy(update={"split": split, "training": training, "index_dates": index_dates,
                                   "learners": learners})


def under_prediction(frame: pd.DataFrame, score: pd.Series, years: list[int]) -> dict:
    """O/E of the true untreated outcome (y0) among the offered and the not offered in ``years``.

    ``p0_over_predicted`` is the same ratio against the true chance of y0 (``p0``) instead of its draw: free of the
    outcomes' sampling noise, so it shows the model's own bias.
    """
    held = frame["index_year"].isin(years).to_numpy()
    out = {}
    for name, rows in (("offered", held & frame["offered_in_window"].to_numpy()),
                       ("not_offered", held & ~frame["offered_in_window"].to_numpy())):
        predicted = float(score.to_numpy()[rows].sum())
        out[name] = {"rows": int(rows.sum()), "mean_y0": round(float(frame["y0"].to_numpy()[rows].mean()), 5),
                     "mean_predicted": round(float(score.to_numpy()[rows].mean()), 5),
                     "p0_over_predicted": round(float(frame["p0"].to_numpy()[rows].sum()) / predicted, 4),
                     **observed_over_expected(int(frame["y0"].to_numpy()[rows].sum()), predicted)}
    return out


def run_study(frame: pd.DataFrame, modes: tuple[str, ...] = ("naive", "ipw"), *, dropin_effect: float | None = None,
              base: ModelSpec | None = None) -> dict:
    """Train once per mode on ``frame`` and report O/E of y0 among the offered in the held-out years (2024-2025).

    ``modes``: ``naive``, ``ipw``, ``dropin`` (``training.untreated``) and ``truth``: the learners fitted on y0
    itself, the best any correction can do with these learners (their own misfit included).

    Returns:
        ``{mode: {"offered": {...}, "not_offered": {...}, "untreated": training summary}}``.
    """
    results = {}
    for mode in modes:
        data = frame
        if mode == "truth":
            # the reference no council has: the same learners fitted on the outcomes without help (y0)
            data = frame.assign(outcome=frame["y0"].astype("int8").astype("Int8").where(frame["outcome"].notna()),
                                offered_in_window=False)
        spec = study_spec(base, untreated="naive" if mode == "truth" else mode,
                          dropin_effect=dropin_effect if mode == "dropin" else None)
        trained = train_models(data, spec, FEATURES, lightgbm_threads=1)
        results[mode] = {**under_prediction(frame, trained.scores["score_lightgbm"], [2024, LAST_YEAR]),
                         "untreated": trained.summary["untreated"]}
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--children", type=int, default=8000, help="rows per index year")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--confounder", type=float, default=0.0)
    parser.add_argument("--first-list-year", type=int, default=2019, help="first index year whose list offers help")
    parser.add_argument("--dropin", action="store_true", help="also relabel with the true effect among the offered")
    args = parser.parse_args(argv)
    frame = simulate_listed_county(args.children, first_list_year=args.first_list_year, confounder=args.confounder,
                                   seed=args.seed)
    modes, effect = ("naive", "ipw", "truth"), None
    if args.dropin:
        # the effect among the offered, as an impact estimate would give it (here from the simulation's truth)
        offered = frame["offered_in_window"] & frame["outcome"].notna()
        effect = float(frame.loc[offered, "y1"].mean() - frame.loc[offered, "y0"].mean())
        modes += ("dropin",)
    result = run_study(frame, modes, dropin_effect=effect)
    json.dump({"children_per_year": args.children, "seed": args.seed, "confounder": args.confounder,
               "first_list_year": args.first_list_year,
               "dropin_effect": effect, "results": result}, sys.stdout, indent=2, default=str)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
