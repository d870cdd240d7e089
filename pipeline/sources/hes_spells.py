"""Hospital spells from HES admitted-care episodes: how admissions are counted (DOMAIN_ADULTS.md §2.4).

HES holds one row per finished consultant episode, not per admission. An admission is a *spell*: the
episodes of one stay with one provider share the admission date (``ADMIDATE``) and run in ``EPIORDER``
1, 2, … A patient moved to another hospital starts a new provider spell there; the two are one
*continuous inpatient spell* (CIPS) when the second begins within a few days of the first ending and
the move is recorded as a transfer (admission method ``2B``, admission source ``51``–``53``, or a
discharge destination ``51``–``53`` on the first). Admissions are counted as continuous spells whose
first episode is in the extract and finished — counting episodes would count long, complex stays
several times.

Pure functions on staged (or pseudonymised) ``hes_admission`` rows; features may build on them.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from pipeline.sources import codes

# a transfer is chained into the same continuous spell if the next admission starts within this many days
TRANSFER_GAP_DAYS = 3
SPELL_COLUMNS = [
    "spell_id", "admission_date", "discharge_date", "admission_method", "admission_source", "discharge_method",
    "discharge_destination", "primary_diagnosis", "episodes", "provider_spells", "emergency", "died", "countable",
]


def _column(frame: pd.DataFrame, name: str) -> pd.Series:
    """``frame[name]`` or an all-null column (a children-only file has no episode columns)."""
    return frame[name] if name in frame.columns else pd.Series(pd.NA, index=frame.index, dtype="object")


def provider_spells(episodes: pd.DataFrame, person: str = "hes_id") -> pd.DataFrame:
    """Group episodes into provider spells: one person, one admission date, episodes in ``EPIORDER``.

    A row with no episode order (a file written before episodes were recorded) is a spell of its own.

    Args:
        episodes: ``hes_admission`` rows: ``person``, ``epikey``, ``admission_date``, ``discharge_date``,
            ``admission_method``, ``diag_01`` and, where recorded, ``episode_order``, ``episode_start``,
            ``episode_end``, ``admission_source``, ``discharge_method``, ``discharge_destination``.
        person: the column identifying the patient (``hes_id``, ``hes_id_tok`` or ``person_id``).

    Returns:
        One row per provider spell: ``person``, ``spell_id`` (EPIKEY of its first episode), the
        admission fields of its first episode, the discharge fields of its last, ``primary_diagnosis``
        (the first episode's ``diag_01``), ``episodes``, ``has_first_episode`` (an ``EPIORDER`` 1 row is
        present) and ``finished`` (the last episode has an end or the spell a discharge date).
    """
    ep = episodes.assign(
        _order=pd.to_numeric(_column(episodes, "episode_order"), errors="coerce"),
        _start=pd.to_datetime(_column(episodes, "episode_start")),
        _end=pd.to_datetime(_column(episodes, "episode_end")),
        _admitted=pd.to_datetime(episodes["admission_date"]),
        _discharged=pd.to_datetime(episodes["discharge_date"]),
    ).sort_values([person, "_admitted", "_order", "_start", "epikey"], na_position="first", kind="stable")
    same_person = ep[person].eq(ep[person].shift())
    same_admission = ep["_admitted"].eq(ep["_admitted"].shift())
    ordered = ep["_order"].notna() & ep["_order"].shift().notna()
    new_spell = ~(same_person & same_admission & ordered & ep["_order"].gt(1))
    ep["_spell"] = new_spell.cumsum().to_numpy()
    grouped = ep.groupby("_spell", sort=False)
    first, last = grouped.head(1).set_index("_spell"), grouped.tail(1).set_index("_spell")
    discharged = grouped["_discharged"].max()
    finished = last["_end"].notna() | discharged.notna()
    return pd.DataFrame(
        {
            person: first[person],
            "spell_id": first["epikey"],
            "admission_date": first["_admitted"],
            "discharge_date": discharged,
            "admission_method": first["admission_method"],
            "admission_source": _column(first, "admission_source"),
            "discharge_method": _column(last, "discharge_method"),
            "discharge_destination": _column(last, "discharge_destination"),
            "primary_diagnosis": _column(first, "diag_01"),
            "episodes": grouped.size(),
            "has_first_episode": first["_order"].eq(1) | first["_order"].isna(),
            "finished": finished,
        }
    ).reset_index(drop=True)


def continuous_spells(episodes: pd.DataFrame, person: str = "hes_id", max_gap_days: int = TRANSFER_GAP_DAYS
                      ) -> pd.DataFrame:
    """Continuous inpatient spells: provider spells chained across transfers between hospitals.

    The next provider spell of the same person joins the current one when it begins no earlier than the
    day the current one ended and at most ``max_gap_days`` after, and the move is a transfer: admission
    method ``2B``, admission source ``51``–``53``, or the previous discharge destination ``51``–``53``.

    Args:
        episodes: ``hes_admission`` rows (see :func:`provider_spells`).
        person: the column identifying the patient.
        max_gap_days: the longest gap between discharge and the next admission that is still one stay.

    Returns:
        One row per continuous spell: ``person`` and ``SPELL_COLUMNS`` — ``spell_id`` (EPIKEY of its first
        episode), admission fields of its first provider spell, discharge fields of its last, ``episodes``
        and ``provider_spells`` (counts), ``emergency`` (the first admission method is an emergency one),
        ``died`` (any discharge method ``4`` or destination ``79``), and ``countable`` (its first episode
        is in the extract with ``EPIORDER`` 1 and it finished: the spells admissions are counted on).
    """
    spells = provider_spells(episodes, person).sort_values([person, "admission_date", "spell_id"], kind="stable")
    previous = spells.shift()
    gap = (spells["admission_date"] - previous["discharge_date"]).dt.days
    transfer = (
        spells["admission_method"].eq(codes.HES_TRANSFER_ADMISSION)
        | spells["admission_source"].isin(list(codes.HES_FROM_OTHER_HOSPITAL))
        | previous["discharge_destination"].isin(list(codes.HES_FROM_OTHER_HOSPITAL))
    )
    chained = spells[person].eq(previous[person]) & gap.between(0, max_gap_days) & transfer
    spells["_cips"] = (~chained.fillna(False).astype(bool)).cumsum().to_numpy()
    died_here = spells["discharge_method"].eq(codes.HES_DISCHARGE_DIED) | spells["discharge_destination"].eq("79")
    spells["_died"] = died_here.fillna(False).astype(bool)
    grouped = spells.groupby("_cips", sort=False)
    first, last = grouped.head(1).set_index("_cips"), grouped.tail(1).set_index("_cips")
    out = pd.DataFrame(
        {
            person: first[person],
            "spell_id": first["spell_id"],
            "admission_date": first["admission_date"],
            "discharge_date": last["discharge_date"],
            "admission_method": first["admission_method"],
            "admission_source": first["admission_source"],
            "discharge_method": last["discharge_method"],
            "discharge_destination": last["discharge_destination"],
            "primary_diagnosis": first["primary_diagnosis"],
            "episodes": grouped["episodes"].sum(),
            "provider_spells": grouped.size(),
            "emergency": first["admission_method"].isin(list(codes.HES_EMERGENCY_ADMISSION)).to_numpy(),
            "died": grouped["_died"].any(),
            "countable": (first["has_first_episode"] & last["finished"]).to_numpy(dtype=bool),
        }
    )
    out["provider_spells"] = out["provider_spells"].astype(np.int64)
    return out.reset_index(drop=True)[[person, *SPELL_COLUMNS]]
