"""Clerical review estimates: strata, sampling, and precision/recall intervals that cover the truth.

A population of scored pairs with a known match status stands in for a council's pairs; "reviewers"
decide each sampled pair by that status, so the estimates can be checked against the population's own
precision and recall.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from ethics.fairness_checks import check_linkage_quality
from pipeline.linkage.clerical_review import (
    ClericalReviewError,
    draw_sample,
    estimate_quality,
    stratify,
)

LINK_EDGES, NEAR_MISS_EDGES = [0.95, 0.99, 0.999, 1.0], [0.5, 0.8, 0.95]


def population(seed: int = 0) -> pd.DataFrame:
    """3,000 links (a few false, more among the weaker) and 2,000 near-misses (some true matches missed)."""
    rng = np.random.default_rng(seed)
    links = pd.DataFrame({"linked": True, "match_probability": np.concatenate(
        [rng.uniform(0.95, 0.99, 500), rng.uniform(0.99, 0.999, 1000), np.ones(1500)])})
    links["true_match"] = rng.random(len(links)) < np.where(links["match_probability"] < 0.99, 0.85, 0.995)
    misses = pd.DataFrame({"linked": False, "match_probability": np.concatenate(
        [rng.uniform(0.5, 0.8, 1500), rng.uniform(0.8, 0.95, 500), rng.uniform(0.0, 0.5, 300)])})
    misses["true_match"] = rng.random(len(misses)) < np.where(misses["match_probability"] < 0.8, 0.05, 0.4)
    pairs = pd.concat([links, misses], ignore_index=True)
    return pairs.assign(pair_id=[f"pair{i}" for i in range(len(pairs))])


def true_quality(pairs: pd.DataFrame) -> tuple[float, float]:
    scored = pairs[pairs["stratum"].notna()]
    tp = (scored["linked"] & scored["true_match"]).sum()
    return tp / scored["linked"].sum(), tp / scored["true_match"].sum()


def review(sample: pd.DataFrame) -> pd.DataFrame:
    return sample.assign(decision=np.where(sample["true_match"], "match", "non-match"), reviewer="a.clerk")


def test_strata_split_links_by_probability_and_near_misses_below_the_threshold():
    pairs = pd.DataFrame({"linked": [True, True, True, False, False, False],
                          "match_probability": [1.0, 0.995, 0.96, 0.9, 0.6, 0.2]})
    assert stratify(pairs, LINK_EDGES, NEAR_MISS_EDGES).tolist() == [
        "link 0.999-1", "link 0.99-0.999", "link 0.95-0.99", "near-miss 0.8-0.95", "near-miss 0.5-0.8", pd.NA]


def test_the_sample_takes_each_stratum_and_says_its_size():
    pairs = population()
    pairs["stratum"] = stratify(pairs, LINK_EDGES, NEAR_MISS_EDGES)
    sample = draw_sample(pairs, per_stratum=60, seed=1)
    assert sample.groupby("stratum").size().eq(60).all() and sample["stratum"].nunique() == 5
    assert dict(sample.groupby("stratum")["stratum_pairs"].first()) == dict(pairs["stratum"].value_counts())
    assert sample["pair_id"].tolist() == draw_sample(pairs, per_stratum=60, seed=1)["pair_id"].tolist()


def test_a_full_review_gives_the_exact_figures():
    pairs = population()
    pairs["stratum"] = stratify(pairs, LINK_EDGES, NEAR_MISS_EDGES)
    result = estimate_quality(review(draw_sample(pairs, per_stratum=10_000, seed=0)))
    precision, recall = true_quality(pairs)
    assert result["precision"] == pytest.approx(precision) and result["recall"] == pytest.approx(recall)
    assert result["precision_ci"] == pytest.approx([precision, precision])  # every pair seen: nothing to infer


def test_intervals_cover_the_populations_precision_and_recall():
    pairs = population()
    pairs["stratum"] = stratify(pairs, LINK_EDGES, NEAR_MISS_EDGES)
    precision, recall = true_quality(pairs)
    covered = {"precision": 0, "recall": 0}
    runs = 200
    for seed in range(runs):
        result = estimate_quality(review(draw_sample(pairs, per_stratum=40, seed=seed)))
        for name, truth in (("precision", precision), ("recall", recall)):
            low, high = result[f"{name}_ci"]
            covered[name] += low <= truth <= high
    assert covered["precision"] / runs >= 0.9 and covered["recall"] / runs >= 0.9, covered


def test_unsure_pairs_are_counted_and_left_out_and_bad_decisions_are_refused():
    pairs = population()
    pairs["stratum"] = stratify(pairs, LINK_EDGES, NEAR_MISS_EDGES)
    reviewed = review(draw_sample(pairs, per_stratum=20, seed=3))
    reviewed.loc[reviewed.index[:3], "decision"] = "unsure"
    result = estimate_quality(reviewed)
    assert result["unsure"] == 3 and result["reviewers"] == ["a.clerk"] and result["not_evaluable"] is None
    only_unsure = reviewed.assign(decision=np.where(reviewed["stratum"] == "link 0.95-0.99", "unsure",
                                                    reviewed["decision"]))
    assert "link 0.95-0.99" in estimate_quality(only_unsure)["not_evaluable"]
    typo = reviewed.copy()
    typo.loc[typo.index[4], "decision"] = "yes"
    with pytest.raises(ClericalReviewError, match=r"one of match, non-match, unsure: data rows \[5\]"):
        estimate_quality(typo)
    anonymous = reviewed.copy()
    anonymous.loc[anonymous.index[7], "reviewer"] = " "
    with pytest.raises(ClericalReviewError, match=r"needs a reviewer: data rows \[8\]"):
        estimate_quality(anonymous)


def test_the_gates_linkage_check_reads_a_clerical_review():
    pairs = population()
    pairs["stratum"] = stratify(pairs, LINK_EDGES, NEAR_MISS_EDGES)
    result = estimate_quality(review(draw_sample(pairs, per_stratum=40, seed=0)))
    strict = SimpleNamespace(min_linkage_precision=0.999, min_linkage_recall=0.999, min_group_size=20)
    lenient = SimpleNamespace(min_linkage_precision=0.5, min_linkage_recall=0.5, min_group_size=20)
    evidence = SimpleNamespace(linkage={"clerical_review": result})
    assert check_linkage_quality(evidence, lenient).status == "pass"
    assert check_linkage_quality(evidence, strict).status == "fail"


def test_a_draw_by_permanent_random_numbers_is_random_and_keeps_its_pairs_when_others_join():
    pairs = population()
    pairs["stratum"] = stratify(pairs, LINK_EDGES, NEAR_MISS_EDGES)
    first = draw_sample(pairs, per_stratum=40, seed=7, key="pair_id")
    assert first.groupby("stratum").size().eq(40).all()
    grown = pd.concat([pairs, pairs.head(300).assign(pair_id=lambda d: "new" + d["pair_id"])], ignore_index=True)
    again = draw_sample(grown, per_stratum=40, seed=7, key="pair_id")
    kept = set(first["pair_id"]) & set(again["pair_id"])
    assert len(kept) >= 0.8 * len(first)  # only pairs displaced by smaller numbers of the new ones are dropped
    precision, recall = true_quality(pairs)
    covered = sum(low <= precision <= high for low, high in (
        estimate_quality(review(draw_sample(pairs, per_stratum=40, seed=s, key="pair_id")))["precision_ci"]
        for s in range(100)))
    assert covered >= 90


def test_the_review_population_names_each_pair_by_its_two_records_whatever_its_order():
    """Each pair's ID is the documented hash of its two sides in sorted order, the same for a pair given either way
    round, and ``linked`` is True only where both records hold one person (a record missing from the index: False)."""
    import hashlib

    import pandas as pd

    from pipeline.linkage.review_pairs import review_population

    def pair_id(first: str, second: str) -> str:
        return hashlib.sha256(f"clerical-pair\n{first}\n{second}".encode()).hexdigest()[:20]

    scored = pd.DataFrame({"source_l": ["school", "health", "school", "health"],
                           "record_key_tok_l": ["a1", "h2", "a3", "h9"],
                           "source_r": ["health", "school", "health", "school"],
                           "record_key_tok_r": ["h1", "a1", "h3", "a3"],
                           "match_weight": [9.0, 1.0, 5.0, 2.0], "match_probability": [0.99, 0.6, 0.97, 0.7]})
    index = pd.DataFrame({"table": ["school", "health", "health", "school", "health"],
                          "record_key_tok": ["a1", "h1", "h2", "a3", "h3"],
                          "person_id": ["P1", "P1", "P2", "P3", "P4"]})
    out = review_population(scored, index)
    assert out["pair_id"].tolist() == [pair_id("health\th1", "school\ta1"), pair_id("health\th2", "school\ta1"),
                                       pair_id("health\th3", "school\ta3"), pair_id("health\th9", "school\ta3")]
    assert out["linked"].tolist() == [True, False, False, False]
    assert out["match_weight"].tolist() == [9.0, 1.0, 5.0, 2.0]  # the scored pairs' order is kept
    swapped = scored.rename(columns={"source_l": "source_r", "record_key_tok_l": "record_key_tok_r",
                                     "source_r": "source_l", "record_key_tok_r": "record_key_tok_l"})
    assert review_population(swapped, index)["pair_id"].tolist() == out["pair_id"].tolist()
