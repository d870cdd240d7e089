"""The recording check: a recorded rise that is not a real change (DOMAIN_IMPACT.md §2 "Measurement").

For each row of ``recording_regime`` about a coded field of the CIN assessments (e.g. the domestic abuse
factor ``3B``), the monthly count of assessments carrying the code per 1,000 children in the ward that changed
is compared with the other wards (wards reached by an area programme left out where enough remain) by
controlled interrupted time series at the change date, twice:

- naive: the recorded series taken at face value, as a dashboard would. A new screening question that
  records the factor more often shows as a rise in need.
- recording-adjusted: the change is a step in what is recorded, so the step at the change date is put down
  to recording and the estimate is the change beyond it: the trend after the change × the mean months since.
  A real change in need in the very month recording changed cannot be told apart from the recording change;
  the words say so.

Both are :class:`~pipeline.impact.estimate.Estimate` rows of programme ``recording_break``, design
``its_controlled``, flagged ``recording_change_in_window``; on the synthetic county their truth is 0.
"""

from __future__ import annotations

from dataclasses import replace
from html import escape

import numpy as np
import pandas as pd
import statsmodels.api as sm
from scipy import stats

from pipeline.impact import panels
from pipeline.impact.area_design import REGIME_COLUMNS, collected_library_warnings
from pipeline.impact.estimate import NULL_RESULT, RECORDING_CHANGE, Estimate, covers_zero
from pipeline.impact.its import _design, estimate_its, series_from_panel

PROGRAMME = "recording_break"
ASSESSMENT_TABLE = "cin_assessment"
PRE_MONTHS = 72  # six years before the change: trend and season are learnt from whole years
MIN_CONTROL_WARDS = 3  # fewer clean wards than this: every other ward is the control


def coded_assessments(assessments: pd.DataFrame, code: str) -> pd.DataFrame:
    """CIN assessments that carry ``code`` among their factors, once each (``person_id, event_date``).

    An assessment is repeated in every census year its episode is open, so it is counted once by child,
    referral and start date.

    Args:
        assessments: ``person_id, referral_date, assessment_start, factors`` (';'-joined codes).
    """
    rows = assessments.drop_duplicates(["person_id", "referral_date", "assessment_start"])
    codes = rows["factors"].fillna("").astype("str").str.split(";")
    has = codes.map(lambda found: code in {c.strip() for c in found})
    out = rows.loc[has.to_numpy(), ["person_id", "assessment_start"]].dropna()
    return out.rename(columns={"assessment_start": "event_date"}).astype({"person_id": "str"}).reset_index(drop=True)


def factor_code(description: str, default: str = "3B") -> str:
    """The factor code a regime row is about: the first ``factor <code>`` in its description, else ``default``."""
    words = str(description).replace(",", " ").split()
    for i, word in enumerate(words[:-1]):
        if word.lower() == "factor":
            return words[i + 1]
    return default


def recording_series(monthly: pd.DataFrame, ward: str, excluded: set[str]) -> tuple[pd.DataFrame, list[str]]:
    """The changed ward's monthly series and the control series (other wards), and the control wards.

    Args:
        monthly: ward × month panel (``ward_code, period, children, events``) of coded assessments.
        ward: the ward whose recording changed.
        excluded: wards an area programme reached (left out of the control while enough others remain).
    """
    others = sorted(set(monthly["ward_code"].astype("str")) - {ward})
    clean = [w for w in others if w not in excluded]
    control = clean if len(clean) >= MIN_CONTROL_WARDS else others
    if not control:
        raise ValueError(f"recording check: no ward besides {ward} to compare with")
    series = pd.concat([series_from_panel(monthly, [ward], "treated"), series_from_panel(monthly, control, "control")],
                       ignore_index=True)
    return series, control


def beyond_the_step(series: pd.DataFrame, naive: Estimate, change: pd.Timestamp, regime: pd.DataFrame) -> Estimate:
    """The change beyond the recording step: same controlled model with the step put down to recording.

    The level change at the change date is the recording break's step, so it is taken out of the effect; the
    trend change after it (× mean months since) is what a real change in need would add. Newey-West errors
    with the small-sample correction and t quantiles, as :func:`pipeline.impact.its.estimate_its`.
    """
    frame = series.assign(period=pd.to_datetime(series["period"]))
    frame["_break_series"] = pd.Series([()] * len(frame), index=frame.index, dtype=object)
    frame, x, _ = _design(frame, change, [], True)
    y = frame["rate_per_1000"].astype(float)
    lags = int(np.floor(4 * (len(frame) / 100) ** (2 / 9)))
    notes: list[str] = []
    with collected_library_warnings(notes):
        fit = sm.OLS(y, x).fit(cov_type="HAC", cov_kwds={"maxlags": lags, "use_correction": True}, use_t=True)
    post = frame["series"].eq("treated") & (frame["period"] >= change)
    since = float(x.loc[post, "slope_change"].mean())
    effect = float(fit.params["slope_change"] * since)
    se = float(fit.bse["slope_change"] * since)
    q = float(stats.t.ppf(0.975, fit.df_resid))
    low, high = effect - q * se, effect + q * se
    flags = [RECORDING_CHANGE] + ([NULL_RESULT] if covers_zero(low, high) else [])
    diagnostics = {**naive.diagnostics, "recording_break_covariate": True,
                   "recording_step": float(fit.params["level_change"]),
                   "recording_step_ci": [float(v) for v in fit.conf_int().loc["level_change"]],
                   "slope_change_per_month": float(fit.params["slope_change"]),
                   "standard_errors": f"Newey-West HAC, {lags} lags, small-sample corrected; t({int(fit.df_resid)})",
                   "not_separable": "a real change in the month recording changed is taken as part of the step",
                   "library_warnings": notes}
    return replace(naive, estimand=(
        "mean change in the monthly rate per 1,000 children beyond the recording change's step (the trend after "
        "it × mean months since), net of the control wards"), effect=effect, ci_low=low, ci_high=high,
        baseline=float(y[post].mean()) - effect, diagnostics=diagnostics, flags=tuple(flags))


def recording_estimates(regime: pd.DataFrame | None, assessments: pd.DataFrame | None, people: pd.DataFrame,
                        dated: pd.DataFrame, current: pd.Series, excluded: set[str], last_month: pd.Timestamp,
                        ) -> tuple[list[Estimate], dict[str, pd.DataFrame], list[str]]:
    """Naive and recording-adjusted ITS for each CIN-assessment row of the recording regime.

    Args:
        regime: ``recording_regime`` (``source, table, field, ward_code, change_date, description``).
        assessments: linked ``cin_assessment`` (``person_id, referral_date, assessment_start, factors``).
        people: ``person_id, birth_year, birth_month``; ``dated``, ``current``: :func:`panels.addresses`.
        excluded: wards reached by an area programme.
        last_month: the last complete month of the extract.

    Returns:
        The estimates (two per row), the series per row (``<ward>_<code>_<date>``) and the rows not checked,
        each with its reason.
    """
    estimates, frames, not_run = [], {}, []
    if regime is None or regime.empty:
        return estimates, frames, not_run
    missing = [c for c in REGIME_COLUMNS if c not in regime.columns]
    if missing:
        raise ValueError(f"recording_regime: missing column(s) {missing}")
    for row in regime.to_dict("records"):
        ward = "" if pd.isna(row["ward_code"]) else str(row["ward_code"]).strip()
        when = pd.Timestamp(row["change_date"])
        where = (f"recording_regime change of {row['table']}.{row['field']} on {when:%Y-%m-%d}"
                 f" in {('ward ' + ward) if ward else 'the whole county'}")
        if str(row["table"]) != ASSESSMENT_TABLE or str(row["field"]) != "factors" or not ward:
            not_run.append(f"{where}: only a one-ward change of CIN assessment factors is checked")
            continue
        if assessments is None:
            not_run.append(f"{where}: no linked CIN assessments")
            continue
        change = pd.Timestamp(row["change_date"]).to_period("M").to_timestamp()
        code = factor_code(row["description"])
        start = change - pd.DateOffset(months=PRE_MONTHS)
        monthly = panels.area_panel(people, dated, current, coded_assessments(assessments, code), start, last_month,
                                    "MS")
        try:
            series, control = recording_series(monthly, ward, excluded)
            outcome = f"assessment_factor_{code}"
            (naive,) = estimate_its(series, programme=PROGRAMME, outcome=outcome, intervention_date=change,
                                    recording_regime=None, treated_wards=[ward], control_wards=control)
        except ValueError as exc:
            not_run.append(f"{where}: {exc}")
            continue
        naive = replace(naive, flags=tuple(dict.fromkeys([RECORDING_CHANGE, *naive.flags])), estimand=(
            f"mean change in CIN assessments recording factor {code} per 1,000 children a month, taken at face "
            "value (no allowance for the recording change), net of the control wards"), diagnostics={
            **naive.diagnostics, "ward_code": ward, "code": code, "control_wards": len(control),
            "recording_changes": [{"field": f"{row['source']}.{row['table']}.{row['field']}", "ward_code": ward,
                                   "change_date": f"{change:%Y-%m-%d}", "description": str(row["description"])}]})
        estimates += [naive, beyond_the_step(series, naive, change, regime)]
        frames[f"{ward}_{code}_{change:%Y%m}"] = series
    return estimates, frames, not_run


def recording_card(estimates: list[Estimate], frames: dict[str, pd.DataFrame]) -> dict | None:
    """The short card "What changed was the recording, not the need" (None without a recording check).

    Returns:
        ``id, title, lines`` (one paragraph per change), ``estimates`` (dicts) and ``charts`` (``title``,
        ``png_base64``: the ward's recorded series against the control wards, the recording change marked).
    """
    from pipeline.impact.card_content import png_base64
    from pipeline.impact.its import plot_its

    pairs = list(zip(estimates[::2], estimates[1::2], strict=True))
    if not pairs:
        return None
    lines, charts = [], []
    for (naive, adjusted), series in zip(pairs, frames.values(), strict=True):
        d = naive.diagnostics
        when = d["recording_changes"][0]["change_date"]
        lines.append(
            f"Ward {d['ward_code']}: from {when} factor {d['code']} was recorded {naive.effect:+.2f} per 1,000 "
            f"children a month more than its trend and the other wards predict (95% interval {naive.ci_low:+.2f} to "
            f"{naive.ci_high:+.2f}). The recording regime says how it was recorded changed that month. Beyond that "
            f"step the change is {adjusted.effect:+.2f} (95% interval {adjusted.ci_low:+.2f} to "
            f"{adjusted.ci_high:+.2f}): "
            + ("no sign of a change in need." if covers_zero(adjusted.ci_low, adjusted.ci_high) else
               "something beyond the recording change moved; look at it.")
            + " A real change in the same month as the recording change cannot be told apart from it.")
        charts.append({"title": f"Recorded factor {d['code']} in ward {d['ward_code']} against the other wards",
                       "png_base64": png_base64(plot_its(series, (naive,), intervention_date=when))})
    return {"id": "recording_break", "title": "What changed was the recording, not the need", "lines": lines,
            "estimates": [e.to_dict() for e in estimates], "charts": charts}


def recording_card_html(card: dict) -> str:
    """A plain page for :func:`recording_card` (text escaped; charts embedded)."""
    parts = [f"<!doctype html><html><head><meta charset='utf-8'><title>{escape(card['title'])}</title></head><body>",
             f"<h1>{escape(card['title'])}</h1>",
             "<p>A rise in a recorded field is not a rise in need when how it is recorded changed "
             "(DOMAIN_IMPACT.md §2 \"Measurement\"; Hackney's FGM counts). Every evaluation whose outcome is counted "
             "from this field in this ward is flagged <code>recording_change_in_window</code>.</p>"]
    parts += [f"<p>{escape(line)}</p>" for line in card["lines"]]
    parts += [f"<figure><img alt='{escape(c['title'])}' src='data:image/png;base64,{c['png_base64']}'>"
              f"<figcaption>{escape(c['title'])}</figcaption></figure>" for c in card["charts"]]
    return "\n".join([*parts, "</body></html>"])
