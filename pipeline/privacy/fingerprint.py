"""Which key made the tokens: a fingerprint recorded by ``pseudonymise`` and checked by every stage reading tokens.

Tokens made with one key never match tokens made with another, and nothing in a token says which key
made it: link with a rotated key and precision is 0; re-identify and "0 of 50 matched". So
``pseudonymise`` records the key's fingerprint (:attr:`SecretKey.key_id`: an HMAC of a fixed label under
the key, 12 hex characters, which reveals nothing about the key) in ``data/pseudo_key.json``, and

* ``link`` copies it into ``data/linked/pseudo_key.json`` (the person index's tokens are data/pseudo's);
* every stage reading tokens (link, features, evaluate, score, reidentify) refuses to run when the
  current key's fingerprint differs from the recorded one, or when the person index was linked from
  tables made under another key, with a message saying what to run.

``data/pseudo_key.json`` is written twice: ``complete: false`` before the first table and ``complete: true``
after the last, so a pseudonymise run that was interrupted half way (old and new tokens side by side) is
refused too. The stage ``key`` in dvc.yaml writes the current key's fingerprint (``data/key_in_use.json``)
on every ``dvc repro``; ``pseudonymise`` depends on it, so a new key re-runs pseudonymise and, through
its outputs, every stage after it. Folders made before fingerprints were recorded have no record: a
warning says so and the key cannot be checked.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from pathlib import Path

from pipeline.core.io import read_json, write_json
from pipeline.core.paths import ProjectPaths
from pipeline.privacy.keys import KEY_ENV_VAR, PseudonymisationKey, PseudonymisationKeyError, load_key

log = logging.getLogger(__name__)

LINKED_RECORD = "pseudo_key.json"  # under data/linked/: the fingerprint of the tables the index was linked from
WHAT = ("fingerprint of the pseudonymisation key (HMAC-SHA256 of a fixed label under the key, first 12 hex "
        "characters); it identifies the key without revealing it")


class KeyFingerprintMismatch(PseudonymisationKeyError):
    """Tokens on disk were made with another key than the current one (or under two keys): the stage stops."""


def key_record(key: bytes, *, complete: bool) -> dict:
    """What ``data/pseudo_key.json`` holds: ``key_id``, ``complete`` and what the fingerprint is; never the key."""
    return {"key_id": PseudonymisationKey(bytes(key)).key_id, "complete": complete, "what": WHAT}


def optional_key(key_file: Path | None, env: Mapping[str, str] = os.environ) -> PseudonymisationKey | None:
    """The current pseudonymisation key where one is configured, else None (a stage that needs no key to run).

    Raises:
        PseudonymisationKeyError: a key is configured but unusable (weak, short, unreadable).
    """
    if not env.get(KEY_ENV_VAR, "").strip() and (key_file is None or not Path(key_file).exists()):
        return None
    return load_key(key_file, env)


def check_key_record(record: Mapping | None, key: bytes | None, *, folder: str) -> None:
    """Compare a recorded fingerprint with the current key (pure).

    Args:
        record: the content of ``data/pseudo_key.json`` (None: no record, only warned about).
        key: the current key, or None where none is configured (then only completeness is checked).
        folder: the tokenised folder named in messages (``data/pseudo``).

    Raises:
        KeyFingerprintMismatch: the run that made ``folder`` did not finish, or the key differs.
    """
    if record is None:
        log.warning("%s has no key fingerprint record (made before riskpipe recorded one): the key cannot be "
                    "checked; run `riskpipe pseudonymise` to record it", folder)
        return
    if not record.get("complete", False):
        raise KeyFingerprintMismatch(
            f"{folder} is incomplete: the pseudonymise run that began writing it (key fingerprint "
            f"{record.get('key_id')}) did not finish; run `dvc repro pseudonymise` (or `riskpipe pseudonymise`)")
    if key is not None:
        current = PseudonymisationKey(bytes(key)).key_id
        if record.get("key_id") != current:
            raise KeyFingerprintMismatch(
                f"{folder} was made with another pseudonymisation key (fingerprint {record.get('key_id')}; the "
                f"current key's is {current}); run `dvc repro pseudonymise` or restore the key")


def _read_record(path: Path) -> dict | None:
    return read_json(path) if path.exists() else None


def verify_pseudo_key(paths: ProjectPaths, key: bytes | None, *, linked: bool = False) -> None:
    """Refuse to read tokens made with another key: ``data/pseudo_key.json`` against ``key`` (and the index).

    Args:
        paths: the project's paths.
        key: the current key (None where none is configured: completeness and the index are still checked).
        linked: also check that data/linked/ was linked from the data/pseudo on disk.

    Raises:
        KeyFingerprintMismatch: a mismatch or an unfinished run, with what to run.
    """
    record = _read_record(paths.pseudo_key_record)
    check_key_record(record, key, folder=str(paths.pseudo))
    if not linked or record is None:
        return
    linked_record = _read_record(paths.linked / LINKED_RECORD)
    if linked_record is None:
        if paths.person_index.exists():
            log.warning("%s has no key fingerprint record: cannot check it was linked from %s", paths.linked,
                        paths.pseudo)
        return
    if linked_record.get("key_id") != record.get("key_id"):
        raise KeyFingerprintMismatch(
            f"{paths.linked} was linked from tables made with another pseudonymisation key (fingerprint "
            f"{linked_record.get('key_id')}; {paths.pseudo} now has {record.get('key_id')}); run `dvc repro link` "
            "(or `riskpipe link`)")


def record_linked_key(paths: ProjectPaths) -> None:
    """Copy data/pseudo's fingerprint beside the person index (the link stage, after writing it)."""
    record = _read_record(paths.pseudo_key_record)
    if record is not None:
        write_json(record, paths.linked / LINKED_RECORD)
