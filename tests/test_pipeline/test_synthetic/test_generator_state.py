"""Truth's ``p_state``: the generator's probability without the help's unrecorded confounder, exactly.

The confounder shifts each child's care-entry log-odds by the same amount every year, so ``p_true`` and
``p_state`` differ by one constant per child on the log-odds scale, drawn N(-c^2/2, c^2); with no confounder they
are the same numbers. NEET is decided without it, so there ``p_state`` is ``p_true``.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import logit

from pipeline.core.config import SynthParams
from pipeline.synthetic import build_county

STRENGTH = 1.0


def _truth(strength: float) -> dict:
    county = build_county(SynthParams(children=1200, help={"enabled": True, "confounder_strength": strength}))
    return {name: county.truth[name] for name in ("outcome_care_entry", "outcome_neet18")}


@pytest.fixture(scope="module")
def confounded():
    return _truth(STRENGTH)


def test_p_state_is_p_true_without_the_confounders_shift(confounded):
    care = confounded["outcome_care_entry"]
    assert care["p_state"].notna().all() and care["p_state"].between(0, 1).all()
    eligible = care["p_state"] > 0  # a child in care cannot enter it: both are 0
    assert (care.loc[~eligible, "p_true"] == 0).all()
    rows = care[eligible]
    shift = logit(rows["p_true"].to_numpy()) - logit(rows["p_state"].to_numpy())
    per_child = rows.assign(shift=shift).groupby("person_id")["shift"]
    assert (per_child.max() - per_child.min()).max() < 1e-9  # one shift per child, every year
    child_shift = per_child.first()
    assert child_shift.mean() == pytest.approx(-STRENGTH**2 / 2, abs=0.1)  # c * u - c^2 / 2, u ~ N(0, 1)
    assert child_shift.std() == pytest.approx(STRENGTH, abs=0.1)


def test_ranking_by_p_state_never_beats_ranking_by_p_true(confounded):
    care = confounded["outcome_care_entry"]
    for _, year in care.groupby("index_date"):
        k = max(1, len(year) // 100)
        p_true = year["p_true"].to_numpy()
        by_state = p_true[np.argsort(-year["p_state"].to_numpy(), kind="stable")[:k]].mean()
        by_truth = np.sort(p_true)[::-1][:k].mean()
        assert by_state <= by_truth + 1e-12
    assert (care["p_true"] != care["p_state"]).mean() > 0.9  # the confounder moves almost every row


def test_neet_has_no_unrecorded_factor(confounded):
    neet = confounded["outcome_neet18"]
    assert len(neet) and (neet["p_state"] == neet["p_true"]).all()


def test_without_a_confounder_p_state_is_p_true_exactly():
    for name, frame in _truth(0.0).items():
        assert len(frame), name
        np.testing.assert_array_equal(frame["p_state"].to_numpy(), frame["p_true"].to_numpy(), err_msg=name)
