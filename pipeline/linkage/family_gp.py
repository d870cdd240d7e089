"""Household and carer links from the GP extract: its household key (RALF) and its carer codes.

Two relations, each between two ``person_id`` of the person index (``pipeline.linkage.family`` holds the
file's columns):

- ``same_household``: two people whose current GP registrations (open, not ended by death) carry the same
  RALF token (``ralf_tok`` of ``gp_patient``: the Residential Anonymised Linking Field, NHS England's
  pseudonymised UPRN of the registered address); unordered, ``person_id_a`` < ``person_id_b``, source ``gp``.
  A RALF is comparable with RALFs only, so these links never join a council's UPRN (``same_address``).
- ``carer_of`` with source ``gp_carer_code``: a patient with a carer code (``GP_CARER_CODES``) shares a RALF
  (on any of the two people's records) with someone the GP records as needing care (learning disability,
  dementia, or moderate frailty: ``pipeline.sources.gp``). A code naming whom the carer cares for (a person
  with LD, with dementia, an older person) picks that kind of person when the household holds one. The
  person cared for must still have been registered when the carer was first coded. A probable link, not a
  recorded one: ``person_id_a`` is the carer, ``first_seen``/``last_seen`` the first and last carer code.

As for ``same_address``, an address with more than ``MAX_PEOPLE_AT_ADDRESS`` people in the records read
is a communal establishment (care home, hostel) and gives no links. Only tokens and person ids are read and
written; quality against synthetic truth is :mod:`pipeline.linkage.family_quality`.
"""

from __future__ import annotations

import pandas as pd

from pipeline.linkage.family import MAX_PEOPLE_AT_ADDRESS, _typed, empty_family_links
from pipeline.sources.codes import GP_CARER_CODES
from pipeline.sources.gp import (
    CARER_OF_DEMENTIA_CODES,
    CARER_OF_LD_CODES,
    CARER_OF_OLDER_CODES,
    DEMENTIA_CODES,
    EFI_DEFICIT_CODES,
    LEARNING_DISABILITY_CODES,
    MODERATE_FRAILTY_DEFICITS,
)

GP_SOURCE, GP_CARER_SOURCE = "gp", "gp_carer_code"
HOUSEHOLD_TOKEN = "ralf_tok"
PATIENT_TOKEN = "patient_id_tok"
PATIENT_COLUMNS = (PATIENT_TOKEN, HOUSEHOLD_TOKEN, "registration_start", "registration_end", "death_date")
EVENT_COLUMNS = (PATIENT_TOKEN, "event_date", "snomed")
NEEDS = ("learning_disability", "dementia", "frailty")
CARE_CODES = GP_CARER_CODES | LEARNING_DISABILITY_CODES | DEMENTIA_CODES | EFI_DEFICIT_CODES


def _person_of(index: pd.DataFrame) -> pd.Series:
    rows = index[index["table"] == GP_SOURCE].drop_duplicates("record_key_tok")
    return rows.set_index("record_key_tok")["person_id"].astype("string")


def gp_records(patients: pd.DataFrame, index: pd.DataFrame) -> pd.DataFrame:
    """GP patient records with their person and household: ``person_id``, ``ralf``, ``registration_start``,
    ``registration_end``, ``current`` (open and not ended by death). Records without a RALF or not in the
    index are left out."""
    out = pd.DataFrame({"person_id": patients[PATIENT_TOKEN].map(_person_of(index)),
                        "ralf": patients[HOUSEHOLD_TOKEN].astype("string"),
                        "registration_start": pd.to_datetime(patients["registration_start"]),
                        "registration_end": pd.to_datetime(patients["registration_end"]),
                        "current": (patients["registration_end"].isna() & patients["death_date"].isna()).to_numpy()})
    return out.dropna(subset=["person_id", "ralf"]).reset_index(drop=True)


def households(records: pd.DataFrame) -> pd.DataFrame:
    """``records`` at addresses holding 2 to ``MAX_PEOPLE_AT_ADDRESS`` distinct people (by ``ralf``)."""
    sizes = records.groupby("ralf")["person_id"].transform("nunique")
    return records[(sizes > 1) & (sizes <= MAX_PEOPLE_AT_ADDRESS)]


def household_links(records: pd.DataFrame) -> pd.DataFrame:
    """``same_household`` links (``FAMILY_COLUMNS``, no dates) among current registrations of :func:`gp_records`.

    A person with two open registrations is placed by the latest begun.
    """
    current = records[records["current"]].sort_values(["person_id", "registration_start"], kind="stable")
    current = households(current.drop_duplicates("person_id", keep="last"))
    pairs = current.merge(current, on="ralf", suffixes=("_a", "_b"))
    pairs = pairs[pairs["person_id_a"] < pairs["person_id_b"]].drop_duplicates(["person_id_a", "person_id_b"])
    if pairs.empty:
        return empty_family_links()
    return _typed(pairs.assign(relation="same_household", source=GP_SOURCE, first_seen=pd.NaT, last_seen=pd.NaT))


def care_needs(events: pd.DataFrame, index: pd.DataFrame) -> pd.DataFrame:
    """Who the GP records as needing care: one row per ``person_id`` with 0/1 ``learning_disability``,
    ``dementia``, ``frailty`` (at least ``MODERATE_FRAILTY_DEFICITS`` distinct eFI deficit codes), any one set.

    Args:
        events: pseudonymised ``gp_event`` (``patient_id_tok``, ``snomed``).
    """
    ev = pd.DataFrame({"person_id": events[PATIENT_TOKEN].map(_person_of(index)),
                       "snomed": events["snomed"].astype("string")}).dropna()
    flags = pd.DataFrame({"learning_disability": ev["snomed"].isin(LEARNING_DISABILITY_CODES),
                          "dementia": ev["snomed"].isin(DEMENTIA_CODES)}).groupby(ev["person_id"]).any()
    deficits = ev[ev["snomed"].isin(EFI_DEFICIT_CODES)].groupby("person_id")["snomed"].nunique()
    flags["frailty"] = deficits.reindex(flags.index).fillna(0) >= MODERATE_FRAILTY_DEFICITS
    flags = flags[flags.any(axis=1)].astype("int8")
    return flags.rename_axis("person_id").reset_index()


def coded_carers(events: pd.DataFrame, index: pd.DataFrame) -> pd.DataFrame:
    """Patients with a carer code: ``person_id``, ``wants`` (the need their code names: one of ``NEEDS``, or
    ``older`` or ``any``), ``first_coded``, ``last_coded``."""
    rows = events[events["snomed"].astype("string").isin(GP_CARER_CODES)]
    code = rows["snomed"].astype("string")
    wants = pd.Series("any", index=rows.index, dtype="string")
    for codes, need in ((CARER_OF_LD_CODES, "learning_disability"), (CARER_OF_DEMENTIA_CODES, "dementia"),
                        (CARER_OF_OLDER_CODES, "older")):
        wants = wants.mask(code.isin(codes), need)
    out = pd.DataFrame({"person_id": rows[PATIENT_TOKEN].map(_person_of(index)), "wants": wants,
                        "when": pd.to_datetime(rows["event_date"])}).dropna()
    return out.groupby(["person_id", "wants"], as_index=False).agg(first_coded=("when", "min"),
                                                                   last_coded=("when", "max"))


def _fits(candidates: pd.DataFrame) -> pd.Series:
    """Whether each candidate has the need the carer's code names (``any`` fits every need)."""
    fits = candidates["wants"] == "any"
    for need in ("learning_disability", "dementia"):
        fits |= (candidates["wants"] == need) & (candidates[need] == 1)
    # an older dependant: frail or with dementia (a GP record gives no age once pseudonymised here)
    fits |= (candidates["wants"] == "older") & ((candidates["frailty"] == 1) | (candidates["dementia"] == 1))
    return fits


def gp_carer_links(records: pd.DataFrame, carers: pd.DataFrame, needs: pd.DataFrame) -> pd.DataFrame:
    """``carer_of`` links (``FAMILY_COLUMNS``, source ``gp_carer_code``): each coded carer to the people needing
    care who share a RALF with them; where the code names a kind of need the household holds, to those only.

    Args:
        records: :func:`gp_records` (every registration, current or not: the RALF is the address on the
            record's last day, so a person cared for until death still shares the carer's).
        carers: :func:`coded_carers`.
        needs: :func:`care_needs`.
    """
    homes = households(records)[["person_id", "ralf", "registration_end"]]
    coded = carers.merge(homes[["person_id", "ralf"]].drop_duplicates(), on="person_id")
    cand = coded.merge(homes.rename(columns={"person_id": "cared_for"}), on="ralf")
    cand = cand[cand["cared_for"] != cand["person_id"]]
    # registered when the carer was first coded (a record that ended before then is an earlier occupant)
    cand = cand[cand["registration_end"].isna() | (cand["registration_end"] >= cand["first_coded"])]
    cand = cand.merge(needs.rename(columns={"person_id": "cared_for"}), on="cared_for")
    if cand.empty:
        return empty_family_links()
    fits = _fits(cand)
    # a code naming a need the household does not hold falls back to everyone there needing care
    some_fit = fits.groupby([cand["person_id"], cand["wants"]]).transform("any")
    cand = cand[fits | ~some_fit]
    out = cand.groupby(["person_id", "cared_for"], as_index=False).agg(
        first_seen=("first_coded", "min"), last_seen=("last_coded", "max"))
    out = out.rename(columns={"person_id": "person_id_a", "cared_for": "person_id_b"})
    return _typed(out.assign(relation="carer_of", source=GP_CARER_SOURCE))


def gp_family_links(patients: pd.DataFrame, events: pd.DataFrame | None, index: pd.DataFrame) -> pd.DataFrame:
    """``same_household`` and (when ``events`` is given) GP ``carer_of`` links of a pseudonymised GP extract.

    Args:
        patients: ``gp_patient`` (``PATIENT_COLUMNS``).
        events: ``gp_event`` (``EVENT_COLUMNS``), or None when the extract has no coded events.
        index: person index (``table``, ``record_key_tok``, ``person_id``).
    """
    records = gp_records(patients, index)
    parts = [household_links(records)]
    if events is not None:
        events = events[events["snomed"].astype("string").isin(CARE_CODES)]  # most events say nothing of caring
        parts.append(gp_carer_links(records, coded_carers(events, index), care_needs(events, index)))
    return pd.concat([empty_family_links(), *parts], ignore_index=True)
