"""Area panels for area-level designs: children and referrals per ward × quarter, and per ward × month.

A child's ward at a date comes from their address: the latest school census address on or before the
date (valid for 13 months: the census is taken each January), else the undated current address of the
NHS patient record or the social care person record; postcode → LSOA → ward through the reference
tables ``postcode_lsoa`` and ``lsoa_ward``. Children 0-17 at the period's start with a known ward are
the denominator; a referral counts in the ward the child lived in at the period's start (the address
"at the time"), so numerator and denominator are the same children.
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

SCHOOL_ADDRESS_MONTHS = 13
UNDATED_ADDRESS_TABLES = ("nhs_patient", "csc_person")


def ward_by_postcode_token(directory: pd.DataFrame, lsoa_ward: pd.DataFrame) -> pd.Series:
    """Ward code by postcode token.

    Args:
        directory: ``postcode_tok, lsoa_code`` (the postcode directory, its postcodes tokenised with the key).
        lsoa_ward: ``lsoa_code, ward_code``.
    """
    wards = directory.merge(lsoa_ward[["lsoa_code", "ward_code"]], on="lsoa_code", how="inner")
    return wards.drop_duplicates("postcode_tok").set_index("postcode_tok")["ward_code"].astype("str")


def addresses(linked: Mapping[str, pd.DataFrame], wards: pd.Series) -> tuple[pd.DataFrame, pd.Series]:
    """Dated school addresses (``person_id, census_date, ward_code``) and the undated ward per person.

    Args:
        linked: ``school_address`` (``person_id, census_date, postcode_tok``) and the undated person
            tables (``person_id, postcode_tok``) with their person ids.
        wards: :func:`ward_by_postcode_token`.
    """
    dated = pd.DataFrame(columns=["person_id", "census_date", "ward_code"])
    if "school_address" in linked:
        school = linked["school_address"]
        dated = school.assign(ward_code=school["postcode_tok"].astype("str").map(wards))
        dated = dated.dropna(subset=["ward_code", "census_date"])[["person_id", "census_date", "ward_code"]]
        dated = dated.assign(census_date=pd.to_datetime(dated["census_date"]))
    undated = []
    for name in UNDATED_ADDRESS_TABLES:
        if name in linked:
            part = linked[name][["person_id", "postcode_tok"]]
            undated.append(part.assign(ward_code=part["postcode_tok"].astype("str").map(wards)).dropna())
    current = (pd.concat(undated).drop_duplicates("person_id").set_index("person_id")["ward_code"]
               if undated else pd.Series(dtype="str"))
    return dated.astype({"person_id": "str"}), current


def wards_at(when: pd.Timestamp, people: pd.DataFrame, dated: pd.DataFrame, current: pd.Series) -> pd.DataFrame:
    """The ward of each child aged 0-17 at ``when`` (``person_id, ward_code``); children with no known ward
    are left out.

    Args:
        people: ``person_id, birth_year, birth_month``.
    """
    born = pd.to_datetime(people["birth_year"].astype("Int64").astype("str") + "-"
                          + people["birth_month"].astype("Int64").astype("str") + "-01", errors="coerce")
    child = (born <= when) & (born > when - pd.DateOffset(years=18))
    ids = people.loc[child, "person_id"].astype("str")
    recent = dated[(dated["census_date"] <= when)
                   & (dated["census_date"] > when - pd.DateOffset(months=SCHOOL_ADDRESS_MONTHS))]
    latest = recent.sort_values("census_date").drop_duplicates("person_id", keep="last").set_index("person_id")
    ward = ids.map(latest["ward_code"]).fillna(ids.map(current))
    return pd.DataFrame({"person_id": ids.to_numpy(), "ward_code": ward.to_numpy()}).dropna()


def area_panel(people: pd.DataFrame, dated: pd.DataFrame, current: pd.Series, referrals: pd.DataFrame,
               start: pd.Timestamp, end: pd.Timestamp, freq: str = "QS") -> pd.DataFrame:
    """Children and referrals per ward and period (quarters ``QS`` or months ``MS``) from ``start`` to ``end``.

    Args:
        people: ``person_id, birth_year, birth_month``.
        dated, current: :func:`addresses`.
        referrals: ``person_id, event_date``.
        start, end: first and last period starts.

    Returns:
        ``ward_code, period (its first day), children, events (referrals), rate_per_1000`` (a ward with no
        children in a period is absent for it).
    """
    refs = referrals.assign(person_id=referrals["person_id"].astype("str"),
                            period=pd.to_datetime(referrals["event_date"]).dt.to_period(freq[0]).dt.start_time)
    rows = []
    for period in pd.date_range(start, end, freq=freq):
        resident = wards_at(period, people, dated, current)
        happened = refs[refs["period"] == period].merge(resident, on="person_id", how="inner")
        counts = resident.groupby("ward_code").size().rename("children").to_frame()
        counts["events"] = happened.groupby("ward_code").size().reindex(counts.index).fillna(0).astype("int64")
        rows.append(counts.reset_index().assign(period=period))
    panel = pd.concat(rows, ignore_index=True) if rows else pd.DataFrame(
        columns=["ward_code", "children", "events", "period"])
    panel["rate_per_1000"] = 1000 * panel["events"] / panel["children"]
    return panel[["ward_code", "period", "children", "events", "rate_per_1000"]]


def county_series(panel: pd.DataFrame) -> pd.DataFrame:
    """The county total per period: ``period, children, events, rate_per_1000``."""
    total = panel.groupby("period")[["children", "events"]].sum().reset_index()
    total["rate_per_1000"] = 1000 * total["events"] / total["children"]
    return total


def go_live_by_ward(rollout: pd.DataFrame, programme: str) -> pd.DataFrame:
    """``ward_code, go_live_date, go_live_quarter`` of one programme (earliest date per ward)."""
    rows = rollout[rollout["programme"].astype("str") == programme]
    out = rows.assign(go_live_date=pd.to_datetime(rows["go_live_date"])).groupby("ward_code", as_index=False)[
        "go_live_date"].min()
    out["go_live_quarter"] = out["go_live_date"].dt.to_period("Q").dt.start_time
    return out.astype({"ward_code": "str"})


def last_complete(extract: pd.Timestamp, freq: str) -> pd.Timestamp:
    """Start of the last period (``Q`` or ``M``) the extract covers whole: an extract taken on 31 March closes
    the first quarter and March; one taken on 30 March closes neither."""
    period = pd.Timestamp(extract).to_period(freq)
    whole = pd.Timestamp(extract).normalize() >= period.end_time.normalize()
    return (period if whole else period - 1).start_time
