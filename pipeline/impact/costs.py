"""Cost per outcome avoided and the value of outcomes avoided (the NNT itself: :mod:`pipeline.impact.estimate`).

Every figure carries the effect's 95% interval through: a bound of the effect gives a bound of the
figure. Where the interval includes no effect (or harm) a figure that divides by the effect has no
finite bound, and the function says "not estimable" (``None`` with a ``reason``) rather than make one
up. Values are never uprated between price years here: a unit cost in another price year than the
programme's cost is reported with its own year and a note, because no deflator is among the inputs.

Savings that run past the first year are discounted at the Green Book's 3.5% a year; a payback period is
given only within the months measured (never extrapolated); a social value per £1 only where the unit-cost
table holds a social value for the outcome and every figure is in one price year, otherwise the reason.
Two unit costs of one thing (same outcome, type, agency and unit: e.g. a year in foster care and a year in
any placement) are alternatives, not parts: totals count the lower one.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import pandas as pd

from pipeline.impact.estimate import NumberNeededToTreat

NOT_ESTIMABLE_NULL = "not estimable: the 95% interval includes no effect"
NOT_ESTIMABLE_HARM = "not estimable: the estimate is no reduction"
NO_COST = "not estimable: no cost per family recorded for the programme"
DISCOUNT_RATE = 0.035  # HM Treasury Green Book social time preference rate, years 0-30
OPTIMISM_BIAS = ("These are measured figures from the period evaluated, not a forecast. Used to plan a new or "
                 "larger programme, the HM Treasury Green Book asks for an optimism-bias adjustment: costs and "
                 "durations run over and effects shrink at scale, so plan on the less favourable end of each range "
                 "and add the Green Book's uplift to costs.")


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
    reason: str | None = None  # why the outcomes avoided are not estimable (None when they are)

    def total(self, types: tuple[str, ...] | None = None) -> Ranged:
        """The value of the lines counted in totals (of ``types`` only, if given), with its range."""
        if self.reason:
            return Ranged(None, reason=self.reason)
        keep = [t for k, t in self.by_type.items() if types is None or k in types]
        if not keep:
            kinds = " or ".join(types) + " " if types else ""
            return Ranged(None, reason=f"not estimable: no {kinds}unit cost recorded for this outcome")
        return Ranged(*(sum(t[b] for t in keep) for b in ("value", "low", "high")))


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
    split = ValueSplit(reason=avoided.reason if avoided.value is None else None)
    if not len(rows):
        split.notes.append(f"no unit cost recorded for {outcome.replace('_', ' ')}: its value is not estimated")
        return split
    counted = _lowest_of_each_thing(rows, split.notes)
    for i, row in enumerate(rows.itertuples(index=False)):
        unit = float(row.value_gbp)
        cashable = str(row.cashable).strip().upper() == "Y"
        line = {"description": row.description, "value_type": row.value_type, "cashable": cashable,
                "in_totals": i in counted,
                "agency": row.agency, "per": row.per, "source": row.source, "unit_gbp": unit,
                "price_year": int(row.price_year),
                "value": None if avoided.value is None else avoided.value * unit,
                "low": None if avoided.value is None else avoided.low * unit,
                "high": None if avoided.value is None else avoided.high * unit}
        split.lines.append(line)
        if not line["in_totals"]:
            continue
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


def _lowest_of_each_thing(rows: pd.DataFrame, notes: list[str]) -> set[int]:
    """Positions of the lines counted in totals: of lines costing one thing (same type, agency and unit), the
    lowest; a note names the others."""
    keys = rows[["value_type", "agency", "per"]].astype("str").agg("|".join, axis=1).to_numpy()
    values = rows["value_gbp"].astype(float).to_numpy()
    counted = set()
    for key in dict.fromkeys(keys):
        same = [i for i, k in enumerate(keys) if k == key]
        lowest = min(same, key=lambda i: values[i])
        counted.add(lowest)
        if len(same) > 1:
            value_type, agency, per = key.split("|")
            notes.append(f"{len(same)} unit costs price the same thing ({value_type}, {agency}, per {per}): they are "
                         f"alternatives, so the totals count only the lowest, £{values[lowest]:,.0f}")
    return counted


def discount_factor(months_since_start: float, rate: float = DISCOUNT_RATE) -> float:
    """Green Book discounting by year: a value in year t (t = 0 for the first 12 months) is divided by
    ``(1 + rate) ** t``."""
    return (1 + rate) ** -math.floor(max(months_since_start, 0) / 12)


def spread_discount_factor(months: int, rate: float = DISCOUNT_RATE) -> float:
    """The mean discount factor of a value spread evenly over the first ``months`` months (1 within a year)."""
    if months <= 0:
        return 1.0
    return sum(discount_factor(m, rate) for m in range(int(months))) / int(months)


def present_value(item: Ranged, factor: float) -> Ranged:
    """``item`` x a discount factor, its range too (not estimable stays not estimable)."""
    if item.value is None:
        return item
    return Ranged(item.value * factor, item.low * factor, item.high * factor)


def net_present_value(savings: Ranged, cost: float | None) -> Ranged:
    """Savings minus cost (both already discounted), with the savings' range; None without either."""
    if cost is None:
        return Ranged(None, reason=NO_COST)
    if savings.value is None:
        return Ranged(None, reason=savings.reason)
    return Ranged(savings.value - cost, savings.low - cost, savings.high - cost)


def payback_months(cost: float | None, savings: Ranged, months: int) -> dict:
    """Months until savings, accruing evenly over the ``months`` measured, repay an up-front ``cost``.

    Returns:
        ``{value, low, high, reason}``; ``high`` None when the least favourable end does not pay back within
        the months measured; ``value`` None with a reason when the estimate does not (nothing is extrapolated).
    """
    if cost is None:
        return {"value": None, "low": None, "high": None, "reason": NO_COST}
    if savings.value is None or savings.value <= 0:
        return {"value": None, "low": None, "high": None, "reason": savings.reason or "not estimable: no saving"}

    def within(saving: float) -> float | None:
        needed = cost / saving * months if saving > 0 else math.inf
        return needed if needed <= months else None

    value = within(savings.value)
    if value is None:
        return {"value": None, "low": None, "high": None, "reason": (
            f"not paid back within the {months} months measured: savings were {savings.value / cost:.0%} of the "
            "cost (not extrapolated beyond the months measured)")}
    return {"value": value, "low": within(savings.high), "high": within(savings.low), "reason": None}


def value_per_pound(split: ValueSplit, cost: float | None, price_year: int | None, outcome: str) -> dict:
    """Social value per £1 (SROI style): every value of the outcomes avoided (fiscal, economic, social) / cost.

    Computed only where it is honest: a programme cost, an estimated (non-null) effect, a social value of
    ``outcome`` in the unit-cost table, and every unit cost in the programme cost's price year (there is no
    deflator to uprate). Otherwise ``value`` None and ``reason`` says what is missing.
    """
    missing = []
    if cost is None or cost <= 0:
        missing.append("the programme's cost per family")
    if not any(str(line["value_type"]) == "social" for line in split.lines):
        missing.append(f"a social value of {outcome.replace('_', ' ')} in unit_costs.csv (value_type social)")
    years = sorted({line["price_year"] for line in split.lines})
    if price_year is None or any(y != price_year for y in years):
        given = ", ".join(map(str, years)) or "no year"
        missing.append("unit costs and the programme cost in one price year, or a deflator to uprate them (unit "
                       f"costs in {given}, programme cost in {price_year or 'no year'})")
    total = split.total()
    if not missing and total.value is None:
        missing.append("an effect whose 95% interval excludes no effect")
    if missing:
        return {"value": None, "low": None, "high": None, "reason": "not computed: needs " + "; ".join(missing)}
    return {"value": total.value / cost, "low": total.low / cost, "high": total.high / cost, "reason": None}
