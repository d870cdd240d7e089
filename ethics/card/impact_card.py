"""Render impact cards (``ethics/templates/impact_card.html.j2``) for a commissioning lead and the IG board.

The stage (:mod:`pipeline.impact.stage`) computes every number and hands a plain dict per card; this
module only words and formats them (percentage points, per cent, pounds, intervals) and renders the
HTML. It imports nothing from :mod:`pipeline.impact`, so the card sits below the stage that calls it.
A number that is ``None`` is shown as "not estimable" with the reason the stage gave, never as 0.
How figures read: counts of outcomes as whole numbers ("about 306"), money in pounds with thousands
separators, effects on proportions in percentage points with one decimal, rates per 1,000 with one decimal.
"""

from __future__ import annotations

import math
from typing import Any

from ethics.card.render import render_template

NOT_ESTIMABLE = "not estimable"
PLURALS = {"care entry": "care entries"}  # other outcome nouns take an s


def plural(noun: str) -> str:
    return PLURALS.get(noun, f"{noun}s")


def pp(value: float | None, signed: bool = True) -> str:
    """A proportion as percentage points: -0.031 -> "-3.1 pp"."""
    if value is None:
        return NOT_ESTIMABLE
    return f"{100 * value:+.1f} pp" if signed else f"{100 * value:.1f} pp"


def per_cent(value: float | None) -> str:
    if value is None:
        return NOT_ESTIMABLE
    return f"{100 * value:+.0f}%"


def rate(value: float | None, signed: bool = True) -> str:
    """A rate per 1,000 children: "-4.2 per 1,000"."""
    if value is None:
        return NOT_ESTIMABLE
    return f"{value:+.1f} per 1,000" if signed else f"{value:.1f} per 1,000"


def pounds(value: float | None) -> str:
    """Whole pounds with thousands separators, the sign before the pound sign: -1234.5 -> "-£1,235"."""
    if value is None:
        return NOT_ESTIMABLE
    return f"-£{-value:,.0f}" if round(value) < 0 else f"£{value:,.0f}"


def count(value: float | None) -> str:
    """An estimated count of outcomes as a whole number: 305.9 -> "306"; under one -> "fewer than 1"."""
    if value is None:
        return NOT_ESTIMABLE
    return "fewer than 1" if 0 < value < 0.5 else f"{round(value):,}"


def months(value: float | None) -> str:
    """A payback period in whole months (rounded up: it is not paid back before)."""
    if value is None:
        return NOT_ESTIMABLE
    n = max(math.ceil(value - 1e-9), 1)
    return f"{n} month{'s' if n != 1 else ''}"


def per_pound(value: float | None) -> str:
    """Value per £1 spent: 2.345 -> "£2.35"."""
    return NOT_ESTIMABLE if value is None else f"£{value:,.2f}"


def number(value: float | None, digits: int = 0) -> str:
    if value is None:
        return NOT_ESTIMABLE
    return f"{value:,.{digits}f}"


def effect_words(estimate: dict[str, Any], binary: bool) -> dict[str, str]:
    """Effect, its interval and the relative change as text for one estimate dict (Estimate.to_dict())."""
    show = pp if binary else rate
    relative = estimate.get("relative")
    rel_ci = estimate.get("relative_interval")
    return {
        "effect": show(estimate["effect"]),
        "interval": f"{show(estimate['ci_low'])} to {show(estimate['ci_high'])}",
        "relative": per_cent(relative),
        "relative_interval": (f"{per_cent(rel_ci[0])} to {per_cent(rel_ci[1])}" if rel_ci else NOT_ESTIMABLE),
        "baseline": (pp(estimate["baseline"], signed=False).replace(" pp", "%") if binary
                     else rate(estimate["baseline"], signed=False)) if estimate.get("baseline") is not None
        else NOT_ESTIMABLE,
    }


def ranged(item: dict[str, Any] | None, show=pounds) -> str:
    """``{value, low, high, reason}`` as "£12,000 (£8,000 to £30,000)" or "not estimable: <reason>"."""
    if not item or item.get("value") is None:
        return (item or {}).get("reason") or NOT_ESTIMABLE
    return f"{show(item['value'])} ({show(item['low'])} to {show(item['high'])})"


def card_view(card: dict[str, Any]) -> dict[str, Any]:
    """The card dict plus the formatted text the template prints."""
    binary = card["outcome_scale"] == "proportion"
    primary = card["primary"]
    view = dict(card)
    view["primary_text"] = effect_words(primary, binary) if primary else None
    view["others_text"] = [{**e, **effect_words(e, binary)} for e in card["others"]]
    nnt = card.get("nnt") or {}
    if nnt.get("estimable"):
        view["nnt_text"] = f"{number(nnt['value'])} ({number(nnt['ci_low'])} to {number(nnt['ci_high'])})"
    else:
        view["nnt_text"] = nnt.get("note") or NOT_ESTIMABLE
    costs = card.get("costs") or {}
    view["cost_text"] = ranged(costs.get("cost_per_outcome_avoided"))
    avoided = costs.get("outcomes_avoided")
    view["avoided_text"] = ("about " + ranged(avoided, show=count)) if avoided and avoided.get("value") is not None \
        else ranged(avoided)
    view["outcome_plural"] = plural(card["outcome_noun"])
    view["returns"] = returns_rows(costs, card["outcome_noun"])
    view["value_lines"] = [{**line, "value_text": ranged(line)} for line in costs.get("lines", [])]
    view["by_type"] = [{"key": k, "text": ranged(v), "cashable": pounds(v.get("cashable"))}
                       for k, v in costs.get("by_type", {}).items()]
    view["by_agency"] = [{"key": k, "text": ranged(v), "cashable": pounds(v.get("cashable"))}
                         for k, v in costs.get("by_agency", {}).items()]
    return view


def returns_rows(costs: dict[str, Any], noun: str) -> list[dict[str, str]]:
    """The "return on the money" table: ``label``, ``text`` rows (empty when the card has no estimate)."""
    if "fiscal_savings" not in costs:
        return []
    cost, cost_pv = costs.get("programme_cost"), costs.get("programme_cost_pv")
    measured = costs.get("months_measured")
    rows = [{"label": "Programme cost" + (" (families offered)" if costs.get("payback") is not None else
                                         " (families reached while live)"),
             "text": pounds(cost) if cost is not None else "not recorded"},
            *([{"label": "Programme cost, discounted", "text": pounds(cost_pv)}]
              if cost_pv is not None and cost is not None and abs(cost_pv - cost) > 0.5 else []),
            {"label": f"Fiscal savings from {plural(noun)} avoided (public spending not incurred)",
             "text": ranged(costs["fiscal_savings"])},
            {"label": "Net present value (fiscal savings minus cost, discounted)",
             "text": ranged(costs["net_present_value"])}]
    payback, covered = costs.get("payback"), costs.get("cost_covered")
    if payback is not None:
        if payback.get("value") is None:
            text = payback.get("reason") or NOT_ESTIMABLE
        else:
            high = months(payback["high"]) if payback.get("high") is not None else f"more than {measured} months"
            text = f"{months(payback['value'])} ({months(payback['low'])} to {high})"
        rows.append({"label": "Payback period on fiscal savings", "text": text})
    if covered is not None:
        text = (covered.get("reason") or NOT_ESTIMABLE) if covered.get("value") is None else (
            f"{covered['value']:.0%} of the running cost ({covered['low']:.0%} to {covered['high']:.0%}) over the "
            f"{measured} months since the first go-live")
        rows.append({"label": "Fiscal savings as a share of the cost (a running cost: no single payback date)",
                     "text": text})
    vpp = costs.get("value_per_pound") or {}
    rows.append({"label": "Social value per £1 spent (fiscal, economic and social value, SROI style)",
                 "text": ranged(vpp, show=per_pound)})
    return rows


def render_impact_card_html(card: dict[str, Any]) -> str:
    """One self-contained impact card (CSS inline, charts as data URIs; opens offline)."""
    return render_template("impact_card.html.j2", card=card_view(card))


def render_impact_index_html(summary: dict[str, Any]) -> str:
    """The page listing every card (or saying that there were no intervention records)."""
    return render_template("impact_card_index.html.j2", summary=summary)


def recording_view(card: dict[str, Any]) -> dict[str, Any]:
    """The recording check's card dict plus the text of each change's two estimates (rates per 1,000 a month)."""
    view = dict(card)
    view["changes"] = [{**change, "face_text": _monthly(change["face_value"]),
                        "beyond_text": _monthly(change["beyond_step"])} for change in card["changes"]]
    return view


def _monthly(estimate: dict[str, Any]) -> dict[str, str]:
    low, high = estimate["ci_low"], estimate["ci_high"]
    return {"effect": f"{estimate['effect']:+.1f}", "interval": f"{low:+.1f} to {high:+.1f}"}


def render_recording_card_html(card: dict[str, Any]) -> str:
    """The card "What changed was the recording, not the need", in the impact cards' style."""
    return render_template("impact_recording_card.html.j2", card=recording_view(card))
