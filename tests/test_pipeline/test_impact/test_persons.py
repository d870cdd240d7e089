"""Events mapped to people: person token, then NHS number, then UPN; ambiguity reported, never guessed."""

from __future__ import annotations

import pandas as pd

from pipeline.impact.persons import map_persons, person_ids_for, person_lookup, person_table_columns


def tok(label: str) -> str:
    """A 32-hex stand-in for a token (the mapping only compares them)."""
    return label.encode().hex().ljust(32, "0")[:32]


INDEX = pd.DataFrame({
    "table": ["school", "social_care", "health", "school", "health", "school", "social_care"],
    "record_key_tok": [tok("upnA"), tok("C1"), tok("H1"), tok("upnB"), tok("H2"), tok("upnC"), tok("C3")],
    "person_id": ["P00000001", "P00000001", "P00000001", "P00000002", "P00000002", "P00000003", "P00000004"],
    "match_probability": 1.0,
})
TABLES = {
    "school_pupil": pd.DataFrame({"upn_tok": [tok("upnA"), tok("upnB"), tok("upnC")],
                                  "former_upn_tok": [None, tok("oldB"), None]}),
    "csc_person": pd.DataFrame({"la_child_id_tok": [tok("C1"), tok("C3")], "nhs_number_tok": [tok("nhsA"), None],
                                "upn_tok": [tok("upnA"), tok("upnC")]}),  # C3 shares pupil 3's UPN, linked apart
    "nhs_patient": pd.DataFrame({"hes_id_tok": [tok("H1"), tok("H2")], "nhs_number_tok": [tok("nhsA"), tok("nhsB")]}),
}


def events(*rows: tuple) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["person_token", "nhs_number_tok", "upn_tok"]).astype("str")


def test_the_lookup_reads_the_identifiers_the_registry_declares():
    columns = person_table_columns()
    assert columns["school_pupil"] == ["upn_tok", "former_upn_tok"]  # the person key is the UPN token itself
    assert columns["csc_person"] == ["la_child_id_tok", "nhs_number_tok", "upn_tok"]
    assert columns["nhs_patient"] == ["hes_id_tok", "nhs_number_tok"]


def test_each_identifier_maps_in_order_and_unmapped_rows_are_counted_with_reasons():
    rows = events(
        ("P00000002", None, None),            # person token
        (None, tok("nhsA"), None),            # NHS number (social care and health agree)
        (None, None, tok("upnB")),            # UPN
        (None, None, tok("oldB")),            # a former UPN of pupil B
        (None, None, tok("upnC")),            # held by P00000003 and P00000004: ambiguous
        (None, tok("nhsZ"), tok("upnZ")),     # no source holds either
        (None, None, None),                   # nothing to map by
        ("P00000099", tok("nhsB"), None),     # token unknown to the index: the NHS number maps
        ("P00000001", tok("nhsB"), None),     # identifiers disagree: the person token wins, and it is counted
        (None, tok("nhsB"), tok("upnC")),     # NHS number maps before the ambiguous UPN is needed
    )
    mapped = map_persons(rows, person_lookup(INDEX, TABLES))
    assert mapped.person_id.tolist()[:4] == ["P00000002", "P00000001", "P00000002", "P00000002"]
    assert mapped.person_id.iloc[4:7].isna().all()
    assert mapped.person_id.tolist()[7:] == ["P00000002", "P00000001", "P00000002"]
    assert mapped.unmapped.iloc[4:7].tolist() == ["ambiguous_upn_tok", "not_in_person_index", "no_identifier"]
    assert mapped.counts() == {
        "rows": 10, "mapped": 7,
        "mapped_by": {"nhs_number_tok": 3, "person_token": 2, "upn_tok": 2},
        "unmapped": {"ambiguous_upn_tok": 1, "no_identifier": 1, "not_in_person_index": 1},
        "identifiers_disagree": 1,
    }
    assert person_ids_for(rows, INDEX, TABLES).equals(mapped.person_id)


def test_an_nhs_number_on_records_of_two_people_is_ambiguous_and_a_missing_person_table_maps_nothing():
    split = pd.concat([INDEX, pd.DataFrame({"table": ["health"], "record_key_tok": [tok("H9")],
                                            "person_id": ["P00000009"]})], ignore_index=True)
    tables = {**TABLES, "nhs_patient": pd.concat([TABLES["nhs_patient"], pd.DataFrame(
        {"hes_id_tok": [tok("H9")], "nhs_number_tok": [tok("nhsA")]})], ignore_index=True)}
    mapped = map_persons(events((None, tok("nhsA"), None), (None, tok("nhsA"), tok("upnA"))),
                         person_lookup(split, tables))
    assert mapped.person_id.isna().tolist() == [True, False] and mapped.person_id.iloc[1] == "P00000001"
    assert mapped.unmapped.iloc[0] == "ambiguous_nhs_number_tok"
    no_health = {k: v for k, v in TABLES.items() if k != "nhs_patient"}
    only_nhs_b = map_persons(events((None, tok("nhsB"), None)), person_lookup(INDEX, no_health))
    assert only_nhs_b.unmapped.tolist() == ["not_in_person_index"]


def test_events_without_identifier_columns_or_rows_are_handled():
    lookup = person_lookup(INDEX, TABLES)
    assert map_persons(events(), lookup).counts()["rows"] == 0
    only_tokens = map_persons(pd.DataFrame({"person_token": ["P00000004", None]}, dtype="str"), lookup)
    assert only_tokens.person_id.iloc[0] == "P00000004" and only_tokens.unmapped.iloc[1] == "no_identifier"
