"""The synthetic county's help (synth.help): off or without effect it moves nothing; its parts work as planted."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import pytest

from pipeline.core.config import SynthParams
from pipeline.core.synth_params import HelpParams
from pipeline.synthetic import build_county
from pipeline.synthetic.help.areas import KEY_WORKER, NONE, PILOT, AreaPlan
from pipeline.synthetic.help.county import run_dates
from pipeline.synthetic.help.lists import run_list
from pipeline.synthetic.help.recording import plant_factor_break
from pipeline.synthetic.help.wards import WardMap, lsoa_ward_table

CHILDREN = 2500
NO_EFFECT = {"enabled": True, "effect_care": 0.0, "effect_referral": 0.0, "confounder_strength": 0.0,
             "key_worker": {"max_effect": 0.0}, "pilot": {"effect": 0.0}, "recording_break": {"factor": 1.0}}
HELP_FILES = ("interventions/", "reference/lsoa_ward.csv")


def _text(frame: pd.DataFrame) -> str:
    buf = io.StringIO()
    frame.to_csv(buf, index=False)
    return buf.getvalue()


@pytest.fixture(scope="module")
def counties():
    return build_county(SynthParams(children=CHILDREN)), build_county(SynthParams(children=CHILDREN, help=NO_EFFECT))


def test_help_off_writes_no_help_files(counties):
    off, _ = counties
    assert not [rel for rel in off.csv if rel.startswith(HELP_FILES)]
    assert not [name for name in off.truth if name.startswith("help/")]
    assert off.json == {}


def test_help_without_effect_leaves_every_other_extract_byte_identical(counties):
    """Help draws only from its own stream: lists and offers that change nothing change no other record."""
    off, neutral = counties
    assert [rel for rel in neutral.csv if rel.startswith(HELP_FILES)]  # it did run lists
    assert (neutral.truth["help/scores"]["offered"]).sum() > 0
    assert set(off.csv) == {rel for rel in neutral.csv if not rel.startswith(HELP_FILES)}
    for rel, (frame, encoding) in off.csv.items():
        assert _text(frame) == _text(neutral.csv[rel][0]) and encoding == neutral.csv[rel][1], rel
    assert off.xml == neutral.xml
    for name, frame in off.truth.items():
        pd.testing.assert_frame_equal(frame, neutral.truth[name], obj=name)
    # with no effect, what would have happened is what happened
    scores = neutral.truth["help/scores"]
    assert (scores["y0_care_12m"] == scores["y1_care_12m"]).all()
    assert (scores["y0_referral_12m"] == scores["y1_referral_12m"]).all()


def test_help_params_refuse_unknown_keys_and_too_few_wards():
    with pytest.raises(ValueError, match="bogus"):
        SynthParams(help={"enabled": True, "bogus": 1})
    with pytest.raises(ValueError, match="wards"):
        AreaPlan.draw(np.random.default_rng(0), HelpParams(wards=8), np.array([f"W{i}" for i in range(8)]))


def test_run_dates_are_monthly_and_end_by_the_reference_date():
    dates = run_dates(np.datetime64("2026-03-31"), 3)
    assert dates.size == 36 and dates[-1] == np.datetime64("2026-03-05") and dates[0] == np.datetime64("2023-04-05")
    assert run_dates(np.datetime64("2026-03-03"), 1)[-1] == np.datetime64("2026-02-05")


def test_a_run_lists_top_k_overrides_both_ways_and_acceptance_falls_with_u():
    rng = np.random.default_rng(5)
    n, k = 20_000, 200
    observed = rng.normal(-6, 1.2, n)
    u = rng.standard_normal(n)
    params = HelpParams(enabled=True, confounder_strength=1.0)
    rows = run_list(rng, params, k, np.arange(n), observed, u, rng.standard_normal(n))
    assert rows.listed.sum() == k and (rows.rank[rows.listed] <= k).all()
    assert rows.score[rows.listed].min() >= rows.score[~rows.listed].max()
    listed_not_offered = rows.listed & ~rows.offered
    below_offered = ~rows.listed & rows.offered & (rows.route == "list")
    assert listed_not_offered.sum() == below_offered.sum() == round(0.1 * k)
    assert rows.override[listed_not_offered | below_offered].all()
    assert (rows.rank[below_offered] <= 3 * k).all()
    assert np.isin(rows.route[~rows.listed & rows.offered], ["list", "professional", "self"]).all()
    assert u[rows.would_accept].mean() < u[~rows.would_accept].mean() - 0.3
    # the score is the observed log-odds plus error: it correlates with the true log-odds about as asked
    logit = np.log(rows.score / (1 - rows.score))
    assert abs(np.corrcoef(logit, rows.true_log_odds)[0, 1] - params.score_correlation) < 0.03


def test_ward_of_a_household_follows_its_moves():
    table = lsoa_ward_table(np.array([f"E0100000{i}" for i in range(8)]), 4)
    assert table["ward_code"].nunique() == 4 and table.groupby("ward_code").size().tolist() == [2, 2, 2, 2]
    assert table["ward_code"].str.match(r"^E05\d{6}$").all()
    hh = pd.DataFrame({"household_id": [0, 1], "lsoa_code": ["E01000000", "E01000007"]})
    moves = pd.DataFrame({"household_id": [0, 0], "move_date": np.array(["2020-01-01", "2022-06-01"], "datetime64[D]"),
                          "lsoa_code": ["E01000003", "E01000005"]})
    wards = WardMap.build(table, hh, moves)
    at = wards.at(np.array([0, 0, 0, 0, 1]), np.array(["2019-12-31", "2020-01-01", "2022-05-31", "2023-01-01",
                                                          "2023-01-01"], "datetime64[D]"))
    assert wards.codes[at].tolist() == ["E05900001", "E05900002", "E05900002", "E05900003", "E05900004"]


def test_area_effect_is_zero_before_go_live_and_grows_to_full():
    params = HelpParams(enabled=True)
    plan = AreaPlan.draw(np.random.default_rng(1), params, np.array([f"W{i:02d}" for i in range(24)]))
    assert (plan.programme == KEY_WORKER).sum() == 15 and (plan.programme == PILOT).sum() == 1
    assert plan.programme[plan.break_ward] == NONE
    ward = int(np.flatnonzero(plan.programme == KEY_WORKER)[0])
    live = plan.go_live[ward]
    days = np.array([-1, 0, 100, 400, 2000])
    effect = plan.effect(np.full(days.size, ward), live + days.astype("timedelta64[D]"))
    kw = params.key_worker
    assert effect[0] == 0 and 0 < effect[1] < effect[2] < effect[3] <= effect[4] == pytest.approx(kw.max_effect)
    never = int(np.flatnonzero(plan.programme == NONE)[0])
    assert plan.effect(np.array([never]), np.array([live + 2000]))[0] == 0


def test_recording_break_adds_the_factor_in_one_ward_from_its_date_only():
    assessments = pd.DataFrame({
        "episode_id": np.arange(40),
        "start_date": np.repeat(np.array(["2023-01-10", "2024-01-10"], "datetime64[D]"), 20),
        "authorisation_date": np.datetime64("NaT", "D"), "factors": ["3B", "21", "21", "21"] * 10,
    })
    frames = {2024: {"assessments": assessments}, 2025: {"assessments": assessments.iloc[20:]}}
    ward = pd.Series(np.where(np.arange(40) % 2 == 0, 7, 3), index=np.arange(40))  # even episodes in ward 7
    out, summary = plant_factor_break(np.random.default_rng(0), frames, ward, 7, np.datetime64("2024-01-01"), "3B", 2.0)
    before, after = frames[2024]["assessments"], out[2024]["assessments"]
    changed = after["factors"] != before["factors"]
    # a quarter of all assessments carry 3B: the ward's 10 from the date get 2.5 more at factor 2 (rounded to even)
    assert summary == {"assessments": 10, "with_code_before": 5, "with_code_after": 7, "county_share_with_code": 0.25}
    assert changed.sum() == 2 and (after.loc[changed, "factors"] == "3B").all()
    assert (after.loc[changed, "episode_id"] % 2 == 0).all() and (after.loc[changed, "episode_id"] >= 20).all()
    # an assessment in two collection years is changed in both
    again = out[2025]["assessments"].set_index("episode_id")["factors"]
    assert (again == after.set_index("episode_id")["factors"].reindex(again.index)).all()


def test_help_is_reproducible_from_the_seed():
    cfg = SynthParams(children=1200, help={"enabled": True})
    a, b = build_county(cfg), build_county(cfg)
    assert a.json == b.json
    for rel in ("interventions/offers.csv", "interventions/list_scores.csv", "reference/lsoa_ward.csv"):
        assert _text(a.csv[rel][0]) == _text(b.csv[rel][0]), rel
    pd.testing.assert_frame_equal(a.truth["help/scores"], b.truth["help/scores"])
