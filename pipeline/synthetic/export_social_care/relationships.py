"""The case-management relationships table: a child known to children's social care and a recorded parent.

Case-management systems (Mosaic, Liquidlogic) record a child's relatives as relationships between
person records, dated when they were entered. Here each child known to social care has a row for
each parent of their household that the social worker recorded: mothers nearly always, fathers much
less often (the "invisible fathers" of serious case reviews). The relative's person ID is the one the
council's adult social care system holds when the parent is known there (one system, one number
space), except for a share of duplicate person records made without searching first; a parent the
adults' side never saw gets a person ID no other extract carries. The parent's NHS number is often
left blank, more often for minority ethnic families (``identifier_noise.minority_extra_error``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from pipeline.core.config import SynthParams
from pipeline.synthetic.export_social_care.case_records import DMY
from pipeline.synthetic.formatting import format_dates
from pipeline.synthetic.records import group_error_factor

RECORDED = {"mother": 0.95, "father": 0.70}  # share of a known child's parents with a relationship row
CODES = {"mother": (["Mother", "Parent"], [0.92, 0.08]),
         "father": (["Father", "Parent", "Step-parent"], [0.85, 0.10, 0.05])}
DUPLICATE_PERSON = 0.08  # a relationship made to a new person record instead of the parent's existing one
NHS_RECORDED = 0.55  # a parent's NHS number is entered on the relationship (before the minority extra error)
RECORDED_WITHIN_DAYS = 60  # relationships are entered in the weeks after the child's first contact


def csc_relationships(rng: np.random.Generator, cfg: SynthParams, ids: pd.DataFrame, first_contact: pd.Series,
                      kids: pd.DataFrame, parents: pd.DataFrame, asc_keys: pd.DataFrame) -> pd.DataFrame:
    """One row per recorded child-parent relationship, in the extract's columns.

    Args:
        ids: ``person_id, la_child_id`` of every child known to social care.
        first_contact: the date of each known child's first contact, by ``person_id``.
        kids: ``person_id, household_id, ethnicity_group``.
        parents: ``person_id, household_id, role`` (mother/father), ``nhs_number``.
        asc_keys: ``source, record_key, person_id``: the adult social care person IDs (empty without adults).

    Returns:
        LAchildID, RelatedPersonID, RelatedNHSNumber (blank when not recorded), RelationshipType,
        StartDate (dd/mm/yyyy).
    """
    child = ids.merge(kids[["person_id", "household_id", "ethnicity_group"]], on="person_id")
    rows = child.merge(parents[["person_id", "household_id", "role", "nhs_number"]].rename(
        columns={"person_id": "parent_id"}), on="household_id")
    rows = rows[rng.random(len(rows)) < rows["role"].map(RECORDED).to_numpy()].reset_index(drop=True)
    asc = asc_keys[asc_keys["source"] == "adult_social_care"].drop_duplicates("person_id")
    asc_id = asc.set_index("person_id")["record_key"].astype(str)
    # one CSC-only person record per parent unknown to the adults' side, numbered like the adults' IDs
    unknown = np.setdiff1d(parents["person_id"].to_numpy(), asc_id.index.to_numpy())
    fresh = _new_ids(rng, len(unknown) + len(rows), set(asc_id))
    person_id = pd.concat([asc_id, pd.Series(fresh[: len(unknown)], index=unknown)])
    related = rows["parent_id"].map(person_id).to_numpy(dtype=object)
    duplicate = rng.random(len(rows)) < DUPLICATE_PERSON
    related[duplicate] = fresh[len(unknown): len(unknown) + int(duplicate.sum())]
    noise = cfg.identifier_noise
    extra = group_error_factor(rows["ethnicity_group"].to_numpy(), noise) if noise.extra_error_by_ethnicity else 1.0
    nhs_kept = rng.random(len(rows)) < NHS_RECORDED / extra
    codes = np.empty(len(rows), dtype=object)
    for role, (labels, weights) in CODES.items():
        mine = (rows["role"] == role).to_numpy()
        codes[mine] = rng.choice(labels, int(mine.sum()), p=weights)
    start = (first_contact.reindex(rows["person_id"]).to_numpy("datetime64[D]")
             + rng.integers(0, RECORDED_WITHIN_DAYS, len(rows)).astype("timedelta64[D]"))
    start = np.minimum(start, np.datetime64(cfg.reference_date, "D"))  # nothing is entered after the extract
    out = pd.DataFrame({
        "LAchildID": rows["la_child_id"].to_numpy(), "RelatedPersonID": related,
        "RelatedNHSNumber": np.where(nhs_kept, rows["nhs_number"].astype(str).to_numpy(), ""),
        "RelationshipType": codes, "StartDate": format_dates(start, DMY)})
    return out.sort_values(["LAchildID", "RelationshipType"], ignore_index=True)


def _new_ids(rng: np.random.Generator, n: int, taken: set[str]) -> np.ndarray:
    """``n`` distinct 7-digit person IDs not in ``taken``."""
    draw = (rng.choice(9 * 10**6, n + len(taken) // 10 + 100, replace=False) + 10**6).astype(str)
    return draw[~np.isin(draw, list(taken))][:n].astype(object)
