"""What each impact card says: headline design, confidence rating, caveats, costs and the IG annex.

Pure: estimates and frames in, one plain dict per programme × outcome × horizon out, which
:mod:`ethics.card.impact_card` words and renders. Every number on a card is computed here once and the
same dict is written to estimates.json and logged to MLflow (one number, one function).
"""

from __future__ import annotations

import base64
import io
from typing import Any

import numpy as np
import pandas as pd

from pipeline.impact import costs
from pipeline.impact.estimate import Estimate, number_needed_to_treat

DESIGN_LABELS = {
    "aipw": "Offered vs comparable not offered (cross-fitted doubly robust weighting, AIPW)",
    "ipw_naive": "Propensity weighting alone",
    "naive_difference": "Offered vs not offered, no adjustment",
    "rd_fuzzy": "At the list's cut-off: offer (fuzzy regression discontinuity)",
    "rd_sharp": "At the list's cut-off: being listed (sharp regression discontinuity)",
    "cs_did": "Wards live vs wards not yet live (Callaway–Sant'Anna difference in differences)",
    "twfe": "Two-way fixed effects",
    "synthetic_control": "Pilot ward vs a weighted mix of other wards (synthetic control)",
    "its_controlled": "Before vs after, against wards without the programme (controlled interrupted time series)",
    "its": "Before vs after (interrupted time series)",
}
NAIVE = ("ipw_naive", "naive_difference", "twfe")
# headline design among equally rated ones, in order of preference: the widest estimand first
PRIMARY_ORDER = ("cs_did", "synthetic_control", "aipw", "rd_fuzzy", "its_controlled", "its", "rd_sharp")
CAVEATS = {
    "overlap_trimmed_over_5pct": "More than 5% of children had almost no chance, or almost a certain chance, of an "
                                 "offer and were left out: the estimate applies to the rest.",
    "pretrend_failed": "Before the programme started, the wards' trends already differed (pre-trend test failed): "
                       "part of the estimate may be that difference.",
    "recording_change_in_window": "How the outcome is recorded changed during the period compared "
                                  "(recording_regime.csv): part of any change may be recording, not real change.",
    "local_to_cut": "The cut-off estimate applies to children scored near the list's cut-off, not to the "
                    "highest-risk children on the list.",
    "few_clusters": "Few wards or list runs were compared, so the interval is less reliable than it looks.",
    "small_cells": "Some groups have fewer than the minimum number of children: those counts are suppressed.",
    "null_result": "The 95% interval includes no effect: this evaluation did not find an effect (which is not "
                   "proof that there is none).",
    "density_test_failed": "More children sit just on one side of the cut-off than chance allows: scores or list "
                           "sizes may have been adjusted, which weakens the cut-off comparison.",
    "imbalance_after_weighting": "Offered and comparison children still differ on some recorded characteristics "
                                 "after weighting.",
}
FAILED_CHECK = {"density_test_failed": "too many children just on one side of the cut-off",
                "pretrend_failed": "the wards' trends differed before the start",
                "recording_change_in_window": "recording changed during the period"}
ALWAYS = ("Outcomes are recorded events: a change in recording is not a change in need.",
          "Families who were offered help may differ from others in ways the records do not show (for example "
          "willingness to engage); only the cut-off and ward comparisons are protected from that.")


def rating(estimate: Estimate) -> tuple[int, str]:
    """Confidence 1-5 (Maryland scale / EIF style, DOMAIN_IMPACT.md §6) and why, in words."""
    flags = set(estimate.flags)
    design = estimate.design
    if design in ("rd_fuzzy", "rd_sharp", "cs_did"):
        failed = flags & {"density_test_failed", "pretrend_failed", "recording_change_in_window"}
        if failed:
            return 3, "a strong design whose checks did not all pass (" + ", ".join(FAILED_CHECK[f] for f in sorted(
                failed)) + ")"
        return 4, "a strong comparison whose checks passed (rated 4: only a randomised comparison scores 5)"
    if design in ("aipw", "synthetic_control", "its_controlled"):
        if flags & {"overlap_trimmed_over_5pct", "recording_change_in_window", "imbalance_after_weighting"}:
            return 2, "a matched or controlled comparison with a failed check"
        return 3, "a matched or controlled comparison: it relies on the records holding what decided who got help"
    if design == "its":
        return 2, "before and after in one place, with no comparison group"
    return 1, "a naive comparison, shown only to show how much the design matters"


def png_base64(fig) -> str:
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100, bbox_inches="tight")
    plt.close(fig)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def primary_of(estimates: list[Estimate]) -> Estimate | None:
    """The headline: the highest confidence rating, then ``PRIMARY_ORDER``; a naive comparison never."""
    ranked = [e for e in estimates if e.design in PRIMARY_ORDER]
    if not ranked:
        return None
    return max(ranked, key=lambda e: (rating(e)[0], -PRIMARY_ORDER.index(e.design)))


def estimate_row(e: Estimate, people: bool = True) -> dict[str, Any]:
    """``Estimate.to_dict()`` plus the card's label, rating and counts as text (children, or wards when
    ``people`` is False)."""
    score, words = rating(e)
    rel = e.relative_interval()
    return {**e.to_dict(), "relative_interval": list(rel) if rel else None, "design_label": DESIGN_LABELS.get(
        e.design, e.design), "naive": e.design in NAIVE, "rating": score, "rating_words": words,
        "null": "null_result" in e.flags, "n_treated_text": _count(e.n_treated, people, e.design, True),
        "n_comparison_text": _count(e.n_comparison, people, e.design, False)}


def _count(n: int, people: bool, design: str, offered: bool) -> str:
    if people:  # the cut-off design counts child × run rows near the cut; every comparison is run by run (a child
        # not offered in two runs is two rows), while each offered child is offered once
        return f"{n:,} children" if offered and not design.startswith("rd") else f"{n:,} child-runs"
    return f"{n:,} ward-months" if design.startswith("its") else f"{n:,} ward{'s' if n != 1 else ''}"


def caveats_for(estimates: list[Estimate], extra: list[str]) -> list[str]:
    """Plain-word caveats for the flags raised by any non-naive estimate of the card, then the standing ones."""
    flags = [f for e in estimates if e.design not in NAIVE for f in e.flags]
    said = [CAVEATS.get(f, f.replace("_", " ")) for f in dict.fromkeys(flags)]
    return [*said, *extra, *ALWAYS]


def group_rows(persons: pd.DataFrame, attribute: str, outcome: str, min_cell: int,
               effect_by_group: dict[str, Estimate | None]) -> list[dict]:
    """Offer and acceptance rates, outcome rates and the estimated effect per group; counts under
    ``min_cell`` are suppressed (the row then shows no rate that could reveal them)."""
    rows = []
    for group, part in persons.groupby(attribute, sort=True):
        offered = part[part["offered"] == 1]
        n, k, a = len(part), len(offered), int(offered["accepted"].sum())
        small = min(n, k) < min_cell
        effect = effect_by_group.get(str(group))
        if small:
            cells = [str(group), f"fewer than {min_cell}" if n < min_cell else f"{n:,}", "suppressed", "suppressed",
                     "suppressed", "suppressed"]
        else:
            eff = (f"{100 * effect.effect:+.1f} pp ({100 * effect.ci_low:+.1f} to {100 * effect.ci_high:+.1f})"
                   if effect is not None else "not estimable (too few)")
            acc = f"{a / k:.0%}" if a >= min_cell and k - a >= min_cell else "suppressed"
            cells = [str(group), f"{n:,}", f"{k / n:.1%}", acc, f"{part[outcome].mean():.1%}", eff]
        rows.append({"cells": cells, "suppressed": small})
    return rows


def imd_group(decile: pd.Series) -> pd.Series:
    d = pd.to_numeric(decile, errors="coerce")
    return pd.Series(np.select([d <= 3, d <= 7, d <= 10], ["most deprived 30%", "middle 40%", "least deprived 30%"],
                               default="not known"), index=decile.index)


def offer_costs(primary: Estimate | None, programme: dict, accepted_share: float | None,
                unit_costs: pd.DataFrame, outcome: str) -> dict:
    """Cost per outcome avoided, the value of outcomes avoided and the return on the money for an offer
    programme's headline estimate.

    The cost per family *offered* is the programme's cost per family x the share of offers accepted (a
    declined offer costs little): the intention-to-treat NNT counts families offered. The cost is paid at the
    offer; savings accrue over the follow-up window (``primary.horizon_months``).
    """
    per_family = _number(programme.get("cost_per_family_gbp"))
    per_offer = per_family * accepted_share if per_family is not None and accepted_share is not None else None
    price_year = _int(programme.get("price_year"))
    out = {"cost_per_family_text": (f"£{per_family:,.0f} per family taking it up; £{per_offer:,.0f} per family "
                                    f"offered ({accepted_share:.0%} accept)") if per_offer is not None
           else "not recorded", "price_year_text": f"{price_year} prices" if price_year else "in an unrecorded "
           "price year", "agency": programme.get("agency"), "notes": [], "optimism_bias": costs.OPTIMISM_BIAS}
    if primary is None:
        return {**out, "cost_per_outcome_avoided": {"value": None, "reason": "no estimate"}, "lines": []}
    nnt = number_needed_to_treat(primary.effect, primary.ci_low, primary.ci_high)
    cost = costs.cost_per_outcome_avoided(per_offer, nnt)
    avoided = costs.outcomes_avoided(primary.effect, primary.ci_low, primary.ci_high, primary.n_treated)
    split = costs.value_of_outcomes_avoided(avoided, unit_costs, outcome, price_year)
    total = per_offer * primary.n_treated if per_offer is not None else None
    months = int(primary.horizon_months)
    money = returns(split, total, total, costs.spread_discount_factor(months), months, price_year, outcome,
                    up_front=True)
    return {**out, "nnt": nnt.to_dict(), "cost_per_outcome_avoided": cost.as_dict(),
            "outcomes_avoided": avoided.as_dict(), "lines": split.lines, "by_type": split.by_type,
            "by_agency": split.by_agency, "notes": split.notes, **money}


def area_costs(primary: Estimate | None, programme: dict, unit_costs: pd.DataFrame, outcome: str, *,
               exposure_child_periods: float, families: float | None, savings_discount: float = 1.0,
               cost_discount: float = 1.0, months_live: int = 0) -> dict:
    """Outcomes avoided (rate per 1,000 per period x child-periods live / 1,000) and their value; cost per
    outcome avoided = families reached x cost per family / outcomes avoided, carrying its range.

    ``savings_discount`` and ``cost_discount`` are the mean Green Book discount factors of the child-periods
    live and of the families reached (both spread over the ``months_live`` since the first go-live).
    """
    per_family = _number(programme.get("cost_per_family_gbp"))
    price_year = _int(programme.get("price_year"))
    out = {"cost_per_family_text": f"£{per_family:,.0f} per family reached" if per_family is not None
           else "not recorded", "price_year_text": f"{price_year} prices" if price_year else "in an unrecorded "
           "price year", "agency": programme.get("agency"), "notes": [], "optimism_bias": costs.OPTIMISM_BIAS}
    if primary is None:
        return {**out, "cost_per_outcome_avoided": {"value": None, "reason": "no estimate"}, "lines": []}
    avoided = costs.outcomes_avoided(primary.effect, primary.ci_low, primary.ci_high, exposure_child_periods / 1000)
    split = costs.value_of_outcomes_avoided(avoided, unit_costs, outcome, price_year)
    total = per_family * families if per_family is not None and families else None
    if total is None:
        cost = {"value": None, "reason": costs.NO_COST if per_family is None else
                "not estimable: families reached not recorded (capacity_per_month)"}
    elif avoided.value is None:
        cost = {"value": None, "reason": avoided.reason}
    else:
        cost = {"value": total / avoided.value, "low": total / avoided.high, "high": total / avoided.low,
                "reason": None}
    notes = [*split.notes]
    if families:
        notes.append(f"families reached estimated from the rollout's capacity per month × months live: about "
                     f"{families:,.0f} (places available, which may be more than the families "
                     "actually helped)")
    money = returns(split, total, None if total is None else total * cost_discount, savings_discount, months_live,
                    price_year, outcome, up_front=False)
    return {**out, "cost_per_outcome_avoided": cost, "outcomes_avoided": avoided.as_dict(), "lines": split.lines,
            "by_type": split.by_type, "by_agency": split.by_agency, "notes": notes, **money}


def returns(split: costs.ValueSplit, cost: float | None, cost_pv: float | None, savings_discount: float,
            months: int, price_year: int | None, outcome: str, *, up_front: bool) -> dict:
    """Fiscal savings against the programme's cost: total cost, savings and net value discounted at 3.5% a year,
    payback (an up-front cost) or the share of a running cost the savings covered, and value per £1.

    Returns:
        ``programme_cost``, ``programme_cost_pv`` (None when not recorded), ``fiscal_savings``,
        ``fiscal_savings_pv``, ``net_present_value`` (``{value, low, high, reason}``), ``payback``
        (``{value, low, high, reason}`` in months, up-front costs only), ``cost_covered`` (savings / cost,
        running costs only), ``value_per_pound`` and ``discount_text``.
    """
    fiscal = split.total(("fiscal",))
    fiscal_pv = costs.present_value(fiscal, savings_discount)
    covered = None
    if not up_front:
        covered = ({"value": None, "low": None, "high": None, "reason": costs.NO_COST if cost is None else
                    fiscal.reason} if cost is None or fiscal.value is None else
                   {"value": fiscal.value / cost, "low": fiscal.low / cost, "high": fiscal.high / cost,
                    "reason": None})
    years = months / 12
    discount_text = (f"Savings and costs after the first year are discounted at {costs.DISCOUNT_RATE:.1%} a year "
                     f"(HM Treasury Green Book) over the {months} months measured" + (
                         ": all within the first year, so nothing is discounted" if years <= 1 else
                         f" (savings x {savings_discount:.3f})"))
    return {"programme_cost": cost, "programme_cost_pv": cost_pv, "fiscal_savings": fiscal.as_dict(),
            "fiscal_savings_pv": fiscal_pv.as_dict(),
            "net_present_value": costs.net_present_value(fiscal_pv, cost_pv).as_dict(),
            "payback": costs.payback_months(cost, fiscal, months) if up_front else None, "cost_covered": covered,
            "value_per_pound": costs.value_per_pound(split, cost, price_year, outcome),
            "discount_text": discount_text, "months_measured": months}


def _number(value) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if np.isfinite(number) else None


def _int(value) -> int | None:
    number = _number(value)
    return int(number) if number is not None else None
