"""The deaths source: ONS-style death registrations of people living or dying in the county
(docs/formats.md, DOMAIN_ADULTS.md §2.4)."""

from __future__ import annotations

from pipeline.privacy.actions import Privacy
from pipeline.sources import codes
from pipeline.sources.registry import Identifier, PersonRecords, RecordDates, Source
from pipeline.sources.spec import Column, Kind, TableSpec

DATE = Kind.DATE
P = Privacy

DEATH_REGISTRATION = TableSpec(
    name="death_registration",
    source="deaths",
    description="ONS death registrations: who died, when, where (place type, communal establishment) and why.",
    files="deaths.csv",
    keys=("registration_id",),
    date_order=(("date_of_death", "registration_date"),),
    optional=True,  # many councils hold no such extract: its absence is reported, not an error
    columns=(
        Column("registration_id", "REGISTRATION_ID", privacy=P.RECORD_KEY, row_required=True),
        Column("nhs_number", "NHS_NUMBER", privacy=P.NHS_NUMBER, validator="nhs_number", on_invalid="null"),
        Column("forename", "FORENAME", privacy=P.FORENAME),
        Column("surname", "SURNAME", privacy=P.SURNAME),
        Column("dob", "DOB", DATE, privacy=P.DOB),
        Column("sex", "SEX", codes=codes.SEX_CANONICAL, recode=codes.SEX_RECODE, on_invalid="null", privacy=P.KEEP),
        Column("postcode", "POSTCODE", privacy=P.POSTCODE, validator="postcode"),
        Column("date_of_death", "DOD", DATE, row_required=True, privacy=P.KEEP),
        Column("registration_date", "REG_DATE", DATE, required=False, privacy=P.KEEP),
        Column("cause_of_death", "CAUSE_OF_DEATH", validator="icd10", privacy=P.KEEP),
        Column("place_of_death", "PLACE_OF_DEATH", codes=codes.ONS_PLACE_OF_DEATH, privacy=P.KEEP),
        # the establishment (a care home, a hospital site) could narrow who died where: a token only
        Column("communal_establishment", "COMMUNAL_ESTABLISHMENT", required=False, privacy=P.RECORD_KEY),
    ),
)

SOURCE = Source(
    name="deaths",
    display_name="death registrations",
    description="ONS-style death registrations: date, underlying cause (ICD-10) and place of death.",
    order=60,
    raw_dir="data/raw/deaths",
    tables=(DEATH_REGISTRATION,),
    person_key="registration_id",
    persons=PersonRecords(table="death_registration"),
    identifiers=(Identifier("nhs_number", "nhs_number_tok"),),
    record_dates=(RecordDates("death_registration", "date_of_death"),),
    max_records_per_person=1,
    link_rates_to=("health",),
    link_rates_gated=False,  # reported only: no release threshold was pre-registered for death links
    record_holder="A death registration",
)
