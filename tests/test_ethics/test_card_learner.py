"""The card's method line for LightGBM is generated from run.json, never written in advance."""

from __future__ import annotations

from ethics.card.released import describe_lightgbm

SPEC = {"calibration": {"methods": ["isotonic", "sigmoid"], "cross_fit_training_years": True}}


def test_the_trees_and_the_calibration_come_from_the_run():
    run = {"trees": {"count": 1234, "chosen_on": "the summed log-loss of 3 training years (2015-2017) each held out "
                                                 "in turn, 80 outcomes"},
           "calibration": {"lightgbm": {"method": "sigmoid", "fitted_on": "the validation year and every training "
                                                                          "year, each scored by the model fitted "
                                                                          "without it"}}}
    line = describe_lightgbm(run, SPEC)
    assert line.startswith("LightGBM gradient boosting: 1,234 trees, chosen on the summed log-loss of 3 training")
    assert "Calibrated (sigmoid, the better of isotonic and sigmoid by cross-fitted log-loss) on the validation " \
           "year and every training year" in line
    other = describe_lightgbm({**run, "trees": {"count": 7, "chosen_on": "index year 2017 (the latest training "
                                                                         "year)"}}, SPEC)
    assert "7 trees, chosen on index year 2017" in other and "1,234" not in other


def test_a_version_trained_before_the_trees_were_recorded_keeps_its_wording():
    line = describe_lightgbm({"calibration": {"lightgbm": {"method": "isotonic"}}}, SPEC)
    assert "chosen by early stopping on the latest training year" in line
    assert "each scored by a model fitted without it" in line and line.endswith("(isotonic, sigmoid)")
