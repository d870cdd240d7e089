"""An adult model's linkage is judged on adults' records and the sources that feed it (issue #18): a school link
that adults do not have decides nothing, a gap between adult age bands or groups in the GP-hospital links does."""

from __future__ import annotations

import pandas as pd

from ethics.adult_link_checks import ADULT_AGE_BANDS, check_adult_link_rate_gap, check_adult_linkage_quality
from ethics.auto_checks import CHECKS
from ethics.checklist import THRESHOLDS_FILE
from ethics.gate import auto_check
from ethics.gate_evidence import GateEvidence
from ethics.thresholds import model_thresholds
from features.registry import feature_columns
from models.spec import load_model_spec
from pipeline.core.io import read_yaml

TH = model_thresholds(read_yaml(THRESHOLDS_FILE), "emergency_admission")
N = TH.min_group_size * 4


def _rates(**rates: float) -> dict:
    return {g: {"rate": r, "records": N} for g, r in rates.items()}


def _direction(age: dict, ethnicity: dict) -> dict:
    return {"overall": 0.9, "records": N * 4, "by_group": {"age_band": age, "ethnicity_group": ethnicity,
                                                             "sex": _rates(F=0.97, M=0.97)}}


def _recall(**recall: float) -> dict:
    return {g: {"recall": r, "precision": 1.0, "true_pairs": N} for g, r in recall.items()}


def linkage(gp_85: float = 0.97, recall_85: float = 0.99) -> dict:
    """A county whose school links are poor for adults (they have no school record) and whose GP-hospital links
    are as given for people aged 85+."""
    adults = {"18-24": 0.97, "25-64": 0.97, "65-84": 0.97, "85+": gp_85}
    return {
        "link_rates": {
            # children's directions: adults rarely have a school record, by design
            "health_to_school": _direction(_rates(**{"11-15": 0.9, "25-64": 0.01, "85+": 0.0}),
                                           _rates(White=0.03, Asian=0.25)),
            "gp_to_health": _direction(_rates(**{"0-4": 0.5, **adults}), _rates(White=0.97, Asian=0.96)),
            "deaths_to_health": _direction(_rates(**{"65-84": 0.99, "85+": 0.99}), _rates(White=0.99, Asian=0.99)),
        },
        "truth": {"precision": 0.999, "recall": 0.99, "by_group": {
            "age_band": _recall(**{"0-4": 0.80, "18-24": 0.99, "25-64": 0.99, "65-84": 0.99, "85+": recall_85}),
            "ethnicity_group": _recall(White=0.99, Asian=0.985)}},
    }


def evidence(linkage_report: dict, model: str = "emergency_admission") -> GateEvidence:
    spec = load_model_spec(model)
    return GateEvidence(metrics={}, group_metrics=pd.DataFrame(), thresholds_sha256="0",
                        run={"population": spec.population, "feature_columns": feature_columns(spec)},
                        split_years=pd.DataFrame({"split": [], "index_year": []}), linkage=linkage_report,
                        link_rate_directions=("health_to_school", "school_to_health"))


def test_an_adult_model_is_judged_on_its_own_links_not_the_school_ones():
    ev = evidence(linkage())
    # the children's check fails the adult model on school links it never uses
    assert CHECKS["link_rate_gap"](ev, TH).status == "fail"
    check = auto_check("link_rate_gap", ev)
    assert check is check_adult_link_rate_gap
    result = check(ev, TH)
    assert result.status == "pass", result.evidence
    assert "GP records linked to health records" in result.evidence and "school" not in result.evidence


def test_older_adults_linked_less_often_fail_in_words_an_adult_team_reads():
    result = check_adult_link_rate_gap(evidence(linkage(gp_85=0.85)), TH)
    assert result.status == "fail"
    assert "adults aged 85+ 0.850" in result.evidence and "under-ranks them" in result.evidence
    # a children's band is never compared for an adult model (0-4 links at 0.5 above)
    assert "0-4" not in result.evidence


def test_linkage_quality_is_judged_in_each_adult_age_band():
    ev = evidence(linkage())
    assert auto_check("linkage_quality", ev) is check_adult_linkage_quality
    passed = check_adult_linkage_quality(ev, TH)
    assert passed.status == "pass", passed.evidence  # the 0-4 band's recall of 0.80 is the children's concern
    assert "adults' age bands" in passed.evidence and "(Asian, all ages)" in passed.evidence
    failed = check_adult_linkage_quality(evidence(linkage(recall_85=TH.min_linkage_recall - 0.02)), TH)
    assert failed.status == "fail" and "adults aged 85+" in failed.evidence


def test_the_older_carer_register_is_judged_on_the_sources_its_carers_records_come_from():
    ev = evidence(linkage(gp_85=0.85), "ld_older_carer")
    result = auto_check("link_rate_gap", ev)(ev, TH)
    assert result.status == "fail" and "death registrations linked to health records" in result.evidence


def test_a_childrens_model_keeps_the_childrens_checks():
    ev = evidence(linkage(), "care_entry")
    assert auto_check("link_rate_gap", ev) is CHECKS["link_rate_gap"]
    assert auto_check("linkage_quality", ev) is CHECKS["linkage_quality"]


def test_without_adult_bands_the_quality_cannot_be_judged():
    report = linkage()
    report["truth"]["by_group"]["age_band"] = {b: v for b, v in report["truth"]["by_group"]["age_band"].items()
                                               if b not in ADULT_AGE_BANDS}
    assert check_adult_linkage_quality(evidence(report), TH).status == "not_evaluable"
