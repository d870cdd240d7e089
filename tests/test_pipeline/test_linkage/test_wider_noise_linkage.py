"""Linkage on a county with the wider identifier errors switched on (issue #15).

The default county's identifier noise is the pattern riskpipe was tuned on; this county adds swapped
names, missing forenames and postcodes, partial dates of birth, OCR errors, phonetic respellings and
outward-code-only postcodes (``synth.identifier_noise``), so every CI run links an error mix the design
was not built on and holds it to the issue's bar: pairwise precision >= 0.995 and recall >= 0.99.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[3]
KEY = bytes(range(32))
WIDER = {"names_swapped": 0.02, "forename_missing": 0.02, "dob_part_missing": 0.02, "dob_missing": 0.01,
         "ocr_error": 0.02, "phonetic_respelling": 0.03, "postcode_missing": 0.03, "postcode_partial": 0.05}


def _riskpipe(root: Path, env: dict, *args: str) -> None:
    done = subprocess.run([sys.executable, "-m", "pipeline", *args, "--root", str(root), "--params",
                           str(root / "params.yaml")], cwd=REPO, env=env, capture_output=True, text=True)
    assert done.returncode == 0, f"{args}: {done.stdout[-2000:]}{done.stderr[-2000:]}"


@pytest.fixture(scope="module")
def linked(tmp_path_factory):
    root = tmp_path_factory.mktemp("wider_noise")
    params = yaml.safe_load((REPO / "params.yaml").read_text())
    params["synth"]["children"] = 3000
    params["synth"]["identifier_noise"] |= WIDER
    (root / "params.yaml").write_text(yaml.safe_dump(params))
    env = {**os.environ, "RISKPIPE_PSEUDO_KEY": KEY.hex()}
    env.pop("MLFLOW_TRACKING_URI", None)
    for step in ("synth", "ingest", "pseudonymise", "link"):
        _riskpipe(root, env, step)
    return root


def test_the_wider_errors_reach_the_extracts(linked):
    import pandas as pd

    health = pd.read_csv(linked / "data/raw/health/nhs_demographics.csv", dtype=str, keep_default_na=False)
    postcodes = health["Postcode"].str.strip()
    assert (postcodes == "").mean() > 0.01                       # missing postcodes
    assert (postcodes.str.fullmatch(r"[A-Z]{1,2}\d[A-Z\d]?")).mean() > 0.01  # outward code only


def test_linkage_holds_on_the_wider_errors(linked):
    truth = json.loads((linked / "reports/linkage.json").read_text())["truth"]
    assert truth["precision"] >= 0.995 and truth["recall"] >= 0.99, (truth["precision"], truth["recall"])
