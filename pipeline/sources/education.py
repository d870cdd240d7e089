"""Education sources: spring school census tables, KS2 results and NCCIS activity (docs/formats.md)."""

from __future__ import annotations

from pipeline.sources import codes
from pipeline.sources.spec import Column, Kind, Privacy, TableSpec

DATE, INT, FLOAT = Kind.DATE, Kind.INT, Kind.FLOAT
P = Privacy

CENSUS = (
    Column("census_date", "census_date", DATE),
    Column("pupil_record_id", "pupilonrolltableid", privacy=P.RECORD_KEY, row_required=True),
    Column("school_id", "NativeId"),
)
SEX = Column("sex", "sex", codes=codes.SEX_CANONICAL, recode=codes.SEX_RECODE, on_invalid="null")

SCHOOL_PUPIL = TableSpec(
    name="school_pupil",
    source="education",
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
        Column("entry_date", "entrydate", DATE, required=False),
        Column("sessions_possible", "termlysessionspossible", INT, required=False, valid_range=(0, 400)),
        Column("ethnicity", "ethnicity", privacy=P.ETHNICITY, validator="dfe_ethnicity"),
        Column("language", "language", required=False),
        Column("enrol_status", "enrolstatus", codes=codes.ENROL_STATUS, required=False),
        Column("sen_provision", "senprovision", codes=codes.SEN_PROVISION),
        Column("nc_year", "ncyearactual", codes=codes.NC_YEAR, required=False),
    ),
)

SCHOOL_ATTENDANCE = TableSpec(
    name="school_attendance",
    source="education",
    description="Sessions missed by reason, autumn term before the census (termlysessiondetailsonroll).",
    files="school_census/*_spring_termlysessiondetailsonroll.csv",
    from_path=("census_date",),
    columns=(
        *CENSUS,
        Column("reason", "attendancereason", codes=codes.ABSENCE_REASONS),
        Column("sessions", "sessions", INT, valid_range=(0, 400)),
    ),
)

SCHOOL_EXCLUSION = TableSpec(
    name="school_exclusion",
    source="education",
    description="Suspensions and permanent exclusions in the 12 months to the census.",
    files="school_census/*_spring_termlyexclusionsonroll.csv",
    from_path=("census_date",),
    columns=(
        *CENSUS,
        Column("start_date", "startdate", DATE, row_required=True),
        Column("sessions", "sessions", FLOAT, valid_range=(0, 400)),
        Column("reason1", "reason1", codes=codes.EXCLUSION_REASONS),
        Column("reason2", "reason2", codes=codes.EXCLUSION_REASONS, required=False),
        Column("reason3", "reason3", codes=codes.EXCLUSION_REASONS, required=False),
        Column("category", "category", codes=codes.EXCLUSION_CATEGORY),
        Column("sen_provision", "senprovision", codes=codes.SEN_PROVISION, required=False),
    ),
)

SCHOOL_FSM = TableSpec(
    name="school_fsm",
    source="education",
    description="Free school meal eligibility periods (fsmperiod); a blank end is an open period.",
    files="school_census/*_spring_fsmperiod.csv",
    from_path=("census_date",),
    date_order=(("fsm_start", "fsm_end"),),
    columns=(
        *CENSUS,
        Column("fsm_start", "fsmstartdate", DATE, row_required=True),
        Column("fsm_end", "fsmenddate", DATE),
    ),
)

SCHOOL_SEN_NEED = TableSpec(
    name="school_sen_need",
    source="education",
    description="Special educational needs by type and rank (senneeds).",
    files="school_census/*_spring_senneeds.csv",
    from_path=("census_date",),
    columns=(
        *CENSUS,
        Column("sen_type", "sentype", codes=codes.SEN_TYPES),
        Column("rank", "sentyperank", INT, valid_range=(1, 20)),
    ),
)

SCHOOL_ADDRESS = TableSpec(
    name="school_address",
    source="education",
    description="Pupils' home postcodes at the census (addresses).",
    files="school_census/*_spring_addresses.csv",
    from_path=("census_date",),
    columns=(*CENSUS, Column("postcode", "postcode", privacy=P.POSTCODE, validator="postcode")),
)

KS2 = TableSpec(
    name="ks2",
    source="education",
    description="Key stage 2 scaled scores (NPD-style); blank when not sat.",
    files="ks2.csv",
    keys=("upn", "acad_year"),
    columns=(
        Column("upn", "UPN", privacy=P.UPN, row_required=True, validator="upn"),
        Column("acad_year", "KS2_ACADYR", validator="academic_year"),
        Column("read_mark", "KS2_READMRK", INT, valid_range=(80, 120)),
        Column("mat_mark", "KS2_MATMRK", INT, valid_range=(80, 120)),
    ),
)

NCCIS_ACTIVITY = TableSpec(
    name="nccis_activity",
    source="education",
    description="NCCIS client caseload: one row per young person per activity spell at 16-17.",
    files="nccis.csv",
    columns=(
        Column("ccis_id", "CCIS_ID", privacy=P.RECORD_KEY, row_required=True),
        Column("upn", "UPN", privacy=P.UPN, validator="upn"),
        Column("forename", "Forename", privacy=P.FORENAME),
        Column("surname", "Surname", privacy=P.SURNAME),
        Column("dob", "DOB", DATE, privacy=P.DOB, row_required=True),
        Column("sex", "Gender", codes=codes.SEX_CANONICAL, recode=codes.SEX_RECODE, on_invalid="null"),
        Column("postcode", "Postcode", privacy=P.POSTCODE, validator="postcode"),
        Column("activity_code", "ActivityCode", codes=codes.NCCIS_ACTIVITY),
        Column("activity_start", "ActivityStartDate", DATE),
        Column("date_ascertained", "DateAscertained", DATE),
        Column("academic_age", "AcademicAge", INT, valid_range=(14, 20)),
    ),
)

TABLES: list[TableSpec] = [
    SCHOOL_PUPIL, SCHOOL_ATTENDANCE, SCHOOL_EXCLUSION, SCHOOL_FSM, SCHOOL_SEN_NEED, SCHOOL_ADDRESS,
    KS2, NCCIS_ACTIVITY,
]
