"""The card shows the evaluation's bootstrap intervals and names the generator baseline for what it is."""

from __future__ import annotations

from ethics.card.headline import headline_performance
from ethics.card.tables import evaluation_table

BLOCK = {"n": 1000, "prevalence": 0.05, "precision_at_capacity": 0.30, "precision_at_capacity_ci": [0.20, 0.42],
         "recall_at_capacity": 0.3, "auc": 0.8, "auc_ci": [0.75, 0.85],
         "against_generator": {"expected_precision_at_capacity": 0.28,
                               "expected_precision_at_capacity_ci": [0.25, 0.31], "calibration_slope": 0.97,
                               "mean_ratio": 1.02}}
METRICS = {"capacity": 50,
           "test": {**BLOCK, "precision_gain_over_rule": {"value": 0.10, "ci": [0.02, 0.18]}},
           "baselines": {"rule": {**BLOCK, "precision_at_capacity": 0.20, "precision_at_capacity_ci": [0.10, 0.30]},
                         "generator": BLOCK}}


def test_headline_counts_use_the_bootstrap_interval_and_the_paired_gain():
    sentences = headline_performance(METRICS, "have the outcome").sentences
    assert "about 15 would have the outcome (95% interval 10 to 21)" in sentences[0]
    assert any("rule score" in s and "(95% interval 5 to 15)" in s for s in sentences)
    assert any("paired difference +1.0 to +9.0" in s and "holds +5.0" in s for s in sentences)


def test_the_evaluation_table_labels_the_generator_and_shows_figures_against_it():
    table = evaluation_table(METRICS)
    names = [row[0] for row in table.rows]
    assert "generator probability (synthetic only)" in names and not any("oracle" in n for n in names)
    column = table.columns.index("Expected precision at capacity (generator probability)")
    assert table.rows[0][column] == "0.280 (0.250-0.310)"
    assert table.rows[0][table.columns.index("Precision at capacity")] == "0.300 (0.200-0.420)"


def test_an_adult_models_card_counts_adults_not_children():
    from ethics.card.tables import describe_suppression, disaggregated_table

    sentences = headline_performance(METRICS, "be admitted", "adults").sentences
    assert sentences[0].startswith("Of the 50 adults the model would flag") and "children" not in " ".join(sentences)
    assert describe_suppression(10, "adults").startswith("Groups of fewer than 10 adults")
    import pandas as pd

    table = disaggregated_table(pd.DataFrame([{"attribute": "sex", "group": "F", "n": 500, "suppressed": False}]), 10,
                                "adults")
    assert table.columns[:3] == ["attribute", "group", "adults"]
    from ethics.card.disclosure import describe_capacity_share
    from models.offer_split import describe_offer_split

    share = describe_capacity_share({"test_year": {"share": 0.045, "cohort_rows": 447, "year": 2025, "capacity": 20}},
                                    "people")
    assert share == "20 a year: 4.5% of the 447 people in 2025"
    ratio = {"ratio": 0.95, "low": 0.58, "high": 1.47}
    offers = describe_offer_split({"year": 2025, "not_offered": {"rows": 447, "observed_over_expected": ratio},
                                   "offered": {"rows": 0}}, "adults")
    assert offers.startswith("In 2025, among the 447 adults not offered") and "children" not in offers


def test_the_share_of_the_state_ranked_list_shows_its_interval():
    shared = {**BLOCK, "against_generator": {**BLOCK["against_generator"],
                                             "expected_precision_to_state_ranked": 0.62,
                                             "expected_precision_to_state_ranked_ci": [0.48, 0.79]}}
    table = evaluation_table({**METRICS, "test": shared})
    column = table.columns.index("Share of the best list the records allow")
    assert table.rows[0][column] == "0.620 (0.480-0.790)"
    rule = next(row for row in table.rows if row[0] == "rule baseline")
    assert "(" not in rule[column] and "0.620" not in rule[column]  # only the block that has the share shows it
