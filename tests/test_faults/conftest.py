"""Small synthetic counties run as commands, with faults planted through params.yaml (``synth.*``).

Each county is built in a temporary folder by the same ``riskpipe`` commands a council runs; a fault goes in
through a surface a council touches (params, a model spec, the raw extracts the synthetic county writes).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[2]

UPSTREAM = (["synth"], ["keygen"], ["ingest"], ["pseudonymise"], ["link"])


def riskpipe(root: Path, *args: str) -> subprocess.CompletedProcess:
    """Run one ``riskpipe`` command on the county at ``root``."""
    return subprocess.run([sys.executable, "-m", "pipeline", *args, "--root", str(root), "--params",
                           str(root / "params.yaml")], cwd=REPO, capture_output=True, text=True, check=False)


def write_params(root: Path, children: int, synth: dict[str, Any]) -> None:
    """params.yaml of the repository with ``synth.children`` and ``synth`` sections merged one level deep."""
    params = yaml.safe_load((REPO / "params.yaml").read_text())
    params["synth"]["children"] = children
    for key, value in synth.items():
        current = params["synth"].get(key)
        params["synth"][key] = {**current, **value} if isinstance(value, dict) and isinstance(current, dict) else value
    (root / "params.yaml").write_text(yaml.safe_dump(params))


def build_county(root: Path, children: int, synth: dict[str, Any], steps: list[list[str]]) -> Path:
    """Write params and run ``steps`` in order; a failing command fails the fixture with its output."""
    root.mkdir(parents=True, exist_ok=True)
    write_params(root, children, synth)
    for step in steps:
        done = riskpipe(root, *step)
        assert done.returncode == 0, f"{step}: {done.stdout[-2000:]}{done.stderr[-2000:]}"
    return root


def read_report(root: Path, *parts: str) -> dict[str, Any]:
    return json.loads((root.joinpath("reports", *parts)).read_text())
