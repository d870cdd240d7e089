"""Blocking at national scale: with a geography key (``link.blocking_geography``) blocked pairs grow with the
records, where the county's date-of-birth + initial rules grow with their square.

The records are the linkage benchmark's (benchmarks/linkage_scale.py): people of four sources with the recording
errors councils see, spread over postcode districts that grow in number with the population as real ones do.
"""

from __future__ import annotations

import pytest

from benchmarks.linkage_scale import blocked_pairs, person_records, true_pairs_admitted
from pipeline.linkage.comparisons import FIELD_COLUMNS
from pipeline.linkage.model import (
    PREDICTION_BLOCKING_RULES,
    build_linkage_settings,
    prediction_blocking_rules,
)

SMALL, LARGE = 60_000, 180_000  # 4 and 10 postcode districts


@pytest.fixture(scope="module")
def growth():
    """Blocked pairs of each rule at LARGE records over those at SMALL, for the county and national rules."""
    small, large = (person_records(n, 20261127)[0] for n in (SMALL, LARGE))
    return {
        geography: {rule: blocked_pairs(large, geography)[rule] / max(count, 1)
                    for rule, count in blocked_pairs(small, geography).items()}
        for geography in (None, "postcode_district")
    }


def test_county_rules_on_a_birth_date_and_an_initial_grow_faster_than_the_records(growth):
    assert growth[None]["dob+forename_initial"] > 1.4 * LARGE / SMALL


def test_every_national_rule_grows_about_as_the_records_do(growth):
    ratio = LARGE / SMALL
    for rule, grown in growth["postcode_district"].items():
        assert grown < 1.15 * ratio, (rule, grown)
    assert sum(growth["postcode_district"].values()) < sum(growth[None].values())


def test_national_rules_still_admit_nearly_every_true_pair():
    """Movers (one record in ten at a random address, one in twenty without one) lose the district rules;
    the rules without it (exact dob, a phonetic name and an initial; postcode + year; identifiers) hold most."""
    persons, truth = person_records(SMALL, 20261127)
    county, national = (true_pairs_admitted(persons, truth, g) for g in (None, "postcode_district"))
    assert county > 0.998
    assert 0.98 < national < county


def test_national_rules_pair_part_of_the_dob_with_another_key():
    dob_parts = set(FIELD_COLUMNS["dob"])
    for rule in prediction_blocking_rules("postcode_district"):
        if rule in {FIELD_COLUMNS["nhs_number"], FIELD_COLUMNS["upn"]}:
            continue
        assert set(rule) & dob_parts and set(rule) - dob_parts, rule


def test_settings_use_the_geography_only_where_the_tables_hold_it():
    fields = ["forename", "surname", "dob", "postcode"]
    national = build_linkage_settings(fields, blocking_geography="postcode_district")
    national = national["blocking_rules_to_generate_predictions"]
    assert any("postcode_district_tok" in rule and "forename" in rule for rule in national)
    no_postcode = build_linkage_settings(["forename", "surname", "dob"], blocking_geography="postcode_district")
    county = build_linkage_settings(["forename", "surname", "dob"])
    assert no_postcode["blocking_rules_to_generate_predictions"] == county["blocking_rules_to_generate_predictions"]
    assert prediction_blocking_rules(None) == PREDICTION_BLOCKING_RULES
    with pytest.raises(ValueError, match="unknown blocking geography"):
        prediction_blocking_rules("county_of_birth")
