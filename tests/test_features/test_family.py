"""Family features (issue #18): opt-in per spec, point in time, governed on lists, the gate and the card.

Built on hand-made relatives' events and family links with the features stage's own code
(``features.build.compute_features``), so what is counted is known exactly.
"""

from __future__ import annotations

import pandas as pd
import pytest

from ethics.card.disclosure import describe_inputs, disclose_inputs
from ethics.checklist import CHECKLIST_FILE, THRESHOLDS_FILE, Checklist, parse_checklist
from ethics.gate import evaluate_gate
from ethics.gate_evidence import GateEvidence
from ethics.thresholds import model_thresholds
from features.build import compute_features
from features.family import FEATURES as FAMILY_FEATURES
from features.family import deliveries, family_events, relative_events, with_family
from features.registry import FEATURES, feature_columns, spec_features
from features.window import connect_duckdb
from features.wording import FAMILY_SAYS
from models.spec import load_model_spec
from pipeline.core.io import read_yaml
from pipeline.lists.explanations import county_averages, explain_rows, feature_phrasebook

INDEX_DATE = pd.Timestamp("2024-03-31")
FAMILY = {f.name: f for f in FAMILY_FEATURES}
# words that would disclose a relative's special-category detail or condition
DISCLOSING = ("self-harm", "self harm", "assault", "mental", "alcohol", "drug", "substance", "adult social care",
              "emergency", "birth", "pregnan", "looked after", "care")


def _empty(columns: list[str]) -> pd.DataFrame:
    return pd.DataFrame({c: [] for c in columns})


def _relatives(ecds: pd.DataFrame) -> pd.DataFrame:
    return relative_events(ecds, _empty(["person_id", "event_start", "primary_support_reason"]),
                           _empty(["person_id", "event_date", "snomed"]), _empty(["person_id", "event_date"]),
                           _empty(["person_id", "event_date", "age_years"]))


def _ed(person: str, day: str, intent: str = "52684005", diagnoses: str = "") -> dict:
    return {"person_id": person, "arrival_date": pd.Timestamp(day), "injury_intent": intent, "diagnoses": diagnoses}


def _features(family: pd.DataFrame, children: list[str]) -> pd.DataFrame:
    """The family features of each child on ``INDEX_DATE``, computed as the features stage computes them."""
    events = with_family({"person": pd.DataFrame({"person_id": children})}, family)
    cohort = pd.DataFrame({"row_id": range(len(children)), "person_id": children, "index_date": INDEX_DATE,
                           "person_key": range(len(children))})
    frame, _ = compute_features(connect_duckdb(), cohort, events, FAMILY)
    return frame.set_index("person_id")


def _links(*rows: tuple) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["person_id_a", "person_id_b", "relation", "first_seen"]).astype(
        {"first_seen": "datetime64[ns]"})


def test_only_events_before_the_index_date_and_after_the_link_was_recorded_count():
    ecds = pd.DataFrame([
        _ed("mum1", "2024-03-30"),            # the day before the index date: counts
        _ed("mum2", "2024-03-31"),            # on the index date: never counts
        _ed("mum3", "2023-01-01"),            # before the index date, but the link was recorded after it
        _ed("mum4", "2020-01-01", intent="276853009"),  # self-harm before the link, link before the index date
    ])
    links = _links(("mum1", "k1", "parent_of", "2020-01-01"), ("mum2", "k2", "parent_of", "2020-01-01"),
                   ("mum3", "k3", "parent_of", "2024-04-02"), ("mum4", "k4", "parent_of", "2022-06-01"))
    out = _features(family_events(_relatives(ecds), links, ["parent"]), ["k1", "k2", "k3", "k4"])
    assert out["family_parent_ed_assault_ever"].to_dict() == {"k1": 1, "k2": 0, "k3": 0, "k4": 0}
    assert out.loc["k4", "family_parent_ed_self_harm_ever"] == 1
    assert out["family_parent_known_ever"].to_dict() == {"k1": 1, "k2": 0, "k3": 0, "k4": 1}
    # the council connected mum4's attendance to k4 when the link was recorded, which is within 3 years
    assert out.loc["k4", "family_parent_ed_harm_36m"] == 1


def test_siblings_both_ways_and_only_the_relations_asked_for():
    care = pd.DataFrame({"person_id": ["k1"], "event_date": [pd.Timestamp("2021-05-05")]})
    relatives = relative_events(_empty(["person_id", "arrival_date", "injury_intent", "diagnoses"]),
                                _empty(["person_id", "event_start", "primary_support_reason"]),
                                _empty(["person_id", "event_date", "snomed"]), care,
                                _empty(["person_id", "event_date", "age_years"]))
    links = _links(("k1", "k2", "sibling_of", "2019-01-01"))
    out = _features(family_events(relatives, links, ["sibling"]), ["k1", "k2"])
    assert out["family_sibling_looked_after_ever"].to_dict() == {"k1": 0, "k2": 1}
    assert family_events(relatives, links, ["parent"]).empty


def test_a_sisters_delivery_counts_only_before_twenty():
    admissions = pd.DataFrame({"person_id": ["s1", "s2"], "admission_date": pd.to_datetime(["2020-06-01"] * 2),
                               "diag_01": ["O800", "O809"]})
    person = pd.DataFrame({"person_id": ["s1", "s2"], "birth_year": [2003, 1995], "birth_month": [1, 1]})
    born = deliveries(admissions, person)
    assert born.set_index("person_id")["age_years"].to_dict() == {"s1": 17, "s2": 25}
    relatives = relative_events(_empty(["person_id", "arrival_date", "injury_intent", "diagnoses"]),
                                _empty(["person_id", "event_start", "primary_support_reason"]),
                                _empty(["person_id", "event_date", "snomed"]), _empty(["person_id", "event_date"]),
                                born)
    assert set(relatives.loc[relatives["kind"] == "teen_parent", "person_id"]) == {"s1"}


@pytest.mark.parametrize("model", ["care_entry", "neet18"])
def test_a_spec_without_family_features_builds_and_uses_none(model):
    spec = load_model_spec(model)
    assert spec.features.family == []
    assert not [n for n in spec_features(spec) if FEATURES[n].group == "family"]
    assert not [c for c in feature_columns(spec) if c.startswith("family_")]
    parents = spec.model_copy(update={"features": spec.features.model_copy(update={"family": ["parent"]})})
    chosen = [c for c in feature_columns(parents) if c.startswith("family_")]
    assert chosen and all(c.startswith("family_parent_") for c in chosen)
    assert set(feature_columns(spec)) < set(feature_columns(parents))


def test_list_reasons_for_family_features_disclose_no_condition():
    names = list(FAMILY)
    values = pd.DataFrame([{n: 1 for n in names}, {n: 0 for n in names}])
    # the strongest contributions are the most sensitive features: they must never be named
    contributions = pd.DataFrame([{n: float(i + 1) for i, n in enumerate(reversed(names))}] * 2)
    phrasebook = feature_phrasebook()
    out = explain_rows(contributions, values, phrasebook, county_averages(values, {n: "binary" for n in names}))
    reasons = out.loc[0, "reasons"]
    assert FAMILY_SAYS in reasons
    assert not any(word in reasons.lower() for word in DISCLOSING)
    shown = {out.loc[0, f"reason_{k}_feature"] for k in (1, 2, 3)} - {None}
    assert shown and all(FAMILY[n].show_on_list for n in shown)
    assert shown <= {"family_parent_known_ever", "family_sibling_looked_after_ever"}


def _family_item_result(feature_columns: list[str]) -> dict:
    checklist = parse_checklist(read_yaml(CHECKLIST_FILE))
    only = Checklist(items=[checklist.item("family_records")])
    evidence = GateEvidence(metrics={}, group_metrics=pd.DataFrame(), run={"feature_columns": feature_columns},
                            thresholds_sha256="", split_years=pd.DataFrame())
    thresholds = model_thresholds(read_yaml(THRESHOLDS_FILE), "care_entry")
    return evaluate_gate(only, thresholds, evidence, {}, model="care_entry", version="1")["items"][0]


def test_the_ig_board_must_sign_family_features_and_only_those():
    assert _family_item_result(["referrals_12m"])["status"] == "pass"
    assert "not applicable" in _family_item_result(["referrals_12m"])["evidence"]
    item = _family_item_result(["referrals_12m", "family_parent_known_ever"])
    assert item["status"] == "unsigned" and item["role"] == "SIRO"


def test_the_card_names_the_family_members_whose_records_feed_the_score():
    text = describe_inputs(disclose_inputs(["referrals_12m", "family_parent_known_ever",
                                            "family_sibling_looked_after_ever"], FEATURES))
    assert "the child's parents" in text and "brothers and sisters" in text and "family_records" in text
    assert "parents" not in describe_inputs(disclose_inputs(["referrals_12m"], FEATURES))
