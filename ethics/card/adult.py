"""The card's section for adults' models: admissions at the top of the list, people with no prior admission,
deaths by risk band and calibration by age and deprivation.

Read from ``metrics.json`` ``adult`` (``models.adult_metrics``); a children's model has no such block and
the section is left out.
"""

from __future__ import annotations

from typing import Any

from ethics.card.tables import Table, format_value

MODEL_LABELS = {"lightgbm": "model (LightGBM)", "logistic": "logistic regression",
                "rule": "past admissions (the list practices used)", "generator": "generator (synthetic truth)"}


def _percent(value: Any) -> str:
    return "-" if value is None else f"{100 * value:.1f}%"


# what the outcome's events are called, by the spec's outcome kind (features.adult_population, ld_population)
EVENT_NOUNS = {"emergency_spell": "emergency admissions", "care_home_entry": "moves into a care home",
               "ld_unplanned_move": "unplanned moves"}


def _observed_count(group: dict) -> float:
    """People in the group with the outcome (a metrics.json from before ``observed_count``: rate × people)."""
    count = group.get("observed_count")
    return float(count) if count is not None else float(group.get("observed") or 0) * int(group.get("people") or 0)


def _expected_count(group: dict) -> float:
    count = group.get("expected_count")
    return float(count) if count is not None else float(group.get("mean_predicted") or 0) * int(group.get("people")
                                                                                                  or 0)


def _ratio_range(groups: list[dict] | None, label: str = "", events: str = "outcomes") -> str:
    """The range of observed/expected over the groups that had the outcome; a group where no one had it is named
    with how many were expected instead (its O/E of 0 would read as gross over-prediction: it is a small count).

    Args:
        label: what a group's value is, before it ("quintile" -> "quintile 4"); empty for self-describing ones.
        events: the outcome's events in words ("emergency admissions").
    """
    groups = groups or []
    ratios = [g["observed_to_expected"] for g in groups
              if g.get("observed_to_expected") is not None and _observed_count(g) > 0]
    text = f"{min(ratios):.2f}-{max(ratios):.2f}" if ratios else "-"
    empty = [f"{label} {g['group']}".strip() + f" ({_expected_count(g):.1f} expected)"
             for g in groups if _observed_count(g) == 0]
    if empty:
        text += f"; no {events} in the test year in " + ", ".join(empty)
    return text


def adult_heading(outcome_kind: str = "") -> str:
    """The section's heading, naming the outcome's events ("Moves into a care home at the top of the list, ...")."""
    events = EVENT_NOUNS.get(outcome_kind, "outcomes")
    return f"{events[0].upper()}{events[1:]} at the top of the list, deaths and calibration (adults)"


def describe_adult(block: dict[str, Any] | None, outcome: str = "the outcome") -> str:
    """One paragraph: who was evaluated, and any leakage warning, in plain words (``outcome``: the spec's title)."""
    if not block:
        return ""
    warnings = [f"{MODEL_LABELS.get(name, name)}: {m['leakage_warning']}" for name, m in block["models"].items()
                if m.get("leakage_warning")]
    text = (f"{block['rows']:,} adults in the test year. The outcome: {outcome}. {_percent(block['admitted_rate'])} "
            f"had it and {_percent(block.get('died_rate'))} died in the same window (deaths are a competing "
            "outcome, shown by risk band, never dropped). Lift is the outcome's rate in the top of the list over "
            "the average. People with no emergency admission in the prior two years are where prevention has "
            "room: a list of past admitters cannot see them.")
    return text + (" Warning - " + "; ".join(warnings) if warnings else "")


def adult_table(block: dict[str, Any] | None, outcome_kind: str = "") -> Table:
    """One row per model: lift at the top 0.5/1/5%, AUROC overall and with no prior admission, deaths in the
    top 0.5%, and the range of observed/expected by age band and by deprivation quintile (a group where no one
    had the outcome named, with the count expected, rather than counted in the range as 0).

    Args:
        outcome_kind: the spec's ``outcome.kind``, naming the events (:data:`EVENT_NOUNS`; else "outcomes").
    """
    events = EVENT_NOUNS.get(outcome_kind, "outcomes")
    if not block:
        return Table(columns=[], rows=[])
    rows = []
    for name, m in block["models"].items():
        lift = [format_value(t.get("lift")) for t in m["top"]]
        no_prior = (m.get("no_prior_admission") or {}).get("auroc")
        top_band = (m.get("by_risk_band") or [{}])[0]
        rows.append([MODEL_LABELS.get(name, name), *lift, format_value(m.get("auroc")), format_value(no_prior),
                     _percent(top_band.get("died_rate")),
                     _ratio_range(m.get("calibration_by_age_band"), "age", events),
                     _ratio_range(m.get("calibration_by_imd_quintile"), "quintile", events)])
    return Table(columns=["", "lift top 0.5%", "lift top 1%", "lift top 5%", "AUROC", "AUROC, no prior admission",
                          "died, top 0.5%", "O/E by age band", "O/E by deprivation quintile"], rows=rows)
