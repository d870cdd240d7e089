"""The whole release path through the CLI: sign-offs -> gate -> `approved` alias -> non-draft list."""

from __future__ import annotations

import json

import pandas as pd
from typer.testing import CliRunner

from ethics.checklist import CHECKLIST_FILE, parse_checklist
from ethics.ledger import canonical_json, chain_entry, last_hash, parse_log
from ethics.signoff import make_signoff
from pipeline.cli import app
from pipeline.core.io import append_line_locked, read_yaml

runner = CliRunner()


def _run(project, *args):
    return runner.invoke(app, [*args, "--params", str(project["params"]), "--root", str(project["root"])])


def _sign_all(project, via_cli=False):
    """Approve every human item: through the CLI, or (faster) through the same record functions."""
    checklist = parse_checklist(read_yaml(CHECKLIST_FILE))
    log = project["root"] / "ethics/signoffs.jsonl"
    for item in (i for i in checklist.items if i.kind == "human"):
        if via_cli:
            result = _run(project, "signoff", "--model", "m1", "--version", "3", "--item", item.id, "--by",
                          "A Reviewer", "--role", item.role, "--decision", "approve", "--evidence", f"DOC-{item.id}")
            assert result.exit_code == 0, result.output
            continue
        record = make_signoff(checklist, model="m1", version="3", item=item.id, by="A Reviewer", role=item.role,
                              decision="approve", evidence=f"DOC-{item.id}")
        append_line_locked(log, lambda lines, r=record: canonical_json(chain_entry(r, last_hash(parse_log(lines)))))


def _governance(project):
    return json.loads((project["root"] / "reports/m1/governance.json").read_text())


def test_unsigned_model_is_blocked_with_each_unsigned_item_listed(project):
    result = _run(project, "govern", "--model", "m1")
    assert result.exit_code == 0, result.output  # blocked is a normal state, not a failure
    gov = _governance(project)
    human = [i.id for i in parse_checklist(read_yaml(CHECKLIST_FILE)).items if i.kind == "human"]
    assert gov["status"] == "blocked"
    assert {i["id"] for i in gov["items"] if i["status"] == "unsigned"} == set(human)
    assert all(i["status"] == "pass" for i in gov["items"] if i["kind"] == "auto"), gov["reasons"]
    assert project["tracking"].approved_model_version("riskpipe-m1") is None


def test_full_signoff_path_approves_and_issues_a_non_draft_list(project):
    _sign_all(project, via_cli=True)
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
    _run(project, "signoff", "--model", "m1", "--version", "3", "--item", "dpia", "--by", "B", "--role", "DPO",
         "--decision", "reject", "--evidence", "DPIA-v2")
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
    assert any("thresholds changed after results were seen" in r for r in gov["reasons"])


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
    wrong_role = _run(project, "signoff", "--model", "m1", "--version", "3", "--item", "dpia", "--by", "X",
                      "--role", "SIRO", "--decision", "approve", "--evidence", "E")
    auto_item = _run(project, "signoff", "--model", "m1", "--version", "3", "--item", "leakage_guard", "--by", "X",
                     "--role", "DPO", "--decision", "approve", "--evidence", "E")
    assert wrong_role.exit_code == 2 and auto_item.exit_code == 2
    assert not (project["root"] / "ethics/signoffs.jsonl").exists()


def test_tampered_signoff_log_blocks_the_gate(project):
    _sign_all(project)
    log = project["root"] / "ethics/signoffs.jsonl"
    lines = log.read_text().splitlines()
    lines[0] = lines[0].replace('"approve"', '"reject"')
    log.write_text("\n".join(lines) + "\n")
    assert _run(project, "audit-log", "verify", "--log", str(log)).exit_code == 1
    _run(project, "govern", "--model", "m1")
    gov = _governance(project)
    assert gov["status"] == "blocked" and "fails verification" in gov["reasons"][0]
