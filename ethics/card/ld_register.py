"""The card's section for the older-carer planning register (``ld_older_carer``): how the rule and the
penalised model did over many synthetic counties, and in one county with its intervals.

Read from the simulation study's result (``benchmarks/ld_older_carer.py``: ``summary`` and one ``counties``
entry). Few events are the point of this section: a figure that could not be estimated says so in words
("too few events to estimate") instead of showing a number, and every estimate carries its interval or its
spread over counties.
"""

from __future__ import annotations

from typing import Any

from ethics.card.tables import Table

LABELS = {"rule": "points rule (carer age, sole carer, frailty, no carer support)",
          "model": "penalised logistic regression",
          "lightgbm": "LightGBM (the pipeline's score; not the register's model)",
          "logistic": "logistic regression (a baseline, fixed penalty)"}
RELEASED_MARK = " - orders the register"  # after the label of the learner the spec releases (metrics "released")
TOO_FEW = "too few events to estimate"


def _spread(block: dict[str, Any] | None, digits: int = 2) -> str:
    """``median (quartiles; range)`` or the reason there is none."""
    if not block or block.get("median") is None:
        return TOO_FEW
    f = f"{{:.{digits}f}}"
    return (f"{f.format(block['median'])} ({f.format(block['q1'])}-{f.format(block['q3'])}; "
            f"{f.format(block['min'])}-{f.format(block['max'])})")


def describe_simulation(summary: dict[str, Any]) -> str:
    """One paragraph in plain words: how many counties, people and events, and how to read the table."""
    events = summary["test_events"]
    text = (f"Validated by simulation over {summary['counties']} synthetic counties, each with about "
            f"{summary['register_per_year']['median']:.0f} people on the register a year. In each county the "
            f"model was fitted on the earlier years and judged on the later ones, where a county held "
            f"{events['median']:.0f} unplanned moves (from {events['min']:.0f} to {events['max']:.0f}). "
            "Figures are the median over counties, the middle half in brackets, then the range: one county's "
            "figure alone would be far less certain.")
    unfitted = summary.get("model_not_fitted", 0)
    if unfitted:
        text += f" In {unfitted} counties the model was not fitted: {TOO_FEW}."
    return text


def simulation_table(summary: dict[str, Any]) -> Table:
    """One row per score: AUROC, share of events in the top k, observed/expected and calibration slope, each
    as median (quartiles; range) over counties, and in how many counties AUROC could not be estimated."""
    rows = []
    for name, s in summary["scores"].items():
        rows.append([LABELS.get(name, name), _spread(s["auroc"]), _spread(s["top_k_share"]),
                     _spread(s["observed_expected"]), _spread(s["calibration_slope"]), str(s["too_few_events"])])
    return Table(columns=["", "AUROC", "share of moves in the top k", "observed/expected", "calibration slope",
                          f"counties with {TOO_FEW}"], rows=rows)


def county_table(result: dict[str, Any]) -> Table:
    """One county's figures with their intervals (AUROC: bootstrap; O/E: exact Poisson), or ``TOO_FEW``; the
    released learner (``result["released"]["score"]``) first and marked as the one that orders the register."""
    rows = []
    released = (result.get("released") or {}).get("score")
    ordered = sorted(result["scores"].items(), key=lambda item: item[0] != released)
    for name, s in ordered:
        auc = TOO_FEW if s.get("auroc") is None else (
            f"{s['auroc']:.2f} ({s['auroc_ci'][0]:.2f}-{s['auroc_ci'][1]:.2f})")
        oe = s.get("observed_expected") or {}
        ratio = "-" if oe.get("ratio") is None else f"{oe['ratio']:.2f} ({oe['low']:.2f}-{oe['high']:.2f})"
        top = s["top_k"]
        label = LABELS.get(name, name) + (RELEASED_MARK if name == released else "")
        captured = f"{top['captured']} of {top['events']} in the top {top['k']}" if top["events"] else \
            "no moves in the test year"
        rows.append([label, auc, captured, ratio])
    return Table(columns=["", "AUROC (95% interval)", "moves captured", "observed/expected (95% interval)"],
                 rows=rows)


def describe_register(block: dict[str, Any] | None) -> str:
    """One paragraph for the card from metrics.json ``ld_register`` (``models.ld_register_evaluation``): the
    test year's register and moves, what was fitted on how many events, and why a figure is missing."""
    if not block:
        return ""
    fitted = "The rule and the penalised logistic regression were fitted" if block.get("model_fitted") else \
        "The rule's points were mapped to a probability"
    text = (f"In the test year ({block['test_year']}) {block['rows']:,} people were on the register and "
            f"{block['events']} moved out of the family home after a carer's crisis; the team can plan with "
            f"{block['k']} a year. {fitted} on {block['train_rows']:,} rows of the earlier years holding "
            f"{block['train_events']} moves.")
    released = block.get("released") or {}
    if released.get("learner"):
        names = {"penalised": "penalised logistic regression", "rule": "points rule", "logistic": "logistic regression"}
        why = str(released.get("why") or "")
        text += (f" The register is ordered by the {names.get(released['learner'], released['learner'])}"
                 + (f" ({why})." if why else ".") + " LightGBM is not used: with tens of events it would fit noise, "
                 "and a planning team could not read it.")
    if not block.get("model_fitted") and released.get("learner") in (None, "penalised"):
        text += f" The penalised model was not fitted: {TOO_FEW}."
    if block.get("note"):
        text += (f" With so few moves AUROC and calibration read \"{TOO_FEW}\"; the moves captured in the top "
                 f"{min(block['k'], block['rows']) or block['k']} and observed/expected with its interval are shown "
                 "instead. The simulation over many counties (docs/adult_models.md) is the evidence of how the "
                 "scores rank.")
    return text


def register_table(block: dict[str, Any] | None) -> Table:
    """:func:`county_table` of the test year's block, or an empty table (other models)."""
    return county_table(block) if block and block.get("scores") else Table(columns=[], rows=[])
