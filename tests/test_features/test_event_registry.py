"""Event builders are found from the source registry, in source order, and checked as they are found."""

from __future__ import annotations

import pandas as pd
import pytest

from features import event_registry
from features.event_registry import EventRegistryError, event_builder
from features.events import (
    address_domains,
    event_builders,
    linked_through,
    record_domains,
    record_keys,
    source_columns,
)
from features.registry import FEATURES, GROUPS
from pipeline.sources.registry import person_keyed_tables, person_sources


def test_builders_run_in_source_order_then_as_declared():
    assert [b.domain for b in event_builders()] == [
        "census", "attendance", "exclusion", "school_move", "fsm", "ks2",
        "referral", "assessment", "cp_plan", "care", "early_help",
        "cld",  # adult social care (features/adult_social_care.py)
        "ae", "admission", "hes_spell", "ecds", "outpatient",  # health, then its adults' (features/adult_health.py)
        "nccis",
        "gp_registration", "gp_code", "gp_medication",  # features/adult_gp.py
        "death",  # features/adult_deaths.py
        "ld_arrangement", "ld_carer", "ld_carer_record",  # learning-disability register (features/ld_register.py)
    ]


def test_records_and_addresses_come_from_the_builders():
    assert record_domains() == {
        "census": ("school", None),
        "referral": ("social_care", "closure_date"),
        "assessment": ("social_care", None),
        "cp_plan": ("social_care", "cpp_end"),
        "care": ("social_care", "end_date"),
        "early_help": ("social_care", "end_date"),
        "ae": ("health", None),
        "admission": ("health", None),
        "nccis": ("nccis", None),
    }
    assert address_domains() == ["census", "nccis"]


def test_tables_are_read_with_their_person_key_or_link_columns():
    keys, through, columns = record_keys(), linked_through(), source_columns()
    assert keys["cin_episode"] == ("social_care", "la_child_id_tok") and keys["ks2"] == ("school", "upn_tok")
    assert set(keys) == set(person_keyed_tables())
    for table, cols in columns.items():
        if table in keys:
            assert keys[table][1] in cols
        else:
            assert set(through[table].on) <= set(cols) and set(through[table].on) <= set(columns[through[table].parent])
    assert "school_sen_need" not in columns  # declared as a child table, but no builder reads it


def test_coverage_features_follow_the_person_sources_whose_events_are_records():
    """A source's ``in_<source>_ever`` exists only where a builder marks its events as records of the person: a
    source whose events never make a record span (the adults' GP, deaths, adult social care) would give an input
    that is 0 for everyone, listed on the card as if it said something."""
    from features.events import record_domains

    recorded = {source for source, _ in record_domains().values()}
    coverage = [n for n, f in FEATURES.items() if f.group == "coverage" and n.startswith("in_") and n.endswith("_ever")]
    assert coverage == [f"in_{s.name}_ever" for s in person_sources() if s.coverage_features and s.name in recorded]
    assert {"in_school_ever", "in_social_care_ever", "in_health_ever", "in_nccis_ever"} <= set(coverage)
    assert not {"in_gp_ever", "in_deaths_ever", "in_adult_social_care_ever"} & set(FEATURES)
    assert "in_ld_register_ever" not in FEATURES  # holding a person is special-category information
    # sources' groups in source order (each source's adults' module after its own), then family, the adults'
    # household (features.adult_household) and context's
    assert GROUPS == ("school", "social_care", "adult_social_care", "health", "adult_health", "adult_gp",
                      "ld_register", "family", "adult_household", "coverage", "demographics", "fairness")


@pytest.fixture
def scratch_registry(monkeypatch):
    """Builders declared in a test are forgotten after it."""
    monkeypatch.setattr(event_registry, "_BUILDERS", dict(event_registry._BUILDERS))


def _nothing(frame: pd.DataFrame) -> pd.DataFrame:
    return frame


def test_a_builder_outside_its_source_module_is_refused(scratch_registry):
    event_builder("stray", source="school", tables={"school_pupil": ("census_date",)})(_nothing)
    with pytest.raises(EventRegistryError, match="features/school.py"):
        event_builders()


def test_a_domain_built_twice_is_refused(scratch_registry):
    with pytest.raises(EventRegistryError, match="'census' is built in features.school and"):
        event_builder("census", source="school")(_nothing)
