"""Re-registering thresholds: deliberate, named, reasoned, and only for versions trained after it.

The first pre-registration (written by ``riskpipe train``) holds until ``riskpipe preregister`` records a
re-registration by a DPO, SIRO or Caldicott Guardian with a reason. A version trained before it stays
judged against the registration it was trained under, so moving the thresholds after seeing a version's
results never approves that version.
"""

from __future__ import annotations

import json

from ethics.release_store import preregister
from pipeline.core.config import GovernParams
from pipeline.core.paths import project_paths
from tests.test_ethics.test_release_path import _governance, _run, _said, _sign_all

REASON = "The board agreed a higher gap for small groups at its meeting of 3 March"


def _cfg() -> GovernParams:
    return GovernParams(checklist_file="ethics/checklist.yaml", thresholds_file="ethics/thresholds.yaml",
                        contexts_dir="ethics/contexts")


def _edit_thresholds(project) -> None:
    thresholds = project["root"] / "ethics/thresholds.yaml"
    thresholds.write_text(thresholds.read_text().replace("max_fnr_gap: 0.15", "max_fnr_gap: 0.30"))


def _reregister(project, *, role="DPO", by="Dana Price", reason=REASON):
    return _run(project, "preregister", "--model", "m1", "--by", by, "--role", role, "--reason", reason)


def _train_new_version(project, version: str) -> None:
    """What ``riskpipe train`` records: the new version and the registration in force (its hash)."""
    registration = preregister(project_paths(project["root"]), _cfg(), "m1")
    project["tracking"].versions.add(version)
    run_file = project["root"] / "data/models/m1/run.json"
    run = json.loads(run_file.read_text())
    run_file.write_text(json.dumps({**run, "model_version": version, "registration": registration["hash"]}))


def test_a_re_registration_is_refused_without_a_change_a_governance_role_or_a_reason(project):
    unchanged = _reregister(project)
    assert unchanged.exit_code == 2 and "nothing to re-register" in _said(unchanged)
    _edit_thresholds(project)
    wrong_role = _reregister(project, role="service lead")
    assert wrong_role.exit_code == 2 and "role 'service lead' may not re-register thresholds" in _said(wrong_role)
    no_reason = _reregister(project, reason="because")
    assert no_reason.exit_code == 2 and "--reason must say why the thresholds change" in _said(no_reason)
    unknown = _run(project, "preregister", "--model", "nosuch", "--by", "X", "--role", "DPO", "--reason", REASON)
    assert unknown.exit_code == 2 and "unknown model 'nosuch'" in _said(unknown)
    log = (project["root"] / "ethics/ledger/preregistration.jsonl").read_text().splitlines()
    assert len(log) == 1  # only train's first registration


def test_a_re_registration_never_rescues_the_version_already_trained(project):
    _sign_all(project)
    assert _run(project, "govern", "--model", "m1").exit_code == 0
    assert _governance(project)["status"] == "approved"
    _edit_thresholds(project)
    recorded = _reregister(project)
    assert recorded.exit_code == 0, recorded.output
    entry = json.loads((project["root"] / "ethics/ledger/preregistration.jsonl").read_text().splitlines()[-1])
    assert entry["event"] == "reregistration" and entry["by"] == "Dana Price" and entry["role"] == "DPO"
    assert entry["reason"] == REASON and entry["user"]
    listed = _run(project, "score", "--model", "m1")  # the approved release was judged on the old thresholds
    assert listed.exit_code == 1 and "thresholds changed after they were pre-registered" in _said(listed)
    assert _run(project, "govern", "--model", "m1").exit_code == 0
    gov = _governance(project)
    assert gov["status"] == "blocked"
    assert any("thresholds were re-registered after this version was trained (by Dana Price, DPO" in r
               for r in gov["reasons"]), gov["reasons"]


def test_a_version_trained_after_a_re_registration_is_judged_under_it(project):
    _edit_thresholds(project)
    assert _reregister(project).exit_code == 0
    _train_new_version(project, "4")
    _sign_all(project, version="4")
    assert _run(project, "govern", "--model", "m1").exit_code == 0
    gov = _governance(project)
    assert gov["status"] == "approved", gov["reasons"]
    assert gov["registration"]["kind"] == "re-registration" and gov["registration"]["reason"] == REASON
    assert _run(project, "card", "--model", "m1").exit_code == 0
    card = (project["root"] / "reports/m1/model_card.md").read_text()
    assert f"by Dana Price (DPO): {REASON}" in card
    assert _run(project, "score", "--model", "m1").exit_code == 0
