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
it prints one JSON object. ``--seeds 1-10`` runs it once per seed and adds medians, how often each O/E interval lies
above 1, and the O/E pooled over the seeds (:func:`run_seeds`): one county of this size is too small for the
realised outcomes to show a shortfall of a few per cent (docs/benchmarks.md).

``--county DIR`` runs the same comparison on a synthetic county built with help on (synth, ingest, pseudonymise,
link, ``features --model care_entry`` under DIR): the care_entry spec as it is (with params.yaml's lists in the
three years before the reference date: 2023 in training, 2024 the calibration year), or its split moved back by
``--test-year``, judged among the test year's offered children against their true outcome without help (the truth's
``outcome_care_entry.parquet`` outcome, what happened, plus the entry an offer in the row's window prevented, from
``help/scores.parquet``) and its true chance before help (that file's ``p_true``), keyed to the person index through
``person_map.parquet`` as evaluation's generator baseline is. Truth is read only here, for judging. The
pseudonymisation key comes from ``$RISKPIPE_PSEUDO_KEY`` or DIR/.secrets/pseudo.key.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

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
        results[mode] = {**under_prediction(frame, trained.scores["score_released"], [2024, LAST_YEAR]),
                         "untreated": trained.summary["untreated"]}
    return results


def seed_summary(per_seed: list[dict], modes: tuple[str, ...]) -> dict:
    """Each mode's O/E among the offered over seeds: medians, how often the interval of y0's O/E lies above 1
    (under-prediction shown) or below 1, and ``pooled``: observed over expected summed over the seeds (one county
    as large as all of them); ``naive_above`` is how often naive's p0 ratio exceeds the mode's.

    Args:
        per_seed: :func:`run_study` results, one per seed.
    """
    out = {}
    for mode in modes:
        rows = [result[mode]["offered"] for result in per_seed]
        ratio = np.array([r["ratio"] for r in rows])
        p0 = np.array([r["p0_over_predicted"] for r in rows])
        out[mode] = {"median_ratio": round(float(np.median(ratio)), 3),
                     "median_p0_over_predicted": round(float(np.median(p0)), 3),
                     "range_p0_over_predicted": [round(float(p0.min()), 3), round(float(p0.max()), 3)],
                     "share_interval_above_1": round(float(np.mean([r["low"] > 1 for r in rows])), 3),
                     "share_interval_below_1": round(float(np.mean([r["high"] < 1 for r in rows])), 3),
                     "pooled": observed_over_expected(sum(r["observed"] for r in rows),
                                                      float(sum(r["expected"] for r in rows))),
                     "median_not_offered_p0_over_predicted": round(float(np.median(
                         [result[mode]["not_offered"]["p0_over_predicted"] for result in per_seed])), 3)}
        if mode != "naive" and "naive" in modes:
            naive = np.array([result["naive"]["offered"]["p0_over_predicted"] for result in per_seed])
            out[mode]["naive_above"] = round(float(np.mean(naive > p0)), 3)
    return out


def run_seeds(seeds: list[int], modes: tuple[str, ...] = ("naive", "ipw", "truth"), **simulation) -> dict:
    """:func:`run_study` on :func:`simulate_listed_county` once per seed (``simulation``: its keyword arguments).

    Returns:
        ``{"per_seed": {seed: {mode: offered O/E, p0 ratio}}, "summary": seed_summary(...)}``.
    """
    per_seed = []
    for seed in seeds:
        per_seed.append(run_study(simulate_listed_county(**simulation, seed=seed), modes))
        # one seed takes about a minute: each goes out as soon as it is known
        sys.stderr.write(json.dumps({"seed": seed, **{m: per_seed[-1][m]["offered"] for m in modes}}) + "\n")
    brief = {seed: {mode: {k: result[mode]["offered"][k] for k in ("ratio", "low", "high", "p0_over_predicted")}
                    for mode in modes} for seed, result in zip(seeds, per_seed, strict=True)}
    return {"per_seed": brief, "summary": seed_summary(per_seed, modes)}


def help_prevented(rows: pd.DataFrame, people: pd.DataFrame, help_rows: pd.DataFrame,
                   horizon_months: int = 12) -> np.ndarray:
    """Per row of ``rows``: an offer in its outcome window ``[index_date, index_date + horizon]`` prevented an entry
    to care (the offer's run has y0 and not y1), so the row's outcome without help is an entry.

    Args:
        rows: ``person_id`` (linked), ``index_date``.
        people: ``person_id`` (linked, str), ``true_person_id`` (``models.oracle.linked_to_true_person``).
        help_rows: data/truth/help/scores.parquet: ``person_id`` (true), ``offered, offer_date, y0_care_12m,
            y1_care_12m``.
    """
    stopped = help_rows[help_rows["offered"] & help_rows["y0_care_12m"] & ~help_rows["y1_care_12m"]]
    keyed = pd.DataFrame({"row": np.arange(len(rows)), "person_id": rows["person_id"].astype(str).to_numpy(),
                          "start": pd.to_datetime(rows["index_date"]).to_numpy()}).merge(people, on="person_id")
    pairs = keyed.merge(stopped[["person_id", "offer_date"]].rename(columns={"person_id": "true_person_id"}),
                        on="true_person_id")
    offer = pd.to_datetime(pairs["offer_date"])
    inside = (offer >= pairs["start"]) & (offer <= pairs["start"] + pd.DateOffset(months=horizon_months))
    prevented = np.zeros(len(rows), dtype=bool)
    prevented[pairs.loc[inside, "row"].to_numpy()] = True
    return prevented


def county_frame(root: Path, key_file: Path | None = None) -> pd.DataFrame:
    """A county's care_entry features with each row's truth: ``y0`` (the true outcome without help), ``p0``
    (its true chance), NaN where the row's linked person or year has no truth, and ``help_prevented`` (an offer
    in the window took the row's entry out).

    Args:
        root: the county's project root (``data/features/care_entry.parquet``, ``data/linked/``, ``data/truth/``).
        key_file: the pseudonymisation key file (``$RISKPIPE_PSEUDO_KEY`` takes precedence).
    """
    # imported here: pipeline.linkage loads Splink, which only the county mode needs
    from models.oracle import attach_true_probability, linked_to_true_person
    from pipeline.core.io import read_parquet
    from pipeline.core.paths import ProjectPaths
    from pipeline.linkage.evaluation import tokenise_truth_keys
    from pipeline.privacy.keys import load_key

    paths = ProjectPaths(root)
    features = read_parquet(paths.features_table("care_entry"))
    if "offered_in_window" not in features.columns:
        raise ValueError(f"{paths.features_table('care_entry')} has no offer exposure: build the county with "
                         "synth.help.enabled and rerun features")
    key = load_key(key_file or root / ".secrets" / "pseudo.key")
    people = linked_to_true_person(read_parquet(paths.person_index),
                                   tokenise_truth_keys(read_parquet(paths.truth / "person_map.parquet"), key))
    truth = attach_true_probability(features[["person_id", "index_date"]], people,
                                    read_parquet(paths.truth / "outcome_care_entry.parquet"))
    # the truth's outcome is what happened (help's prevented entries taken out) and p_true the chance before
    # help: y0 adds back the entry an offer in the row's window prevented (help/scores.parquet, y0 and not y1)
    prevented = help_prevented(features, people, read_parquet(paths.truth / "help" / "scores.parquet"))
    y0 = truth["true_outcome"].to_numpy()
    return features.assign(y0=np.where(prevented, 1.0, y0), p0=truth["p_true"].to_numpy(),
                           help_prevented=prevented)


def shifted_split(base: ModelSpec, test_year: int | None) -> ModelSpec:
    """``base`` with its split moved back so that ``test_year`` is the test year (validation the year before, training
    the spec's years up to the one before that); None = the spec as it is. On a county whose lists began in 2020,
    test year 2023 is a retrain after two years of lists (2020, 2021) with a third (2022) calibrating."""
    if test_year is None or test_year == base.split.test_year:
        return base
    train = [year for year in base.split.train_years if year <= test_year - 2]
    split = base.split.model_copy(update={"train_years": train, "validation_year": test_year - 1,
                                          "test_year": test_year, "score_year": test_year + 1})
    return base.model_copy(update={"split": split})


def run_county_study(frame: pd.DataFrame, modes: tuple[str, ...] = ("naive", "ipw", "truth"),
                     *, lightgbm_threads: int = 1, test_year: int | None = None) -> dict:
    """:func:`run_study` on a county's features (:func:`county_frame`) with the care_entry spec (its split moved
    back to ``test_year`` by :func:`shifted_split`): O/E of y0, and of its true chance p0, among the test year's
    offered and not offered (rows with truth).

    ``truth`` fits the same learners on y0 where the recorded label has matured (the reference no council has).
    """
    from features.registry import feature_columns

    base = shifted_split(load_model_spec("care_entry"), test_year)
    columns = feature_columns(base)
    missing = [column for column in columns if column not in frame.columns]
    if missing:
        raise ValueError(f"the county's care_entry features lack {missing}, which the spec now reads: rerun "
                         "`features --model care_entry` on it")
    judged = frame["y0"].notna().to_numpy() & frame["p0"].notna().to_numpy()
    results = {}
    for mode in modes:
        data = frame
        if mode == "truth":
            y0 = pd.Series(frame["y0"].fillna(0).astype("int8").to_numpy(), index=frame.index, dtype="Int8")
            data = frame.assign(outcome=y0.where(frame["outcome"].notna()), offered_in_window=False)
        training = base.training.model_copy(update={"untreated": "naive" if mode == "truth" else mode})
        trained = train_models(data, base.model_copy(update={"training": training}), columns,
                               lightgbm_threads=lightgbm_threads)
        score = trained.scores["score_released"]
        results[mode] = {**under_prediction(frame[judged], score[judged], [base.split.test_year]),
                         "untreated": trained.summary["untreated"]}
        # each mode takes minutes on a large county: its result goes out as soon as it is known
        sys.stderr.write(json.dumps({mode: results[mode]}, default=str) + "\n")
    return results


def county_main(args: argparse.Namespace) -> int:
    """``--county DIR``: the study on a synthetic county's features; prints one JSON object."""
    frame = county_frame(args.county)
    offered = frame["offered_in_window"].fillna(False).astype(bool)
    by_year = frame.groupby("index_year").agg(rows=("outcome", "size"), recorded=("outcome", "sum"),
                                              offered=("offered_in_window", "sum"), y0=("y0", "sum"))
    result = {"county": str(args.county), "rows": len(frame), "rows_with_truth": int(frame["y0"].notna().sum()),
              "by_year": {int(y): {k: int(v) for k, v in row.items()} for y, row in by_year.iterrows()},
              "offered_recorded_vs_y0": {"recorded": int(frame.loc[offered, "outcome"].sum()),
                                         "y0": int(frame.loc[offered, "y0"].sum()),
                                         "help_prevented": int(frame["help_prevented"].sum())},
              "split": shifted_split(load_model_spec("care_entry"), args.test_year).split.model_dump(),
              "results": run_county_study(frame, tuple(args.modes.split(",")), test_year=args.test_year)}
    json.dump(result, sys.stdout, indent=2, default=str)
    sys.stdout.write("\n")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--children", type=int, default=8000, help="rows per index year")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--confounder", type=float, default=0.0)
    parser.add_argument("--first-list-year", type=int, default=2019, help="first index year whose list offers help")
    parser.add_argument("--seeds", help="e.g. 1-10: the study once per seed, with medians and interval shares")
    parser.add_argument("--dropin", action="store_true", help="also relabel with the true effect among the offered")
    parser.add_argument("--county", type=Path, help="a synthetic county's root with help on (see the module doc)")
    parser.add_argument("--modes", default="naive,ipw,truth", help="with --county: the trainings compared")
    parser.add_argument("--test-year", type=int, help="with --county: judge this year (the split moved back to it)")
    args = parser.parse_args(argv)
    if args.county is not None:
        return county_main(args)
    if args.seeds:
        first, _, last = args.seeds.partition("-")
        seeds = list(range(int(first), int(last or first) + 1))
        result = run_seeds(seeds, children_per_year=args.children, first_list_year=args.first_list_year,
                           confounder=args.confounder)
        json.dump({"children_per_year": args.children, "seeds": args.seeds, "confounder": args.confounder,
                   "first_list_year": args.first_list_year, **result}, sys.stdout, indent=2, default=str)
        sys.stdout.write("\n")
        return 0
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
