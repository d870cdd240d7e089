"""Audit appends from many threads at once (the web app's concurrent requests): none lost, the chain intact."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from ethics.ledger_store import AUDIT_LOG, append_to_ledger, ledger_key, verify_ledger
from pipeline.core.paths import project_paths


def test_concurrent_appends_all_land_in_one_intact_chain(pipeline_project):
    paths = project_paths(pipeline_project["root"])
    key = ledger_key(paths)
    before = verify_ledger(paths, AUDIT_LOG, key).chain.entries

    def append(i: int) -> str:
        return append_to_ledger(paths, AUDIT_LOG, {"event": "web_list_view", "n": i}, key)["hash"]

    with ThreadPoolExecutor(max_workers=8) as pool:
        hashes = list(pool.map(append, range(80)))
    report = verify_ledger(paths, AUDIT_LOG, key)
    assert report.ok, report.problems
    assert report.chain.entries == before + 80
    assert len(set(hashes)) == 80


def test_an_edit_to_an_entry_already_verified_is_still_found(pipeline_project):
    """The process remembers how far each log verified intact; an entry changed after that is found all the same."""
    paths = project_paths(pipeline_project["root"])
    key = ledger_key(paths)
    for i in range(5):
        append_to_ledger(paths, AUDIT_LOG, {"event": "web_person_view", "n": i}, key)
    assert verify_ledger(paths, AUDIT_LOG, key).ok
    log = paths.audit_log
    lines = log.read_text(encoding="utf-8").splitlines()
    original = log.read_text(encoding="utf-8")
    try:
        lines[1] = lines[1].replace('"rows":', '"rows": 1', 1) if '"rows":' in lines[1] else lines[1].replace(
            '"event":"', '"event":"x', 1)
        log.write_text("\n".join(lines) + "\n", encoding="utf-8")
        report = verify_ledger(paths, AUDIT_LOG, key)
        assert not report.ok and any("line 2" in p for p in report.problems)
    finally:
        log.write_text(original, encoding="utf-8")
    assert verify_ledger(paths, AUDIT_LOG, key).ok
