"""The NCCIS source: the post-16 client caseload information system (docs/formats.md)."""

from __future__ import annotations

from pipeline.privacy.actions import Privacy
from pipeline.sources import codes
from pipeline.sources.registry import Identifier, MonitoredCodes, PersonRecords, RecordDates, Source
from pipeline.sources.spec import Column, Kind, TableSpec

DATE, INT = Kind.DATE, Kind.INT
P = Privacy

NCCIS_ACTIVITY = TableSpec(
    name="nccis_activity",
    source="nccis",
    description="NCCIS client caseload: one row per young person per activity spell at 16-17.",
    files="nccis.csv",
    columns=(
        Column("ccis_id", "CCIS_ID", privacy=P.RECORD_KEY, row_required=True),
        Column("upn", "UPN", privacy=P.UPN, validator="upn"),
        Column("forename", "Forename", privacy=P.FORENAME),
        Column("surname", "Surname", privacy=P.SURNAME),
        Column("dob", "DOB", DATE, privacy=P.DOB, row_required=True),
        Column("sex", "Gender", codes=codes.SEX_CANONICAL, recode=codes.SEX_RECODE, on_invalid="null", privacy=P.KEEP),
        Column("postcode", "Postcode", privacy=P.POSTCODE, validator="postcode"),
        Column("activity_code", "ActivityCode", codes=codes.NCCIS_ACTIVITY, privacy=P.KEEP),
        Column("activity_start", "ActivityStartDate", DATE, privacy=P.KEEP),
        Column("date_ascertained", "DateAscertained", DATE, privacy=P.KEEP),
        Column("academic_age", "AcademicAge", INT, valid_range=(14, 20), privacy=P.KEEP),
    ),
)

SOURCE = Source(
    name="nccis",
    display_name="NCCIS",
    description="Post-16 tracking: each young person's education, employment or training activity at 16-17.",
    order=40,
    raw_dir="data/raw/education",
    tables=(NCCIS_ACTIVITY,),
    person_key="ccis_id",
    persons=PersonRecords(table="nccis_activity", latest_by=("activity_start", "date_ascertained")),
    identifiers=(Identifier("upn", "upn_tok"),),
    record_dates=(RecordDates("nccis_activity", "date_ascertained"),),
    max_records_per_person=1,
    link_rates_to=("school",),
    # reported, not gated: the release thresholds were pre-registered for the school, social care and
    # health directions only; gating NCCIS is a threshold change for the next model version
    link_rates_gated=False,
    record_holder="Post-16 tracking (NCCIS)",
    monitored=(MonitoredCodes("nccis_activity", "date_ascertained", ("activity_code",)),),
)
