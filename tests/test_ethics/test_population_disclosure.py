"""What the card says about who is not scored and the list's share of the cohort: generated from the spec
and features.json, never typed."""

from __future__ import annotations

from ethics.card.disclosure import describe_capacity_share, describe_exclusions
from models.spec import load_model_spec


def _spec(name: str, **exclusions) -> dict:
    spec = load_model_spec(name).model_dump(mode="json")
    spec["exclusions"] = {**spec["exclusions"], **exclusions}
    return spec


def test_care_entry_card_says_children_with_a_social_worker_are_not_scored():
    sentences = describe_exclusions(_spec("care_entry"))
    assert any("open to children's social care on the index date" in s and "they have a social worker" in s
               for s in sentences)
    off = describe_exclusions(_spec("care_entry", open_to_social_care_on_index=False))
    assert not any("social worker" in s for s in off)


def test_sentences_carry_the_spec_s_own_numbers():
    spec = _spec("neet18", months_before_window=9)
    assert any("in the 9 months before the outcome window" in s for s in describe_exclusions(spec))
    assert any("custody (NCCIS 710)" in s for s in describe_exclusions(spec))


def test_capacity_share_reads_features_json():
    capacity = {"score_year": {"year": 2026, "capacity": 180, "cohort_rows": 12000, "share": 0.015},
                "test_year": {"year": 2025, "capacity": 200, "cohort_rows": 10000, "share": 0.02}}
    text = describe_capacity_share(capacity)
    assert text.startswith("180 a year: 1.5% of the 12,000 children in 2026") and "2.0% of the 10,000" in text
    assert describe_capacity_share(None) == "-"
