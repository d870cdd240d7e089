"""Cost per outcome avoided and the value of outcomes avoided (the NNT itself: :mod:`pipeline.impact.estimate`).

Every figure carries the effect's 95% interval through: a bound of the effect gives a bound of the
figure. Where the interval includes no effect (or harm) a figure that divides by the effect has no
finite bound, and the function says "not estimable" (``None`` with a ``reason``) rather than make one
up. Values are never uprated between price years here: a unit cost in another price year than the
programme's cost is reported with its own year and a note, because no deflator is among the inputs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import pandas as pd

from pipeline.impact.estimate import NumberNeededToTreat

NOT_ESTIMABLE_NULL = "not estimable: the 95% interval includes no effect"
NOT_ESTIMABLE_HARM = "not estimable: the estimate is no reduction"
NO_COST = "not estimable: no cost per family recorded for the programme"


@dataclass(frozen=True)
class Ranged:
    """A figure with its 95% range, or ``value`` None and a ``reason`` in words when it is not estimable."""

    value: float | None
    low: float | None = None
    high: float | None = None
    reason: str | None = None

    def as_dict(self) -> dict:
        return {"value": self.value, "low": self.low, "high": self.high, "reason": self.reason}


def _finite(x: float | None) -> bool:
    return x is not None and math.isfinite(x)


def cost_per_outcome_avoided(cost_per_family: float | None, nnt: NumberNeededToTreat) -> Ranged:
    """Programme cost per outcome avoided: cost per family offered x NNT, with the NNT's interval.

    Not estimable (``value`` None, ``reason`` in words) without a cost, or when the NNT is not estimable
    or counts harm: a null effect never yields a cost per outcome avoided.
    """
    if cost_per_family is None or not _finite(cost_per_family):
        return Ranged(None, reason=NO_COST)
    if nnt.direction != "benefit":
        return Ranged(None, reason=NOT_ESTIMABLE_HARM)
    if not nnt.estimable or nnt.value is None:
        return Ranged(None, reason=NOT_ESTIMABLE_NULL)
    return Ranged(cost_per_family * nnt.value, cost_per_family * nnt.ci_low, cost_per_family * nnt.ci_high)


def outcomes_avoided(effect: float, ci_low: float, ci_high: float, exposed: float) -> Ranged:
    """Outcomes avoided among the ``exposed`` (families offered, or child-quarters for an area rate that
    was first divided by 1,000): ``-effect x exposed``; with an interval that includes no effect the
    count is reported as not estimable."""
    if not (_finite(effect) and _finite(ci_low) and _finite(ci_high)) or exposed <= 0:
        return Ranged(None, reason="not estimable: no estimate")
    if effect >= 0:
        return Ranged(None, reason=NOT_ESTIMABLE_HARM)
    if ci_high >= 0:
        return Ranged(None, reason=NOT_ESTIMABLE_NULL)
    return Ranged(-effect * exposed, -ci_high * exposed, -ci_low * exposed)


@dataclass(frozen=True)
class ValueSplit:
    """Value of the outcomes avoided, one row per unit cost line, and totals by type and agency."""

    lines: list[dict] = field(default_factory=list)
    by_type: dict[str, dict] = field(default_factory=dict)
    by_agency: dict[str, dict] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def value_of_outcomes_avoided(avoided: Ranged, unit_costs: pd.DataFrame, outcome: str,
                              price_year: int | None = None) -> ValueSplit:
    """Outcomes avoided x each unit cost of ``outcome``, split fiscal / economic / social and by agency.

    Args:
        avoided: outcomes avoided with range (:func:`outcomes_avoided`).
        unit_costs: ``outcome, description, value_gbp, price_year, value_type, cashable, agency, per, source``.
        outcome: the outcome evaluated (``care_entry``, ``referral``).
        price_year: the programme cost's price year, to note unit costs priced in another year.

    Returns:
        Lines ``description, value_type, cashable, agency, per, source, price_year, value, low, high`` (None
        when not estimable) and totals ``{value, low, high, cashable}`` by value type and by agency.
    """
    rows = unit_costs[unit_costs["outcome"].astype("str") == outcome] if len(unit_costs) else unit_costs
    split = ValueSplit()
    if not len(rows):
        split.notes.append(f"no unit cost recorded for {outcome.replace('_', ' ')}: its value is not estimated")
        return split
    for row in rows.itertuples(index=False):
        unit = float(row.value_gbp)
        cashable = str(row.cashable).strip().upper() == "Y"
        line = {"description": row.description, "value_type": row.value_type, "cashable": cashable,
                "agency": row.agency, "per": row.per, "source": row.source, "unit_gbp": unit,
                "price_year": int(row.price_year),
                "value": None if avoided.value is None else avoided.value * unit,
                "low": None if avoided.value is None else avoided.low * unit,
                "high": None if avoided.value is None else avoided.high * unit}
        split.lines.append(line)
        for key, totals in ((str(row.value_type), split.by_type), (str(row.agency), split.by_agency)):
            total = totals.setdefault(key, {"value": 0.0, "low": 0.0, "high": 0.0, "cashable": 0.0})
            if avoided.value is None:
                totals[key] = {"value": None, "low": None, "high": None, "cashable": None}
                continue
            if total["value"] is None:
                continue
            for bound in ("value", "low", "high"):
                total[bound] += line[bound]
            total["cashable"] += line["value"] if cashable else 0.0
    years = sorted({line["price_year"] for line in split.lines})
    if price_year is not None and any(y != price_year for y in years):
        split.notes.append(f"unit costs are priced in {', '.join(map(str, years))} and the programme cost in "
                           f"{price_year}: not uprated (no deflator given)")
    if avoided.value is None:
        split.notes.append(f"value of outcomes avoided {avoided.reason}")
    return split
