"""The keyed ledger: chains under the ledger key, anchors outside the file, lists only after their entry.

Pure chain checks first, then ``riskpipe audit-log verify`` against each way of tampering with a log,
then the list-issue path (``riskpipe score``) with a log that will not take the entry.
"""

from __future__ import annotations

import hashlib
import hmac
import json

import pytest
from typer.testing import CliRunner

from ethics.ledger import (
    GENESIS_HASH,
    REWRITTEN,
    anchor_problems,
    canonical_json,
    chain_entry,
    make_anchor,
    verify_chain,
)
from ethics.ledger_store import AUDIT_LOG, SIGNOFF_LOG, LedgerError, append_to_ledger, ledger_key, verify_ledger
from pipeline.cli import app
from pipeline.core.paths import project_paths

runner = CliRunner()
KEY, LEDGER_KEY = bytes(range(32)), bytes(range(32, 64))  # the fixture project's .secrets/ keys (conftest.py)
OTHER_KEY = bytes(range(64, 96))


def _record(i: int) -> dict:
    return {"event": "risk_list_issued", "rows": i, "list_sha256": f"{i:064x}"}


def _chain(n: int = 4, key: bytes = LEDGER_KEY) -> list[str]:
    lines, prev = [], GENESIS_HASH
    for i in range(n):
        entry = chain_entry(_record(i), prev, key)
        lines.append(canonical_json(entry))
        prev = entry["hash"]
    return lines


def _other_key_hash(body: dict) -> str:
    """What a forger holding some other key (not the ledger key) computes for an entry."""
    return hmac.new(OTHER_KEY, b"riskpipe/v1/ledger-entry\x00" + canonical_json(body).encode(), hashlib.sha256
                    ).hexdigest()


def _rewrite(lines: list[str], entry_hash) -> list[str]:
    """The same records re-chained by someone computing each hash with ``entry_hash(body)``."""
    out, prev = [], GENESIS_HASH
    for line in lines:
        body = {k: v for k, v in json.loads(line).items() if k not in ("hash", "prev_hash")} | {"prev_hash": prev}
        body["hash"] = prev = entry_hash(body)
        out.append(canonical_json(body))
    return out


# --- the chain itself --------------------------------------------------------------------------------


def test_intact_chain_verifies_and_hash_is_hmac_of_the_other_fields_under_the_ledger_key():
    lines = _chain()
    check = verify_chain(lines, LEDGER_KEY)
    assert check.ok and check.entries == 4 and check.last_hash == json.loads(lines[-1])["hash"]
    first = json.loads(lines[0])
    body = canonical_json({k: v for k, v in first.items() if k != "hash"}).encode()
    expected = hmac.new(LEDGER_KEY, b"riskpipe/v1/ledger-entry\x00" + body, hashlib.sha256).hexdigest()
    assert first["hash"] == expected and first["prev_hash"] == GENESIS_HASH


@pytest.mark.parametrize("tamper", ["edit", "delete", "swap", "insert", "rehash_edit"])
def test_tampering_with_a_line_is_detected(tamper):
    lines = _chain()
    if tamper == "edit":
        lines[1] = lines[1].replace('"rows":1', '"rows":100')
    elif tamper == "delete":
        del lines[1]
    elif tamper == "swap":
        lines[1], lines[2] = lines[2], lines[1]
    elif tamper == "insert":
        lines.insert(2, lines[0])
    else:  # an editor who recomputes the edited line's hash without the key still fails it
        entry = json.loads(lines[1]) | {"rows": 100}
        entry["hash"] = hashlib.sha256(canonical_json({k: v for k, v in entry.items() if k != "hash"}).encode()
                                       ).hexdigest()
        lines[1] = canonical_json(entry)
    check = verify_chain(lines, LEDGER_KEY)
    assert not check.ok and check.problems and REWRITTEN not in check.problems


@pytest.mark.parametrize("how", ["another key", "plain sha256"])
def test_a_chain_rewritten_with_recomputed_hashes_is_reported_as_a_rewrite(how):
    lines = [line.replace('"rows":1', '"rows":100') for line in _chain()]
    if how == "another key":
        rewritten = _rewrite(lines, _other_key_hash)
    else:
        rewritten = _rewrite(lines, lambda body: hashlib.sha256(canonical_json(body).encode()).hexdigest())
    assert verify_chain(rewritten, OTHER_KEY if how == "another key" else LEDGER_KEY).ok == (how == "another key")
    check = verify_chain(rewritten, LEDGER_KEY)
    assert not check.ok and check.problems == [REWRITTEN]


def test_chain_entry_refuses_chain_fields():
    with pytest.raises(ValueError):
        chain_entry({"hash": "x"}, GENESIS_HASH, LEDGER_KEY)


def test_an_anchor_edited_or_made_under_another_key_does_not_match():
    check = verify_chain(_chain(), LEDGER_KEY)
    anchor = make_anchor("audit", check, "2026-01-01T00:00:00+00:00", LEDGER_KEY)
    assert anchor_problems("audit", exists=True, check=check, anchor=anchor, where="A", key=LEDGER_KEY) == []
    for bad in (anchor | {"entries": 3}, make_anchor("audit", check, "x", OTHER_KEY), anchor | {"log": "signoffs"}):
        problems = anchor_problems("audit", exists=True, check=check, anchor=bad, where="A", key=LEDGER_KEY)
        assert problems == ["A does not match its keyed MAC (the anchor was edited or made under another key)"]


# --- audit-log verify against each tampering ---------------------------------------------------------


def _verify(project, *args):
    return runner.invoke(app, ["audit-log", "verify", *args, "--params", str(project["params"]),
                               "--root", str(project["root"])])


def _text(result) -> str:
    return " ".join(result.output.split())


@pytest.fixture
def logged(project):
    """The fixture project with three list-issue entries appended (and anchored) through the ledger."""
    paths = project_paths(project["root"])
    for i in range(3):
        append_to_ledger(paths, AUDIT_LOG, _record(i), ledger_key(paths))
    return project | {"paths": paths, "log": paths.audit_log, "anchor": paths.ledger_anchor(AUDIT_LOG)}


def test_intact_logs_verify_and_every_append_is_anchored(logged):
    anchor = json.loads(logged["anchor"].read_text())
    lines = logged["log"].read_text().splitlines()
    assert anchor["entries"] == 3 and anchor["head"] == json.loads(lines[-1])["hash"]
    assert logged["tracking"].ledger_anchor(AUDIT_LOG) == anchor
    result = _verify(logged)
    assert result.exit_code == 0, result.output
    assert "outputs/audit.jsonl: 3 entries, chain and anchors intact" in _text(result)
    assert "ethics/ledger/releases.jsonl: no log yet" in _text(result)
    assert LEDGER_KEY.hex() not in result.output and KEY.hex() not in result.output


def _truncate(logged):
    lines = logged["log"].read_text().splitlines()
    logged["log"].write_text("\n".join(lines[:-1]) + "\n")


def _edit(logged):
    logged["log"].write_text(logged["log"].read_text().replace('"rows":1', '"rows":100'))


def _rewrite_with_another_key(logged):
    lines = _rewrite(logged["log"].read_text().splitlines(), _other_key_hash)
    logged["log"].write_text("\n".join(lines) + "\n")


def _edit_anchor(logged):
    anchor = json.loads(logged["anchor"].read_text())
    logged["anchor"].write_text(json.dumps(anchor | {"entries": 2}))


def _truncate_and_reanchor_file(logged):
    """Truncate, and put back the validly keyed anchor file from when the log held two entries."""
    lines = logged["log"].read_text().splitlines()[:2]
    logged["log"].write_text("\n".join(lines) + "\n")
    older = make_anchor(AUDIT_LOG, verify_chain(lines, LEDGER_KEY), "2026-01-01T00:00:00+00:00", LEDGER_KEY)
    logged["anchor"].write_text(json.dumps(older))


TAMPERINGS = {
    "file deleted": (lambda logged: logged["log"].unlink(),
                     "outputs/audit.jsonl: the log file is missing but the anchor file records 3 entries (deleted)"),
    "last line removed": (_truncate, "outputs/audit.jsonl: 2 entries but the anchor file records 3 "
                                     "(entries removed from the end: truncated)"),
    "a line edited": (_edit, "outputs/audit.jsonl: line 2: content does not match its keyed hash (edited)"),
    "chain rewritten with recomputed hashes": (_rewrite_with_another_key, f"outputs/audit.jsonl: {REWRITTEN}"),
    "anchor file edited": (_edit_anchor, "outputs/audit.jsonl: the anchor file does not match its keyed MAC "
                                         "(the anchor was edited or made under another key)"),
    "anchor file rolled back with the log": (_truncate_and_reanchor_file, "outputs/audit.jsonl: 2 entries but "
                                             "the MLflow anchor records 3 (entries removed from the end: truncated)"),
    "anchor file deleted": (lambda logged: logged["anchor"].unlink(), "outputs/audit.jsonl: the anchor file is "
                            "missing but the log holds 3 entries (not anchored)"),
    "MLflow anchor missing": (lambda logged: logged["tracking"].ledger_anchors.clear(), "outputs/audit.jsonl: the "
                              "MLflow anchor is missing but the log holds 3 entries (not anchored)"),
}


@pytest.mark.parametrize("tampering", list(TAMPERINGS))
def test_verify_fails_naming_the_log_and_the_problem(logged, tampering):
    tamper, message = TAMPERINGS[tampering]
    tamper(logged)
    result = _verify(logged)
    assert result.exit_code == 1, result.output
    assert message in _text(result)
    assert "outputs/audit.jsonl: FAILS verification" in _text(result)
    report = verify_ledger(logged["paths"], AUDIT_LOG, ledger_key(logged["paths"]))
    assert not report.ok


def test_an_unreadable_mlflow_is_a_failure_not_a_skip(logged):
    logged["tracking"].failing.add("ledger_anchor")
    result = _verify(logged, "--log", "audit")
    assert result.exit_code == 1
    assert "cannot read the MLflow anchor of the audit log (TrackingError)" in _text(result)


def test_a_broken_log_takes_no_new_entry(logged):
    _truncate(logged)
    before = logged["log"].read_bytes()
    with pytest.raises(LedgerError, match="truncated"):
        append_to_ledger(logged["paths"], AUDIT_LOG, _record(9), ledger_key(logged["paths"]))
    assert logged["log"].read_bytes() == before


def test_governance_json_pins_the_signoff_log_it_judged(project):
    paths = project_paths(project["root"])
    key = ledger_key(paths)
    for i in range(2):
        append_to_ledger(paths, SIGNOFF_LOG, _record(i), key)
    head = json.loads(paths.signoff_log.read_text().splitlines()[-1])["hash"]
    (paths.model_reports("m1") / "governance.json").write_text(json.dumps({"signoff_log": {"entries": 2,
                                                                                             "head": head}}))
    assert _verify(project, "--log", "signoffs").exit_code == 0
    # someone holding the key rebuilds the log with one sign-off fewer and re-anchors file and MLflow
    paths.signoff_log.unlink()
    paths.ledger_anchor(SIGNOFF_LOG).unlink()
    project["tracking"].ledger_anchors.clear()
    append_to_ledger(paths, SIGNOFF_LOG, _record(0), key)
    result = _verify(project, "--log", "signoffs")
    assert result.exit_code == 1
    assert "ethics/ledger/signoffs.jsonl: 1 entries but m1/governance.json recorded 2 (entries removed: truncated)" in \
        _text(result)


# --- the ledger key ----------------------------------------------------------------------------------


def test_no_ledger_key_is_a_clear_error_and_nothing_is_written(project):
    (project["root"] / ".secrets/ledger.key").unlink()
    result = _verify(project)
    assert result.exit_code == 2 and "no ledger key" in _text(result) and "RISKPIPE_LEDGER_KEY" in _text(result)
    score = runner.invoke(app, ["score", "--model", "m1", "--params", str(project["params"]),
                                "--root", str(project["root"])])
    assert score.exit_code == 1 and "no ledger key" in _text(score)
    assert not (project["root"] / "outputs").exists()


def test_the_pseudonymisation_key_is_refused_as_the_ledger_key(project, monkeypatch):
    (project["root"] / ".secrets/ledger.key").write_text(KEY.hex() + "\n")
    result = _verify(project)
    assert result.exit_code == 2
    assert "the ledger key is the pseudonymisation key; the two must be held apart" in _text(result)
    (project["root"] / ".secrets/ledger.key").write_text(LEDGER_KEY.hex() + "\n")
    monkeypatch.setenv("RISKPIPE_LEDGER_KEY", KEY.hex())
    assert _verify(project).exit_code == 2
    assert KEY.hex() not in _verify(project).output


# --- a list file exists only after its log entry is written ------------------------------------------


def _score(project):
    return runner.invoke(app, ["score", "--model", "m1", "--params", str(project["params"]),
                               "--root", str(project["root"])])


def test_an_issued_list_is_logged_with_the_csv_hash_and_anchored(project):
    result = _score(project)
    assert result.exit_code == 0, result.output
    out = project["root"] / "outputs/risk_lists/m1"
    assert sorted(p.name for p in out.iterdir()) == ["risk_list.csv", "risk_list.html", "risk_list.parquet",
                                                     "risk_list.xlsx"]
    assert [p.name for p in out.parent.iterdir()] == ["m1"]  # no staging folder left behind
    entry = json.loads((project["root"] / "outputs/audit.jsonl").read_text().splitlines()[-1])
    assert entry["list_sha256"] == hashlib.sha256((out / "risk_list.csv").read_bytes()).hexdigest()
    assert json.loads((project["root"] / "reports/ledger/audit.anchor.json").read_text())["head"] == entry["hash"]
    assert _verify(project).exit_code == 0


@pytest.mark.parametrize("failure", ["broken log", "MLflow anchor not written"])
def test_a_failed_log_append_leaves_no_list_file(project, failure):
    log = project["root"] / "outputs/audit.jsonl"
    if failure == "broken log":
        log.parent.mkdir(parents=True)
        log.write_text('{"event":"risk_list_issued","hash":"0","prev_hash":"1"}\n')
    else:
        project["tracking"].failing.add("record_ledger_anchor")
    result = _score(project)
    assert result.exit_code == 1, result.output
    assert "no list was issued" in _text(result)
    lists = project["root"] / "outputs/risk_lists"
    assert not lists.exists() or not any(lists.rglob("*")), sorted(lists.rglob("*"))


def test_the_mlflow_anchor_round_trips_through_a_real_sqlite_store(tmp_path):
    from pipeline.core.tracking import ledger_anchor, record_ledger_anchor

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    assert ledger_anchor(AUDIT_LOG, uri) is None
    anchor = make_anchor(AUDIT_LOG, verify_chain(_chain(2), LEDGER_KEY), "2026-01-01T00:00:00+00:00", LEDGER_KEY)
    record_ledger_anchor(AUDIT_LOG, anchor, uri)
    record_ledger_anchor(AUDIT_LOG, anchor | {"entries": 2}, uri)  # a second append moves the tag, not a new one
    assert ledger_anchor(AUDIT_LOG, uri) == anchor and ledger_anchor(SIGNOFF_LOG, uri) is None
