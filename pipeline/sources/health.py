"""Health sources: NHS demographics, HES-like admitted care (episodes), A&E, ECDS and outpatients (docs/formats.md)."""

from __future__ import annotations

from pipeline.privacy.actions import Privacy
from pipeline.sources import codes
from pipeline.sources.registry import Identifier, MonitoredCodes, PersonRecords, RecordDates, Source
from pipeline.sources.spec import Column, Kind, TableSpec

DATE, INT = Kind.DATE, Kind.INT
P = Privacy

HES_ID = Column("hes_id", "PSEUDO_HESID", privacy=P.RECORD_KEY, row_required=True)
NHS_NUMBER = Column("nhs_number", "NEWNHSNO", privacy=P.NHS_NUMBER, validator="nhs_number", on_invalid="null")

NHS_PATIENT = TableSpec(
    name="nhs_patient",
    source="health",
    description="NHS demographics (PDS-like): one row per patient record.",
    files="nhs_demographics.csv",
    keys=("hes_id",),
    columns=(
        HES_ID,
        Column("nhs_number", "NHSNumber", privacy=P.NHS_NUMBER, validator="nhs_number", on_invalid="null"),
        Column("forename", "Forename", privacy=P.FORENAME),
        Column("surname", "Surname", privacy=P.SURNAME),
        Column("dob", "DOB", DATE, privacy=P.DOB, row_required=True),
        Column("sex", "Sex", codes=codes.SEX_CANONICAL, recode=codes.SEX_RECODE, on_invalid="null", privacy=P.KEEP),
        Column("postcode", "Postcode", privacy=P.POSTCODE, validator="postcode"),
        Column("ethnicity", "EthnicCategory", privacy=P.ETHNICITY, codes=codes.NHS_ETHNIC_CATEGORY),
    ),
)

HES_ADMISSION = TableSpec(
    name="hes_admission",
    source="health",
    description="HES-like admitted patient care episodes with up to 20 ICD-10 diagnoses.",
    files="hes_apc.csv",
    keys=("epikey",),
    date_order=(("admission_date", "discharge_date"), ("admission_date", "episode_start"),
                ("episode_start", "episode_end")),
    columns=(
        Column("epikey", "EPIKEY", privacy=P.RECORD_KEY, row_required=True),
        Column("hes_id", "PSEUDO_HESID", privacy=P.RECORD_KEY),
        NHS_NUMBER,
        Column("admission_date", "ADMIDATE", DATE, row_required=True, privacy=P.KEEP),
        Column("admission_method", "ADMIMETH", codes=codes.HES_ADMISSION_METHOD, privacy=P.KEEP),
        Column("discharge_date", "DISDATE", DATE, privacy=P.KEEP),
        # episodes of a spell (pipeline/sources/hes_spells.py); optional so a children-only file still reads
        Column("episode_order", "EPIORDER", INT, required=False, valid_range=(1, 99), privacy=P.KEEP),
        Column("episode_start", "EPISTART", DATE, required=False, privacy=P.KEEP),
        Column("episode_end", "EPIEND", DATE, required=False, privacy=P.KEEP),
        Column("admission_source", "ADMISORC", required=False, codes=codes.HES_ADMISSION_SOURCE, privacy=P.KEEP),
        Column("discharge_method", "DISMETH", required=False, codes=codes.HES_DISCHARGE_METHOD, privacy=P.KEEP),
        Column("discharge_destination", "DISDEST", required=False, codes=codes.HES_DISCHARGE_DESTINATION,
               privacy=P.KEEP),
        Column("patient_class", "CLASSPAT", required=False, codes=codes.HES_PATIENT_CLASS, privacy=P.KEEP),
        *(
            Column(f"diag_{i:02d}", f"DIAG_4_{i:02d}", required=i == 1, validator="icd10", privacy=P.KEEP)
            for i in range(1, 21)
        ),
    ),
)

AE_ATTENDANCE = TableSpec(
    name="ae_attendance",
    source="health",
    description="HES-like A&E attendances.",
    files="hes_ae.csv",
    keys=("aekey",),
    columns=(
        Column("aekey", "AEKEY", privacy=P.RECORD_KEY, row_required=True),
        Column("hes_id", "PSEUDO_HESID", privacy=P.RECORD_KEY),
        NHS_NUMBER,
        Column("arrival_date", "ARRIVALDATE", DATE, row_required=True, privacy=P.KEEP),
        Column("diagnosis", "DIAGA_01", validator="icd10", privacy=P.KEEP),
    ),
)

ECDS_ATTENDANCE = TableSpec(
    name="ecds_attendance",
    source="health",
    description="Emergency Care Data Set attendances (NHSE analysis-table names, SNOMED CT codes).",
    files="ecds.csv",
    keys=("ec_ident",),
    date_order=(("arrival_date", "departure_date"),),
    optional=True,  # many councils hold no such extract: its absence is reported, not an error
    columns=(
        Column("ec_ident", "EC_Ident", privacy=P.RECORD_KEY, row_required=True),
        # a SUS extract keys attendances by NHS number; a provider's extract also gives its patient id
        Column("hes_id", "PSEUDO_HESID", required=False, privacy=P.RECORD_KEY),
        Column("nhs_number", "NHS_Number", privacy=P.NHS_NUMBER, validator="nhs_number", on_invalid="null"),
        Column("age_at_arrival", "Age_At_Arrival", INT, valid_range=(0, 120), privacy=P.KEEP),
        Column("arrival_date", "Arrival_Date", DATE, row_required=True, privacy=P.KEEP),
        Column("department_type", "EC_Department_Type", codes=codes.ECDS_DEPARTMENT_TYPE, privacy=P.KEEP),
        Column("attendance_category", "EC_AttendanceCategory", codes=codes.ECDS_ATTENDANCE_CATEGORY, privacy=P.KEEP),
        Column("arrival_mode", "EC_Arrival_Mode_SNOMED_CT", codes=codes.ecds_codes(codes.ECDS_ARRIVAL_MODE),
               on_invalid="null", privacy=P.KEEP),
        Column("acuity", "EC_Acuity_SNOMED_CT", codes=codes.ecds_codes(codes.ECDS_ACUITY), on_invalid="null",
               privacy=P.KEEP),
        Column("chief_complaint", "EC_Chief_Complaint_SNOMED_CT", validator="snomed", on_invalid="null",
               privacy=P.KEEP),
        Column("injury_intent", "EC_Injury_Intent_SNOMED_CT", required=False, validator="snomed",
               on_invalid="null", privacy=P.KEEP),
        Column("diagnoses", "Der_EC_Diagnosis_All", validator="snomed_list", privacy=P.KEEP),
        Column("discharge_status", "EC_Discharge_Status_SNOMED_CT", required=False, validator="snomed",
               on_invalid="null", privacy=P.KEEP),
        Column("discharge_destination", "Discharge_Destination_SNOMED_CT",
               codes=codes.ecds_codes(codes.ECDS_DISCHARGE_DESTINATION), on_invalid="null", privacy=P.KEEP),
        Column("departure_date", "EC_Departure_Date", DATE, privacy=P.KEEP),
        Column("minutes_to_departure", "EC_Departure_Time_Since_Arrival", INT, required=False,
               valid_range=(0, 20160), privacy=P.KEEP),
        Column("minutes_to_assessment", "EC_Initial_Assessment_Time_Since_Arrival", INT, required=False,
               valid_range=(0, 20160), privacy=P.KEEP),
    ),
)

HES_OUTPATIENT = TableSpec(
    name="hes_outpatient",
    source="health",
    description="HES-like outpatient appointments (attended or not, first or follow-up, specialty).",
    files="hes_op.csv",
    keys=("attendkey",),
    optional=True,  # many councils hold no such extract: its absence is reported, not an error
    columns=(
        Column("attendkey", "ATTENDKEY", privacy=P.RECORD_KEY, row_required=True),
        Column("hes_id", "PSEUDO_HESID", privacy=P.RECORD_KEY),
        NHS_NUMBER,
        Column("appointment_date", "APPTDATE", DATE, row_required=True, privacy=P.KEEP),
        Column("attended", "ATTENDED", codes=codes.HES_OP_ATTENDED, privacy=P.KEEP),
        Column("first_attendance", "FIRSTATT", codes=codes.HES_OP_FIRST_ATTENDANCE, privacy=P.KEEP),
        Column("treatment_specialty", "TRETSPEF", validator="treatment_specialty", privacy=P.KEEP),
        Column("referral_source", "REFSOURC", required=False, privacy=P.KEEP),
        Column("outcome", "OUTCOME", required=False, codes=codes.HES_OP_OUTCOME, privacy=P.KEEP),
    ),
)

SOURCE = Source(
    name="health",
    display_name="health",
    description="NHS demographics, HES-like admitted care, A&E and outpatients, and ECDS attendances.",
    order=30,
    raw_dir="data/raw/health",
    tables=(NHS_PATIENT, HES_ADMISSION, AE_ATTENDANCE, ECDS_ATTENDANCE, HES_OUTPATIENT),
    person_key="hes_id",
    persons=PersonRecords(table="nhs_patient"),
    identifiers=(Identifier("nhs_number", "nhs_number_tok"),),
    record_dates=(RecordDates("hes_admission", "admission_date"), RecordDates("ae_attendance", "arrival_date"),
                  RecordDates("ecds_attendance", "arrival_date"), RecordDates("hes_outpatient", "appointment_date")),
    max_records_per_person=1,
    link_rates_to=("school",),
    record_holder="Hospital (A&E or admitted care)",
    monitored=(MonitoredCodes("hes_admission", "admission_date", ("admission_method",)),
               MonitoredCodes("hes_admission", "admission_date", ("diag_01",), prefix=3),
               MonitoredCodes("ae_attendance", "arrival_date", ("diagnosis",), prefix=3)),
)
