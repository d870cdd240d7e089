"""The interventions source ("early help records"): what was done for children, recorded as events.

Every scoring run and score, every offer of help and what came of it, programme rollouts by ward,
recording-regime changes and unit costs (docs/contracts.md "Interventions (early help records)";
docs/own_extracts.md says how a council fills them from its case-management system). Every table is
optional: a county without ``data/raw/interventions/`` ingests as before.

The source holds no person records and takes no part in linkage (``persons`` is None): its rows name
a child by ``nhs_number`` and/or ``upn`` (tokenised exactly as every other source's, so the tokens
meet theirs) or by ``person_token`` (already the person index ``person_id``, written by the web app:
kept as it is). ``pipeline.impact.persons`` maps each row to a person after linkage. A row naming
the child by none of the three is quarantined (``no_nhs_number_upn_or_person_token``).
"""

from __future__ import annotations

from pipeline.privacy.actions import Privacy
from pipeline.sources.registry import Source
from pipeline.sources.spec import Column, Kind, TableSpec

DATE, INT, FLOAT, BOOL = Kind.DATE, Kind.INT, Kind.FLOAT, Kind.BOOL
P = Privacy

ROUTES = frozenset({"list", "professional", "self"})
OFFER_STATUSES = frozenset({"offered", "accepted", "declined", "started", "ended", "not_appropriate", "already_known"})
APP_STATUSES = frozenset({"offered", "accepted", "declined", "not_appropriate", "already_known"})
PROGRAMME_KINDS = frozenset({"offer", "area"})
VALUE_TYPES = frozenset({"fiscal", "economic", "social"})
IDENTIFIED_BY = ("nhs_number", "upn", "person_token")
YEARS = (1990, 2100)


def child_columns() -> tuple[Column, ...]:
    """The three ways a row names a child; a file may carry any of them (at least one per row)."""
    return (
        Column("nhs_number", "nhs_number", required=False, validator="nhs_number", on_invalid="null",
               privacy=P.NHS_NUMBER),
        Column("upn", "upn", required=False, validator="upn", privacy=P.UPN),
        # the person index ID the list showed: already a pseudonym, kept; anything else in it is removed
        Column("person_token", "person_token", required=False, validator="person_token", on_invalid="null",
               privacy=P.KEEP),
    )


def reason_column() -> Column:
    """A one-line free-text reason: kept only when it cannot name anyone (``free_text`` validator nulls it)."""
    return Column("reason", "reason", required=False, validator="free_text", on_invalid="null", privacy=P.KEEP)


LIST_RUN = TableSpec(
    name="list_run",
    source="interventions",
    description="One row per scoring run: date, model release, capacity and the score of the last child listed.",
    files="list_runs.csv",
    keys=("run_id",),
    optional=True,
    columns=(
        Column("run_id", "run_id", row_required=True, privacy=P.KEEP),
        Column("run_date", "run_date", DATE, row_required=True, privacy=P.KEEP),
        Column("model", "model", privacy=P.KEEP),
        Column("release", "release", required=False, privacy=P.KEEP),
        Column("capacity", "capacity", INT, valid_range=(0, 1e7), privacy=P.KEEP),
        Column("cut_score", "cut_score", FLOAT, valid_range=(0, 1), privacy=P.KEEP),
        Column("scored_rows", "scored_rows", INT, required=False, valid_range=(0, 1e8), privacy=P.KEEP),
        Column("rule", "rule", required=False, privacy=P.KEEP),  # how the list was drawn: about lists, not people
    ),
)

LIST_SCORE = TableSpec(
    name="list_score",
    source="interventions",
    description="Every child scored in a run (listed or not): score, rank and whether in the top k.",
    files="list_scores.csv",
    keys=("run_id", *IDENTIFIED_BY),
    identified_by=IDENTIFIED_BY,
    optional=True,
    columns=(
        Column("run_id", "run_id", row_required=True, privacy=P.KEEP),
        *child_columns(),
        Column("score", "score", FLOAT, row_required=True, valid_range=(0, 1), privacy=P.KEEP),
        Column("rank", "rank", INT, valid_range=(1, 1e8), privacy=P.KEEP),
        Column("listed", "listed", BOOL, privacy=P.KEEP),
    ),
)

OFFER = TableSpec(
    name="offer",
    source="interventions",
    description="Offer events from the council's case-management system: one row per event, an offer's "
    "later events repeating its offer_id.",
    files="offers.csv",
    identified_by=IDENTIFIED_BY,
    optional=True,
    columns=(
        # a case-management reference: tokenised, so events group by it without carrying the system's ID
        Column("offer_id", "offer_id", row_required=True, privacy=P.RECORD_KEY),
        *child_columns(),
        Column("programme", "programme", row_required=True, privacy=P.KEEP),
        Column("run_id", "run_id", required=False, privacy=P.KEEP),
        Column("route", "route", codes=ROUTES, on_invalid="null", privacy=P.KEEP),
        Column("team", "team", required=False, privacy=P.KEEP),
        Column("status", "status", row_required=True, codes=OFFER_STATUSES, on_invalid="null", privacy=P.KEEP),
        Column("date", "date", DATE, row_required=True, privacy=P.KEEP),
        Column("override", "override", BOOL, required=False, privacy=P.KEEP),
        reason_column(),
        Column("dosage", "dosage", INT, required=False, valid_range=(0, 10000), privacy=P.KEEP),
        Column("recorded_by_role", "recorded_by_role", required=False, privacy=P.KEEP),
    ),
)

APP_OFFER = TableSpec(
    name="app_offer",
    source="interventions",
    description="Offer events recorded in the web app (python -m webapp.manage export_offers).",
    files="app_offers.csv",
    keys=("offer_id",),
    optional=True,
    columns=(
        Column("offer_id", "offer_id", row_required=True, privacy=P.RECORD_KEY),
        Column("person_token", "person_token", row_required=True, validator="person_token", on_invalid="null",
               privacy=P.KEEP),
        Column("model", "model", required=False, privacy=P.KEEP),
        Column("release", "release", required=False, privacy=P.KEEP),
        Column("list_date", "list_date", DATE, required=False, privacy=P.KEEP),
        Column("route", "route", codes=ROUTES, on_invalid="null", privacy=P.KEEP),
        Column("team", "team", required=False, privacy=P.KEEP),
        Column("status", "status", row_required=True, codes=APP_STATUSES, on_invalid="null", privacy=P.KEEP),
        Column("date", "date", DATE, row_required=True, privacy=P.KEEP),
        reason_column(),
        Column("recorded_by_role", "recorded_by_role", required=False, privacy=P.KEEP),
    ),
)

PROGRAMME = TableSpec(
    name="programme",
    source="interventions",
    description="Programmes of help: offered to a child (offer) or rolled out to an area (area), with cost.",
    files="programmes.csv",
    keys=("programme",),
    optional=True,
    columns=(
        Column("programme", "programme", row_required=True, privacy=P.KEEP),
        Column("programme_name", "name", privacy=P.KEEP),  # "name" alone reads as a person's name column
        Column("description", "description", required=False, privacy=P.KEEP),
        Column("kind", "kind", codes=PROGRAMME_KINDS, row_required=True, on_invalid="null", privacy=P.KEEP),
        Column("cost_per_family_gbp", "cost_per_family_gbp", FLOAT, required=False, valid_range=(0, 1e7),
               privacy=P.KEEP),
        Column("price_year", "price_year", INT, required=False, valid_range=YEARS, privacy=P.KEEP),
        Column("agency", "agency", required=False, privacy=P.KEEP),
    ),
)

PROGRAMME_ROLLOUT = TableSpec(
    name="programme_rollout",
    source="interventions",
    description="When an area programme went (or goes) live in each ward.",
    files="programme_rollout.csv",
    keys=("programme", "ward_code"),
    optional=True,
    columns=(
        Column("programme", "programme", row_required=True, privacy=P.KEEP),
        Column("ward_code", "ward_code", row_required=True, privacy=P.KEEP),
        Column("go_live_date", "go_live_date", DATE, row_required=True, future_ok=True, privacy=P.KEEP),
        Column("capacity_per_month", "capacity_per_month", INT, required=False, valid_range=(0, 1e6),
               privacy=P.KEEP),
    ),
)

RECORDING_REGIME = TableSpec(
    name="recording_regime",
    source="interventions",
    description="Changes in how a field is recorded (county-wide or in one ward), not in what happens.",
    files="recording_regime.csv",
    keys=("source", "table", "field", "ward_code", "change_date"),
    optional=True,
    columns=(
        Column("source", "source", privacy=P.KEEP),
        Column("table", "table", required=False, privacy=P.KEEP),
        Column("field", "field", privacy=P.KEEP),
        Column("ward_code", "ward_code", required=False, privacy=P.KEEP),  # blank: county-wide
        Column("change_date", "change_date", DATE, row_required=True, privacy=P.KEEP),
        Column("description", "description", required=False, privacy=P.KEEP),
    ),
)

UNIT_COST = TableSpec(
    name="unit_cost",
    source="interventions",
    description="What an outcome costs, by kind of value and the agency bearing it (PSSRU, GMCA unit cost database).",
    files="unit_costs.csv",
    # no key: one outcome may carry several values (two sources, two price years) for the analyst to choose from
    optional=True,
    columns=(
        Column("outcome", "outcome", row_required=True, privacy=P.KEEP),
        Column("description", "description", required=False, privacy=P.KEEP),
        Column("value_gbp", "value_gbp", FLOAT, row_required=True, valid_range=(0, 1e8), privacy=P.KEEP),
        Column("price_year", "price_year", INT, valid_range=YEARS, privacy=P.KEEP),
        Column("value_type", "value_type", codes=VALUE_TYPES, row_required=True, on_invalid="null",
               privacy=P.KEEP),
        Column("cashable", "cashable", BOOL, privacy=P.KEEP),
        Column("agency", "agency", privacy=P.KEEP),
        Column("per", "per", required=False, privacy=P.KEEP),
        Column("source", "source", required=False, privacy=P.KEEP),
    ),
)

SOURCE = Source(
    name="interventions",
    display_name="early help records",
    description="What was done: scoring runs and scores, offers of help and their outcomes, programme rollouts "
    "by ward, recording-regime changes and unit costs.",
    order=70,
    raw_dir="data/raw/interventions",
    tables=(LIST_RUN, LIST_SCORE, OFFER, APP_OFFER, PROGRAMME, PROGRAMME_ROLLOUT, RECORDING_REGIME, UNIT_COST),
)
