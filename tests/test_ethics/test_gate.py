"""Auto checks against hand-computed values, and the gate's approved/blocked decision."""

from __future__ import annotations

import pandas as pd
import pytest

from ethics.checklist import CHECKLIST_FILE, THRESHOLDS_FILE, parse_checklist
from ethics.fairness_checks import largest_gap, link_rate_gaps
from ethics.gate import approval_disagreements, evaluate_gate, review_approved_version
from ethics.gate_evidence import GateEvidence
from ethics.signoff import (
    SignOffError,
    check_one_role_per_person,
    make_signoff,
    role_conflicts,
    withdrawn_approvals,
)
from ethics.thresholds import Thresholds, model_thresholds, model_thresholds_sha256
from pipeline.core.io import file_sha256, read_yaml
from pipeline.sources.registry import link_rate_directions

GROUPS = pd.DataFrame({
    "attribute": ["sex", "sex", "eth", "eth", "eth", "overall"],
    "group": ["F", "M", "A", "B", "C", "all"],
    "n": [300, 320, 200, 150, 10, 620],
    "fnr": [0.30, 0.38, 0.25, 0.45, 0.9, 0.33],
    "oe_ratio": [1.0, 0.9, 1.1, 0.7, 3.0, 1.0],
    "suppressed": [False, False, False, False, True, False],
})


def test_largest_gap_ignores_suppressed_small_and_overall_rows():
    value, attribute = largest_gap(GROUPS, "fnr", 50)
    assert attribute == "eth" and value == pytest.approx(0.45 - 0.25)  # C (n=10) and overall left out


def test_link_rate_gaps_by_hand():
    linkage = {"link_rates": {"d": {"by_group": {"sex": {"F": {"rate": 0.9, "records": 100},
                                                          "M": {"rate": 0.8, "records": 100},
                                                          "U": {"rate": 0.1, "records": 3}}}}}}
    assert link_rate_gaps(linkage, ["d"], ["sex"], 50) == {"d/sex": pytest.approx(0.1)}


NEET18_THRESHOLDS = model_thresholds_sha256(model_thresholds(read_yaml(THRESHOLDS_FILE), "neet18"))


def _evidence(**changes) -> GateEvidence:
    block = {"auc_ci": [0.75, 0.8], "precision_at_capacity": 0.4, "lift_at_capacity": 5.0,
             "calibration_slope": 1.0, "oe_ratio": 1.0, "precision_at_capacity_ci": [0.3, 0.5],
             "lift_at_capacity_ci": [4.0, 6.0], "calibration_slope_ci": [0.9, 1.1], "oe_ratio_ci": [0.9, 1.1],
             "precision_gain_over_rule": {"value": 0.1, "ci": [0.04, 0.16]}}
    base = dict(
        metrics={"test": block, "baselines": {"rule": {"precision_at_capacity": 0.3}}},
        group_metrics=GROUPS.assign(fnr=[0.30, 0.38, 0.30, 0.36, None, 0.33], oe_ratio=[1, 0.9, 1, 0.95, None, 1],
                                    auc=[0.8, 0.8, 0.8, 0.8, None, 0.8],
                                    # each group's O/E against everyone's, with an interval reaching 0.8-1.25
                                    ratio_oe_ratio=[1, 0.9, 1, 0.95, None, 1], positives=[40, 45, 30, 25, 2, 142],
                                    ratio_oe_ratio_ci_low=[0.7, 0.6, 0.7, 0.6, None, 1],
                                    ratio_oe_ratio_ci_high=[1.3, 1.2, 1.3, 1.3, None, 1]),
        run={"feature_columns": ["absence_rate_12m"],
             "thresholds_sha256": file_sha256(THRESHOLDS_FILE),
             "evaluation_outcomes": {"validation": {"year": 2021, "positives": 60}, "test": {"year": 2022,
                                                                                         "positives": 55}}},
        split_years=pd.DataFrame({"split": ["train", "validation", "test"], "index_year": [2020, 2021, 2022]}),
        linkage={"truth": {"precision": 0.99, "recall": 0.99}, "link_rates": {"social_care_to_school": {"by_group": {
            "sex": {"F": {"rate": 0.9, "records": 100}, "M": {"rate": 0.91, "records": 100}}}}}},
        features_report={"max_event_date_before_index": {"school": {"2022-01-20": "2022-01-19"}},
                         "leakage_perturbation": {"sampled": 300, "rows_compared": 300, "differing_rows": 0,
                                                  "differing_features": {}}},
        fairness_features=frozenset({"sex"}),
        context={k: "x" for k in ("owner", "purpose", "intended_uses", "out_of_scope_uses", "label_meaning",
                                  "human_review", "challenge_route", "contact")},
        link_rate_directions=tuple(link_rate_directions(gated_only=True)),
        thresholds_sha256=NEET18_THRESHOLDS,
        registered_thresholds_sha256=NEET18_THRESHOLDS,
        monitor={"series_tested": 500, "breaks": []},
        input_sources=("school",),
    )
    return GateEvidence(**{**base, **changes})


def _gate(evidence, signed=True):
    checklist = parse_checklist(read_yaml(CHECKLIST_FILE))
    signoffs = {i.id: {"decision": "approve", "by": "R", "role": i.role, "time": "2026-01-01T00:00:00",
                       "evidence": "E"} for i in checklist.items if i.kind == "human"} if signed else {}
    return evaluate_gate(checklist, model_thresholds(read_yaml(THRESHOLDS_FILE), "neet18"), evidence, signoffs,
                         model="neet18", version="1")


def test_everything_met_and_signed_is_approved():
    result = _gate(_evidence())
    assert result["status"] == "approved", result["reasons"]


@pytest.mark.parametrize("changes, item", [
    ({"run": {"feature_columns": ["fair_sex"], "thresholds_sha256": "0"}}, "protected_attributes_not_inputs"),
    ({"split_years": pd.DataFrame({"split": ["train", "test"], "index_year": [2022, 2022]})}, "out_of_time_validation"),
    ({"features_report": {"max_event_date_before_index": {"school": {"2022-01-20": "2022-01-20"}}}}, "leakage_guard"),
    ({"context": {"owner": "TO COMPLETE"}}, "documentation_complete"),
    ({"group_metrics": GROUPS}, "subgroup_error_gap"),
    ({"group_metrics": GROUPS.assign(suppressed=False)}, "small_cell_suppression"),
    ({"linkage": None}, "linkage_rate_gap"),
    ({"thresholds_sha256": "f" * 64}, "thresholds_unchanged"),
    ({"registered_thresholds_sha256": None}, "thresholds_unchanged"),
    ({"run": {"feature_columns": ["absence_rate_12m"], "evaluation_outcomes": {
        "validation": {"year": 2021, "positives": 60}, "test": {"year": 2022, "positives": 3}}}}, "enough_outcomes"),
])
def test_each_failing_check_blocks(changes, item):
    result = _gate(_evidence(**changes))
    statuses = {i["id"]: i["status"] for i in result["items"]}
    assert result["status"] == "blocked" and statuses[item] != "pass"


def test_unsigned_items_block_and_are_named():
    result = _gate(_evidence(), signed=False)
    unsigned = [i["id"] for i in result["items"] if i["status"] == "unsigned"]
    assert result["status"] == "blocked" and "dpia" in unsigned and "lawful_basis" in unsigned
    assert any(r.startswith("dpia: unsigned") for r in result["reasons"])


def _link_rates(direction: str, low: float) -> dict:
    return {"truth": {"precision": 0.99, "recall": 0.99}, "link_rates": {direction: {"by_group": {
        "sex": {"F": {"rate": 0.95, "records": 100}, "M": {"rate": low, "records": 100}}}}}}


def test_link_rate_gap_is_judged_on_the_directions_the_sources_declare():
    assert "health_to_school" in link_rate_directions()
    declared = _gate(_evidence(linkage=_link_rates("health_to_school", 0.70)))
    undeclared = _gate(_evidence(linkage=_link_rates("reference_to_school", 0.70)))
    status = {r["id"]: r for r in declared["items"]}["linkage_rate_gap"]
    assert status["status"] == "fail" and "health_to_school/sex" in status["evidence"]
    assert {r["id"]: r["status"] for r in undeclared["items"]}["linkage_rate_gap"] == "not_evaluable"


def test_the_link_rate_gap_names_the_group_linked_least():
    declared = _gate(_evidence(linkage=_link_rates("health_to_school", 0.70)))
    evidence = {r["id"]: r for r in declared["items"]}["linkage_rate_gap"]["evidence"]
    assert "health_to_school/sex; lowest: M 0.700" in evidence


def test_linkage_quality_fails_when_one_ethnic_group_is_missed_however_good_the_average():
    by_group = {"White": {"recall": 0.99, "true_pairs": 900}, "Black": {"recall": 0.71, "true_pairs": 300},
                "Other": {"recall": 0.2, "true_pairs": 10}}  # too few pairs to judge
    missed = _link_rates("health_to_school", 0.95)
    missed["truth"] = {"precision": 0.999, "recall": 0.98, "by_group": {"ethnicity_group": by_group}}
    item = {r["id"]: r for r in _gate(_evidence(linkage=missed))["items"]}["linkage_quality"]
    assert item["status"] == "fail" and "lowest recall by ethnic group 0.7100 (Black)" in item["evidence"]
    by_group["Black"]["recall"] = 0.97
    item = {r["id"]: r for r in _gate(_evidence(linkage=missed))["items"]}["linkage_quality"]
    assert item["status"] == "pass" and "(Black)" in item["evidence"]


def test_a_model_without_its_own_thresholds_gets_the_defaults_and_directions_are_not_thresholds():
    data = read_yaml(THRESHOLDS_FILE)
    assert "unlisted_model" not in data["models"]
    assert model_thresholds(data, "unlisted_model") == Thresholds.model_validate(data["defaults"])
    assert model_thresholds(data, "care_entry").max_fnr_gap == data["models"]["care_entry"]["max_fnr_gap"]
    with pytest.raises(ValueError, match="link_rate_directions"):
        model_thresholds({**data, "defaults": {**data["defaults"], "link_rate_directions": ["a_to_b"]}}, "neet18")


RELEASES = {"1": "a" * 64, "2": "b" * 64}  # a release digest per version


def _signed(item, role, by, user, decision="approve", version="1", release=None):
    return {"event": "signoff", "time": "2026-01-01T00:00:00+00:00", "model": "neet18", "version": version,
            "release": release or RELEASES[version], "item": item, "by": by, "user": user, "role": role,
            "decision": decision, "evidence": "E"}


def test_thresholds_are_judged_against_their_pre_registration():
    edited = _gate(_evidence(thresholds_sha256="f" * 64))
    item = {i["id"]: i for i in edited["items"]}["thresholds_unchanged"]
    assert item["status"] == "fail"
    assert item["evidence"] == ("thresholds changed after they were pre-registered (registered "
                                f"{NEET18_THRESHOLDS[:12]}, now ffffffffffff); the first registration holds")
    never = {i["id"]: i for i in _gate(_evidence(registered_thresholds_sha256=None))["items"]}["thresholds_unchanged"]
    assert never["status"] == "not_evaluable" and "no pre-registration" in never["evidence"]
    # a comment or another model's override is not a change of this model's thresholds
    data = read_yaml(THRESHOLDS_FILE)
    data["models"]["care_entry"]["max_fnr_gap"] = 0.99
    assert model_thresholds_sha256(model_thresholds(data, "neet18")) == NEET18_THRESHOLDS
    data["defaults"]["max_fnr_gap"] = 0.99
    assert model_thresholds_sha256(model_thresholds(data, "neet18")) != NEET18_THRESHOLDS


def test_a_sign_off_counts_only_for_the_release_it_names():
    checklist, entries = _all_signed()
    assert withdrawn_approvals(checklist, entries, "neet18", "1", RELEASES["1"]) == []
    rebuilt = "c" * 64  # a rebuilt registry's v1: the same number, another release
    missing = withdrawn_approvals(checklist, entries, "neet18", "1", rebuilt)
    # an item that applies only to some inputs (family_records) or populations (the adults' items) is judged by the
    # gate that approved the release
    unconditional = [i for i in checklist.items if i.kind == "human" and not i.conditional]
    assert len(missing) == len(unconditional) and missing[0].endswith(f"for v1 (release {rebuilt[:12]})")
    assert withdrawn_approvals(checklist, [{k: v for k, v in e.items() if k != "release"} for e in entries],
                               "neet18", "1", "")  # naming no release never counts


def _all_signed(version="1"):
    checklist = parse_checklist(read_yaml(CHECKLIST_FILE))
    return checklist, [_signed(i.id, i.role, f"Person {i.role}", f"user_{i.role}", version=version)
                       for i in checklist.items if i.kind == "human"]


def test_make_signoff_records_the_os_identity_and_refuses_an_unknown_one():
    checklist = parse_checklist(read_yaml(CHECKLIST_FILE))
    record = make_signoff(checklist, model="neet18", version="1", release="a" * 64, item="dpia", by=" Dana  Price ",
                          role="dpo", decision="approve", evidence="DPIA-1", user="dprice")
    assert record["user"] == "dprice" and record["by"] == "Dana Price" and record["role"] == "DPO"
    assert record["release"] == "a" * 64 and record["version"] == "1"
    for user in ("unknown", " "):
        with pytest.raises(SignOffError, match="operating-system identity"):
            make_signoff(checklist, model="neet18", version="1", release="a" * 64, item="dpia", by="D", role="DPO",
                         decision="approve", evidence="E", user=user)


def test_one_person_one_role_per_release_by_name_or_os_identity():
    entries = [_signed("dpia", "DPO", "Dana Price", "dprice")]
    check_one_role_per_person(entries, _signed("retention", "DPO", "Dana Price", "dprice"))  # same role: fine
    check_one_role_per_person(entries, _signed("equality_impact", "SIRO", "Dana Price", "dprice", version="2"))
    with pytest.raises(SignOffError, match="name 'dana price' already signed riskpipe-neet18 v1 as the DPO"):
        check_one_role_per_person(entries, _signed("equality_impact", "SIRO", "DANA  price", "other"))
    with pytest.raises(SignOffError, match="OS user 'dprice' already signed"):
        check_one_role_per_person(entries, _signed("equality_impact", "SIRO", "Sam Iro", "DPrice"))
    twice = [*entries, _signed("equality_impact", "SIRO", "dana price", "siro")]
    assert role_conflicts(twice, "neet18", "1", RELEASES["1"]) == [
        "name 'dana price' signed riskpipe-neet18 v1 in 2 roles (DPO, SIRO) for release aaaaaaaaaaaa; one person may "
        "hold only one signing role per release"]


def test_withdrawn_approvals_and_the_review_of_the_approved_version():
    checklist, entries = _all_signed()
    assert withdrawn_approvals(checklist, entries, "neet18", "1", RELEASES["1"]) == []
    kept = review_approved_version(checklist, entries, [], model="neet18", version="1", release=RELEASES["1"],
                                   decided_at="T")
    assert kept == {"version": "1", "release_digest": RELEASES["1"], "status": "approved", "reasons": [],
                    "decided_at": "T"}
    rejected = [*entries, _signed("dpia", "DPO", "Person DPO", "user_DPO", decision="reject")]
    assert withdrawn_approvals(checklist, rejected, "neet18", "1", RELEASES["1"]) == [
        "dpia: rejected by Person DPO (DPO) on 2026-01-01: E"]
    revoked = review_approved_version(checklist, rejected, [], model="neet18", version="1", release=RELEASES["1"],
                                      decided_at="T")
    assert revoked["status"] == "revoked" and revoked["reasons"][0].startswith("dpia: rejected")
    # a missing sign-off or a log that fails verification withdraws it too
    unsigned = withdrawn_approvals(checklist, entries[1:], "neet18", "1", RELEASES["1"])
    assert unsigned == [f"{entries[0]['item']}: no sign-off by the {entries[0]['role']} for v1 (release aaaaaaaaaaaa)"]
    broken = review_approved_version(checklist, entries, ["log broken"], model="neet18", version="1",
                                     release=RELEASES["1"], decided_at="T")
    assert broken["status"] == "revoked" and broken["reasons"] == ["log broken"]
    by_hand = review_approved_version(checklist, entries, [], model="neet18", version="1", release="", decided_at="T")
    assert by_hand["status"] == "revoked" and "names no release" in by_hand["reasons"][0]


def test_governance_json_must_back_the_release_holding_the_alias():
    r3 = "3" * 64
    assert approval_disagreements({"version": "3", "status": "approved", "release_digest": r3}, "3", r3) == []
    assert approval_disagreements(None, "3", r3) == ["no governance.json: `riskpipe govern` has not judged v3"]
    assert approval_disagreements({"version": "3", "status": "blocked", "reasons": ["r"], "release_digest": r3},
                                  "3", r3) == ["governance.json: v3 is blocked", "r"]
    other = approval_disagreements({"version": "3", "status": "approved", "release_digest": "9" * 64}, "3", r3)
    assert other == ["governance.json judged release 999999999999 of v3, not release 333333333333 named by the "
                     "`approved` alias"]
    review = {"version": "3", "status": "approved", "release_digest": r3}
    newer = {"version": "4", "status": "blocked", "approved_version_review": review}
    assert approval_disagreements(newer, "3", r3) == []
    revoked = {**newer, "approved_version_review": {**review, "status": "revoked", "reasons": ["dpia: x"]}}
    assert approval_disagreements(revoked, "3", r3) == ["governance.json: v3 was revoked", "dpia: x"]
    assert approval_disagreements({"version": "4", "status": "approved"}, "3", r3)[0].startswith(
        "governance.json judged v4, not v3")


def _not_known(black_n: int) -> dict:
    groups = {"White": {"n": 60, "of": 1000}, "Black": {"n": black_n, "of": 300}, "Other": {"n": 5, "of": 20}}
    return {"outcome_not_known_by_group": {"by_group": {"fair_ethnicity_group": groups}}}


def test_a_group_whose_outcomes_are_lost_to_not_known_blocks_the_release():
    lost = {r["id"]: r for r in _gate(_evidence(features_report=_not_known(black_n=60)))["items"]}
    item = lost["label_completeness"]  # Black 20% against 6.4% for the rest (small Other counts there)
    assert item["status"] == "fail"
    assert "ethnicity_group Black 20.0% against 6.4% for everyone else (3.1x" in item["evidence"]
    assert "the model under-rates them" in item["evidence"]
    recorded = {r["id"]: r for r in _gate(_evidence(features_report=_not_known(black_n=24)))["items"]}
    assert recorded["label_completeness"]["status"] == "pass"  # 8% vs 6%: within the pre-registered bounds
    no_status = {r["id"]: r for r in _gate(_evidence(features_report={}))["items"]}
    assert no_status["label_completeness"]["status"] == "pass"  # an outcome with no "not known" status
