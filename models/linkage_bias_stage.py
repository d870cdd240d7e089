"""The linkage-bias stage's IO: missed links in, the change they make to each affected child's score out.

Called by ``riskpipe linkage-bias --model M`` (dvc stage ``linkage_bias@M``, after train). Reads the person
index, the missed links (synthetic truth ``data/truth/person_map.parquet`` tokenised with the key, else the
clerical decisions ``reports/linkage_clerical_decisions.csv``), the train stage's scores and run, and the
pseudonymised tables. It merges the people each missed link joins (``pipeline.linkage.missed_links``),
rebuilds those people's features at the test year's index date with the features stage's own builder (passed
in by the command),
scores them with the trained, calibrated model (loaded from MLflow as evaluate loads it) and ranks the
corrected cohort (``models.linkage_bias``). As a check on the machinery the unmerged parts are rebuilt and
scored the same way and compared with the train stage's scores of them.

Writes ``data/linkage_bias/<model>/`` (``merges.parquet``, ``person_index_corrected.parquet``,
``affected.parquet``, ``rebuilt_features.parquet``: tokens, under data/ only) and
``reports/<model>/linkage_bias.json`` and ``.md``
(counts and score changes by group, small groups suppressed; no token, no ID).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from models.as_of_evaluation import score_rows
from models.linkage_bias import GROUP_ATTRIBUTES, affected_changes, features_changed, headline, summarise_by_group
from models.score_columns import check_score_columns
from models.spec import ModelSpec, load_model_spec
from pipeline.core.io import (
    file_sha256,
    parquet_columns,
    read_csv_table,
    read_json,
    read_parquet,
    write_json,
    write_parquet,
    write_text,
)
from pipeline.core.paths import ProjectPaths
from pipeline.core.tracking import load_sklearn_model, tracking_uri
from pipeline.linkage.missed_links import (
    affected_records,
    corrected_index,
    merges_from_pairs,
    missed_pairs_from_review,
    missed_pairs_from_truth,
)
from pipeline.linkage.read import read_truth

DECISIONS_FILE = "linkage_clerical_decisions.csv"
PERSON_INDEX_COLUMNS = ["table", "record_key_tok", "person_id"]
# the features stage's builder over any person index, for the given index years (features.stage.build_over_index,
# passed in by the command: features imports models.spec, so models may not import features)
BuildOverIndex = Callable[[ModelSpec, pd.DataFrame, Sequence[int]], pd.DataFrame]


class LinkageBiasInputMissing(FileNotFoundError):
    """A needed input is not there (message: the file, or why no missed links can be known)."""


@dataclass(frozen=True)
class LinkageBiasWritten:
    report: dict
    json_file: Path
    md_file: Path


def bias_dir(paths: ProjectPaths, model: str) -> Path:
    """data/linkage_bias/<model>/: the merges, the corrected index and the per-child table (tokens)."""
    return paths.data / "linkage_bias" / model


def read_missed_pairs(paths: ProjectPaths, person_index: pd.DataFrame, key_file: Path, missed_from: str
                      ) -> tuple[pd.DataFrame, str]:
    """Missed pairs of people and where they came from (``truth`` or ``review``); ``auto`` takes truth when the
    synthetic truth exists, else the clerical decisions, else no pairs (``none``: nothing can be known yet).

    Raises:
        LinkageBiasInputMissing: neither (or not the one asked for) exists.
    """
    decisions = paths.reports / DECISIONS_FILE
    if missed_from in ("auto", "truth"):
        truth = read_truth(paths, key_file)
        if truth is not None:
            return missed_pairs_from_truth(person_index, truth), "truth"
        if missed_from == "truth":
            raise LinkageBiasInputMissing(f"{paths.truth} holds no synthetic truth (person_map.parquet)")
    if not decisions.exists():
        if missed_from == "auto":  # a council before its first review: the report says so, the pipeline goes on
            return pd.DataFrame(columns=["person_id_l", "person_id_r"], dtype="string"), "none"
        raise LinkageBiasInputMissing(f"{decisions}: no clerical decisions recorded (run `riskpipe review-linkage "
                                      "sample` and `record`)")
    return missed_pairs_from_review(person_index, read_csv_table(decisions)), "review"


def score_rebuilt(model, spec: ModelSpec, index: pd.DataFrame, build: BuildOverIndex, day: pd.Timestamp,
                  feature_columns: list[str], attributes: list[str]) -> pd.DataFrame:
    """Features over ``index`` for the test year, the rows on ``day``, scored: ``person_id, margin, score``, the
    attributes and the model inputs."""
    columns = ["person_id", "margin", "score", *attributes, *feature_columns]
    empty = pd.DataFrame(columns=columns).astype({"person_id": "string", "margin": "float64", "score": "float64"})
    if index.empty:
        return empty
    built = build(spec, index[PERSON_INDEX_COLUMNS], [spec.split.test_year])
    rows = built[pd.to_datetime(built["index_date"]) == day].reset_index(drop=True)
    if rows.empty:  # none of these people is in the cohort on that day
        return empty
    scored = score_rows(model, rows, feature_columns)
    out = scored.assign(margin=scored["margin_released"].to_numpy(), score=scored["score_released"].to_numpy())
    return out[[c for c in columns if c in out]].astype({"person_id": "string"})


def test_cohort(paths: ProjectPaths, model: str, test_year: int, attributes: list[str]) -> tuple[pd.DataFrame,
                                                                                                   pd.Timestamp]:
    """The test year's cohort on its latest index date as the train stage scored it: ``person_id, margin, score``
    and the attributes (from the features frame)."""
    scores_file = paths.model_artifacts(model) / "scores.parquet"
    check_score_columns(parquet_columns(scores_file), scores_file)
    scores = read_parquet(scores_file,
                          columns=["person_id", "index_date", "index_year", "margin_released", "score_released"])
    scores = scores[scores["index_year"] == test_year]
    if scores.empty:
        raise LinkageBiasInputMissing(f"{scores_file} has no rows in the test year {test_year}")
    day = pd.to_datetime(scores["index_date"]).max()
    scores = scores[pd.to_datetime(scores["index_date"]) == day]
    features = read_parquet(paths.features_table(model), columns=["person_id", "index_date", *attributes])
    features = features[pd.to_datetime(features["index_date"]) == day].drop(columns="index_date")
    cohort = scores.merge(features, on="person_id", how="left")
    cohort = cohort.rename(columns={"margin_released": "margin", "score_released": "score"})
    return cohort[["person_id", "margin", "score", *attributes]].astype({"person_id": "string"}), day


def run_linkage_bias(model: str, build: BuildOverIndex, min_group_n: int, paths: ProjectPaths, *,
                     key_file: Path, missed_from: str = "auto") -> LinkageBiasWritten:
    """Report how the missed links change the model's scores and list (module docstring); ``build`` is the
    features stage's builder (``BuildOverIndex``); groups of fewer than ``min_group_n`` children (the gate's
    ``min_group_size`` for the model, read by the caller from the thresholds file) are suppressed.

    Raises:
        LinkageBiasInputMissing: the person index, features, scores or run of ``model``, or any source of
            missed links, is missing.
        ModelSpecError: the spec does not exist or is invalid.
        TrackingError: MLflow could not load the trained model.
    """
    spec = load_model_spec(model)
    run_file = paths.model_artifacts(model) / "run.json"
    for needed in (paths.person_index, paths.features_table(model), run_file,
                   paths.model_artifacts(model) / "scores.parquet"):
        if not needed.exists():
            raise LinkageBiasInputMissing(str(needed))
    run = read_json(run_file)
    attributes = list(GROUP_ATTRIBUTES)
    person_index = read_parquet(paths.person_index, columns=PERSON_INDEX_COLUMNS).astype("string")
    pairs, source = read_missed_pairs(paths, person_index, key_file, missed_from)
    merges = merges_from_pairs(pairs)
    out_dir = bias_dir(paths, model)
    write_parquet(merges, out_dir / "merges.parquet")
    write_parquet(corrected_index(person_index, merges), out_dir / "person_index_corrected.parquet")
    capacity = spec.capacity_in(spec.split.score_year)  # the operating point evaluate judges the test year at
    cohort, day = test_cohort(paths, model, spec.split.test_year, attributes)
    fitted = load_sklearn_model(run["model_uri"], tracking_uri(paths.root))
    inputs = list(run.get("released_inputs") or run["feature_columns"])  # what the released model reads
    parts_index = affected_records(person_index, merges)
    after = score_rebuilt(fitted, spec, corrected_index(parts_index, merges), build, day, inputs,
                          attributes)
    # the same builder over the unmerged parts must give the train stage's margins of them (the margin, not the
    # risk: the registered model's calibration may have been refitted for the live list, models.live_calibration)
    parts = score_rebuilt(fitted, spec, parts_index, build, day, inputs, attributes)
    cohort_parts = cohort.loc[cohort["person_id"].isin(merges["person_id"]), ["person_id", "margin"]]
    check = parts.merge(cohort_parts, on="person_id", how="outer", suffixes=("_rebuilt", "_train"), indicator=True)
    both = check[check["_merge"] == "both"]
    differs = float(np.abs(both["margin_rebuilt"] - both["margin_train"]).max()) if len(both) else 0.0
    # risks before and after from the same registered model, so a change is the missed links' alone
    rebuilt = parts.set_index("person_id")["score"]
    cohort = cohort.assign(score=cohort["person_id"].map(rebuilt).astype("float64").fillna(cohort["score"]))
    children, counts = affected_changes(cohort, after, merges, capacity, spec.seed)
    in_cohort = children[children["parts_in_cohort"].gt(0) | children["score_after"].notna()]
    write_parquet(in_cohort, out_dir / "affected.parquet")
    write_parquet(pd.concat([parts.assign(rebuilt_as="part"), after.assign(rebuilt_as="merged")], ignore_index=True),
                  out_dir / "rebuilt_features.parquet")
    summary = summarise_by_group(in_cohort, min_group_n, attributes)
    changed = features_changed(in_cohort, parts, after, merges, run["feature_columns"]) \
        if not summary["overall"]["suppressed"] else {}  # which inputs changed for too few children says too much
    report: dict[str, Any] = {
        "model": model, "missed_links_from": source, "index_date": day.date().isoformat(),
        "test_year": spec.split.test_year, "capacity": capacity, "model_version": run.get("model_version"),
        "person_index_sha256": file_sha256(paths.person_index),
        "missed_links": int(len(pairs)), "people_merged": int(len(merges)),
        "children_affected": int(merges["merged_person_id"].nunique()) if len(merges) else 0,
        **counts, **summary, "features_changed": changed,
        "rebuild_check": {"parts_in_cohort": int(len(both)),
                          "parts_differing_in_cohort": int((check["_merge"] != "both").sum()),
                          "max_margin_difference": differs,
                          "passed": bool(differs < 1e-9 and (check["_merge"] != "both").sum() == 0)},
        "min_group_n": int(min_group_n)}
    report["headline"] = headline(summary, capacity, "synthetic truth" if source == "truth" else "clerical review") \
        if source != "none" else ("Not evaluable: no synthetic truth and no clerical review recorded, so no missed "
                                  "link is known (run `riskpipe review-linkage`).")
    json_file = write_json(report, paths.model_reports(model) / "linkage_bias.json")
    md_file = write_text(linkage_bias_markdown(report), paths.model_reports(model) / "linkage_bias.md")
    return LinkageBiasWritten(report, json_file, md_file)


def _figure(value, digits: int = 3, sign: bool = True) -> str:
    if value is None:
        return "n/a"
    if abs(value) < 0.5 * 10 ** -digits:
        value = 0.0  # not "-0.000"
    return f"{value:+.{digits}f}" if sign else f"{value:.{digits}f}"


def linkage_bias_markdown(report: dict) -> str:
    """reports/<model>/linkage_bias.md: the headline, then one table per attribute (suppressed groups marked)."""
    lines = [f"# Linkage bias carried to the model: {report['model']}", "", report["headline"], "",
             f"Missed links from {report['missed_links_from']}; the cohort of {report['index_date']} (test year "
             f"{report['test_year']}), {report['cohort_before']:,} children as linked, {report['cohort_after']:,} had "
             f"the links been made; capacity {report['capacity']}. Unaffected children pushed off the list: "
             f"{report['others_displaced']}. Rebuild check (the parts rebuilt score as trained): "
             f"{'passed' if report['rebuild_check']['passed'] else 'FAILED'}.", ""]
    header = ("| group | affected | median change | largest rise | largest fall | enter list | leave list | "
              "leave cohort |")
    for attribute, groups in {"all": {"all": report["overall"]}, **report["by_group"]}.items():
        lines += [f"## {attribute}", "", header, "|---|---:|---:|---:|---:|---:|---:|---:|"]
        for group, g in groups.items():
            if g["suppressed"]:
                lines.append(f"| {group} | fewer than {report['min_group_n']} | | | | | | |")
                continue
            lines.append(f"| {group} | {g['in_cohort']} | {_figure(g['median_score_change'])} | "
                         f"{_figure(g['max_score_increase'])} | {_figure(g['max_score_decrease'])} | "
                         f"{g['enter_list']} | {g['leave_list']} | {g['leave_cohort']} |")
        lines.append("")
    changed = report["features_changed"]
    lines += ["## Model inputs the merge changes", "",
              ", ".join(f"{name} ({n})" for name, n in changed.items()) if changed
              else "none" if not report["overall"]["suppressed"] else "suppressed (too few children)", ""]
    return "\n".join(lines)
