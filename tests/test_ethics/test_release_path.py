"""The whole release path through the CLI: sign-offs -> gate -> `approved` alias -> non-draft list.

MLflow is the in-memory stand-in of conftest.py (``project["tracking"]``); the same path against a real
SQLite MLflow is tests/test_ethics/test_release_path_mlflow.py.
"""

from __future__ import annotations

import json

import pandas as pd
from typer.testing import CliRunner

from ethics.checklist import CHECKLIST_FILE, parse_checklist
from ethics.ledger_store import SIGNOFF_LOG, append_to_ledger, ledger_key
from ethics.signoff import make_signoff
from pipeline.cli import app
from pipeline.core.io import read_yaml
from pipeline.core.paths import project_paths

runner = CliRunner()
# one person per signing role: (name given with --by, operating-system identity)
SIGNERS = {"DPO": ("Dana Price", "dprice"), "Caldicott Guardian": ("Cal Guardian", "cguard"),
           "SIRO": ("Sam Iro", "siro"), "service lead": ("Lee Service", "lservice"),
           "lead data scientist": ("Dee Scientist", "dscience")}


def _said(result) -> str:
    """What the command printed, on one line (the console wraps long messages)."""
    return " ".join(result.output.split())


def _run(project, *args):
    return runner.invoke(app, [*args, "--params", str(project["params"]), "--root", str(project["root"])])


def _signoff(project, monkeypatch, item, role, *, version="3", decision="approve", by=None, user=None, model="m1"):
    """``riskpipe signoff`` as the person holding ``role`` (or as ``by``/``user``), from their own OS account."""
    name, os_user = SIGNERS[role]
    monkeypatch.setattr("ethics.signoff_stage.current_user", lambda: user or os_user)
    return _run(project, "signoff", "--model", model, "--version", version, "--item", item, "--by", by or name,
                "--role", role, "--decision", decision, "--evidence", f"DOC-{item}")


def _release(project) -> str:
    """The release digest `riskpipe govern` last wrote (reports/m1/release.json)."""
    return json.loads((project["root"] / "reports/m1/release.json").read_text())["release_digest"]


def _append(project, *, item, role, by, user, version="3", decision="approve", release=None):
    """A sign-off written straight into the log (past the CLI's checks), as an insider with the key could."""
    paths = project_paths(project["root"])
    record = make_signoff(parse_checklist(read_yaml(CHECKLIST_FILE)), model="m1", version=version,
                          release=release or _release(project), item=item, by=by, role=role, decision=decision,
                          evidence=f"DOC-{item}", user=user)
    append_to_ledger(paths, SIGNOFF_LOG, record, ledger_key(paths))


def _sign_all(project, monkeypatch=None, version="3"):
    """Approve every human item of the current release, one person per role: through the CLI, or straight into the log.

    ``riskpipe govern`` runs first when no release has been recorded yet (sign-offs name a release digest).
    """
    if not (project["root"] / "reports/m1/release.json").exists():
        assert _run(project, "govern", "--model", "m1").exit_code == 0
    for item in (i for i in parse_checklist(read_yaml(CHECKLIST_FILE)).items if i.kind == "human"):
        if monkeypatch is not None:
            result = _signoff(project, monkeypatch, item.id, item.role, version=version)
            assert result.exit_code == 0, result.output
        else:
            name, user = SIGNERS[item.role]
            _append(project, item=item.id, role=item.role, by=name, user=user, version=version)


def _signoffs_logged(project) -> int:
    """Sign-offs in the log (train starts it empty, so a refused sign-off leaves 0 lines, not no file)."""
    log = project["root"] / "ethics/ledger/signoffs.jsonl"
    return len(log.read_text().splitlines()) if log.exists() else 0


def _governance(project):
    return json.loads((project["root"] / "reports/m1/governance.json").read_text())


def test_unsigned_model_is_blocked_with_each_unsigned_item_listed(project):
    result = _run(project, "govern", "--model", "m1")
    assert result.exit_code == 0, result.output  # blocked is a normal state, not a failure
    gov = _governance(project)
    human = [i.id for i in parse_checklist(read_yaml(CHECKLIST_FILE)).items if i.kind == "human"]
    assert gov["status"] == "blocked"
    # an item only for some inputs (family records) passes as not applicable to this model's inputs
    applies = {i["id"] for i in gov["items"] if not i["evidence"].startswith("not applicable")}
    assert {i["id"] for i in gov["items"] if i["status"] == "unsigned"} == set(human) & applies
    assert all(i["status"] == "pass" for i in gov["items"] if i["kind"] == "auto"), gov["reasons"]
    assert project["tracking"].approved_model_version("riskpipe-m1") is None


def test_full_signoff_path_approves_and_issues_a_non_draft_list(project, monkeypatch):
    _sign_all(project, monkeypatch)
    assert _run(project, "govern", "--model", "m1").exit_code == 0
    gov = _governance(project)
    assert gov["status"] == "approved", gov["reasons"]
    assert project["tracking"].approved_model_version("riskpipe-m1")["version"] == "3"
    result = _run(project, "score", "--model", "m1")
    assert result.exit_code == 0, result.output
    out = project["root"] / "outputs/risk_lists/m1"
    listed = pd.read_csv(out / "risk_list.csv")
    assert len(listed) == 20 and set(listed["status"]) == {"APPROVED"}
    assert "DRAFT" not in (out / "risk_list.html").read_text()
    assert listed["approval"].str.contains("approved").all()
    audit = [json.loads(line) for line in (project["root"] / "outputs/audit.jsonl").read_text().splitlines()]
    assert audit[-1]["draft"] is False and audit[-1]["rows"] == 20


def test_a_later_reject_withdraws_approval(project):
    _sign_all(project)
    _run(project, "govern", "--model", "m1")
    _run(project, "signoff", "--model", "m1", "--version", "3", "--item", "dpia", "--by", "Dana Price", "--role",
         "DPO", "--decision", "reject", "--evidence", "DPIA-v2")
    _run(project, "govern", "--model", "m1")
    assert _governance(project)["status"] == "blocked"
    assert project["tracking"].approved_model_version("riskpipe-m1") is None


def test_failing_threshold_blocks(project):
    _sign_all(project)
    metrics_file = project["root"] / "reports/m1/metrics.json"
    metrics = json.loads(metrics_file.read_text())
    metrics["test"]["precision_at_capacity"] = 0.10  # below the pre-registered 0.20
    metrics_file.write_text(json.dumps(metrics))
    _run(project, "govern", "--model", "m1")
    gov = _governance(project)
    assert gov["status"] == "blocked"
    assert any(r.startswith("precision_at_capacity: fail") for r in gov["reasons"])


def test_editing_thresholds_after_evaluation_blocks(project):
    _sign_all(project)
    thresholds = project["root"] / "ethics/thresholds.yaml"
    thresholds.write_text(thresholds.read_text().replace("max_fnr_gap: 0.15", "max_fnr_gap: 0.30"))
    _run(project, "govern", "--model", "m1")
    gov = _governance(project)
    assert gov["status"] == "blocked"
    assert any(r.startswith("thresholds_unchanged: fail - thresholds changed after they were pre-registered")
               for r in gov["reasons"]), gov["reasons"]


def test_draft_list_says_draft_everywhere_and_is_refused_without_draft_mode(project):
    result = _run(project, "score", "--model", "m1")
    assert result.exit_code == 0, result.output
    out = project["root"] / "outputs/risk_lists/m1"
    banner = "DRAFT — NOT APPROVED FOR OPERATIONAL USE"
    listed = pd.read_csv(out / "risk_list.csv")
    assert (listed["approval"] == banner).all() and set(listed["status"]) == {"DRAFT"}
    assert banner in (out / "risk_list.html").read_text(encoding="utf-8")
    from openpyxl import load_workbook

    book = load_workbook(out / "risk_list.xlsx")
    assert book["risk list"]["A1"].value == banner and book["caveats"]["A1"].value == banner
    assert book["risk list"].freeze_panes == "A3"
    params = project["params"]
    params.write_text(params.read_text().replace("draft_mode: true", "draft_mode: false"))
    assert _run(project, "score", "--model", "m1").exit_code == 1


def test_signoff_refuses_wrong_role_and_auto_items(project):
    assert _run(project, "govern", "--model", "m1").exit_code == 0  # a release to sign
    wrong_role = _run(project, "signoff", "--model", "m1", "--version", "3", "--item", "dpia", "--by", "X",
                      "--role", "SIRO", "--decision", "approve", "--evidence", "E")
    auto_item = _run(project, "signoff", "--model", "m1", "--version", "3", "--item", "leakage_guard", "--by", "X",
                     "--role", "DPO", "--decision", "approve", "--evidence", "E")
    assert wrong_role.exit_code == 2 and auto_item.exit_code == 2
    assert "'dpia' is signed by the DPO, not the SIRO" in _said(wrong_role)
    assert "'leakage_guard' is an automatic check" in _said(auto_item)
    assert _signoffs_logged(project) == 0


def test_tampered_signoff_log_blocks_the_gate(project):
    _sign_all(project)
    log = project["root"] / "ethics/ledger/signoffs.jsonl"
    lines = log.read_text().splitlines()
    lines[0] = lines[0].replace('"approve"', '"reject"')
    log.write_text("\n".join(lines) + "\n")
    assert _run(project, "audit-log", "verify", "--log", "signoffs").exit_code == 1
    _run(project, "govern", "--model", "m1")
    gov = _governance(project)
    assert gov["status"] == "blocked" and "fails verification" in gov["reasons"][0]


def _score(project):
    return _run(project, "score", "--model", "m1")


def _new_version(project, version):
    """``riskpipe train`` registered ``version``: run.json now names it (its evaluation outputs are the fixture's)."""
    project["tracking"].versions.add(version)
    run_file = project["root"] / "data/models/m1/run.json"
    run_file.write_text(json.dumps({**json.loads(run_file.read_text()), "model_version": version}))


def test_one_person_cannot_hold_two_signing_roles_by_name_or_os_identity(project, monkeypatch):
    assert _run(project, "govern", "--model", "m1").exit_code == 0
    assert _signoff(project, monkeypatch, "dpia", "DPO").exit_code == 0
    by_name = _signoff(project, monkeypatch, "equality_impact", "SIRO", by="  dana PRICE ", user="another")
    assert by_name.exit_code == 2
    assert "already signed riskpipe-m1 v3 as the DPO" in _said(by_name) and "name 'dana price'" in _said(by_name)
    by_user = _signoff(project, monkeypatch, "equality_impact", "SIRO", by="Someone Else", user="DPRICE")
    assert by_user.exit_code == 2 and "OS user 'dprice'" in _said(by_user)
    # the same person may sign another item of their own role, and another release in another role
    assert _signoff(project, monkeypatch, "retention", "DPO").exit_code == 0
    _new_version(project, "4")
    assert _run(project, "govern", "--model", "m1").exit_code == 0
    assert _signoff(project, monkeypatch, "equality_impact", "SIRO", by="Dana Price", user="dprice",
                    version="4").exit_code == 0
    entries = [json.loads(x) for x in (project["root"] / "ethics/ledger/signoffs.jsonl").read_text().splitlines()]
    assert [e["user"] for e in entries] == ["dprice", "dprice", "dprice"]


def test_the_one_role_rule_is_checked_again_under_the_log_lock(project, monkeypatch):
    """Two sign-offs at once: the second command's early read missed the first, the locked append does not."""
    import ethics.govern_stage as govern_stage

    assert _run(project, "govern", "--model", "m1").exit_code == 0
    assert _signoff(project, monkeypatch, "dpia", "DPO").exit_code == 0
    monkeypatch.setattr(govern_stage, "read_signoff_entries", lambda paths: ([], []))  # a stale early read
    raced = _signoff(project, monkeypatch, "equality_impact", "SIRO", by="Dana Price", user="another")
    assert raced.exit_code == 2 and "already signed riskpipe-m1 v3 as the DPO" in _said(raced)
    assert len((project["root"] / "ethics/ledger/signoffs.jsonl").read_text().splitlines()) == 1


def test_two_roles_written_straight_into_the_log_block_the_gate(project):
    _sign_all(project)
    _append(project, item="equality_impact", role="SIRO", by="DANA PRICE", user="siro")
    _run(project, "govern", "--model", "m1")
    gov = _governance(project)
    assert gov["status"] == "blocked"
    assert any("'dana price' signed riskpipe-m1 v3 in 2 roles (DPO, SIRO)" in r for r in gov["reasons"])


def test_signoff_refuses_unknown_models_and_versions(project, monkeypatch):
    unknown_model = _signoff(project, monkeypatch, "dpia", "DPO", model="neet99")
    assert unknown_model.exit_code == 2
    assert "unknown model 'neet99': params.yaml models: lists m1" in _said(unknown_model)
    for version in ("9", "v3", "3.0"):
        unknown = _signoff(project, monkeypatch, "dpia", "DPO", version=version)
        assert unknown.exit_code == 2 and f"riskpipe-m1 has no version '{version}'" in _said(unknown)
    assert _signoffs_logged(project) == 0


def test_signoff_fails_closed_on_mlflow_errors(project, monkeypatch):
    project["tracking"].failing = {"model_version_exists"}
    unreachable = _signoff(project, monkeypatch, "dpia", "DPO")
    assert unreachable.exit_code == 1 and "Sign-off not recorded, MLflow error" in _said(unreachable)
    assert _signoffs_logged(project) == 0
    project["tracking"].failing = set()
    assert _run(project, "govern", "--model", "m1").exit_code == 0
    project["tracking"].failing = {"tag_model_version"}
    untagged = _signoff(project, monkeypatch, "dpia", "DPO")
    assert untagged.exit_code == 1 and "recorded in the log" in _said(untagged) and "but not tagged" in _said(untagged)


def test_a_reject_of_the_approved_older_version_revokes_it_whatever_newer_versions_exist(project):
    _sign_all(project)
    assert _run(project, "govern", "--model", "m1").exit_code == 0
    v3_release = _release(project)
    _new_version(project, "4")
    assert _run(project, "govern", "--model", "m1").exit_code == 0
    gov = _governance(project)
    assert gov["version"] == "4" and gov["status"] == "blocked"
    assert gov["approved_version_review"] == {**gov["approved_version_review"], "version": "3", "status": "approved"}
    assert _score(project).exit_code == 0  # v3 still approved: its list is issued
    _append(project, item="dpia", role="DPO", by="Dana Price", user="dprice", decision="reject", release=v3_release)
    refused = _score(project)  # at once, before anyone runs govern
    assert refused.exit_code == 1
    withdrawn = "v3 holds the `approved` alias but its approval no longer stands: dpia: rejected by Dana Price"
    assert withdrawn in _said(refused)
    assert _run(project, "govern", "--model", "m1").exit_code == 0
    review = _governance(project)["approved_version_review"]
    assert review["status"] == "revoked" and review["reasons"][0].startswith("dpia: rejected by Dana Price (DPO)")
    assert project["tracking"].approved_model_version("riskpipe-m1") is None
    assert project["tracking"].tags[("riskpipe-m1", "3")]["governance.status"] == "revoked"


def test_a_failed_alias_removal_is_an_error_and_no_list_flows_from_the_blocked_version(project):
    _sign_all(project)
    _run(project, "govern", "--model", "m1")
    thresholds = project["root"] / "ethics/thresholds.yaml"
    thresholds.write_text(thresholds.read_text().replace("max_fnr_gap: 0.15", "max_fnr_gap: 0.30"))
    project["tracking"].failing = {"revoke_approval"}
    failed = _run(project, "govern", "--model", "m1")
    assert failed.exit_code == 1 and "MLflow failed; nothing may be released" in _said(failed)
    assert project["tracking"].approved_model_version("riskpipe-m1")["version"] == "3"  # the alias stayed
    project["tracking"].failing = set()
    refused = _score(project)
    # the edited thresholds file is also an input the card shows, so govern judged another release
    assert refused.exit_code == 1 and "thresholds changed after they were pre-registered" in _said(refused)
    assert "governance.json judged release" in _said(refused)
    assert "card_sha256 of the approved release" in _said(refused)
    assert not (project["root"] / "outputs/risk_lists/m1/risk_list.csv").exists()


def test_an_alias_set_by_hand_issues_no_list(project):
    _sign_all(project)
    project["tracking"].set_alias_by_hand("3")
    refused = _score(project)
    assert refused.exit_code == 1
    assert "v3 holds `approved` but names no release (the alias was not set by `riskpipe govern`)" in _said(refused)
    # with the signed release's digest copied onto the tag: governance.json (written before the sign-offs) blocked it
    project["tracking"].set_alias_by_hand("3", _release(project))
    copied = _score(project)
    assert copied.exit_code == 1 and "governance.json: v3 is blocked" in _said(copied)
    assert not (project["root"] / "outputs/risk_lists/m1/risk_list.csv").exists()


def test_govern_and_card_fail_closed_on_mlflow_errors(project):
    project["tracking"].failing = {"approved_model_version"}
    assert _run(project, "govern", "--model", "m1").exit_code == 1
    assert _score(project).exit_code == 1  # score reads the alias too: an error, not a silent draft
    project["tracking"].failing = {"log_run_artifacts"}
    card = _run(project, "card", "--model", "m1")
    assert card.exit_code == 1 and "not logged to MLflow" in _said(card)


def test_an_approval_past_its_expiry_date_revokes_the_release_at_once(project, monkeypatch):
    import datetime as dt

    import ethics.gate
    import ethics.signoff

    _sign_all(project)
    tomorrow = (dt.datetime.now(dt.UTC).date() + dt.timedelta(days=1)).isoformat()
    dpia = _signoff(project, monkeypatch, "dpia", "DPO")  # re-signed with a review date: the latest counts
    assert dpia.exit_code == 0
    past = _run(project, "signoff", "--model", "m1", "--version", "3", "--item", "dpia", "--by", "Dana Price",
                "--role", "DPO", "--decision", "approve", "--evidence", "DOC", "--expires", "2020-01-01")
    assert past.exit_code == 2 and "is not after today" in _said(past)
    expiring = _run(project, "signoff", "--model", "m1", "--version", "3", "--item", "dpia", "--by", "Dana Price",
                    "--role", "DPO", "--decision", "approve", "--evidence", "DPIA-v2", "--expires", tomorrow)
    assert expiring.exit_code == 0, expiring.output
    assert _run(project, "govern", "--model", "m1").exit_code == 0
    assert _governance(project)["status"] == "approved" and _score(project).exit_code == 0
    # two days on, the DPIA's review date has passed: no list, and govern revokes the alias
    later = dt.datetime.now(dt.UTC).date() + dt.timedelta(days=2)
    monkeypatch.setattr(ethics.signoff, "utc_today", lambda: later)
    monkeypatch.setattr(ethics.gate, "utc_today", lambda: later)
    refused = _score(project)
    assert refused.exit_code == 1 and f"dpia: approval by Dana Price (DPO) expired on {tomorrow}" in _said(refused)
    assert _run(project, "govern", "--model", "m1").exit_code == 0
    gov = _governance(project)
    assert gov["status"] == "blocked" and any("expired on" in r for r in gov["reasons"])
    assert project["tracking"].approved_model_version("riskpipe-m1") is None
