"""The school source: spring school census tables and KS2 results (docs/formats.md)."""

from __future__ import annotations

from pipeline.privacy.actions import Privacy
from pipeline.sources import codes
from pipeline.sources.registry import Identifier, MonitoredCodes, PersonRecords, RecordDates, Source
from pipeline.sources.spec import Column, Kind, TableSpec

DATE, INT, FLOAT = Kind.DATE, Kind.INT, Kind.FLOAT
P = Privacy

CENSUS = (
    Column("census_date", "census_date", DATE, privacy=P.KEEP),
    Column("pupil_record_id", "pupilonrolltableid", privacy=P.RECORD_KEY, row_required=True),
    Column("school_id", "NativeId", privacy=P.KEEP),
)
SEX = Column("sex", "sex", codes=codes.SEX_CANONICAL, recode=codes.SEX_RECODE, on_invalid="null", privacy=P.KEEP)

SCHOOL_PUPIL = TableSpec(
    name="school_pupil",
    source="school",
    description="Pupils on roll at each spring school census (pupilonroll).",
    files="school_census/*_spring_pupilonroll.csv",
    from_path=("census_date",),
    keys=("census_date", "pupil_record_id"),
    columns=(
        *CENSUS,
        Column("upn", "upn", privacy=P.UPN, validator="upn"),
        Column("former_upn", "formerupn", privacy=P.UPN, required=False, validator="upn"),
        Column("forename", "forename", privacy=P.FORENAME),
        Column("surname", "surname", privacy=P.SURNAME),
        Column("middlenames", "middlenames", privacy=P.DROP, required=False),
        Column("preferred_surname", "preferredsurname", privacy=P.DROP, required=False),
        Column("former_surname", "formersurname", privacy=P.DROP, required=False),
        Column("dob", "dob", DATE, privacy=P.DOB, row_required=True),
        SEX,
        Column("entry_date", "entrydate", DATE, required=False, privacy=P.KEEP),
        Column("sessions_possible", "termlysessionspossible", INT, required=False, valid_range=(0, 400),
               privacy=P.KEEP),
        Column("ethnicity", "ethnicity", privacy=P.ETHNICITY, validator="dfe_ethnicity"),
        Column("language", "language", required=False, privacy=P.KEEP),
        Column("enrol_status", "enrolstatus", codes=codes.ENROL_STATUS, required=False, privacy=P.KEEP),
        Column("sen_provision", "senprovision", codes=codes.SEN_PROVISION, privacy=P.KEEP),
        Column("nc_year", "ncyearactual", codes=codes.NC_YEAR, required=False, privacy=P.KEEP),
    ),
)

SCHOOL_ATTENDANCE = TableSpec(
    name="school_attendance",
    source="school",
    description="Sessions missed by reason, autumn term before the census (termlysessiondetailsonroll).",
    files="school_census/*_spring_termlysessiondetailsonroll.csv",
    from_path=("census_date",),
    columns=(
        *CENSUS,
        Column("reason", "attendancereason", codes=codes.ABSENCE_REASONS, privacy=P.KEEP),
        Column("sessions", "sessions", INT, valid_range=(0, 400), privacy=P.KEEP),
    ),
)

SCHOOL_EXCLUSION = TableSpec(
    name="school_exclusion",
    source="school",
    description="Suspensions and permanent exclusions in the 12 months to the census.",
    files="school_census/*_spring_termlyexclusionsonroll.csv",
    from_path=("census_date",),
    columns=(
        *CENSUS,
        Column("start_date", "startdate", DATE, row_required=True, privacy=P.KEEP),
        Column("sessions", "sessions", FLOAT, valid_range=(0, 400), privacy=P.KEEP),
        Column("reason1", "reason1", codes=codes.EXCLUSION_REASONS, privacy=P.KEEP),
        Column("reason2", "reason2", codes=codes.EXCLUSION_REASONS, required=False, privacy=P.KEEP),
        Column("reason3", "reason3", codes=codes.EXCLUSION_REASONS, required=False, privacy=P.KEEP),
        Column("category", "category", codes=codes.EXCLUSION_CATEGORY, privacy=P.KEEP),
        Column("sen_provision", "senprovision", codes=codes.SEN_PROVISION, required=False, privacy=P.KEEP),
    ),
)

SCHOOL_FSM = TableSpec(
    name="school_fsm",
    source="school",
    description="Free school meal eligibility periods (fsmperiod); a blank end is an open period.",
    files="school_census/*_spring_fsmperiod.csv",
    from_path=("census_date",),
    date_order=(("fsm_start", "fsm_end"),),
    columns=(
        *CENSUS,
        Column("fsm_start", "fsmstartdate", DATE, row_required=True, privacy=P.KEEP),
        Column("fsm_end", "fsmenddate", DATE, privacy=P.KEEP),
    ),
)

SCHOOL_SEN_NEED = TableSpec(
    name="school_sen_need",
    source="school",
    description="Special educational needs by type and rank (senneeds).",
    files="school_census/*_spring_senneeds.csv",
    from_path=("census_date",),
    columns=(
        *CENSUS,
        Column("sen_type", "sentype", codes=codes.SEN_TYPES, privacy=P.KEEP),
        Column("rank", "sentyperank", INT, valid_range=(1, 20), privacy=P.KEEP),
    ),
)

SCHOOL_ADDRESS = TableSpec(
    name="school_address",
    source="school",
    description="Pupils' home postcodes at the census (addresses).",
    files="school_census/*_spring_addresses.csv",
    from_path=("census_date",),
    columns=(*CENSUS, Column("postcode", "postcode", privacy=P.POSTCODE, validator="postcode")),
)

KS2 = TableSpec(
    name="ks2",
    source="school",
    description="Key stage 2 scaled scores (NPD-style); blank when not sat.",
    files="ks2.csv",
    keys=("upn", "acad_year"),
    columns=(
        Column("upn", "UPN", privacy=P.UPN, row_required=True, validator="upn"),
        Column("acad_year", "KS2_ACADYR", validator="academic_year", privacy=P.KEEP),
        Column("read_mark", "KS2_READMRK", INT, valid_range=(80, 120), privacy=P.KEEP),
        Column("mat_mark", "KS2_MATMRK", INT, valid_range=(80, 120), privacy=P.KEEP),
    ),
)

SOURCE = Source(
    name="school",
    display_name="school",
    description="Spring school census (pupils on roll, attendance, exclusions, FSM, SEN, addresses) and KS2.",
    order=10,
    raw_dir="data/raw/education",
    tables=(SCHOOL_PUPIL, SCHOOL_ATTENDANCE, SCHOOL_EXCLUSION, SCHOOL_FSM, SCHOOL_SEN_NEED, SCHOOL_ADDRESS, KS2),
    person_key="upn",
    persons=PersonRecords(
        table="school_pupil",
        latest_by=("census_date",),
        address_table="school_address",
        address_keys=("census_date", "school_id", "pupil_record_id", "pupil_record_id_tok"),
    ),
    identifiers=(Identifier("upn", "upn_tok"), Identifier("upn", "former_upn_tok", role="former")),
    record_dates=(RecordDates("school_pupil", "census_date"),),
    max_records_per_person=4,
    link_rates_to=("health",),
    record_holder="A school census",
    # events only: census tables count the same children every year (a stock), which the monitor's test,
    # built for independent records, would read as breaks
    monitored=(MonitoredCodes("school_exclusion", "start_date", ("category", "reason1")),),
)
