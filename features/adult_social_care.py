"""Adults' social care features from Client Level Data (CLD): requests, services and carers.

CLD submissions stack (``pipeline.sources.cld_events``): each event is read once, in its latest submitted
version. Events are dated by their start; a service is open on the index date when it started before
it and had not ended by it. The latest version of an event may have been submitted after the index date
(an end date filled in later): the start dates features read never change between versions, the end
dates can, so ``asc_service_open`` reads the end as it was finally submitted.
"""

from __future__ import annotations

import pandas as pd

from features.event_registry import event_builder
from features.feature import Feature
from features.window import OPEN_AT_INDEX, W12
from pipeline.sources.cld_events import latest_versions, with_event_ids

CLD = "Adult social care (CLD)"
LONG_TERM = "long term support"  # CLD R2 "Long term support: …" (R1 wrote "Long Term Support")


# the collection starts in April 2023 but a service open then carries its own, earlier start: the source's
# coverage is the earliest reporting period submitted (features.coverage), not the earliest event
@event_builder("cld", source="adult_social_care", end_column="end_date", coverage_from="period_start",
               tables={"cld_event": (
    "la_code", "period_start", "period_end", "event_type", "event_start", "event_end", "service_type",
    "service_component", "delivery_mechanism", "client_type", "_source_file", "_source_row")})
def build_cld_events(rows: pd.DataFrame) -> pd.DataFrame:
    """``person_id, event_date (event start), end_date (event end), request, service, long_term, carer,
    care_home`` (0/1; ``care_home``: long-term support in residential or nursing care), ``period_start`` (the
    start of the reporting period the event's latest version was submitted in)."""
    if rows.empty:
        return pd.DataFrame({"person_id": pd.Series(dtype="str"), "event_date": pd.Series(dtype="datetime64[s]"),
                             "end_date": pd.Series(dtype="datetime64[s]"),
                             "period_start": pd.Series(dtype="datetime64[s]"),
                             **{c: pd.Series(dtype="int8") for c in ("request", "service", "long_term", "carer",
                                                                "care_home")}})
    # event identity per linked person: the submitted reference is unreliable (cld_events)
    keyed = rows.assign(la_person_id=rows["person_id"].astype("str"))
    latest = latest_versions(with_event_ids(keyed))
    out = latest[["person_id"]].assign(event_date=pd.to_datetime(latest["event_start"]),
                                       end_date=pd.to_datetime(latest["event_end"]),
                                       period_start=pd.to_datetime(latest["period_start"]))
    event_type = latest["event_type"].astype("str")
    out["request"] = event_type.eq("Request").astype("int8")
    out["service"] = event_type.eq("Service").astype("int8")
    out["long_term"] = (out["service"].astype(bool)
                        & latest["service_type"].astype("str").str.lower().str.startswith(LONG_TERM)).astype("int8")
    out["carer"] = latest["client_type"].astype("str").str.startswith("Carer").astype("int8")
    setting = latest["service_type"].astype("str").str.lower()
    out["care_home"] = (out["long_term"].astype(bool)
                        & setting.str.contains("residential|nursing", regex=True)).astype("int8")
    return out.dropna(subset=["event_date"]).reset_index(drop=True)


def _asc(name: str, description: str, sql: str, window: str, kind: str = "numeric") -> Feature:
    return Feature(name, description, CLD, window, kind, "model", "adult_social_care", "cld", sql, 0)


FEATURES = (
    _asc("asc_requests_12m", "Requests for adult social care support, last 12 months",
         f"count(*) FILTER (WHERE e.request = 1 AND e.carer = 0 AND {W12})", "12m"),
    _asc("asc_service_open", "Receiving an adult social care service on the index date",
         f"CAST(bool_or(e.service = 1 AND e.carer = 0 AND {OPEN_AT_INDEX}) AS INTEGER)", "now", "binary"),
    _asc("asc_long_term_ever", "Has had long-term adult social care support, ever",
         "CAST(bool_or(e.long_term = 1 AND e.carer = 0) AS INTEGER)", "ever", "binary"),
    _asc("asc_carer_ever", "Known to adult social care as an unpaid carer, ever",
         "CAST(bool_or(e.carer = 1) AS INTEGER)", "ever", "binary"),
)
