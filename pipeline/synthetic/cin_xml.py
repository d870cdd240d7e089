"""The CIN census XML return, written from flat tables, and its XSD check.

One file per collection year ending 31 March ``year``. Years up to 2024 follow
``CIN_schema_2024.xsd`` (``GenderCurrent`` 1/2/0/9); 2025 onwards follow ``CIN_schema_2026.xsd``
(``Sex`` M/F/U). Elements are written in exactly the order the schemas' sequences require.

The writer writes what it is given: choosing the children and episodes open in the year, and
blanking dates after the reference date, is the caller's job. Two things are derived, as a case
system would: ``InitialCPCtarget`` (15 working days after the section 47 start) and, unless
``cp_plans`` carries a ``review_dates`` column, the statutory review schedule of each CP plan
(first review 3 months after the start, then every 6 months, up to the plan end or the reference
date). The file is assembled as text, vectorised per table (an lxml tree of 15,000 children is
several times slower); every text value is XML-escaped.
"""

from __future__ import annotations

import logging
import re
from datetime import datetime
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd
from lxml import etree

from pipeline import __version__

log = logging.getLogger(__name__)

XSD_DIR = Path(__file__).parents[1] / "sources" / "xsd"
FIRST_SEX_YEAR = 2025  # collection year from which the return carries Sex (M/F/U), not GenderCurrent
_GENDER_CURRENT = {"M": "1", "F": "2", "U": "0", "1": "1", "2": "2", "0": "0", "9": "9"}
_SEX = {"M": "M", "F": "F", "U": "U", "1": "M", "2": "F", "0": "U", "9": "U"}
_YES_NO = {True: "1", False: "0", "1": "1", "0": "0", "true": "1", "false": "0"}  # True == 1, False == 0
_IDENTIFYING = ("LAchildID", "UPN", "FormerUPN", "PersonBirthDate", "ExpectedPersonBirthDate",
                "PersonDeathDate")

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


# ---------------------------------------------------------------- text helpers
def _text(values: pd.Series) -> pd.Series:
    """Strings with NA as "" and XML special characters escaped."""
    out = values.astype(object).where(values.notna(), "").astype(str).str.strip()
    if out.str.contains(r"[&<>]", regex=True).any():
        out = out.str.replace("&", "&amp;").str.replace("<", "&lt;").str.replace(">", "&gt;")
    return out


def _dates(values: pd.Series) -> pd.Series:
    """ISO dates (xs:date) with NaT as ""."""
    days = pd.to_datetime(values).to_numpy().astype("datetime64[D]")
    text = np.datetime_as_string(days, unit="D")
    return pd.Series(np.where(np.isnat(days), "", text), index=values.index, dtype=str)


def _element(tag: str, values: pd.Series, depth: int) -> pd.Series:
    """``<tag>value</tag>`` lines, or "" where the value is empty (the element is then omitted)."""
    pad = "  " * depth
    return (pad + f"<{tag}>" + values + f"</{tag}>\n").where(values != "", "")


def _join_groups(keys: pd.Series | np.ndarray, texts: pd.Series) -> pd.Series:
    """``texts`` concatenated per key, in the order given, indexed by key.

    A plain ``"".join`` per group: pandas' ``groupby().agg("".join)`` builds a Series per group
    and is about fifty times slower here.
    """
    codes, uniques = pd.factorize(np.asarray(keys))
    order = np.argsort(codes, kind="stable")
    lines = texts.to_numpy(dtype=object)[order].tolist()
    bounds = np.r_[0, np.cumsum(np.bincount(codes, minlength=len(uniques)))].tolist()
    return pd.Series(["".join(lines[a:b]) for a, b in zip(bounds[:-1], bounds[1:], strict=True)],
                     index=uniques, dtype=object)


def _repeated(tag: str, joined: pd.Series, depth: int) -> pd.Series:
    """One ``<tag>`` line per item of a ';'-joined list (e.g. Disabilities, AssessmentFactors)."""
    items = _text(joined).str.split(";").explode().str.strip()
    items = items[items.notna() & (items != "")]
    lines = _join_groups(items.index.to_numpy(), _element(tag, items, depth))
    return lines.reindex(joined.index, fill_value="").astype(str)


def _wrap(tag: str, inner: pd.Series, depth: int) -> pd.Series:
    """``<tag>`` around non-empty ``inner`` lines; "" where ``inner`` is empty."""
    pad = "  " * depth
    return (pad + f"<{tag}>\n" + inner + pad + f"</{tag}>\n").where(inner != "", "")


def _codes(values: pd.Series, mapping: dict, table: str, column: str) -> pd.Series:
    mapped = values.map(lambda v: mapping.get(v.strip() if isinstance(v, str) else v))
    bad = mapped.isna()
    if bad.any():
        raise ValueError(f"{table}: row {int(np.flatnonzero(bad)[0])}, column '{column}': "
                         f"{int(bad.sum())} value(s) not in {sorted(set(map(str, mapping)))}")
    return mapped.astype(str)


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


def _nest(child: pd.DataFrame, key: str, parents: pd.Series, sort: str) -> pd.Series:
    """``child``'s ``frag`` text joined per parent key (ordered by ``sort``), aligned to ``parents``."""
    if child.empty:
        return pd.Series("", index=parents.index, dtype=str)
    orphans = ~child[key].isin(parents)
    if orphans.any():
        raise ValueError(f"{int(orphans.sum())} row(s) refer to a {key} that is not in the parent table")
    ordered = child.sort_values([key, sort], kind="stable")
    joined = _join_groups(ordered[key], ordered["frag"])
    return parents.map(joined).fillna("").astype(str)


# ---------------------------------------------------------------- blocks
def _assessment_blocks(assessments: pd.DataFrame) -> pd.DataFrame:
    a = assessments.copy()
    factors = _wrap("FactorsIdentifiedAtAssessment", _repeated("AssessmentFactors", a["factors"], 6), 5)
    review = a["internal_review_date"] if "internal_review_date" in a else pd.Series(pd.NaT, index=a.index)
    a["frag"] = _wrap("Assessments", _element("AssessmentActualStartDate", _dates(a["start_date"]), 5)
                      + _element("AssessmentInternalReviewDate", _dates(review), 5)
                      + _element("AssessmentAuthorisationDate", _dates(a["authorisation_date"]), 5)
                      + factors, 4)
    return a


def _cin_plan_blocks(cin_plans: pd.DataFrame) -> pd.DataFrame:
    p = cin_plans.copy()
    p["frag"] = _wrap("CINPlanDates", _element("CINPlanStartDate", _dates(p["start_date"]), 5)
                      + _element("CINPlanEndDate", _dates(p["end_date"]), 5), 4)
    return p


def _section47_blocks(section47: pd.DataFrame) -> pd.DataFrame:
    s = section47.copy()
    start = pd.to_datetime(s["start_date"]).to_numpy().astype("datetime64[D]")
    target = pd.Series(np.busday_offset(start, 15, roll="forward"), index=s.index)
    s["frag"] = _wrap("Section47", _element("S47ActualStartDate", _dates(s["start_date"]), 5)
                      + _element("InitialCPCtarget", _dates(target), 5)
                      + _element("DateOfInitialCPC", _dates(s["icpc_date"]), 5)
                      + _element("ICPCnotRequired", _codes(s["icpc_not_required"], _YES_NO, "section47",
                                                          "icpc_not_required"), 5), 4)
    return s


def _review_dates(cp_plans: pd.DataFrame, reference_date: np.datetime64) -> pd.Series:
    """';'-joined CP review dates: 3 months after the start, then every 6 months, before the end."""
    if "review_dates" in cp_plans:
        return cp_plans["review_dates"]
    if cp_plans.empty:
        return pd.Series("", index=cp_plans.index, dtype=str)
    start = pd.to_datetime(cp_plans["start_date"]).to_numpy().astype("datetime64[D]")
    end = pd.to_datetime(cp_plans["end_date"]).to_numpy().astype("datetime64[D]")
    last = np.where(np.isnat(end) | (end > reference_date), reference_date, end)
    count = np.maximum((last - start).astype(np.int64) - 91, -1) // 182 + 1
    plan = np.repeat(np.arange(len(start)), count)
    k = np.arange(len(plan)) - np.repeat(np.r_[0, np.cumsum(count)[:-1]], count)
    dates = pd.Series(np.datetime_as_string(start[plan] + 91 + 182 * k, unit="D"), index=plan)
    joined = dates.groupby(level=0).agg(";".join)
    return pd.Series(joined.reindex(np.arange(len(start)), fill_value="").to_numpy(), index=cp_plans.index)


def _cp_plan_blocks(cp_plans: pd.DataFrame, reference_date: np.datetime64) -> pd.DataFrame:
    c = cp_plans.copy()
    previous = c["number_previous"].astype("Int64").astype(str)
    reviews = _wrap("Reviews", _repeated("CPPreviewDate", _review_dates(c, reference_date), 6), 5)
    c["frag"] = _wrap("ChildProtectionPlans", _element("CPPstartDate", _dates(c["start_date"]), 5)
                      + _element("CPPendDate", _dates(c["end_date"]), 5)
                      + _element("InitialCategoryOfAbuse", _text(c["initial_category"]), 5)
                      + _element("LatestCategoryOfAbuse", _text(c["latest_category"]), 5)
                      + _element("NumberOfPreviousCPP", previous, 5) + reviews, 4)
    return c


def _episode_blocks(episodes: pd.DataFrame, assessments: pd.DataFrame, cin_plans: pd.DataFrame,
                    section47: pd.DataFrame, cp_plans: pd.DataFrame) -> pd.DataFrame:
    e = episodes.copy()
    ids = e["episode_id"]
    if ids.duplicated().any():
        raise ValueError("episodes: episode_id is not unique")
    first_icpc = section47.groupby("episode_id")["icpc_date"].min() if len(section47) else pd.Series()
    icpc = pd.Series(pd.to_datetime(ids.map(first_icpc)).to_numpy(), index=e.index)
    nfa = _codes(e["referral_nfa"], _YES_NO, "episodes", "referral_nfa")
    e["frag"] = _wrap("CINdetails", _element("CINreferralDate", _dates(e["referral_date"]), 4)
                      + _element("ReferralSource", _text(e["referral_source"]), 4)
                      + _element("PrimaryNeedCode", _text(e["primary_need"]), 4)
                      + _element("CINclosureDate", _dates(e["closure_date"]), 4)
                      + _element("ReasonForClosure", _text(e["closure_reason"]), 4)
                      + _element("DateOfInitialCPC", _dates(icpc), 4)
                      + _nest(assessments, "episode_id", ids, "start_date")
                      + _nest(cin_plans, "episode_id", ids, "start_date")
                      + _nest(section47, "episode_id", ids, "start_date")
                      + _element("ReferralNFA", nfa, 4)
                      + _nest(cp_plans, "episode_id", ids, "start_date"), 3)
    return e


def _child_blocks(children: pd.DataFrame, episodes: pd.DataFrame, year: int) -> pd.Series:
    c = children.copy()
    ids = c["la_child_id"].astype(str)
    if ids.duplicated().any():
        raise ValueError("children: la_child_id is not unique")
    if year >= FIRST_SEX_YEAR:
        sex = _element("Sex", _codes(c["sex"], _SEX, "children", "sex"), 4)
    else:
        sex = _element("GenderCurrent", _codes(c["sex"], _GENDER_CURRENT, "children", "sex"), 4)
    expected = c["expected_dob"] if "expected_dob" in c else pd.Series(pd.NaT, index=c.index)
    identifiers = (_element("LAchildID", _text(c["la_child_id"]), 4)
                   + _element("UPN", _text(c["upn"]), 4)
                   + _element("FormerUPN", _text(c["former_upn"]), 4)
                   + _element("UPNunknown", _text(c["upn_unknown"]), 4)
                   + _element("PersonBirthDate", _dates(c["dob"]), 4)
                   + _element("ExpectedPersonBirthDate", _dates(expected), 4)
                   + sex
                   + _element("PersonDeathDate", _dates(c["death_date"]), 4))
    characteristics = (_element("Ethnicity", _text(c["ethnicity"]), 4)
                       + _wrap("Disabilities", _repeated("Disability", c["disabilities"], 5), 4))
    ep = episodes.assign(la_child_id=episodes["la_child_id"].astype(str))
    details = _nest(ep, "la_child_id", ids, "referral_date")
    return _wrap("Child", _wrap("ChildIdentifiers", identifiers, 3)
                 + _wrap("ChildCharacteristics", characteristics, 3) + details, 2)[details != ""]


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


# ---------------------------------------------------------------- public
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
    episode_frags = _episode_blocks(
        episodes, _assessment_blocks(assessments), _cin_plan_blocks(cin_plans),
        _section47_blocks(section47), _cp_plan_blocks(cp_plans, reference_date),
    )
    child_frags = _child_blocks(children, episode_frags, year)
    if child_frags.empty:
        raise ValueError("no child has a CIN episode: a CIN census return needs at least one")
    left_out = len(children) - len(child_frags)
    if left_out:
        log.info("CIN %d: %d of %d children have no episode and are left out", year, left_out, len(children))
    body = "".join(child_frags.tolist())
    xml = f'<?xml version="1.0" encoding="UTF-8"?>\n{_header(year, la_code, created)}  <Children>\n{body}'
    return (xml + "  </Children>\n</Message>\n").encode("utf-8")


def xsd_path(year: int) -> Path:
    """The schema a collection year's return must validate against."""
    return XSD_DIR / ("CIN_schema_2026.xsd" if year >= FIRST_SEX_YEAR else "CIN_schema_2024.xsd")


@lru_cache(maxsize=4)
def _schema(path: Path) -> etree.XMLSchema:
    return etree.XMLSchema(etree.parse(str(path)))


def validate_cin_xml(xml: bytes, year: int) -> list[str]:
    """XSD validation errors of a CIN return as ``"line N: path: message"``; empty when valid.

    Values of identifying elements (LAchildID, UPNs, dates of birth and death) are redacted from
    the messages, so the list can be logged.
    """
    try:
        doc = etree.fromstring(xml, parser=etree.XMLParser(huge_tree=True))
    except etree.XMLSyntaxError as exc:
        return [f"line {exc.lineno}: not well-formed XML: {exc.msg}"]
    schema = _schema(xsd_path(year))
    if schema.validate(doc):
        return []
    errors = []
    for err in schema.error_log:
        message = err.message
        element = re.match(r"Element '(\w+)'", message)
        if element and element.group(1) in _IDENTIFYING:
            message = f"Element '{element.group(1)}': value not valid (value redacted)"
        errors.append(f"line {err.line}: {err.path}: {message}")
    return errors
