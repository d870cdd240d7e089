"""The interventions source end to end on a tiny county: ingest, pseudonymise, scan-pii, events mapped to people.

Raw files are hand-written (docs/contracts.md "Interventions (early help records)"); the county beside them
has one school, social care and health person table so that tokens can be compared across sources.
The person index is written by hand (as ``riskpipe link`` would write it) to keep this file fast.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from pipeline.cli import app
from pipeline.core.io import read_parquet, write_parquet
from pipeline.core.paths import project_paths
from pipeline.impact.events_io import load_events
from pipeline.privacy.keys import KEY_ENV_VAR

KEY = bytes(range(32))
UPN_A, UPN_B, UPN_C = "B801200005001", "Q801200005002", "E801200005003"


def nhs_number(i: int) -> str:
    """A valid NHS number (mod-11 check digit) built from ``i``."""
    n = 943476000 + i
    while True:
        digits = f"{n:09d}"
        check = 11 - sum(int(d) * w for d, w in zip(digits, range(10, 1, -1), strict=True)) % 11
        check = 0 if check == 11 else check
        if check != 10:
            return digits + str(check)
        n += 1000


NHS_A, NHS_B, NHS_UNKNOWN, NHS_IN_TEXT = nhs_number(1), nhs_number(2), nhs_number(3), nhs_number(4)
PARAMS = """ingest:
  extract_date: 2026-03-31
  sources:
    school: {raw_dir: raw/education, tables: [school_pupil]}
    nccis: {tables: []}
    social_care: {raw_dir: raw/social_care, tables: [csc_person]}
    adult_social_care: {tables: []}
    health: {raw_dir: raw/health, tables: [nhs_patient]}
    gp: {tables: []}
    deaths: {tables: []}
    interventions: {raw_dir: raw/interventions}
    reference: {raw_dir: raw/reference}
pseudonymise:
  key_file: .secrets/none.key
"""
# (file under raw/, text); rows named in comments are the ones the tests count
COUNTY = {
    "education/school_census/2024_spring_pupilonroll.csv":
        "pupilonrolltableid,NativeId,upn,forename,surname,dob,sex,ethnicity,senprovision\n"
        f"p1,S1,{UPN_A},Amy,Lee,01/02/2015,F,WBRI,N\n"
        f"p2,S1,{UPN_B},Ben,Ng,03/04/2014,M,WBRI,N\n"
        f"p3,S1,{UPN_C},Cat,Roe,05/06/2013,F,WBRI,N\n",
    "social_care/csc_persons.csv":
        "LAchildID,Forename,Surname,DOB,Sex,NHSNumber,UPN,Postcode,Ethnicity\n"
        f"C1,Amy,Lee,01/02/2015,F,{NHS_A},{UPN_A},AB1 2CD,WBRI\n"
        f"C3,Kit,Doe,07/08/2012,M,,{UPN_C},AB1 2CD,WBRI\n",  # same UPN as pupil p3, kept apart by the link
    "health/nhs_demographics.csv":
        "PSEUDO_HESID,NHSNumber,Forename,Surname,DOB,Sex,Postcode,EthnicCategory\n"
        f"H1,{NHS_A},Amy,Lee,01/02/2015,F,AB1 2CD,A\n"
        f"H2,{NHS_B},Ben,Ng,03/04/2014,M,AB1 2CD,A\n",
    "reference/postcode_lsoa.csv": "postcode,lsoa_code\nAB1 2CD,E01000001\n",
    "reference/lsoa_imd.csv": "lsoa_code,imd_decile\nE01000001,3\n",
    "reference/lsoa_ward.csv": "lsoa_code,ward_code,ward_name\nE01000001,E05000001,North\n",
    "interventions/list_runs.csv":
        "run_id,run_date,model,release,capacity,cut_score,scored_rows,rule\n"
        "R1,2025-01-05,care_entry,v1,2,0.5,3,top 2 by score\n",
    "interventions/list_scores.csv":
        "run_id,nhs_number,upn,person_token,score,rank,listed\n"
        f"R1,{NHS_A},,,0.9,1,Y\n"
        f"R1,,{UPN_B},,0.6,2,Y\n"
        "R1,,,P00000003,0.3,3,N\n"
        f",{NHS_B},,,0.2,4,N\n",  # line 5: no run -> quarantined
    "interventions/offers.csv":
        "offer_id,nhs_number,upn,person_token,programme,run_id,route,team,status,date,override,reason,dosage,"
        "recorded_by_role\n"
        f"O1,{NHS_A},,,early_help_offer,R1,list,North,offered,2025-01-10,N,,,early help practitioner\n"
        f"O1,{NHS_A},,,early_help_offer,R1,list,North,accepted,2025-01-20,N,,,early help practitioner\n"
        f"O1,{NHS_A},,,early_help_offer,R1,list,North,started,2025-02-01,N,,,early help practitioner\n"
        f"O1,{NHS_A},,,early_help_offer,R1,list,North,ended,2025-06-01,N,,12,early help practitioner\n"
        f"O2,,{UPN_B},,early_help_offer,R1,list,North,offered,2025-01-10,N,,,early help practitioner\n"
        f"O2,,{UPN_B},,early_help_offer,R1,list,North,declined,2025-01-15,N,family said no,,team manager\n"
        "O3,,,P00000003,early_help_offer,R1,list,North,offered,2025-01-11,Y,below the cut; school asked,,x\n"
        "O4,,,,early_help_offer,,professional,North,offered,2025-02-01,N,,,x\n"  # line 9: no identifier
        f"O5,{NHS_UNKNOWN},,,early_help_offer,,self,North,maybe,2025-02-01,N,,,x\n"  # line 10: bad status
        f"O6,,{UPN_C},,early_help_offer,,professional,North,offered,2027-01-01,N,,,x\n"  # line 11: future
        f"O7,,{UPN_C},,early_help_offer,,professional,North,offered,2025-03-01,Y,NHS {NHS_IN_TEXT} asked,,x\n"
        f"O8,{NHS_B},,,early_help_offer,R1,list,North,not_appropriate,2025-01-12,Y,needs met by universal services,,"
        "x\n",  # listed, not offered: an override the other way
    "interventions/app_offers.csv":
        "offer_id,person_token,model,release,list_date,route,team,status,date,reason,recorded_by_role\n"
        "6f1c0c1e-0000-4000-8000-000000000001,P00000001,care_entry,DRAFT,2025-01-05,list,North,offered,"
        "2025-01-08,spoke to Mum who asked us to call,early help practitioner\n",
    "interventions/programmes.csv":
        "programme,name,description,kind,cost_per_family_gbp,price_year,agency\n"
        "early_help_offer,Early help offer,Family support,offer,1800,2024,council\n"
        "key_worker,Family key worker,Ward key workers,area,,2024,council\n",
    "interventions/programme_rollout.csv":
        "programme,ward_code,go_live_date,capacity_per_month\nkey_worker,E05000001,2026-06-01,10\n",
    "interventions/recording_regime.csv":
        "source,table,field,ward_code,change_date,description\n"
        "social_care,cin_assessment,factors,E05000001,2024-04-01,domestic abuse factor recorded on every assessment\n",
    "interventions/unit_costs.csv":
        "outcome,description,value_gbp,price_year,value_type,cashable,agency,per,source\n"
        "care_entry,A year looked after,65000,2024,fiscal,Y,council,child-year,PSSRU Unit Costs 2024\n"
        "referral,A social care referral,1500,2024,fiscall,N,council,episode,GMCA UCD v1.4\n",  # bad type
}


def cli(root: Path, *args: str):
    return CliRunner().invoke(app, [*args, "--params", str(root / "params.yaml"), "--root", str(root)])


@pytest.fixture(scope="module")
def county(tmp_path_factory):
    root = tmp_path_factory.mktemp("county")
    (root / "params.yaml").write_text(PARAMS)
    for rel, text in COUNTY.items():
        (root / "raw" / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / "raw" / rel).write_text(text)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(KEY_ENV_VAR, KEY.hex())
        ingested = cli(root, "ingest")
        pseudonymised = cli(root, "pseudonymise")
    assert ingested.exit_code == 0, ingested.output
    assert pseudonymised.exit_code == 0, pseudonymised.output
    return root


def pseudo(root: Path, table: str) -> pd.DataFrame:
    return read_parquet(root / "data" / "pseudo" / f"{table}.parquet")


def test_ingest_reconciles_and_quarantines_naming_file_line_and_column(county):
    report = json.loads((county / "reports" / "ingest.json").read_text())
    tables = report["tables"]
    assert report["reconciled"] and report["tables_failed"] == []
    counts = {t: (tables[t]["rows_read"], tables[t]["rows_accepted"], tables[t]["rows_quarantined"])
              for t in ("list_run", "list_score", "offer", "app_offer", "programme", "programme_rollout",
                        "recording_regime", "unit_cost", "lsoa_ward")}
    assert counts == {"list_run": (1, 1, 0), "list_score": (4, 3, 1), "offer": (12, 10, 2), "app_offer": (1, 1, 0),
                      "programme": (2, 2, 0), "programme_rollout": (1, 1, 0), "recording_regime": (1, 1, 0),
                      "unit_cost": (2, 2, 0), "lsoa_ward": (1, 1, 0)}
    quarantine = pd.read_csv(county / "data" / "quarantine" / "offer.csv", dtype=str)
    assert list(zip(quarantine["_source_file"], quarantine["_source_row"], quarantine["reasons"], strict=True)) == [
        ("offers.csv", "9", "no_nhs_number_upn_or_person_token"), ("offers.csv", "11", "date_after_extract_date")]
    scores = pd.read_csv(county / "data" / "quarantine" / "list_score.csv", dtype=str)
    assert list(scores["_source_row"]) == ["5"] and list(scores["reasons"]) == ["missing_run_id"]
    flags = tables["offer"]["field_flags"]
    assert flags["status"] == {"unknown_code": {"count": 1, "action": "nulled"}}
    assert flags["reason"] == {"identifier_in_free_text": {"count": 1, "action": "nulled"}}
    assert tables["unit_cost"]["field_flags"]["value_type"] == {"unknown_code": {"count": 1, "action": "nulled"}}
    assert tables["app_offer"]["field_flags"]["reason"] == {"possible_name_in_free_text": {"count": 1,
                                                                                          "action": "nulled"}}
    text = json.dumps(report) + (county / "reports" / "ingest.md").read_text()
    for value in (NHS_A, NHS_IN_TEXT, UPN_B, "Mum who"):
        assert value not in text


def test_tokens_meet_those_of_the_other_sources(county):
    offer, scores = pseudo(county, "offer"), pseudo(county, "list_score")
    csc, health, school = pseudo(county, "csc_person"), pseudo(county, "nhs_patient"), pseudo(county, "school_pupil")
    nhs_a = offer.loc[offer["_source_row"] == 2, "nhs_number_tok"].iloc[0]
    assert nhs_a == csc.loc[0, "nhs_number_tok"] == health.loc[0, "nhs_number_tok"] == scores.loc[0, "nhs_number_tok"]
    upn_b = offer.loc[offer["_source_row"] == 6, "upn_tok"].iloc[0]
    assert upn_b == school.loc[school["_source_row"] == 3, "upn_tok"].iloc[0]
    assert {"nhs_number", "upn", "offer_id"}.isdisjoint(offer.columns)
    assert offer["person_token"].dropna().tolist() == ["P00000003"]  # kept as it is: already a pseudonym
    assert offer["reason"].dropna().tolist() == ["family said no", "below the cut; school asked",
                                                 "needs met by universal services"]
    assert not (county / "data" / "pseudo" / "lsoa_ward.parquet").exists()  # places: staged, not pseudonymised
    assert read_parquet(county / "data" / "staged" / "lsoa_ward.parquet")["ward_code"].tolist() == ["E05000001"]


def test_scan_pii_finds_nothing_in_the_pseudonymised_tables(county):
    result = CliRunner().invoke(app, ["scan-pii", str(county / "data" / "pseudo")])
    assert result.exit_code == 0, result.output


def write_person_index(root: Path) -> None:
    """The index ``riskpipe link`` would write: A's three records one person, B's two, pupil p3 and C3 apart."""
    keys = {t: pseudo(root, t) for t in ("school_pupil", "csc_person", "nhs_patient")}
    school, csc, health = (keys[t] for t in ("school_pupil", "csc_person", "nhs_patient"))
    rows = [("school", school.loc[0, "upn_tok"], "P00000001"), ("social_care", csc.loc[0, "la_child_id_tok"],
                                                                "P00000001"),
            ("health", health.loc[0, "hes_id_tok"], "P00000001"), ("school", school.loc[1, "upn_tok"], "P00000002"),
            ("health", health.loc[1, "hes_id_tok"], "P00000002"), ("school", school.loc[2, "upn_tok"], "P00000003"),
            ("social_care", csc.loc[1, "la_child_id_tok"], "P00000004")]
    index = pd.DataFrame(rows, columns=["table", "record_key_tok", "person_id"])
    write_parquet(index, root / "data" / "linked" / "person_index.parquet")


def test_events_map_to_people_with_exact_reconciliation(county):
    write_person_index(county)
    events = load_events(project_paths(county))
    scores = events.list_scores
    assert list(zip(scores["person_id"], scores["rank"], scores["listed"], strict=True)) == [
        ("P00000001", 1, True), ("P00000002", 2, True), ("P00000003", 3, False)]
    assert (scores["run_date"] == pd.Timestamp("2025-01-05")).all()
    recon = events.reconciliation
    assert recon["list_score"]["unmapped"] == {} and recon["list_score"]["mapped_by"] == {
        "nhs_number_tok": 1, "person_token": 1, "upn_tok": 1}
    # 10 council events + 1 app event; O5 names an NHS number no source holds, O7 a UPN two persons hold
    assert recon["offer"]["events"]["rows"] == 11 and recon["offer"]["events"]["mapped"] == 9
    assert recon["offer"]["events"]["unmapped"] == {"ambiguous_upn_tok": 1, "not_in_person_index": 1}
    assert len(events.offers) == 7 and recon["offer"]["offers"] == 7 and recon["offer"]["offers_without_person"] == 2
    assert events.offers["offered"].tolist().count(False) == 2  # O8 (not appropriate) and O5 (status unknown)
    by_person = events.offers.dropna(subset="person_id").set_index(["person_id", "from_app", "offered"])
    a = by_person.loc[("P00000001", False, True)]
    assert (a["accepted"], a["started"], a["ended"], a["dosage"], a["override"]) == (
        True, pd.Timestamp("2025-02-01"), pd.Timestamp("2025-06-01"), 12, False)
    assert a["offer_date"] == pd.Timestamp("2025-01-10") and a["run_id"] == "R1" and a["last_status"] == "ended"
    b = by_person.loc[("P00000002", False, True)]
    assert not b["accepted"] and b["last_status"] == "declined"
    c = by_person.loc[("P00000003", False, True)]
    assert c["override"] and c["override_reason"] == "below the cut; school asked" and pd.isna(c["accepted"])
    not_offered = by_person.loc[("P00000002", False, False)]
    assert not_offered["override"] and not_offered["last_status"] == "not_appropriate"
    assert pd.isna(not_offered["accepted"]) and not_offered["offer_date"] == pd.Timestamp("2025-01-12")
    app_offer = by_person.loc[("P00000001", True, True)]
    assert app_offer["run_id"] == "R1" and app_offer["programme"] == "early_help_offer"  # the one offer programme
    assert events.offers["programme"].eq("early_help_offer").all()
    assert events.unit_costs["value_type"].isna().sum() == 1 and len(events.rollout) == 1
    assert events.recording_regime.loc[0, "ward_code"] == "E05000001"


def test_a_county_without_interventions_still_ingests(tmp_path):
    (tmp_path / "params.yaml").write_text(PARAMS)
    for rel, text in COUNTY.items():
        if not rel.startswith("interventions/") and rel != "reference/lsoa_ward.csv":
            (tmp_path / "raw" / rel).parent.mkdir(parents=True, exist_ok=True)
            (tmp_path / "raw" / rel).write_text(text)
    result = cli(tmp_path, "ingest")
    assert result.exit_code == 0, result.output
    tables = json.loads((tmp_path / "reports" / "ingest.json").read_text())["tables"]
    absent = ["list_run", "list_score", "offer", "app_offer", "programme", "programme_rollout", "recording_regime",
              "unit_cost", "lsoa_ward"]
    assert {t: tables[t]["status"] for t in absent} == dict.fromkeys(absent, "no_input")
    assert tables["csc_person"]["status"] == "ok"


def test_a_free_text_reason_is_kept_only_when_it_cannot_name_anyone():
    from pipeline.sources.free_text import check_free_text

    reasons = pd.Series(["family declined, known to CAMHS", "Referred by GP", "spoke to Mum", f"NHS {NHS_A}",
                         "lives at AB1 2CD", "LAchildID: 123456", "x" * 201, None], dtype="str")
    assert check_free_text(reasons).tolist() == [
        None, None, "possible_name_in_free_text", "identifier_in_free_text", "identifier_in_free_text",
        "identifier_in_free_text", "free_text_too_long", None]


def test_no_interventions_tables_give_empty_frames_with_their_columns():
    from pipeline.impact.events import OFFER_COLUMNS, SCORE_COLUMNS, build_events
    from pipeline.impact.persons import person_lookup

    index = pd.DataFrame({"table": ["school"], "record_key_tok": ["a" * 32], "person_id": ["P00000001"]})
    events = build_events({}, person_lookup(index, {}))
    assert list(events.offers.columns) == OFFER_COLUMNS and events.offers.empty
    assert list(events.list_scores.columns) == SCORE_COLUMNS and events.list_scores.empty
    assert events.reconciliation["tables_present"] == [] and events.reconciliation["offer"]["offers"] == 0
