"""Social care sources: case-management persons, SSDA903, CIN census and early help (docs/formats.md)."""

from __future__ import annotations

from pipeline.privacy.actions import Privacy
from pipeline.sources import codes
from pipeline.sources.registry import Identifier, MonitoredCodes, PersonRecords, RecordDates, Source
from pipeline.sources.spec import Column, Kind, TableSpec

DATE, INT = Kind.DATE, Kind.INT
P = Privacy

YEAR = Column("collection_year", "collection_year", INT, privacy=P.KEEP)
CHILD_903 = Column("la_child_id", "CHILD", privacy=P.RECORD_KEY, row_required=True)
CHILD_CIN = Column("la_child_id", "LAchildID", privacy=P.RECORD_KEY, row_required=True)
REFERRAL = Column("referral_date", "CINreferralDate", DATE, row_required=True, privacy=P.KEEP)
SEX_ANY = {"codes": codes.SEX_CANONICAL, "recode": codes.SEX_RECODE, "on_invalid": "null"}

CSC_PERSON = TableSpec(
    name="csc_person",
    source="social_care",
    description="Children's social care person table: the only social-care file with names.",
    files="csc_persons.csv",
    keys=("la_child_id",),
    columns=(
        Column("la_child_id", "LAchildID", privacy=P.RECORD_KEY, row_required=True),
        Column("forename", "Forename", privacy=P.FORENAME),
        Column("surname", "Surname", privacy=P.SURNAME),
        Column("dob", "DOB", DATE, privacy=P.DOB, row_required=True),
        Column("sex", "Sex", **SEX_ANY, privacy=P.KEEP),
        Column("nhs_number", "NHSNumber", privacy=P.NHS_NUMBER, validator="nhs_number", on_invalid="null"),
        Column("upn", "UPN", privacy=P.UPN, validator="upn"),
        Column("upn_unknown", "UPNunknown", required=False, codes=codes.UPN_UNKNOWN, privacy=P.KEEP),
        Column("postcode", "Postcode", privacy=P.POSTCODE, validator="postcode"),
        Column("ethnicity", "Ethnicity", privacy=P.ETHNICITY, codes=codes.DFE_ETHNICITY),
    ),
)

# the relationship codes case-management systems record between a child and a relative (Mosaic, LCS)
RELATIONSHIP_CODES = frozenset({"Mother", "Father", "Parent", "Step-parent", "Grandparent", "Sibling", "Aunt/Uncle",
                                "Other relative", "Foster carer", "Other"})

CSC_RELATIONSHIP = TableSpec(
    name="csc_relationship",
    source="social_care",
    # many councils' extracts carry no relationships; the demo county writes them only with adults on
    optional=True,
    description="Case-management relationships: a child known to social care and a recorded relative (#17).",
    files="csc_relationship.csv",
    keys=("la_child_id", "la_person_id", "relationship"),
    columns=(
        Column("la_child_id", "LAchildID", privacy=P.RECORD_KEY, row_required=True),
        # the relative's person ID in the council's case-management system: the same number space as the adult
        # social care person table (one system), so its token is comparable with asc_person's la_person_id_tok
        Column("la_person_id", "RelatedPersonID", privacy=P.RECORD_KEY, row_required=True),
        Column("related_nhs_number", "RelatedNHSNumber", privacy=P.NHS_NUMBER, validator="nhs_number",
               on_invalid="null"),
        Column("relationship", "RelationshipType", codes=RELATIONSHIP_CODES, privacy=P.KEEP, row_required=True),
        # the date the relationship was recorded on the child's file: what the council knew from then on
        Column("start_date", "StartDate", DATE, row_required=True, privacy=P.KEEP),
    ),
)

CLA_HEADER = TableSpec(
    name="cla_header",
    source="social_care",
    description="SSDA903 header: one row per child looked after in the collection year.",
    files="ssda903/*/header.csv",
    from_path=("collection_year",),
    keys=("collection_year", "la_child_id"),
    columns=(
        YEAR,
        CHILD_903,
        Column("sex", "SEX", **SEX_ANY, privacy=P.KEEP),
        Column("dob", "DOB", DATE, privacy=P.DOB, row_required=True),
        Column("ethnicity", "ETHNIC", privacy=P.ETHNICITY, codes=codes.DFE_ETHNICITY),
        Column("upn", "UPN", privacy=P.UPN, validator="upn"),
    ),
)

CLA_EPISODE = TableSpec(
    name="cla_episode",
    source="social_care",
    description="SSDA903 episodes of care open in the collection year (DEC blank while open).",
    files="ssda903/*/episodes.csv",
    from_path=("collection_year",),
    keys=("collection_year", "la_child_id", "start_date"),
    date_order=(("start_date", "end_date"),),
    columns=(
        YEAR,
        CHILD_903,
        Column("start_date", "DECOM", DATE, row_required=True, privacy=P.KEEP),
        Column("rne", "RNE", codes=codes.CLA_RNE, privacy=P.KEEP),
        Column("legal_status", "LS", codes=codes.CLA_LEGAL_STATUS, privacy=P.KEEP),
        Column("cin_code", "CIN", codes=codes.CLA_CIN, privacy=P.KEEP),
        Column("placement", "PLACE", codes=codes.CLA_PLACEMENT, privacy=P.KEEP),
        Column("provider", "PLACE_PROVIDER", codes=codes.CLA_PROVIDER, privacy=P.KEEP),
        Column("end_date", "DEC", DATE, privacy=P.KEEP),
        Column("reason_end", "REC", privacy=P.KEEP),
        Column("reason_place_change", "REASON_PLACE_CHANGE", privacy=P.KEEP),
        Column("home_postcode", "HOME_POST", privacy=P.POSTCODE, validator="postcode"),
        # a placement postcode locates the carer, a third party: never leaves ingest pseudonymised
        Column("placement_postcode", "PL_POST", privacy=P.DROP, validator="postcode"),
        Column("urn", "URN", privacy=P.RECORD_KEY),
    ),
)

CLA_UASC = TableSpec(
    name="cla_uasc",
    source="social_care",
    description="SSDA903 unaccompanied asylum-seeking children (not in docs/contracts.md yet).",
    files="ssda903/*/uasc.csv",
    from_path=("collection_year",),
    keys=("collection_year", "la_child_id"),
    columns=(
        YEAR,
        CHILD_903,
        Column("sex", "SEX", **SEX_ANY, privacy=P.KEEP),
        Column("dob", "DOB", DATE, privacy=P.DOB, row_required=True),
        Column("uasc_end", "DUC", DATE, future_ok=True, privacy=P.KEEP),
    ),
)

CLA_MISSING = TableSpec(
    name="cla_missing",
    source="social_care",
    description="SSDA903 missing/away-from-placement episodes (not in docs/contracts.md yet).",
    files="ssda903/*/missing.csv",
    from_path=("collection_year",),
    date_order=(("missing_start", "missing_end"),),
    columns=(
        YEAR,
        CHILD_903,
        Column("dob", "DOB", DATE, privacy=P.DOB),
        Column("missing_type", "MISSING", codes=codes.CLA_MISSING, privacy=P.KEEP),
        Column("missing_start", "MIS_START", DATE, row_required=True, privacy=P.KEEP),
        Column("missing_end", "MIS_END", DATE, privacy=P.KEEP),
    ),
)

CIN_FILES = "cin_census/cin_*.xml"

CIN_CHILD = TableSpec(
    name="cin_child",
    source="social_care",
    description="CIN census children (ChildIdentifiers and ChildCharacteristics).",
    files=CIN_FILES,
    reader="cin_xml",
    from_path=("collection_year",),
    keys=("collection_year", "la_child_id"),
    columns=(
        YEAR,
        CHILD_CIN,
        Column("upn", "UPN", privacy=P.UPN, validator="upn"),
        Column("former_upn", "FormerUPN", privacy=P.UPN, validator="upn"),
        Column("upn_unknown", "UPNunknown", codes=codes.UPN_UNKNOWN, privacy=P.KEEP),
        Column("dob", "PersonBirthDate", DATE, privacy=P.DOB),  # unborn children have none
        Column("sex", "Sex", **SEX_ANY, privacy=P.KEEP),  # GenderCurrent (to 2024) is read into Sex
        Column("ethnicity", "Ethnicity", privacy=P.ETHNICITY, codes=codes.DFE_ETHNICITY),
        Column("death_date", "PersonDeathDate", DATE, privacy=P.KEEP),
    ),
)

CIN_EPISODE = TableSpec(
    name="cin_episode",
    source="social_care",
    description="CIN census episodes (CINdetails).",
    files=CIN_FILES,
    reader="cin_xml",
    from_path=("collection_year",),
    keys=("collection_year", "la_child_id", "referral_date"),
    date_order=(("referral_date", "closure_date"),),
    columns=(
        YEAR,
        CHILD_CIN,
        REFERRAL,
        Column("referral_source", "ReferralSource", codes=codes.CIN_REFERRAL_SOURCE, privacy=P.KEEP),
        Column("primary_need", "PrimaryNeedCode", codes=codes.CIN_PRIMARY_NEED, privacy=P.KEEP),
        Column("closure_date", "CINclosureDate", DATE, privacy=P.KEEP),
        Column("closure_reason", "ReasonForClosure", codes=codes.CIN_CLOSURE, privacy=P.KEEP),
    ),
)

CIN_ASSESSMENT = TableSpec(
    name="cin_assessment",
    source="social_care",
    description="CIN census assessments with factors identified (';'-joined codes).",
    files=CIN_FILES,
    reader="cin_xml",
    from_path=("collection_year",),
    date_order=(("assessment_start", "assessment_authorised"),),
    columns=(
        YEAR,
        CHILD_CIN,
        REFERRAL,
        Column("assessment_start", "AssessmentActualStartDate", DATE, row_required=True, privacy=P.KEEP),
        Column("assessment_authorised", "AssessmentAuthorisationDate", DATE, privacy=P.KEEP),
        Column("factors", "AssessmentFactors", validator="assessment_factors", privacy=P.KEEP),
    ),
)

CIN_CP_PLAN = TableSpec(
    name="cin_cp_plan",
    source="social_care",
    description="CIN census child protection plans.",
    files=CIN_FILES,
    reader="cin_xml",
    from_path=("collection_year",),
    date_order=(("cpp_start", "cpp_end"),),
    columns=(
        YEAR,
        CHILD_CIN,
        REFERRAL,
        Column("cpp_start", "CPPstartDate", DATE, row_required=True, privacy=P.KEEP),
        Column("cpp_end", "CPPendDate", DATE, privacy=P.KEEP),
        Column("initial_category", "InitialCategoryOfAbuse", codes=codes.CP_CATEGORY, privacy=P.KEEP),
        Column("latest_category", "LatestCategoryOfAbuse", codes=codes.CP_CATEGORY, privacy=P.KEEP),
    ),
)

EARLY_HELP = TableSpec(
    name="early_help",
    source="social_care",
    description="Early help episodes (riskpipe-defined format).",
    files="early_help.csv",
    keys=("episode_id",),
    date_order=(("start_date", "end_date"),),
    columns=(
        Column("episode_id", "EHEpisodeID", privacy=P.RECORD_KEY, row_required=True),
        Column("la_child_id", "LAchildID", privacy=P.RECORD_KEY, row_required=True),
        Column("start_date", "StartDate", DATE, row_required=True, privacy=P.KEEP),
        Column("end_date", "EndDate", DATE, privacy=P.KEEP),
        Column("referral_source", "ReferralSource", codes=codes.EARLY_HELP_REFERRAL, privacy=P.KEEP),
        Column("lead_agency", "LeadAgency", privacy=P.KEEP),
        Column("closure_reason", "ClosureReason", codes=codes.EARLY_HELP_CLOSURE, privacy=P.KEEP),
    ),
)

SOURCE = Source(
    name="social_care",
    display_name="social care",
    description="Children's social care: case-management persons, SSDA903 (looked after), CIN census, early help.",
    order=20,
    raw_dir="data/raw/social_care",
    tables=(CSC_PERSON, CSC_RELATIONSHIP, CLA_HEADER, CLA_EPISODE, CLA_UASC, CLA_MISSING,
            CIN_CHILD, CIN_EPISODE, CIN_ASSESSMENT, CIN_CP_PLAN, EARLY_HELP),
    person_key="la_child_id",
    persons=PersonRecords(table="csc_person"),
    identifiers=(Identifier("nhs_number", "nhs_number_tok"), Identifier("upn", "upn_tok")),
    record_dates=(RecordDates("cin_episode", "referral_date"), RecordDates("cla_episode", "start_date"),
                  RecordDates("early_help", "start_date")),
    max_records_per_person=1,
    link_rates_to=("school",),
    record_holder="Children's social care (incl. early help)",
    monitored=(MonitoredCodes("cin_episode", "referral_date", ("referral_source", "primary_need")),
               MonitoredCodes("cin_cp_plan", "cpp_start", ("initial_category",)),
               MonitoredCodes("cla_episode", "start_date", ("rne", "legal_status", "placement")),
               MonitoredCodes("early_help", "start_date", ("referral_source",))),
)
