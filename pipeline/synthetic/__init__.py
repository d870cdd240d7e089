"""The synthetic county: simulate life courses, then write each source's extract in its real format.

``build_county`` is pure (config in, tables out); ``run_synth`` writes them through pipeline.core.io.
Ground truth (true person per record key, true outcome probabilities) is written to data/truth/,
which only evaluation code and tests may read. Each ``outcome_<model>`` holds two probabilities per row:
``p_true``, the outcome's probability, and ``p_state``, the same without the synthetic help's unrecorded
confounder (what the child's state alone says: the best a model of the records can know).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import partial

import numpy as np
import pandas as pd
from rich.progress import Progress

from pipeline.core import io
from pipeline.core.config import SynthParams
from pipeline.core.paths import ProjectPaths
from pipeline.synthetic.recording_breaks import breaks_for_file, check_recording_breaks, plant_recording_break

log = logging.getLogger(__name__)


@dataclass
class County:
    """Everything the synthetic county writes: relative path -> table (CSV), XML bytes, or truth."""

    csv: dict[str, tuple[pd.DataFrame, str]] = field(default_factory=dict)  # path -> (frame, encoding)
    xml: dict[str, bytes] = field(default_factory=dict)
    truth: dict[str, pd.DataFrame] = field(default_factory=dict)
    json: dict[str, object] = field(default_factory=dict)  # truth written as JSON (help/effects.json)
    children: int = 0


def build_county(cfg: SynthParams, progress: Progress | None = None) -> County:
    """Simulate the county and format every extract, held in memory (no file IO)."""
    county = County()
    for kind, rel, obj in generate_county(cfg, progress):
        if kind == "csv_parts":  # held whole here
            kind, obj = "csv", (pd.concat(list(obj), ignore_index=True), "utf-8")
        getattr(county, kind)[rel] = obj
    county.children = int((county.truth["people"]["role"] == "child").sum())
    return county


def generate_county(cfg: SynthParams, progress: Progress | None = None) -> Iterator[tuple[str, str, object]]:
    """Simulate the county and yield ``(kind, relative path, content)`` for each extract as it is ready.

    ``kind`` is ``csv`` (content ``(frame, encoding)``), ``csv_parts`` (an iterator of frames of one UTF-8 file,
    to write one after another before asking for the next item), ``xml`` (bytes), ``truth`` (frame) or ``json``
    (truth written as JSON), so a caller can write each piece and let it go (peak memory stays low at 300,000
    children).
    """
    from pipeline.synthetic import export_education as edu
    from pipeline.synthetic import export_health as hlt
    from pipeline.synthetic import export_social_care as csc
    from pipeline.synthetic import identities, lifecourse, population, records
    from pipeline.synthetic.cin_xml import cin_census_xml
    from pipeline.synthetic.help.county import HelpCounty
    from pipeline.synthetic.help.outputs import cin_with_break, help_outputs

    task = progress.add_task("synthetic county", total=9 if cfg.adults.enabled else 8) if progress else None

    def step(what: str) -> None:
        log.debug("synth: %s", what)
        if progress is not None:
            progress.update(task, advance=1, description=f"synth: {what}")

    rng = np.random.default_rng(cfg.seed)
    ref = np.datetime64(cfg.reference_date)
    n_lsoa = cfg.neighbourhoods or max(cfg.children // 150, 20)
    lsoas = population.build_neighbourhoods(rng, n_lsoa)
    postcodes = identities.make_postcodes(rng, lsoas, 12)
    hh = population.build_households(rng, cfg, lsoas)
    kids = population.build_children(rng, cfg, hh)
    parents = population.build_parents(rng, hh, kids)
    step("people")
    moves = lifecourse.simulate_moves(rng, cfg, hh, lsoas)
    addresses = records.address_history(rng, hh, moves, postcodes)
    # help (synth.help) draws only from its own streams
    start_help = partial(HelpCounty.start, cfg, lsoas["lsoa_code"].to_numpy(), hh, moves) if cfg.help.enabled else None
    lc = lifecourse.simulate_lifecourse(rng, cfg, hh, kids, start_help)
    step("life courses")

    noise = cfg.identifier_noise
    school_ident = records.recorded_identity(rng, kids, noise, scale=0.3)
    years = lc.school_years
    school = edu.assign_schools(kids, hh, years)
    pupils = edu.build_pupil_identities(rng, cfg, years, school, school_ident)
    # one census at a time (with the year before, for mid-year school moves) keeps memory low at scale
    census_years = np.unique(years["census_year"].to_numpy())
    for year in census_years[census_years >= cfg.first_census_year]:
        window = years["census_year"].isin([year - 1, year]).to_numpy()
        tables = edu.school_census_tables(
            rng, cfg, years[window].reset_index(drop=True), kids, hh, pupils, school[window], addresses
        )[int(year)]
        for name, frame in tables.items():
            yield "csv", f"education/school_census/{year}_spring_{name}.csv", (frame, "utf-8-sig")
    yield "csv", "education/ks2.csv", (edu.ks2_results(rng, years, pupils, lc.engagement, ref), "utf-8")
    nccis_ident = records.recorded_identity(rng, kids, noise, scale=0.8)
    nccis, nccis_keys = edu.nccis_records(rng, cfg, kids, lc.neet_truth, pupils, nccis_ident, addresses, hh)
    yield "csv", "education/nccis.csv", (nccis, "utf-8")
    step("education")

    known = pd.concat(
        [
            lc.referrals.loc[lc.referrals["referral_date"] <= ref, ["person_id", "referral_date"]].rename(
                columns={"referral_date": "date"}
            ),
            lc.care.loc[lc.care["start"] <= ref, ["person_id", "start"]].rename(columns={"start": "date"}),
            lc.early_help.loc[lc.early_help["start"] <= ref, ["person_id", "start"]].rename(columns={"start": "date"}),
        ]
    )
    last_contact = known.groupby("person_id")["date"].max()
    ids = pd.DataFrame({"person_id": np.sort(last_contact.index.to_numpy())})
    ids["la_child_id"] = np.char.add("LA", np.char.zfill(rng.choice(10**7, len(ids), replace=False).astype(str), 7))
    csc_ident = records.recorded_identity(rng, kids, noise, scale=1.0)
    persons = csc.csc_persons(rng, cfg, ids, kids, csc_ident, pupils, addresses, last_contact)
    yield "csv", "social_care/csc_persons.csv", (persons, "cp1252")
    episodes = csc.care_episodes(rng, lc.care, ref)
    for year, tables in csc.ssda903_returns(rng, cfg, episodes, persons, ids, kids).items():
        for name, frame in tables.items():
            yield "csv", f"social_care/ssda903/{year}/{name}.csv", (frame, "utf-8")
    step("SSDA903")
    cin = csc.cin_census_frames(rng, cfg, lc.referrals, lc.cp_plans, persons, ids, kids)
    if lc.help is not None:
        cin = cin_with_break(cfg, lc.help, lc.referrals, cin)
    for year, frames in cin.items():
        yield "xml", f"social_care/cin_census/cin_{year}.xml", cin_census_xml(year, "885", **frames)
    yield "csv", "social_care/early_help.csv", (csc.early_help_records(rng, cfg, lc.early_help, ids), "utf-8")
    step("CIN census")
    if lc.help is not None:  # help draws only from its own streams
        yield from help_outputs(cfg, lc.help, kids, pupils)

    health_ident = records.recorded_identity(rng, kids, noise, scale=0.6)
    patients = hlt.nhs_demographics(rng, cfg, kids, health_ident, addresses)
    apc, ae = hlt.hes_tables(rng, cfg, lc.ae, lc.apc, patients)
    if not cfg.adults.enabled:  # with adults, the health files are written with theirs at the end
        yield "csv", "health/nhs_demographics.csv", (patients.drop(columns="person_id"), "utf-8")
        yield "csv", "health/hes_apc.csv", (apc, "utf-8")
        yield "csv", "health/hes_ae.csv", (ae, "utf-8")
    step("health")

    yield "csv", "reference/postcode_lsoa.csv", (postcodes, "utf-8")
    yield "csv", "reference/lsoa_imd.csv", (lsoas[["lsoa_code", "imd_decile"]].astype(str), "utf-8")
    truth = _truth(kids, parents, hh, pupils, ids, patients, nccis_keys, lc)
    # with adults, person_map also holds the adults' record keys: written once they exist
    person_map = truth.pop("person_map") if cfg.adults.enabled else None
    for name, frame in truth.items():
        yield "truth", name, frame
    step("ground truth")
    if cfg.adults.enabled:
        # the adults draw only from their own streams, after everything the children need
        from pipeline.synthetic.adults.county import adult_county

        keys = [person_map]
        for kind, rel, obj in adult_county(cfg, hh, kids, parents, lsoas, postcodes, addresses, (patients, apc, ae)):
            if kind == "truth" and rel in ADULT_RECORD_KEYS:
                keys.append(obj[["source", "record_key", "person_id"]])
            yield kind, rel, obj
        # the parents' person IDs are those adult social care gave them: written once those exist (own stream)
        first_contact = known.groupby("person_id")["date"].min()
        yield "csv", "social_care/csc_relationship.csv", (csc.csc_relationships(
            np.random.default_rng([cfg.seed, 18]), cfg, ids, first_contact, kids, parents, pd.concat(keys)), "cp1252")
        yield "truth", "person_map", pd.concat(keys, ignore_index=True)
        step("adults")


# truth tables of the adults' exporters holding ``source, record_key, person_id`` (merged into person_map)
ADULT_RECORD_KEYS = ("person_map_adult_health", "adult_social_care_keys", "ld_register_keys")


def _truth(kids, parents, hh, pupils, ids, patients, nccis_keys, lc) -> dict[str, pd.DataFrame]:
    school_keys = pd.concat(
        [
            pupils[["person_id", "upn"]].rename(columns={"upn": "record_key"}),
            pupils.loc[pupils["temp_upn"] != "", ["person_id", "temp_upn"]].rename(columns={"temp_upn": "record_key"}),
        ]
    )
    person_map = pd.concat(
        [
            school_keys.assign(source="school"),
            ids.rename(columns={"la_child_id": "record_key"}).assign(source="social_care"),
            patients[["person_id", "PSEUDO_HESID"]]
            .rename(columns={"PSEUDO_HESID": "record_key"})
            .assign(source="health"),
            nccis_keys.assign(source="nccis"),
        ],
        ignore_index=True,
    )[["source", "record_key", "person_id"]]
    people = pd.concat(
        [
            kids.assign(role="child").merge(hh[["household_id", "poverty", "imd_decile"]], on="household_id"),
            parents.merge(hh[["household_id", "ethnicity", "ethnicity_group"]], on="household_id"),
        ],
        ignore_index=True,
    )
    people["dob"] = people["dob"].astype("datetime64[s]")
    for col in ("arrive_date", "leave_date"):
        people[col] = people[col].astype("datetime64[s]")

    def outcome(frame: pd.DataFrame) -> pd.DataFrame:
        out = frame[["person_id", "index_date", "p_true", "p_state", "outcome"]].copy()
        out["index_date"] = out["index_date"].astype("datetime64[s]")
        return out.sort_values(["index_date", "person_id"], ignore_index=True)

    return {
        "person_map": person_map,
        "people": people,
        "outcome_neet18": outcome(lc.neet_truth),
        "outcome_care_entry": outcome(lc.care_entry_truth),
    }


def run_synth(cfg: SynthParams, paths: ProjectPaths) -> dict:
    """Build the county and write data/raw/ and data/truth/. Returns a summary."""
    from pipeline.core.progress import make_progress

    check_recording_breaks(cfg.recording_breaks)
    with make_progress() as progress:
        children = files = 0
        for kind, rel, obj in generate_county(cfg, progress):
            if kind == "csv":
                frame, encoding = obj
                for planted in breaks_for_file(rel, cfg.recording_breaks):
                    frame = plant_recording_break(frame, planted, np.random.default_rng([cfg.seed, 903]))
                if encoding == "utf-8-sig":
                    io.write_csv(frame, paths.raw / rel, bom=True)
                else:
                    io.write_csv(frame, paths.raw / rel, encoding=encoding)
                files += 1
            elif kind == "csv_parts":  # a large UTF-8 extract yielded in parts (the adults' health and GP files)
                parts = obj
                if planted_here := breaks_for_file(rel, cfg.recording_breaks):  # a break sees the whole file
                    frame = pd.concat(list(obj), ignore_index=True)
                    for planted in planted_here:
                        frame = plant_recording_break(frame, planted, np.random.default_rng([cfg.seed, 903]))
                    parts = [frame]
                io.write_csv_parts(parts, paths.raw / rel)
                files += 1
            elif kind == "xml":
                io.write_bytes(obj, paths.raw / rel)
                files += 1
            elif kind == "json":
                io.write_json(obj, paths.truth / rel)
            else:
                io.write_parquet(obj, paths.truth / f"{rel}.parquet")
                if rel == "people":
                    children = int((obj["role"] == "child").sum())
    return {"children": children, "files": files}
