"""The card's section for ``care_home_admission``: a care home or death first, cumulative incidence by risk band.

Read from ``metrics.json`` ``competing_risks`` (``models.care_home_evaluation``); every other model has no
such block and the section is left out. Every figure comes from that block.
"""

from __future__ import annotations

from typing import Any

from ethics.card.tables import Table, format_value

SECTION_TITLE = "Care home or death first: cumulative incidence by risk band"
HORIZONS = ("12m", "24m")
NOT_MATURED = "not matured"
NOT_ESTIMABLE = "not estimable"  # models.care_home_evaluation: too few events to fit or estimate


def _percent(value: Any) -> str:
    return "-" if value is None else f"{100 * value:.1f}%"


def _with_interval(figures: dict | None, cause: str) -> str:
    """``12.3% (8.1-17.0%)`` from a horizon's figures, or "not matured" / "-"."""
    if not figures:
        return "-"
    if figures.get("status") == NOT_MATURED:
        return NOT_MATURED
    interval = figures.get(f"{cause}_ci")
    inside = f" ({100 * interval[0]:.1f}-{100 * interval[1]:.1f}%)" if interval else ""
    return _percent(figures.get(cause)) + inside


def _event_free(figures: dict | None) -> str:
    if not figures:
        return "-"
    return NOT_MATURED if figures.get("status") == NOT_MATURED else _percent(figures.get("event_free"))


def _matured_sentence(block: dict[str, Any]) -> str:
    """What the 24-month horizon can say: its figures on the test year, or when they mature and the latest year."""
    h24 = block.get("horizon_24m") or {}
    if h24.get("status") != NOT_MATURED:
        auroc = h24.get("auroc", {})
        return (f"Within 24 months (the secondary horizon) on the test year: AUROC "
                f"{format_value(auroc.get('lightgbm'))} for the model, "
                f"{format_value(auroc.get('cause_specific_cox'))} for the survival model; predicted "
                f"{_percent(h24['calibration']['mean_predicted'])} against "
                f"{_percent(h24['calibration']['observed_cumulative_incidence'])} observed.")
    text = (f"Within 24 months (the secondary horizon): not matured for the test year {block['test_year']} (its 24 "
            f"months end on {h24.get('matures_on', '-')}, after the extract), so no 24-month figure is shown for it.")
    latest = block.get("horizon_24m_latest_matured")
    if latest:
        auroc, calib = latest["auroc"], latest["calibration"]
        text += (f" For index year {latest['index_year']}, the latest whose 24 months have ended ({latest['split']} "
                 f"year: {latest['note']}), AUROC {format_value(auroc.get('lightgbm'))} for the model and "
                 f"{format_value(auroc.get('cause_specific_cox'))} for the survival model; the survival model "
                 f"predicted {_percent(calib['mean_predicted'])} would move into a care home, against "
                 f"{_percent(calib['observed_cumulative_incidence'])} observed (observed/expected "
                 f"{format_value(calib.get('observed_to_expected'), 2)}).")
    return text


def describe_competing_risks(block: dict[str, Any] | None) -> list[str]:
    """Paragraphs in plain words: why death matters, how to read the table, and the survival model's figures."""
    if not block:
        return []
    if block.get("status") == NOT_ESTIMABLE:
        return [f"Care home or death first: not estimable for this release ({block.get('reason', '-')})."]
    top = (block.get("by_band") or [{}])[0]
    top_12 = top.get("12m") or {}
    overall = (block.get("overall") or {}).get("12m") or {}
    cox = block["cause_specific_cox"]
    c_index = cox["care_home_concordance"]
    compared = block.get("auroc_12m", {})
    why = ("A person who dies cannot then move into a care home, and older people at the top of a care-home list "
           "are often close to the end of life. A high-risk list full of people near the end of life needs "
           "different help from the prevention team's: palliative and end-of-life care planning, with the GP, "
           "rather than support to stay at home longer. So the list is read with death beside it: "
           f"of the {top.get('band', 'top')} of the list ({format_value(top.get('people'))} people in the test year), "
           f"{_percent(top_12.get('care_home'))} had moved into a care home within 12 months and "
           f"{_percent(top_12.get('death'))} had died first; across everyone, {_percent(overall.get('care_home'))} "
           f"and {_percent(overall.get('death'))}.")
    how = ("The figures are cumulative incidence (the Aalen-Johansen estimate): the share of each band who had moved "
           "into a care home by the time shown, the share who had died first, and the share still at home and "
           "alive; the three add up to 100%. People who left their GP practice's list are followed until they "
           "left, not counted as having stayed at home. Bands are places on the released model's list, highest "
           f"risk first; brackets are {block.get('interval', 'intervals')}. The last column is what the survival "
           "model below predicted for the band.")
    model = ("Beside the released model, two cause-specific Cox survival models (scikit-survival) were fitted on "
             "the same training years and inputs: one for moving into a care home (deaths censored), one for "
             "death. Together they predict each person's chance of a care home with death competing. For a care "
             f"home: Harrell's C {format_value(c_index.get('harrell'))}, Uno's C {format_value(c_index.get('uno'))} "
             f"(to day {c_index.get('tau_days')}); AUROC for the 12-month outcome "
             f"{format_value(cox.get('auroc_12m'))}, against {format_value(compared.get('lightgbm'))} for the "
             f"released model and {format_value(compared.get('logistic'))} for the logistic regression on the same "
             f"people. It predicted {_percent(cox['calibration_12m']['mean_predicted'])} would move into a care home "
             f"within 12 months; {_percent(cox['calibration_12m']['observed_cumulative_incidence'])} did.")
    return [why, how, model, _matured_sentence(block)]


def competing_risks_table(block: dict[str, Any] | None) -> Table:
    """One row per risk band and one for everyone: care home, death first and neither, at 12 and 24 months."""
    if not block or block.get("status") == NOT_ESTIMABLE:
        return Table(columns=[], rows=[])
    columns = ["risk band (released model)", "people"]
    for h in HORIZONS:
        months = h.removesuffix("m")
        columns += [f"care home by {months} months", f"died first by {months} months",
                    f"at home and alive at {months} months"]
    columns.append("survival model's prediction, care home by 12 months")
    rows = []
    everyone = {"band": "everyone", "people": block["test"]["rows"], **block["overall"],
                "cox_predicted_care_home_12m": block["cause_specific_cox"]["calibration_12m"]["mean_predicted"]}
    for band in [*block.get("by_band", []), everyone]:
        cells = [band["band"], format_value(band["people"])]
        for h in HORIZONS:
            cells += [_with_interval(band.get(h), "care_home"), _with_interval(band.get(h), "death"),
                      _event_free(band.get(h))]
        rows.append(cells + [_percent(band.get("cox_predicted_care_home_12m"))])
    return Table(columns=columns, rows=rows)
