"""The checklist speaks about the people each model scores: wording per population, the adults' own items."""

from __future__ import annotations

import hashlib
import json
import re

import pytest

from ethics.auto_checks import CHECKS
from ethics.checklist import (
    CHECKLIST_FILE,
    MANDATORY_HUMAN_ITEMS,
    THRESHOLDS_FILE,
    checklist_sha256,
    mandatory_items_missing,
    parse_checklist,
)
from ethics.gate import evaluate_gate
from ethics.signoff import withdrawn_approvals
from ethics.thresholds import model_thresholds
from features.populations import POPULATIONS
from pipeline.core.io import read_yaml
from tests.test_ethics.test_gate import _evidence

CHECKLIST = parse_checklist(read_yaml(CHECKLIST_FILE))
ADULT_POPULATIONS = ("adults", "ld_register")
# words that belong to the children's services, never to an adult's checklist
CHILD_WORDS = re.compile(r"\bchild|\byoung people\b|\bearly help\b|\bSEN\b|\bFSM\b|\bschool|\bparent|\bsibling|"
                         r"\bfamilies\b", re.IGNORECASE)
# words that belong to the adults' services, never to a child's checklist
ADULT_WORDS = re.compile(r"\badult|\bolder people\b|\bcare home|\bGP\b|\bHES\b|\bECDS\b|self-fund|learning "
                         r"disability|Mental Capacity|opt-out", re.IGNORECASE)
ADULT_ITEMS = {"label_service_use": "service lead", "capacity_and_accessible_contact": "service lead"}
# asked of every population's models, each in its people's words (the opt-out only where NHS records are inputs)
EVERY_POPULATION_ITEMS = {"confidentiality_opt_out": "Caldicott Guardian", "feedback_loop": "lead data scientist"}


def _questions(population: str) -> dict[str, str]:
    return {i.id: i.question for i in CHECKLIST.for_population(population).items}


@pytest.mark.parametrize("population", ADULT_POPULATIONS)
def test_an_adult_models_checklist_has_no_child_wording(population):
    childish = {item: CHILD_WORDS.findall(q) for item, q in _questions(population).items() if CHILD_WORDS.search(q)}
    assert childish == {}
    assert "family_records" not in _questions(population)  # scoring a child on a parent's records


def test_a_childs_checklist_has_no_adult_wording_nor_the_adult_items():
    questions = _questions("children")
    # family_records is about adults' records feeding a child's score ("no adult's special-category detail ...")
    adultish = {item: ADULT_WORDS.findall(q) for item, q in questions.items() if ADULT_WORDS.search(q)}
    # the opt-out item names the children's NHS records it is about, and the opt-out itself
    assert adultish == {"family_records": ["adult"],
                        "confidentiality_opt_out": ["HES", "ECDS", "Opt-out", "HES", "ECDS"]}
    assert not set(ADULT_ITEMS) & set(questions) and "carer_records" not in questions


def test_a_childs_checklist_keeps_its_meaning():
    """The children's questions read as they did before the checklist spoke about adults (the same items, in the
    same order, with the children's wording), with the two items asked of every model added in the children's
    words: the confidentiality basis and opt-out for their hospital records, and the feedback loop."""
    questions = _questions("children")
    assert list(questions) == [i.id for i in CHECKLIST.items if i.id not in {*ADULT_ITEMS, "carer_records"}]
    assert "processing children's special category data" in questions["lawful_basis"]
    assert "profiling of children" in questions["dpia"]
    assert "proportionate to the benefit for children and families" in questions["necessity_proportionality"]
    assert "route for families" in questions["challenge_route"]
    assert "early help capacity" in questions["precision_at_capacity"]
    assert "SEN group, FSM" in questions["protected_attributes_not_inputs"]
    assert "council's existing rule score" in questions["beats_rule_score"]
    assert "parent or guardian for a child under 13" in questions["confidentiality_opt_out"]
    assert "children offered early help" in questions["feedback_loop"]


def test_the_adult_questions_name_adults_and_the_ld_questions_name_learning_disability():
    adults, ld = _questions("adults"), _questions("ld_register")
    assert "adults' special category data" in adults["lawful_basis"]
    assert "profiling of adults and older people" in adults["dpia"]
    assert "sex, ethnicity group, deprivation quintile, age band)" in adults["protected_attributes_not_inputs"]
    assert "learning disability" in ld["lawful_basis"] and "family carers" in ld["dpia"]
    assert "easy read" in ld["challenge_route"]


@pytest.mark.parametrize("population", ADULT_POPULATIONS)
def test_an_adult_models_checklist_has_the_adult_items_signed_by_their_roles(population):
    judged = {i.id: i for i in CHECKLIST.for_population(population).items}
    assert {item: judged[item].role for item in ADULT_ITEMS} == ADULT_ITEMS
    assert all(judged[item].kind == "human" for item in ADULT_ITEMS)
    confidentiality = judged["confidentiality_opt_out"].question
    for needed in ("common-law duty of confidentiality", "direct care", "section 251", "National Data Opt-out",
                   "GP", "HES", "ECDS"):
        assert needed in confidentiality
    assert re.search(r"service use|service decision", judged["label_service_use"].question)


def test_the_adults_label_item_says_what_each_label_measures():
    question = _questions("adults")["label_service_use"]
    assert "bed" in question and "self-funders" in question and "state-funded" in question


@pytest.mark.parametrize("population", list(POPULATIONS))
def test_the_mandatory_items_apply_to_every_population(population):
    judged = CHECKLIST.for_population(population)
    assert set(MANDATORY_HUMAN_ITEMS) <= {i.id for i in judged.items if i.kind == "human"}
    assert set(CHECKS) <= {i.check for i in judged.items if i.kind == "auto"}
    assert all(isinstance(i.question, str) and i.question for i in judged.items)


def _raw(**item_changes) -> dict:
    data = read_yaml(CHECKLIST_FILE)
    data["items"] = [dict(i, **item_changes.get(i["id"], {})) for i in data["items"]]
    return data


def test_a_question_worded_for_some_populations_must_be_worded_for_each():
    lawful = read_yaml(CHECKLIST_FILE)["items"][0]
    assert lawful["id"] == "lawful_basis"
    missing = {k: v for k, v in lawful["question"].items() if k != "ld_register"}
    with pytest.raises(ValueError, match="lawful_basis.*missing ld_register"):
        parse_checklist(_raw(lawful_basis={"question": missing}))
    with pytest.raises(ValueError, match="label_service_use.*not applicable children"):
        parse_checklist(_raw(label_service_use={"question": {p: "Q?" for p in POPULATIONS}}))
    with pytest.raises(ValueError, match="martians"):
        parse_checklist(_raw(feedback_loop={"populations": ["adults", "martians"]}))


def test_a_mandatory_item_limited_to_some_populations_is_missing():
    limited = parse_checklist(_raw(dpia={"populations": ["adults"], "question": "Q?"},
                                   leakage_guard={"populations": ["children"]}))
    assert mandatory_items_missing(limited) == ["auto check leakage_guard", "human item dpia"]


def test_the_digest_covers_each_populations_wording_and_keeps_old_checklists_digest():
    wording = read_yaml(CHECKLIST_FILE)["items"][0]["question"]
    reworded = parse_checklist(_raw(lawful_basis={"question": {**wording, "adults": wording["adults"] + " "}}))
    assert checklist_sha256(reworded) != checklist_sha256(CHECKLIST)
    # a checklist written before populations existed (one question each, no `populations`) keeps its digest
    plain = {"items": [{k: v for k, v in i.items() if k != "populations"} | {"question": f"Q {i['id']}?"}
                       for i in read_yaml(CHECKLIST_FILE)["items"]]}
    parsed = parse_checklist(plain)
    before = [{k: v for k, v in i.model_dump(mode="json").items() if k != "populations"} for i in parsed.items]
    text = json.dumps({"items": before}, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert checklist_sha256(parsed) == hashlib.sha256(text.encode("utf-8")).hexdigest()


def _gate(population: str) -> dict:
    evidence = _evidence()
    evidence = type(evidence)(**{**evidence.__dict__, "run": {**evidence.run, "population": population}})
    return evaluate_gate(CHECKLIST, model_thresholds(read_yaml(THRESHOLDS_FILE), "neet18"), evidence, {},
                         model="m", version="1")


def test_the_gate_judges_an_adult_version_on_the_adults_checklist():
    result = _gate("adults")
    items = {i["id"]: i for i in result["items"]}
    assert {"label_service_use", "confidentiality_opt_out"} <= set(items)
    assert "family_records" not in items and "carer_records" not in items
    assert items["label_service_use"]["status"] == "unsigned"
    assert not [i["id"] for i in result["items"] if CHILD_WORDS.search(i["question"])]
    assert items["lawful_basis"]["question"] == CHECKLIST.item("lawful_basis").question_for("adults")


def test_the_gate_judges_a_childs_version_without_the_adult_items():
    items = {i["id"]: i for i in _gate("children")["items"]}
    assert not set(ADULT_ITEMS) & set(items)
    assert items["lawful_basis"]["question"] == CHECKLIST.item("lawful_basis").question_for("children")


def test_an_unsigned_adult_item_does_not_withdraw_a_childs_approval():
    entries = [{"event": "signoff", "model": "m", "release": "r" * 64, "item": i.id, "role": i.role,
                "by": f"P {i.role}", "decision": "approve", "time": "2026-01-01T00:00:00", "evidence": "E",
                "user": f"u {i.role}"}
               for i in CHECKLIST.for_population("children").items if i.kind == "human"]
    assert withdrawn_approvals(CHECKLIST, entries, "m", "1", "r" * 64) == []


@pytest.mark.parametrize("population", ["children", "adults"])
def test_the_apps_sign_off_page_lists_the_models_populations_items_in_its_words(tmp_path, population):
    """The web app's sign-off page reads the checklist for the population run.json names."""
    from types import SimpleNamespace

    from pipeline.core.config import GovernParams
    from pipeline.core.paths import project_paths
    from webapp.practice.signing import checklist_state

    paths = project_paths(tmp_path)
    paths.model_artifacts("m").mkdir(parents=True)
    (paths.model_artifacts("m") / "run.json").write_text(json.dumps({"population": population}), encoding="utf-8")
    state = checklist_state(SimpleNamespace(paths=paths, params=SimpleNamespace(govern=GovernParams())), "m", None)
    assert [s["id"] for s in state] == [i.id for i in CHECKLIST.for_population(population).items]
    assert {s["id"]: s["question"] for s in state} == _questions(population)
    assert ("label_service_use" in {s["id"] for s in state}) == (population == "adults")
    assert "confidentiality_opt_out" in {s["id"] for s in state}


@pytest.mark.parametrize("columns, population", [
    (["emergency_spells_24m", "gp_ltc_count"], "adults"),
    (["sole_carer"], "ld_register"),
    (["attendance_rate_12m"], "children"),
])
def test_a_run_from_before_population_was_recorded_is_judged_by_its_inputs_population(columns, population):
    from ethics.gate import version_population

    evidence = _evidence()
    old_run = type(evidence)(**{**evidence.__dict__, "run": {"feature_columns": columns}})
    assert version_population(old_run) == population


@pytest.mark.parametrize("columns, population", [
    (["emergency_spells_24m", "gp_ltc_count"], "adults"),
    (["sole_carer"], "ld_register"),
    (["attendance_rate_12m"], "children"),
])
def test_the_sign_off_page_and_the_list_read_an_old_runs_population_as_the_gate_does(tmp_path, columns, population):
    """One rule for a run.json without ``population``: the web app's sign-off page, its list pages and the score
    stage (all through ``run_population``) name the same population the gate judges the version on."""
    from types import SimpleNamespace

    from ethics.gate import version_population
    from features.populations import get_population
    from pipeline.core.paths import project_paths
    from webapp.practice.risk_lists import list_nouns
    from webapp.practice.signing import model_population

    paths = project_paths(tmp_path)
    paths.model_artifacts("m").mkdir(parents=True)
    (paths.model_artifacts("m") / "run.json").write_text(json.dumps({"feature_columns": columns}), encoding="utf-8")
    evidence = _evidence()
    judged = version_population(type(evidence)(**{**evidence.__dict__, "run": {"feature_columns": columns}}))
    assert model_population(SimpleNamespace(paths=paths), "m") == judged == population
    assert list_nouns(paths, "m").plural == get_population(population).plural


@pytest.mark.parametrize("population, columns, applies", [
    ("children", ["attendance_rate_12m"], False),          # school records only: no NHS record among the inputs
    ("children", ["attendance_rate_12m", "ae_attendances_12m"], True),
    ("adults", ["emergency_spells_24m"], True),
    ("adults", ["asc_requests_12m"], False),
])
def test_the_opt_out_item_is_asked_wherever_nhs_records_are_inputs(population, columns, applies):
    """``confidentiality_opt_out`` applies to a version with an input from NHS records (a child's HES or ECDS as
    much as an adult's GP record); other versions pass it as not applicable, saying so."""
    from features.registry import FEATURES

    assert all(c in FEATURES for c in columns)
    evidence = _evidence()
    evidence = type(evidence)(**{**evidence.__dict__, "run": {**evidence.run, "population": population,
                                                                "feature_columns": columns}})
    result = evaluate_gate(CHECKLIST, model_thresholds(read_yaml(THRESHOLDS_FILE), "neet18"), evidence, {},
                           model="m", version="1")
    item = {i["id"]: i for i in result["items"]}["confidentiality_opt_out"]
    assert item["status"] == ("unsigned" if applies else "pass")
    assert item["evidence"].startswith("not applicable") != applies


def test_a_misspelt_input_group_is_refused_at_load():
    with pytest.raises(ValueError, match="helth"):
        parse_checklist(_raw(confidentiality_opt_out={"only_with_inputs_from": ["helth"]}))
