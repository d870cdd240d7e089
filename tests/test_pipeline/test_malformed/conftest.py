"""Small raw files for the malformed-input suite: one good layout per source, broken one way per test.

``ingest_file`` reads and ingests one file of one table (fast, no stage) and checks reconciliation;
``layout`` writes a tiny raw layout with params for the whole stage (``run_ingest``/``riskpipe ingest``).
Every value here is made up; NHS numbers are built with a valid check digit so that only the case
under test is wrong.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pipeline.cli import app
from pipeline.ingest.files import read_table_frames
from pipeline.ingest.tables import ingest_table
from pipeline.sources.registry import all_tables

TABLES = all_tables()
EXTRACT = date(2026, 3, 31)
UPN = "B801200005001"


def nhs_number(i: int) -> str:
    """A valid NHS number (mod-11 check digit) built from ``i``; never ten equal digits."""
    n = 943476000 + i
    while True:
        digits = f"{n:09d}"
        check = 11 - sum(int(d) * w for d, w in zip(digits, range(10, 1, -1), strict=True)) % 11
        check = 0 if check == 11 else check
        if check != 10 and len(set(digits + str(check))) > 1:
            return digits + str(check)
        n += 1000


# table -> (file under the source's raw folder, header, one good row; ``{i}`` varies per row)
GOOD = {
    "school_pupil": (
        "school_census/2024_spring_pupilonroll.csv",
        "pupilonrolltableid,NativeId,upn,forename,surname,dob,sex,ethnicity,senprovision",
        "p{i},S1," + UPN + ",Amy,Lee,0{d}/02/2015,F,WBRI,N",
    ),
    "school_attendance": (
        "school_census/2024_spring_termlysessiondetailsonroll.csv",
        "pupilonrolltableid,NativeId,attendancereason,sessions",
        "p{i},S1,I,{i}",
    ),
    "school_exclusion": (
        "school_census/2024_spring_termlyexclusionsonroll.csv",
        "pupilonrolltableid,NativeId,startdate,sessions,reason1,category",
        "p{i},S1,0{d}/10/2023,2,PA,FIXD",
    ),
    "school_fsm": (
        "school_census/2024_spring_fsmperiod.csv",
        "pupilonrolltableid,NativeId,fsmstartdate,fsmenddate",
        "p{i},S1,0{d}/09/2022,0{d}/09/2023",
    ),
    "school_sen_need": (
        "school_census/2024_spring_senneeds.csv",
        "pupilonrolltableid,NativeId,sentype,sentyperank",
        "p{i},S1,SLCN,1",
    ),
    "school_address": (
        "school_census/2024_spring_addresses.csv",
        "pupilonrolltableid,NativeId,postcode",
        "p{i},S1,AB1 2CD",
    ),
    "ks2": ("ks2.csv", "UPN,KS2_ACADYR,KS2_READMRK,KS2_MATMRK", UPN + ",{y}/{y1},10{d},10{d}"),
    "nccis_activity": (
        "nccis.csv",
        "CCIS_ID,UPN,Forename,Surname,DOB,Gender,Postcode,ActivityCode,ActivityStartDate,DateAscertained,AcademicAge",
        "N{i},,Amy,Lee,0{d}/09/2008,F,AB1 2CD,540,01/09/2024,01/10/2024,16",
    ),
    "csc_person": (
        "csc_persons.csv",
        "LAchildID,Forename,Surname,DOB,Sex,NHSNumber,UPN,Postcode,Ethnicity",
        "C{i},Amy,Lee,0{d}/02/2015,F,{nhs}," + UPN + ",AB1 2CD,WBRI",
    ),
    "csc_relationship": (
        "csc_relationship.csv",
        "LAchildID,RelatedPersonID,RelatedNHSNumber,RelationshipType,StartDate",
        "C{i},100000{d},{nhs},Mother,0{d}/02/2020",
    ),
    "cla_header": ("ssda903/2024/header.csv", "CHILD,SEX,DOB,ETHNIC,UPN,MOTHER,MC_DOB", "K{i},2,0{d}/02/2012,WBRI,,,"),
    "cla_episode": (
        "ssda903/2024/episodes.csv",
        "CHILD,DECOM,RNE,LS,CIN,PLACE,PLACE_PROVIDER,DEC,REC,REASON_PLACE_CHANGE,HOME_POST,PL_POST,URN",
        "K{i},0{d}/05/2023,S,C2,N1,U1,PR1,,,,AB1 2CD,AB1 2CD,",
    ),
    "cla_uasc": ("ssda903/2024/uasc.csv", "CHILD,SEX,DOB,DUC", "K{i},1,0{d}/02/2008,0{d}/02/2026"),
    "cla_missing": (
        "ssda903/2024/missing.csv",
        "CHILD,DOB,MISSING,MIS_START,MIS_END",
        "K{i},0{d}/02/2010,M,0{d}/06/2023,0{d}/07/2023",
    ),
    "nhs_patient": (
        "nhs_demographics.csv",
        "PSEUDO_HESID,NHSNumber,Forename,Surname,DOB,Sex,Postcode,EthnicCategory",
        "H{i},{nhs},Amy,Lee,0{d}/02/2015,F,AB1 2CD,A",
    ),
    "hes_admission": (
        "hes_apc.csv",
        "EPIKEY,PSEUDO_HESID,NEWNHSNO,ADMIDATE,ADMIMETH,DISDATE,DIAG_4_01",
        "E{i},H{i},{nhs},0{d}/01/2024,21,0{d}/01/2024,J45X",
    ),
    "ae_attendance": (
        "hes_ae.csv",
        "AEKEY,PSEUDO_HESID,NEWNHSNO,ARRIVALDATE,DIAGA_01",
        "A{i},H{i},{nhs},0{d}/03/2024,S01",
    ),
    "early_help": (
        "early_help.csv",
        "EHEpisodeID,LAchildID,StartDate,EndDate,ReferralSource,LeadAgency,ClosureReason",
        "E{i},C{i},2024-05-0{d},,school,LA,",
    ),
    "asc_person": (
        "asc_persons.csv",
        "LA_Person_Unique_Identifier,NHS_Number,Forename,Surname,Date_of_Birth,Gender,Ethnicity,Postcode,UPRN",
        "10000{i},{nhs},Amy,Lee,0{d}/02/1950,Female,White: Irish,AB1 2CD,10000000000{i}",
    ),
    "cld_event": (
        "cld/CLD_2024_Q1.csv",
        "LA_Code,Reporting_Period_Start_Date,Reporting_Period_End_Date,LA_Person_Unique_Identifier,NHS_Number,"
        "Der_Birth_Year,Der_Birth_Month,Date_of_Death,Gender,Ethnicity,Client_Type,Client_Funding_Status,"
        "Primary_Support_Reason,Accommodation_Status,Employment_Status,Has_Unpaid_Carer,Event_Type,Event_Reference,"
        "Event_Start_Date,Event_End_Date,Event_Outcome,Request_Route_of_Access,Assessment_Type,Method_of_Assessment,"
        "Service_Type,Service_Component,Delivery_Mechanism,Unit_Cost,Cost_Frequency_(Unit_Type),"
        "Planned_units_per_week,Review_Reason",
        "E1000009{i},2024-04-01,2024-06-30,10000{i},{nhs},1950,{d},,Female,White: Irish,Service user,Fully LA funded,"
        "Mental health support,Tenant,Unknown,No,Service,EV{i},2024-05-0{d},,Continuation of support or services,,,,"
        "Long term support: Community,Home Support,Direct Payment,250.00,Weekly,10,",
    ),
    "ecds_attendance": (
        "ecds.csv",
        "EC_Ident,PSEUDO_HESID,NHS_Number,Age_At_Arrival,Arrival_Date,EC_Department_Type,EC_AttendanceCategory,"
        "EC_Arrival_Mode_SNOMED_CT,EC_Acuity_SNOMED_CT,EC_Chief_Complaint_SNOMED_CT,Der_EC_Diagnosis_All,"
        "Discharge_Destination_SNOMED_CT,EC_Departure_Date",
        "EC{i},H{i},{nhs},70,2024-03-0{d},01,1,1048031000000100,1064901000000108,29857009,22298006,306689006,"
        "2024-03-0{d}",
    ),
    "hes_outpatient": (
        "hes_op.csv",
        "ATTENDKEY,PSEUDO_HESID,NEWNHSNO,APPTDATE,ATTENDED,FIRSTATT,TRETSPEF",
        "O{i},H{i},{nhs},2024-02-0{d},5,1,430",
    ),
    "gp_patient": (
        "gp_patients.csv",
        "Patient_ID,NHS_Number,Forename,Surname,Date_Of_Birth,Sex,Ethnicity,Postcode,RALF,Practice_Code,"
        "Registration_Start_Date,Registration_End_Date,Date_Of_Death",
        "P{i},{nhs},Amy,Lee,0{d}/02/1950,F,A,AB1 2CD,9F3A0C{i}E,M85001,01/01/2000,,",
    ),
    "gp_event": (
        "gp_events.csv", "Patient_ID,Event_Date,SNOMED_Code,Value,Unit", "P{i},0{d}/03/2024,38341003,14{d},mmHg"
    ),
    "gp_medication": (
        "gp_medications.csv",
        "Patient_ID,Issue_Date,BNF_Code,Quantity,Issue_Type",
        "P{i},0{d}/03/2024,0205051R0AAAAAA,28,Repeat",
    ),
    "death_registration": (
        "deaths.csv",
        "REGISTRATION_ID,NHS_NUMBER,FORENAME,SURNAME,DOB,SEX,POSTCODE,DOD,CAUSE_OF_DEATH,PLACE_OF_DEATH",
        "D{i},{nhs},AMY,LEE,1940-02-0{d},2,AB1 2CD,2025-01-0{d},I219,hospital",
    ),
    "postcode_lsoa": ("postcode_lsoa.csv", "postcode,lsoa_code", "AB{i} 2CD,E0100000{i}"),
    "lsoa_imd": ("lsoa_imd.csv", "lsoa_code,imd_decile", "E0100000{i},{d}"),
    "ld_register_person": (
        "ld_persons.csv",
        "Person_ID,NHS_Number,Forename,Surname,Date_of_Birth,Gender,Postcode,Register_Role,Registered_Date",
        "R{i},{nhs},Amy,Lee,0{d}/02/1980,Female,AB1 2CD,Person with a learning disability,0{d}/03/2000",
    ),
    "ld_arrangement": ("ld_arrangements.csv",
                       "Arrangement_ID,Person_ID,Living_Arrangement,Start_Date,End_Date,Recorded_Date",
                       "A{i},R{i},With family,0{d}/01/2010,,0{d}/02/2010"),
    "ld_carer": ("ld_carers.csv", "Carer_Person_ID,Arrangement_ID,Relationship,Main_Carer,Start_Date,End_Date,"
                 "Recorded_Date", "C{i},A{i},Mother,Y,0{d}/01/2010,,0{d}/02/2010"),
    "lsoa_ward": ("lsoa_ward.csv", "lsoa_code,ward_code,ward_name", "E0100000{i},E0500000{d},Ward {d}"),
    "list_run": ("list_runs.csv", "run_id,run_date,model,release,capacity,cut_score,scored_rows,rule",
                 "R{i},2025-0{d}-05,care_entry,v1,200,0.4,9000,top 200 by score"),
    "list_score": ("list_scores.csv", "run_id,nhs_number,upn,person_token,score,rank,listed",
                   "R{i},{nhs},,,0.{d},{i},Y"),
    "offer": (
        "offers.csv",
        "offer_id,nhs_number,upn,person_token,programme,run_id,route,team,status,date,override,reason,dosage,"
        "recorded_by_role",
        "O{i},{nhs},,,early_help_offer,R1,list,North,offered,2025-0{d}-10,N,,,early help practitioner",
    ),
    "app_offer": (
        "app_offers.csv",
        "offer_id,person_token,model,release,list_date,route,team,status,date,reason,recorded_by_role",
        "A{i},P0000000{d},care_entry,DRAFT,2025-01-05,list,North,offered,2025-0{d}-08,,early help practitioner",
    ),
    "programme": ("programmes.csv", "programme,name,description,kind,cost_per_family_gbp,price_year,agency",
                  "p{i},Programme {i},help,offer,1800,2024,council"),
    "programme_rollout": ("programme_rollout.csv", "programme,ward_code,go_live_date,capacity_per_month",
                          "p{i},E0500000{d},2025-0{d}-01,10"),
    "recording_regime": ("recording_regime.csv", "source,table,field,ward_code,change_date,description",
                         "social_care,cin_assessment,factors{i},,2024-0{d}-01,a new form"),
    "unit_cost": ("unit_costs.csv", "outcome,description,value_gbp,price_year,value_type,cashable,agency,per,source",
                  "outcome{i},an outcome,1{d}00,2024,fiscal,Y,council,episode,PSSRU Unit Costs 2024"),
}
SOURCE_DIR = {
    "school": "education",
    "nccis": "education",
    "social_care": "social_care",
    "health": "health",
    "adult_social_care": "adult_social_care",
    "gp": "gp",
    "deaths": "deaths",
    "interventions": "interventions",
    "ld_register": "ld_register",
    "reference": "reference",
}


def good_row(table: str, i: int, **changes: str) -> str:
    """Row ``i`` (1-based) of ``table``'s good file; ``changes`` replace columns by source name."""
    _, header, row = GOOD[table]
    values = row.format(i=i, d=(i - 1) % 9 + 1, nhs=nhs_number(i), y=2010 + i, y1=2011 + i).split(",")
    names = header.split(",")
    for name, value in changes.items():
        values[names.index(name)] = value
    return ",".join(values)


def good_text(table: str, rows: int = 3, *, eol: str = "\n", **changes_by_row: dict) -> str:
    """Header and ``rows`` good rows; ``changes_by_row={"r2": {...}}`` alters row 2."""
    _, header, _ = GOOD[table]
    body = [good_row(table, i, **changes_by_row.get(f"r{i}", {})) for i in range(1, rows + 1)]
    return eol.join([header, *body]) + eol


CIN_XML = """<?xml version="1.0" encoding="UTF-8"?>
{prolog}<Message><Header><CollectionDetails><Collection>CIN</Collection><Year>2025</Year>
<ReferenceDate>2025-03-31</ReferenceDate></CollectionDetails><Source><SourceLevel>L</SourceLevel>
<LEA>201</LEA></Source></Header>
<Children>
<Child><ChildIdentifiers><LAchildID>{child}</LAchildID><PersonBirthDate>2015-01-01</PersonBirthDate>
<Sex>F</Sex></ChildIdentifiers><ChildCharacteristics><Ethnicity>WBRI</Ethnicity></ChildCharacteristics>
<CINdetails><CINreferralDate>2024-06-01</CINreferralDate><ReferralSource>1A</ReferralSource>
<ReferralNFA>false</ReferralNFA></CINdetails></Child>
</Children></Message>
"""


def cin_xml(prolog: str = "", child: str = "K1") -> str:
    return CIN_XML.format(prolog=prolog, child=child)


class Ingested:
    """What ``ingest_file`` returns: the ``IngestResult`` and the file it read."""

    def __init__(self, result, path: Path):
        self.result, self.path = result, path
        self.accepted, self.quarantined, self.report = result.accepted, result.quarantined, result.report

    def line(self, number: int) -> str:
        """Physical line ``number`` of the file as written (to check a reported line is the real one)."""
        return self.path.read_bytes().decode("utf-8", "replace").split("\n")[number - 1]


@pytest.fixture
def ingest_file(tmp_path):
    """``ingest_file(table, data, rel=None)``: write one raw file, read and ingest it (reconciled)."""

    def run(table: str, data: str | bytes, rel: str | None = None, encoding: str = "utf-8") -> Ingested:
        spec = TABLES[table]
        path = tmp_path / (rel or GOOD.get(table, (spec.files.replace("*", "2024"),))[0])
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data if isinstance(data, bytes) else data.encode(encoding))
        result = ingest_table(read_table_frames(spec, [path], tmp_path), spec, EXTRACT)
        rep = result.report
        assert rep["rows_read"] == len(result.accepted) + len(result.quarantined)
        return Ingested(result, path)

    return run


class Layout:
    """A tiny project: raw folders per source and a params.yaml enabling only ``tables``."""

    def __init__(self, root: Path, tables: list[str], extra: dict[str, str] | None = None):
        self.root = root
        self.tables = tables
        self.source_options = extra or {}
        by_source: dict[str, list[str]] = {s: [] for s in SOURCE_DIR}
        for table in tables:
            by_source[TABLES[table].source].append(table)
            self.write(table, good_text(table))
        self.write_params()

    def raw(self, table: str) -> Path:
        return self.root / "raw" / SOURCE_DIR[TABLES[table].source]

    def path(self, table: str) -> Path:
        return self.raw(table) / GOOD[table][0]

    def write(self, table: str, data: str | bytes, rel: str | None = None) -> Path:
        path = self.raw(table) / (rel or GOOD[table][0])
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data if isinstance(data, bytes) else data.encode())
        return path

    def write_params(self) -> None:
        lines = ["ingest:", "  extract_date: 2026-03-31", "  sources:"]
        for source, folder in SOURCE_DIR.items():
            mine = [t for t in self.tables if TABLES[t].source == source]
            extra = self.source_options.get(source, "")
            lines.append(f"    {source}: {{raw_dir: raw/{folder}, tables: [{', '.join(mine)}]{extra}}}")
        (self.root / "params.yaml").write_text("\n".join(lines) + "\n")

    def cli(self, *args: str):
        """Run ``riskpipe ingest`` here; returns ``exit_code`` and ``output`` (whitespace collapsed)."""
        from types import SimpleNamespace

        argv = ["ingest", "--params", str(self.root / "params.yaml"), "--root", str(self.root), *args]
        result = CliRunner().invoke(app, argv)
        # the console wraps long messages at the terminal width: compare on words
        return SimpleNamespace(exit_code=result.exit_code, output=" ".join(result.output.split()))

    def staged(self, table: str) -> Path:
        return self.root / "data" / "staged" / f"{table}.parquet"

    def quarantine(self, table: str) -> Path:
        return self.root / "data" / "quarantine" / f"{table}.csv"

    def report(self) -> dict:
        import json

        return json.loads((self.root / "reports" / "ingest.json").read_text())


@pytest.fixture
def layout(tmp_path):
    """``layout(tables, extra={source: ", optional: true"})`` -> a ``Layout`` under ``tmp_path/project``."""

    def make(tables: list[str], extra: dict[str, str] | None = None) -> Layout:
        root = tmp_path / "project"
        root.mkdir(exist_ok=True)
        return Layout(root, tables, extra)

    return make


@pytest.fixture
def raw():
    """The file builders above, for tests (test modules cannot import this conftest)."""
    from types import SimpleNamespace

    return SimpleNamespace(
        GOOD=GOOD, good_row=good_row, good_text=good_text, cin_xml=cin_xml, nhs_number=nhs_number, UPN=UPN
    )
