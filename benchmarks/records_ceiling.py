"""How far below the generator a model of the records must stay: LightGBM given what no record holds (issue #14).

Issue #14 asks that, on the demo county, LightGBM's expected precision at capacity reach 0.95 of the
generator's. The generator ranks by ``p_true``, and the care-entry simulation draws from a child's
*latent* state (``pipeline/synthetic/lifecourse``: the child's own random effect, the household's poverty
score, a parent's domestic abuse, mental ill health or substance misuse active that year, and an ethnicity
term the spec is not allowed to use), which records show only in part or not at all. This study asks how much
of the gap is that information rather than the method or the sample: it fits the spec's LightGBM on the
features file as built, then again with each hidden factor added as an input taken from synthetic truth
(evaluation only, never a model input), and compares the test year's expected precision at capacity
(the mean ``p_true`` of the ``capacity`` rows each list selects, selected as every list is:
``models.selection.select_top``) with the generator's list and with the ``p_state``-ranked list
(``models.generator_yardstick``). If the hidden factors close the gap, the records cannot: the target
needs information the county does not record (or records the spec may not use).

The intervals are paired percentile bootstrap intervals (``--replicates`` resamples of the test rows, each
list re-selected within the resample); the fitted models are not refitted per replicate, so the intervals
show the test year's sampling noise, not the training sample's.

Example (a project whose features stage has run for the model, with its synthetic truth and key):
    python benchmarks/records_ceiling.py --project /path/to/project --model care_entry --out ceiling.json
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, str(REPO))

from features.registry import feature_columns  # noqa: E402
from models.learners import fit_lightgbm, lightgbm_margin, make_lightgbm_pipeline  # noqa: E402
from models.oracle import linked_to_true_person  # noqa: E402
from models.preprocess import categorical_columns  # noqa: E402
from models.selection import selection_order  # noqa: E402
from models.spec import load_model_spec  # noqa: E402
from pipeline.privacy.keys import load_key  # noqa: E402
from pipeline.synthetic.lifecourse.risk import CARE_ENTRY_GROUP_EFFECT  # noqa: E402

ADVERSITY = {"domestic_abuse": "hidden_parent_domestic_abuse", "mental_health": "hidden_parent_mental_health",
             "substance_misuse": "hidden_parent_substance_misuse"}
# each arm adds these hidden columns to the spec's inputs; "as built" adds none
ARMS = {
    "as built": [],
    "+ child's own effect": ["hidden_child_effect"],
    "+ household poverty": ["hidden_poverty"],
    "+ parents' adversity that year": list(ADVERSITY.values()),
    "+ ethnicity term": ["hidden_ethnicity_term"],
    "+ all of these": ["hidden_child_effect", "hidden_poverty", *ADVERSITY.values(), "hidden_ethnicity_term"],
}


def hidden_factors(truth: Path, rows: pd.DataFrame) -> pd.DataFrame:
    """Per row (``true_person_id``, ``index_date``), the latent state the simulation drew care entry from.

    A parent's adversity counts when a parent in the child's household has an episode of that kind open the
    day after the index date (the simulation's year starts then); a county without adults' truth
    (``adults_adversity.parquet``) has no adversity columns."""
    columns = ["person_id", "household_id", "role", "child_effect", "poverty", "ethnicity_group"]
    people = pd.read_parquet(truth / "people.parquet", columns=columns)
    child = people.set_index("person_id")
    out = pd.DataFrame(index=rows.index)
    ids = rows["true_person_id"]
    out["hidden_child_effect"] = ids.map(child["child_effect"]).astype("float64")
    out["hidden_poverty"] = ids.map(child["poverty"]).astype("float64")
    out["hidden_ethnicity_term"] = ids.map(child["ethnicity_group"]).map(CARE_ENTRY_GROUP_EFFECT).fillna(0.0)
    if not (truth / "adults_adversity.parquet").exists():  # a county without adults (synth.adults.enabled false)
        return out
    episodes = pd.read_parquet(truth / "adults_adversity.parquet").merge(
        people.loc[people["role"] != "child", ["person_id", "household_id"]], on="person_id")
    day = pd.to_datetime(rows["index_date"]) + pd.Timedelta(days=1)
    keyed = pd.DataFrame({"row": rows.index, "household_id": ids.map(child["household_id"]).to_numpy(), "day": day})
    for kind, column in ADVERSITY.items():
        open_ = keyed.merge(episodes[episodes["kind"] == kind], on="household_id")
        open_ = open_[(pd.to_datetime(open_["start"]) <= open_["day"]) & (open_["day"] < pd.to_datetime(open_["end"]))]
        out[column] = rows.index.isin(open_["row"]).astype("float64")
    return out


def attach_truth(features: pd.DataFrame, project: Path, model: str) -> pd.DataFrame:
    """``features`` with ``true_person_id``, ``p_true``, ``p_state`` (rows truth does not hold are dropped)."""
    from pipeline.linkage.evaluation import tokenise_truth_keys  # loads Splink: only here

    key = load_key(project / ".secrets" / "pseudo.key")
    person_map = linked_to_true_person(pd.read_parquet(project / "data" / "linked" / "person_index.parquet"),
                                       tokenise_truth_keys(pd.read_parquet(project / "data" / "truth" /
                                                                           "person_map.parquet"), key))
    truth = pd.read_parquet(project / "data" / "truth" / f"outcome_{model}.parquet")
    truth = truth.assign(_year=pd.to_datetime(truth["index_date"]).dt.year).rename(
        columns={"person_id": "true_person_id"})[["true_person_id", "_year", "p_true", "p_state"]]
    truth = truth.drop_duplicates(["true_person_id", "_year"])
    keyed = features.assign(person_id=features["person_id"].astype(str),
                            _year=pd.to_datetime(features["index_date"]).dt.year)
    keyed = keyed.merge(person_map, on="person_id", how="inner").merge(truth, on=["true_person_id", "_year"],
                                                                      how="inner")
    return keyed.drop(columns="_year")


def first_k_drawn(counts_in_order: np.ndarray, k: int) -> np.ndarray:
    """How many times each row, in a list's order, is among the list's first ``k`` drawn rows (a row drawn ``c``
    times counts up to ``c``; the boundary row in part)."""
    before = np.cumsum(counts_in_order) - counts_in_order
    return np.minimum(counts_in_order, np.maximum(k - before, 0.0))


def expected_precision_draws(scores: dict[str, np.ndarray], person_id, p_true: np.ndarray, k: int, seed: int,
                             replicates: int) -> tuple[dict[str, float], dict[str, np.ndarray]]:
    """Each list's expected precision at ``k`` on the rows and on ``replicates`` paired resamples of them.

    A resample's list is its first ``k`` drawn rows in the list's order (a row drawn twice counts twice, the
    boundary row in part), so every list is re-selected from the same draws."""
    rng = np.random.default_rng(seed)
    n = len(p_true)
    orders = {name: selection_order(score, person_id, seed) for name, score in scores.items()}
    point = {name: float(p_true[order[:k]].mean()) for name, order in orders.items()}
    draws = {name: np.empty(replicates) for name in scores}
    for b in range(replicates):
        counts = np.bincount(rng.integers(0, n, n), minlength=n).astype(np.float64)
        for name, order in orders.items():
            taken = first_k_drawn(counts[order], k)
            draws[name][b] = float(taken @ p_true[order]) / k
    return point, draws


def people_sample(rows: pd.DataFrame, fraction: float, seed: int) -> pd.DataFrame:
    """The rows of a seeded ``fraction`` of the people in ``rows`` (whole people, every year of each)."""
    if fraction >= 1:
        return rows
    people = np.sort(rows["person_id"].astype(str).unique())
    keep = np.random.default_rng(seed).choice(people, size=max(int(round(fraction * len(people))), 1), replace=False)
    return rows[rows["person_id"].astype(str).isin(keep)]


def study(project: Path, model: str, replicates: int, seed: int | None = None, *, features_file: Path | None = None,
          fractions: tuple[float, ...] = (1.0,), arms: tuple[str, ...] = tuple(ARMS)) -> dict:
    """Fit each arm on each fraction of the training people, select the test year's list, and compare its
    expected precision with the yardsticks'."""
    spec = load_model_spec(model)
    seed = spec.seed if seed is None else seed
    features = pd.read_parquet(features_file or project / "data" / "features" / f"{model}.parquet")
    rows = attach_truth(features, project, model)
    rows = rows.join(hidden_factors(project / "data" / "truth", rows))
    years = pd.to_datetime(rows["index_date"]).dt.year
    labelled = rows["outcome"].notna()
    train = rows[years.isin(spec.split.train_years) & labelled]
    valid = rows[(years == spec.split.validation_year) & labelled]
    test = rows[years == spec.split.test_year].reset_index(drop=True)
    k = spec.capacity_in(spec.split.test_year)
    params = dict(spec.learners.lightgbm)
    stopping = params.pop("early_stopping_rounds", 50)
    base = feature_columns(spec)
    lacking = {arm: [c for c in ARMS[arm] if c not in rows.columns] for arm in arms}
    if any(lacking.values()):
        raise ValueError(f"{project}: truth lacks the hidden factors of arms {[a for a, c in lacking.items() if c]} "
                         f"({sorted({c for cs in lacking.values() for c in cs})}; a county without adults holds no "
                         "parents' adversity in truth): choose other --arms")
    scores, inputs, fitted_on = {}, {}, {}
    for fraction in fractions:
        sample = people_sample(train, fraction, seed)
        for arm in arms:
            columns = [*base, *ARMS[arm]]
            name = arm if len(fractions) == 1 else f"{arm}, {fraction:g} of the training people"
            fitted = fit_lightgbm(make_lightgbm_pipeline(columns, categorical_columns(sample, columns), params, seed),
                                  sample[columns], sample["outcome"].astype(int), valid[columns],
                                  valid["outcome"].astype(int), stopping)
            scores[name] = lightgbm_margin(fitted, test[columns])
            inputs[name] = len(columns)
            fitted_on[name] = {"rows": len(sample), "outcomes": int(sample["outcome"].sum())}
    p_true = test["p_true"].to_numpy(np.float64)
    yardsticks = {"generator (p_true)": p_true, "state-ranked (p_state)": test["p_state"].to_numpy(np.float64)}
    point, draws = expected_precision_draws({**scores, **yardsticks}, test["person_id"].to_numpy(), p_true, k,
                                            seed, replicates)

    def share(name: str, of: str) -> dict:
        ratio = draws[name] / draws[of]
        return {"value": point[name] / point[of], "ci": [float(np.quantile(ratio, 0.025)),
                                                          float(np.quantile(ratio, 0.975))]}

    results = {name: {"inputs": inputs[name], "trained_on": fitted_on[name], "expected_precision": point[name],
                      "to_generator": share(name, "generator (p_true)"),
                      "to_state_ranked": share(name, "state-ranked (p_state)")} for name in scores}
    return {
        "model": model, "test_year": spec.split.test_year, "capacity": k,
        "rows": {"train": len(train), "validation": len(valid), "test": len(test),
                 "test_without_truth": int((pd.to_datetime(features["index_date"]).dt.year
                                            == spec.split.test_year).sum() - len(test))},
        "outcomes": {"train": int(train["outcome"].sum()), "validation": int(valid["outcome"].sum()),
                     "test": int(test["outcome"].sum())},
        "bootstrap": {"replicates": replicates, "interval": "paired percentile, 95%"},
        "generator_expected_precision": point["generator (p_true)"],
        "state_ranked_expected_precision": point["state-ranked (p_state)"],
        "state_ranked_to_generator": share("state-ranked (p_state)", "generator (p_true)"),
        "arms": results,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--project", type=Path, required=True,
                        help="project folder: data/features/<model>.parquet, data/linked, data/truth, "
                        ".secrets/pseudo.key")
    parser.add_argument("--model", action="append", help="care_entry (the hidden factors are care entry's; "
                        "repeatable for a variant spec of it; default care_entry)")
    parser.add_argument("--replicates", type=int, default=1000, help="bootstrap replicates (default 1000)")
    parser.add_argument("--features", type=Path,
                        help="the features file (default <project>/data/features/<model>.parquet)")
    parser.add_argument("--fractions", default="1", help="comma-separated shares of the training people to fit on "
                        "(a learning curve; default 1)")
    parser.add_argument("--arms", default=",".join(ARMS), help=f"comma-separated, of: {', '.join(ARMS)}")
    parser.add_argument("--out", type=Path, help="write the results here as JSON")
    args = parser.parse_args(argv)
    fractions = tuple(float(f) for f in args.fractions.split(","))
    arms = tuple(a.strip() for a in args.arms.split(","))
    unknown = [a for a in arms if a not in ARMS]
    if unknown:
        parser.error(f"unknown arms {unknown}; choose from {list(ARMS)}")
    results = [study(args.project, model, args.replicates, features_file=args.features, fractions=fractions, arms=arms)
               for model in args.model or ["care_entry"]]
    for r in results:
        print(f"{r['model']}: test year {r['test_year']}, {r['rows']['test']:,} rows, {r['outcomes']['test']} "
              f"recorded outcomes, capacity {r['capacity']}; generator's list {r['generator_expected_precision']:.4f}, "
              f"p_state list {r['state_ranked_expected_precision']:.4f}")
        for arm, a in r["arms"].items():
            g, s = a["to_generator"], a["to_state_ranked"]
            print(f"  {arm:<60} {a['trained_on']['outcomes']:>6} outcomes  {a['expected_precision']:.4f}  "
                  f"to generator {g['value']:.2f} "
                  f"({g['ci'][0]:.2f}-{g['ci'][1]:.2f})  to p_state list {s['value']:.2f} "
                  f"({s['ci'][0]:.2f}-{s['ci'][1]:.2f})")
    if args.out:
        args.out.write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
