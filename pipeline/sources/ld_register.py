"""The council's learning-disability case register (issue #18): who is on it, where each person lives and
with whom, and since when (docs/contracts.md, DOMAIN_ADULTS.md §6c).

Sheffield's Case Register (S46) and the registers councils keep for planning learning-disability services
hold what neither the GP record (current address only, no link to a carer) nor CLD (the cared-for person
named only from Release 2, 2024) can give back in time: each living arrangement with its start and end, and
the family carer living with the person, with the carer's own identity and date of birth. The older-carer
planning register (``ld_older_carer``) is built from it.

Three tables, all optional (a council without such a register ingests as before):

- ``ld_register_person``: one row per person the register knows: people with a learning disability and
  their family carers, each under the case-management system's person ID (carers hold their own person
  records, as they do in the council's system); ``register_role`` says which.
- ``ld_arrangement``: one row per living arrangement of a person on the register (with family, supported
  living, residential or nursing care, Shared Lives, own tenancy or alone), with start and end dates and
  the date the row was recorded (a move is entered weeks after it happens: features read only rows
  recorded before their index date).
- ``ld_carer``: one row per carer of a family arrangement. The carer's person ID is staged as
  ``ld_person_id`` (the person key's column name, so its token shares the person key's domain and the carer
  resolves to the person index like anyone else, health records included); ``arrangement_ref`` is
  tokenised in its own domain, the same in ``ld_arrangement``, and joins the carer to the person cared for.
"""

from __future__ import annotations

from pipeline.privacy.actions import Privacy
from pipeline.sources import codes
from pipeline.sources.registry import Identifier, PersonRecords, RecordDates, Source
from pipeline.sources.spec import Column, Kind, TableSpec

DATE = Kind.DATE
P = Privacy
SOURCE_NAME = "ld_register"

REGISTER_ROLE = frozenset({"Person with a learning disability", "Carer"})
# the living situations the registers record (the CLD Accommodation_Status "with family" and the
# settings of long-term support, as a learning-disability team plans them)
ARRANGEMENT = frozenset({"With family", "Supported living", "Residential care", "Nursing care", "Shared Lives",
                         "Own tenancy or alone"})
# a placement out of the family home (the outcome's moves: care homes, supported living, Shared Lives)
PLACEMENTS = frozenset({"Supported living", "Residential care", "Nursing care", "Shared Lives"})
RELATIONSHIP = frozenset({"Mother", "Father", "Parent", "Sibling", "Other relative", "Friend or neighbour"})
YES_NO = frozenset({"Y", "N"})
GENDER_RECODE = {"Male": "M", "Female": "F", "Unknown": "U", "M": "M", "F": "F", "U": "U"}

PERSON_ID = Column("ld_person_id", "Person_ID", privacy=P.RECORD_KEY, row_required=True)
ARRANGEMENT_REF = Column("arrangement_ref", "Arrangement_ID", privacy=P.RECORD_KEY, row_required=True)

LD_REGISTER_PERSON = TableSpec(
    name="ld_register_person",
    source=SOURCE_NAME,
    optional=True,  # few councils keep such a register; its absence is reported, not an error
    description="Learning-disability case register: one row per person (people with LD and their family carers).",
    files="ld_persons.csv",
    keys=("ld_person_id",),
    columns=(
        PERSON_ID,
        Column("nhs_number", "NHS_Number", privacy=P.NHS_NUMBER, validator="nhs_number", on_invalid="null"),
        Column("forename", "Forename", privacy=P.FORENAME),
        Column("surname", "Surname", privacy=P.SURNAME),
        Column("dob", "Date_of_Birth", DATE, privacy=P.DOB, row_required=True),
        Column("sex", "Gender", codes=codes.SEX_CANONICAL, recode=GENDER_RECODE, on_invalid="null", privacy=P.KEEP),
        Column("postcode", "Postcode", privacy=P.POSTCODE, validator="postcode"),
        Column("register_role", "Register_Role", codes=REGISTER_ROLE, row_required=True, privacy=P.KEEP),
        Column("registered_date", "Registered_Date", DATE, privacy=P.KEEP),
    ),
)

LD_ARRANGEMENT = TableSpec(
    name="ld_arrangement",
    source=SOURCE_NAME,
    optional=True,
    description="Living arrangements of people on the LD register: what, from when to when, recorded when.",
    files="ld_arrangements.csv",
    keys=("arrangement_ref",),
    date_order=(("start_date", "end_date"), ("start_date", "recorded_date")),
    columns=(
        ARRANGEMENT_REF,
        PERSON_ID,
        Column("arrangement", "Living_Arrangement", codes=ARRANGEMENT, row_required=True, privacy=P.KEEP),
        Column("start_date", "Start_Date", DATE, row_required=True, privacy=P.KEEP),
        Column("end_date", "End_Date", DATE, privacy=P.KEEP),
        Column("recorded_date", "Recorded_Date", DATE, row_required=True, privacy=P.KEEP),
    ),
)

LD_CARER = TableSpec(
    name="ld_carer",
    source=SOURCE_NAME,
    optional=True,
    description="Family carers of each arrangement: the carer's person ID, relationship, main carer, dates.",
    files="ld_carers.csv",
    date_order=(("start_date", "end_date"), ("start_date", "recorded_date")),
    columns=(
        # the carer's own person ID: the person key's column name, so the token resolves to the person index
        Column("ld_person_id", "Carer_Person_ID", privacy=P.RECORD_KEY, row_required=True),
        ARRANGEMENT_REF,
        Column("relationship", "Relationship", codes=RELATIONSHIP, privacy=P.KEEP),
        Column("main_carer", "Main_Carer", codes=YES_NO, on_invalid="null", privacy=P.KEEP),
        Column("start_date", "Start_Date", DATE, row_required=True, privacy=P.KEEP),
        Column("end_date", "End_Date", DATE, privacy=P.KEEP),
        Column("recorded_date", "Recorded_Date", DATE, row_required=True, privacy=P.KEEP),
    ),
)

SOURCE = Source(
    name=SOURCE_NAME,
    display_name="learning disability register",
    description="The council's learning-disability case register: people with LD, their family carers and "
    "living arrangements over time.",
    order=65,  # after GP, hospital, CLD and deaths: its carers' records domain builds on theirs
    raw_dir="data/raw/ld_register",
    tables=(LD_REGISTER_PERSON, LD_ARRANGEMENT, LD_CARER),
    person_key="ld_person_id",
    persons=PersonRecords(table="ld_register_person"),
    identifiers=(Identifier("nhs_number", "nhs_number_tok"),),
    # a carer has no arrangement of their own: their carer rows date them, so an as-of index holds them too
    record_dates=(RecordDates("ld_arrangement", "recorded_date"), RecordDates("ld_carer", "recorded_date")),
    max_records_per_person=1,
    link_rates_gated=False,
    record_holder="The learning disability register",
    coverage_features=False,  # being on the register is special-category information: never a coverage input
)
