"""The two secret keys: made once by ``riskpipe keygen``, loaded by the stages that need them.

* the **pseudonymisation key** turns identifiers into tokens (``RISKPIPE_PSEUDO_KEY`` or
  ``pseudonymise.key_file``);
* the **ledger key** keys the HMAC chains of the sign-off and list-issue logs
  (``RISKPIPE_LEDGER_KEY`` or ``.secrets/ledger.key``, made by ``riskpipe keygen --ledger``). It is held
  apart from the pseudonymisation key: whoever may make tokens must not thereby be able to rewrite the
  record of who approved what, so the same bytes in both roles are refused.

A key is 32 random bytes (256 bits) stored as 64 lowercase hex characters plus a newline, in a file
readable by its owner only (0600, in a 0700 folder). The environment variable overrides the file so a
council can hold the key in a secrets manager instead. Either source may be hex or base64 (standard or
URL-safe); it must decode to at least 32 bytes, and it must look random: a key with fewer than
:data:`MIN_DISTINCT_BYTES` distinct byte values (all zeros, one byte repeated, a short pattern repeated)
is refused wherever it comes from, because tokens made with it could be recomputed by anyone who
guesses it. Thirty-two random bytes hold about 30 distinct values; fewer than 16 happens by chance
less than once in 10^20 keys, so no real key is ever refused.

A key value never appears in logs, exceptions, reprs or reports: it travels as a :class:`SecretKey`
(:class:`PseudonymisationKey` or :class:`LedgerKey`), a ``bytes`` whose ``repr``/``str`` hide it, and error
messages name only where the key was looked for. :attr:`SecretKey.key_id` is a one-way fingerprint safe to
record in reports, so a reader can tell whether two outputs were made with the same key.
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
from dataclasses import dataclass
from pathlib import Path

from pipeline.core.io import write_bytes

log = logging.getLogger(__name__)

KEY_ENV_VAR = "RISKPIPE_PSEUDO_KEY"
LEDGER_KEY_ENV_VAR = "RISKPIPE_LEDGER_KEY"
KEY_BYTES = 32
MIN_DISTINCT_BYTES = 16
_HEX = re.compile(r"[0-9a-fA-F]+")
_KEY_ID_MESSAGE = b"riskpipe/v1/key-id\x00"
_URLSAFE = str.maketrans("-_", "+/")


class SecretKeyError(KeyError):
    """No usable key. The message says where it was looked for, never its value."""

    def __str__(self) -> str:  # KeyError would repr() the message, quoting it
        return str(self.args[0]) if self.args else "key unavailable"


class PseudonymisationKeyError(SecretKeyError):
    """No usable pseudonymisation key."""


class LedgerKeyError(SecretKeyError):
    """No usable ledger key, or the same bytes as the pseudonymisation key."""


class SecretKey(bytes):
    """Key bytes that refuse to show themselves in ``repr``, ``str`` or f-strings."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}(<hidden>, key_id={self.key_id})"

    __str__ = __repr__

    def __format__(self, spec: str) -> str:
        return repr(self)

    @property
    def key_id(self) -> str:
        """A 12-hex-character fingerprint of the key (HMAC of a constant): safe to log and report."""
        return hmac.new(bytes(self), _KEY_ID_MESSAGE, hashlib.sha256).hexdigest()[:12]


class PseudonymisationKey(SecretKey):
    """The key tokens are made with."""


class LedgerKey(SecretKey):
    """The key the hash-chained logs are made with."""


def weak_key_reason(raw: bytes) -> str | None:
    """Why ``raw`` is too weak to be a key (all one byte, a repeated short pattern, few distinct bytes), or None.

    The reason describes the key's shape only, never a byte of it.
    """
    distinct = len(set(raw))
    if distinct <= 1:
        return "every byte is the same (an all-zero or filler key)"
    for period in range(1, len(raw) // 2 + 1):
        if len(raw) % period == 0 and raw == raw[:period] * (len(raw) // period):
            return f"it is a {period}-byte pattern repeated"
    if distinct < MIN_DISTINCT_BYTES:
        return f"it has only {distinct} distinct byte values (a random key has about 30)"
    return None


@dataclass(frozen=True)
class KeyRole:
    """What a key is for: its name in messages, environment variable, keygen command, type and error."""

    noun: str
    env_var: str
    keygen: str
    key_type: type[SecretKey]
    error: type[SecretKeyError]


PSEUDONYMISATION = KeyRole("pseudonymisation", KEY_ENV_VAR, "riskpipe keygen", PseudonymisationKey,
                           PseudonymisationKeyError)
LEDGER = KeyRole("ledger", LEDGER_KEY_ENV_VAR, "riskpipe keygen --ledger", LedgerKey, LedgerKeyError)


def generate_key(path: Path, *, force: bool = False, role: KeyRole = PSEUDONYMISATION) -> None:
    """Write a new random 256-bit key to ``path`` as hex, owner-only (file 0600).

    A missing folder is made owner-only (0700); an existing folder's permissions are never changed
    (it may be shared on purpose, and a key file is 0600 whatever its folder), only warned about when
    others can list it. Where the key may not lie (inside data/, reports/, outputs/ or a DVC-tracked
    folder) is the caller's to check: :func:`refuse_key_location`.

    Raises:
        FileExistsError: ``path`` exists and ``force`` is false (a lost key makes every token
            already issued unlinkable to new ones, so overwriting must be deliberate).
    """
    path = Path(path)
    if path.exists() and not force:
        raise FileExistsError(f"{path}: a key already exists; pass --force to replace it")
    if path.parent.exists():
        if path.parent.stat().st_mode & 0o077:
            log.warning("%s is open to other users (permissions left as they are); the key file itself is 0600",
                        path.parent)
    else:
        path.parent.mkdir(mode=0o700, parents=True)
    raw = secrets.token_bytes(KEY_BYTES)
    while weak_key_reason(raw):  # never in practice (see the module docstring); kept so no weak key is ever written
        raw = secrets.token_bytes(KEY_BYTES)
    # write_bytes writes through mkstemp (created 0600) and renames, so the key is never world-readable
    write_bytes(raw.hex().encode("ascii") + b"\n", path)
    path.chmod(0o600)
    log.info("Wrote a new %s key to %s (owner-only permissions)", role.noun, path)


def decode_key(text: str, source: str, role: KeyRole = PSEUDONYMISATION) -> SecretKey:
    """Decode a hex or base64 key held as text; ``source`` names where it came from, for errors.

    Returns:
        The key as ``role.key_type`` (:class:`PseudonymisationKey` by default).

    Raises:
        SecretKeyError: ``role.error`` (:class:`PseudonymisationKeyError`, or :class:`LedgerKeyError` for the
            ledger key): not hex/base64, or shorter than 32 bytes.
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
        raise role.error(f"the {role.noun} key in {source} is neither hex nor base64")
    if len(raw) < KEY_BYTES:
        raise role.error(
            f"the {role.noun} key in {source} is {len(raw)} bytes; at least {KEY_BYTES} are required "
            f"(make one with `{role.keygen}`)"
        )
    weak = weak_key_reason(raw)
    if weak:
        raise role.error(f"the {role.noun} key in {source} is too weak: {weak}; make a random one with "
                         f"`{role.keygen}`")
    return role.key_type(raw)


class KeyLocationError(ValueError):
    """A key file would lie where data travel (a DVC-tracked folder, reports, outputs)."""


def refuse_key_location(path: Path, forbidden: Mapping[str, Path]) -> None:
    """Refuse a key path inside any of ``forbidden`` (description -> folder), compared after resolving links.

    Raises:
        KeyLocationError: names the folder and why, never a key.
    """
    where = Path(path).resolve()
    for what, folder in forbidden.items():
        if where.is_relative_to(Path(folder).resolve()):
            raise KeyLocationError(
                f"{path} lies inside {folder} ({what}); a key there would be copied with the data (DVC cache, "
                f"reports, shared outputs). Keep it outside, e.g. .secrets/ (git-ignored)"
            )


def load_key(key_file: Path | None, env: Mapping[str, str] = os.environ, *,
             role: KeyRole = PSEUDONYMISATION) -> SecretKey:
    """Load a key from its environment variable (takes precedence) or from ``key_file``.

    Args:
        key_file: the key file, or None where only the environment may hold the key.
        env: the environment to read ``role.env_var`` from.
        role: which key (:data:`PSEUDONYMISATION`, the default, or :data:`LEDGER`).

    Raises:
        SecretKeyError: ``role.error`` (:class:`PseudonymisationKeyError`, or :class:`LedgerKeyError` for the
            ledger key): neither source holds a key, or the key is invalid or too short.
    """
    if env.get(role.env_var, "").strip():
        log.debug("Using the %s key from $%s", role.noun, role.env_var)
        return decode_key(env[role.env_var], f"${role.env_var}", role)
    if key_file is None:
        raise role.error(f"no {role.noun} key: set ${role.env_var} or make a key file with `{role.keygen}`")
    key_file = Path(key_file)
    try:
        text = key_file.read_text(encoding="ascii")
    except FileNotFoundError:
        raise role.error(
            f"no {role.noun} key: {key_file} does not exist and ${role.env_var} is not set "
            f"(run `{role.keygen} --out {key_file}`)"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise role.error(f"cannot read the {role.noun} key file {key_file} ({type(exc).__name__})") from None
    if key_file.stat().st_mode & 0o077:
        log.warning("Key file %s is readable by others; run `chmod 600 %s`", key_file, key_file)
    key = decode_key(text, str(key_file), role)
    log.debug("Using the %s key from %s (key_id %s)", role.noun, key_file, key.key_id)
    return key


def load_ledger_key(key_file: Path, pseudo_key_file: Path | None, env: Mapping[str, str] = os.environ) -> LedgerKey:
    """Load the ledger key and make sure it is not the pseudonymisation key.

    Args:
        key_file: the ledger key file (``$RISKPIPE_LEDGER_KEY`` takes precedence).
        pseudo_key_file: the pseudonymisation key file to compare against (``$RISKPIPE_PSEUDO_KEY`` takes
            precedence); where no pseudonymisation key is found there is nothing to compare.

    Raises:
        LedgerKeyError: no usable ledger key, or the same bytes as the pseudonymisation key.
    """
    key = load_key(key_file, env, role=LEDGER)
    try:
        pseudo = load_key(pseudo_key_file, env, role=PSEUDONYMISATION)
    except PseudonymisationKeyError:
        pseudo = None
    if pseudo is not None and hmac.compare_digest(bytes(key), bytes(pseudo)):
        raise LedgerKeyError(
            "the ledger key is the pseudonymisation key; the two must be held apart "
            f"(make a ledger key with `{LEDGER.keygen}`)"
        )
    return key  # a LedgerKey already (LEDGER.key_type)
