"""The first audit entries of a new project (no ``outputs/audit.jsonl``, no ``mlflow.db``), written concurrently.

A web server's first requests on a fresh installation all append at once: several threads in each of several
worker processes. None may be refused (no race to create MLflow's tables or the ledger experiment, none to
lock a log that does not exist yet), and the chain and both anchors must verify afterwards. The real MLflow
runs here, not the in-memory stand-in, since its table creation is what the workers raced for.
"""

from __future__ import annotations

import multiprocessing
import secrets
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from ethics.ledger_store import AUDIT_LOG, append_to_ledger, ledger_key, verify_ledger
from pipeline.core.paths import project_paths

THREADS, PROCESSES, EACH = 8, 3, 4


@pytest.fixture
def fresh_project(tmp_path, monkeypatch):
    """A project holding only a ledger key: no audit log, no anchors, no mlflow.db."""
    for name in ("RISKPIPE_LEDGER_KEY", "RISKPIPE_PSEUDO_KEY", "MLFLOW_TRACKING_URI"):
        monkeypatch.delenv(name, raising=False)
    (tmp_path / ".secrets").mkdir()
    key_file = tmp_path / ".secrets" / "ledger.key"
    key_file.write_text(secrets.token_hex(32) + "\n")
    key_file.chmod(0o600)
    return tmp_path


def append_entries(root: str, worker: int) -> list[str]:
    """``THREADS`` threads of this process, each appending ``EACH`` entries at once; their hashes."""
    paths = project_paths(Path(root))
    key = ledger_key(paths)

    def append(n: int) -> str:
        return append_to_ledger(paths, AUDIT_LOG, {"event": "web_list_view", "worker": worker, "n": n}, key)["hash"]

    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        return list(pool.map(append, range(THREADS * EACH)))


def test_concurrent_first_entries_from_several_processes_all_land(fresh_project):
    paths = project_paths(fresh_project)
    assert not paths.audit_log.exists() and not (fresh_project / "mlflow.db").exists()
    # fork: the workers start together without re-importing MLflow; none has touched this project's store yet
    with multiprocessing.get_context("fork").Pool(PROCESSES) as pool:
        hashes = [h for worker in pool.starmap(append_entries, [(str(fresh_project), w) for w in range(PROCESSES)])
                  for h in worker]
    report = verify_ledger(paths, AUDIT_LOG, ledger_key(paths))
    assert report.ok, report.problems
    assert report.chain.entries == PROCESSES * THREADS * EACH == len(set(hashes))


def test_concurrent_first_entries_in_one_process_all_land_and_readers_never_see_a_half_append(fresh_project):
    paths = project_paths(fresh_project)
    key = ledger_key(paths)
    reports = []

    def read(_n: int) -> None:
        reports.append(verify_ledger(paths, AUDIT_LOG, key))

    with ThreadPoolExecutor(max_workers=THREADS + 4) as pool:
        readers = [pool.submit(read, n) for n in range(24)]
        hashes = append_entries(str(fresh_project), 0)
        for reader in readers:
            reader.result()
    assert all(r.ok for r in reports), [r.problems for r in reports if not r.ok][:2]
    report = verify_ledger(paths, AUDIT_LOG, key)
    assert report.ok and report.chain.entries == len(set(hashes)) == THREADS * EACH
