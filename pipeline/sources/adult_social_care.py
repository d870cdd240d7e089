"""Adult social care: the council's person table and Client Level Data (CLD) submissions (docs/formats.md).

Three tables. ``asc_person`` is the council's own person table (the only adult social care file with
names). ``cld_event`` is every row of every quarterly CLD submission, stacked as submitted: the same
event appears in each quarter it is reported in and again when resubmitted, so readers select the
latest version with :mod:`pipeline.sources.cld_events`, which also builds the event ID the way NHSE and
DHSC do (the submitted Event_Reference is not reliable). ``cld_carer_link`` holds one row per
``Adult_n_Linked_Person_ID`` given on a CLD row (a carer's link to the person cared for), read from the
same files by :mod:`pipeline.ingest.cld_links`.

A linked person ID is another person's record key, so it is staged as ``la_person_id`` of
``cld_carer_link``: pseudonymise then gives it the person key's own token domain, and a carer row joins
the person cared for through ``_source_file``/``_source_row`` (the CLD row both tables were read from).
"""

from __future__ import annotations

from pipeline.privacy.actions import Privacy
from pipeline.sources import cld_codes as cld
from pipeline.sources import codes
from pipeline.sources.registry import Identifier, MonitoredCodes, PersonRecords, RecordDates, Source
from pipeline.sources.spec import Column, Kind, TableSpec

DATE, INT, FLOAT = Kind.DATE, Kind.INT, Kind.FLOAT
P = Privacy
CLD_FILES = "cld/CLD_*.csv"

PERSON_ID = Column("la_person_id", "LA_Person_Unique_Identifier", privacy=P.RECORD_KEY, row_required=True)
NHS_NUMBER = Column("nhs_number", "NHS_Number", privacy=P.NHS_NUMBER, validator="nhs_number", on_invalid="null")
GENDER = Column("sex", "Gender", codes=codes.SEX_CANONICAL, recode=cld.GENDER_RECODE, on_invalid="null",
                privacy=P.KEEP)
ETHNICITY = Column("ethnicity", "Ethnicity", codes=cld.ETHNICITY, privacy=P.ETHNICITY)


def _coded(name: str, source: str, allowed: frozenset[str], r1_to_r2: dict[str, str] | None = None) -> Column:
    """A coded CLD column: R1 labels recoded to R2 where the release changed them; unknown codes flagged."""
    recode = cld.with_dash_variants(r1_to_r2) if r1_to_r2 else None
    return Column(name, source, codes=allowed, recode=recode, privacy=P.KEEP)


ASC_PERSON = TableSpec(
    name="asc_person",
    source="adult_social_care",
    optional=True,  # a council running riskpipe for children only holds no adult social care extracts
    description="Adult social care person table (the council's case-management system): one row per person.",
    files="asc_persons.csv",
    keys=("la_person_id",),
    columns=(
        PERSON_ID,
        NHS_NUMBER,
        Column("forename", "Forename", privacy=P.FORENAME),
        Column("surname", "Surname", privacy=P.SURNAME),
        Column("dob", "Date_of_Birth", DATE, privacy=P.DOB, row_required=True),
        GENDER,
        ETHNICITY,
        Column("postcode", "Postcode", privacy=P.POSTCODE, validator="postcode"),
        # an address reference: tokenised in its own "uprn" domain, so sources sharing an address share a token
        Column("uprn", "UPRN", privacy=P.RECORD_KEY),
    ),
)

CLD_EVENT = TableSpec(
    name="cld_event",
    source="adult_social_care",
    optional=True,
    description="CLD submissions stacked as submitted: one row per event per submission (select the latest).",
    files=CLD_FILES,
    date_order=(("period_start", "period_end"), ("event_start", "event_end")),
    columns=(
        Column("la_code", "LA_Code", privacy=P.KEEP),
        Column("period_start", "Reporting_Period_Start_Date", DATE, row_required=True, privacy=P.KEEP),
        Column("period_end", "Reporting_Period_End_Date", DATE, row_required=True, future_ok=True, privacy=P.KEEP),
        PERSON_ID,
        NHS_NUMBER,
        Column("birth_year", "Der_Birth_Year", INT, valid_range=(1900, 2030), privacy=P.KEEP),
        Column("birth_month", "Der_Birth_Month", INT, valid_range=(1, 12), privacy=P.KEEP),
        Column("death_date", "Date_of_Death", DATE, privacy=P.KEEP),
        GENDER,
        ETHNICITY,
        _coded("client_type", "Client_Type", cld.CLIENT_TYPE),
        _coded("funding_status", "Client_Funding_Status", cld.FUNDING_STATUS),
        _coded("primary_support_reason", "Primary_Support_Reason", cld.PRIMARY_SUPPORT_REASON,
               cld.PRIMARY_SUPPORT_REASON_R1_TO_R2),
        _coded("accommodation_status", "Accommodation_Status", cld.ACCOMMODATION_STATUS),
        _coded("employment_status", "Employment_Status", cld.EMPLOYMENT_STATUS),
        _coded("has_unpaid_carer", "Has_Unpaid_Carer", cld.YES_NO_UNKNOWN),
        _coded("event_type", "Event_Type", cld.EVENT_TYPE),
        # the system's own event reference: unreliable (pipeline.sources.cld_events builds the event ID)
        Column("event_reference", "Event_Reference", privacy=P.RECORD_KEY),
        Column("event_start", "Event_Start_Date", DATE, row_required=True, privacy=P.KEEP),
        Column("event_end", "Event_End_Date", DATE, future_ok=True, privacy=P.KEEP),
        _coded("event_outcome", "Event_Outcome", cld.EVENT_OUTCOME, cld.EVENT_OUTCOME_R1_TO_R2),
        _coded("route_of_access", "Request_Route_of_Access", cld.ROUTE_OF_ACCESS),
        _coded("assessment_type", "Assessment_Type", cld.ASSESSMENT_TYPE, cld.ASSESSMENT_TYPE_R1_TO_R2),
        _coded("method_of_assessment", "Method_of_Assessment", cld.METHOD_OF_ASSESSMENT),
        _coded("service_type", "Service_Type", cld.SERVICE_TYPE, cld.SERVICE_TYPE_R1_TO_R2),
        _coded("service_component", "Service_Component", cld.SERVICE_COMPONENT),
        _coded("delivery_mechanism", "Delivery_Mechanism", cld.DELIVERY_MECHANISM),
        Column("unit_cost", "Unit_Cost", FLOAT, valid_range=(0, 1e6), privacy=P.KEEP),
        _coded("cost_frequency", "Cost_Frequency_(Unit_Type)", cld.COST_FREQUENCY),
        Column("planned_units_per_week", "Planned_units_per_week", FLOAT, valid_range=(0, 168), privacy=P.KEEP),
        _coded("review_reason", "Review_Reason", cld.REVIEW_REASON),
        Column("hours_caring", "Total_Hrs_Caring_Per_Week", FLOAT, required=False, valid_range=(0, 168),
               privacy=P.KEEP),
        # other people's record keys: tokenised again, under the person key's own domain, in cld_carer_link
        *(Column(f"adult_{n}_linked_person_id", f"Adult_{n}_Linked_Person_ID", required=False, privacy=P.DROP)
          for n in (1, 2, 3)),
    ),
)

CLD_CARER_LINK = TableSpec(
    name="cld_carer_link",
    source="adult_social_care",
    optional=True,
    description="CLD links from a carer's row to the person cared for (one row per Adult_n_Linked_Person_ID).",
    files=CLD_FILES,
    reader="cld_links",
    columns=(
        # the person cared for: the person key's column name, so its token is comparable with la_person_id_tok
        Column("la_person_id", "Linked_Person_ID", privacy=P.RECORD_KEY, row_required=True),
        Column("link_slot", "Linked_Person_Slot", INT, valid_range=(1, 3), privacy=P.KEEP),
        # the CLD row's line: two carers' rows linking one person in one file stay two links
        Column("cld_row", "CLD_Row", INT, privacy=P.KEEP),
        Column("period_end", "Reporting_Period_End_Date", DATE, future_ok=True, privacy=P.KEEP),
    ),
)

SOURCE = Source(
    name="adult_social_care",
    display_name="adult social care",
    description="Adult social care: the council's person table and Client Level Data (requests, assessments, "
    "services, reviews, carers).",
    order=25,
    raw_dir="data/raw/adult_social_care",
    tables=(ASC_PERSON, CLD_EVENT, CLD_CARER_LINK),
    person_key="la_person_id",
    persons=PersonRecords(table="asc_person"),
    identifiers=(Identifier("nhs_number", "nhs_number_tok"),),
    record_dates=(RecordDates("cld_event", "event_start"),),
    max_records_per_person=1,
    link_rates_gated=False,
    record_holder="Adult social care",
    monitored=(MonitoredCodes("cld_event", "event_start", ("event_type", "primary_support_reason", "service_type")),),
)
