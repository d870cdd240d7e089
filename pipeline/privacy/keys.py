"""The pseudonymisation key: made once by ``riskpipe keygen``, loaded by every stage that makes tokens.

A key is 32 random bytes (256 bits) stored as 64 lowercase hex characters plus a newline, in a file
readable by its owner only (0600, in a 0700 folder). ``RISKPIPE_PSEUDO_KEY`` overrides the file so a
council can hold the key in a secrets manager instead. Either source may be hex or base64 (standard or
URL-safe); it must decode to at least 32 bytes.

The key value never appears in logs, exceptions, reprs or reports: it travels as
:class:`PseudonymisationKey`, a ``bytes`` whose ``repr``/``str`` hide it, and error messages name only
where the key was looked for. :attr:`PseudonymisationKey.key_id` is a one-way fingerprint safe to
record in reports, so a reader can tell whether two outputs were made with the same key.

:class:`TokenMaker` turns values into tokens under a key: HMAC-SHA256 over
``b"riskpipe/v1/<domain>\\x00" + value``, lowercase hex cut to 32 characters.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import logging
import os
import re
import secrets
from collections.abc import Mapping
from pathlib import Path

from pipeline.core.io import write_bytes

log = logging.getLogger(__name__)

KEY_ENV_VAR = "RISKPIPE_PSEUDO_KEY"
KEY_BYTES = 32
_HEX = re.compile(r"[0-9a-fA-F]+")
_KEY_ID_MESSAGE = b"riskpipe/v1/key-id\x00"
_URLSAFE = str.maketrans("-_", "+/")


class PseudonymisationKeyError(KeyError):
    """No usable pseudonymisation key. The message says where it was looked for, never its value."""

    def __str__(self) -> str:  # KeyError would repr() the message, quoting it
        return str(self.args[0]) if self.args else "pseudonymisation key unavailable"


class PseudonymisationKey(bytes):
    """Key bytes that refuse to show themselves in ``repr``, ``str`` or f-strings."""

    def __repr__(self) -> str:
        return f"PseudonymisationKey(<hidden>, key_id={self.key_id})"

    __str__ = __repr__

    def __format__(self, spec: str) -> str:
        return repr(self)

    @property
    def key_id(self) -> str:
        """A 12-hex-character fingerprint of the key (HMAC of a constant): safe to log and report."""
        return hmac.new(bytes(self), _KEY_ID_MESSAGE, hashlib.sha256).hexdigest()[:12]


def generate_key(path: Path, *, force: bool = False) -> None:
    """Write a new random 256-bit key to ``path`` as hex, owner-only (file 0600, folder 0700).

    Raises:
        FileExistsError: ``path`` exists and ``force`` is false (a lost key makes every token
            already issued unlinkable to new ones, so overwriting must be deliberate).
    """
    path = Path(path)
    if path.exists() and not force:
        raise FileExistsError(f"{path}: a key already exists; pass --force to replace it")
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    path.parent.chmod(0o700)
    # write_bytes writes through mkstemp (created 0600) and renames, so the key is never world-readable
    write_bytes(secrets.token_bytes(KEY_BYTES).hex().encode("ascii") + b"\n", path)
    path.chmod(0o600)
    log.info("Wrote a new pseudonymisation key to %s (owner-only permissions)", path)


def decode_key(text: str, source: str) -> PseudonymisationKey:
    """Decode a hex or base64 key held as text; ``source`` names where it came from, for errors.

    Raises:
        PseudonymisationKeyError: not hex/base64, or shorter than 32 bytes.
    """
    text = text.strip()
    raw: bytes | None = None
    if len(text) % 2 == 0 and _HEX.fullmatch(text):
        raw = bytes.fromhex(text)
    else:
        try:  # standard or URL-safe alphabet, strictly validated
            raw = base64.b64decode(text.translate(_URLSAFE).encode("ascii"), validate=True)
        except (binascii.Error, ValueError, UnicodeEncodeError):
            raw = None
    if raw is None:
        raise PseudonymisationKeyError(f"the key in {source} is neither hex nor base64")
    if len(raw) < KEY_BYTES:
        raise PseudonymisationKeyError(
            f"the key in {source} is {len(raw)} bytes; at least {KEY_BYTES} are required "
            "(make one with `riskpipe keygen`)"
        )
    return PseudonymisationKey(raw)


def load_key(key_file: Path | None, env: Mapping[str, str] = os.environ) -> PseudonymisationKey:
    """Load the key from ``RISKPIPE_PSEUDO_KEY`` (takes precedence) or from ``key_file``.

    Raises:
        PseudonymisationKeyError: neither source holds a key, or the key is invalid or too short.
    """
    if env.get(KEY_ENV_VAR, "").strip():
        log.debug("Using the pseudonymisation key from $%s", KEY_ENV_VAR)
        return decode_key(env[KEY_ENV_VAR], f"${KEY_ENV_VAR}")
    if key_file is None:
        raise PseudonymisationKeyError(
            f"no pseudonymisation key: set ${KEY_ENV_VAR} or pseudonymise.key_file in params"
        )
    key_file = Path(key_file)
    try:
        text = key_file.read_text(encoding="ascii")
    except FileNotFoundError:
        raise PseudonymisationKeyError(
            f"no pseudonymisation key: {key_file} does not exist and ${KEY_ENV_VAR} is not set "
            f"(run `riskpipe keygen --out {key_file}`)"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        problem = f"cannot read the key file {key_file} ({type(exc).__name__})"
        raise PseudonymisationKeyError(problem) from None
    if key_file.stat().st_mode & 0o077:
        log.warning("Key file %s is readable by others; run `chmod 600 %s`", key_file, key_file)
    key = decode_key(text, str(key_file))
    log.debug("Using the pseudonymisation key from %s (key_id %s)", key_file, key.key_id)
    return key
