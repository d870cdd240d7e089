"""Cost per outcome avoided and value of outcomes avoided carry the effect's interval; nulls stay nulls."""

from __future__ import annotations

import pandas as pd
import pytest

from pipeline.impact import costs
from pipeline.impact.card_content import area_costs, offer_costs
from pipeline.impact.estimate import Estimate, number_needed_to_treat

UNIT_COSTS = pd.DataFrame([
    {"outcome": "care_entry", "description": "a year in care", "value_gbp": 60000, "price_year": 2024,
     "value_type": "fiscal", "cashable": "Y", "agency": "council", "per": "episode", "source": "PSSRU 2024"},
    {"outcome": "care_entry", "description": "lifetime wellbeing", "value_gbp": 20000, "price_year": 2024,
     "value_type": "social", "cashable": "N", "agency": "society", "per": "episode", "source": "GMCA UCD v1.4"},
    {"outcome": "referral", "description": "assessment", "value_gbp": 1500, "price_year": 2023,
     "value_type": "fiscal", "cashable": "N", "agency": "council", "per": "referral", "source": "GMCA UCD v1.4"},
])


def _estimate(effect, low, high, n=400, design="aipw") -> Estimate:
    return Estimate("early_help_offer", "care_entry", 12, design, "effect of an offer", effect, low, high, 0.10, n,
                    4000, "test")


def test_cost_per_outcome_avoided_is_cost_times_nnt_with_the_interval_carried():
    nnt = number_needed_to_treat(-0.04, -0.06, -0.02)  # NNT 25 (16.7 to 50)
    cost = costs.cost_per_outcome_avoided(1000.0, nnt)
    assert cost.value == pytest.approx(25_000)
    assert cost.low == pytest.approx(1000 / 0.06) and cost.high == pytest.approx(50_000)
    assert cost.low < cost.value < cost.high


@pytest.mark.parametrize(("effect", "low", "high", "reason"), [
    (-0.01, -0.03, 0.01, costs.NOT_ESTIMABLE_NULL),   # interval includes no effect
    (0.02, 0.01, 0.03, costs.NOT_ESTIMABLE_HARM),     # harm
])
def test_null_or_harm_gives_not_estimable_never_a_number(effect, low, high, reason):
    cost = costs.cost_per_outcome_avoided(1000.0, number_needed_to_treat(effect, low, high))
    assert cost.value is None and cost.low is None and cost.reason == reason
    avoided = costs.outcomes_avoided(effect, low, high, 400)
    assert avoided.value is None and avoided.reason == reason


def test_missing_programme_cost_is_said_in_words():
    assert costs.cost_per_outcome_avoided(None, number_needed_to_treat(-0.04, -0.06, -0.02)).reason == costs.NO_COST


def test_value_split_by_type_and_agency_with_cashable_share():
    avoided = costs.outcomes_avoided(-0.05, -0.08, -0.02, 400)  # 20 (8 to 32) care entries avoided
    assert (avoided.value, avoided.low, avoided.high) == pytest.approx((20, 8, 32))
    split = costs.value_of_outcomes_avoided(avoided, UNIT_COSTS, "care_entry", price_year=2024)
    assert split.by_type["fiscal"]["value"] == pytest.approx(20 * 60000)
    assert split.by_type["fiscal"]["cashable"] == pytest.approx(20 * 60000)
    assert split.by_type["social"]["cashable"] == 0
    assert split.by_agency["society"]["low"] == pytest.approx(8 * 20000)
    assert split.by_agency["council"]["high"] == pytest.approx(32 * 60000)
    assert split.notes == []


def test_value_notes_other_price_years_and_missing_unit_costs():
    avoided = costs.outcomes_avoided(-0.05, -0.08, -0.02, 400)
    split = costs.value_of_outcomes_avoided(avoided, UNIT_COSTS, "referral", price_year=2024)
    assert any("2023" in n and "not uprated" in n for n in split.notes)
    none = costs.value_of_outcomes_avoided(avoided, UNIT_COSTS, "custody")
    assert none.lines == [] and "no unit cost" in none.notes[0]


def test_null_value_split_totals_are_none_not_zero():
    null = costs.outcomes_avoided(-0.01, -0.03, 0.01, 400)
    split = costs.value_of_outcomes_avoided(null, UNIT_COSTS, "care_entry")
    assert all(v["value"] is None for v in split.by_type.values())
    assert all(line["value"] is None for line in split.lines)


def test_offer_costs_price_the_offer_by_take_up():
    programme = {"cost_per_family_gbp": 2000, "price_year": 2024, "agency": "council"}
    out = offer_costs(_estimate(-0.04, -0.06, -0.02), programme, 0.5, UNIT_COSTS, "care_entry")
    # 2,000 per family taking it up x 50% take-up = 1,000 per family offered; NNT 25
    assert out["cost_per_outcome_avoided"]["value"] == pytest.approx(25_000)
    assert out["nnt"]["value"] == pytest.approx(25)
    null = offer_costs(_estimate(-0.01, -0.03, 0.01), programme, 0.5, UNIT_COSTS, "care_entry")
    assert null["cost_per_outcome_avoided"]["value"] is None


def test_area_costs_use_child_quarters_and_families_reached():
    programme = {"cost_per_family_gbp": 1000, "price_year": 2024, "agency": "council"}
    e = Estimate("key_worker", "referral", 12, "cs_did", "att", -5.0, -8.0, -2.0, 40.0, 8, 10, "test")
    out = area_costs(e, programme, exposure_child_periods=100_000, families=300, unit_costs=UNIT_COSTS,
                     outcome="referral")
    assert out["outcomes_avoided"]["value"] == pytest.approx(500)  # 5 per 1,000 x 100,000 child-quarters
    assert out["cost_per_outcome_avoided"]["value"] == pytest.approx(300 * 1000 / 500)
    assert out["cost_per_outcome_avoided"]["low"] == pytest.approx(300 * 1000 / 800)
