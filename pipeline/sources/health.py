"""Health sources: NHS demographics and HES-like admitted care and A&E (docs/formats.md)."""

from __future__ import annotations

from pipeline.privacy.actions import Privacy
from pipeline.sources import codes
from pipeline.sources.registry import Identifier, MonitoredCodes, PersonRecords, RecordDates, Source
from pipeline.sources.spec import Column, Kind, TableSpec

DATE = Kind.DATE
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
    date_order=(("admission_date", "discharge_date"),),
    columns=(
        Column("epikey", "EPIKEY", privacy=P.RECORD_KEY, row_required=True),
        Column("hes_id", "PSEUDO_HESID", privacy=P.RECORD_KEY),
        NHS_NUMBER,
        Column("admission_date", "ADMIDATE", DATE, row_required=True, privacy=P.KEEP),
        Column("admission_method", "ADMIMETH", codes=codes.HES_ADMISSION_METHOD, privacy=P.KEEP),
        Column("discharge_date", "DISDATE", DATE, privacy=P.KEEP),
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

SOURCE = Source(
    name="health",
    display_name="health",
    description="NHS demographics and HES-like admitted care and A&E attendances.",
    order=30,
    raw_dir="data/raw/health",
    tables=(NHS_PATIENT, HES_ADMISSION, AE_ATTENDANCE),
    person_key="hes_id",
    persons=PersonRecords(table="nhs_patient"),
    identifiers=(Identifier("nhs_number", "nhs_number_tok"),),
    record_dates=(RecordDates("hes_admission", "admission_date"), RecordDates("ae_attendance", "arrival_date")),
    max_records_per_person=1,
    link_rates_to=("school",),
    record_holder="Hospital (A&E or admitted care)",
    monitored=(MonitoredCodes("hes_admission", "admission_date", ("admission_method",)),
               MonitoredCodes("hes_admission", "admission_date", ("diag_01",), prefix=3),
               MonitoredCodes("ae_attendance", "arrival_date", ("diagnosis",), prefix=3)),
)
