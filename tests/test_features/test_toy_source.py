"""A new source needs one spec module and one features module, and no edit anywhere else.

The two modules of a toy source (youth club visits) are written to a temporary folder that joins the
``pipeline.sources`` and ``features`` packages for one test. Its raw CSV is then ingested,
pseudonymised and linked to the tiny county's pupils by UPN, and its visits become feature columns,
checked against a count made by hand from the raw rows.
"""

from __future__ import annotations

import sys
import textwrap
from datetime import date

import pandas as pd
import pytest
from stdnum.gb import upn as stdnum_upn

import features
import pipeline.sources
from features import adult_health, registry
from features.build import build_events, compute_features
from features.events import event_builders, source_columns
from features.window import connect_duckdb
from pipeline.core.config import IngestParams
from pipeline.ingest.files import plan_ingest, read_table_frames
from pipeline.ingest.tables import ingest_table
from pipeline.linkage.clusters import build_person_index, record_limits
from pipeline.linkage.deterministic import find_deterministic_links
from pipeline.linkage.persons import build_person_records
from pipeline.pseudonymise.tables import pseudonymise_table
from pipeline.sources.registry import all_sources, person_sources, table_spec

from .conftest import tiny_person_index, tiny_tables

SPEC_MODULE = '''
"""Youth club visits: a toy source for tests (one row per visit)."""

from pipeline.privacy.actions import Privacy as P
from pipeline.sources.registry import Identifier, PersonRecords, RecordDates, Source
from pipeline.sources.spec import Column, Kind, TableSpec

YOUTH_CLUB_VISIT = TableSpec(
    name="youth_club_visit",
    source="youth_club",
    description="Visits to council youth clubs.",
    files="youth_club_visits.csv",
    columns=(
        Column("member_id", "MemberID", privacy=P.RECORD_KEY, row_required=True),
        Column("upn", "UPN", privacy=P.UPN, validator="upn"),
        Column("dob", "DOB", Kind.DATE, privacy=P.DOB),
        Column("visit_date", "VisitDate", Kind.DATE, row_required=True, privacy=P.KEEP),
        Column("activity", "Activity", privacy=P.KEEP),
    ),
)

SOURCE = Source(
    name="youth_club",
    display_name="youth club",
    description="Council youth club attendance registers.",
    order=35,
    raw_dir="data/raw/youth_club",
    tables=(YOUTH_CLUB_VISIT,),
    person_key="member_id",
    persons=PersonRecords(table="youth_club_visit", latest_by=("visit_date",)),
    identifiers=(Identifier("upn", "upn_tok"),),
    record_dates=(RecordDates("youth_club_visit", "visit_date"),),
    max_records_per_person=1,
)
'''

FEATURES_MODULE = '''
"""Youth club events and features (toy source)."""

from features.event_registry import event_builder, person_attributes
from features.feature import Feature
from features.window import W12

person_attributes("youth_club_visit", trust=50, columns=("birth_year", "birth_month"), latest_by="visit_date")


@event_builder("youth_club_visit", source="youth_club", record=True,
               tables={"youth_club_visit": ("visit_date", "activity")})
def build_visit_events(visits):
    out = visits.rename(columns={"visit_date": "event_date"}).dropna(subset=["event_date"])
    return out[["person_id", "event_date", "activity"]]


FEATURES = (
    Feature("youth_club_visits_12m", "Youth club visits, last 12 months", "youth club", "12m", "numeric", "model",
            "youth_club", "youth_club_visit", f"count(*) FILTER (WHERE {W12})", 0),
)
'''

KEY = b"toy-source-test-key-32-bytes-long!!"
INDEX = date(2020, 3, 31)
EXTRACT = date(2026, 3, 31)


def _upn(body: str) -> str:
    return stdnum_upn.calc_check_digit(body) + body


UPN_P1, UPN_P2 = _upn("938400120001"), _upn("938400120002")
# m1 is the tiny county's P1 (same UPN); m3 is known to the youth club only; one row has no visit date
RAW_ROWS = [
    ("m1", UPN_P1, "2005-11-20", "2019-12-15", "football"),
    ("m1", UPN_P1, "2005-11-20", "2019-06-01", "music"),
    ("m1", UPN_P1, "2005-11-20", "2018-01-10", "football"),
    ("m1", UPN_P1, "2005-11-20", "2020-05-01", "football"),  # after the index date: never a feature
    ("m1", UPN_P1, "2005-11-20", "", "music"),  # quarantined: no visit date
    ("m3", "", "2006-01-01", "2020-01-05", "art"),
]


@pytest.fixture
def youth_club(tmp_path, monkeypatch):
    """The toy source's two modules on the package paths, for this test only."""
    (tmp_path / "sources_ext").mkdir()
    (tmp_path / "features_ext").mkdir()
    (tmp_path / "sources_ext" / "youth_club.py").write_text(textwrap.dedent(SPEC_MODULE))
    (tmp_path / "features_ext" / "youth_club.py").write_text(textwrap.dedent(FEATURES_MODULE))
    monkeypatch.setattr(pipeline.sources, "__path__", [*pipeline.sources.__path__, str(tmp_path / "sources_ext")])
    monkeypatch.setattr(features, "__path__", [*features.__path__, str(tmp_path / "features_ext")])
    all_sources.cache_clear()
    # the registry's FEATURES are collected once, at import; collect them again with the toy present
    monkeypatch.setattr(registry, "FEATURES", registry.collect_features())
    yield tmp_path
    for package, name in ((pipeline.sources, "youth_club"), (features, "youth_club")):
        sys.modules.pop(f"{package.__name__}.{name}", None)
        if hasattr(package, name):
            delattr(package, name)
    all_sources.cache_clear()


def _write_raw(root) -> None:
    raw = root / "data" / "raw" / "youth_club"
    raw.mkdir(parents=True)
    frame = pd.DataFrame(RAW_ROWS, columns=["MemberID", "UPN", "DOB", "VisitDate", "Activity"])
    frame.to_csv(raw / "youth_club_visits.csv", index=False)


def _visits_before(member: str, start: date, end: date) -> list[date]:
    """Independent of the pipeline: the raw visit dates of ``member`` in ``[start, end)``."""
    dates = [date.fromisoformat(row[3]) for row in RAW_ROWS if row[0] == member and row[3]]
    return [d for d in dates if start <= d < end]


def test_a_new_source_flows_from_raw_csv_to_feature_columns(youth_club):
    root = youth_club
    assert "youth_club" in all_sources() and "youth_club" in [s.name for s in person_sources()]

    # ingest: the source is planned from its declared defaults and its CSV validated against its spec
    _write_raw(root)
    plan = next(p for p in plan_ingest(IngestParams(), root) if p.spec.name == "youth_club_visit")
    spec = table_spec("youth_club_visit")
    ingested = ingest_table(read_table_frames(spec, plan.files(), plan.raw_dir), spec, EXTRACT)
    assert len(ingested.accepted) == 5 and len(ingested.quarantined) == 1

    # pseudonymise: identifiers become tokens; the pupils' UPNs are tokenised the same way
    visits = pseudonymise_table(ingested.accepted, spec, KEY, None)
    assert {"member_id_tok", "upn_tok", "birth_year", "visit_date"} <= set(visits.columns)
    assert "upn" not in visits.columns and "member_id" not in visits.columns
    school_tokens = pseudonymise_table(pd.DataFrame({"upn": [UPN_P1, UPN_P2]}), table_spec("school_pupil"), KEY,
                                       None)["upn_tok"]
    tables = tiny_tables()
    for name in ("school_pupil", "ks2"):
        tables[name]["upn_tok"] = tables[name]["upn_tok"].replace({"u1": school_tokens[0], "u2": school_tokens[1]})
    tables["youth_club_visit"] = visits[source_columns()["youth_club_visit"]]

    # link: the youth club member with P1's UPN joins P1's school record; m3 stands alone
    persons = build_person_records({"school_pupil": tables["school_pupil"], "youth_club_visit": visits})
    links, _ = find_deterministic_links(persons)
    no_pairs = pd.DataFrame(columns=["source_l", "record_key_tok_l", "source_r", "record_key_tok_r",
                                     "match_probability"])
    linked, _ = build_person_index(persons, links, no_pairs, 0.95, max_records_per_person=record_limits())
    person_of = linked.set_index(["table", "record_key_tok"])["person_id"].astype("str")
    member_tok = dict(zip(ingested.accepted["member_id"], visits["member_id_tok"], strict=True))  # same rows
    p1 = person_of[("school", school_tokens[0])]
    p2 = person_of[("school", school_tokens[1])]
    m3 = person_of[("youth_club", member_tok["m3"])]
    assert person_of[("youth_club", member_tok["m1"])] == p1 and m3 not in (p1, p2)

    # the tiny county's other sources keep their people, renamed to the linked ids
    index = tiny_person_index()
    index = index[index["table"] != "school"].assign(person_id=lambda f: f["person_id"].replace({"P1": p1, "P2": p2}))
    person_index = pd.concat([index, linked[["table", "record_key_tok", "person_id"]]], ignore_index=True)

    # features: the youth club's builder runs, its visits are records, and its feature is computed
    assert "youth_club_visit" in [b.domain for b in event_builders()]
    events = build_events(tables, person_index)
    assert (events["record"]["source"] == "youth_club").sum() == len(ingested.accepted) == 5
    cohort = pd.DataFrame({"row_id": [0, 1, 2], "person_id": [p1, p2, m3], "index_date": [pd.Timestamp(INDEX)] * 3})
    frame = compute_features(connect_duckdb(threads=1), cohort, events)[0].set_index("person_id")

    year_before = date(INDEX.year - 1, INDEX.month, INDEX.day)
    assert frame.loc[p1, "youth_club_visits_12m"] == len(_visits_before("m1", year_before, INDEX)) == 2
    assert frame.loc[m3, "youth_club_visits_12m"] == len(_visits_before("m3", year_before, INDEX)) == 1
    assert frame.loc[p2, "youth_club_visits_12m"] == 0
    assert list(frame.loc[[p1, p2, m3], "in_youth_club_ever"]) == [1, 0, 1]
    latest = max(_visits_before("m1", date.min, INDEX))
    months = (INDEX.year - latest.year) * 12 + INDEX.month - latest.month
    assert frame.loc[p1, "months_since_youth_club_record"] == months == 3
    assert pd.isna(frame.loc[p2, "months_since_youth_club_record"])
    record = events["record"]
    before = record[(record["person_id"] == p1) & (record["event_date"] < pd.Timestamp(INDEX))]
    assert "youth_club" in set(before["source"])
    assert frame.loc[p1, "sources_ever"] == before["source"].nunique()


def test_the_new_source_takes_its_place_in_feature_order(youth_club):
    names = list(registry.FEATURES)
    # health's features come first in features/health.py, then its adults' in features/adult_health.py
    last_health = adult_health.FEATURES[-1].name
    assert names.index("youth_club_visits_12m") == names.index(last_health) + 1
    assert names.index("admissions_adverse_social_ever") < names.index(last_health)
    assert names.index("in_youth_club_ever") == names.index("months_since_health_record") + 1
    assert names.index("in_nccis_ever") == names.index("months_since_youth_club_record") + 1
    assert "youth club" in registry.FEATURES["sources_ever"].description
    assert registry.FEATURES["in_youth_club_ever"].description.startswith("Youth club holds a record")
    assert "youth_club" in registry.feature_groups(registry.FEATURES)


def test_the_toy_source_leaves_no_trace():
    """Runs after the tests above (file order): the registries are as shipped again."""
    assert "youth_club" not in all_sources()
    assert "youth_club_visit" not in [b.domain for b in event_builders()]
    assert "youth_club_visit" not in source_columns()
    assert not any("youth_club" in name for name in registry.collect_features())
