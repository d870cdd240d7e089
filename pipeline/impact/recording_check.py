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

import pandas as pd

from pipeline.impact import panels
from pipeline.impact.area_design import REGIME_COLUMNS
from pipeline.impact.estimate import RECORDING_CHANGE, Estimate, covers_zero
from pipeline.impact.its import estimate_its, series_from_panel

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
    """The change beyond the recording step: the same controlled ITS with the step put down to recording
    (:func:`pipeline.impact.its.estimate_its` with ``step_is_recording``).

    The level change at the change date is the recording break's step, so it is taken out of the effect; the
    trend change after it (× mean months since) is what a real change in need would add.
    """
    (beyond,) = estimate_its(series, programme=naive.programme, outcome=naive.outcome, intervention_date=change,
                             recording_regime=None, step_is_recording=True)
    keep = {k: naive.diagnostics[k] for k in ("ward_code", "code", "control_wards", "recording_changes")
            if k in naive.diagnostics}
    return replace(beyond, estimand=(
        "mean change in the monthly rate per 1,000 children beyond the recording change's step (the trend after "
        "it × mean months since), net of the control wards"), diagnostics={**beyond.diagnostics, **keep},
        flags=tuple(dict.fromkeys([RECORDING_CHANGE, *beyond.flags])))


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


def factor_words(code: str) -> str:
    """A CIN assessment factor in words with its code: ``3B`` -> "parental domestic violence (factor 3B)"."""
    from features.social_care import FACTOR_GROUPS

    words = next((w for codes, w in FACTOR_GROUPS.values() if code in codes), None)
    return f"{words} (factor {code})" if words else f"assessment factor {code}"


def recording_card(estimates: list[Estimate], frames: dict[str, pd.DataFrame]) -> dict | None:
    """The card "What changed was the recording, not the need" (None without a recording check).

    Returns:
        ``id, title, lines`` (one plain paragraph per change), ``changes`` (per change: ``ward_code``,
        ``month`` ("October 2023"), ``factor``, ``description``, ``face_value`` and ``beyond_step`` estimate
        dicts, ``moved``, ``verdict``), ``estimates`` (dicts) and ``charts`` (``title``, ``alt``,
        ``png_base64``: per change, the ward's recorded rate against the other wards).
    """
    from pipeline.impact.card_content import png_base64

    pairs = list(zip(estimates[::2], estimates[1::2], strict=True))
    if not pairs:
        return None
    lines, charts, changes = [], [], []
    for (naive, adjusted), series in zip(pairs, frames.values(), strict=True):
        d = naive.diagnostics
        change = d["recording_changes"][0]
        month = f"{pd.Timestamp(change['change_date']):%B %Y}"
        factor = factor_words(str(d["code"]))
        moved = not covers_zero(adjusted.ci_low, adjusted.ci_high)
        verdict = ("Something beyond the recording change moved: the trend after it changed too, which a change in "
                   "recording alone does not explain. Look into it before reading it as a change in need."
                   if moved else "No sign of a change in need: the rise is what the new recording explains.")
        lines.append(
            f"Ward {d['ward_code']}: from {month}, assessments recorded {factor} {naive.effect:+.1f} times per 1,000 "
            f"children a month more than the ward's earlier trend and the other wards predict (95% interval "
            f"{naive.ci_low:+.1f} to {naive.ci_high:+.1f}). How it is recorded changed that month. Allowing for "
            f"that, the change is {adjusted.effect:+.1f} (95% interval {adjusted.ci_low:+.1f} to "
            f"{adjusted.ci_high:+.1f}): " + ("something beyond the recording change moved; look at it." if moved
                                             else "no sign of a change in need.")
            + " A real change in the same month as the recording change cannot be told apart from it.")
        changes.append({"ward_code": str(d["ward_code"]), "month": month, "factor": factor,
                        "description": str(change.get("description", "")), "control_wards": d.get("control_wards"),
                        "face_value": naive.to_dict(), "beyond_step": adjusted.to_dict(), "moved": moved,
                        "verdict": verdict})
        charts.append({"title": f"Assessments recording {factor} per 1,000 children a month: ward {d['ward_code']} "
                                "against the other wards (3-month average), the recording change marked",
                       "alt": "Monthly rate in the ward and in the other wards, before and after the change",
                       "png_base64": png_base64(plot_recorded_rates(series, change["change_date"]))})
    return {"id": "recording_break", "title": "What changed was the recording, not the need", "lines": lines,
            "changes": changes, "estimates": [e.to_dict() for e in estimates], "charts": charts}


def plot_recorded_rates(series: pd.DataFrame, change_date):
    """The ward's and the other wards' monthly rate (3-month rolling mean), the recording change marked."""
    from matplotlib.figure import Figure

    figure = Figure(figsize=(9, 3.6))
    axis = figure.add_subplot()
    frame = series.assign(period=pd.to_datetime(series["period"])).sort_values("period")
    for name, label, colour in (("treated", "the ward whose recording changed", "tab:blue"),
                                ("control", "the other wards", "tab:grey")):
        rows = frame[frame["series"].eq(name)]
        axis.plot(rows["period"], rows["rate_per_1000"].rolling(3, min_periods=1).mean(), color=colour, label=label)
    axis.axvline(pd.Timestamp(change_date), color="tab:red", ls="-.", lw=1.2, label="recording changed")
    axis.set_ylabel("per 1,000 children a month")
    axis.legend(fontsize=8, loc="upper left")
    figure.tight_layout()
    return figure


def recording_card_html(card: dict) -> str:
    """The recording card in the impact cards' template and style (:mod:`ethics.card.impact_card`)."""
    from ethics.card.impact_card import render_recording_card_html

    return render_recording_card_html(card)
