"""What a risk list says: plain-English reasons with the county average, directions, what the model cannot see,
and the same words in every export (CSV, Excel, HTML, parquet)."""

from __future__ import annotations

import json
import re
import sys
from html.parser import HTMLParser

import numpy as np
import pandas as pd
import pytest
from openpyxl import load_workbook
from typer.testing import CliRunner

from features.registry import FEATURES
from features.wording import WORDING, Wording, wording_for
from pipeline.lists.explanations import county_averages, explain_rows, feature_phrasebook
from pipeline.lists.record_dates import sources_on_list
from pipeline.lists.render import DISPLAY_HEADERS, risk_in_words
from tests.test_ethics.conftest import MODEL, FakeTracking, _fit_model, preregister_fixture, write_project

RISK_NAMED = re.compile(r"absence|suspension|exclusion|referral|cin_|(^|_)cp_|care_|missing|factor_|admission|ae_")


def _cohort(n: int = 200, seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({
        "unauthorised_absence_rate_36m": rng.uniform(0, 0.08, n),
        "suspensions_12m": rng.poisson(0.2, n).astype(float),
        "attendance_rate_12m": rng.uniform(0.85, 1.0, n),
        "cp_plan_ever": (rng.uniform(size=n) < 0.05).astype(int),
        "months_since_referral": np.where(rng.uniform(size=n) < 0.3, rng.integers(0, 60, n), np.nan),
    })


def test_a_child_missing_14_percent_reads_so_beside_the_cohorts_own_average():
    cohort = _cohort()
    cohort.loc[0, "unauthorised_absence_rate_36m"] = 0.142
    phrasebook = feature_phrasebook()
    averages = county_averages(cohort, {n: phrasebook[n]["kind"] for n in cohort})
    expected_average = cohort["unauthorised_absence_rate_36m"].mean()  # computed here, not by the code under test
    contributions = pd.DataFrame(0.0, index=[0], columns=cohort.columns)
    contributions.loc[0, "unauthorised_absence_rate_36m"] = 0.8
    out = explain_rows(contributions, cohort.iloc[[0]].reset_index(drop=True), phrasebook, averages)
    assert out.loc[0, "reasons"] == ("missed 14% of sessions without authorisation in the last 3 years; "
                                     f"county average {expected_average:.0%}")
    assert out.loc[0, "reason_1_feature"] == "unauthorised_absence_rate_36m"
    assert out.loc[0, "reason_1_county_average"] == pytest.approx(expected_average)
    # another cohort, another average: the figure is the cohort's, never written by hand
    other = cohort.assign(unauthorised_absence_rate_36m=cohort["unauthorised_absence_rate_36m"] * 3)
    other.loc[0, "unauthorised_absence_rate_36m"] = 0.142
    again = explain_rows(contributions, other.iloc[[0]].reset_index(drop=True), phrasebook,
                         county_averages(other, {n: phrasebook[n]["kind"] for n in other}))
    assert again.loc[0, "reasons"].endswith(f"county average {other['unauthorised_absence_rate_36m'].mean():.0%}")
    assert again.loc[0, "reasons"] != out.loc[0, "reasons"]


def test_a_suspension_is_never_protective_and_only_a_reason_above_the_county_average():
    cohort = _cohort()
    cohort.loc[0, ["suspensions_12m", "cp_plan_ever", "attendance_rate_12m"]] = [3.0, 1, 0.99]
    cohort.loc[1, ["suspensions_12m", "cp_plan_ever", "attendance_rate_12m"]] = [0.0, 0, 0.86]
    phrasebook = feature_phrasebook()
    averages = county_averages(cohort, {n: phrasebook[n]["kind"] for n in cohort})
    values = cohort.iloc[[0, 1]].reset_index(drop=True)
    # the model pulls every risk fact down for child 0 and pushes them up for child 1: the wrong way round
    contributions = pd.DataFrame({"unauthorised_absence_rate_36m": [0.0, 0.0], "suspensions_12m": [-1.2, 0.9],
                                  "attendance_rate_12m": [-0.3, 0.2], "cp_plan_ever": [-0.8, 0.7],
                                  "months_since_referral": [0.0, 0.0]})
    out = explain_rows(contributions, values, phrasebook, averages)
    assert out.loc[0, "protective_factors"] == (f"attended 99% of possible school sessions in the last 12 months; "
                                                f"county average {cohort['attendance_rate_12m'].mean():.0%}")
    assert "suspen" not in out.loc[0, "protective_factors"] and "protection" not in out.loc[0, "protective_factors"]
    assert out.loc[0, "hidden_contributions"] == 2
    # no suspension and no plan are not reasons either; low attendance is
    assert out.loc[1, "reasons"].startswith("attended 86% of possible school sessions in the last 12 months")
    assert "suspen" not in out.loc[1, "reasons"] and out.loc[1, "hidden_contributions"] == 2
    flagged = explain_rows(contributions.iloc[[1]].reset_index(drop=True), values.iloc[[0]].reset_index(drop=True),
                           phrasebook, averages)
    assert flagged.loc[0, "reasons"].split("\n")[:2] == [
        f"suspended from school 3 times in the last 12 months; county average {averages['suspensions_12m']:.1f}",
        f"has been on a child protection plan; true of {cohort['cp_plan_ever'].mean():.0%} of children in the county"]


def test_features_practitioners_read_as_risk_declare_that_direction():
    # a category (who referred, the plan's category) has no direction: it is not a count of anything
    named = [n for n, f in FEATURES.items() if RISK_NAMED.search(n) and f.role == "model" and f.kind != "categorical"]
    assert {"suspensions_12m", "unauthorised_absence_rate_36m", "cp_plan_ever", "cin_open_now",
            "factor_exploitation_or_missing_ever", "referrals_12m"} <= set(named)
    wrong = {n: wording_for(FEATURES[n]).direction for n in named
             if wording_for(FEATURES[n]).direction not in ("risk", "recency")}
    assert wrong == {}
    assert wording_for(FEATURES["attendance_rate_12m"]).direction == "strength"
    assert all(n in FEATURES for n in WORDING), sorted(set(WORDING) - set(FEATURES))  # no wording for nothing


def test_every_shown_model_feature_has_a_sentence_and_an_unknown_one_still_reads():
    # each shown model input has its own phrase (a coverage feature's from its source's description)
    generic = [n for n, f in FEATURES.items() if f.role == "model" and f.show_on_list and not wording_for(f).says]
    assert generic == []
    with pytest.raises(ValueError):
        Wording("sideways")
    out = explain_rows(pd.DataFrame({"new_thing_12m": [0.4]}), pd.DataFrame({"new_thing_12m": [2.0]}),
                       {"new_thing_12m": {"description": "Visits to the new service, last 12 months",
                                          "kind": "numeric"}}, {"new_thing_12m": 0.5})
    assert out.loc[0, "reasons"] == "Visits to the new service, last 12 months: 2; county average 0.5"


def test_risk_reads_in_words_and_numbers():
    assert risk_in_words(0.24) == "about 1 in 4 (24%)"
    assert risk_in_words(0.62) == "about 6 in 10 (62%)"
    assert risk_in_words(0.031) == "about 1 in 32 (3%)"
    assert risk_in_words(0.004) == "less than 1 in 100 (0.4%)"
    assert risk_in_words(0.97) == "more than 9 in 10 (97%)"
    assert risk_in_words(0.998) == "more than 9 in 10 (over 99%)"


def test_a_source_that_holds_nobody_is_said_once_not_on_every_row():
    from pipeline.sources.registry import person_sources

    groups = {n: f.group for n, f in FEATURES.items()}
    cohort = pd.DataFrame({"in_social_care_ever": [0, 1], "in_health_ever": [0, 0]})
    shown, nobody = sources_on_list(["suspensions_12m", "in_social_care_ever", "in_health_ever"], groups, cohort)
    assert [s.name for s in shown] == ["school", "social_care"] and [s.name for s in nobody] == ["health"]
    everyone, _ = sources_on_list(["a_feature_nobody_registered"], groups, pd.DataFrame(index=[0, 1]))
    assert everyone == person_sources()


# --- the issued list, end to end: one model on registry features, scored through `riskpipe score`

LIST_FEATURES = ["unauthorised_absence_rate_36m", "suspensions_12m", "attendance_rate_12m", "in_social_care_ever"]


@pytest.fixture
def issued(tmp_path, monkeypatch):
    from pipeline.cli import app
    from pipeline.core import config as core_config

    monkeypatch.delenv("RISKPIPE_PSEUDO_KEY", raising=False)
    monkeypatch.delenv("RISKPIPE_LEDGER_KEY", raising=False)
    handles = write_project(tmp_path)
    rng = np.random.default_rng(5)
    n = len(handles["features"])
    X = pd.DataFrame({"unauthorised_absence_rate_36m": rng.uniform(0, 0.2, n),
                      "suspensions_12m": rng.poisson(0.4, n).astype(float),
                      "attendance_rate_12m": rng.uniform(0.7, 1.0, n),
                      "in_social_care_ever": (np.arange(n) % 4 == 0).astype(int)})
    y = (rng.uniform(size=n) < 0.03 + 2 * X["unauthorised_absence_rate_36m"] + 0.1 * X["suspensions_12m"]).astype(int)
    model = _fit_model(X, y.to_numpy())
    features = X.assign(**handles["features"][["person_id", "index_date", "index_year", "outcome"]])
    features.to_parquet(tmp_path / "data/features/m1.parquet")
    run_file = tmp_path / "data/models/m1/run.json"
    run_file.write_text(json.dumps({**json.loads(run_file.read_text()), "feature_columns": LIST_FEATURES}))
    specs = tmp_path / "specs"
    specs.mkdir()
    (specs / f"{MODEL}.yaml").write_text("name: m1\n")
    monkeypatch.setattr(core_config, "MODEL_SPECS_DIR", specs)
    fake = FakeTracking(model)
    monkeypatch.setitem(sys.modules, "pipeline.core.tracking", fake)
    import pipeline

    monkeypatch.setattr(pipeline, "tracking", fake, raising=False)
    preregister_fixture(tmp_path)
    result = CliRunner().invoke(app, ["score", "--model", "m1", "--params", str(handles["params"]),
                                      "--root", str(tmp_path)])
    assert result.exit_code == 0, result.output
    scored = features[features["person_id"].isin(pd.read_parquet(
        tmp_path / "data/models/m1/scores.parquet").query("split == 'score'")["person_id"])]
    return {"out": tmp_path / "outputs/risk_lists/m1", "scored": scored}


class _Cells(HTMLParser):
    """Each table row's cells as lists of texts (a cell's list items one text each)."""

    def __init__(self) -> None:
        super().__init__()
        self.rows, self._cell, self._item, self._in_body = [], None, None, False

    def handle_starttag(self, tag, attrs):
        if tag == "tbody":
            self._in_body = True
        elif self._in_body and tag == "tr":
            self.rows.append([])
        elif self._in_body and tag == "td":
            self._cell = []
        elif self._cell is not None and tag == "li":
            self._item = ""

    def handle_endtag(self, tag):
        if tag == "li" and self._item is not None:
            self._cell.append(self._item)
            self._item = None
        elif tag == "td" and self._cell is not None:
            self.rows[-1].append(self._cell or [""])
            self._cell = None
        elif tag == "tbody":
            self._in_body = False

    def handle_data(self, data):
        if self._item is not None:
            self._item += data
        elif self._cell is not None and data.strip():
            self._cell.append(data.strip())


def test_csv_excel_html_and_parquet_carry_the_same_words(issued):
    out = issued["out"]
    listed = pd.read_csv(out / "risk_list.csv", dtype="str", keep_default_na=False)
    book = load_workbook(out / "risk_list.xlsx")["risk list"]
    rows = list(book.iter_rows(values_only=True))
    header_at = next(i for i, r in enumerate(rows) if r[0] == DISPLAY_HEADERS["status"])
    assert rows[0][0] == "DRAFT — NOT APPROVED FOR OPERATIONAL USE"
    sheet = pd.DataFrame(rows[header_at + 1:], columns=rows[header_at])
    parser = _Cells()
    html = (out / "risk_list.html").read_text(encoding="utf-8")
    parser.feed(html)
    people = pd.read_parquet(out / "risk_list.parquet")
    assert len(listed) == len(sheet) == len(parser.rows) == len(people) == 20
    assert 'id="draft-banner"' in html
    # the help names the population's people, never a row's data
    assert "Each row is one child, highest risk first" in html and ">20 children</caption>" in html
    for i, row in listed.iterrows():
        reasons, protective = row["reasons"].split("\n"), row["protective_factors"].split("\n")
        assert sheet.loc[i, DISPLAY_HEADERS["reasons"]].split("\n") == reasons
        assert sheet.loc[i, DISPLAY_HEADERS["protective_factors"]].split("\n") == protective
        assert sheet.loc[i, DISPLAY_HEADERS["cannot_see"]] == row["cannot_see"]
        cells = parser.rows[i]
        assert cells[0] == [row["rank"]] and cells[2] == [row["risk"]]
        assert cells[4] == reasons and cells[5] == protective and cells[6] == [row["cannot_see"]]
        assert people.loc[i, "reasons"] == row["reasons"] and people.loc[i, "risk"] == row["risk"]
        shown = [people.loc[i, f"reason_{k}_text"] for k in (1, 2, 3)
                 if pd.notna(people.loc[i, f"reason_{k}_text"])]
        assert shown == reasons or reasons == ["no single factor stands out"]
    # no machine text left on the page people read
    assert "_rate_" not in html and "0.1" not in " ".join(listed["reasons"])


def test_the_issued_list_compares_with_the_scored_cohort_and_says_what_it_cannot_see(issued):
    people = pd.read_parquet(issued["out"] / "risk_list.parquet")
    scored = issued["scored"]
    assert set(people["status"]) == {"DRAFT"} and people["risk_probability"].between(0, 1).all()
    found = people[people["reason_1_feature"] == "unauthorised_absence_rate_36m"]
    assert len(found)  # the synthetic outcome follows absence: some child's first reason is it
    average = scored["unauthorised_absence_rate_36m"].mean()  # every child scored, not only those listed
    assert found["reason_1_county_average"].to_numpy() == pytest.approx(average)
    assert found["reason_1_text"].str.endswith(f"county average {average:.0%}").all()
    for _, person in people.iterrows():
        for k in (1, 2, 3):
            if person[f"reason_{k}_feature"] in ("suspensions_12m", "unauthorised_absence_rate_36m"):
                assert scored.loc[scored["person_id"] == person["person_token"], person[f"reason_{k}_feature"]].iloc[
                    0] > scored[person[f"reason_{k}_feature"]].mean()
        assert "suspen" not in person["protective_factors"] and "without authorisation" not in person[
            "protective_factors"]
        # the model reads school and social care, not health: only their gaps are named
        missing = [name for name, column in (("school", "school_last_record"), ("social care",
                                                                                 "social_care_last_record"))
                   if person[column] == "no record"]
        assert "health" not in person["cannot_see"] and "health_last_record" not in people.columns
        if missing:
            assert all(m in person["cannot_see"] for m in missing)
        else:
            assert person["cannot_see"] == "every linked source holds a record"
    # a child the fixture never put in social care is told apart from one it did
    assert (people["social_care_last_record"] == "no record").any() and (
        people["social_care_last_record"] != "no record").any()
    assert people["cannot_see"].str.contains("social care").any()
