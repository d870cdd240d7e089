"""Adult social care extracts from the adults' true lives: the council's person table and CLD submissions.

:func:`adult_social_care_extracts` yields ``("csv", relative path, (frame, encoding))`` for
``adult_social_care/asc_persons.csv`` and each quarter's ``adult_social_care/cld/CLD_<YYYY>_Q<q>.csv``
(YYYY the year the financial year starts, Q1 = April-June), then ``("truth", "adult_social_care_keys",
frame)``: ``source, record_key, person_id`` for every LA person ID, for the linkage quality report.
Only council-funded events exist in the truth (self-funders never reach CLD); the quirks are those of
:mod:`pipeline.synthetic.export_adult_social_care_cld`.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pandas as pd

from pipeline.sources import cld_codes as cld
from pipeline.synthetic import records
from pipeline.synthetic.export_adult_social_care_cld import (
    CldQuirks,
    as_release_2,
    dates_text,
    event_references,
    event_reports,
    quarters,
    submission_frames,
)
from pipeline.synthetic.formatting import format_dates

SOURCE = "adult_social_care"
# the county's DfE ethnicity codes as 2021 census categories (the CLD Ethnicity values)
CENSUS_ETHNICITY = {
    "WBRI": "White: English, Welsh, Scottish, Northern Irish or British", "WIRI": "White: Irish",
    "WIRT": "White: Gypsy or Irish Traveller", "WROM": "White: Roma", "WOTH": "White: Any other White background",
    "MWBC": "Mixed or Multiple ethnic groups: White and Black Caribbean",
    "MWBA": "Mixed or Multiple ethnic groups: White and Black African",
    "MWAS": "Mixed or Multiple ethnic groups: White and Asian",
    "MOTH": "Mixed or Multiple ethnic groups: Any other Mixed or Multiple background",
    "AIND": "Asian or Asian British: Indian", "APKN": "Asian or Asian British: Pakistani",
    "ABAN": "Asian or Asian British: Bangladeshi", "CHNE": "Asian or Asian British: Chinese",
    "AOTH": "Asian or Asian British: Any other Asian background",
    "BCRB": "Black, Black British, Caribbean or African: Caribbean",
    "BAFR": "Black, Black British, Caribbean or African: African",
    "BOTH": "Black, Black British, Caribbean or African: Any other Black, Black British, or Caribbean background",
    "OOTH": "Other ethnic group: Any other ethnic group", "REFU": "Refused", "NOBT": "Not known",
}
KNOWN_BY_ASSOCIATION_SHARE = 0.5  # carers of service users with no support of their own, seen with the cared-for


def la_person_ids(rng: np.random.Generator, person_ids: np.ndarray) -> pd.Series:
    """A 7-digit LA person ID (case-management style) per distinct ``person_ids``, indexed by person_id."""
    ids = np.unique(person_ids)
    digits = rng.choice(9 * 10**6, len(ids), replace=False) + 10**6
    return pd.Series(digits.astype(str), index=ids, dtype="str")


def known_by_association(rng: np.random.Generator, events: pd.DataFrame, caring: pd.DataFrame) -> pd.DataFrame:
    """Carer events for carers the council knows only through the person they care for.

    A share of the carers of people with a service, who have no social-care events of their own, appear
    once as a ``Carer known by association`` receiving respite that involves the person cared for.

    Returns:
        rows in the ``asc_events`` columns (client_type ``Carer known by association``).
    """
    services = events[events["event_type"].eq("Service") & events["client_type"].eq("Service user")]
    first = services.groupby("person_id")["start"].min()
    pairs = caring[caring["cared_for_id"].isin(first.index) & ~caring["carer_id"].isin(events["person_id"])]
    pairs = pairs.drop_duplicates("carer_id")
    pairs = pairs[rng.random(len(pairs)) < KNOWN_BY_ASSOCIATION_SHARE]
    start = np.maximum(pairs["start"].to_numpy("datetime64[D]"),
                       first.reindex(pairs["cared_for_id"]).to_numpy("datetime64[D]"))
    ongoing = pairs["end"].isna().to_numpy()
    keep = ongoing | (start <= pairs["end"].to_numpy("datetime64[D]"))
    pairs, start = pairs[keep], start[keep]
    return pd.DataFrame({
        "person_id": pairs["carer_id"].to_numpy(), "event_type": "Service", "start": start,
        "end": start + np.timedelta64(14, "D"), "client_type": "Carer known by association",
        "primary_support_reason": "Social support: Support to carer", "route_of_access": "",
        "assessment_type": "", "service_type": "Unpaid carer support: Support involving the person cared-for",
        "service_component": "Carer Respite", "delivery_mechanism": "CASSR Commissioned Support",
        "unit_cost": 95.0, "planned_units_per_week": 7.0, "outcome": "NFA - Support ended as planned",
        "review_reason": "", "hours_caring": pairs["hours_per_week"].to_numpy(dtype=float),
        "linked_person_id": pairs["cared_for_id"].to_numpy(),
    })


def _true_events(rng, lives, ref: np.datetime64) -> pd.DataFrame:
    """The true events up to the reference date, labels as Release 2, with carers known by association."""
    ev = lives.asc_events
    ev = ev[ev["start"].to_numpy("datetime64[D]") <= ref].copy()
    ev["start"] = ev["start"].astype("datetime64[s]")
    ev["end"] = ev["end"].astype("datetime64[s]").where(ev["end"].to_numpy("datetime64[D]") <= ref)
    extra = known_by_association(rng, ev, lives.caring)
    extra["start"] = extra["start"].astype("datetime64[s]")
    extra["end"] = extra["end"].astype("datetime64[s]").where(extra["end"].to_numpy("datetime64[D]") <= ref)
    ev = pd.concat([ev, extra[extra["start"] <= pd.Timestamp(ref)]], ignore_index=True)
    ev["service_type"] = as_release_2(ev["service_type"], cld.SERVICE_TYPE_R1_TO_R2, cld.SERVICE_TYPE)
    ev["primary_support_reason"] = as_release_2(
        ev["primary_support_reason"], cld.PRIMARY_SUPPORT_REASON_R1_TO_R2, cld.PRIMARY_SUPPORT_REASON)
    ev["outcome"] = as_release_2(ev["outcome"], cld.with_dash_variants(cld.EVENT_OUTCOME_R1_TO_R2), cld.EVENT_OUTCOME)
    ev["assessment_type"] = as_release_2(ev["assessment_type"], cld.ASSESSMENT_TYPE_R1_TO_R2, cld.ASSESSMENT_TYPE)
    ev = ev.sort_values(["person_id", "start", "event_type"], kind="stable", ignore_index=True)
    ev["event_key"] = np.arange(len(ev))
    return ev


def _blank_unless(values: pd.Series, keep: np.ndarray) -> np.ndarray:
    text = values.fillna("").astype("str").to_numpy(dtype=object)
    return np.where(keep, text, "")


def _number_text(values: pd.Series, keep: np.ndarray, fmt: str) -> np.ndarray:
    numbers = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float)
    text = np.array([fmt.format(v) if np.isfinite(v) else "" for v in numbers], dtype=object)
    return np.where(keep, text, "")


def cld_rows(rng, ev: pd.DataFrame, reports: pd.DataFrame, periods: pd.DataFrame, people: pd.DataFrame,
             ids: pd.Series, caring: pd.DataFrame, quirks: CldQuirks) -> pd.DataFrame:
    """Every report as a CLD row (all columns but LA_Code and the reporting period), plus ``period``."""
    row = ev.iloc[reports["event_key"].to_numpy()].reset_index(drop=True)
    person = people.set_index("person_id").reindex(row["person_id"]).reset_index()
    p_end = periods["end"].to_numpy("datetime64[D]")[reports["period"].to_numpy()]
    kind = row["event_type"].to_numpy()
    dob = person["dob"].to_numpy("datetime64[D]")
    age = (p_end - dob).astype("timedelta64[D]").astype(float) / 365.25
    no_number = (row["person_id"].map(_person_draw(rng, ids.index, quirks.nhs_missing_person)).to_numpy(bool)
                 | (rng.random(len(row)) < quirks.nhs_missing_row))
    death = person["death_date"].to_numpy("datetime64[D]")
    known_death = row["person_id"].map(_person_draw(rng, ids.index, quirks.death_recorded)).to_numpy(bool)
    show_death = known_death & ~np.isnat(death) & (death <= p_end)
    cared_for = set(caring["cared_for_id"])
    lts_home = row["service_type"].isin(cld.LTS_CARE_HOME).to_numpy() & (kind == "Service")
    nursing = row["service_type"].eq("Long term support: Nursing care").to_numpy()
    settled = np.where(person["learning_disability"].fillna(False).to_numpy(bool),
                       "Settled mainstream housing with family/friends",
                       np.where(row["person_id"].to_numpy() % 3 == 0, "Tenant", "Owner occupier"))
    accommodation = np.where(lts_home, np.where(nursing, "Registered nursing home", "Registered care home"), settled)
    employment = np.where(age >= 65, "Not in paid employment: not seeking work or retired",
                          np.where(row["person_id"].to_numpy() % 4 == 0, "Paid: less than 16 hours a week",
                                   "Not in paid employment: seeking work"))
    carer_row = row["client_type"].isin(cld.CLIENT_CARER_TYPES).to_numpy()
    linked = row["linked_person_id"].fillna(-1).astype(np.int64).to_numpy()
    linked_id = np.where(carer_row & (linked >= 0), ids.reindex(linked).fillna("").to_numpy(dtype=object), "")
    second_id = np.full(len(row), "", dtype=object)
    with_link = np.flatnonzero(carer_row & (linked >= 0))
    if len(with_link):  # a carer caring for two people names the second as Adult_2
        cares_for = caring.sort_values("start", kind="stable").groupby("carer_id")["cared_for_id"].apply(list)
        carers = row["person_id"].to_numpy()[with_link]
        others = [next((c for c in cares_for.get(p, []) if c != first and c in ids.index), -1)
                  for p, first in zip(carers, linked[with_link], strict=True)]
        second_id[with_link] = ids.reindex(others).fillna("").to_numpy(dtype=object)
    service = kind == "Service"
    out = pd.DataFrame({
        "period": reports["period"].to_numpy(),
        "LA_Person_Unique_Identifier": ids.reindex(row["person_id"]).to_numpy(),
        "NHS_Number": np.where(no_number, "", person["nhs_number"].fillna("").astype("str").to_numpy()),
        "Der_Birth_Year": pd.DatetimeIndex(dob).year.astype(str),
        "Der_Birth_Month": pd.DatetimeIndex(dob).month.astype(str),
        "Date_of_Death": np.where(show_death, dates_text(death), ""),
        "Gender": person["sex"].map({"F": "Female", "M": "Male"}).fillna("Unknown").to_numpy(),
        "Ethnicity": person["ethnicity"].map(CENSUS_ETHNICITY).fillna("Not known").to_numpy(),
        "Client_Type": row["client_type"].to_numpy(),
        "Client_Funding_Status": np.where(row["person_id"].to_numpy() % 7 == 0, "Joint funded", "Fully LA funded"),
        "Primary_Support_Reason": row["primary_support_reason"].to_numpy(),
        "Accommodation_Status": accommodation,
        "Employment_Status": employment,
        "Has_Unpaid_Carer": np.where(row["person_id"].isin(cared_for).to_numpy(), "Yes", "No"),
        "Event_Type": kind,
        "Event_Reference": event_references(rng, reports, quirks),
        "Event_Start_Date": dates_text(row["start"]),
        "Event_End_Date": dates_text(reports["shown_end"]),
        "Event_Outcome": reports["shown_outcome"].to_numpy(),
        "Request_Route_of_Access": _blank_unless(row["route_of_access"], kind == "Request"),
        "Assessment_Type": _blank_unless(row["assessment_type"], kind == "Assessment"),
        "Method_of_Assessment": np.where(kind == "Assessment", "Face to face", ""),
        "Service_Type": _blank_unless(row["service_type"], service),
        "Service_Component": _blank_unless(row["service_component"], service),
        "Delivery_Mechanism": _blank_unless(row["delivery_mechanism"], service),
        "Unit_Cost": _number_text(row["unit_cost"], service, "{:.2f}"),
        "Cost_Frequency_(Unit_Type)": np.where(service, "Weekly", ""),
        "Planned_units_per_week": _number_text(row["planned_units_per_week"], service, "{:g}"),
        "Review_Reason": _blank_unless(row["review_reason"], kind == "Review"),
        "Total_Hrs_Caring_Per_Week": _number_text(row["hours_caring"], carer_row, "{:g}"),
        "Adult_1_Linked_Person_ID": linked_id,
        "Adult_2_Linked_Person_ID": second_id,
        "Adult_3_Linked_Person_ID": "",
    })
    return out


def _person_draw(rng: np.random.Generator, person_ids: pd.Index, rate: float) -> pd.Series:
    """One draw per person: True with probability ``rate`` (a trait of how the council records them)."""
    return pd.Series(rng.random(len(person_ids)) < rate, index=person_ids)


def _current_address(addresses: pd.DataFrame, person_ids: pd.Index, when: pd.Series) -> pd.DataFrame:
    """Each person's address on ``when`` (their last one starting on or before it): postcode, uprn."""
    addr = addresses[addresses["person_id"].isin(person_ids)].copy()
    addr["when"] = addr["person_id"].map(when)
    addr = addr[addr["start"] <= addr["when"]].sort_values(["person_id", "start"], kind="stable")
    return addr.drop_duplicates("person_id", keep="last").set_index("person_id")[["postcode", "uprn"]]


def asc_persons(rng: np.random.Generator, cfg, people: pd.DataFrame, addresses: pd.DataFrame, ids: pd.Series,
                quirks: CldQuirks) -> pd.DataFrame:
    """The council's person table: one row per LA person ID, identity as the council recorded it."""
    who = people[people["person_id"].isin(ids.index)].sort_values("person_id", ignore_index=True)
    ident = records.recorded_identity(rng, who, cfg.identifier_noise, scale=0.8)
    ref = pd.Timestamp(cfg.reference_date)
    last_day = who.set_index("person_id")[["death_date", "leave_date"]].min(axis=1).fillna(ref).clip(upper=ref)
    address = _current_address(addresses, pd.Index(who["person_id"]), last_day).reindex(who["person_id"])
    missing = rng.random(len(who)) < quirks.nhs_missing_person + 0.1
    return pd.DataFrame({
        "LA_Person_Unique_Identifier": ids.reindex(who["person_id"]).to_numpy(),
        "NHS_Number": np.where(missing, "", who["nhs_number"].fillna("").astype("str").to_numpy()),
        "Forename": ident["forename"].to_numpy(), "Surname": ident["surname"].to_numpy(),
        "Date_of_Birth": format_dates_uk(ident["dob"]),
        "Gender": who["sex"].map({"F": "Female", "M": "Male"}).fillna("Unknown").to_numpy(),
        "Ethnicity": who["ethnicity"].map(CENSUS_ETHNICITY).fillna("Not known").to_numpy(),
        "Postcode": address["postcode"].fillna("").to_numpy(), "UPRN": address["uprn"].fillna("").to_numpy(),
    }).sample(frac=1.0, random_state=rng.integers(1 << 31)).reset_index(drop=True)


def format_dates_uk(values) -> np.ndarray:
    """dd/mm/yyyy, as the case-management system exports dates."""
    return format_dates(values, "%d/%m/%Y")


def adult_social_care_extracts(rng: np.random.Generator, cfg, lives, *, la_code: str = "E10000099",
                               first_year: int = 2023, quirks: CldQuirks | None = None
                               ) -> Iterator[tuple[str, str, object]]:
    """Yield the adult social care extracts of the county (see the module docstring).

    Args:
        rng: the adults' random stream.
        cfg: ``SynthParams`` (reference_date, identifier_noise).
        lives: ``pipeline.synthetic.adults.AdultLives`` (people, addresses, asc_events, caring used).
        la_code: the council's LA_Code.
        first_year: first financial year of CLD submissions (2023 = 2023/24, the year of dual running).
        quirks: rates of the planted CLD quirks.
    """
    quirks = quirks or CldQuirks()
    ref = np.datetime64(cfg.reference_date, "D")
    periods = quarters(first_year, ref)
    ev = _true_events(rng, lives, ref)
    reports = event_reports(rng, ev, periods, quirks)
    linked = ev.loc[ev["linked_person_id"].fillna(-1) >= 0, "linked_person_id"].astype(np.int64)
    ids = la_person_ids(rng, np.concatenate([ev["person_id"].to_numpy(np.int64), linked.to_numpy()]))
    yield "csv", f"{SOURCE}/asc_persons.csv", (asc_persons(rng, cfg, lives.people, lives.addresses, ids, quirks),
                                              "cp1252")
    rows = cld_rows(rng, ev, reports, periods, lives.people, ids, lives.caring, quirks)
    for (year, quarter), frame in submission_frames(rng, rows, periods, la_code).items():
        yield "csv", f"{SOURCE}/cld/CLD_{year}_Q{quarter}.csv", (frame, "utf-8")
    keys = pd.DataFrame({"source": SOURCE, "record_key": ids.to_numpy(), "person_id": ids.index.to_numpy()})
    yield "truth", "adult_social_care_keys", keys
