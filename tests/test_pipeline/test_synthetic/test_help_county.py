"""A county that helps (synth.help on, strong effects so every check has cases): the council's files follow the
contract, the truth is consistent, prevented events are gone from the records, and the recording break shows."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import numpy as np
import pandas as pd
import pytest

from pipeline.core.config import SynthParams
from pipeline.synthetic import build_county
from pipeline.synthetic.cin_xml import validate_cin_xml

HELP = {"enabled": True, "capacity_per_1000": 5.0, "acceptance": 0.8, "effect_care": 0.9, "effect_referral": 0.9,
        "confounder_strength": 1.0, "recording_break": {"start": "2021-04-01", "factor": 4.0}}
CFG = SynthParams(children=4000, help=HELP)
REFERENCE = pd.Timestamp(CFG.reference_date)
COLUMNS = {
    "list_runs": ["run_id", "run_date", "model", "release", "capacity", "cut_score", "scored_rows", "rule"],
    "list_scores": ["run_id", "nhs_number", "upn", "person_token", "score", "rank", "listed"],
    "offers": ["offer_id", "nhs_number", "upn", "person_token", "programme", "run_id", "route", "team", "status",
               "date", "override", "reason", "dosage", "recorded_by_role"],
    "programmes": ["programme", "name", "description", "kind", "cost_per_family_gbp", "price_year", "agency"],
    "programme_rollout": ["programme", "ward_code", "go_live_date", "capacity_per_month"],
    "recording_regime": ["source", "table", "field", "ward_code", "change_date", "description"],
    "unit_costs": ["outcome", "description", "value_gbp", "price_year", "value_type", "cashable", "agency", "per",
                   "source"],
}
STATUSES = {"offered", "accepted", "declined", "started", "ended", "not_appropriate", "already_known"}


@pytest.fixture(scope="module")
def county():
    return build_county(CFG)


@pytest.fixture(scope="module")
def unbroken():
    """The same county without the recording break (the break draws from its own stream, after all else)."""
    return build_county(SynthParams(children=4000, help={**HELP, "recording_break": {"factor": 1.0}}))


def _files(county) -> dict[str, pd.DataFrame]:
    """Each interventions file as a council's CSV reader sees it (text)."""
    out = {}
    for name in COLUMNS:
        frame, encoding = county.csv[f"interventions/{name}.csv"]
        assert encoding == "utf-8"
        out[name] = frame.astype(str).replace({"nan": "", "None": "", "<NA>": ""})
    return out


def _la_ids(county) -> pd.Series:
    pmap = county.truth["person_map"]
    return pmap[pmap["source"] == "social_care"].set_index("person_id")["record_key"]


def test_interventions_files_have_the_contract_columns_and_values(county):
    files = _files(county)
    for name, columns in COLUMNS.items():
        assert list(files[name].columns) == columns, name
    runs, scores, offers = files["list_runs"], files["list_scores"], files["offers"]
    assert len(runs) == 36 and runs["run_id"].is_unique
    for frame, col in ((runs, "run_date"), (offers, "date")):
        assert frame[col].str.match(r"^\d{4}-\d{2}-\d{2}$").all() and (pd.to_datetime(frame[col]) <= REFERENCE).all()
    per_run = scores.groupby("run_id").agg(rows=("rank", "size"), listed=("listed", lambda s: (s == "Y").sum()))
    assert (per_run["rows"].to_numpy() == runs.set_index("run_id").loc[per_run.index, "scored_rows"].astype(int)).all()
    assert (per_run["listed"] == int(runs["capacity"].iloc[0])).all()
    cut = scores[scores["listed"] == "Y"].assign(score=lambda d: d["score"].astype(float)).groupby("run_id")["score"]
    assert np.allclose(cut.min().to_numpy(), runs.set_index("run_id").loc[cut.min().index, "cut_score"].astype(float))
    for frame in (scores, offers):  # a child is identified by NHS number and/or UPN
        assert ((frame["nhs_number"] != "") | (frame["upn"] != "")).all()
        assert frame.loc[frame["nhs_number"] != "", "nhs_number"].str.match(r"^\d{10}$").all()
        assert (frame["person_token"] == "").all()
        assert (frame["nhs_number"] == "").mean() < 0.1
    assert set(offers["status"]) <= STATUSES and set(offers["route"]) == {"list", "professional", "self"}
    assert set(offers["override"]) == {"Y", "N"}
    assert (offers.groupby("offer_id")["nhs_number"].nunique() == 1).all()  # an offer's events repeat its id
    from_list = offers["route"] == "list"
    assert offers.loc[from_list, "run_id"].isin(runs["run_id"]).all() and (offers.loc[~from_list, "run_id"] == "").all()
    assert offers.loc[offers["status"] == "ended", "dosage"].astype(int).gt(0).all()
    lsoa_ward = county.csv["reference/lsoa_ward.csv"][0]
    assert set(lsoa_ward["lsoa_code"]) == set(county.csv["reference/postcode_lsoa.csv"][0]["lsoa_code"])
    wards = set(lsoa_ward["ward_code"])
    assert set(files["programme_rollout"]["ward_code"]) <= wards
    assert files["recording_regime"]["ward_code"].isin(wards).all()
    assert set(files["unit_costs"]["value_type"]) <= {"fiscal", "economic", "social"}
    assert files["unit_costs"]["source"].str.len().gt(0).all()


def test_truth_has_both_potential_outcomes_and_the_realised_one_follows_them(county):
    scores = county.truth["help/scores"]
    for col in ("y0_care_12m", "y1_care_12m", "y0_referral_12m", "y1_referral_12m", "u", "listed", "offered",
                "accepted", "score", "run_id", "run_date", "person_id"):
        assert col in scores, col
    for outcome in ("care_12m", "referral_12m"):
        assert not (scores[f"y1_{outcome}"] & ~scores[f"y0_{outcome}"]).any()  # help only prevents
        offered = scores[scores["offered"] & scores["followed_up_12m"]]
        expected = np.where(offered["accepted"], offered[f"y1_{outcome}"], offered[f"y0_{outcome}"])
        assert (offered[outcome].to_numpy() == expected).all(), outcome
        declined = offered[~offered["accepted"]]
        assert (declined[f"y0_{outcome}"] == declined[f"y1_{outcome}"]).all()
    effects = county.json["help/effects.json"]["early_help_offer"]
    done = scores[scores["offered"] & scores["followed_up_12m"]]
    itt = 100 * (done["y1_referral_12m"].astype(int) - done["y0_referral_12m"].astype(int)).mean()
    assert effects["itt_referral_12m_pp"] == pytest.approx(itt, abs=1e-3) and itt < 0
    assert effects["att_accepted_referral_12m_pp"] < effects["itt_referral_12m_pp"]


def test_prevented_entries_and_referrals_are_absent_from_the_exported_records(county):
    scores = county.truth["help/scores"]
    la_id = _la_ids(county)
    episodes = pd.concat([f for rel, (f, _) in county.csv.items() if rel.endswith("episodes.csv")])
    entries = pd.DataFrame({"la": episodes["CHILD"], "date": pd.to_datetime(episodes["DECOM"], format="%d/%m/%Y")})
    helped = scores[scores["accepted"] & scores["followed_up_12m"]]

    def had(events: pd.DataFrame, rows: pd.DataFrame) -> np.ndarray:
        joined = rows.assign(la=la_id.reindex(rows["person_id"]).to_numpy()).merge(events, on="la", how="left")
        inside = (joined["date"] >= joined["run_date"]) & (joined["date"] < joined["run_date"] + pd.Timedelta(days=365))
        return inside.groupby([joined["run_id"], joined["person_id"]]).any().to_numpy()

    prevented = helped[helped["y0_care_12m"] & ~helped["y1_care_12m"]].sort_values(["run_id", "person_id"])
    offered = scores[scores["offered"] & scores["followed_up_12m"]]
    entered = offered[offered["care_12m"]].sort_values(["run_id", "person_id"])
    assert len(prevented) > 0 and len(entered) > 0
    assert not had(entries, prevented).any()  # the entry that help prevented never reached SSDA903
    assert had(entries, entered).all()  # ... while one that happened did
    referrals = []
    for xml in county.xml.values():
        for child in ET.fromstring(xml).iter("Child"):
            la = child.findtext("ChildIdentifiers/LAchildID")
            referrals += [(la, d.text) for d in child.iter("CINreferralDate")]
    cin = pd.DataFrame(referrals, columns=["la", "date"]).drop_duplicates()
    cin["date"] = pd.to_datetime(cin["date"])
    no_referral = helped[helped["y0_referral_12m"] & ~helped["y1_referral_12m"]].sort_values(["run_id", "person_id"])
    assert len(no_referral) > 0 and not had(cin, no_referral).any()


def test_offers_fall_on_both_sides_of_the_cut_and_acceptance_falls_with_u(county):
    scores = county.truth["help/scores"]
    k = int(county.csv["interventions/list_runs.csv"][0]["capacity"].iloc[0])
    near = scores[(scores["rank"] > k // 2) & (scores["rank"] <= k + k // 2)]
    above, below = near[near["rank"] <= k], near[near["rank"] > k]
    assert above["offered"].any() and (~above["offered"]).any()  # overrides: listed, not offered
    assert below["offered"].any() and (~below["offered"]).any()  # overrides: offered from below the cut
    assert above["offered"].mean() > 0.8 > 0.3 > below["offered"].mean()
    offered = scores[scores["offered"]]
    assert offered.loc[offered["accepted"], "u"].mean() < offered.loc[~offered["accepted"], "u"].mean() - 0.2
    by_u = county.json["help/effects.json"]["early_help_offer"]["acceptance_by_u_third"]
    assert by_u["low"] > by_u["high"]


def test_area_truth_thins_referrals_only_where_and_when_a_programme_runs(county):
    area = county.truth["help/area"]
    rollout = county.csv["interventions/programme_rollout.csv"][0]
    assert (area["y1_referrals"] <= area["y0_referrals"]).all()
    prevented = area["y0_referrals"] - area["y1_referrals"]
    # outside treated ward-quarters only a child who moved into a treated ward within the quarter loses one
    assert prevented[~area["treated"]].sum() <= 0.05 * prevented[area["treated"]].sum()
    assert prevented[area["treated"]].sum() > 0
    live = area.merge(rollout, on=["programme", "ward_code"], how="left")
    treated = live[live["treated"]]
    assert (treated["quarter_start"] >= pd.to_datetime(treated["go_live_date"])).all()
    wards = county.csv["reference/lsoa_ward.csv"][0]["ward_code"].nunique()
    # key-worker rows: every ward but the pilot's; pilot rows: the pilot ward and the never-treated wards
    assert area.groupby("programme")["ward_code"].nunique().to_dict() == {"key_worker": wards - 1, "pilot": wards - 15}
    effects = county.json["help/effects.json"]
    assert effects["key_worker"]["att_referrals_per_1000_per_quarter"] < 0
    assert set(effects["key_worker"]["by_event_quarter"]) >= {"0", "4"}
    # the ATT through each quarter, for an estimate whose panel ends before the truth's last quarter
    through = effects["key_worker"]["att_referrals_per_1000_per_quarter_through"]
    kw = area[(area["programme"] == "key_worker") & area["treated"]]
    assert list(through) == sorted(f"{q:%Y-%m-%d}" for q in kw["quarter_start"].unique())
    assert through[max(through)] == effects["key_worker"]["att_referrals_per_1000_per_quarter"]
    first = kw[kw["quarter_start"] == kw["quarter_start"].min()]
    assert through[min(through)] == pytest.approx(
        (1000 * (first["y1_referrals"] - first["y0_referrals"]) / first["children"]).mean(), abs=1e-4)


def test_recording_break_shows_in_the_raw_cin_data_and_nowhere_else(county, unbroken):
    def factors(c) -> pd.DataFrame:
        rows = []
        for rel, xml in c.xml.items():
            for child in ET.fromstring(xml).iter("Child"):
                la = child.findtext("ChildIdentifiers/LAchildID")
                for a in child.iter("Assessments"):
                    codes = ";".join(sorted(f.text for f in a.iter("AssessmentFactors")))
                    rows.append((rel, la, a.findtext("AssessmentActualStartDate"), codes))
        return pd.DataFrame(rows, columns=["file", "la", "start", "factors"])

    assert set(county.xml) == set(unbroken.xml)
    after, before = factors(county), factors(unbroken)
    assert (after[["file", "la", "start"]].to_numpy() == before[["file", "la", "start"]].to_numpy()).all()
    changed = after[after["factors"] != before["factors"]]
    assert len(changed) > 0
    assert (pd.to_datetime(changed["start"]) >= pd.Timestamp("2021-04-01")).all()
    assert changed["factors"].str.split(";").apply(lambda codes: "3B" in codes).all()
    brk = county.json["help/effects.json"]["recording_break"]
    added = len(changed[["la", "start"]].drop_duplicates())
    assert brk["true_change"] == 0 and brk["with_code_after"] - brk["with_code_before"] == added
    assert added == round(3 * brk["county_share_with_code"] * brk["assessments"])  # factor 4 on the county's share
    # everything else is the same county; the unbroken one lists no recording change
    assert unbroken.csv["interventions/recording_regime.csv"][0].empty
    for rel, (frame, _) in unbroken.csv.items():
        if rel != "interventions/recording_regime.csv":
            pd.testing.assert_frame_equal(frame, county.csv[rel][0], obj=rel)
    year = max(county.xml)
    assert validate_cin_xml(county.xml[year], int(year[-8:-4])) == []
