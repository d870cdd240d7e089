"""Hash-chained, append-only logs: ``outputs/audit.jsonl`` (risk lists issued) and the sign-off log.

Each line is one JSON object holding its own fields plus ``prev_hash`` (the previous line's
``hash``; 64 zeros for the first) and ``hash`` = SHA-256 of the canonical JSON (sorted keys, no
spaces) of every other field. Editing, inserting, reordering or deleting any line breaks the chain
at that line. Truncating the *tail* cannot be seen from the file alone, so the latest hash is also
printed and recorded elsewhere (MLflow tags, governance.json) as an anchor.
"""

from __future__ import annotations

import getpass
import hashlib
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pipeline.core.io import append_line_locked

GENESIS_HASH = "0" * 64
CHAIN_FIELDS = ("prev_hash", "hash")


def canonical_json(obj: Any) -> str:
    """Canonical JSON text of ``obj``: sorted keys, compact separators, UTF-8 kept."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def entry_hash(entry: dict[str, Any]) -> str:
    """SHA-256 (hex) of an entry's canonical JSON, ignoring its own ``hash`` field."""
    body = {k: v for k, v in entry.items() if k != "hash"}
    return hashlib.sha256(canonical_json(body).encode("utf-8")).hexdigest()


def chain_entry(record: dict[str, Any], prev_hash: str) -> dict[str, Any]:
    """Return ``record`` linked to ``prev_hash``, with its own ``hash``.

    Raises:
        ValueError: ``record`` already holds ``prev_hash`` or ``hash``.
    """
    clash = [k for k in CHAIN_FIELDS if k in record]
    if clash:
        raise ValueError(f"record must not set chain fields {clash}")
    entry = {**record, "prev_hash": prev_hash}
    entry["hash"] = entry_hash(entry)
    return entry


def last_hash(entries: list[dict[str, Any]]) -> str:
    """The hash a new entry must chain to (the genesis hash for an empty log)."""
    return entries[-1]["hash"] if entries else GENESIS_HASH


@dataclass(frozen=True)
class ChainVerification:
    """Result of :func:`verify_chain`: ``ok`` or the first broken line (1-based) and why."""

    entries: int
    ok: bool
    last_hash: str
    problems: list[str] = field(default_factory=list)


def verify_chain(lines: list[str]) -> ChainVerification:
    """Check every line of a hash-chained JSONL log.

    Args:
        lines: the file's lines (blank lines are problems too: nothing may be edited out).

    Returns:
        Entry count, whether the whole chain holds, the last good hash and one message per
        broken line (line number and reason, never field values).
    """
    prev = GENESIS_HASH
    problems: list[str] = []
    for number, line in enumerate(lines, start=1):
        try:
            entry = json.loads(line)
        except json.JSONDecodeError:
            problems.append(f"line {number}: not valid JSON")
            continue
        if not isinstance(entry, dict) or "hash" not in entry or "prev_hash" not in entry:
            problems.append(f"line {number}: missing chain fields")
            continue
        if entry["prev_hash"] != prev:
            problems.append(f"line {number}: prev_hash does not match the line before (inserted, removed or reordered)")
        if entry_hash(entry) != entry["hash"]:
            problems.append(f"line {number}: content does not match its hash (edited)")
        prev = entry["hash"]
    return ChainVerification(entries=len(lines), ok=not problems, last_hash=prev, problems=problems)


def next_chained_line(lines: list[str], record: dict[str, Any], *, broken_message: str) -> str:
    """The line that appends ``record`` to the chain held in ``lines``.

    Raises:
        ValueError: ``lines`` fail verification (``broken_message`` says what to do about it).
    """
    if not verify_chain(lines).ok:
        raise ValueError(broken_message)
    return canonical_json(chain_entry(record, last_hash(parse_log(lines))))


def append_chained_record(path: Path, record: dict[str, Any], *, broken_message: str) -> dict[str, Any]:
    """Append ``record`` to the hash-chained log at ``path`` under a file lock; return the entry written.

    Raises:
        ValueError: the log fails verification, so nothing was appended (``broken_message`` says why).
    """
    line = append_line_locked(path, lambda lines: next_chained_line(lines, record, broken_message=broken_message))
    return json.loads(line)


def parse_log(lines: list[str]) -> list[dict[str, Any]]:
    """Entries of a log, in order (call :func:`verify_chain` first to trust them)."""
    return [json.loads(line) for line in lines]


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
