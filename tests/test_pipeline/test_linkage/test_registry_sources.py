"""Linkage reads what a source is from the registry: a source added there is linked, no linkage code touched."""

from __future__ import annotations

import pandas as pd
import pytest

from pipeline.core.io import write_parquet
from pipeline.core.paths import project_paths
from pipeline.linkage.clusters import build_person_index, record_limits
from pipeline.linkage.deterministic import find_deterministic_links
from pipeline.linkage.persons import build_person_records, count_records_without_key, person_input_columns
from pipeline.linkage.read import read_person_records
from pipeline.linkage.report import link_rates
from pipeline.privacy.actions import Privacy
from pipeline.privacy.tokens import make_tokens
from pipeline.sources import registry
from pipeline.sources.registry import Identifier, PersonRecords, Source, SourceRegistryError, link_rate_pairs
from pipeline.sources.spec import Column, Kind, TableSpec

GP_PATIENT = TableSpec(
    name="clinic_patient",
    source="clinic",
    description="A toy clinic register: one row per registration, NHS number recorded.",
    columns=(
        Column("clinic_patient_id", "PatientID", privacy=Privacy.RECORD_KEY, row_required=True),
        Column("nhs_number", "NHSNumber", privacy=Privacy.NHS_NUMBER),
        Column("registered_on", "RegisteredOn", Kind.DATE, privacy=Privacy.KEEP),
    ),
)
GP = Source(
    name="clinic",
    display_name="clinic",
    description="A toy clinic source holding people.",
    order=35,  # after health, before NCCIS
    raw_dir="data/raw/clinic",
    tables=(GP_PATIENT,),
    person_key="clinic_patient_id",
    persons=PersonRecords("clinic_patient", latest_by=("registered_on",)),
    identifiers=(Identifier("nhs_number", "nhs_number_tok"),),
    max_records_per_person=1,
    link_rates_to=("school",),
)
NO_PAIRS = pd.DataFrame(columns=["source_l", "record_key_tok_l", "source_r", "record_key_tok_r", "match_probability"])


@pytest.fixture
def with_gp(monkeypatch):
    """The real sources plus ``GP``, in order, as ``registry.all_sources`` returns them."""
    sources = sorted([*registry.all_sources().values(), GP], key=lambda s: s.order)
    monkeypatch.setattr(registry, "all_sources", lambda: {s.name: s for s in sources})


def clinic_patient(nhs_patient: pd.DataFrame, key: bytes) -> pd.DataFrame:
    """Half of the health patients registered with a GP; every fifth registered twice, the later
    registration recording no NHS number (so the earlier one must not stand for the person)."""
    patients = nhs_patient.iloc[::2].reset_index(drop=True)
    ids = make_tokens(pd.Series([f"G{i}" for i in range(len(patients))]), "clinic_patient_id", key).to_numpy()
    current = patients.assign(clinic_patient_id_tok=ids, registered_on=pd.Timestamp("2024-04-01"))
    earlier = current.iloc[::5].assign(registered_on=pd.Timestamp("2019-04-01"), nhs_number_tok="stale")
    return pd.concat([current, earlier], ignore_index=True).drop(columns=["hes_id_tok"])


def test_a_source_added_to_the_registry_is_built_and_linked(with_gp, person_tables, test_key, tmp_path):
    tables, _ = person_tables
    tables = {**tables, "clinic_patient": clinic_patient(tables["nhs_patient"], test_key)}
    # the builders load the new person key and ordering column
    assert {"clinic_patient_id_tok", "registered_on"} <= person_input_columns()

    persons = build_person_records(tables)

    assert list(persons["source"].unique()) == ["school", "social_care", "health", "clinic", "nccis"]
    gp = persons[persons["source"] == "clinic"].set_index("record_key_tok")
    assert not gp.index.duplicated().any()
    assert len(gp) == tables["clinic_patient"]["clinic_patient_id_tok"].nunique()
    assert (gp["nhs_number_tok"] != "stale").all()  # the latest registration stands for the person
    assert count_records_without_key(tables)["clinic_patient"] == 0

    links, ambiguous = find_deterministic_links(persons)
    gp_links = links[(links["source_l"] == "clinic") | (links["source_r"] == "clinic")]
    assert set(gp_links["rule"]) == {"nhs_number"}
    # NHS numbers are declared by health and social care too: the GP records link to both
    assert set(gp_links["source_l"]) | set(gp_links["source_r"]) == {"clinic", "health", "social_care"}
    health = persons[persons["source"] == "health"]
    expected = health.merge(gp.reset_index(), on="nhs_number_tok")  # an independent join on the token
    gp_health = gp_links[(gp_links["source_l"] == "health") | (gp_links["source_r"] == "health")]
    assert len(gp_health) == len(expected) == len(gp)
    assert ambiguous == {}

    limits = record_limits()
    assert limits["clinic"] == 1
    index, _ = build_person_index(persons, links, NO_PAIRS, 0.95, max_records_per_person=limits)
    ids = index.set_index(["table", "record_key_tok"])["person_id"]
    same = [ids[("clinic", g)] == ids[("health", h)] for g, h in zip(expected["record_key_tok_y"],
                                                                 expected["record_key_tok_x"], strict=True)]
    assert all(same)

    # read from data/pseudo like any other source, in registry order
    paths = project_paths(tmp_path)
    for name, table in tables.items():
        write_parquet(table, paths.pseudo_table(name))
    read, without_key = read_person_records(paths)
    pd.testing.assert_frame_equal(read, persons)
    assert "clinic_patient" in without_key

    # its declared link-rate direction is reported
    assert ("clinic", "school") in link_rate_pairs()
    held = index.assign(ethnicity_group="x", sex="x", imd_quintile="x", age_band="x")
    assert "clinic_to_school" in link_rates(held)


def test_record_limits_come_from_the_registry_and_params_override_them():
    declared = {"school": 4, "social_care": 1, "health": 1, "nccis": 1, "adult_social_care": 1, "gp": 4, "deaths": 1,
                "ld_register": 1}
    assert record_limits() == declared
    assert record_limits({"school": 2}) == {**declared, "school": 2}
    with pytest.raises(SourceRegistryError, match="'schools'"):
        record_limits({"schools": 2})
    with pytest.raises(SourceRegistryError, match="'reference'"):  # a source of places holds no people
        record_limits({"reference": 1})


def test_link_rates_are_reported_in_the_declared_directions():
    assert [f"{a}_to_{b}" for a, b in link_rate_pairs()] == registry.link_rate_directions()
    assert set(registry.link_rate_directions()) == {"school_to_health", "social_care_to_school", "health_to_school",
                                                   "nccis_to_school", "gp_to_health", "deaths_to_health"}
    assert "nccis_to_school" not in registry.link_rate_directions(gated_only=True)
