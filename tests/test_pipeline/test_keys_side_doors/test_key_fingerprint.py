"""Issue 16, keys: pseudonymise records the key's fingerprint; every stage reading tokens refuses another key's.

Before: rotating the key left `dvc repro` "up to date", `link` made precision 0 and then a traceback after
writing its outputs, and `reidentify` said "0 of 50 matched" with exit 0.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

import pipeline.pseudonymise.stage as pseudo_stage
from pipeline.cli import app
from pipeline.core.io import write_json, write_parquet
from pipeline.core.paths import project_paths
from pipeline.privacy.actions import Privacy
from pipeline.privacy.fingerprint import LINKED_RECORD, KeyFingerprintMismatch, key_record, verify_pseudo_key
from pipeline.privacy.keys import KEY_ENV_VAR, LEDGER_KEY_ENV_VAR, PseudonymisationKey
from pipeline.sources.spec import Column, TableSpec

REPO = Path(__file__).resolve().parents[3]
OLD_KEY, NEW_KEY, LEDGER_KEY = bytes(range(32)), bytes(range(40, 72)), bytes(range(100, 132))
OLD_ID, NEW_ID = PseudonymisationKey(OLD_KEY).key_id, PseudonymisationKey(NEW_KEY).key_id
TABLE = TableSpec(name="kids", source="social_care", description="a tiny person table",
                  columns=(Column("la_child_id", "LAchildID", privacy=Privacy.RECORD_KEY),))


def said(result) -> str:
    return " ".join(result.output.split())


@pytest.fixture
def project(tmp_path, monkeypatch):
    """A project whose data/pseudo was made with OLD_KEY and whose person index was linked from it."""
    shutil.copy(REPO / "params.yaml", tmp_path / "params.yaml")
    paths = project_paths(tmp_path)
    write_json(key_record(OLD_KEY, complete=True), paths.pseudo_key_record)
    write_json(key_record(OLD_KEY, complete=True), paths.linked / LINKED_RECORD)
    monkeypatch.setenv(KEY_ENV_VAR, NEW_KEY.hex())  # the key was rotated since
    monkeypatch.setenv(LEDGER_KEY_ENV_VAR, LEDGER_KEY.hex())
    return tmp_path


def run(root: Path, *args: str):
    return CliRunner().invoke(app, [*args, "--root", str(root), "--params", str(root / "params.yaml")])


def mismatch_message(text: str) -> bool:
    return (f"was made with another pseudonymisation key (fingerprint {OLD_ID}; the current key's is {NEW_ID})"
            in text and "run `dvc repro pseudonymise` or restore the key" in text)


def test_pseudonymise_records_the_fingerprint_never_the_key(tmp_path, monkeypatch):
    monkeypatch.setattr(pseudo_stage, "all_tables", lambda: {"kids": TABLE})
    paths = project_paths(tmp_path)
    write_parquet(pd.DataFrame({"la_child_id": ["A1", "A2"], "_source_file": "f.csv", "_source_row": [1, 2]}),
                  paths.staged_table("kids"))
    pseudo_stage.run_pseudonymise(paths, OLD_KEY, workers=1)
    text = paths.pseudo_key_record.read_text()
    record = json.loads(text)
    assert record["key_id"] == OLD_ID and record["complete"] is True
    assert OLD_KEY.hex() not in text and OLD_KEY.hex()[:12] not in text
    verify_pseudo_key(paths, OLD_KEY)  # the same key passes
    with pytest.raises(KeyFingerprintMismatch):
        verify_pseudo_key(paths, NEW_KEY)


def test_an_interrupted_pseudonymise_is_refused_downstream(tmp_path, monkeypatch):
    monkeypatch.setattr(pseudo_stage, "all_tables", lambda: {"kids": TABLE})
    paths = project_paths(tmp_path)
    write_parquet(pd.DataFrame({"la_child_id": ["A1"], "_source_file": "f.csv", "_source_row": [1]}),
                  paths.staged_table("kids"))

    def killed(*_args, **_kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(pseudo_stage, "_pseudonymise_or_fail", killed)
    with pytest.raises(KeyboardInterrupt):
        pseudo_stage.run_pseudonymise(paths, NEW_KEY, workers=1)
    with pytest.raises(KeyFingerprintMismatch, match="is incomplete: the pseudonymise run .* did not finish"):
        verify_pseudo_key(paths, NEW_KEY)


def test_link_refuses_another_keys_tokens_before_writing_anything(project):
    result = run(project, "link")
    assert result.exit_code == 2, result.output
    assert "Key mismatch, nothing linked" in said(result) and mismatch_message(said(result))
    assert not project_paths(project).person_index.exists()
    assert "Traceback" not in result.output


def test_link_with_the_recording_key_passes_the_check(project, monkeypatch):
    monkeypatch.setenv(KEY_ENV_VAR, OLD_KEY.hex())
    result = run(project, "link")
    assert result.exit_code == 2 and "Nothing to link" in said(result)  # past the key check: no tables here


def test_features_refuses_another_keys_tokens(project):
    result = run(project, "features", "--model", "neet18")
    assert result.exit_code == 2 and mismatch_message(said(result)), result.output
    assert not (project / "data" / "features").exists()


def test_features_refuses_an_index_linked_under_another_key(project, monkeypatch):
    monkeypatch.setenv(KEY_ENV_VAR, OLD_KEY.hex())
    write_json(key_record(NEW_KEY, complete=True), project_paths(project).linked / LINKED_RECORD)
    result = run(project, "features", "--model", "neet18")
    assert result.exit_code == 2, result.output
    assert "was linked from tables made with another pseudonymisation key" in said(result)
    assert "run `dvc repro link`" in said(result)


def test_evaluate_refuses_another_keys_tokens(project):
    result = run(project, "evaluate", "--model", "neet18")
    assert result.exit_code == 2 and mismatch_message(said(result)), result.output


def test_score_issues_no_list_under_another_key(project):
    result = run(project, "score", "--model", "neet18")
    assert result.exit_code == 1 and "No list issued" in said(result) and mismatch_message(said(result)), \
        result.output
    assert not (project / "outputs" / "risk_lists").exists()


def test_reidentify_after_a_key_rotation_is_an_error_not_zero_matches(project, tmp_path_factory):
    outside = tmp_path_factory.mktemp("controller")
    (outside / "list.csv").write_text("person_token,rank\n" + "a" * 32 + ",1\n")
    (outside / "extract.csv").write_text("LAchildID\nLA0000001\n")
    result = CliRunner().invoke(app, [
        "reidentify", "--list", str(outside / "list.csv"), "--extract", str(outside / "extract.csv"),
        "--source", "social_care", "--id-column", "LAchildID", "--out", str(outside / "named.csv"),
        "--root", str(project), "--params", str(project / "params.yaml")])
    assert result.exit_code == 2, result.output
    assert "reidentify stopped" in said(result) and mismatch_message(said(result))
    assert "matched" not in result.output and not (outside / "named.csv").exists()


def test_key_stage_writes_the_same_fingerprint_for_the_same_key_and_a_new_one_for_a_new_key(project, monkeypatch):
    paths = project_paths(project)
    assert run(project, "key-fingerprint").exit_code == 0
    first = paths.key_in_use.read_bytes()
    assert run(project, "key-fingerprint").exit_code == 0
    assert paths.key_in_use.read_bytes() == first  # DVC sees no change: nothing downstream re-runs
    monkeypatch.setenv(KEY_ENV_VAR, OLD_KEY.hex())
    assert run(project, "key-fingerprint").exit_code == 0
    assert paths.key_in_use.read_bytes() != first  # a new key: pseudonymise and everything after it re-run
    assert json.loads(paths.key_in_use.read_text())["key_id"] == OLD_ID
    assert OLD_KEY.hex() not in paths.key_in_use.read_text() and NEW_KEY.hex() not in first.decode()


def test_dvc_yaml_makes_the_fingerprint_a_dependency_of_every_stage_reading_tokens():
    stages = yaml.safe_load((REPO / "dvc.yaml").read_text())["stages"]
    key = stages["key"]
    assert key["always_changed"] is True and "key-fingerprint" in key["cmd"]
    assert "data/key_in_use.json" in [next(iter(o)) if isinstance(o, dict) else o for o in key["outs"]]
    assert "data/key_in_use.json" in stages["pseudonymise"]["deps"]
    assert "data/pseudo_key.json" in [next(iter(o)) if isinstance(o, dict) else o
                                      for o in stages["pseudonymise"]["outs"]]
    for name in ("link", "features", "score"):
        body = stages[name].get("do", stages[name])
        assert "data/pseudo_key.json" in body["deps"], name


def test_a_folder_made_before_fingerprints_is_warned_about_not_refused(tmp_path, caplog):
    verify_pseudo_key(project_paths(tmp_path), NEW_KEY, linked=True)
    assert "no key fingerprint record" in caplog.text
