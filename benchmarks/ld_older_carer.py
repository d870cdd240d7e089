"""Validation by simulation of the older-carer planning register (``ld_older_carer``, issue #18).

One county holds a few hundred adults with a learning disability living with a carer aged 70+ and a handful
of unplanned moves a year, so one AUROC says little. This study builds many synthetic adults' counties (one
seed each), builds the register in each (``features.ld_older_carer``), fits the penalised logistic model on
the early index years and judges it and the rule (``models.ld_register``) on the later ones, then reports the
spread over counties: median, quartiles and range of AUROC, events captured in the top k, O/E and the
calibration slope, rule against model.

Each county is small in people but Sheffield-sized in the cohort: ``synth.adults.population`` people with the
LD families drawn at ``--dyads-per-100k`` (the design value, 52 per 100,000, gives about 300 dyads in a
580,000-person county like Sheffield; the default 3,000 in 5,000 people gives about the same number of
families without simulating the other half-million). The register is read from the county's TRUE records
(``data/truth/adults_*``: the GP's LD codes, the parents caring at home, their codes, admissions and social
care), as a council's LD case register would hold them, before any recording noise or linkage error.

With ``--through-pipeline`` each county instead runs the pipeline itself (synth, ingest, pseudonymise, link and
``features --model ld_older_carer`` in a scratch project): the register is then the one the features stage builds
from the council's LD case register, linked and pseudonymised like any source, so the study also counts what
recording and linkage lose. The model is then fitted as the train stage fits it: only on the inputs and years
their sources cover (the features report's ``input_coverage``, ``models.input_coverage``), so adult social care's
CLD inputs, which start in April 2023, are kept out of the 2014-2021 fit (``inputs_left_out`` per county). The same
county's truth register is studied beside it, so the two can be compared county by county (``truth_summary``,
``register_compared``).

Run: ``.venv/bin/python -m benchmarks.ld_older_carer --counties 15`` (about 25 s a county on a shared 2-core
machine); writes ``benchmarks/results/ld_older_carer.json`` and prints the summary. ``--through-pipeline``
takes about 5 minutes a county and writes ``ld_older_carer_pipeline.json``. ``--carer-min-age 65`` and
``--label outcome_any_move`` are the sensitivity analyses; ``--population 20000 --dyads-per-100k 52`` a county
at the design density, where there are too few events to estimate anything.
"""

from __future__ import annotations

import argparse
import json
import math
import shutil
import tempfile
from collections import Counter
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from features.adult_gp import EFI_CODES, LTC_CODES
from features.ld_older_carer import (
    CARER_MIN_AGE,
    FEATURE_COLUMNS,
    attach_outcome,
    carer_crises,
    carers_on,
    register_features,
)
from models.input_coverage import cover_inputs
from models.ld_register import calibrate_points, evaluate_scores, fit_penalised, rule_points
from pipeline.core.config import SynthParams
from pipeline.core.io import read_json

RESULTS = Path(__file__).resolve().parent / "results" / "ld_older_carer.json"
PIPELINE_RESULTS = RESULTS.with_name("ld_older_carer_pipeline.json")
PIPELINE_STAGES = ("synth", "ingest", "pseudonymise", "link", "features")  # features: the register's model only
INDEX_YEARS = list(range(2014, 2026))  # 31 March; the 2025 window ends on the reference date 2026-03-31
TRAIN_YEARS = list(range(2014, 2022))
TEST_YEARS = list(range(2022, 2026))
TOP_SHARE = 0.15  # the planning team reviews the top 15% of the register each year (k per county)
PLACEMENTS = {"Community Supported Living": "supported_living", "Shared Lives": "shared_lives"}


def truth_frames(truth: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """The register's input frames (``features.ld_older_carer``) from a county's adults' truth tables."""
    people = truth["adults_people"][["person_id", "dob", "death_date"]].copy()
    gp = truth["adults_gp_events"]
    snomed = gp["snomed"].astype("str")
    gp_codes = pd.DataFrame({"person_id": gp["person_id"], "date": pd.to_datetime(gp["date"]),
                             "ltc": snomed.map(LTC_CODES).fillna(""), "efi": snomed.map(EFI_CODES).fillna("")})
    ld_codes = gp_codes.loc[gp_codes["ltc"] == "learning_disability", ["person_id", "date"]]
    caring = truth["adults_caring"]
    links = caring.loc[caring["relationship"] == "parent", ["carer_id", "cared_for_id", "start", "end"]]
    adm = truth["adults_admissions"]
    admissions = pd.DataFrame({"person_id": adm["person_id"], "date": pd.to_datetime(adm["admission_date"]),
                               "emergency": adm["admission_method"].astype("str").str.match(r"^2[1-9A-D]$|^28$")})
    asc = truth["adults_asc_events"]
    social_care = pd.DataFrame({"person_id": asc["person_id"], "date": pd.to_datetime(asc["start"]),
                                "carer": asc["client_type"].eq("Carer").to_numpy()})
    entries = truth["adults_care_home_entries"]
    entries = entries[entries["permanent"]]
    care_home = pd.DataFrame({"person_id": entries["person_id"], "date": pd.to_datetime(entries["entry_date"])})
    placed = asc[(asc["event_type"] == "Service") & (asc["client_type"] == "Service user")
                 & asc["service_component"].isin(list(PLACEMENTS))]
    moves = pd.concat([care_home.assign(kind="care_home"),
                       pd.DataFrame({"person_id": placed["person_id"], "date": pd.to_datetime(placed["start"]),
                                     "kind": placed["service_component"].map(PLACEMENTS)})], ignore_index=True)
    return {"people": people, "ld_codes": ld_codes, "carer_links": links, "gp_codes": gp_codes,
            "admissions": admissions, "social_care": social_care, "care_home": care_home, "moves": moves}


def register_from_truth(truth: dict[str, pd.DataFrame], reference_date: str, *,
                        index_years: list[int] = INDEX_YEARS, carer_min_age: float = CARER_MIN_AGE) -> pd.DataFrame:
    """The register rows with features and outcomes for every index date (31 March of ``index_years``)."""
    f = truth_frames(truth)
    dates = [pd.Timestamp(f"{y}-03-31") for y in index_years]
    dyads = carers_on(dates, f["people"], f["ld_codes"], f["carer_links"], f["moves"], carer_min_age=carer_min_age)
    rows = register_features(dyads, f["gp_codes"], f["admissions"], f["social_care"])
    crises = carer_crises(f["people"], f["admissions"], f["care_home"])
    return attach_outcome(rows, dyads, f["moves"], crises, f["people"], pd.Timestamp(reference_date))


def build_register(seed: int, *, children: int = 300, population: int = 5000, dyads_per_100k: float = 3000,
                   carer_min_age: float = CARER_MIN_AGE) -> pd.DataFrame:
    """Simulate one small county (``seed``) and return its register rows."""
    from pipeline.synthetic import build_county

    cfg = SynthParams(children=children, seed=seed, adults={
        "enabled": True, "population": population, "ld_with_older_parents_per_100k": dyads_per_100k})
    county = build_county(cfg)
    return register_from_truth(county.truth, str(cfg.reference_date), carer_min_age=carer_min_age)


def study_county(rows: pd.DataFrame, *, train_years=TRAIN_YEARS, test_years=TEST_YEARS, top_share=TOP_SHARE,
                 seed: int = 0, n_boot: int = 500, label: str = "outcome",
                 coverage: Mapping[str, Mapping[str, Any]] | None = None) -> dict:
    """Fit on ``train_years``, judge rule and model on ``test_years`` (pooled); counts and figures.

    ``label``: ``outcome`` (an unplanned move, the register's event) or ``outcome_any_move`` (less specific).
    ``coverage``: the features report's ``input_coverage`` (a register the pipeline built): the model is then
    fitted as the train stage fits it, on the inputs and years their sources cover (``models.input_coverage``;
    the latest training year in the validation year's place). The rule reads every input, as in the pipeline.
    """
    year = rows["index_date"].dt.year
    train = rows[year.isin(train_years) & rows["matured"]]
    columns, model_train = list(FEATURE_COLUMNS), train
    covered = None
    if coverage:
        labelled = rows[rows["matured"]]
        covered = cover_inputs(labelled.assign(index_year=labelled["index_date"].dt.year,
                                               outcome=labelled[label].astype("Int8")),
                               columns, coverage, list(train_years)[:-1], list(train_years)[-1])
        columns = covered.feature_columns
        model_train = train[train["index_date"].dt.year.isin([*covered.train_years, list(train_years)[-1]])]
    test = rows[year.isin(test_years) & rows["matured"]]
    y_train, y_test = train[label].astype(int).to_numpy(), test[label].astype(int).to_numpy()
    k = max(1, math.ceil(top_share * len(test) / max(len(test_years), 1)) * len(test_years))
    points_train, points_test = rule_points(train), rule_points(test)
    scores = {"rule": points_test}
    probabilities = {}
    mapping = calibrate_points(points_train, y_train)
    if mapping is not None:
        probabilities["rule"] = mapping.predict_proba(points_test.reshape(-1, 1))[:, 1]
    model = fit_penalised(model_train, model_train[label].astype(int).to_numpy(), columns, seed=seed)
    if model is not None:
        probabilities["model"] = model.predict_proba(test[columns].astype("float64"))[:, 1]
        scores["model"] = probabilities["model"]
    out = evaluate_scores(y_test, scores, probabilities, k, n_boot=n_boot, seed=seed)
    out.update(train_rows=int(len(train)), train_events=int(y_train.sum()),
               register_per_year=round(len(rows) / rows["index_date"].nunique(), 1),
               any_move_test=int(test["outcome_any_move"].astype(int).sum()),
               deaths_test=int(test["outcome_death"].astype(int).sum()), model_fitted=model is not None)
    if covered is not None:
        out.update(inputs_left_out=[entry["input"] for entry in covered.left_out],
                   model_train_years=[int(y) for y in covered.train_years])
    if model is not None:
        coef = model[-1].coef_[0]
        out["model_coefficients"] = {c: round(float(v), 4) for c, v in zip(columns, coef, strict=True)}
    return out


def _spread(values: list[float]) -> dict:
    v = np.asarray([x for x in values if x is not None], dtype=float)
    if not v.size:
        return {"n": 0, "median": None, "q1": None, "q3": None, "min": None, "max": None}
    q1, med, q3 = np.percentile(v, [25, 50, 75])
    return {"n": int(v.size), "median": round(float(med), 4), "q1": round(float(q1), 4), "q3": round(float(q3), 4),
            "min": round(float(v.min()), 4), "max": round(float(v.max()), 4)}


def summarise(results: list[dict]) -> dict:
    """Median, quartiles and range over counties, per score and figure (counties where a figure could not
    be estimated are counted apart, never dropped silently)."""
    out: dict = {"counties": len(results), "test_events": _spread([r["events"] for r in results]),
                 "train_events": _spread([r["train_events"] for r in results]),
                 "register_per_year": _spread([r["register_per_year"] for r in results]),
                 "model_not_fitted": sum(not r["model_fitted"] for r in results),
                 "inputs_left_out": dict(Counter(i for r in results for i in r.get("inputs_left_out", []))),
                 "scores": {}}
    for name in ("rule", "model"):
        blocks = [r["scores"][name] for r in results if name in r["scores"]]
        oe = [b["observed_expected"]["ratio"] for b in blocks if b.get("observed_expected")]
        out["scores"][name] = {
            "counties": len(blocks),
            "too_few_events": sum(b["auroc"] is None for b in blocks),
            "auroc": _spread([b["auroc"] for b in blocks]),
            "top_k_share": _spread([b["top_k"]["share"] for b in blocks]),
            "observed_expected": _spread(oe),
            "calibration_slope": _spread([b.get("calibration_slope") for b in blocks]),
        }
    both = [r for r in results if "model" in r["scores"] and r["scores"]["model"]["auroc"] is not None]
    out["model_minus_rule_auroc"] = _spread([r["scores"]["model"]["auroc"] - r["scores"]["rule"]["auroc"]
                                             for r in both])
    out["model_minus_rule_top_k"] = _spread([r["scores"]["model"]["top_k"]["captured"]
                                             - r["scores"]["rule"]["top_k"]["captured"] for r in both])
    return out


def pipeline_project(seed: int, workdir: Path, *, children: int = 300, population: int = 5000,
                     dyads_per_100k: float = 3000) -> Path:
    """A scratch project in ``workdir`` for one county (``seed``): the whole-population params with the register's
    density, its keys, and the stages up to the register's features run as ``riskpipe`` runs them."""
    from benchmarks.run import run_stage
    from benchmarks.scratch_project import make_scratch_project, run_stages
    from benchmarks.whole_population import whole_population_params

    params = whole_population_params(population, ["ld_older_carer"])
    params["synth"].update(children=children, seed=seed)
    params["synth"]["adults"]["ld_with_older_parents_per_100k"] = dyads_per_100k
    make_scratch_project(workdir, params)
    run_stages(list(PIPELINE_STAGES), children, ["ld_older_carer"],
               lambda stage, _name, args: run_stage(stage, workdir, args))  # SystemExit with the error if one fails
    return workdir


def pipeline_register(project: Path) -> pd.DataFrame:
    """The register rows the features stage wrote (``data/features/ld_older_carer.parquet``), with ``matured`` (the
    stage leaves ``outcome`` empty where the 12 months had not ended by the extract date)."""
    rows = pd.read_parquet(project / "data" / "features" / "ld_older_carer.parquet")
    return rows.assign(matured=rows["outcome"].notna(), index_date=pd.to_datetime(rows["index_date"]))


def project_truth_register(project: Path, reference_date: str, *, carer_min_age: float = CARER_MIN_AGE
                           ) -> pd.DataFrame:
    """The same county's register read from its truth (``data/truth/adults_*.parquet``), as :func:`build_register`."""
    truth = {path.stem: pd.read_parquet(path) for path in (project / "data" / "truth").glob("adults_*.parquet")}
    return register_from_truth(truth, reference_date, carer_min_age=carer_min_age)


def compare_registers(pipeline_rows: pd.DataFrame, truth_rows: pd.DataFrame) -> dict:
    """Per index year, people on each register and matured unplanned moves: what recording and linkage change."""
    def per_year(rows: pd.DataFrame) -> pd.DataFrame:
        matured = rows[rows["matured"]]
        return pd.DataFrame({"people": rows.groupby(rows["index_date"].dt.year).size(),
                             "moves": matured.groupby(matured["index_date"].dt.year)["outcome"].sum()}).fillna(0)

    a, b = per_year(pipeline_rows), per_year(truth_rows)
    years = sorted(set(a.index) & set(b.index))
    return {"years": [int(y) for y in years],
            "people_pipeline": int(a.loc[years, "people"].sum()), "people_truth": int(b.loc[years, "people"].sum()),
            "moves_pipeline": int(a.loc[years, "moves"].sum()), "moves_truth": int(b.loc[years, "moves"].sum())}


def run_through_pipeline(seeds: list[int], *, label: str = "outcome", workdir: Path | None = None, **county) -> dict:
    """The study over ``seeds`` with each county's register built by the pipeline (module docstring), and the same
    county's truth register studied beside it. Each county's project is deleted once read unless ``workdir``."""
    from pipeline.core.config import load_params

    results, truth_results = [], []
    for seed in seeds:
        project = (workdir or Path(tempfile.mkdtemp(prefix="riskpipe-ld-"))) / f"county-{seed}"
        try:
            pipeline_project(seed, project, **county)
            reference = str(load_params(project / "params.yaml").synth.reference_date)
            rows = pipeline_register(project)
            coverage = read_json(project / "reports" / "ld_older_carer" / "features.json").get("input_coverage")
            truth_rows = project_truth_register(project, reference)
        finally:
            if workdir is None:
                shutil.rmtree(project.parent, ignore_errors=True)
        results.append({"seed": seed, "register_compared": compare_registers(rows, truth_rows),
                        **study_county(rows, seed=seed, label=label, coverage=coverage)})
        truth_results.append({"seed": seed, **study_county(truth_rows, seed=seed, label=label)})
        print(f"county {seed}: {results[-1]['register_compared']}", flush=True)  # noqa: T201 - progress
    return {"settings": {"seeds": seeds, **county, "label": label, "register": "pipeline",
                         "train_years": TRAIN_YEARS, "test_years": TEST_YEARS, "top_share": TOP_SHARE},
            "summary": summarise(results), "truth_summary": summarise(truth_results),
            "counties": results, "truth_counties": truth_results}


def run(seeds: list[int], *, label: str = "outcome", **county) -> dict:
    """The study over ``seeds`` (one county each): per-county results and their summary."""
    results = []
    for seed in seeds:
        rows = build_register(seed, **county)
        results.append({"seed": seed, **study_county(rows, seed=seed, label=label)})
    return {"settings": {"seeds": seeds, **county, "label": label, "train_years": TRAIN_YEARS,
                         "test_years": TEST_YEARS, "top_share": TOP_SHARE},
            "summary": summarise(results), "counties": results}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--counties", type=int, default=15)
    parser.add_argument("--first-seed", type=int, default=1)
    parser.add_argument("--population", type=int, default=5000)
    parser.add_argument("--dyads-per-100k", type=float, default=3000)
    parser.add_argument("--carer-min-age", type=float, default=CARER_MIN_AGE, help="70 (Sheffield); 65: sensitivity")
    parser.add_argument("--label", choices=["outcome", "outcome_any_move"], default="outcome")
    parser.add_argument("--through-pipeline", action="store_true",
                        help="build each county's register with the pipeline's own stages and fit the model on the "
                             "inputs and years their sources cover, as the train stage does (about 5 min a county)")
    parser.add_argument("--workdir", type=Path, default=None,
                        help="--through-pipeline: keep the counties' projects here")
    parser.add_argument("--out", type=Path, default=None, help=f"default {RESULTS.name} ({PIPELINE_RESULTS.name} "
                                                                 "with --through-pipeline)")
    args = parser.parse_args(argv)
    seeds = list(range(args.first_seed, args.first_seed + args.counties))
    if args.through_pipeline:
        if args.carer_min_age != CARER_MIN_AGE:  # the features stage builds the register with the spec's age
            parser.error("--carer-min-age is a truth-register sensitivity analysis; not with --through-pipeline")
        result = run_through_pipeline(seeds, label=args.label, workdir=args.workdir,
                                      population=args.population, dyads_per_100k=args.dyads_per_100k)
        args.out = args.out or PIPELINE_RESULTS
    else:
        result = run(seeds, label=args.label, population=args.population, dyads_per_100k=args.dyads_per_100k,
                     carer_min_age=args.carer_min_age)
        args.out = args.out or RESULTS
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1, default=str))
    print(json.dumps(result["summary"], indent=1))  # noqa: T201 - a benchmark's command-line output


if __name__ == "__main__":
    main()
