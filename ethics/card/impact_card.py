"""Render impact cards (``ethics/templates/impact_card.html.j2``) for a commissioning lead and the IG board.

The stage (:mod:`pipeline.impact.stage`) computes every number and hands a plain dict per card; this
module only words and formats them (percentage points, per cent, pounds, intervals) and renders the
HTML. It imports nothing from :mod:`pipeline.impact`, so the card sits below the stage that calls it.
A number that is ``None`` is shown as "not estimable" with the reason the stage gave, never as 0.
"""

from __future__ import annotations

from typing import Any

from ethics.card.render import render_template

NOT_ESTIMABLE = "not estimable"


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
    if value is None:
        return NOT_ESTIMABLE
    return f"£{value:,.0f}"


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
    view["avoided_text"] = ranged(costs.get("outcomes_avoided"), show=lambda v: number(v, 1))
    view["value_lines"] = [{**line, "value_text": ranged(line)} for line in costs.get("lines", [])]
    view["by_type"] = [{"key": k, "text": ranged(v), "cashable": pounds(v.get("cashable"))}
                       for k, v in costs.get("by_type", {}).items()]
    view["by_agency"] = [{"key": k, "text": ranged(v), "cashable": pounds(v.get("cashable"))}
                         for k, v in costs.get("by_agency", {}).items()]
    return view


def render_impact_card_html(card: dict[str, Any]) -> str:
    """One self-contained impact card (CSS inline, charts as data URIs; opens offline)."""
    return render_template("impact_card.html.j2", card=card_view(card))


def render_impact_index_html(summary: dict[str, Any]) -> str:
    """The page listing every card (or saying that there were no intervention records)."""
    return render_template("impact_card_index.html.j2", summary=summary)
