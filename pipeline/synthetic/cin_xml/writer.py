"""The CIN census return for one collection year, written from flat tables as UTF-8 XML."""

from __future__ import annotations

import logging
from datetime import datetime

import numpy as np
import pandas as pd

from pipeline import __version__
from pipeline.synthetic.cin_xml.blocks import (
    assessment_blocks,
    child_blocks,
    cin_plan_blocks,
    cp_plan_blocks,
    episode_blocks,
    section47_blocks,
)

log = logging.getLogger(__name__)

REQUIRED_COLUMNS = {
    "children": ("la_child_id", "upn", "former_upn", "upn_unknown", "dob", "sex", "ethnicity",
                 "disabilities", "death_date"),
    "episodes": ("la_child_id", "episode_id", "referral_date", "referral_source", "primary_need",
                 "closure_date", "closure_reason", "referral_nfa"),
    "assessments": ("episode_id", "start_date", "authorisation_date", "factors"),
    "section47": ("episode_id", "start_date", "icpc_date", "icpc_not_required"),
    "cp_plans": ("episode_id", "start_date", "end_date", "initial_category", "latest_category",
                 "number_previous"),
    "cin_plans": ("episode_id", "start_date", "end_date"),
}


def _require(df: pd.DataFrame, table: str, present: tuple[str, ...]) -> None:
    missing = [c for c in REQUIRED_COLUMNS[table] if c not in df.columns]
    if missing:
        raise ValueError(f"{table}: missing column(s) {missing}")
    for column in present:
        empty = df[column].isna()
        if pd.api.types.is_string_dtype(df[column]) or pd.api.types.is_object_dtype(df[column]):
            empty |= df[column].astype(str).str.strip() == ""
        if empty.any():
            raise ValueError(f"{table}: row {int(np.flatnonzero(empty)[0])}, column '{column}': "
                             f"{int(empty.sum())} required value(s) missing")


def _header(year: int, la_code: str, created: datetime | None) -> str:
    stamp = (created or datetime(year, 3, 31, 23, 59)).strftime("%Y-%m-%dT%H:%M:%S")
    return (
        "<Message>\n  <Header>\n    <CollectionDetails>\n      <Collection>CIN</Collection>\n"
        f"      <Year>{year}</Year>\n      <ReferenceDate>{year}-03-31</ReferenceDate>\n"
        "    </CollectionDetails>\n    <Source>\n      <SourceLevel>L</SourceLevel>\n"
        f"      <LEA>{la_code}</LEA>\n      <SoftwareCode>riskpipe</SoftwareCode>\n"
        f"      <Release>{__version__}</Release>\n      <SerialNo>001</SerialNo>\n"
        f"      <DateTime>{stamp}</DateTime>\n    </Source>\n  </Header>\n"
    )


def cin_census_xml(year: int, la_code: str, children: pd.DataFrame, episodes: pd.DataFrame,
                   assessments: pd.DataFrame, section47: pd.DataFrame, cp_plans: pd.DataFrame,
                   *, cin_plans: pd.DataFrame | None = None, created: datetime | None = None) -> bytes:
    """The CIN census return for the year ending 31 March ``year`` as UTF-8 XML.

    Args:
        year: collection year (reference date 31 March ``year``).
        la_code: 3-digit LA number (``LEA``).
        children: la_child_id, upn, former_upn, upn_unknown (UN1-UN7), dob, sex (M/F/U), ethnicity,
            disabilities (';'-joined codes or ""), death_date; optional expected_dob. A child with
            no episode is left out (the schema needs at least one CINdetails per child).
        episodes: la_child_id, episode_id, referral_date, referral_source, primary_need,
            closure_date, closure_reason, referral_nfa (bool).
        assessments: episode_id, start_date, authorisation_date, factors (';'-joined); optional
            internal_review_date.
        section47: episode_id, start_date, icpc_date, icpc_not_required (bool).
        cp_plans: episode_id, start_date, end_date, initial_category, latest_category,
            number_previous; optional review_dates (';'-joined ISO dates; derived if absent).
        cin_plans: optional episode_id, start_date, end_date (CINPlanDates blocks).
        created: the header's DateTime (default 31 March ``year`` 23:59, so output is reproducible).

    Raises:
        ValueError: a missing column, a missing required value, an unknown sex or yes/no code, a
            duplicated key, a row referring to an unknown parent, or no child with an episode.
    """
    if cin_plans is None:
        cin_plans = pd.DataFrame({c: pd.Series(dtype=object) for c in REQUIRED_COLUMNS["cin_plans"]})
    children, episodes, assessments, section47, cp_plans, cin_plans = (
        df.reset_index(drop=True) for df in (children, episodes, assessments, section47, cp_plans, cin_plans)
    )
    _require(children, "children", ("la_child_id", "sex", "ethnicity"))
    _require(episodes, "episodes", ("la_child_id", "episode_id", "referral_date", "referral_source",
                                    "referral_nfa"))
    _require(assessments, "assessments", ("episode_id", "start_date"))
    _require(section47, "section47", ("episode_id", "start_date", "icpc_not_required"))
    _require(cp_plans, "cp_plans", ("episode_id", "start_date", "initial_category", "latest_category",
                                    "number_previous"))
    _require(cin_plans, "cin_plans", ("episode_id", "start_date"))
    reference_date = np.datetime64(f"{year}-03-31")
    episode_frags = episode_blocks(
        episodes, assessment_blocks(assessments), cin_plan_blocks(cin_plans),
        section47_blocks(section47), cp_plan_blocks(cp_plans, reference_date),
    )
    child_frags = child_blocks(children, episode_frags, year)
    if child_frags.empty:
        raise ValueError("no child has a CIN episode: a CIN census return needs at least one")
    left_out = len(children) - len(child_frags)
    if left_out:
        log.info("CIN %d: %d of %d children have no episode and are left out", year, left_out, len(children))
    body = "".join(child_frags.tolist())
    xml = f'<?xml version="1.0" encoding="UTF-8"?>\n{_header(year, la_code, created)}  <Children>\n{body}'
    return (xml + "  </Children>\n</Message>\n").encode("utf-8")
