"""The link command only wires: the stage's errors end it with exit code 2 and a message."""

from __future__ import annotations

from pathlib import Path

import yaml
from typer.testing import CliRunner

from pipeline.cli import app

PARAMS = Path(__file__).resolve().parents[3] / "params.yaml"


def _link(root: Path, params: Path = PARAMS):
    return CliRunner().invoke(app, ["link", "--root", str(root), "--params", str(params)])


def test_link_without_person_tables_exits_2(tmp_path):
    result = _link(tmp_path)
    assert result.exit_code == 2
    assert "Nothing to link" in result.output


def test_link_refuses_a_record_limit_for_an_unknown_source(tmp_path):
    params = yaml.safe_load(PARAMS.read_text(encoding="utf-8"))
    params["link"]["max_records_per_person"] = {"schools": 2}
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params), encoding="utf-8")
    result = _link(tmp_path, tmp_path / "params.yaml")
    assert result.exit_code == 2
    assert "Configuration error" in result.output and "'schools'" in result.output
