"""``python -m pipeline`` run from a project folder other than the code still imports riskpipe's own packages."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]


def test_a_project_folder_with_an_ethics_ledger_does_not_hide_the_ethics_package(tmp_path):
    # `riskpipe train` starts <root>/ethics/ledger/; from that folder Python would read `ethics` as a
    # namespace package of log files (ImportError: cannot import name … from 'ethics.ledger')
    (tmp_path / "ethics" / "ledger").mkdir(parents=True)
    (tmp_path / "ethics" / "ledger" / "signoffs.jsonl").touch()
    shutil.copy(REPO / "params.yaml", tmp_path / "params.yaml")
    done = subprocess.run([sys.executable, "-m", "pipeline", "audit-log", "verify", "--root", str(tmp_path),
                           "--params", str(tmp_path / "params.yaml")], cwd=tmp_path, capture_output=True,
                          text=True, check=False, env={"PATH": "/usr/bin:/bin", "COLUMNS": "200"})
    said = done.stdout + done.stderr
    assert "ImportError" not in said and "Traceback" not in said, said
    assert done.returncode == 2 and "no ledger key" in said  # the command itself ran, and says what is missing
