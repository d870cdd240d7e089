"""End to end: `dvc repro` runs the pipeline on a small synthetic county from a fresh copy of the repo."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


@pytest.mark.slow
def test_dvc_repro_runs_every_stage_on_a_small_county(tmp_path):
    if shutil.which("git") is None:
        pytest.skip("git is needed for DVC")
    files = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard"], cwd=ROOT,
                           capture_output=True, text=True, check=True).stdout.split()
    work = tmp_path / "repo"
    for rel in files:
        src = ROOT / rel
        if src.is_file():
            (work / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, work / rel)
    params = yaml.safe_load((work / "params.yaml").read_text())
    params["synth"]["children"] = 2500
    (work / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}", "DVC_NO_ANALYTICS": "1",
           "RISKPIPE_PSEUDO_KEY": "ab" * 32}
    for cmd in (["git", "init", "-q"], ["git", "add", "-A"],
                ["git", "-c", "user.email=t@example.org", "-c", "user.name=t", "commit", "-qm", "x"]):
        subprocess.run(cmd, cwd=work, check=True, env=env, capture_output=True)
    if not (work / ".dvc").exists():
        subprocess.run([str(BIN / "dvc"), "init", "-q"], cwd=work, check=True, env=env)
    proc = subprocess.run([str(BIN / "dvc"), "repro"], cwd=work, env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    stages = yaml.safe_load((work / "dvc.yaml").read_text())["stages"]
    assert {"synth", "ingest", "pseudonymise", "link"} <= set(stages)
    assert (work / "data/linked/person_index.parquet").exists()
    assert (work / "reports/ingest.json").exists()
    metrics = subprocess.run([str(BIN / "dvc"), "metrics", "show", "--json"], cwd=work, env=env,
                             capture_output=True, text=True)
    assert metrics.returncode == 0 and "linkage.json" in metrics.stdout
    # privacy: nothing downstream of pseudonymise holds an identifier
    scan = subprocess.run([str(BIN / "riskpipe"), "scan-pii", "data/pseudo", "data/linked"], cwd=work, env=env,
                          capture_output=True, text=True)
    assert scan.returncode == 0, scan.stdout[-2000:]
    raw = subprocess.run([str(BIN / "riskpipe"), "scan-pii", "data/raw"], cwd=work, env=env,
                         capture_output=True, text=True)
    assert raw.returncode != 0
