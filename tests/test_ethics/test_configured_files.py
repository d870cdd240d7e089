"""A governance file params.yaml names but that does not exist is a clear configuration error, never a traceback."""

from __future__ import annotations

import pytest

from tests.test_ethics.test_release_path import _run, _said


@pytest.mark.parametrize("key, command", [("thresholds_file", "govern"), ("checklist_file", "govern"),
                                          ("contexts_dir", "card")])
def test_a_missing_configured_ethics_file_names_the_params_key(project, key, command):
    params = project["params"]
    params.write_text(params.read_text().replace(f"{key}: ethics/", f"{key}: ethics/nosuch_"))
    result = _run(project, command, "--model", "m1")
    assert result.exit_code == 2, result.output
    said = _said(result)
    assert f"Configuration error: govern.{key} in params.yaml names ethics/nosuch_" in said
    assert "Traceback" not in result.output
