"""The impact card says what the estimates say: pp and relative change with intervals, NNT, costs, caveats
from flags, nulls as nulls, naive estimates labelled, and the IG annex with small cells suppressed."""

from __future__ import annotations

import re
from datetime import date

import pandas as pd
import pytest

from ethics.card.impact_card import render_impact_card_html, render_impact_index_html
from pipeline.impact import events as ev
from pipeline.impact.card_assembly import build_card
from pipeline.impact.card_content import group_rows, rating
from pipeline.impact.estimate import Estimate
from pipeline.impact.stage import ImpactSettings, ProgrammeResult

SETTINGS = ImpactSettings(horizons=(12,), outcomes=("care_entry", "referral"), programmes=None, min_cell=10,
                          n_boot=0, folds=3, trim=0.01, seed=1, extract_date=date(2026, 3, 31))
PROGRAMME = {"programme": "early_help_offer", "name": "Early help offer", "kind": "offer",
             "cost_per_family_gbp": 2000, "price_year": 2024, "agency": "council"}
UNIT_COSTS = pd.DataFrame([{"outcome": "care_entry", "description": "a year in care", "value_gbp": 60000,
                            "price_year": 2024, "value_type": "fiscal", "cashable": "Y", "agency": "council",
                            "per": "episode", "source": "PSSRU 2024"}])


def _events(accepted=(True, True, False, True)) -> ev.Events:
    offers = pd.DataFrame({"offer_id": [f"o{i}" for i in range(len(accepted))], "person_id": "p",
                           "programme": "early_help_offer", "accepted": pd.array(accepted, dtype="boolean")})
    empty = ev._columns(None, [])
    return ev.Events(ev.list_runs(None), empty, offers.reindex(columns=ev.OFFER_COLUMNS).assign(
        accepted=offers["accepted"], programme=offers["programme"]), pd.DataFrame([PROGRAMME]),
        ev.rollout(None), ev.recording_regime(None), UNIT_COSTS)


def _e(design, effect, low, high, flags=(), outcome="care_entry") -> Estimate:
    return Estimate("early_help_offer", outcome, 12, design, "effect of being offered early help on entering "
                    "care within 12 months (intention to treat), averaged over those offered", effect, low, high,
                    0.10, 500, 6000, f"lib for {design}", {}, tuple(flags))


def _card(estimates, outcome="care_entry"):
    result = ProgrammeResult("early_help_offer", "offer", estimates=list(estimates))
    return build_card(result, PROGRAMME, _events(), outcome, 12, SETTINGS, pd.DataFrame(
        columns=["person_id", "sex", "ethnicity_group"]), ["early_help_offer / entering care / 12 months"])


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_headline_shows_pp_relative_interval_nnt_and_cost():
    card = _card([_e("naive_difference", 0.05, 0.03, 0.07), _e("aipw", -0.04, -0.06, -0.02)])
    assert card["primary"]["design"] == "aipw"  # the naive estimate never heads the card
    text = _text(render_impact_card_html(card))
    assert "-4.0 pp" in text and "95% interval -6.0 pp to -2.0 pp" in text
    assert "Relative change -40% (95% interval -60% to -20%)" in text
    assert "Confidence 3 of 5" in text
    # 2,000 per family x 75% take-up = 1,500 per family offered; NNT 25 (16.7 to 50)
    assert re.search(r"Number needed to offer for one care entry avoided 25 \(17 to 50\)", text)
    assert "£37,500 (£25,000 to £75,000)" in text
    assert "(naive)" in text and "+5.0 pp" in text


def test_a_null_is_reported_as_a_null_with_no_cost():
    card = _card([_e("aipw", -0.01, -0.03, 0.01, flags=("null_result",))])
    html = render_impact_card_html(card)
    text = _text(html)
    assert 'id="null"' in html and "No effect found" in text
    assert "not estimable: the 95% interval includes no effect" in text
    assert "did not find an effect" in text  # the caveat generated from the flag
    assert card["costs"]["cost_per_outcome_avoided"]["value"] is None


def test_caveats_come_from_flags_of_the_designs_not_the_naive_ones():
    card = _card([_e("aipw", -0.04, -0.06, -0.02, flags=("overlap_trimmed_over_5pct",)),
                  _e("rd_fuzzy", -0.05, -0.09, -0.01, flags=("local_to_cut", "density_test_failed")),
                  _e("naive_difference", 0.05, 0.03, 0.07, flags=("small_cells",))])
    caveats = " ".join(card["caveats"])
    assert "More than 5% of children" in caveats and "near the list's cut-off" in caveats
    assert "fewer than the minimum" not in caveats  # small_cells was raised only by the naive comparison
    rd_row = next(r for r in card["others"] if r["design"] == "rd_fuzzy")
    assert rd_row["rating"] == 3  # a cut-off design whose density test failed drops from 4


@pytest.mark.parametrize(("design", "flags", "expected"), [
    ("rd_fuzzy", (), 4), ("rd_fuzzy", ("density_test_failed",), 3), ("cs_did", ("pretrend_failed",), 3),
    ("aipw", (), 3), ("aipw", ("overlap_trimmed_over_5pct",), 2), ("its", (), 2), ("naive_difference", (), 1),
    ("twfe", (), 1),
])
def test_confidence_rating_follows_design_and_checks(design, flags, expected):
    assert rating(_e(design, -0.04, -0.06, -0.02, flags))[0] == expected


def test_group_rows_suppress_small_cells():
    persons = pd.DataFrame({"sex": ["F"] * 200 + ["M"] * 8, "offered": [1] * 40 + [0] * 160 + [1] * 3 + [0] * 5,
                            "accepted": [1] * 25 + [0] * 175 + [1] * 2 + [0] * 6,
                            "care_entry_12m": [1] * 20 + [0] * 188})
    rows = group_rows(persons, "sex", "care_entry_12m", 10, {"F": None, "M": None})
    female, male = rows
    assert not female["suppressed"] and female["cells"][1] == "200" and female["cells"][2] == "20.0%"
    assert male["suppressed"] and male["cells"][1] == "fewer than 10"
    assert all(c in ("suppressed", "M", "fewer than 10") for c in male["cells"])


def test_index_without_records_says_so():
    html = render_impact_index_html({"cards": [], "message": "No intervention records: nothing was estimated."})
    assert 'id="no-records"' in html and "No intervention records" in html


def test_the_headline_is_the_best_rated_design_and_never_a_naive_one():
    card = _card([_e("aipw", -0.04, -0.06, -0.02, flags=("overlap_trimmed_over_5pct",)),   # rated 2
                  _e("rd_fuzzy", -0.05, -0.09, -0.01, flags=("local_to_cut",)),            # rated 4
                  _e("twfe", -0.08, -0.09, -0.07)])                                         # naive, rated 1
    assert card["primary"]["design"] == "rd_fuzzy"
    assert [r["design"] for r in card["others"]][0] == "rd_fuzzy"
    assert _card([_e("naive_difference", 0.05, 0.03, 0.07)])["primary"] is None
