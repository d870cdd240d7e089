"""Faults in how one ethnic group is recorded, planted through params.yaml, found by linkage and features.

Two 4,000-child counties from the same seed, one clean and one with two planted faults that touch different
groups and different stages, so they do not mask each other:

- (4) a linkage failure in Black children: ``synth.identifier_noise.extra_error_by_ethnicity: {Black: 20}``
  multiplies their name and date-of-birth slips in every source and their missing NHS numbers and UPNs in
  social care. ``reports/linkage.json`` must show Black children's social-care records linking to school far
  less often than in the clean county, the lowest of any group, and the gate's link-rate check must fail on it.
- (5) NCCIS "not known" inflated for Mixed young people (``synth.measurement_bias.nccis_not_known_by_ethnicity``):
  ``reports/neet18/features.json`` ``outcome_not_known_by_group`` must show the Mixed group far above the
  others, and the gate's ``label_completeness`` check must fail naming the group.

Small counties have too few outcomes to judge a model (the gate's ``enough_outcomes`` blocks them), so nothing
here trains one: linkage and the features report are where these faults show.
"""

from __future__ import annotations

import shutil

import pandas as pd
import pytest

from ethics.fairness_checks import (
    check_label_completeness,
    check_link_rate_gap,
    check_linkage_quality,
    link_rate_gaps,
)
from ethics.gate_evidence import GateEvidence
from ethics.thresholds import model_thresholds
from pipeline.core.io import read_yaml
from pipeline.sources.registry import link_rate_directions

from .conftest import REPO, UPSTREAM, build_county, read_report

pytestmark = pytest.mark.slow

CHILDREN = 4000
STEPS = [*map(list, UPSTREAM), ["features", "--model", "neet18"]]
FAULTS = {"identifier_noise": {"extra_error_by_ethnicity": {"Black": 20.0}},
          "measurement_bias": {"nccis_not_known_by_ethnicity": {"Black": 1.8, "Other": 2.0, "Mixed": 8.0}}}
THRESHOLDS = model_thresholds(read_yaml(REPO / "ethics/thresholds.yaml"), "neet18")
DIRECTION = "social_care_to_school"


@pytest.fixture(scope="module")
def counties(tmp_path_factory):
    base = tmp_path_factory.mktemp("group_faults")
    clean = build_county(base / "clean", CHILDREN, {}, STEPS)
    faulted = build_county(base / "faulted", CHILDREN, FAULTS, STEPS)
    yield clean, faulted
    shutil.rmtree(base, ignore_errors=True)


def _rates(root, direction=DIRECTION):
    groups = read_report(root, "linkage.json")["link_rates"][direction]["by_group"]["ethnicity_group"]
    return {g: v["rate"] for g, v in groups.items() if v["records"] >= THRESHOLDS.min_group_size}


def _evidence(root) -> GateEvidence:
    return GateEvidence(metrics={}, group_metrics=pd.DataFrame(), run={}, thresholds_sha256="",
                        split_years=pd.DataFrame(), linkage=read_report(root, "linkage.json"),
                        link_rate_directions=tuple(link_rate_directions(gated_only=True)))


def test_black_childrens_social_care_records_link_far_less_often(counties):
    clean, faulted = counties
    before, after = _rates(clean), _rates(faulted)
    assert before["Black"] - after["Black"] >= 0.20, (before, after)
    assert min(after, key=after.get) == "Black", after
    assert after["White"] - before["White"] == pytest.approx(0, abs=0.02)  # the other groups are untouched


def test_the_gate_fails_the_link_rate_gap_on_the_planted_group(counties):
    clean, faulted = counties
    gaps = link_rate_gaps(read_report(faulted, "linkage.json"), link_rate_directions(gated_only=True),
                          THRESHOLDS.link_rate_attributes, THRESHOLDS.min_group_size)
    clean_gaps = link_rate_gaps(read_report(clean, "linkage.json"), link_rate_directions(gated_only=True),
                                THRESHOLDS.link_rate_attributes, THRESHOLDS.min_group_size)
    planted = f"{DIRECTION}/ethnicity_group"
    assert gaps[planted] > THRESHOLDS.max_link_rate_gap
    assert gaps[planted] >= clean_gaps.get(planted, 0) + 0.20
    assert max(gaps, key=gaps.get) == planted  # the gate's reason names the planted direction, not another
    result = check_link_rate_gap(_evidence(faulted), THRESHOLDS)
    assert result.status == "fail" and f"({planted}; lowest: Black" in result.evidence, result.evidence


def test_linkage_truth_shows_the_lost_links_in_that_group(counties):
    clean, faulted = counties
    recall = {name: read_report(root, "linkage.json")["truth"]["by_group"]["ethnicity_group"]["Black"]["recall"]
              for name, root in (("clean", clean), ("faulted", faulted))}
    assert recall["faulted"] < min(recall["clean"] - 0.15, THRESHOLDS.min_linkage_recall), recall
    # overall recall alone would pass; the gate judges every ethnic group's recall too
    result = check_linkage_quality(_evidence(faulted), THRESHOLDS)
    assert result.status == "fail" and "lowest recall by ethnic group" in result.evidence, result.evidence
    assert "(Black)" in result.evidence, result.evidence


def test_inflated_not_known_shows_in_the_features_report(counties):
    clean, faulted = counties
    shares = {}
    for name, root in (("clean", clean), ("faulted", faulted)):
        shares[name] = read_report(root, "neet18", "features.json")["outcome_not_known_by_group"]
    mixed = {name: s["by_group"]["fair_ethnicity_group"]["Mixed"]["rate"] for name, s in shares.items()}
    assert mixed["faulted"] >= 2.5 * mixed["clean"], mixed
    assert shares["faulted"]["highest"]["fair_ethnicity_group"]["group"] == "Mixed", shares["faulted"]["highest"]
    # the gate's label_completeness check blocks on the faulted county, naming the group
    judged = {name: check_label_completeness(GateEvidence(
        metrics={}, group_metrics=pd.DataFrame(), run={}, thresholds_sha256="", split_years=pd.DataFrame(),
        features_report=read_report(root, "neet18", "features.json")), THRESHOLDS)
        for name, root in (("clean", clean), ("faulted", faulted))}
    assert judged["faulted"].status == "fail" and "ethnicity_group Mixed" in judged["faulted"].evidence, judged


def test_the_perturbation_ran_on_each_county_and_found_no_leak(counties):
    for root in counties:
        perturbation = read_report(root, "neet18", "features.json")["leakage_perturbation"]
        assert perturbation["rows_compared"] > 0 and perturbation["differing_features"] == {}
