"""Keyed hash chains: the sign-off log and the list-issue log, and the anchors that pin their length.

Each line is one JSON object holding its own fields plus ``prev_hash`` (the previous line's ``hash``;
64 zeros for the first) and ``hash`` = HMAC-SHA256, under the **ledger key**, of the canonical JSON
(sorted keys, no spaces) of every other field. Editing, inserting, reordering or deleting any line
breaks the chain at that line, and without the key nobody can recompute the hashes of a rewritten log:
a chain rewritten under another key (or with plain SHA-256) holds together link by link but fails
every keyed hash, and is reported as a rewrite.

Removing lines from the *end* (or the whole file) cannot be seen from the file alone, so after each
append the entry count and head hash are **anchored** outside it (an anchor file under reports/ledger/,
an MLflow tag, and for the sign-off log governance.json). An anchor carries its own keyed MAC, so it
cannot be edited to match a truncated log either. Everything here is pure; the files and MLflow are
read and written by :mod:`ethics.ledger_store`.
"""

from __future__ import annotations

import getpass
import hashlib
import hmac
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

GENESIS_HASH = "0" * 64
CHAIN_FIELDS = ("prev_hash", "hash")
# domain separation: an entry's hash can never be replayed as an anchor's MAC, or the other way round
_ENTRY_DOMAIN = b"riskpipe/v1/ledger-entry\x00"
_ANCHOR_DOMAIN = b"riskpipe/v1/ledger-anchor\x00"
ANCHOR_FIELDS = ("log", "entries", "head", "anchored_at")


def canonical_json(obj: Any) -> str:
    """Canonical JSON text of ``obj``: sorted keys, compact separators, UTF-8 kept."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def _mac(key: bytes, domain: bytes, obj: Any) -> str:
    return hmac.new(bytes(key), domain + canonical_json(obj).encode("utf-8"), hashlib.sha256).hexdigest()


def entry_hash(entry: dict[str, Any], key: bytes) -> str:
    """HMAC-SHA256 (hex) under ``key`` of an entry's canonical JSON, ignoring its own ``hash`` field."""
    return _mac(key, _ENTRY_DOMAIN, {k: v for k, v in entry.items() if k != "hash"})


def chain_entry(record: dict[str, Any], prev_hash: str, key: bytes) -> dict[str, Any]:
    """Return ``record`` linked to ``prev_hash``, with its own keyed ``hash``.

    Raises:
        ValueError: ``record`` already holds ``prev_hash`` or ``hash``.
    """
    clash = [k for k in CHAIN_FIELDS if k in record]
    if clash:
        raise ValueError(f"record must not set chain fields {clash}")
    entry = {**record, "prev_hash": prev_hash}
    entry["hash"] = entry_hash(entry, key)
    return entry


def last_hash(entries: list[dict[str, Any]]) -> str:
    """The hash a new entry must chain to (the genesis hash for an empty log)."""
    return entries[-1]["hash"] if entries else GENESIS_HASH


@dataclass(frozen=True)
class ChainVerification:
    """Result of :func:`verify_chain`: entry count, ``ok``, the head hash and one message per problem."""

    entries: int
    ok: bool
    last_hash: str
    problems: list[str] = field(default_factory=list)


REWRITTEN = ("every entry fails its keyed hash while the links between entries hold: the whole chain was "
             "rewritten with recomputed hashes (or was written under another ledger key)")


def verify_chain(lines: list[str], key: bytes) -> ChainVerification:
    """Check every line of a keyed hash-chained JSONL log.

    Args:
        lines: the file's lines (blank lines are problems too: nothing may be edited out).
        key: the ledger key.

    Returns:
        Entry count, whether the whole chain holds, the head hash and one message per broken line
        (line number and reason, never field values); a chain whose links all hold but whose keyed
        hashes all fail gets the single message :data:`REWRITTEN`.
    """
    prev = GENESIS_HASH
    problems: list[str] = []
    links_hold, hashes_fail = True, True
    for number, line in enumerate(lines, start=1):
        try:
            entry = json.loads(line)
        except json.JSONDecodeError:
            problems.append(f"line {number}: not valid JSON")
            links_hold = hashes_fail = False
            continue
        if not isinstance(entry, dict) or "hash" not in entry or "prev_hash" not in entry:
            problems.append(f"line {number}: missing chain fields")
            links_hold = hashes_fail = False
            continue
        if entry["prev_hash"] != prev:
            links_hold = False
            problems.append(f"line {number}: prev_hash does not match the line before (inserted, removed or reordered)")
        if hmac.compare_digest(entry_hash(entry, key), str(entry["hash"])):
            hashes_fail = False
        else:
            problems.append(f"line {number}: content does not match its keyed hash (edited)")
        prev = entry["hash"]
    if lines and links_hold and hashes_fail:
        problems = [REWRITTEN]
    return ChainVerification(entries=len(lines), ok=not problems, last_hash=prev, problems=problems)


def chained_line(prev_hash: str, record: dict[str, Any], key: bytes) -> str:
    """The line that appends ``record`` to a (verified) chain whose head hash is ``prev_hash``."""
    return canonical_json(chain_entry(record, prev_hash, key))


def parse_log(lines: list[str]) -> list[dict[str, Any]]:
    """Entries of a log, in order (call :func:`verify_chain` first to trust them)."""
    return [json.loads(line) for line in lines]


def make_anchor(log_name: str, check: ChainVerification, anchored_at: str, key: bytes) -> dict[str, Any]:
    """The anchor of a verified log: ``log``, ``entries``, ``head``, ``anchored_at`` and a keyed ``mac``."""
    body = {"log": log_name, "entries": check.entries, "head": check.last_hash, "anchored_at": anchored_at}
    return {**body, "mac": _mac(key, _ANCHOR_DOMAIN, body)}


def anchor_problems(log_name: str, *, exists: bool, check: ChainVerification, anchor: Any, where: str,
                    key: bytes) -> list[str]:
    """What is wrong between a log (as :func:`verify_chain` found it) and one of its anchors.

    Args:
        log_name: the log's name, which the anchor must carry.
        exists: whether the log file exists.
        check: the chain check of the file's lines (no entries for a missing file).
        anchor: the anchor as read (a dict from :func:`make_anchor`), or None where there is none.
        where: the anchor's place, for messages ("the anchor file", "the MLflow anchor" ...).
        key: the ledger key (the anchor's MAC is checked under it).

    Returns:
        One message per problem; none when the anchor matches (or there is no anchor and no entry).
    """
    if anchor is None:
        return [f"{where} is missing but the log holds {check.entries} entries (not anchored)"] if check.entries else []
    if not isinstance(anchor, dict) or any(k not in anchor for k in (*ANCHOR_FIELDS, "mac")):
        return [f"{where} is not an anchor record"]
    body = {k: anchor[k] for k in ANCHOR_FIELDS}
    if not hmac.compare_digest(_mac(key, _ANCHOR_DOMAIN, body), str(anchor["mac"])) or anchor["log"] != log_name:
        return [f"{where} does not match its keyed MAC (the anchor was edited or made under another key)"]
    recorded, head = int(anchor["entries"]), str(anchor["head"])
    if not exists:
        return [f"the log file is missing but {where} records {recorded} entries (deleted)"]
    if check.entries < recorded:
        return [f"{check.entries} entries but {where} records {recorded} (entries removed from the end: truncated)"]
    if check.entries > recorded:
        return [f"{check.entries} entries but {where} records {recorded} (entries added without anchoring)"]
    if check.last_hash != head:
        return [f"the head hash does not match {where} (the chain was replaced)"]
    return []


def prefix_problems(lines: list[str], entries: int, head: str, where: str) -> list[str]:
    """Whether entry ``entries`` of a log still has hash ``head``, as recorded earlier in ``where``.

    A record made at an earlier append (governance.json holds the sign-off log's count and head as the
    gate read it) pins that prefix of the chain: removing or replacing any of it breaks the match.
    """
    if entries == 0:
        return []
    if len(lines) < entries:
        return [f"{len(lines)} entries but {where} recorded {entries} (entries removed: truncated)"]
    try:
        found = json.loads(lines[entries - 1]).get("hash")
    except (json.JSONDecodeError, AttributeError):
        found = None
    return [] if found == head else [f"entry {entries} does not have the head hash {where} recorded (rewritten)"]


def current_user() -> str:
    """The operating-system user running the command (recorded in the audit log)."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry in some containers
        return "unknown"


def utc_now() -> str:
    """Now, UTC, ISO 8601 to the second."""
    return datetime.now(UTC).replace(microsecond=0).isoformat()


def list_issue_record(
    *, model: str, model_version: str, approval: str, list_sha256: str, rows: int, files: list[str], draft: bool
) -> dict[str, Any]:
    """The audit record of one risk list issued (what, when, by whom; no identifiers).

    Returns:
        ``event`` ("risk_list_issued"), ``time``, ``user``, ``model``, ``model_version``,
        ``approval`` (approval reference or "DRAFT"), ``list_sha256``, ``rows``, ``files``, ``draft``.
    """
    return {
        "event": "risk_list_issued", "time": utc_now(), "user": current_user(), "model": model,
        "model_version": model_version, "approval": approval, "list_sha256": list_sha256, "rows": rows,
        "files": files, "draft": draft,
    }
