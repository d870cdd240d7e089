"""The pseudonymisation key: made owner-only, loaded with env precedence, never shown."""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import stat

import pytest
from typer.testing import CliRunner

from pipeline.cli import app
from pipeline.privacy.keys import (
    KEY_ENV_VAR,
    LEDGER,
    LEDGER_KEY_ENV_VAR,
    LedgerKey,
    LedgerKeyError,
    PseudonymisationKey,
    PseudonymisationKeyError,
    generate_key,
    load_key,
    load_ledger_key,
)
from pipeline.privacy.tokens import TokenMaker

FILE_KEY = bytes(range(32))
ENV_KEY = bytes(range(100, 140))


@pytest.fixture
def key_file(tmp_path):
    path = tmp_path / ".secrets" / "pseudo.key"
    generate_key(path)
    return path


def test_generate_key_is_owner_only_hex_256_bits(key_file):
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(key_file.parent.stat().st_mode) == 0o700
    text = key_file.read_text().strip()
    assert len(text) == 64 and int(text, 16) >= 0
    assert bytes(load_key(key_file, env={})) == bytes.fromhex(text)


def test_generate_key_refuses_to_overwrite_unless_forced(key_file):
    before = key_file.read_bytes()
    with pytest.raises(FileExistsError):
        generate_key(key_file)
    assert key_file.read_bytes() == before
    generate_key(key_file, force=True)
    assert key_file.read_bytes() != before
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600


def test_env_key_takes_precedence_over_file(tmp_path):
    path = tmp_path / "k"
    path.write_text(FILE_KEY.hex())
    assert bytes(load_key(path, env={})) == FILE_KEY
    assert bytes(load_key(path, env={KEY_ENV_VAR: ENV_KEY.hex()})) == ENV_KEY
    assert bytes(load_key(None, env={KEY_ENV_VAR: base64.b64encode(ENV_KEY).decode()})) == ENV_KEY
    assert bytes(load_key(None, env={KEY_ENV_VAR: base64.urlsafe_b64encode(ENV_KEY).decode()})) == ENV_KEY


@pytest.mark.parametrize("text", [bytes(16).hex(), base64.b64encode(bytes(31)).decode(), "not a key!", ""])
def test_short_or_malformed_key_is_rejected(tmp_path, text):
    path = tmp_path / "k"
    path.write_text(text)
    with pytest.raises(PseudonymisationKeyError):
        load_key(path, env={})
    if text:
        with pytest.raises(PseudonymisationKeyError):
            load_key(None, env={KEY_ENV_VAR: text})


def test_missing_key_error_says_where_to_look(tmp_path):
    with pytest.raises(PseudonymisationKeyError) as err:
        load_key(tmp_path / "absent.key", env={})
    assert "absent.key" in str(err.value) and KEY_ENV_VAR in str(err.value)
    with pytest.raises(PseudonymisationKeyError):
        load_key(None, env={})


def test_key_never_shown_in_repr_str_format_or_errors(tmp_path, caplog):
    key = load_key(None, env={KEY_ENV_VAR: ENV_KEY.hex()})
    secrets_shown = (ENV_KEY.hex(), repr(ENV_KEY), base64.b64encode(ENV_KEY).decode())
    caplog.set_level(logging.DEBUG)
    logging.getLogger("test").info("key %s %r", key, key)
    texts = [repr(key), str(key), f"{key}", f"{key!r}", repr([key]), caplog.text]
    short = bytes(range(20)).hex()
    with pytest.raises(PseudonymisationKeyError) as err:
        load_key(None, env={KEY_ENV_VAR: short})
    texts += [str(err.value), repr(err.value)]
    for text in texts:
        for secret in (*secrets_shown, short):
            assert secret not in text
    assert "hidden" in repr(key)


def test_key_id_is_stable_and_reveals_nothing():
    a, b = PseudonymisationKey(FILE_KEY), PseudonymisationKey(ENV_KEY)
    assert a.key_id == PseudonymisationKey(FILE_KEY).key_id != b.key_id
    assert a.key_id not in FILE_KEY.hex()


def test_cli_keygen_writes_key_and_refuses_overwrite(tmp_path):
    out = tmp_path / ".secrets" / "pseudo.key"
    runner = CliRunner()
    first = runner.invoke(app, ["keygen", "--out", str(out)])
    assert first.exit_code == 0, first.output
    key_hex = out.read_text().strip()
    assert key_hex not in first.output
    again = runner.invoke(app, ["keygen", "--out", str(out)])
    assert again.exit_code == 1
    assert out.read_text().strip() == key_hex
    forced = runner.invoke(app, ["keygen", "--out", str(out), "--force"])
    assert forced.exit_code == 0 and out.read_text().strip() != key_hex


# --- the ledger key: the same functions, another role, never the pseudonymisation key's bytes ---------


def test_ledger_key_loads_from_its_own_file_or_variable_and_hides_itself(tmp_path):
    ledger_file, pseudo_file = tmp_path / "ledger.key", tmp_path / "pseudo.key"
    generate_key(ledger_file, role=LEDGER)
    generate_key(pseudo_file)
    assert stat.S_IMODE(ledger_file.stat().st_mode) == 0o600
    key = load_ledger_key(ledger_file, pseudo_file, env={})
    assert isinstance(key, LedgerKey) and bytes(key) == bytes.fromhex(ledger_file.read_text().strip())
    assert ledger_file.read_text().strip() not in repr(key) + str(key) + f"{key}" and "hidden" in repr(key)
    assert bytes(load_ledger_key(ledger_file, pseudo_file, env={LEDGER_KEY_ENV_VAR: ENV_KEY.hex()})) == ENV_KEY
    # the pseudonymisation variable never stands in for the ledger key
    with pytest.raises(LedgerKeyError) as err:
        load_ledger_key(tmp_path / "absent.key", None, env={KEY_ENV_VAR: ENV_KEY.hex()})
    assert LEDGER_KEY_ENV_VAR in str(err.value) and "keygen --ledger" in str(err.value)


def test_the_same_bytes_in_both_roles_are_refused(tmp_path):
    pseudo_file = tmp_path / "pseudo.key"
    pseudo_file.write_text(FILE_KEY.hex())
    same = tmp_path / "ledger.key"
    same.write_text(base64.b64encode(FILE_KEY).decode())  # the same bytes, however written
    for env, ledger_file in (({}, same), ({LEDGER_KEY_ENV_VAR: FILE_KEY.hex()}, tmp_path / "none"),
                             ({LEDGER_KEY_ENV_VAR: ENV_KEY.hex(), KEY_ENV_VAR: ENV_KEY.hex()}, same)):
        with pytest.raises(LedgerKeyError, match="the two must be held apart") as err:
            load_ledger_key(ledger_file, pseudo_file, env=env)
        assert FILE_KEY.hex() not in str(err.value) and ENV_KEY.hex() not in str(err.value)


def test_cli_keygen_ledger_writes_its_own_file_and_never_over_the_pseudonymisation_key(tmp_path):
    runner = CliRunner()
    pseudo = runner.invoke(app, ["keygen", "--root", str(tmp_path), "--params", str(tmp_path / "none.yaml")])
    assert pseudo.exit_code == 0, pseudo.output
    ledger = runner.invoke(app, ["keygen", "--ledger", "--root", str(tmp_path), "--params", str(tmp_path / "x")])
    assert ledger.exit_code == 0, ledger.output
    pseudo_file, ledger_file = tmp_path / ".secrets/pseudo.key", tmp_path / ".secrets/ledger.key"
    assert pseudo_file.read_text() != ledger_file.read_text()
    assert stat.S_IMODE(ledger_file.stat().st_mode) == 0o600 and ledger_file.read_text().strip() not in ledger.output
    before = pseudo_file.read_text()
    over = runner.invoke(app, ["keygen", "--ledger", "--force", "--out", str(pseudo_file), "--root", str(tmp_path),
                               "--params", str(tmp_path / "x")])
    assert over.exit_code == 1 and "held apart" in over.output and pseudo_file.read_text() == before
    back = runner.invoke(app, ["keygen", "--force", "--out", str(ledger_file), "--root", str(tmp_path),
                               "--params", str(tmp_path / "x")])
    assert back.exit_code == 1


# --- TokenMaker: the same tokens as the standard library's HMAC, however they are asked for ---------


@pytest.mark.parametrize("key", [bytes(range(32)), bytes(range(64)), bytes(range(100)), b"k" * 40])
def test_token_maker_agrees_with_hmac(key):
    values = ["B801200005001", "Zoë", "", "obrien smith", "2012-03-07"]
    expected = [
        hmac.new(key, b"riskpipe/v1/upn\x00" + v.encode("utf-8"), hashlib.sha256).hexdigest()[:32] for v in values
    ]
    assert list(TokenMaker(key).tokens(values, "upn")) == expected
    assert list(TokenMaker(key, remember=True).tokens(values, "upn")) == expected


def test_token_maker_remembers_per_domain_and_keeps_order():
    key = bytes(range(32))
    plain, remembering = TokenMaker(key), TokenMaker(key, remember=True)
    first, second = ["a", "b", "c"], ["c", "d", "a", "e"]
    assert list(remembering.tokens(first, "name")) == list(plain.tokens(first, "name"))
    assert list(remembering.tokens(second, "name")) == list(plain.tokens(second, "name"))
    # the same value in another domain is another token, not a remembered one
    assert list(remembering.tokens(second, "upn")) == list(plain.tokens(second, "upn"))
    assert remembering.tokens(["a"], "upn")[0] != remembering.tokens(["a"], "name")[0]


def test_token_maker_hides_the_key():
    key = bytes(range(32))
    shown = repr(TokenMaker(key)) + str(TokenMaker(key, remember=True))
    assert key.hex() not in shown and "hidden" in shown
