"""The released model recalibrated on the latest matured year before a live list is scored."""

from __future__ import annotations

import numpy as np
import pandas as pd

from models.learners import lightgbm_margin
from models.live_calibration import describe_live_calibration, latest_matured_year, recalibrate_for_live

from .conftest import FEATURES, make_features


def _drifted(seed: int = 3) -> pd.DataFrame:
    """Toy rows whose latest year (2020) has the outcome three times as often for the same records; 2021 is not
    yet labelled (the live list's year)."""
    frame = make_features(n_per_year=600, years=range(2015, 2022), seed=seed)
    rng = np.random.default_rng(seed)
    latest = frame["index_year"] == 2020
    flip = latest & (frame["outcome"] == 0) & (rng.random(len(frame)) < 2 * frame.loc[latest, "outcome"].mean())
    frame.loc[flip, "outcome"] = 1
    frame.loc[frame["index_year"] == 2021, "outcome"] = pd.NA
    return frame


def test_the_latest_matured_year_is_the_newest_fully_labelled_one():
    frame = _drifted()
    assert latest_matured_year(frame, 2021) == 2020
    assert latest_matured_year(frame, 2018) == 2018
    assert latest_matured_year(frame.assign(outcome=pd.NA), 2021) is None


def test_recalibration_follows_the_latest_years_rate_and_leaves_the_ranking(trained):
    frame = _drifted()
    model = trained.lightgbm
    live, protocol = recalibrate_for_live(model, frame, FEATURES, methods=["sigmoid", "isotonic"], score_year=2021)
    assert protocol["recalibrated"] and protocol["year"] == 2020
    latest = frame[frame["index_year"] == 2020]
    observed = latest["outcome"].astype(float).mean()
    before = model.predict_proba(latest[FEATURES])[:, 1].mean()
    after = live.predict_proba(latest[FEATURES])[:, 1].mean()
    assert abs(after - observed) < 0.1 * observed < abs(before - observed), (before, after, observed)
    live_rows = frame[frame["index_year"] == 2021][FEATURES]
    np.testing.assert_array_equal(lightgbm_margin(live, live_rows), lightgbm_margin(model, live_rows))
    text = describe_live_calibration(protocol)
    assert "recalibrated on 2020" in text and f"{len(latest):,} rows" in text and "not who is on the list" in text


def test_a_latest_year_with_too_few_outcomes_keeps_the_validation_calibration(trained):
    frame = _drifted()
    frame.loc[frame["index_year"] == 2020, "outcome"] = 0
    frame.loc[frame.index[frame["index_year"] == 2020][:1], "outcome"] = 1
    live, protocol = recalibrate_for_live(trained.lightgbm, frame, FEATURES, methods=["sigmoid"], score_year=2021)
    assert live is trained.lightgbm and not protocol["recalibrated"]
    assert "at least two positives" in protocol["reason"]
    assert "could not be refitted" in describe_live_calibration(protocol)


def test_the_recalibrated_model_can_be_logged_with_trusted_types_only(trained):
    from pipeline.core.tracking.runs import _trusted_types

    live, _ = recalibrate_for_live(trained.lightgbm, _drifted(), FEATURES, methods=["sigmoid"], score_year=2021)
    # raises TypeError when the model holds a type outside riskpipe's trusted list
    assert "models.calibration.CalibratedScore" in _trusted_types(live)
