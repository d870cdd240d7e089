"""What family features add to the children's models, out of time, with intervals (issue #18).

The children's models (``neet18``, ``care_entry``) can take family features, what services recorded about
a child's parents and siblings (``features/family.py``), but only when a spec opts in
(``features.family: [parent, sibling]``; the IG board's decision, checklist item ``family_records``). This
study measures their gain before anyone asks the board: for each model it builds the features of a variant
of the spec that opts in to both relations (the features stage's own builder,
``features.stage.build_over_index``, over the project's person index; written to ``--workdir``, never into
the project) and fits the spec's learners twice on the same rows: "without family", the spec's inputs
(``features.registry.feature_columns`` of the spec as it is), and "with family", the variant's (the same
inputs and the family features). Both are fitted as ``benchmarks/records_ceiling.py`` fits LightGBM: the
training years, early stopping on the validation year, the test year scored by the raw margin and its list of
``capacity`` rows selected as every list is (``models.selection.selection_order``); the logistic regression
is fitted as the train stage fits it (``models.learners.fit_logistic``). Neither is calibrated nor weighted
for early help offers: the ranking is what is compared.

On the test year's labelled rows: AUROC, average precision and precision at capacity on the recorded
outcome, and, on the rows synthetic truth holds, the expected precision at capacity (mean generator
probability ``p_true`` of the rows each list selects: ``records_ceiling.expected_precision_draws``). The
intervals are paired percentile bootstrap intervals: each of ``--replicates`` draws resamples the test rows
and re-evaluates every arm on that same draw (a list is re-selected within the draw), so the difference
with-minus-without has its own interval. The fitted models are not refitted per draw: the intervals show
the test year's sampling noise, not the training sample's.

Example (a project whose link stage has run: data/linked incl. family_links.parquet, data/pseudo,
data/truth, .secrets/pseudo.key, params.yaml):
    python benchmarks/family_gain.py --project /path/to/project --workdir /tmp/fg --out family_gain.json
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.metrics import average_precision_score, roc_auc_score

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, str(REPO))

from benchmarks.records_ceiling import attach_truth, expected_precision_draws, first_k_drawn  # noqa: E402
from features.family import FAMILY_GROUP, RELATIONS  # noqa: E402
from features.registry import FEATURES, feature_columns  # noqa: E402
from models.learners import (  # noqa: E402
    fit_lightgbm,
    fit_logistic,
    lightgbm_margin,
    make_lightgbm_pipeline,
    make_logistic_pipeline,
    model_margin,
)
from models.preprocess import categorical_columns  # noqa: E402
from models.selection import selection_order  # noqa: E402
from models.spec import ModelSpec, load_model_spec  # noqa: E402

log = logging.getLogger("family_gain")

MODELS = ("neet18", "care_entry")
WITHOUT, WITH = "without family", "with family"
LEARNERS = ("lightgbm", "logistic")
METRICS = ("auroc", "average_precision", "precision_at_capacity")


def family_variant(spec: ModelSpec) -> ModelSpec:
    """``spec`` opted in to every relative's family features (``features.family: [parent, sibling]``),
    validated as a spec file would be."""
    dumped = spec.model_dump()
    dumped["features"] = {**dumped["features"], "family": list(RELATIONS)}
    return ModelSpec.model_validate(dumped)


def arm_columns(spec: ModelSpec, variant: ModelSpec) -> dict[str, list[str]]:
    """Each arm's model inputs: the spec's own, and the variant's (the spec's and the family features).

    Raises:
        ValueError: the variant adds no family feature, drops one of the spec's inputs, or adds an input
            outside the family group.
    """
    base, with_family = feature_columns(spec), feature_columns(variant)
    added = [c for c in with_family if c not in base]
    if not added or set(base) - set(with_family) or any(FEATURES[c].group != FAMILY_GROUP for c in added):
        raise ValueError(f"{spec.name}: the family variant's inputs are not the spec's plus family features "
                         f"(added {added}, dropped {sorted(set(base) - set(with_family))})")
    return {WITHOUT: base, WITH: with_family}


def build_family_features(project: Path, variant: ModelSpec, out: Path) -> Path:
    """Build ``variant``'s features from ``project`` with the features stage's builder; write them to ``out``
    and the build's report (leakage check, row reconciliation) beside it (``<out>.json``)."""
    from features.spec_checks import check_spec_kinds
    from features.stage import build_over_index
    from pipeline.core.config import FeaturesParams, load_params
    from pipeline.core.io import read_parquet, write_json, write_parquet
    from pipeline.core.paths import ProjectPaths

    paths = ProjectPaths(project)
    params_file = project / "params.yaml"
    params = load_params(params_file).features if params_file.exists() else FeaturesParams()
    person_index = read_parquet(paths.person_index, columns=["table", "record_key_tok", "person_id"])
    result = build_over_index(check_spec_kinds(variant), person_index, params, paths, years=None)
    write_json(result.report, out.with_suffix(".json"))
    if not result.report["leakage_check_passed"]:  # a gain measured on leaking features would mean nothing
        raise RuntimeError(f"{variant.name} with family features: the leakage check failed (features "
                           f"{result.report['leakage_perturbation']['differing_features']}); report in "
                           f"{out.with_suffix('.json')}")
    return write_parquet(result.frame, out)


def ranking_metric_draws(scores: dict[str, np.ndarray], outcome: np.ndarray, person_id, k: int, seed: int,
                         replicates: int) -> tuple[dict[str, dict[str, float]], dict[str, dict[str, np.ndarray]]]:
    """Each score's AUROC, average precision and precision at ``k`` on the recorded ``outcome`` (0/1), on the
    rows and on ``replicates`` paired resamples of them.

    Draw ``b`` is the one ``records_ceiling.expected_precision_draws`` makes with the same ``seed`` and row
    count; a row drawn ``c`` times weighs ``c`` (AUROC and average precision take it as a sample weight; a
    list is its first ``k`` drawn rows in the score's :func:`selection_order`, the boundary row in part). A
    draw with one class only has no AUROC or average precision (NaN).
    """
    y = np.asarray(outcome, dtype=np.float64)
    n = len(y)
    orders = {name: selection_order(score, person_id, seed) for name, score in scores.items()}

    def evaluate(name: str, counts: np.ndarray) -> dict[str, float]:
        drawn = counts > 0
        w, yd, sd = counts[drawn], y[drawn], np.asarray(scores[name], dtype=np.float64)[drawn]
        both = 0 < yd.sum() < len(yd)
        taken = first_k_drawn(counts[orders[name]], k)
        return {"auroc": roc_auc_score(yd, sd, sample_weight=w) if both else np.nan,
                "average_precision": average_precision_score(yd, sd, sample_weight=w) if both else np.nan,
                "precision_at_capacity": float(taken @ y[orders[name]]) / min(k, counts.sum())}

    point = {name: evaluate(name, np.ones(n)) for name in scores}
    draws = {name: {m: np.empty(replicates) for m in METRICS} for name in scores}
    rng = np.random.default_rng(seed)
    for b in range(replicates):
        counts = np.bincount(rng.integers(0, n, n), minlength=n).astype(np.float64)
        for name in scores:
            for metric, value in evaluate(name, counts).items():
                draws[name][metric][b] = value
    return point, draws


def interval(draws: np.ndarray) -> list[float]:
    """The 95% percentile interval of ``draws`` (draws without a value left out)."""
    return [float(np.nanquantile(draws, 0.025)), float(np.nanquantile(draws, 0.975))]


def compare_arms(point: dict[str, float], draws: dict[str, np.ndarray], without: str, with_: str) -> dict:
    """Each arm's value with its interval, and the paired difference ``with_`` minus ``without``."""
    return {WITHOUT: {"value": point[without], "ci": interval(draws[without])},
            WITH: {"value": point[with_], "ci": interval(draws[with_])},
            "difference": {"value": point[with_] - point[without], "ci": interval(draws[with_] - draws[without])}}


def family_coverage(rows: pd.DataFrame, family: list[str]) -> dict[str, float]:
    """Share of ``rows`` with any nonzero family feature, overall and per relation."""
    def share(columns: list[str]) -> float:
        return float((rows[columns].fillna(0) != 0).any(axis=1).mean()) if columns and len(rows) else 0.0
    return {"any": share(family), **{r: share([c for c in family if c.startswith(f"family_{r}_")])
                                     for r in RELATIONS}}


def fit_margins(learner: str, spec: ModelSpec, columns: list[str], train: pd.DataFrame, valid: pd.DataFrame,
                test: pd.DataFrame) -> np.ndarray:
    """The test rows' margin of ``learner`` fitted on ``train`` with ``columns`` (LightGBM stopped early on
    ``valid``)."""
    categorical = categorical_columns(train, columns)
    if learner == "lightgbm":
        params = dict(spec.learners.lightgbm)
        stopping = params.pop("early_stopping_rounds", 50)
        fitted = fit_lightgbm(make_lightgbm_pipeline(columns, categorical, params, spec.seed), train[columns],
                              train["outcome"].astype(int), valid[columns], valid["outcome"].astype(int), stopping)
        return lightgbm_margin(fitted, test[columns])
    params = dict(spec.learners.logistic)
    fitted = fit_logistic(make_logistic_pipeline(columns, categorical, params, spec.seed), train[columns],
                          train["outcome"].astype(int), params.get("max_negatives"), spec.seed)
    return model_margin(fitted, test[columns])


def study(project: Path, model: str, features_file: Path, replicates: int,
          learners: tuple[str, ...] = LEARNERS) -> dict:
    """Fit each learner without and with family features and compare them on the test year."""
    spec = load_model_spec(model)
    columns = arm_columns(spec, family_variant(spec))
    features = pd.read_parquet(features_file)
    missing = [c for c in columns[WITH] if c not in features.columns]
    if missing:
        raise ValueError(f"{features_file} lacks the family features {missing}: build it with features.family")
    family = [c for c in columns[WITH] if c not in columns[WITHOUT]]
    years = pd.to_datetime(features["index_date"]).dt.year
    labelled = features["outcome"].notna()
    train = features[years.isin(spec.split.train_years) & labelled]
    valid = features[(years == spec.split.validation_year) & labelled]
    test = features[(years == spec.split.test_year) & labelled].reset_index(drop=True)
    k = spec.capacity_in(spec.split.test_year)
    scores = {}
    for learner in learners:
        for arm, cols in columns.items():
            log.info("%s: fitting %s %s (%d inputs)", model, learner, arm, len(cols))
            scores[f"{learner}, {arm}"] = fit_margins(learner, spec, cols, train, valid, test)
    y = test["outcome"].to_numpy(np.float64)
    point, draws = ranking_metric_draws(scores, y, test["person_id"].to_numpy(), k, spec.seed, replicates)
    truth = attach_truth(test.assign(_row=np.arange(len(test))), project, model)
    rows = truth["_row"].to_numpy()
    p_true = truth["p_true"].to_numpy(np.float64)
    expected, expected_draws = expected_precision_draws(
        {**{name: s[rows] for name, s in scores.items()}, "generator (p_true)": p_true},
        truth["person_id"].to_numpy(), p_true, k, spec.seed, replicates)
    results = {}
    for learner in learners:
        without, with_ = f"{learner}, {WITHOUT}", f"{learner}, {WITH}"
        results[learner] = {m: compare_arms({a: point[a][m] for a in scores}, {a: draws[a][m] for a in scores},
                                            without, with_) for m in METRICS}
        results[learner]["expected_precision_at_capacity"] = compare_arms(expected, expected_draws, without, with_)
    return {
        "model": model, "test_year": spec.split.test_year, "capacity": k, "features_file": str(features_file),
        "inputs": {WITHOUT: len(columns[WITHOUT]), WITH: len(columns[WITH]), "family": family},
        "rows": {"train": len(train), "validation": len(valid), "test": len(test),
                 "test_unlabelled": int(((years == spec.split.test_year) & ~labelled).sum()),
                 "test_with_truth": len(truth)},
        "outcomes": {"train": int(train["outcome"].sum()), "validation": int(valid["outcome"].sum()),
                     "test": int(test["outcome"].sum())},
        "family_coverage": {"train": family_coverage(train, family), "test": family_coverage(test, family)},
        "generator_expected_precision": expected["generator (p_true)"],
        "bootstrap": {"replicates": replicates, "interval": "paired percentile, 95%", "seed": spec.seed},
        "learners": results,
    }


def print_summary(r: dict) -> None:
    """A plain table of one model's results."""
    cov = r["family_coverage"]["test"]
    print(f"\n{r['model']}: test year {r['test_year']}, capacity {r['capacity']}; rows train/validation/test "
          f"{r['rows']['train']:,}/{r['rows']['validation']:,}/{r['rows']['test']:,} (with truth "
          f"{r['rows']['test_with_truth']:,}); outcomes {r['outcomes']['train']}/{r['outcomes']['validation']}/"
          f"{r['outcomes']['test']}; inputs {r['inputs'][WITHOUT]} -> {r['inputs'][WITH]}; test rows with any "
          f"family feature {cov['any']:.1%} (parent {cov['parent']:.1%}, sibling {cov['sibling']:.1%}); "
          f"generator's list expected precision {r['generator_expected_precision']:.4f}")
    print(f"  {'learner':<9} {'metric':<32} {WITHOUT:>22} {WITH:>22} {'difference':>26}")
    for learner, metrics in r["learners"].items():
        for metric, m in metrics.items():
            cells = [f"{m[a]['value']:.4f} ({m[a]['ci'][0]:.4f}-{m[a]['ci'][1]:.4f})" for a in (WITHOUT, WITH)]
            d = m["difference"]
            diff = f"{d['value']:+.4f} ({d['ci'][0]:+.4f} to {d['ci'][1]:+.4f})"
            print(f"  {learner:<9} {metric:<32} {cells[0]:>22} {cells[1]:>22} {diff:>26}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--project", type=Path, required=True,
                        help="project folder whose link stage has run: data/linked (family_links.parquet), "
                        "data/pseudo, data/truth, .secrets/pseudo.key, params.yaml; read only")
    parser.add_argument("--model", action="append", choices=MODELS, help="repeatable (default both)")
    parser.add_argument("--features", type=Path, action="append",
                        help="a features file already built with family features, one per --model in order "
                        "(default: build them into --workdir)")
    parser.add_argument("--workdir", type=Path, help="where the family features are built (default a temp folder)")
    parser.add_argument("--learners", default=",".join(LEARNERS), help="comma-separated, of: lightgbm, logistic")
    parser.add_argument("--replicates", type=int, default=1000, help="bootstrap replicates (default 1000)")
    parser.add_argument("--out", type=Path, help="write the results here as JSON")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    models = args.model or list(MODELS)
    learners = tuple(a.strip() for a in args.learners.split(","))
    if set(learners) - set(LEARNERS):
        parser.error(f"unknown learners {sorted(set(learners) - set(LEARNERS))}; choose from {list(LEARNERS)}")
    if args.features and len(args.features) != len(models):
        parser.error("give one --features file per --model")
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="family_gain_"))
    if workdir.resolve().is_relative_to(args.project.resolve()):
        parser.error("--workdir must be outside the project folder")
    workdir.mkdir(parents=True, exist_ok=True)
    results = []
    for i, model in enumerate(models):
        features_file = args.features[i] if args.features else None
        if features_file is None:
            features_file = workdir / f"{model}_family.parquet"
            log.info("%s: building features with family features into %s", model, features_file)
            build_family_features(args.project, family_variant(load_model_spec(model)), features_file)
        results.append(study(args.project, model, features_file, args.replicates, learners))
        print_summary(results[-1])
        if args.out:  # after each model, so a long run keeps what it has
            args.out.write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
