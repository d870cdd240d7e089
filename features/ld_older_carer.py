"""The older-carer planning register (issue #18, Sheffield's question): who is on it, what their carers'
records say, and who moved out of the family home in an unplanned way.

Adults with a learning disability living with a family carer aged 70 or over are few (DOMAIN_ADULTS.md §6c:
about 250 in a 500,000-person county) and the event, an unplanned move into residential care or another
placement after a carer crisis, happens to a handful a year. These pure functions build one row per person
and index date from plain frames, so the same code serves the synthetic counties of the simulation study
(``benchmarks/ld_older_carer.py``) and, once the features stage hands it the linked records, the pipeline.

Point in time: a row uses only what was recorded strictly before its index date (an LD code, a carer link
that had started and not ended, the carers' codes, admissions and social care); the outcome uses only what
happened on or after it.

Input frames (dates are datetime64; ids any hashable type, the same in every frame):
    people: person_id, dob, death_date (NaT = alive).
    ld_codes: person_id, date (a learning-disability code on the GP register, or the council's LD register).
    carer_links: carer_id, cared_for_id, start, end (NaT = ongoing): an unpaid family carer living with the
        person cared for (a parent caring for a son or daughter at home).
    gp_codes: person_id, date, ltc (register name or ""), efi (frailty deficit name or "").
    admissions: person_id, date (admission), emergency (bool).
    social_care: person_id, date (event start), carer (bool: an event of the person as a carer, e.g. a
        carer's assessment or respite; False: their own care and support).
    care_home: person_id, date (moved into a care home).
    moves: person_id, date, kind ("care_home" | "supported_living" | "shared_lives"): the person cared
        for moving out of the family home into a placement.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

CARER_MIN_AGE = 70  # Sheffield's definition (S46); 65 as a sensitivity analysis
CRISIS_DAYS = 30  # a move is unplanned when it starts within 30 days after a carer crisis (DOMAIN_ADULTS §6c)
YEAR_DAYS = 365.25
REGISTER_COLUMNS = ("person_id", "index_date", "age", "n_carers", "sole_carer", "carer_age_max", "carer_age_min",
                    "carer_efi_max", "carer_ltc_max", "carer_dementia", "carer_emergency_12m",
                    "carer_assessed_ever", "carer_own_care_ever", "person_care_12m")
# the model's inputs: n_carers is left out, sole_carer says the same (no household has three carers)
FEATURE_COLUMNS = tuple(c for c in REGISTER_COLUMNS[2:] if c != "n_carers")


def _years(later: pd.Series, earlier: pd.Series) -> pd.Series:
    return (pd.to_datetime(later) - pd.to_datetime(earlier)).dt.days / YEAR_DAYS


def _alive(died: pd.Series, ids: pd.Series, when: pd.Timestamp) -> np.ndarray:
    """Whether each of ``ids`` was alive on ``when`` (no date of death before it)."""
    death = died.reindex(ids)
    return (death.isna() | (death >= when)).to_numpy()


def carers_on(index_dates: list[pd.Timestamp], people: pd.DataFrame, ld_codes: pd.DataFrame,
              carer_links: pd.DataFrame, moves: pd.DataFrame, *, carer_min_age: float = CARER_MIN_AGE
              ) -> pd.DataFrame:
    """Every (person, carer, index date) of the register: the person aged 18+, alive, with an LD code and
    no move out recorded before the index date, and a carer link open on it whose carer is alive; the
    person is on the register when at least one of their carers is ``carer_min_age`` or older.

    Returns:
        person_id, carer_id, index_date, age (the person's), carer_age — every open carer of each person on
        the register (a younger second carer included: the move comes when the last carer can no longer care).
    """
    born = people.set_index("person_id")["dob"]
    died = people.set_index("person_id")["death_date"]
    parts = []
    for index_date in index_dates:
        idx = pd.Timestamp(index_date)
        links = carer_links[(carer_links["start"] < idx) & (carer_links["end"].isna() | (carer_links["end"] > idx))]
        ld = set(ld_codes.loc[ld_codes["date"] < idx, "person_id"])
        moved = set(moves.loc[moves["date"] < idx, "person_id"])
        links = links[links["cared_for_id"].isin(ld) & ~links["cared_for_id"].isin(moved)]
        links = links[_alive(died, links["carer_id"], idx) & _alive(died, links["cared_for_id"], idx)]
        part = pd.DataFrame({"person_id": links["cared_for_id"].to_numpy(), "carer_id": links["carer_id"].to_numpy(),
                             "index_date": idx})
        part["age"] = _years(pd.Series(idx, index=part.index), born.reindex(part["person_id"]).set_axis(part.index))
        part["carer_age"] = _years(pd.Series(idx, index=part.index),
                                   born.reindex(part["carer_id"]).set_axis(part.index))
        part = part[part["age"] >= 18]
        oldest = part.groupby("person_id")["carer_age"].transform("max")
        parts.append(part[oldest >= carer_min_age])
    out = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(
        columns=["person_id", "carer_id", "index_date", "age", "carer_age"])
    return out.drop_duplicates(["person_id", "carer_id", "index_date"]).reset_index(drop=True)


def _before(dyads: pd.DataFrame, events: pd.DataFrame, who: str, months: int | None = None) -> pd.DataFrame:
    """Events of ``who`` (carer_id or person_id) dated before each dyad's index date (within ``months``)."""
    joined = dyads[["person_id", "carer_id", "index_date"]].merge(
        events.rename(columns={"person_id": who}) if who != "person_id" else events, on=who)
    keep = joined["date"] < joined["index_date"]
    if months is not None:
        keep &= joined["date"] >= joined["index_date"] - pd.DateOffset(months=months)
    return joined[keep]


def register_features(dyads: pd.DataFrame, gp_codes: pd.DataFrame, admissions: pd.DataFrame,
                      social_care: pd.DataFrame) -> pd.DataFrame:
    """One row per person and index date (``REGISTER_COLUMNS``), from the carers' and the person's records
    before the index date. Carer counts are the maximum (frailty, conditions) or the sum (admissions) over
    the person's open carers; a flag is set when any carer has it."""
    key = ["person_id", "index_date"]
    rows = dyads.groupby(key).agg(age=("age", "first"), n_carers=("carer_id", "nunique"),
                                  carer_age_max=("carer_age", "max"), carer_age_min=("carer_age", "min"))
    rows["sole_carer"] = (rows["n_carers"] == 1).astype("int8")
    codes = _before(dyads, gp_codes, "carer_id")
    per_carer = codes.groupby([*key, "carer_id"]).agg(
        efi=("efi", lambda s: s[s != ""].nunique()), ltc=("ltc", lambda s: s[s != ""].nunique()),
        dementia=("ltc", lambda s: int((s == "dementia").any())))
    per_person = per_carer.groupby(key).max()
    rows["carer_efi_max"] = per_person["efi"].reindex(rows.index).fillna(0)
    rows["carer_ltc_max"] = per_person["ltc"].reindex(rows.index).fillna(0)
    rows["carer_dementia"] = per_person["dementia"].reindex(rows.index).fillna(0).astype("int8")
    emergency = _before(dyads, admissions[admissions["emergency"]], "carer_id", months=12)
    rows["carer_emergency_12m"] = emergency.groupby(key).size().reindex(rows.index).fillna(0)
    care = _before(dyads, social_care, "carer_id")
    as_carer = care[care["carer"]].groupby(key).size()
    own = care[~care["carer"]].groupby(key).size()
    rows["carer_assessed_ever"] = (as_carer.reindex(rows.index).fillna(0) > 0).astype("int8")
    rows["carer_own_care_ever"] = (own.reindex(rows.index).fillna(0) > 0).astype("int8")
    mine = _before(dyads.drop_duplicates(key), social_care[~social_care["carer"]], "person_id", months=12)
    rows["person_care_12m"] = mine.groupby(key).size().reindex(rows.index).fillna(0)
    return rows.reset_index()[list(REGISTER_COLUMNS)]


def carer_crises(people: pd.DataFrame, admissions: pd.DataFrame, care_home: pd.DataFrame) -> pd.DataFrame:
    """A carer's crisis events: death, an emergency admission, a move into a care home.

    Returns:
        person_id, date, kind ("death" | "emergency_admission" | "care_home").
    """
    deaths = people.dropna(subset=["death_date"])
    return pd.concat([
        pd.DataFrame({"person_id": deaths["person_id"], "date": deaths["death_date"], "kind": "death"}),
        pd.DataFrame({"person_id": admissions.loc[admissions["emergency"], "person_id"],
                      "date": admissions.loc[admissions["emergency"], "date"], "kind": "emergency_admission"}),
        pd.DataFrame({"person_id": care_home["person_id"], "date": care_home["date"], "kind": "care_home"}),
    ], ignore_index=True)


def attach_outcome(rows: pd.DataFrame, dyads: pd.DataFrame, moves: pd.DataFrame, crises: pd.DataFrame,
                   people: pd.DataFrame, extract_date: pd.Timestamp, *, horizon_months: int = 12,
                   crisis_days: int = CRISIS_DAYS) -> pd.DataFrame:
    """The outcome of each register row: a move out of the family home in ``[index date, + horizon)``.

    Args:
        rows: person_id, index_date (register rows). dyads: person_id, carer_id, index_date (their carers).
        crises: person_id (a carer), date, kind (:func:`carer_crises`).

    Returns:
        ``rows`` plus ``outcome`` (Int8: an unplanned move, one starting within ``crisis_days`` after a crisis
        of one of the row's carers; <NA> if the window had not ended by ``extract_date``), ``outcome_any_move``
        (Int8: any move, the less specific label), ``outcome_death`` (Int8: the person died in the window, a
        competing event) and ``matured``.
    """
    out = rows.copy()
    end = out["index_date"] + pd.DateOffset(months=horizon_months)
    out["matured"] = end <= pd.Timestamp(extract_date) + pd.Timedelta(days=1)
    window = out[["person_id", "index_date"]].assign(window_end=end)
    moved = window.merge(moves[["person_id", "date"]], on="person_id")
    moved = moved[(moved["date"] >= moved["index_date"]) & (moved["date"] < moved["window_end"])]
    linked = moved.merge(dyads[["person_id", "carer_id", "index_date"]], on=["person_id", "index_date"])
    linked = linked.merge(crises.rename(columns={"person_id": "carer_id", "date": "crisis_date"}), on="carer_id")
    gap = (linked["date"] - linked["crisis_date"]).dt.days
    unplanned = linked[(gap >= 0) & (gap <= crisis_days)]
    key = pd.MultiIndex.from_frame(out[["person_id", "index_date"]])
    any_key = pd.MultiIndex.from_frame(moved[["person_id", "index_date"]])
    crisis_key = pd.MultiIndex.from_frame(unplanned[["person_id", "index_date"]])
    died = people.set_index("person_id")["death_date"].reindex(out["person_id"]).to_numpy()
    death = (died >= out["index_date"].to_numpy()) & (died < end.to_numpy())
    for column, hit in (("outcome", key.isin(crisis_key)), ("outcome_any_move", key.isin(any_key)),
                        ("outcome_death", death)):
        out[column] = pd.Series(np.asarray(hit).astype("int8"), index=out.index).astype("Int8").where(out["matured"])
    return out
