"""The impact card says what the estimates say: pp and relative change with intervals, NNT, costs, caveats
from flags, nulls as nulls, naive estimates labelled, and the IG annex with small cells suppressed."""

from __future__ import annotations

import re
from datetime import date

import pandas as pd
import pytest

from ethics.card.impact_card import render_impact_card_html, render_impact_index_html, returns_rows
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


def test_counts_money_and_rates_read_as_a_person_would_write_them():
    from ethics.card.impact_card import count, months, pounds, rate

    assert count(305.9) == "306" and count(12_345.4) == "12,345" and count(0.3) == "fewer than 1"
    assert pounds(42_278.4) == "£42,278" and pounds(-1234.5) == "-£1,234" and pounds(None) == "not estimable"
    assert rate(-4.27) == "-4.3 per 1,000" and months(5.2) == "6 months" and months(0.4) == "1 month"


def test_outcomes_avoided_are_whole_numbers_and_the_question_names_the_programme():
    # 500 offered x 4 pp (2 to 6) = 20 (10 to 30) avoided; an effect with decimals must not print them
    from dataclasses import replace

    coded = replace(_e("aipw", -0.0413, -0.0617, -0.0209, outcome="referral"), estimand=(
        "effect of being offered early_help_offer on a referral within 12 months"))  # as the stage words it
    card = _card([coded], outcome="referral")
    html = render_impact_card_html(card)
    text = _text(html)
    avoided = re.search(r"Referrals avoided (about [^<]*?\))", text).group(1)
    assert avoided == "about 21 (10 to 31)"
    assert "Early help offer" in card["question"] and "early_help_offer" not in card["question"]
    assert card["estimand"] != "no estimate" and "early_help_offer" not in card["estimand"]
    assert "“Early help offer”" in card["estimand"]


def test_a_programme_without_a_name_gets_a_readable_form_of_its_code():
    from pipeline.impact.card_assembly import programme_name

    assert programme_name({}, "early_help_offer") == "Early help offer"
    assert programme_name({"programme_name": " Family key workers "}, "key_worker") == "Family key workers"
    assert programme_name({"name": float("nan")}, "pilot") == "Pilot"


def test_return_on_the_money_shows_payback_npv_and_says_why_value_per_pound_is_missing():
    card = _card([_e("aipw", -0.04, -0.06, -0.02)])  # care entry, 500 offered, 1,500 per family offered
    rows = {r["label"]: r["text"] for r in returns_rows(card["costs"], "care entry")}
    # cost 500 x 1,500 = 750,000; savings 20 (10 to 30) x 60,000 = 1.2m (0.6m to 1.8m) over 12 months
    assert rows["Programme cost (families offered)"] == "£750,000"
    assert rows["Payback period on fiscal savings"] == "8 months (5 months to more than 12 months)"
    assert rows["Net present value (fiscal savings minus cost, discounted)"] == "£450,000 (-£150,000 to £1,050,000)"
    why = rows["Social value per £1 spent (fiscal, economic and social value, SROI style)"]
    assert why.startswith("not computed: needs a social value of care entry")
    text = _text(render_impact_card_html(card))
    assert "Optimism bias." in text and "Green Book" in text and "nothing is discounted" in text


def test_a_null_has_no_payback_and_no_return():
    card = _card([_e("aipw", -0.01, -0.03, 0.01, flags=("null_result",))])
    rows = {r["label"]: r["text"] for r in returns_rows(card["costs"], "care entry")}
    assert rows["Payback period on fiscal savings"].startswith("not estimable: the 95% interval includes no effect")
    assert rows["Net present value (fiscal savings minus cost, discounted)"].startswith("not estimable")
    assert "£" not in rows["Fiscal savings from care entries avoided (public spending not incurred)"]


def _recording_pair(adjusted_effect: float, adjusted_ci: tuple[float, float]):
    months = pd.date_range("2018-01-01", "2025-12-01", freq="MS")
    after = months >= pd.Timestamp("2023-10-01")
    series = pd.concat([pd.DataFrame({"period": months, "series": "treated", "rate_per_1000": 0.4 + 1.5 * after}),
                        pd.DataFrame({"period": months, "series": "control", "rate_per_1000": 0.5})],
                       ignore_index=True)
    diagnostics = {"ward_code": "E05900012", "code": "3B", "control_wards": 7, "recording_changes": [{
        "field": "social_care.cin_assessment.factors", "ward_code": "E05900012", "change_date": "2023-10-01",
        "description": "new domestic abuse screening question at assessment: factor 3B recorded more often"}]}
    naive = Estimate("recording_break", "assessment_factor_3B", 27, "its_controlled", "face value", 1.36, 0.51,
                     2.20, 0.4, 96, 96, "statsmodels 0.15", diagnostics, ("recording_change_in_window",))
    adjusted = Estimate("recording_break", "assessment_factor_3B", 27, "its_controlled", "beyond the step",
                        adjusted_effect, *adjusted_ci, 0.4, 96, 96, "statsmodels 0.15",
                        {**diagnostics, "recording_break_covariate": True}, ("recording_change_in_window",))
    return [naive, adjusted], {"E05900012_3B_202310": series}


def test_the_recording_card_is_an_impact_card_in_plain_words():
    from pipeline.impact.recording_check import recording_card, recording_card_html

    card = recording_card(*_recording_pair(0.12, (-0.4, 0.6)))
    html = recording_card_html(card)
    text = _text(html)
    assert "<style>" in html and 'class="masthead"' in html  # the impact cards' template, not a bare page
    assert "parental domestic violence (factor 3B)" in text and "from October 2023" in text
    assert "At face value, as a dashboard would show it +1.4 (95% interval +0.5 to +2.2)" in text
    assert "Allowing for the recording change +0.1 (95% interval -0.4 to +0.6)" in text
    assert "No sign of a change in need" in text
    for jargon in ("DOMAIN_IMPACT", "recording_change_in_window", "ITS", "3B was"):
        assert jargon not in text, jargon
    moved = recording_card(*_recording_pair(2.1, (1.3, 2.9)))
    assert moved["changes"][0]["moved"] and "Something beyond the recording change moved" in _text(
        recording_card_html(moved))


def test_every_estimate_gets_its_own_mlflow_key_and_none_is_overwritten(tmp_path):
    from mlflow.tracking import MlflowClient

    from pipeline.core.tracking.impact_runs import impact_metric_key, impact_metrics, log_impact_run

    pair, _ = _recording_pair(0.12, (-0.4, 0.6))  # face value and beyond the step: same design, same horizon
    twins = [_e("aipw", -0.04, -0.06, -0.02), _e("aipw", -0.03, -0.05, -0.01)]  # nothing tells these apart
    estimates = [e.to_dict() for e in [*pair, *twins]]
    keys = [impact_metric_key(e) for e in estimates]
    assert keys[:2] == ["recording_break.assessment_factor_3B.27m.its_controlled.E05900012.3B",
                        "recording_break.assessment_factor_3B.27m.its_controlled.adjusted.E05900012.3B"]
    metrics = impact_metrics(estimates)
    assert list(metrics) == [*keys[:3], "early_help_offer.care_entry.12m.aipw.2"]
    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    run_id = log_impact_run(uri=uri, metrics=metrics, params={}, artifacts=[])
    logged = MlflowClient(tracking_uri=uri).get_run(run_id).data.metrics
    effects = sorted(v for k, v in logged.items() if not k.endswith(("_low", "_high")))
    assert effects == sorted(e["effect"] for e in estimates)  # all four, none overwritten


def test_cards_print_to_pdf_with_chromium(tmp_path):
    import os

    from pipeline.impact.pdf import PdfError, cards_to_pdf, chromium

    with pytest.raises(PdfError, match="no impact cards"):
        cards_to_pdf(tmp_path)
    if chromium() is None:
        if os.environ.get("CI") == "true":
            pytest.fail("chromium is required in CI (.ci/run installs it)")
        pytest.skip("headless Chromium not installed (apt-get install chromium)")
    card = _card([_e("aipw", -0.04, -0.06, -0.02)])
    (tmp_path / "card.html").write_text(render_impact_card_html(card))
    (tmp_path / "index.html").write_text(render_impact_index_html({"cards": [], "message": "none"}))
    (pdf,) = cards_to_pdf(tmp_path)  # the index is not a card
    assert pdf.name == "card.pdf" and pdf.read_bytes().startswith(b"%PDF")
    assert len(re.findall(rb"/Type\s*/Page[^s]", pdf.read_bytes())) >= 2  # pages of a whole card, not one blank


def test_a_failed_check_is_named_in_words_not_flag_codes():
    score, words = rating(_e("rd_fuzzy", -0.04, -0.06, -0.02, ("density_test_failed", "recording_change_in_window")))
    assert score == 3 and "_" not in words and "too many children just on one side of the cut-off" in words
