"""Issue 16, keys: weak keys refused wherever they come from; keygen keeps keys out of the data and leaves
folders' permissions alone."""

from __future__ import annotations

import base64
import secrets
import stat

import pytest
from typer.testing import CliRunner

from pipeline.cli import app
from pipeline.privacy.keys import (
    KEY_ENV_VAR,
    LEDGER,
    LEDGER_KEY_ENV_VAR,
    LedgerKeyError,
    PseudonymisationKeyError,
    generate_key,
    load_key,
    weak_key_reason,
)

WEAK = {
    "all zero": bytes(32),
    "one byte repeated": b"\xab" * 32,
    "two-byte pattern": b"\x01\x02" * 16,
    "16-byte pattern twice": bytes(range(16)) * 2,
    "few distinct bytes": bytes([1, 2, 3, 4, 5, 6, 7, 8] * 3 + [9, 10, 11, 12, 13, 14, 15, 1]),
}


@pytest.mark.parametrize("raw", WEAK.values(), ids=WEAK.keys())
def test_weak_key_refused_from_file_env_hex_and_base64(tmp_path, raw):
    path = tmp_path / "k"
    path.write_text(raw.hex() + "\n")
    with pytest.raises(PseudonymisationKeyError, match="too weak") as err:
        load_key(path, env={})
    assert raw.hex() not in str(err.value) and "riskpipe keygen" in str(err.value)
    for text in (raw.hex(), base64.b64encode(raw).decode()):
        with pytest.raises(PseudonymisationKeyError, match=r"\$RISKPIPE_PSEUDO_KEY is too weak"):
            load_key(None, env={KEY_ENV_VAR: text})
    with pytest.raises(LedgerKeyError, match="too weak"):
        load_key(None, env={LEDGER_KEY_ENV_VAR: raw.hex()}, role=LEDGER)


def test_random_keys_are_never_called_weak():
    assert all(weak_key_reason(secrets.token_bytes(32)) is None for _ in range(2000))


def test_generated_key_loads(tmp_path):
    path = tmp_path / "new" / "pseudo.key"
    generate_key(path)
    assert weak_key_reason(bytes(load_key(path, env={}))) is None


def _keygen(root, *args):
    return CliRunner().invoke(app, ["keygen", "--root", str(root), "--params", str(root / "absent.yaml"), *args])


@pytest.mark.parametrize("inside", ["data/raw/pseudo.key", "data/pseudo.key", "reports/pseudo.key",
                                    "outputs/risk_lists/pseudo.key", "data/features/k/pseudo.key"])
def test_keygen_refuses_paths_where_data_travel(tmp_path, inside):
    (tmp_path / "dvc.yaml").write_text("stages:\n  synth:\n    cmd: x\n    outs:\n      - data/raw\n")
    result = _keygen(tmp_path, "--out", str(tmp_path / inside))
    assert result.exit_code == 2, result.output
    assert "Refused" in result.output and "copied with the data" in result.output
    assert not (tmp_path / inside).exists()


def test_keygen_refuses_a_dvc_tracked_folder_outside_data(tmp_path):
    (tmp_path / "dvc.yaml").write_text("stages:\n  s:\n    cmd: x\n    outs:\n      - extracts/${item}\n")
    result = _keygen(tmp_path, "--out", str(tmp_path / "extracts" / "a.key"))
    assert result.exit_code == 2 and "tracked by DVC" in result.output


def test_keygen_never_changes_an_existing_folders_permissions(tmp_path):
    shared = tmp_path / "keys"
    shared.mkdir()
    shared.chmod(0o755)
    result = _keygen(tmp_path, "--out", str(shared / "pseudo.key"))
    assert result.exit_code == 0, result.output
    assert stat.S_IMODE(shared.stat().st_mode) == 0o755  # before issue 16 keygen chmodded it to 0700
    assert stat.S_IMODE((shared / "pseudo.key").stat().st_mode) == 0o600


def test_keygen_makes_a_missing_folder_owner_only(tmp_path):
    result = _keygen(tmp_path, "--out", str(tmp_path / ".secrets" / "pseudo.key"))
    assert result.exit_code == 0, result.output
    assert stat.S_IMODE((tmp_path / ".secrets").stat().st_mode) == 0o700
