"""Auto checks that a version was built and judged as pre-registered.

Out-of-time validation, no event on or after the index date, no fairness attribute among the inputs
(unless an exception is recorded), thresholds as first pre-registered (ethics/ledger/preregistration.jsonl),
and the people-written context complete. Each is ``check(evidence, thresholds) -> CheckResult``.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from ethics.gate_evidence import INCOMPLETE_MARK, CheckResult, GateEvidence
from ethics.thresholds import Thresholds

CONTEXT_REQUIRED = ("owner", "purpose", "intended_uses", "out_of_scope_uses", "label_meaning",
                    "human_review", "challenge_route", "contact")


def check_out_of_time_validation(ev: GateEvidence, th: Thresholds) -> CheckResult:
    years = ev.split_years
    if years.empty or "test" not in set(years["split"]):
        return CheckResult("not_evaluable", "no test rows in scores.parquet")
    test = years.loc[years["split"] == "test", "index_year"]
    fitted = years.loc[years["split"].isin(["train", "validation"]), "index_year"]
    if fitted.empty:
        return CheckResult("not_evaluable", "no train/validation rows in scores.parquet")
    ok = int(test.min()) > int(fitted.max())
    return CheckResult("pass" if ok else "fail", f"test index years {sorted(set(test.astype(int)))} vs latest "
                       f"train/validation year {int(fitted.max())}")


def event_date_pairs(report: dict[str, Any]) -> list[tuple[str, pd.Timestamp, pd.Timestamp]]:
    """``(source, index_date, max_event_date)`` from features.json ``max_event_date_before_index``.

    Accepts ``{source: {index_date: max_date}}`` and ``{source: [{"index_date", "max_event_date"}]}``.
    """
    pairs = []
    for source, value in (report.get("max_event_date_before_index") or {}).items():
        if isinstance(value, dict) and "all_strictly_before_index" in value:
            continue  # the features stage's own per-source proof: see source_leakage_flags
        items = value.items() if isinstance(value, dict) else (
            (row.get("index_date"), row.get("max_event_date")) for row in value if isinstance(row, dict))
        for index_date, event_date in items:
            if index_date is None or event_date is None:
                continue
            pairs.append((source, pd.Timestamp(index_date), pd.Timestamp(event_date)))
    return pairs


def source_leakage_flags(report: dict[str, Any]) -> dict[str, bool]:
    """``{source: all events strictly before the index}`` from the features stage's own proof, when present."""
    return {
        source: bool(value["all_strictly_before_index"])
        for source, value in (report.get("max_event_date_before_index") or {}).items()
        if isinstance(value, dict) and "all_strictly_before_index" in value
    }


def changed_features_text(changed: dict[str, int], shown: int = 5) -> str:
    """``in_nccis_ever (12 rows), months_since_nccis_record (3 rows)`` — the most-changed first."""
    items = sorted(changed.items(), key=lambda kv: (-int(kv[1]), kv[0]))
    text = ", ".join(f"{name} ({int(n)} row{'s' if int(n) != 1 else ''})" for name, n in items[:shown])
    return text + (f" and {len(items) - shown} more" if len(items) > shown else "")


def check_leakage_guard(ev: GateEvidence, th: Thresholds) -> CheckResult:
    """Decided by the features stage's perturbation (features.json ``leakage_perturbation``): a sample of rows
    rebuilt with every event on or after the index date deleted must keep every feature exactly. The
    join condition's own proof (``max_event_date_before_index``) can only confirm itself, so it decides
    nothing on its own; a late event in it still fails."""
    report = ev.features_report or {}
    flags = source_leakage_flags(report)
    late = sorted(s for s, ok in flags.items() if not ok) or sorted(
        {s for s, index_date, event in event_date_pairs(report) if event >= index_date})
    if late:
        return CheckResult("fail", f"features saw events on or after the index date in {late}: they see the future")
    perturbation = report.get("leakage_perturbation")
    if not isinstance(perturbation, dict) or not perturbation.get("rows_compared"):
        return CheckResult("not_evaluable", "features.json has no leakage_perturbation with rows compared (rerun "
                           "`riskpipe features` with features.leakage_sample_rows above 0)")
    compared = int(perturbation["rows_compared"])
    changed = {str(k): int(v) for k, v in (perturbation.get("differing_features") or {}).items() if int(v) > 0}
    if changed or int(perturbation.get("differing_rows") or 0):
        return CheckResult("fail", "features changed when events on or after the index date were removed: "
                           f"{changed_features_text(changed) or 'unnamed features'}, in "
                           f"{int(perturbation.get('differing_rows') or 0)} of {compared} sampled rows: they see "
                           "the future")
    return CheckResult("pass", f"{compared} sampled rows rebuilt with every event on or after their index date "
                       "deleted: every feature identical")


def check_protected_attributes_not_inputs(ev: GateEvidence, th: Thresholds) -> CheckResult:
    columns = ev.run.get("feature_columns")
    if not columns:
        return CheckResult("not_evaluable", "run.json lists no feature_columns")
    used = sorted(c for c in columns if c.startswith("fair_") or c in ev.fairness_features)
    exception = str(ev.context.get("fairness_input_exception") or "").strip()
    if used and exception and INCOMPLETE_MARK not in exception:
        return CheckResult("pass", f"{len(used)} fairness attribute(s) used as inputs under a recorded exception: "
                           f"{exception}")
    return CheckResult("fail" if used else "pass", f"{len(columns)} inputs; fairness attributes among them: "
                       f"{used or 'none'}")


def check_thresholds_unchanged(ev: GateEvidence, th: Thresholds) -> CheckResult:
    registered = ev.registered_thresholds_sha256
    if not registered:
        return CheckResult("not_evaluable", "no pre-registration of this model's thresholds "
                           "(ethics/ledger/preregistration.jsonl; `riskpipe train` registers them before evaluation)")
    if registered != ev.thresholds_sha256:
        return CheckResult("fail", "thresholds changed after they were pre-registered (registered "
                           f"{registered[:12]}, now {ev.thresholds_sha256[:12]}); the first registration holds")
    return CheckResult("pass", f"thresholds {registered[:12]} as pre-registered before the first evaluation")


def check_documentation_complete(ev: GateEvidence, th: Thresholds) -> CheckResult:
    missing = [k for k in CONTEXT_REQUIRED if not ev.context.get(k)]
    incomplete = [k for k, v in ev.context.items() if INCOMPLETE_MARK in str(v)]
    if missing or incomplete:
        return CheckResult("fail", f"context missing {missing or 'nothing'}; marked {INCOMPLETE_MARK}: "
                           f"{incomplete or 'nothing'}")
    return CheckResult("pass", f"all {len(CONTEXT_REQUIRED)} required context fields filled")


def evaluation_year_outcomes(ev: GateEvidence) -> dict[str, dict[str, int]]:
    """Positives in the spec's validation and test years: from run.json ``evaluation_outcomes`` (the train
    stage counts them), else from features.json (``split`` and ``rows_by_index_year``); {} when neither has them."""
    counted = ev.run.get("evaluation_outcomes")
    if isinstance(counted, dict) and counted:
        return {name: {"year": int(v["year"]), "positives": int(v["positives"])} for name, v in counted.items()}
    report = ev.features_report or {}
    split, by_year = report.get("split") or {}, report.get("rows_by_index_year") or {}
    out = {}
    for name in ("validation", "test"):
        year = split.get(f"{name}_year")
        if year is not None:
            out[name] = {"year": int(year), "positives": int(by_year.get(str(year), {}).get("outcome_positives", 0))}
    return out


def check_enough_outcomes(ev: GateEvidence, th: Thresholds) -> CheckResult:
    """Too few outcomes in the validation or test year (a small county) means the model cannot be judged:
    every figure on the card would rest on a handful of children."""
    years = evaluation_year_outcomes(ev)
    if set(years) != {"validation", "test"}:
        return CheckResult("not_evaluable", "no outcome counts for the validation and test years "
                           "(run.json evaluation_outcomes or features.json split)")
    minimum = th.min_outcomes_per_evaluation_year
    counts = ", ".join(f"{name} year {years[name]['year']}: {years[name]['positives']}"
                       for name in ("validation", "test"))
    short = [name for name, v in years.items() if v["positives"] < minimum]
    fallback = ev.run.get("fallback_reason")
    released = ev.run.get("released") or {}
    # the spec's learner could not be fitted (models.few_events): said beside the counts, never instead of them
    swapped = released.get("why") if released.get("learner") != released.get("requested") else None
    notes = "".join(f"; {note}" for note in dict.fromkeys(n for n in (fallback, swapped) if n))
    if short or fallback:
        why = (f"too few outcomes to judge the model ({counts}; at least {minimum} needed in each): the county "
               "is too small for this model")
        return CheckResult("fail", why + notes)
    return CheckResult("pass", f"outcomes per evaluation year {counts} (at least {minimum} in each){notes}")
