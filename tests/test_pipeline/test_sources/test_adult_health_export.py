"""Adults' health extracts from true lives to files and back: every file parses, ingests with exact
reconciliation, bad rows are quarantined naming file, row and column, spells rebuild from episodes, and
nothing identifying survives pseudonymisation."""

from __future__ import annotations

import json
from datetime import date

import numpy as np
import pandas as pd
import pytest

from pipeline.core.config import IngestParams, IngestSource, SynthParams
from pipeline.core.paths import project_paths
from pipeline.ingest.stage import run_ingest
from pipeline.privacy.scan_pii import scan_paths
from pipeline.pseudonymise.stage import run_pseudonymise
from pipeline.sources.hes_spells import continuous_spells
from pipeline.sources.registry import all_sources
from pipeline.synthetic import export_adult_health_hospital as hospital
from pipeline.synthetic import identities
from pipeline.synthetic.export_adult_health import adult_health_extracts

KEY = bytes(range(32))
NEW_TABLES = {"ecds_attendance": "health/ecds.csv", "hes_outpatient": "health/hes_op.csv",
              "gp_patient": "gp/gp_patients.csv", "gp_event": "gp/gp_events.csv",
              "gp_medication": "gp/gp_medications.csv", "death_registration": "deaths/deaths.csv"}
HEALTH_TABLES = ["nhs_patient", "hes_admission", "ae_attendance", *NEW_TABLES]
D = pd.Timestamp
NaT = pd.NaT


def adult_lives():
    """A small household of true lives: two parents, two older people who die, an adult with a learning
    disability who moves practice and is still in hospital, and a child (AdultLives fields, contract names)."""
    try:
        from pipeline.synthetic.adults import AdultLives
    except ImportError:  # pragma: no cover - the dataclass arrives with the adults package
        from types import SimpleNamespace as AdultLives
    rng = np.random.default_rng(7)
    ids = [101, 102, 103, 104, 105, 1]
    people = pd.DataFrame({
        "person_id": ids, "household_id": [1, 1, 2, 3, 4, 1],
        "role": ["mother", "father", "older", "older", "adult", "child"],
        "dob": [D("1985-04-02"), D("1983-11-30"), D("1940-01-15"), D("1938-07-07"), D("1990-02-28"), D("2015-06-01")],
        "sex": ["F", "M", "F", "M", "M", "F"],
        "ethnicity": ["WBRI", "WBRI", "AIND", "BAFR", "WBRI", "WBRI"],
        "ethnicity_group": ["White", "White", "Asian", "Black", "White", "White"],
        "forename": ["Amelia", "Oliver", "Priya", "Kwame", "Thomas", "Isla"],
        "surname": ["Hartley", "Hartley", "Sharma", "Mensah", "Booth", "Hartley"],
        "nhs_number": identities.nhs_numbers(rng, 6),
        "arrive_date": [D("2000-01-01")] * 6, "leave_date": [NaT] * 6,
        "death_date": [NaT, NaT, D("2025-06-10"), D("2025-11-02"), NaT, NaT],
        "death_cause_icd10": ["", "", "I21.9", "F03", "", ""],
        "death_place": ["", "", "hospital", "care_home", "", ""],
        "learning_disability": [False, False, False, False, True, False],
        "gp_practice": ["M85001", "M85001", "M85002", "M85002", "M85003", "M85001"],
        "lsoa_code": ["E01999001"] * 6, "imd_decile": [3] * 6, "self_funder": [False, False, False, True, False, False],
    })
    addresses = pd.DataFrame({
        "person_id": [101, 102, 103, 104, 104, 105, 1],
        "uprn": ["100000000001", "100000000001", "100000000002", "100000000003", "100000000009", "100000000004",
                 "100000000001"],
        "postcode": ["RP1 1AA", "RP1 1AA", "RP2 2BB", "RP3 3CC", "RP9 9ZZ", "RP4 4DD", "RP1 1AA"],
        "lsoa_code": ["E01999001"] * 7,
        "start": [D("2000-01-01")] * 4 + [D("2025-08-01"), D("2000-01-01"), D("2015-06-01")],
        "end": [NaT, NaT, NaT, D("2025-08-01"), NaT, NaT, NaT],
    })
    registrations = pd.DataFrame({
        "person_id": [101, 102, 103, 104, 105, 105, 1],
        "gp_practice": ["M85001", "M85001", "M85002", "M85002", "M85004", "M85003", "M85001"],
        "start": [D("2005-01-01"), D("2005-01-01"), D("2001-01-01"), D("2001-01-01"), D("2008-01-01"),
                  D("2022-05-01"), D("2015-06-20")],
        "end": [NaT, NaT, D("2025-06-10"), D("2025-11-02"), D("2022-05-01"), NaT, NaT],
    })
    gp_events = pd.DataFrame({
        "person_id": [101, 101, 103, 103, 104, 104, 105, 105, 1],
        "date": [D("2019-03-01"), D("2023-03-01"), D("2018-05-05"), D("2024-01-10"), D("2022-09-09"),
                 D("2025-08-15"), D("2010-02-02"), D("2024-02-02"), D("2020-01-01")],
        "snomed": ["407542009", "38341003", "22298006", "38341003", "52448006", "386806002", "110483000",
                   "110483000", "21522001"],
        "value": [np.nan, 142.0, np.nan, 150.5, np.nan, np.nan, np.nan, np.nan, np.nan],
        "unit": ["", "mmHg", "", "mmHg", "", "", "", "", ""],
        "concept": ["carer", "hypertension", "chd", "hypertension", "dementia", "care_home_resident", "ld", "ld",
                    "other"],
    })
    medications = pd.DataFrame({
        "person_id": [103, 103, 104, 105],
        "date": [D("2024-02-01"), D("2024-03-01"), D("2025-01-01"), D("2025-02-01")],
        "bnf_code": ["0205051R0AAAAAA", "0205051R0AAAAAA", "0411000D0AAAEAE", "4.8.1"],
        "quantity": [28, 28, 56, 30], "repeat": [True, True, True, False],
    })
    admissions = pd.DataFrame({
        "person_id": [103, 104, 104, 101, 105],
        "spell_id": [1, 2, 3, 4, 5],
        "admission_date": [D("2025-05-30"), D("2024-02-01"), D("2025-10-20"), D("2023-04-01"), D("2026-03-20")],
        "discharge_date": [D("2025-06-10"), D("2024-02-01"), D("2025-10-30"), D("2023-04-03"), NaT],
        "admission_method": ["21", "11", "22", "31", "2A"],
        "admission_source": ["19", "19", "85", "19", "19"],
        "discharge_method": ["4", "1", "1", "1", "8"],
        "discharge_destination": ["79", "19", "85", "19", "98"],
        "diagnoses": [("I21.9", "I10"), ("K40.9",), ("S72.0", "F03", "W19"), ("O80.0",), ("J18.9", "F79")],
        "n_episodes": [3, 1, 4, 1, 2],
        "via_ed_attendance_id": [5001, -1, -1, -1, 5003],
    })
    attendances = pd.DataFrame({
        "person_id": [103, 101, 105, 102],
        "attendance_id": [5001, 5002, 5003, 5004],
        "arrival_date": [D("2025-05-30"), D("2024-07-01"), D("2026-03-20"), D("2025-12-24")],
        "department_type": ["01", "01", "01", "03"], "attendance_category": ["1", "1", "1", "4"],
        "arrival_mode": ["ambulance", "own", "police", "own"],
        "acuity": ["very_urgent", "standard", "urgent", "low"],
        "chief_complaint": ["29857009", "22253000", "55680006", "22253000"],
        "injury_intent": ["", "assault", "self_harm", ""],
        "diagnosis_snomed": ["22298006", "125605004", "55680006", "22253000"],
        "substance_involved": [False, False, True, False],
        "discharge": ["admitted", "home", "admitted", "home"],
        "departure_date": [D("2025-05-30"), D("2024-07-01"), D("2026-03-20"), D("2025-12-24")],
    })
    outpatients = pd.DataFrame({
        "person_id": [104, 104, 102], "appointment_date": [D("2023-05-01"), D("2023-08-01"), D("2025-01-15")],
        "attended": [True, False, True], "first_attendance": [True, False, True], "specialty": ["430", "430", "300"],
    })
    empty = pd.DataFrame()
    return AdultLives(people=people, addresses=addresses, gp_registrations=registrations, gp_events=gp_events,
                      medications=medications, admissions=admissions, attendances=attendances,
                      outpatients=outpatients, care_home_entries=empty, asc_events=empty, caring=empty,
                      adversity=empty)


def write_extracts(root, lives, seed: int = 11) -> dict[str, pd.DataFrame]:
    """Write every extract under ``root/data/raw`` as riskpipe synth would; returns frames by path."""
    written = {}
    for kind, rel, content in adult_health_extracts(np.random.default_rng(seed), SynthParams(), lives):
        if kind == "csv":
            frame, encoding = content
            path = root / "data" / "raw" / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            frame.to_csv(path, index=False, encoding=encoding)
        written[rel] = content[0] if kind == "csv" else content
    return written


def ingest_params() -> IngestParams:
    others = {name: IngestSource(tables=[]) for name in all_sources() if name not in ("health", "gp", "deaths")}
    return IngestParams(extract_date=date(2026, 3, 31), sources={
        **others, "health": IngestSource(optional_tables=["ae_attendance"])})


@pytest.fixture(scope="module")
def county(tmp_path_factory):
    root = tmp_path_factory.mktemp("adult_health")
    lives = adult_lives()
    written = write_extracts(root, lives)
    summary = run_ingest(ingest_params(), project_paths(root))
    return root, lives, written, summary


def test_every_extract_is_written_in_its_format(county):
    _, lives, written, _ = county
    assert set(NEW_TABLES.values()) | {"health/nhs_demographics.csv", "health/hes_apc.csv"} <= set(written)
    apc = written["health/hes_apc.csv"]
    assert {"EPIORDER", "EPISTART", "EPIEND", "ADMISORC", "DISMETH", "DISDEST", "CLASSPAT"} <= set(apc.columns)
    # several episodes per spell: every true spell admitted by the reference date has its n_episodes rows
    assert len(apc) == lives.admissions["n_episodes"].sum()
    assert not apc["DIAG_4_01"].str[0].isin(list("VWXY")).any()  # an external cause is never the primary
    gp = written["gp/gp_patients.csv"]
    assert len(gp) == len(lives.gp_registrations)  # one patient record per registration
    deaths = written["deaths/deaths.csv"]
    assert set(deaths["PLACE_OF_DEATH"]) <= {"hospital", "care_home"} and deaths["FORENAME"].str.isupper().all()
    truth = written["person_map_adult_health"]
    assert set(truth["source"]) == {"health", "gp", "deaths"}
    assert truth["record_key"].is_unique
    assert set(truth.loc[truth["source"] == "gp", "record_key"]) == set(gp["Patient_ID"])


def test_every_new_table_ingests_with_exact_reconciliation(county):
    _, _, written, summary = county
    assert summary["reconciled"]
    for table in HEALTH_TABLES[:2] + list(NEW_TABLES):
        rep = summary["tables"][table]
        assert rep["status"] == "ok", (table, rep)
        assert rep["rows_read"] == rep["rows_accepted"] + rep["rows_quarantined"]
    for table, rel in NEW_TABLES.items():
        assert summary["tables"][table]["rows_read"] == len(written[rel])


def test_spells_rebuild_from_the_ingested_episodes(county):
    root, lives, _, _ = county
    staged = pd.read_parquet(root / "data" / "staged" / "hes_admission.parquet")
    spells = continuous_spells(staged).sort_values("admission_date", ignore_index=True)
    truth = lives.admissions.sort_values("admission_date", ignore_index=True)
    assert spells["admission_date"].tolist() == truth["admission_date"].tolist()
    assert spells["episodes"].tolist() == truth["n_episodes"].tolist()
    assert spells["countable"].tolist() == truth["discharge_date"].notna().tolist()  # the open spell is not counted
    assert spells["died"].tolist() == (truth["discharge_method"] == "4").tolist()


def test_transfers_between_hospitals_rebuild_into_one_spell(tmp_path, monkeypatch):
    monkeypatch.setattr(hospital, "TRANSFER_RATE", 1.0)
    lives = adult_lives()
    apc = write_extracts(tmp_path, lives)["health/hes_apc.csv"]
    assert (apc["ADMIMETH"] == "2B").any() and (apc["ADMISORC"] == "51").any()
    run_ingest(ingest_params(), project_paths(tmp_path))
    spells = continuous_spells(pd.read_parquet(tmp_path / "data" / "staged" / "hes_admission.parquet"))
    assert len(spells) == len(lives.admissions)
    long_stays = spells[spells["episodes"] >= 2]
    assert (long_stays["provider_spells"] == 2).all()
    assert (spells.loc[spells["episodes"] == 1, "provider_spells"] == 1).all()


def test_bad_rows_are_quarantined_and_bad_codes_flagged_naming_file_row_and_column(tmp_path):
    write_extracts(tmp_path, adult_lives())
    raw = tmp_path / "data" / "raw"
    events = pd.read_csv(raw / "gp" / "gp_events.csv", dtype=str, keep_default_na=False)
    events.loc[0, "SNOMED_Code"] = "407542008"  # one digit mistyped: the Verhoeff check fails
    events.loc[1, "Event_Date"] = ""  # no date: the row cannot be used
    events.to_csv(raw / "gp" / "gp_events.csv", index=False)
    apc = pd.read_csv(raw / "health" / "hes_apc.csv", dtype=str, keep_default_na=False)
    apc.loc[0, "ADMIMETH"] = "77"  # not an admission method
    apc.loc[1, "EPIEND"] = "1999-01-01"  # an episode ending before it starts
    apc.to_csv(raw / "health" / "hes_apc.csv", index=False)
    summary = run_ingest(ingest_params(), project_paths(tmp_path))
    assert summary["reconciled"]

    quarantined = pd.read_csv(tmp_path / "data" / "quarantine" / "gp_event.csv", dtype=str)
    assert quarantined[["_source_file", "_source_row", "reasons"]].values.tolist() == [
        ["gp_events.csv", "3", "missing_event_date"]]  # line 3: the header is line 1
    accepted = pd.read_parquet(tmp_path / "data" / "staged" / "gp_event.parquet")
    first = accepted[accepted["_source_row"] == 2].iloc[0]
    assert pd.isna(first["snomed"]) and "snomed:invalid_snomed_check_digit" in first["_flags"]
    counts = summary["tables"]["gp_event"]["field_flags"]["snomed"]["invalid_snomed_check_digit"]
    assert counts["count"] >= 1 and counts["action"] == "nulled"

    q_apc = pd.read_csv(tmp_path / "data" / "quarantine" / "hes_admission.csv", dtype=str)
    assert q_apc[["_source_row", "reasons"]].values.tolist() == [["3", "episode_end_before_episode_start"]]
    staged = pd.read_parquet(tmp_path / "data" / "staged" / "hes_admission.parquet")
    assert "admission_method:unknown_code" in staged.loc[staged["_source_row"] == 2, "_flags"].iloc[0]


def test_nothing_identifying_survives_pseudonymisation(county):
    root, lives, _, _ = county
    report = run_pseudonymise(project_paths(root), KEY, workers=1)
    assert not report["failed"], report["failed"]
    pseudo = sorted((root / "data" / "pseudo").glob("*.parquet"))
    assert {p.stem for p in pseudo} >= set(NEW_TABLES)
    names = frozenset(lives.people["forename"]) | frozenset(lives.people["surname"])
    assert scan_paths(pseudo, names) == []
    text = json.dumps(report)
    for value in lives.people["nhs_number"]:
        assert value not in text


def test_childrens_health_records_are_merged_into_the_same_files(tmp_path):
    from pipeline.synthetic.export_health import with_single_episodes

    lives = adult_lives()
    child_nhs = lives.people.loc[lives.people["person_id"] == 1, "nhs_number"].iloc[0]
    patients = pd.DataFrame({"person_id": [1], "PSEUDO_HESID": ["H00000001"], "NHSNumber": [child_nhs],
                             "Forename": ["Isla"], "Surname": ["Hartley"], "DOB": ["2015-06-01"], "Sex": ["2"],
                             "Postcode": ["RP1 1AA"], "EthnicCategory": ["A"]})
    apc = pd.DataFrame({"EPIKEY": ["E0000000001"], "PSEUDO_HESID": ["H00000001"], "NEWNHSNO": [child_nhs],
                        "ADMIDATE": ["2020-02-02"], "ADMIMETH": ["21"], "DISDATE": ["2020-02-03"],
                        **{f"DIAG_4_{i:02d}": ["J069" if i == 1 else ""] for i in range(1, 21)}})
    apc = with_single_episodes(apc, elective=np.array([False]), same_day=np.array([False]))
    ae = pd.DataFrame({"AEKEY": ["AE1"], "PSEUDO_HESID": ["H00000001"], "NEWNHSNO": [child_nhs],
                       "ARRIVALDATE": ["2020-02-02"], "DIAGA_01": ["J069"]})
    out = {rel: content for _, rel, content in adult_health_extracts(
        np.random.default_rng(3), SynthParams(), lives, children=(patients, apc, ae))}
    demographics = out["health/nhs_demographics.csv"][0]
    assert len(demographics) == len(lives.people) and "person_id" not in demographics
    assert (demographics["PSEUDO_HESID"] == "H00000001").sum() == 1  # the child keeps its one record
    merged = out["health/hes_apc.csv"][0]
    assert merged["EPIKEY"].is_unique and len(merged) == 1 + lives.admissions["n_episodes"].sum()
    assert merged.iloc[0][["EPIORDER", "ADMISORC", "DISMETH", "DISDEST"]].tolist() == ["1", "19", "1", "19"]
    assert list(merged.columns[:6]) == list(apc.columns[:6]) and "health/hes_ae.csv" in out
    # the child's hospital key is already in person_map; the adults' new keys are added
    truth = out["person_map_adult_health"]
    health = truth[truth["source"] == "health"]
    assert 1 not in set(health["person_id"]) and set(health["person_id"]) == {101, 102, 103, 104, 105}


def test_a_council_without_gp_deaths_ecds_or_outpatient_extracts_still_ingests(tmp_path):
    """Params that never mention the new extracts (a council's older params.yaml): absent files are reported."""
    write_extracts(tmp_path, adult_lives())
    raw = tmp_path / "data" / "raw"
    for rel in NEW_TABLES.values():
        (raw / rel).unlink()
    others = {name: IngestSource(tables=[]) for name in all_sources() if name not in ("health", "gp", "deaths")}
    summary = run_ingest(IngestParams(extract_date=date(2026, 3, 31), sources={
        **others, "health": IngestSource(tables=["nhs_patient", "hes_admission", "ecds_attendance", "hes_outpatient"])
    }), project_paths(tmp_path))
    assert summary["tables_failed"] == []
    assert {t: summary["tables"][t]["status"] for t in NEW_TABLES} == dict.fromkeys(NEW_TABLES, "no_input")
    assert summary["tables"]["hes_admission"]["status"] == "ok"
