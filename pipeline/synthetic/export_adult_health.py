"""The adults' health extracts: NHS demographics, HES APC episodes, ECDS, outpatients, GP and ONS deaths.

``adult_health_extracts`` turns the TRUE lives of the whole population (``pipeline.synthetic.adults``'s
``AdultLives``) into the files NHS partners hand over, with how each system records people: its own
copy of names and date of birth (``records.recorded_identity``), NHS numbers sometimes missing or
mistyped, postcodes as of the record, and each source's quirks (episodes within spells, ECDS diagnosis
lists, GP codes re-recorded over time, death registrations that lag). Children's health records keep
coming from ``export_health`` and are merged in, so each health file is written once.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pandas as pd

from pipeline.core.config import SynthParams
from pipeline.synthetic import export_adult_health_gp as gp
from pipeline.synthetic import export_adult_health_hospital as hospital
from pipeline.synthetic.codes import NHS_ETHNIC_CATEGORY
from pipeline.synthetic.export_adult_health_recording import (
    ISO,
    RECORDING,
    as_recorded_nhs,
    postcode_on,
    recorded_people,
    row_parts,
)
from pipeline.synthetic.formatting import format_dates


def nhs_demographics_adults(rng: np.random.Generator, cfg: SynthParams, people: pd.DataFrame,
                            addresses: pd.DataFrame, hes_ids: pd.Series) -> pd.DataFrame:
    """PDS-like patient records (``nhs_demographics.csv`` columns) for ``people`` given their PSEUDO_HESIDs."""
    ref = np.datetime64(cfg.reference_date)
    who = recorded_people(rng, cfg, people, RECORDING["nhs"][0]).reindex(people["person_id"])
    when = np.minimum(people["leave_date"].to_numpy().astype("datetime64[D]"), ref)
    when = np.where(np.isnat(when), ref, when)
    eth = people["ethnicity"].map(NHS_ETHNIC_CATEGORY).fillna("Z").to_numpy(dtype=str)
    return pd.DataFrame({
        "PSEUDO_HESID": hes_ids.reindex(people["person_id"]).to_numpy(dtype=str),
        "NHSNumber": people["nhs_number"].to_numpy(dtype=str),
        "Forename": who["forename"].to_numpy(dtype=str),
        "Surname": who["surname"].to_numpy(dtype=str),
        "DOB": format_dates(who["dob"].to_numpy(), ISO),
        "Sex": np.where(people["sex"].to_numpy() == "M", "1", "2"),
        "Postcode": postcode_on(addresses, people["person_id"].to_numpy(), when),
        "EthnicCategory": np.where(rng.random(len(people)) < 0.08, "Z", eth),
    })


def death_registrations(rng: np.random.Generator, cfg: SynthParams, people: pd.DataFrame,
                        addresses: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """ONS-style death registrations (``deaths.csv``) of those who died by the reference date.

    A death is registered a few days later (most within five days, some after an inquest); one not yet
    registered by the reference date is not in the extract. Returns the file frame and its truth map
    (``person_id``, ``record_key``).
    """
    ref = np.datetime64(cfg.reference_date, "D")
    dod = people["death_date"].to_numpy().astype("datetime64[D]")
    lag = np.where(rng.random(len(people)) < 0.06, rng.integers(30, 200, len(people)), rng.geometric(0.3, len(people)))
    registered = dod + lag.astype("timedelta64[D]")
    dead = people[~np.isnat(dod) & (dod <= ref) & (registered <= ref)].reset_index(drop=True)
    registered = registered[~np.isnat(dod) & (dod <= ref) & (registered <= ref)]
    scale, missing, mistyped = RECORDING["deaths"]
    who = recorded_people(rng, cfg, dead, scale).reindex(dead["person_id"])
    keys = np.char.add("D", np.char.zfill(rng.choice(10**9, len(dead), replace=False).astype(str), 9))
    place = dead["death_place"].fillna("elsewhere").to_numpy(dtype=str)
    place = np.where(np.isin(place, ["home", "hospital", "care_home", "hospice"]), place, "elsewhere")
    dod_dead = dead["death_date"].to_numpy().astype("datetime64[D]")
    postcode = postcode_on(addresses, dead["person_id"].to_numpy(), dod_dead)
    site = np.char.add("RX", np.char.zfill(rng.integers(1, 30, len(dead)).astype(str), 3))
    home = np.char.add("CH", np.char.zfill((dead["person_id"].to_numpy() % 997).astype(str), 5))
    establishment = np.select([place == "hospital", place == "care_home", place == "hospice"],
                              [site, home, np.char.add("HS", np.char.zfill(rng.integers(1, 5, len(dead)).astype(str),
                                                                            3))], "")
    frame = pd.DataFrame({
        "REGISTRATION_ID": keys,
        "NHS_NUMBER": as_recorded_nhs(rng, dead["nhs_number"].to_numpy(dtype=str), missing, mistyped),
        "FORENAME": np.char.upper(who["forename"].to_numpy(dtype=str)),  # registrars write names in capitals
        "SURNAME": np.char.upper(who["surname"].to_numpy(dtype=str)),
        "DOB": format_dates(who["dob"].to_numpy(), ISO),
        "SEX": np.where(dead["sex"].to_numpy() == "M", "1", "2"),
        "POSTCODE": postcode,
        "DOD": format_dates(dod_dead, ISO),
        "REG_DATE": format_dates(registered, ISO),
        "CAUSE_OF_DEATH": dead["death_cause_icd10"].fillna("R99").astype(str).str.replace(".", "", regex=False)
        .to_numpy(dtype=str),
        "PLACE_OF_DEATH": place,
        "COMMUNAL_ESTABLISHMENT": establishment,
    })
    truth = pd.DataFrame({"person_id": dead["person_id"].to_numpy(), "record_key": keys})
    return frame, truth


def hes_id_map(rng: np.random.Generator, people: pd.DataFrame, children: pd.DataFrame | None) -> pd.Series:
    """PSEUDO_HESID by person_id: children keep theirs; everyone else gets a new one no child has."""
    known = (children.set_index("person_id")["PSEUDO_HESID"] if children is not None and len(children)
             else pd.Series(dtype=str))
    new = people.loc[~people["person_id"].isin(known.index), "person_id"].to_numpy()
    taken = set(known.to_numpy(dtype=str))
    draw = np.char.add("H", np.char.zfill(rng.choice(10**8, len(new) + len(taken), replace=False).astype(str), 8))
    fresh = [h for h in draw if h not in taken][: len(new)]
    return pd.concat([known.astype(str), pd.Series(fresh, index=new, dtype=str)])


def adult_health_extracts(
    rng: np.random.Generator,
    cfg: SynthParams,
    lives,
    *,
    children: tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame] | None = None,
    part_rows: int | None = None,
) -> Iterator[tuple[str, str, object]]:
    """Yield ``(kind, relative path, content)`` for every health, GP and deaths extract of the county.

    Args:
        rng: the county's generator.
        cfg: the ``synth`` params (reference date, identifier noise).
        lives: an ``AdultLives`` (pipeline.synthetic.adults).
        children: ``(patients, apc, ae)`` from ``export_health`` (patients with ``person_id``), merged into the
            same files; None writes the adults' records only.
        part_rows: None yields every file whole (``("csv", path, (frame, "utf-8"))``). A number yields the
            five largest (hes_apc, ecds, hes_op, gp_events, gp_medications) as ``("csv_parts", path, parts)``:
            ``parts`` an iterator of frames of about that many true rows each, formatted one at a time as
            the caller writes them (a county of 1,000,000 never holds a whole outpatient file). Consume each
            iterator before asking for the next file: the parts draw from ``rng``.

    Yields:
        health/nhs_demographics, hes_apc, hes_ae (when children are given), ecds, hes_op, gp/gp_patients,
        gp_events, gp_medications and deaths/deaths; then ``("truth", "person_map_adult_health", frame)``:
        ``source, record_key, person_id`` of the adults' health, GP and deaths record keys (children's
        health keys are already in ``person_map``).
    """
    ref = np.datetime64(cfg.reference_date)
    patients, apc, ae = children if children is not None else (None, None, None)
    people = lives.people
    arrived = people["arrive_date"].isna().to_numpy() | (people["arrive_date"].to_numpy() <= ref)
    hes_ids = hes_id_map(rng, people, patients)
    known = patients["person_id"] if patients is not None else pd.Series(dtype=np.int64)
    adults = people[arrived & ~people["person_id"].isin(known)].reset_index(drop=True)
    adult_patients = nhs_demographics_adults(rng, cfg, adults, lives.addresses, hes_ids)
    frames = [p.drop(columns="person_id") for p in [patients] if p is not None]
    yield "csv", "health/nhs_demographics.csv", (pd.concat([*frames, adult_patients], ignore_index=True), "utf-8")
    del adult_patients, frames  # a generator's locals live until it ends: let each extract go once written

    def extract(rel: str, parts: Iterator[pd.DataFrame]):
        if part_rows:
            return "csv_parts", rel, parts
        return "csv", rel, (pd.concat(list(parts), ignore_index=True), "utf-8")

    nhs = people.set_index("person_id")["nhs_number"].astype(str)
    # every spell of the lives is written: a child of the county appears there only from 18 (its childhood
    # admissions are export_health's), under the hospital id it already has
    yield extract("health/hes_apc.csv", _apc_parts(rng, cfg, lives.admissions, apc, hes_ids, nhs, part_rows))
    if ae is not None:
        yield "csv", "health/hes_ae.csv", (ae, "utf-8")
    dob = people.set_index("person_id")["dob"]
    yield extract("health/ecds.csv", _numbered_parts(
        lives.attendances, part_rows,
        lambda rows, first: hospital.ecds_attendances(rng, cfg, rows, hes_ids, nhs, dob, first_key=first)))
    yield extract("health/hes_op.csv", _numbered_parts(
        lives.outpatients, part_rows,
        lambda rows, first: hospital.outpatient_appointments(rng, cfg, rows, hes_ids, nhs, first_key=first)))

    gp_patients, gp_keys = gp.gp_patients(rng, cfg, people, lives.gp_registrations, lives.addresses)
    yield "csv", "gp/gp_patients.csv", (gp_patients, "utf-8")
    del gp_patients
    yield extract("gp/gp_events.csv", (gp.gp_events(rng, cfg, lives.gp_events.iloc[rows], gp_keys)
                                       for rows in row_parts(len(lives.gp_events), part_rows)))
    yield extract("gp/gp_medications.csv", (gp.gp_medications(rng, cfg, lives.medications.iloc[rows], gp_keys)
                                            for rows in row_parts(len(lives.medications), part_rows)))

    deaths, death_keys = death_registrations(rng, cfg, people, lives.addresses)
    yield "csv", "deaths/deaths.csv", (deaths, "utf-8")
    del deaths
    truth = pd.concat([
        pd.DataFrame({"source": "health", "record_key": hes_ids.reindex(adults["person_id"]).to_numpy(dtype=str),
                      "person_id": adults["person_id"].to_numpy()}),
        gp_keys[["person_id", "record_key"]].assign(source="gp"),
        death_keys.assign(source="deaths"),
    ], ignore_index=True)[["source", "record_key", "person_id"]]
    yield "truth", "person_map_adult_health", truth


def _numbered_parts(frame: pd.DataFrame, part_rows: int | None, make) -> Iterator[pd.DataFrame]:
    """``make(rows, first_key)`` over ``frame`` in parts, each numbering its record keys on from the last."""
    first = 1
    for rows in row_parts(len(frame), part_rows):
        out = make(frame.iloc[rows], first)
        first += len(out)
        yield out


def _apc_parts(rng: np.random.Generator, cfg: SynthParams, spells: pd.DataFrame, apc: pd.DataFrame | None,
               hes_ids: pd.Series, nhs: pd.Series, part_rows: int | None) -> Iterator[pd.DataFrame]:
    """HES APC in parts: the children's episodes (``apc``, may be None) first, then the adults' spells' episodes,
    all with the columns of both (a column one side lacks is blank)."""
    columns = list(dict.fromkeys([*(apc.columns if apc is not None else []), *hospital.APC_COLUMNS]))
    first = len(apc) + 1 if apc is not None else 1
    if apc is not None and part_rows:
        yield apc.reindex(columns=columns).fillna("")
    for rows in row_parts(len(spells), part_rows):
        episodes = hospital.apc_episodes(rng, cfg, spells.iloc[rows], hes_ids, nhs, first_epikey=first)
        first += len(episodes)
        if apc is not None and not part_rows:
            episodes = pd.concat([apc, episodes], ignore_index=True)
        yield episodes.reindex(columns=columns).fillna("")
