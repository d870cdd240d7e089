"""Naive two-way fixed effects: the comparator shown beside Callaway–Sant'Anna, and why it differs.

linearmodels ``PanelOLS`` with ward and period effects, standard errors clustered by ward: one "ward live"
coefficient, and an event study with one coefficient per period since go-live.
"""

from __future__ import annotations

import pandas as pd

from pipeline.impact.area_design import collected_library_warnings

TWFE_EXPLANATION = (
    "Naive two-way fixed effects averages every before/after comparison in the panel, including ones where wards "
    "that went live earlier serve as the comparison for wards going live later. When the effect grows with time "
    "since go-live, the earlier wards keep improving during the later wards' comparison window, so those "
    "comparisons subtract part of the effect and pull the estimate toward zero (with strong growth they can even "
    "flip its sign). Callaway–Sant'Anna compares each wave only with wards not yet live, so it avoids this."
)


def naive_twfe(frame: pd.DataFrame, outcome: str, event_times: list[int], notes) -> tuple[dict, pd.DataFrame]:
    """Static and event-study TWFE (ward and period effects, errors clustered by ward).

    Args:
        frame: :func:`pipeline.impact.staggered.prepare_rollout_panel` output (``unit``, ``t``, ``g``, outcome).
        outcome: the outcome column.
        event_times: event times to show; leads and lags beyond them are binned into the end ones.
        notes: list that library warnings are appended to.

    Returns:
        ``{"effect", "ci_low", "ci_high"}`` of the single "ward live" coefficient, and the event-study rows
        (``event_time``, ``design`` = twfe, ``effect``, ``ci_low``, ``ci_high``; -1 is the zero reference).
    """
    from linearmodels.panel import PanelOLS

    data = frame.set_index(["unit", "t"]).sort_index()
    live = data["g"].gt(0)
    data["treated_post"] = (live & (data.index.get_level_values("t") >= data["g"])).astype(float)
    fit_kwargs = {"cov_type": "clustered", "cluster_entity": True}
    with collected_library_warnings(notes):
        static = PanelOLS(data[outcome], data[["treated_post"]], entity_effects=True, time_effects=True).fit(
            **fit_kwargs
        )
    low, high = (float(v) for v in static.conf_int().loc["treated_post"])
    relative = data.index.get_level_values("t") - data["g"]
    first, last = min(event_times), max(event_times)
    # Leads and lags binned at the ends of the window; -1 is the reference, as in the CS event study.
    binned = relative.clip(first, last)
    dummies = pd.DataFrame(
        {f"e{e}": (live & binned.eq(e)).astype(float) for e in range(first, last + 1) if e != -1}, index=data.index
    )
    dummies = dummies.loc[:, dummies.sum() > 0]
    with collected_library_warnings(notes):
        dynamic = PanelOLS(data[outcome], dummies, entity_effects=True, time_effects=True,
                           drop_absorbed=True, check_rank=False).fit(**fit_kwargs)
    bounds = dynamic.conf_int()
    rows = [{"event_time": int(name[1:]), "design": "twfe", "effect": float(dynamic.params[name]),
             "ci_low": float(bounds.loc[name, "lower"]), "ci_high": float(bounds.loc[name, "upper"])}
            for name in dynamic.params.index]
    rows.append({"event_time": -1, "design": "twfe", "effect": 0.0, "ci_low": 0.0, "ci_high": 0.0})
    summary = {"effect": float(static.params["treated_post"]), "ci_low": low, "ci_high": high}
    return summary, pd.DataFrame(rows)
