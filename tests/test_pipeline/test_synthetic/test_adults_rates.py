"""The synthetic adults' base rates fall in DOMAIN_ADULTS.md §3's bands (issue #17).

One county of ~22,000 people (6,000 children) is simulated once for the module; rates are pooled over
several years where one year holds too few events for a stable figure.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pipeline.core.config import SynthParams
from pipeline.synthetic import identities, lifecourse, population, records
from pipeline.synthetic.adults import rates
from pipeline.synthetic.adults.lives import simulate_adults

YEARS = range(2018, 2026)
REF = np.datetime64("2026-03-31")


@pytest.fixture(scope="module")
def county():
    cfg = SynthParams(children=6000, adults={"enabled": True})
    rng = np.random.default_rng(cfg.seed)
    lsoas = population.build_neighbourhoods(rng, cfg.children // 150)
    postcodes = identities.make_postcodes(rng, lsoas, 12)
    hh = population.build_households(rng, cfg, lsoas)
    kids = population.build_children(rng, cfg, hh)
    parents = population.build_parents(rng, hh, kids)
    addresses = records.address_history(rng, hh, lifecourse.simulate_moves(rng, cfg, hh, lsoas), postcodes)
    lives, risk = simulate_adults(cfg, hh, kids, parents, lsoas, postcodes, addresses)
    return lives, risk, kids, parents


def pooled(fn, lives, key):
    return float(np.mean([fn(lives, y)[key] for y in YEARS]))


def test_age_pyramid_close_to_england(county):
    pop = rates.residents(county[0].people, REF)
    age = pop["age"]
    assert 0.18 <= (age < 18).mean() <= 0.24
    assert 0.54 <= ((age >= 18) & (age < 65)).mean() <= 0.62
    assert 0.17 <= (age >= 65).mean() <= 0.24


@pytest.mark.parametrize(("band", "lo", "hi"), [
    ("18-44", 40, 90), ("45-64", 55, 120), ("65-74", 100, 200), ("75-84", 200, 380), ("85+", 380, 650),
    ("65+", 200, 300),
])
def test_emergency_admissions_per_1000_by_age(county, band, lo, hi):
    assert lo <= pooled(rates.admissions_per_1000, county[0], band) <= hi


def test_council_care_home_admissions_ascof_2c_2b_and_self_funders(county):
    lives = county[0]
    assert 450 <= pooled(rates.care_home_rates, lives, "2C_per_100k") <= 720  # 584 in 2019/20 (S40)
    assert 3 <= pooled(rates.care_home_rates, lives, "2B_per_100k") <= 35  # 14.6 (S40)
    assert 0.25 <= pooled(rates.care_home_rates, lives, "self_funded_share_65") <= 0.50  # 37% (S45)


def test_self_funders_never_appear_in_council_records(county):
    lives = county[0]
    funders = lives.people.loc[lives.people["self_funder"], "person_id"]
    assert not lives.asc_events["person_id"].isin(funders).any()
    self_paid = lives.care_home_entries[lives.care_home_entries["funding"] == "self"]
    assert set(self_paid["person_id"]) <= set(funders)


def test_long_term_support_65_plus(county):
    for year in (2024, 2025):
        assert 0.035 <= rates.long_term_support_65(county[0], year) <= 0.065  # 4.0-5.4% (S42)


def test_learning_disability_register_prevalence(county):
    assert 0.004 <= rates.ld_register_prevalence(county[0], REF) <= 0.008  # 0.5-0.6% (S46)


def test_deaths_follow_the_life_table(county):
    table = rates.deaths_vs_life_table(county[0], range(2014, 2026))
    old = table.loc[[b for b in table.index if b.left >= 65]]
    ratio = old["died"] / old["expected"]
    assert ((ratio > 0.8) & (ratio < 1.2)).all(), ratio
    assert 0.85 <= old["died"].sum() / old["expected"].sum() <= 1.15


def test_admissions_concentrate_in_the_highest_risk(county):
    lives, risk = county[:2]
    c = {k: np.mean([rates.concentration(lives, risk, y)[k] for y in YEARS]) for k in
         ("top5pct_by_risk", "top0.5pct_lift", "persons_with_admission_pct", "top5pct_realised")}
    assert 0.25 <= c["top5pct_by_risk"] <= 0.6
    assert 10 <= c["top0.5pct_lift"] <= 40  # CPM: 18.6x (B)
    assert 5 <= c["persons_with_admission_pct"] <= 14  # SPARRA 8.9%, QAdmissions ~6%/yr
    assert c["top5pct_realised"] > c["top5pct_by_risk"]


def test_high_users_regress_to_the_mean(county):
    r = [rates.regression_to_mean(county[0], y) for y in range(2016, 2025)]
    index = np.mean([x["index_year_share"] for x in r])
    after = np.mean([x["next_year_share"] for x in r])
    assert 0.3 <= index <= 0.6  # Roland: 38%
    assert after < 0.15 and after < 0.4 * index  # Roland: <10%


def test_adults_with_ld_living_with_parents_over_70(county):
    lives = county[0]
    people = lives.people.set_index("person_id")
    c = lives.caring[lives.caring["relationship"] == "parent"]
    carer_age = (REF - people["dob"].reindex(c["carer_id"]).to_numpy().astype("datetime64[D]")).astype(int) / 365.25
    ld = people["learning_disability"].reindex(c["cared_for_id"]).to_numpy()
    ongoing = c["end"].isna().to_numpy()
    dyads = c.loc[ld & ongoing & (carer_age >= 70), "cared_for_id"].nunique()
    # Mencap: 29,000 adults with LD live with parents aged 70+ in England (56.5m people); few in a small county
    expected = 29_000 / 56.5e6 * len(rates.residents(lives.people, REF))
    assert 1 <= dyads <= 3 * expected


def test_parents_adversity_shows_in_their_own_records(county):
    lives = county[0]
    att = lives.attendances
    adv = lives.adversity
    parents = lives.people[lives.people["role"].isin(["mother", "father"])]
    harmed = att[att["injury_intent"].isin(["assault", "self_harm"]) | att["substance_involved"]]
    with_adv = parents["person_id"].isin(adv["person_id"])
    rate = parents.assign(n=parents["person_id"].map(harmed["person_id"].value_counts()).fillna(0)).groupby(
        with_adv.to_numpy())["n"].mean()
    assert rate[True] > 3 * rate[False]
    mh = adv.loc[adv["kind"] == "mental_health", "person_id"]
    dep = lives.gp_events.loc[lives.gp_events["concept"] == "depression", "person_id"]
    assert mh.isin(dep).mean() > 0.4
    asc = lives.asc_events
    assert asc.loc[asc["person_id"].isin(adv["person_id"]), "primary_support_reason"].isin(
        ["Mental Health Support", "Social Support: Substance misuse"]).any()


def test_nothing_happens_after_death_or_the_reference_date(county):
    lives = county[0]
    death = lives.people.set_index("person_id")["death_date"]
    for name, col in (("admissions", "admission_date"), ("attendances", "arrival_date"),
                      ("outpatients", "appointment_date"), ("gp_events", "date"), ("asc_events", "start"),
                      ("care_home_entries", "entry_date"), ("medications", "date")):
        frame = getattr(lives, name)
        when = pd.to_datetime(frame[col])
        died = death.reindex(frame["person_id"]).to_numpy()
        assert (when <= pd.Timestamp(REF)).all(), name
        assert not (when.to_numpy() > died).any(), name
    died_in_hospital = lives.admissions[lives.admissions["discharge_method"] == "4"]
    assert (died_in_hospital["discharge_destination"] == "79").all()


def test_base_rates_from_the_written_truth_are_those_of_the_lives(county, tmp_path):
    """``adult_base_rates`` (the benchmark's figures) reads the truth synth writes and gives every rate of
    issue #17, equal to those measured on the lives in memory."""
    from pipeline.core import io
    from pipeline.synthetic.adults.county import truth_frame
    from pipeline.synthetic.adults.truth_rates import adult_base_rates

    lives, risk = county[:2]
    for name, frame in lives.frames().items():
        io.write_parquet(truth_frame(frame), tmp_path / f"adults_{name}.parquet")
    io.write_parquet(risk, tmp_path / "adults_admission_risk.parquet")
    got = adult_base_rates(tmp_path, YEARS)
    want = rates.summary(lives, risk, YEARS)
    assert set(want) <= set(got)
    for key, value in want.items():
        assert got[key] == pytest.approx(value, rel=1e-9, nan_ok=True), key
    for key in ("emergency_per_1000_85+", "2C_per_100k", "2B_per_100k", "self_funded_share_65", "lts_65_during_year",
                "ld_register_prevalence", "deaths_over_expected_65+", "top5pct_by_risk", "roland_next_year_share"):
        assert np.isfinite(got[key]), key
    assert 0.85 <= got["deaths_over_expected_65+"] <= 1.15


def test_the_kept_care_home_probability_is_the_one_the_moves_were_drawn_from(county):
    """``care_home_p`` (truth only: the generator yardstick of care_home_admission) sums to the permanent moves
    it drew, and people with a higher probability move more often."""
    lives, risk, _, _ = county
    entries = lives.care_home_entries
    moved = entries[entries["permanent"] & (entries["route"].isin(["hospital_discharge", "community"]))]
    fy = pd.to_datetime(moved["entry_date"])
    moved = pd.DataFrame({"person_id": moved["person_id"].to_numpy(),
                          "year": (fy.dt.year + (fy.dt.month >= 4)).to_numpy()}).drop_duplicates()
    years = risk[risk["year"].isin(YEARS)].merge(moved.assign(moved=1), on=["person_id", "year"], how="left")
    years["moved"] = years["moved"].fillna(0)
    expected, observed = years["care_home_p"].sum(), years["moved"].sum()
    assert observed > 100
    assert abs(observed - expected) <= 4 * np.sqrt(expected)  # Poisson-binomial: within 4 standard deviations
    top = years["care_home_p"] >= years["care_home_p"].quantile(0.99)
    assert years.loc[top, "moved"].mean() > 10 * years.loc[~top, "moved"].mean()
