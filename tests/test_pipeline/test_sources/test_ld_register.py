"""The learning-disability case register source (issue #18): declared like every source, written by the synthetic
county from who really lives with whom, ingested with bad rows quarantined, pseudonymised so that a carer
resolves to a person like anyone else, and optional: a council without the register ingests as before."""

from __future__ import annotations

import json
from datetime import date

import numpy as np
import pandas as pd
import pytest

from pipeline.core.config import IngestParams, IngestSource, SynthParams
from pipeline.core.paths import project_paths
from pipeline.ingest.stage import run_ingest
from pipeline.privacy.actions import CLEAR_PRIVACY, Privacy
from pipeline.privacy.scan_pii import scan_paths
from pipeline.pseudonymise.stage import run_pseudonymise
from pipeline.sources.ld_register import ARRANGEMENT, SOURCE
from pipeline.sources.registry import all_sources
from pipeline.synthetic import build_county

KEY = bytes(range(32))
TABLES = {"ld_register_person": "ld_register/ld_persons.csv", "ld_arrangement": "ld_register/ld_arrangements.csv",
          "ld_carer": "ld_register/ld_carers.csv"}
REF = pd.Timestamp("2026-03-31")


def _only_register(**register) -> IngestParams:
    others = {name: IngestSource(tables=[]) for name in all_sources() if name != "ld_register"}
    return IngestParams(extract_date=date(2026, 3, 31), sources={**others, "ld_register": IngestSource(**register)})


def _dates(values: pd.Series) -> pd.Series:
    return pd.to_datetime(values, format="%d/%m/%Y")


@pytest.fixture(scope="module")
def county(tmp_path_factory):
    cfg = SynthParams(children=300, adults={"enabled": True, "population": 3000,
                                            "ld_with_older_parents_per_100k": 3000})
    built = build_county(cfg)
    # one fault of each kind for certain (the exporter's planted rates may give none in a small county)
    arr, carers = built.csv[TABLES["ld_arrangement"]][0], built.csv[TABLES["ld_carer"]][0]
    arr.loc[arr.index[3], "End_Date"] = "01/01/1990"
    carers.loc[carers.index[5], "Carer_Person_ID"] = ""
    root = tmp_path_factory.mktemp("ld_register")
    for rel in TABLES.values():
        frame, encoding = built.csv[rel]
        path = root / "data" / "raw" / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        frame.to_csv(path, index=False, encoding=encoding)
    summary = run_ingest(_only_register(), project_paths(root))
    return root, built, summary


def test_declared_optional_with_every_identifier_tokenised():
    assert all(t.optional for t in SOURCE.tables)
    assert SOURCE.persons.table == "ld_register_person" and SOURCE.person_key == "ld_person_id"
    # the carer's ID is staged under the person key's name: its token is comparable with the people's
    carer = SOURCE.table("ld_carer").column("ld_person_id")
    assert carer.privacy is Privacy.RECORD_KEY and carer.source == "Carer_Person_ID"
    for spec in SOURCE.tables:
        for col in spec.columns:
            if col.name in ("nhs_number", "forename", "surname", "dob", "postcode", "ld_person_id",
                            "arrangement_ref"):
                assert col.privacy not in CLEAR_PRIVACY, (spec.name, col.name)


def test_the_register_says_who_lives_with_whom(county):
    _, built, _ = county
    keys = built.truth["ld_register_keys"].set_index("record_key")["person_id"]
    people = built.truth["adults_people"].set_index("person_id")
    caring = built.truth["adults_caring"]
    persons = built.csv[TABLES["ld_register_person"]][0]
    arr = built.csv[TABLES["ld_arrangement"]][0]
    carers = built.csv[TABLES["ld_carer"]][0]
    role = persons.set_index("Person_ID")["Register_Role"]
    ld = role[role == "Person with a learning disability"].index
    assert people.loc[keys[ld], "learning_disability"].all()
    assert set(arr["Living_Arrangement"]) <= ARRANGEMENT and set(arr["Person_ID"]) <= set(ld)
    # every carer is a person of the register whose true caring of that person is recorded in the simulation
    carers = carers[carers["Carer_Person_ID"] != ""]
    assert (role.reindex(carers["Carer_Person_ID"]) == "Carer").all()
    cared = arr.set_index("Arrangement_ID").loc[carers["Arrangement_ID"], "Person_ID"].to_numpy()
    pairs = set(zip(caring["carer_id"], caring["cared_for_id"], strict=True))
    assert all((keys[c], keys[p]) in pairs for c, p in zip(carers["Carer_Person_ID"], cared, strict=True))
    assert len(carers) > 50 and (arr["Living_Arrangement"] == "With family").sum() > 50
    # a move out ends the family arrangement on the day the placement starts
    start, end = _dates(arr["Start_Date"]), _dates(arr["End_Date"])
    placed = arr[arr["Living_Arrangement"].isin(["Supported living", "Residential care", "Nursing care"])]
    family = arr[arr["Living_Arrangement"] == "With family"].assign(end=end).set_index("Person_ID")["end"]
    moved = family.reindex(placed["Person_ID"]).to_numpy()
    ok = ~pd.isna(moved)
    assert ok.sum() > 10
    assert (moved[ok] == start[placed.index].to_numpy()[ok]).mean() > 0.95  # the rest: an end date mistyped
    # nothing is recorded after the extract, or before it happened
    assert (_dates(arr["Recorded_Date"]) <= REF).all() and (_dates(arr["Recorded_Date"]) >= start).all()


def test_ingest_reconciles_and_quarantines_bad_rows_naming_file_and_row(county):
    root, built, summary = county
    assert summary["reconciled"] and summary["tables_failed"] == []
    for table, rel in TABLES.items():
        rep = summary["tables"][table]
        assert rep["status"] == "ok" and rep["rows_read"] == len(built.csv[rel][0]), (table, rep)
    arr = built.csv[TABLES["ld_arrangement"]][0]
    typed_wrong = np.flatnonzero(_dates(arr["End_Date"]) < _dates(arr["Start_Date"]))
    assert 3 in typed_wrong
    quarantined = pd.read_csv(root / "data" / "quarantine" / "ld_arrangement.csv", dtype=str)
    assert set(quarantined["reasons"]) == {"end_date_before_start_date"}
    assert set(quarantined["_source_file"]) == {"ld_arrangements.csv"}
    assert sorted(quarantined["_source_row"].astype(int) - 2) == typed_wrong.tolist()  # header is line 1
    carers = built.csv[TABLES["ld_carer"]][0]
    no_id = np.flatnonzero(carers["Carer_Person_ID"].to_numpy() == "")
    assert 5 in no_id
    q = pd.read_csv(root / "data" / "quarantine" / "ld_carer.csv", dtype=str)
    assert sorted(q["_source_row"].astype(int) - 2) == no_id.tolist() and set(q["reasons"]) == {"missing_ld_person_id"}


def test_pseudonymised_carers_resolve_like_people_and_nothing_identifying_survives(county):
    root, built, _ = county
    report = run_pseudonymise(project_paths(root), KEY, workers=1)
    assert not report["failed"], report["failed"]
    pseudo = {t: pd.read_parquet(root / "data" / "pseudo" / f"{t}.parquet") for t in TABLES}
    people = built.truth["adults_people"]
    assert scan_paths(sorted((root / "data" / "pseudo").glob("ld_*.parquet")),
                      frozenset(people["forename"]) | frozenset(people["surname"])) == []
    text = json.dumps(report)
    assert not any(v in text for v in people["nhs_number"].dropna())
    person, arr, carer = pseudo["ld_register_person"], pseudo["ld_arrangement"], pseudo["ld_carer"]
    roles = person.set_index("ld_person_id_tok")["register_role"]
    assert (roles.reindex(carer["ld_person_id_tok"]) == "Carer").all()
    assert carer["arrangement_ref_tok"].isin(arr["arrangement_ref_tok"]).mean() > 0.99
    assert {"carer_dob", "dob", "forename", "nhs_number"}.isdisjoint(set(person) | set(carer))


def test_a_council_without_the_register_ingests_as_before(tmp_path):
    summary = run_ingest(_only_register(), project_paths(tmp_path))
    assert summary["tables_failed"] == []
    assert {t: summary["tables"][t]["status"] for t in TABLES} == dict.fromkeys(TABLES, "no_input")
