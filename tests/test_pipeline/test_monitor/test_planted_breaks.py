"""A small synthetic county run as commands: planted recording breaks are found and block the gate; as-of linkage.

The break goes in through the surface a council touches — the raw extract, via ``synth.recording_breaks``
in params.yaml — and runs through ``ingest``, ``pseudonymise`` and ``monitor`` as commands. A&E diagnosis
S09 stops being recorded from January 2019 (recorded as R69 instead); J45 is recorded twice as often
from January 2021.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

from ethics.gate_evidence import GateEvidence
from ethics.monitor_checks import check_recording_practice
from ethics.thresholds import model_thresholds
from pipeline.core.io import read_yaml

REPO = Path(__file__).resolve().parents[3]
THRESHOLDS = model_thresholds(read_yaml(REPO / "ethics/thresholds.yaml"), "neet18")
PLANTED = [
    {"table": "ae_attendance", "column": "diagnosis", "code": "S09", "start": "2019-01-01", "factor": 0,
     "recorded_as": "R69X"},
    {"table": "ae_attendance", "column": "diagnosis", "code": "J45", "start": "2021-01-01", "factor": 2},
]


def _riskpipe(root: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pipeline", *args, "--root", str(root), "--params",
                           str(root / "params.yaml")], cwd=REPO, capture_output=True, text=True, check=False)


@pytest.fixture(scope="module")
def county(tmp_path_factory):
    root = tmp_path_factory.mktemp("planted")
    params = yaml.safe_load((REPO / "params.yaml").read_text())
    params["synth"] |= {"children": 4000, "recording_breaks": PLANTED}
    (root / "params.yaml").write_text(yaml.safe_dump(params))
    for step in (["synth"], ["keygen"], ["ingest"], ["pseudonymise"], ["monitor"], ["link"],
                 ["link", "--as-of", "2020-01-01"]):
        done = _riskpipe(root, *step)
        assert done.returncode == 0, f"{step}: {done.stdout[-2000:]}{done.stderr[-2000:]}"
        if step == ["monitor"]:
            said = done.stdout + done.stderr
    yield root, said
    shutil.rmtree(root, ignore_errors=True)


def _breaks(root: Path) -> pd.DataFrame:
    return pd.DataFrame(json.loads((root / "reports/monitor.json").read_text())["breaks"])


def test_each_planted_break_is_found_in_its_month(county):
    root, said = county
    overall = _breaks(root).query("breakdown == 'all'")
    stopped = overall[overall["code"] == "S09"].iloc[0]
    assert stopped["month"] == "2019-01" and stopped["coded_after"] == 0
    doubled = overall[overall["code"] == "J45"].iloc[0]
    assert doubled["month"] in {"2020-12", "2021-01", "2021-02"} and 1.6 <= doubled["ratio"] <= 2.4
    assert overall[overall["code"] == "R69"].iloc[0]["month"] == "2019-01"  # what it was recorded as instead
    assert "ae_attendance.diagnosis=S09@2019-01" in said


def test_nothing_else_is_called_a_break(county):
    root, _ = county
    planted = _breaks(root)["code"].isin(["S09", "J45", "R69"])
    assert not (~planted).any(), _breaks(root)[~planted][["id", "p_value"]].to_string()


def test_the_monitor_report_draws_each_break(county):
    root, _ = county
    html = (root / "reports/monitor.html").read_text()
    assert "ae_attendance.diagnosis = S09 (all rows)" in html and "data:image/png;base64," in html
    assert "stopped" in html


def _evidence(root: Path, feature_columns: list[str], context: dict | None = None) -> GateEvidence:
    split_years = pd.DataFrame({"split": ["train", "test"], "index_year": [2015, 2021]})
    from ethics.monitor_checks import input_sources
    from features.registry import FEATURES

    return GateEvidence(metrics={}, group_metrics=pd.DataFrame(), run={"feature_columns": feature_columns},
                        thresholds_sha256="x", split_years=split_years, context=context or {},
                        monitor=json.loads((root / "reports/monitor.json").read_text()),
                        input_sources=input_sources(feature_columns, FEATURES))


def test_the_gate_blocks_a_model_reading_the_broken_source_until_a_person_reviews_it(county):
    root, _ = county
    reads_health = _evidence(root, ["ae_attendances_12m", "attendance_rate_12m"])
    blocked = check_recording_practice(reads_health, THRESHOLDS)
    assert blocked.status == "fail"
    assert "ae_attendance.diagnosis = S09 (all rows) stopped being recorded from 2019-01" in blocked.evidence
    assert "recording_breaks_reviewed" in blocked.evidence
    reviewed = {b: "Checked with the trust: the A&E system changed; S09 is now coded R69. Features use neither."
                for b in _breaks(root)["id"]}
    passed = check_recording_practice(_evidence(root, ["ae_attendances_12m"], {"recording_breaks_reviewed":
                                                                                reviewed}), THRESHOLDS)
    assert passed.status == "pass" and "all reviewed" in passed.evidence
    school_only = check_recording_practice(_evidence(root, ["attendance_rate_12m"]), THRESHOLDS)
    assert school_only.status == "pass" and "no break in the sources this model reads (school)" in school_only.evidence


def test_linkage_as_of_a_past_date_uses_only_the_records_that_existed_then(county):
    root, _ = county
    full = pd.read_parquet(root / "data/linked/person_index.parquet")
    as_of = pd.read_parquet(root / "data/linked_as_of/2020-01-01/person_index.parquet")
    assert 0 < len(as_of) < len(full)
    school = pd.read_parquet(root / "data/pseudo/school_pupil.parquet", columns=["upn_tok", "census_date"])
    first_census = school.groupby("upn_tok")["census_date"].min()
    at_school = as_of[as_of["table"] == "school"]["record_key_tok"]
    assert (first_census.reindex(at_school) < pd.Timestamp("2020-01-01")).all()  # nobody seen only later
    report = json.loads((root / "reports/linkage_as_of/2020-01-01.json").read_text())
    compared = report["compared_with_all_records"]
    assert compared["records_as_of"] == len(as_of) == compared["records_in_both"]
    assert 0 <= compared["share_joined_only_later"] < 0.05 and report["truth"]["precision"] > 0.99
