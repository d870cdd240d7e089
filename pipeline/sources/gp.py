"""The GP source: patients registered with the county's practices, their coded events and medication
issues (docs/formats.md, DOMAIN_ADULTS.md §2.5)."""

from __future__ import annotations

from pipeline.privacy.actions import Privacy
from pipeline.sources import codes
from pipeline.sources.registry import Identifier, PersonRecords, RecordDates, Source
from pipeline.sources.spec import Column, Kind, TableSpec

DATE, INT, FLOAT = Kind.DATE, Kind.INT, Kind.FLOAT
P = Privacy

# What a GP record says about caring (read by pipeline.linkage.family_gp). A carer code names the carer;
# some say whom they care for. A person needs care when coded with a learning disability or dementia, or
# with moderate frailty: at least 9 of the eFI's 36 deficits (eFI > 0.24), counted from the stand-in list
# below (one concept per deficit, as features/adult_gp.py reads them; the real eFI lists are not public).
CARER_OF_LD_CODES = frozenset({"413761004", "276041009"})  # carer of a person with LD; of a "mentally handicapped
# dependant" (the old term the code keeps)
CARER_OF_DEMENTIA_CODES = frozenset({"824401000000105"})
CARER_OF_OLDER_CODES = frozenset({"276047008"})  # looks after an elderly dependant
LEARNING_DISABILITY_CODES = frozenset({"110359009"})
DEMENTIA_CODES = frozenset({"52448006"})
EFI_DEFICITS = {  # concept id -> deficit
    "284545001": "activity_limitation", "271737000": "anaemia", "3723001": "arthritis", "49436004": "af",
    "230690007": "cerebrovascular", "709044004": "ckd", "44054006": "diabetes", "404640003": "dizziness",
    "267036007": "dyspnoea", "161898004": "falls", "443165006": "fragility_fracture", "15188001": "hearing",
    "84114007": "heart_failure", "368009": "heart_valve", "160689007": "housebound", "38341003": "hypertension",
    "45007003": "hypotension_syncope", "414545008": "ihd", "386807006": "memory_cognitive",
    "64859006": "osteoporosis", "32798002": "parkinsonism", "13200003": "peptic_ulcer", "400047006": "pvd",
    "713655003": "requirement_for_care", "13645005": "respiratory", "95344007": "skin_ulcer",
    "26677001": "sleep_disturbance", "422650009": "social_vulnerability", "14304000": "thyroid",
    "165232002": "urinary_incontinence", "53556002": "urinary_system", "397540003": "visual_impairment",
    "89362005": "weight_loss",
}
EFI_DEFICIT_CODES = frozenset(EFI_DEFICITS)
MODERATE_FRAILTY_DEFICITS = 9  # 9 / 36 = 0.25 > 0.24, the eFI's moderate band

# one patient record per registration: each practice's system gives the patient its own id
PATIENT = Column("patient_id", "Patient_ID", privacy=P.RECORD_KEY, row_required=True)

GP_PATIENT = TableSpec(
    name="gp_patient",
    source="gp",
    description="GP registrations: one row per patient record at a practice, with the practice's demographics.",
    files="gp_patients.csv",
    keys=("patient_id",),
    date_order=(("registration_start", "registration_end"), ("registration_start", "death_date")),
    optional=True,  # many councils hold no such extract: its absence is reported, not an error
    columns=(
        PATIENT,
        Column("nhs_number", "NHS_Number", privacy=P.NHS_NUMBER, validator="nhs_number", on_invalid="null"),
        Column("forename", "Forename", privacy=P.FORENAME),
        Column("surname", "Surname", privacy=P.SURNAME),
        Column("dob", "Date_Of_Birth", DATE, privacy=P.DOB, row_required=True),
        Column("sex", "Sex", codes=codes.SEX_CANONICAL, recode=codes.SEX_RECODE, on_invalid="null", privacy=P.KEEP),
        Column("ethnicity", "Ethnicity", privacy=P.ETHNICITY, codes=codes.NHS_ETHNIC_CATEGORY),
        Column("postcode", "Postcode", privacy=P.POSTCODE, validator="postcode"),
        # the household key (Residential Anonymised Linking Field: NHS England's pseudonymised UPRN of the
        # registered address): tokenised again in its own "ralf" domain, so people at one address share a
        # token; comparable with other RALFs only, never with a council's clear UPRN. Older extracts lack it
        Column("ralf", "RALF", required=False, privacy=P.RECORD_KEY),
        Column("practice", "Practice_Code", privacy=P.KEEP),
        Column("registration_start", "Registration_Start_Date", DATE, row_required=True, privacy=P.KEEP),
        Column("registration_end", "Registration_End_Date", DATE, privacy=P.KEEP),
        Column("death_date", "Date_Of_Death", DATE, privacy=P.KEEP),
    ),
)

GP_EVENT = TableSpec(
    name="gp_event",
    source="gp",
    description="GP coded events (SNOMED CT), with a value and unit where measured; repeats over time are kept.",
    files="gp_events.csv",
    optional=True,  # many councils hold no such extract: its absence is reported, not an error
    columns=(
        PATIENT,
        Column("event_date", "Event_Date", DATE, row_required=True, privacy=P.KEEP),
        # a mistyped code fails its Verhoeff check digit: flagged and nulled, the row kept and counted
        Column("snomed", "SNOMED_Code", validator="snomed", on_invalid="null", row_required=True, privacy=P.KEEP),
        Column("value", "Value", FLOAT, required=False, privacy=P.KEEP),
        Column("unit", "Unit", required=False, privacy=P.KEEP),
    ),
)

GP_MEDICATION = TableSpec(
    name="gp_medication",
    source="gp",
    description="GP medication issues: BNF code, quantity, repeat or acute.",
    files="gp_medications.csv",
    optional=True,  # many councils hold no such extract: its absence is reported, not an error
    columns=(
        PATIENT,
        Column("issue_date", "Issue_Date", DATE, row_required=True, privacy=P.KEEP),
        Column("bnf_code", "BNF_Code", validator="bnf_code", on_invalid="null", privacy=P.KEEP),
        Column("quantity", "Quantity", INT, valid_range=(1, 10000), privacy=P.KEEP),
        Column("issue_type", "Issue_Type", codes=codes.GP_ISSUE_TYPE, on_invalid="null", privacy=P.KEEP),
    ),
)

SOURCE = Source(
    name="gp",
    display_name="GP",
    description="GP practices: registrations, coded events (registers, frailty, carers) and medication issues.",
    order=50,
    raw_dir="data/raw/gp",
    tables=(GP_PATIENT, GP_EVENT, GP_MEDICATION),
    person_key="patient_id",
    persons=PersonRecords(table="gp_patient", latest_by=("registration_start",)),
    identifiers=(Identifier("nhs_number", "nhs_number_tok"),),
    record_dates=(RecordDates("gp_event", "event_date"), RecordDates("gp_medication", "issue_date")),
    # a person who changes practice has one record per practice
    max_records_per_person=4,
    link_rates_to=("health",),
    link_rates_gated=False,  # reported only: no release threshold was pre-registered for GP links
    record_holder="A GP practice",
)
