"""Outcomes and pre-anchor covariates per child and anchor date (an offer date or a list run date).

Outcomes are the features package's own definitions (one number, one function): a care entry is a new
period of care (:func:`features.social_care.build_care_events`, SSDA903 RNE ``S``) and a referral is a
CIN referral (:func:`features.social_care.build_referral_events`). An outcome counts when it falls in
``(anchor, anchor + h months]``; it is <NA> ("immature") while that window has not ended by the extract
date. Censoring reads only the dates, never whether the outcome happened.

Covariates for the doubly robust estimator are counted strictly before the anchor date, so nothing the
offer could have changed enters the adjustment.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import date

import pandas as pd

from features.social_care import build_care_events, build_referral_events
from pipeline.sources.registry import person_keyed_tables

log = logging.getLogger(__name__)

OUTCOME_TABLES = {"care_entry": "cla_episode", "referral": "cin_episode"}
OUTCOME_WORDS = {"care_entry": "entering care", "referral": "a referral to children's social care"}
# person tables that hold date of birth, sex, ethnicity group, most trusted first
ATTRIBUTE_TABLES = ("school_pupil", "csc_person", "cin_child")
ATTRIBUTES = ("birth_year", "birth_month", "sex", "ethnicity_group")


def link_person_table(table: pd.DataFrame, name: str, person_index: pd.DataFrame) -> pd.DataFrame:
    """``table`` with the person index ``person_id`` (str) through its source's person key token.

    Rows whose key is not in the index cannot be followed up; they are counted in the log, never silently.

    Args:
        table: a pseudonymised person-keyed table (``cla_episode``, ``cin_episode``, ``school_pupil`` …).
        name: its table name (a key of the source registry's person-keyed tables).
        person_index: ``table, record_key_tok, person_id`` (data/linked/person_index.parquet).
    """
    source = person_keyed_tables()[name]
    keys = person_index.loc[person_index["table"].astype("str") == source.name, ["record_key_tok", "person_id"]]
    keys = keys.astype({"record_key_tok": "str", "person_id": "str"}).drop_duplicates("record_key_tok")
    token = source.person_key_token
    out = table.astype({token: "str"}).merge(keys, left_on=token, right_on="record_key_tok", how="inner")
    if len(out) < len(table):
        log.info("%s: %d of %d rows have no person in the index", name, len(table) - len(out), len(table))
    return out.drop(columns="record_key_tok")


def outcome_dates(linked: Mapping[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """Dates each outcome happened: ``{outcome: person_id, event_date}``.

    Args:
        linked: ``cla_episode`` (``person_id, collection_year, start_date, rne, end_date``) and
            ``cin_episode`` (``person_id, collection_year, referral_date, referral_source, closure_date``).
    """
    care = build_care_events(linked["cla_episode"])
    care = care[care["new_period"] == 1]
    referral = build_referral_events(linked["cin_episode"])
    return {"care_entry": care[["person_id", "event_date"]].reset_index(drop=True),
            "referral": referral[["person_id", "event_date"]].reset_index(drop=True)}


def _pairs(anchors: pd.DataFrame, dated: pd.DataFrame) -> pd.DataFrame:
    """Each anchor row joined with every dated row of the same person (``row_id, anchor_date, event_date``)."""
    left = anchors[["row_id", "person_id", "anchor_date"]].astype({"person_id": "str"})
    right = dated.astype({"person_id": "str"})
    right = right.assign(event_date=pd.to_datetime(right["event_date"]))
    return left.merge(right, on="person_id", how="inner")


def outcome_within(anchors: pd.DataFrame, dates: pd.DataFrame, horizon_months: int, extract_date: date) -> pd.Series:
    """Whether the outcome happened in ``(anchor_date, anchor_date + horizon]`` (Int8, <NA> if immature).

    Args:
        anchors: ``row_id, person_id, anchor_date`` (datetime).
        dates: ``person_id, event_date`` from :func:`outcome_dates`.
        horizon_months: follow-up window in months.
        extract_date: the extract's date: a window ending later is not yet complete.

    Returns:
        A Series aligned with ``anchors``.
    """
    anchor = pd.to_datetime(anchors["anchor_date"])
    window_end = anchor + pd.DateOffset(months=horizon_months)
    pairs = _pairs(anchors, dates)
    pairs["end"] = pairs["anchor_date"] + pd.DateOffset(months=horizon_months)
    hit = pairs[(pairs["event_date"] > pairs["anchor_date"]) & (pairs["event_date"] <= pairs["end"])]
    happened = anchors["row_id"].isin(hit["row_id"]).astype("Int8")
    matured = window_end <= pd.Timestamp(extract_date)
    return happened.where(matured.to_numpy(), pd.NA).astype("Int8")


def count_before(anchors: pd.DataFrame, dated: pd.DataFrame, months: int | None = None,
                 value: str | None = None) -> pd.Series:
    """Rows of ``dated`` (or the sum of ``value``) strictly before each anchor, in the last ``months`` if given."""
    pairs = _pairs(anchors, dated)
    keep = pairs["event_date"] < pairs["anchor_date"]
    if months is not None:
        keep &= pairs["event_date"] >= pairs["anchor_date"] - pd.DateOffset(months=months)
    pairs = pairs[keep]
    counted = pairs.groupby("row_id")[value].sum() if value else pairs.groupby("row_id").size()
    return anchors["row_id"].map(counted).fillna(0).astype("float64")


def person_attributes(linked: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """``person_id, birth_year, birth_month, sex, ethnicity_group, imd_decile`` (first known, most trusted
    table first; the home deprivation decile from the social care record, else the latest school address)."""
    frames = []
    for rank, name in enumerate(ATTRIBUTE_TABLES):
        if name in linked:
            part = linked[name][["person_id", *[c for c in ATTRIBUTES if c in linked[name].columns]]].copy()
            frames.append(part.assign(_rank=rank))
    stacked = pd.concat(frames, ignore_index=True).sort_values("_rank", kind="stable")
    stacked["sex"] = stacked["sex"].where(stacked["sex"].isin(["M", "F"]))
    stacked["ethnicity_group"] = stacked["ethnicity_group"].where(stacked["ethnicity_group"] != "Unknown")
    out = stacked.groupby("person_id")[list(ATTRIBUTES)].first()
    deciles = []
    if "csc_person" in linked:
        deciles.append(linked["csc_person"][["person_id", "lsoa_imd_decile"]])
    if "school_address" in linked:
        deciles.append(linked["school_address"].sort_values("census_date", ascending=False)
                       [["person_id", "lsoa_imd_decile"]])
    if deciles:
        imd = pd.concat(deciles).dropna().drop_duplicates("person_id").set_index("person_id")["lsoa_imd_decile"]
        out["imd_decile"] = imd.reindex(out.index)
    else:
        out["imd_decile"] = pd.NA
    out["sex"] = out["sex"].fillna("U")
    out["ethnicity_group"] = out["ethnicity_group"].fillna("Unknown")
    return out.reset_index()


def prior_covariates(anchors: pd.DataFrame, linked: Mapping[str, pd.DataFrame], attributes: pd.DataFrame,
                     dates: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """Pre-anchor covariates per anchor row (all strictly before ``anchor_date``).

    Args:
        anchors: ``row_id, person_id, anchor_date``.
        linked: linked tables (``cin_cp_plan``, ``early_help``, ``school_attendance`` where present).
        attributes: :func:`person_attributes`.
        dates: :func:`outcome_dates` (prior referrals and periods of care are counted from them).

    Returns:
        ``row_id`` plus ``age`` (years at the anchor), ``male``, ``imd_decile``, ``prior_referrals``,
        ``referrals_12m``, ``prior_cp_plans``, ``prior_care_periods``, ``prior_early_help``,
        ``absence_sessions_12m`` (school absence recorded in the censuses of the last 12 months).
    """
    out = anchors[["row_id"]].copy()
    people = anchors[["person_id"]].astype("str").merge(attributes.astype({"person_id": "str"}), on="person_id",
                                                         how="left")
    anchor = pd.to_datetime(anchors["anchor_date"]).reset_index(drop=True)
    born = pd.to_datetime(people["birth_year"].astype("Int64").astype("str") + "-"
                          + people["birth_month"].astype("Int64").astype("str") + "-15", errors="coerce")
    out["age"] = ((anchor - born).dt.days / 365.25).to_numpy()
    out["male"] = (people["sex"] == "M").astype("float64").to_numpy()
    out["imd_decile"] = pd.to_numeric(people["imd_decile"], errors="coerce").astype("float64").fillna(5.5).to_numpy()
    out["prior_referrals"] = count_before(anchors, dates["referral"]).to_numpy()
    out["referrals_12m"] = count_before(anchors, dates["referral"], months=12).to_numpy()
    out["prior_care_periods"] = count_before(anchors, dates["care_entry"]).to_numpy()
    if "cin_cp_plan" in linked:
        cp = linked["cin_cp_plan"].rename(columns={"cpp_start": "event_date"}).dropna(subset=["event_date"])
        out["prior_cp_plans"] = count_before(anchors, cp[["person_id", "event_date"]]).to_numpy()
    if "early_help" in linked:
        eh = linked["early_help"].rename(columns={"start_date": "event_date"}).dropna(subset=["event_date"])
        out["prior_early_help"] = count_before(anchors, eh[["person_id", "event_date"]]).to_numpy()
    if "school_attendance" in linked:
        absence = linked["school_attendance"].rename(columns={"census_date": "event_date"})
        absence = absence.assign(sessions=pd.to_numeric(absence["sessions"], errors="coerce").fillna(0))
        out["absence_sessions_12m"] = count_before(anchors, absence[["person_id", "event_date", "sessions"]],
                                                   months=12, value="sessions").to_numpy()
    return out
