"""Content-bound approval and pre-registration: each bypass of the release, refused with the message a user sees.

MLflow is the in-memory stand-in of conftest.py (``project["tracking"]``): a rebuilt registry is a version
number logged from another run with other model files; the same path against a real SQLite MLflow is
tests/test_ethics/test_release_path_mlflow.py.
"""

from __future__ import annotations

import json

import pandas as pd
import pytest
import yaml

from ethics.checklist import CHECKLIST_FILE, mandatory_items_missing, parse_checklist
from ethics.release import build_release, release_digest
from ethics.release_store import ChecklistIncompleteError, preregister, read_registration
from pipeline.core.config import GovernParams
from pipeline.core.io import read_yaml
from pipeline.core.paths import project_paths
from tests.test_ethics.test_release_path import (
    _governance,
    _new_version,
    _release,
    _run,
    _said,
    _sign_all,
    _signoff,
    _signoffs_logged,
)


def _approve(project) -> str:
    """Every human item signed for the current release, govern approves it; its digest."""
    _sign_all(project)
    assert _run(project, "govern", "--model", "m1").exit_code == 0
    assert _governance(project)["status"] == "approved", _governance(project)["reasons"]
    return _release(project)


def _no_drafts(project) -> None:
    params = project["params"]
    params.write_text(params.read_text().replace("draft_mode: true", "draft_mode: false"))


def test_the_release_binds_every_digest_and_its_digest_is_its_content():
    fields = dict(model="m1", version="3", run_id="r1", model_sha256="f" * 64, feature_columns=["a", "b"],
                  thresholds_sha256="1" * 64, checklist_sha256="2" * 64, metrics_sha256="3" * 64,
                  card_sha256="4" * 64, capacity=20,
                  base_rate=0.08)
    release = build_release(**fields)
    assert release["release_digest"] == release_digest(release)
    for name, other in [("version", "4"), ("run_id", "r9"), ("model_sha256", "e" * 64), ("feature_columns", ["a"]),
                        ("thresholds_sha256", "9" * 64), ("checklist_sha256", "9" * 64),
                        ("metrics_sha256", "9" * 64), ("card_sha256", "9" * 64), ("capacity", 21), ("base_rate", 0.09)]:
        assert build_release(**{**fields, name: other})["release_digest"] != release["release_digest"], name


def test_govern_writes_the_release_and_sign_offs_name_its_digest(project, monkeypatch):
    assert _run(project, "govern", "--model", "m1").exit_code == 0
    release = json.loads((project["root"] / "reports/m1/release.json").read_text())
    assert release["version"] == "3" and release["run_id"] == "r1" and release["model_sha256"] == "f" * 64
    assert release["capacity"] == 20 and release["base_rate"] == 0.08
    assert release["thresholds_sha256"] == read_registration(project_paths(project["root"]), "m1")["thresholds_sha256"]
    assert _governance(project)["release_digest"] == release["release_digest"]
    assert _signoff(project, monkeypatch, "dpia", "DPO").exit_code == 0  # --version 3: its latest release
    entry = json.loads((project["root"] / "ethics/ledger/signoffs.jsonl").read_text().splitlines()[-1])
    assert entry["release"] == release["release_digest"] and entry["version"] == "3"


def test_an_unknown_release_digest_is_refused(project, monkeypatch):
    assert _run(project, "govern", "--model", "m1").exit_code == 0
    monkeypatch.setattr("ethics.signoff_stage.current_user", lambda: "dprice")
    forged = _run(project, "signoff", "--model", "m1", "--release", "ab" * 32, "--item", "dpia", "--by", "Dana",
                  "--role", "DPO", "--decision", "approve", "--evidence", "E")
    assert forged.exit_code == 2 and f"unknown release '{'ab' * 32}' of riskpipe-m1" in _said(forged)
    mismatch = _run(project, "signoff", "--model", "m1", "--release", _release(project), "--version", "2", "--item",
                    "dpia", "--by", "Dana", "--role", "DPO", "--decision", "approve", "--evidence", "E")
    assert mismatch.exit_code == 2 and "is of riskpipe-m1 v3, not v2" in _said(mismatch)
    assert _signoffs_logged(project) == 0


def test_a_rebuilt_registrys_v3_does_not_inherit_the_old_v3s_approvals(project):
    old = _approve(project)
    # mlflow.db rebuilt: a new "v3", logged from another run with other model files; run.json names it
    tracking = project["tracking"]
    tracking.aliases.clear()
    tracking.run_ids["3"], tracking.model_sha256 = "r9", "e" * 64
    run_file = project["root"] / "data/models/m1/run.json"
    run_file.write_text(json.dumps({**json.loads(run_file.read_text()), "run_id": "r9"}))
    assert _run(project, "govern", "--model", "m1").exit_code == 0
    gov = _governance(project)
    assert gov["version"] == "3" and gov["release_digest"] != old and gov["status"] == "blocked"
    # every human item that applies to this version is unsigned again (one for family inputs does not apply)
    applies = [i for i in gov["items"] if i["kind"] == "human" and not i["evidence"].startswith("not applicable")]
    assert applies and all(i["status"] == "unsigned" for i in applies)
    assert tracking.approved_model_version("riskpipe-m1") is None
    _no_drafts(project)
    refused = _run(project, "score", "--model", "m1")
    assert refused.exit_code == 1 and "no model version holds the `approved` alias" in _said(refused)
    # the old release's digest copied onto the new v3 by hand: the model files and run are not the approved ones
    tracking.set_alias_by_hand("3", old)
    copied = _run(project, "score", "--model", "m1")
    assert copied.exit_code == 1
    assert "run_id of the approved release is r1, now r9" in _said(copied)
    assert "model_sha256 of the approved release is ffffffffffff, now eeeeeeeeeeee" in _said(copied)
    assert not (project["root"] / "outputs/risk_lists/m1/risk_list.csv").exists()


def test_run_json_naming_another_run_than_mlflows_version_blocks(project):
    project["tracking"].run_ids["3"] = "r9"
    assert _run(project, "govern", "--model", "m1").exit_code == 0
    assert "run.json names run r1 but MLflow's v3 was logged from run r9" in _governance(project)["reasons"]


def test_model_files_or_evaluation_outputs_changed_after_approval_issue_no_list(project):
    _approve(project)
    project["tracking"].model_sha256 = "e" * 64
    swapped = _run(project, "score", "--model", "m1")
    assert swapped.exit_code == 1
    assert "model_sha256 of the approved release is ffffffffffff, now eeeeeeeeeeee" in _said(swapped)
    project["tracking"].model_sha256 = "f" * 64
    metrics_file = project["root"] / "reports/m1/metrics.json"
    metrics_file.write_text(json.dumps({**json.loads(metrics_file.read_text()), "capacity": 5}))
    edited = _run(project, "score", "--model", "m1")
    assert edited.exit_code == 1 and "metrics_sha256 of the approved release is" in _said(edited)
    assert not (project["root"] / "outputs/risk_lists/m1/risk_list.csv").exists()


def test_an_approved_older_release_scores_with_its_own_features_capacity_and_base_rate(project):
    approved = _approve(project)
    # v4 trained since: one input fewer, a smaller capacity and another base rate in its run.json and metrics.json
    _new_version(project, "4")
    run_file = project["root"] / "data/models/m1/run.json"
    run_file.write_text(json.dumps({**json.loads(run_file.read_text()), "feature_columns": ["absence_rate_test"]}))
    metrics_file = project["root"] / "reports/m1/metrics.json"
    metrics = json.loads(metrics_file.read_text())
    metrics_file.write_text(json.dumps({**metrics, "capacity": 5, "test": {**metrics["test"], "prevalence": 0.5}}))
    assert _run(project, "govern", "--model", "m1").exit_code == 0
    gov = _governance(project)
    assert gov["version"] == "4" and gov["status"] == "blocked"
    assert gov["approved_version_review"]["status"] == "approved"
    issued = _run(project, "score", "--model", "m1")
    assert issued.exit_code == 0, issued.output
    listed = pd.read_csv(project["root"] / "outputs/risk_lists/m1/risk_list.csv")
    assert len(listed) == 20 and set(listed["status"]) == {"APPROVED"}  # v3's capacity, not v4's 5
    assert set(listed["model_version"].astype(str)) == {"3"}
    # bands against v3's base rate (8%): against v4's 50% no risk would reach "at least 2 times the average risk"
    assert listed["band"].str.contains(r"times the average risk\)").all(), listed["band"].unique()
    from openpyxl import load_workbook

    caveats = [r[0].value for r in load_workbook(project["root"] / "outputs/risk_lists/m1/risk_list.xlsx")["caveats"]
               .iter_rows() if r[0].value]
    assert f"release digest: {approved}" in caveats


def test_thresholds_edited_after_registration_block_even_after_retraining(project):
    paths = project_paths(project["root"])
    first = read_registration(paths, "m1")
    _sign_all(project)
    thresholds = project["root"] / "ethics/thresholds.yaml"
    thresholds.write_text(thresholds.read_text().replace("max_fnr_gap: 0.15", "max_fnr_gap: 0.30"))
    cfg = GovernParams(checklist_file="ethics/checklist.yaml", thresholds_file="ethics/thresholds.yaml")
    assert preregister(paths, cfg, "m1") == first  # `dvc repro` retrains: the first registration holds
    assert len((project["root"] / "ethics/ledger/preregistration.jsonl").read_text().splitlines()) == 1
    assert _run(project, "govern", "--model", "m1").exit_code == 0
    gov = _governance(project)
    assert gov["status"] == "blocked"
    assert any(r.startswith("thresholds_unchanged: fail - thresholds changed after they were pre-registered")
               for r in gov["reasons"])


def test_a_model_never_pre_registered_is_blocked(project):
    (project["root"] / "ethics/ledger/preregistration.jsonl").unlink()
    (project["root"] / "reports/ledger/preregistration.anchor.json").unlink()
    project["tracking"].ledger_anchors.pop("preregistration")
    assert _run(project, "govern", "--model", "m1").exit_code == 0
    reasons = _governance(project)["reasons"]
    assert any("no pre-registration of thresholds and checklist for this model" in r for r in reasons)
    assert any(r.startswith("thresholds_unchanged: not evaluable - no pre-registration") for r in reasons)


def test_a_deleted_pre_registration_log_stops_govern(project):
    (project["root"] / "ethics/ledger/preregistration.jsonl").unlink()
    deleted = _run(project, "govern", "--model", "m1")
    assert deleted.exit_code == 2 and "ethics/ledger/preregistration.jsonl fails verification" in _said(deleted)


def _checklist_without(project, dropped: set[str]) -> None:
    data = read_yaml(CHECKLIST_FILE)
    data["items"] = [i for i in data["items"] if i["id"] not in dropped]
    (project["root"] / "ethics/short_checklist.yaml").write_text(yaml.safe_dump(data))
    params = project["params"]
    params.write_text(params.read_text().replace("ethics/checklist.yaml", "ethics/short_checklist.yaml"))


@pytest.mark.parametrize("dropped, missing", [
    ({"dpia", "equality_impact"}, "human item dpia, human item equality_impact"),
    ({"leakage_guard"}, "auto check leakage_guard"),
])
def test_a_checklist_without_mandatory_items_blocks(project, dropped, missing):
    _sign_all(project)
    _checklist_without(project, dropped)
    assert _run(project, "govern", "--model", "m1").exit_code == 0
    gov = _governance(project)
    assert gov["status"] == "blocked"
    assert f"checklist lacks mandatory items: {missing} (govern.checklist_file may add items, never remove these)" \
        in gov["reasons"]
    assert any(r.startswith("checklist changed since it was pre-registered") for r in gov["reasons"])


def test_an_empty_checklist_blocks_and_cannot_be_registered(project):
    (project["root"] / "ethics/empty.yaml").write_text("items: []\n")
    params = project["params"]
    params.write_text(params.read_text().replace("ethics/checklist.yaml", "ethics/empty.yaml"))
    missing = mandatory_items_missing(parse_checklist({"items": []}))
    assert "auto check out_of_time_validation" in missing and missing[-4:] == [
        "human item lawful_basis", "human item dpia", "human item human_review", "human item equality_impact"]
    assert _run(project, "govern", "--model", "m1").exit_code == 0
    gov = _governance(project)
    assert gov["status"] == "blocked" and gov["reasons"][0].startswith("checklist lacks mandatory items: auto check")
    cfg = GovernParams(checklist_file="ethics/empty.yaml", thresholds_file="ethics/thresholds.yaml")
    with pytest.raises(ChecklistIncompleteError, match="checklist lacks mandatory items"):
        preregister(project_paths(project["root"]), cfg, "other_model")


def test_an_approval_stops_when_the_checklist_or_thresholds_change_after_it(project):
    _approve(project)
    thresholds = project["root"] / "ethics/thresholds.yaml"
    original = thresholds.read_text()
    thresholds.write_text(original.replace("max_fnr_gap: 0.15", "max_fnr_gap: 0.30"))
    edited = _run(project, "score", "--model", "m1")
    assert edited.exit_code == 1 and "thresholds changed after they were pre-registered" in _said(edited)
    thresholds.write_text(original)
    _checklist_without(project, {"dpia"})
    shortened = _run(project, "score", "--model", "m1")
    assert shortened.exit_code == 1 and "checklist lacks mandatory items: human item dpia" in _said(shortened)
    assert "checklist_sha256 of the approved release is" in _said(shortened)


def test_a_release_without_capacity_or_base_rate_is_blocked(project):
    _sign_all(project)
    metrics_file = project["root"] / "reports/m1/metrics.json"
    metrics = json.loads(metrics_file.read_text())
    del metrics["capacity"]
    metrics_file.write_text(json.dumps(metrics))
    assert _run(project, "govern", "--model", "m1").exit_code == 0
    gov = _governance(project)
    assert gov["status"] == "blocked" and "metrics.json gives no capacity for the release" in gov["reasons"]
    assert gov["release"]["capacity"] is None


def test_the_release_binds_the_card_reviewers_read(project):
    digest = _approve(project)
    release = json.loads((project["root"] / "reports/m1/release.json").read_text())
    assert release["release_digest"] == digest and len(release["card_sha256"]) == 64
    assert _run(project, "card", "--model", "m1").exit_code == 0
    card = (project["root"] / "reports/m1/model_card.md").read_text()
    assert release["card_sha256"] in card  # the lineage names the card evidence the sign-offs cover
    context = project["root"] / "ethics/contexts/m1.yaml"
    context.write_text(context.read_text().replace("Test directorate", "Another directorate"))
    rendered = _run(project, "card", "--model", "m1")
    assert rendered.exit_code == 1
    assert f"is not the card release {digest[:12]} names ({release['card_sha256'][:12]})" in _said(rendered)
    assert "Test directorate" in (project["root"] / "reports/m1/model_card.md").read_text()  # not rewritten
    listed = _run(project, "score", "--model", "m1")
    assert listed.exit_code == 1
    assert f"card_sha256 of the approved release is {release['card_sha256'][:12]}" in _said(listed)
    assert not (project["root"] / "outputs/risk_lists/m1/risk_list.csv").exists()
    assert _run(project, "govern", "--model", "m1").exit_code == 0  # a new release, which nobody has signed
    assert _governance(project)["status"] == "blocked" and _release(project) != digest
