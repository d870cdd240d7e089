"""The source registry: every source declared once, consistently, and found by every stage."""

from __future__ import annotations

from dataclasses import replace

import pytest

from pipeline.privacy.actions import CLEAR_PRIVACY, Privacy
from pipeline.sources import registry
from pipeline.sources.registry import (
    Identifier,
    PersonRecords,
    RecordDates,
    Source,
    SourceRegistryError,
    all_sources,
    all_tables,
    get_source,
    person_keyed_tables,
    person_sources,
    table_spec,
)
from pipeline.sources.spec import Column, TableSpec

P = Privacy


def toy_table(name: str = "toy_visit", source: str = "toy") -> TableSpec:
    return TableSpec(name, source, "toy visits", columns=(
        Column("toy_id", "ToyID", privacy=P.RECORD_KEY, row_required=True),
        Column("visit_date", "VisitDate", privacy=P.KEEP),
    ))


def toy_source(**changes) -> Source:
    fields = dict(name="toy", display_name="toy", description="a toy source", order=55, raw_dir="data/raw/toy",
                  tables=(toy_table(),), person_key="toy_id", persons=PersonRecords("toy_visit"),
                  record_dates=(RecordDates("toy_visit", "visit_date"),))
    return Source(**(fields | changes))


def test_the_shipped_sources_in_order():
    assert list(all_sources()) == [
        "school", "social_care", "adult_social_care", "health", "nccis", "gp", "deaths", "ld_register", "interventions",
        "reference"]
    assert [s.name for s in person_sources()] == [
        "school", "social_care", "adult_social_care", "health", "nccis", "gp", "deaths", "ld_register"]
    assert not get_source("reference").holds_people
    assert not get_source("interventions").holds_people  # events mapped to people after linkage


def test_every_table_is_declared_by_exactly_one_source_which_it_names():
    declared = [spec for source in all_sources().values() for spec in source.tables]
    assert len({s.name for s in declared}) == len(declared)
    assert set(all_tables()) == {s.name for s in declared}
    for name, spec in all_tables().items():
        assert table_spec(name) is spec
        assert spec in get_source(spec.source).tables


def test_person_keys_are_tokenised_and_identifiers_are_tokens_of_person_table_columns():
    for source in person_sources():
        person_table = source.table(source.persons.table)
        assert source.person_key_privacy is person_table.column(source.person_key).privacy
        assert source.person_key_privacy not in (*CLEAR_PRIVACY, P.DROP), source.name
        token_sources = {f"{c.name}_tok" for c in person_table.columns if c.privacy not in (*CLEAR_PRIVACY, P.DROP)}
        for identifier in source.identifiers:
            assert identifier.column in token_sources, (source.name, identifier.column)


def test_person_keyed_tables_hold_their_source_person_key():
    keyed = person_keyed_tables()
    assert keyed["cla_episode"].name == "social_care" and keyed["ks2"].name == "school"
    assert "school_attendance" not in keyed  # linked through the pupil record, not keyed by UPN
    for table, source in keyed.items():
        assert source.person_key in {c.name for c in all_tables()[table].columns}


def test_a_column_must_say_what_pseudonymise_does_with_it():
    with pytest.raises(TypeError, match="privacy"):
        Column("note", "Note")


@pytest.mark.parametrize(("changes", "message"), [
    ({"tables": (toy_table(source="school"),)}, "declare another source"),
    ({"record_dates": (RecordDates("nowhere", "visit_date"),)}, "does not declare"),
    ({"person_key": None}, "no person_key"),
])
def test_an_inconsistent_source_is_refused_when_declared(changes, message):
    with pytest.raises(SourceRegistryError, match=message):
        toy_source(**changes)


def test_clashing_declarations_are_refused(monkeypatch):
    real = registry._sources_in_package()

    def declared(*extra):
        monkeypatch.setattr(registry, "_sources_in_package", lambda: [*real, *extra])
        registry.all_sources.cache_clear()

    try:
        declared(toy_source(tables=(toy_table("ks2"),), persons=None, person_key=None, record_dates=()))
        with pytest.raises(SourceRegistryError, match="'ks2' is declared by"):
            all_sources()
        declared(toy_source(name="school", tables=(toy_table(source="school"),)))
        with pytest.raises(SourceRegistryError, match="declared twice"):
            all_sources()
        declared(toy_source(order=10))
        with pytest.raises(SourceRegistryError, match="share an order"):
            all_sources()
        declared(toy_source(link_rates_to=("nowhere",)))
        with pytest.raises(SourceRegistryError, match="unknown sources"):
            all_sources()
        declared(toy_source(identifiers=(Identifier("upn", "toy_id_tok"),), link_rates_to=("school",)))
        assert list(all_sources()) == ["school", "social_care", "adult_social_care", "health", "nccis", "gp", "toy",
                                       "deaths", "ld_register", "interventions", "reference"]  # by order
    finally:
        registry.all_sources.cache_clear()


def test_unknown_names_list_the_known_ones():
    with pytest.raises(SourceRegistryError, match="known: school, social_care"):
        get_source("allotments")
    with pytest.raises(SourceRegistryError, match="unknown table 'allotment_plot'"):
        table_spec("allotment_plot")


def test_link_rate_directions_and_which_the_gate_judges():
    assert registry.link_rate_directions() == [
        "school_to_health", "social_care_to_school", "health_to_school", "nccis_to_school", "gp_to_health",
        "deaths_to_health"]
    assert registry.link_rate_directions(gated_only=True) == [
        "school_to_health", "social_care_to_school", "health_to_school"]
    assert registry.link_rate_pairs(gated_only=True) == [
        ("school", "health"), ("social_care", "school"), ("health", "school")]


def test_sources_are_immutable_declarations():
    school = get_source("school")
    with pytest.raises(AttributeError):
        school.max_records_per_person = 9  # type: ignore[misc]
    assert replace(school, max_records_per_person=9).max_records_per_person == 9
    assert get_source("school").max_records_per_person == 4
