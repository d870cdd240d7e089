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


def test_two_unit_costs_of_one_thing_are_alternatives_and_the_totals_count_the_lower():
    two = pd.concat([UNIT_COSTS, pd.DataFrame([{
        "outcome": "care_entry", "description": "a year in care, any placement", "value_gbp": 90000,
        "price_year": 2024, "value_type": "fiscal", "cashable": "Y", "agency": "council", "per": "episode",
        "source": "s251"}])], ignore_index=True)
    avoided = costs.outcomes_avoided(-0.05, -0.08, -0.02, 400)  # 20 (8 to 32)
    split = costs.value_of_outcomes_avoided(avoided, two, "care_entry", price_year=2024)
    assert split.by_type["fiscal"]["value"] == pytest.approx(20 * 60000)  # not 20 x (60,000 + 90,000)
    assert [line["in_totals"] for line in split.lines] == [True, True, False]
    assert any("alternatives" in n and "£60,000" in n for n in split.notes)


def test_green_book_discounting_by_year():
    assert costs.discount_factor(0) == costs.discount_factor(11.9) == 1.0
    assert costs.discount_factor(12) == pytest.approx(1 / 1.035)
    assert costs.discount_factor(36) == pytest.approx(1 / 1.035 ** 3)
    assert costs.spread_discount_factor(12) == 1.0
    assert costs.spread_discount_factor(24) == pytest.approx((1 + 1 / 1.035) / 2)


def test_payback_within_the_months_measured_and_never_extrapolated():
    savings = costs.Ranged(2000.0, 1000.0, 4000.0)
    paid = costs.payback_months(1000.0, savings, 12)
    assert (paid["value"], paid["low"], paid["high"]) == pytest.approx((6, 3, 12))
    late = costs.payback_months(1000.0, costs.Ranged(2000.0, 500.0, 4000.0), 12)
    assert late["value"] == pytest.approx(6) and late["high"] is None  # the low end does not pay back in 12
    never = costs.payback_months(1000.0, costs.Ranged(800.0, 500.0, 1200.0), 12)
    assert never["value"] is None and never["reason"].startswith("not paid back within the 12 months measured")
    assert "80%" in never["reason"]
    assert costs.payback_months(None, savings, 12)["reason"] == costs.NO_COST


def test_value_per_pound_only_where_it_can_be_computed_honestly():
    avoided = costs.outcomes_avoided(-0.05, -0.08, -0.02, 400)  # 20 (8 to 32)
    split = costs.value_of_outcomes_avoided(avoided, UNIT_COSTS, "care_entry", price_year=2024)
    vpp = costs.value_per_pound(split, 400_000.0, 2024, "care_entry")
    # (60,000 + 20,000) x 20 / 400,000 = 4 (1.6 to 6.4)
    assert (vpp["value"], vpp["low"], vpp["high"]) == pytest.approx((4, 1.6, 6.4)) and vpp["reason"] is None
    other_year = costs.value_per_pound(split, 400_000.0, 2019, "care_entry")
    assert other_year["value"] is None and "deflator" in other_year["reason"] and "2019" in other_year["reason"]
    referral = costs.value_of_outcomes_avoided(avoided, UNIT_COSTS, "referral", price_year=2023)
    no_social = costs.value_per_pound(referral, 400_000.0, 2023, "referral")
    assert no_social["value"] is None and "a social value of referral" in no_social["reason"]
    null = costs.value_of_outcomes_avoided(costs.outcomes_avoided(-0.01, -0.03, 0.01, 400), UNIT_COSTS,
                                           "care_entry", price_year=2024)
    assert costs.value_per_pound(null, 400_000.0, 2024, "care_entry")["value"] is None


def test_area_costs_discount_savings_and_cost_and_say_what_share_the_savings_cover():
    programme = {"cost_per_family_gbp": 1000, "price_year": 2023, "agency": "council"}
    e = Estimate("key_worker", "referral", 30, "cs_did", "att", -5.0, -8.0, -2.0, 40.0, 8, 10, "test")
    out = area_costs(e, programme, UNIT_COSTS, "referral", exposure_child_periods=100_000, families=300,
                     savings_discount=0.95, cost_discount=0.97, months_live=30)
    assert out["fiscal_savings"]["value"] == pytest.approx(500 * 1500)
    assert out["programme_cost_pv"] == pytest.approx(300_000 * 0.97)
    assert out["net_present_value"]["value"] == pytest.approx(500 * 1500 * 0.95 - 300_000 * 0.97)
    assert out["payback"] is None  # a running cost has no single payback date
    assert out["cost_covered"]["value"] == pytest.approx(500 * 1500 / 300_000)
    assert out["cost_covered"]["low"] == pytest.approx(200 * 1500 / 300_000)
