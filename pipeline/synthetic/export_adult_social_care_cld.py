"""Quarterly CLD submissions from the adults' true social-care events, with CLD's quirks (docs/formats.md).

Each quarter's submission reports the requests, assessments and reviews completed in it and every
service active in it, so a service appears once per quarter it runs. The quirks the reader must undo
(DOMAIN_ADULTS.md §2.1) are planted here:

- some completed events are submitted first with a provisional outcome and resubmitted next quarter
  with the true one, and some are resubmitted unchanged (stacked rows are never deleted);
- the Event_Reference is regenerated on some resubmissions and reused across some events;
- the end of some services is never recorded: they stop appearing (the reader closes them);
- NHS numbers are missing for some people throughout and on some rows; birth is month and year only;
- Date_of_Death is recorded for only some of those who died;
- carers carry ``Adult_1_Linked_Person_ID`` (Release 2) and carers known by association appear;
- submissions for 2023/24 (the year of dual running with SALT) use Release 1 labels and lack the
  Release 2 carer fields; from 2024/25 they use Release 2.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from pipeline.sources import cld_codes as cld
from pipeline.synthetic.formatting import format_dates

FIRST_RELEASE_2_YEAR = 2024  # financial year 2024/25
CONTINUING_R2 = "Continuation of support or services"
PROVISIONAL_R2 = ("Progress to assessment, review or reassessment", "NFA - Other")
R1_MAPS = {
    "Primary_Support_Reason": cld.PRIMARY_SUPPORT_REASON_R1_TO_R2,
    "Event_Outcome": cld.EVENT_OUTCOME_R1_TO_R2,
    "Assessment_Type": cld.ASSESSMENT_TYPE_R1_TO_R2,
    "Service_Type": cld.SERVICE_TYPE_R1_TO_R2,
}
R2_ONLY_COLUMNS = ("Total_Hrs_Caring_Per_Week", "Adult_1_Linked_Person_ID", "Adult_2_Linked_Person_ID",
                   "Adult_3_Linked_Person_ID")
COLUMNS = (
    "LA_Code", "Reporting_Period_Start_Date", "Reporting_Period_End_Date", "LA_Person_Unique_Identifier",
    "NHS_Number", "Der_Birth_Year", "Der_Birth_Month", "Date_of_Death", "Gender", "Ethnicity", "Client_Type",
    "Client_Funding_Status", "Primary_Support_Reason", "Accommodation_Status", "Employment_Status",
    "Has_Unpaid_Carer", "Event_Type", "Event_Reference", "Event_Start_Date", "Event_End_Date", "Event_Outcome",
    "Request_Route_of_Access", "Assessment_Type", "Method_of_Assessment", "Service_Type", "Service_Component",
    "Delivery_Mechanism", "Unit_Cost", "Cost_Frequency_(Unit_Type)", "Planned_units_per_week", "Review_Reason",
    *R2_ONLY_COLUMNS,
)


@dataclass(frozen=True)
class CldQuirks:
    """Rates of the planted CLD quirks (each a probability per event, person or row)."""

    provisional_outcome: float = 0.08  # completed event first submitted with another outcome
    duplicate_resubmission: float = 0.03  # completed event submitted again unchanged next quarter
    new_reference: float = 0.3  # a resubmitted version gets a new Event_Reference
    reused_reference: float = 0.02  # an event's reference is another event's
    unrecorded_end: float = 0.25  # a service's end never recorded: it stops being reported
    nhs_missing_person: float = 0.12  # no traced NHS number for the person on any row
    nhs_missing_row: float = 0.04  # a row without the NHS number the person has elsewhere
    death_recorded: float = 0.6  # a death known to the council (Date_of_Death on later rows)


def quarters(first_year: int, reference_date: np.datetime64) -> pd.DataFrame:
    """Reporting quarters from April of ``first_year`` whose start is on or before ``reference_date``.

    Returns:
        year (financial year start), quarter (1 = April-June), start, end (datetime64), one row each.
    """
    rows, year, q = [], first_year, 1
    ref = pd.Timestamp(reference_date)
    while True:
        start = pd.Timestamp(year, 4 + 3 * (q - 1), 1) if q < 4 else pd.Timestamp(year + 1, 1, 1)
        if start > ref:
            break
        rows.append({"year": year, "quarter": q, "start": start,
                     "end": start + pd.DateOffset(months=3) - pd.Timedelta(days=1)})
        year, q = (year, q + 1) if q < 4 else (year + 1, 1)
    return pd.DataFrame(rows)


def as_release_2(values: pd.Series, r1_to_r2: dict[str, str], allowed: frozenset[str]) -> pd.Series:
    """True labels (R1, R2, any case) as R2; unknown labels pass through (ingest flags them)."""
    lookup = {k.lower(): v for k, v in r1_to_r2.items()} | {v.lower(): v for v in allowed}
    lookup |= {"long term support: residential": "Long term support: Residential care",
               "long term support: nursing": "Long term support: Nursing care"}
    text = values.fillna("").astype("str")
    return text.str.lower().map(lookup).fillna(text).astype("str")


def event_reports(rng: np.random.Generator, events: pd.DataFrame, periods: pd.DataFrame,
                  quirks: CldQuirks) -> pd.DataFrame:
    """One row per (event, quarter) report, with the outcome and end date that submission shows.

    Args:
        events: true events with ``event_key`` (int), ``event_type``, ``start``, ``end`` (NaT open),
            ``outcome`` (R2 label).
        periods: :func:`quarters`.

    Returns:
        ``event_key``, ``period`` (row of ``periods``), ``shown_end``, ``shown_outcome``, ``version``
        (0 first report of the event, counting up).
    """
    p_start = periods["start"].to_numpy("datetime64[D]")
    p_end = periods["end"].to_numpy("datetime64[D]")
    start = events["start"].to_numpy("datetime64[D]")
    end = events["end"].to_numpy("datetime64[D]")
    service = events["event_type"].eq("Service").to_numpy()
    unrecorded = service & ~np.isnat(end) & (rng.random(len(events)) < quirks.unrecorded_end)
    parts = []
    # services: every quarter they are active in
    active = (service[:, None] & (start[:, None] <= p_end[None, :])
              & (np.isnat(end)[:, None] | (end[:, None] >= p_start[None, :])))
    ev, per = np.nonzero(active)
    ended_here = ~np.isnat(end[ev]) & (end[ev] <= p_end[per]) & ~unrecorded[ev]
    parts.append(pd.DataFrame({"event_key": ev, "period": per, "ended": ended_here}))
    # requests, assessments and reviews: the quarter they are completed in, maybe resubmitted next quarter
    done = np.where(np.isnat(end), start, end)
    at = np.searchsorted(p_end, done)  # the quarter whose end is on or after the completion date
    inside = ~service & (at < len(periods)) & (done >= p_start[0])
    ev = np.flatnonzero(inside)
    base = pd.DataFrame({"event_key": ev, "period": at[ev], "ended": True})
    draw = rng.random(len(ev))
    has_next = at[ev] + 1 < len(periods)
    provisional = has_next & (draw < quirks.provisional_outcome)
    duplicate = has_next & ~provisional & (draw < quirks.provisional_outcome + quirks.duplicate_resubmission)
    again = base[provisional | duplicate].assign(period=lambda f: f["period"] + 1)
    base["provisional"] = provisional
    parts += [base, again]
    reports = pd.concat(parts, ignore_index=True)
    reports["provisional"] = reports["provisional"].astype("boolean").fillna(False).astype(bool)
    reports = reports.sort_values(["event_key", "period"], kind="stable", ignore_index=True)
    reports["version"] = reports.groupby("event_key").cumcount()
    keys = reports["event_key"].to_numpy()
    outcome = events["outcome"].to_numpy(dtype=object)[keys]
    guess = np.array(PROVISIONAL_R2, dtype=object)[rng.integers(0, len(PROVISIONAL_R2), len(reports))]
    shown = np.where(reports["provisional"], guess, np.where(reports["ended"], outcome, CONTINUING_R2))
    reports["shown_outcome"] = shown.astype(str)
    # a service shows its end only in the quarter it is recorded as ending; other events their completion
    recorded_end = np.where(reports["ended"].to_numpy(), end[keys], np.datetime64("NaT"))
    reports["shown_end"] = np.where(service[keys], recorded_end, done[keys])
    return reports[["event_key", "period", "shown_end", "shown_outcome", "version"]]


def event_references(rng: np.random.Generator, reports: pd.DataFrame, quirks: CldQuirks) -> np.ndarray:
    """An Event_Reference per report: one per event, sometimes new on resubmission, sometimes another's."""
    n_events = int(reports["event_key"].max()) + 1 if len(reports) else 0
    own = np.char.add("EV", np.char.zfill(rng.choice(10**8, n_events + len(reports), replace=False)
                                          .astype(str), 8))
    refs = own[reports["event_key"].to_numpy()]
    renewed = (reports["version"].to_numpy() > 0) & (rng.random(len(reports)) < quirks.new_reference)
    refs = np.where(renewed, own[n_events + np.arange(len(reports))], refs)
    reused = rng.random(len(reports)) < quirks.reused_reference
    if len(refs):
        refs = np.where(reused, refs[rng.integers(0, len(refs), len(refs))], refs)
    return refs.astype(str)


def release_1(frame: pd.DataFrame) -> pd.DataFrame:
    """A submission in Release 1: R1 labels where the release changed them, no R2-only carer fields."""
    out = frame.drop(columns=list(R2_ONLY_COLUMNS))
    for column, r1_to_r2 in R1_MAPS.items():
        labels = {r2: cld.r1_label(r2, r1_to_r2) for r2 in out[column].unique()}
        out[column] = out[column].map(labels)
    return out


def submission_frames(rng: np.random.Generator, rows: pd.DataFrame, periods: pd.DataFrame,
                      la_code: str) -> dict[tuple[int, int], pd.DataFrame]:
    """Split report rows into one frame per quarter, in CLD columns and the release of its year.

    Args:
        rows: one row per report with every CLD column except the reporting period ones, and ``period``.
        periods: :func:`quarters`.
    """
    out = {}
    for i, period in periods.iterrows():
        frame = rows[rows["period"] == i].drop(columns="period")
        frame = frame.assign(LA_Code=la_code, Reporting_Period_Start_Date=period["start"].strftime("%Y-%m-%d"),
                             Reporting_Period_End_Date=period["end"].strftime("%Y-%m-%d"))
        frame = frame.sample(frac=1.0, random_state=rng.integers(1 << 31)).reset_index(drop=True)[list(COLUMNS)]
        if period["year"] < FIRST_RELEASE_2_YEAR:
            frame = release_1(frame)
        out[(int(period["year"]), int(period["quarter"]))] = frame
    return out


def dates_text(values) -> np.ndarray:
    """ISO dates as CLD files write them ('' when missing)."""
    return format_dates(values, "%Y-%m-%d")
