"""Where lasting person IDs are kept between ``riskpipe link`` runs (the IO of :mod:`pipeline.linkage.persistent_ids`).

``data/person_ids/`` lies outside ``data/linked/`` on purpose: DVC deletes a stage's outputs before it
runs it, so anything kept under data/linked/ would be gone when the next link run needs it. It holds

* ``last_assignment.parquet``: ``table``, ``record_key_tok``, ``person_id`` of the last run (the IDs to carry);
* ``person_id_log.jsonl``: one line per run, appended, never rewritten: ``date``, ``event``, ``index_digest``,
  ``previous_index_digest``, ``key_id`` (the pseudonymisation key's fingerprint, never the key), ``people``,
  ``kept``, ``new``, ``highest_id``, ``successors`` (old ID -> new IDs), ``splits``, ``merges``, ``gone``.

Both hold pseudonymous IDs and tokens only, at the same tier as the person index.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pandas as pd

from pipeline.core.io import append_line_locked, read_json, read_lines, read_parquet, write_parquet
from pipeline.core.paths import ProjectPaths
from pipeline.linkage.persistent_ids import KEYS, PersonIdLogError, carry_person_ids, person_index_digest

FOLDER = "person_ids"
LOG_FILE = "person_id_log.jsonl"
ASSIGNMENT_FILE = "last_assignment.parquet"


def id_log_path(paths: ProjectPaths):
    """``data/person_ids/person_id_log.jsonl``."""
    return paths.data / FOLDER / LOG_FILE


def assignment_path(paths: ProjectPaths):
    """``data/person_ids/last_assignment.parquet``."""
    return paths.data / FOLDER / ASSIGNMENT_FILE


def read_id_log(paths: ProjectPaths) -> list[dict[str, Any]]:
    """The ID log's entries, oldest first ([] when there is none).

    Raises:
        PersonIdLogError: a line is not a JSON object (names the file and line).
    """
    entries = []
    for number, line in enumerate(read_lines(id_log_path(paths)), start=1):
        try:
            entry = json.loads(line)
        except json.JSONDecodeError:
            entry = None
        if not isinstance(entry, dict):
            raise PersonIdLogError(f"{id_log_path(paths)} line {number} is not a JSON object; the ID log is damaged")
        entries.append(entry)
    return entries


def current_key_id(paths: ProjectPaths) -> str | None:
    """The fingerprint of the key data/pseudo was made with (``data/pseudo_key.json``), or None where unrecorded."""
    return read_json(paths.pseudo_key_record).get("key_id") if paths.pseudo_key_record.exists() else None


def read_previous_assignment(paths: ProjectPaths, log: list[dict[str, Any]]) -> tuple[pd.DataFrame | None, dict]:
    """The last run's assignment and its log entry (``{}`` when the log does not name it).

    Raises:
        PersonIdLogError: the assignment exists but no run in the log made it (edited or restored by hand).
    """
    path = assignment_path(paths)
    if not path.exists():
        return None, {}
    previous = read_parquet(path, columns=[*KEYS, "person_id"])
    digest = person_index_digest(previous)
    entry = next((e for e in reversed(log) if e.get("index_digest") == digest), None)
    if entry is None and log:
        raise PersonIdLogError(f"{path} was made by no run in {id_log_path(paths)}: restore the two together "
                               "(IDs cannot be carried safely from an assignment the log does not know)")
    return previous, entry or {}


def assign_lasting_ids(fresh: pd.DataFrame, paths: ProjectPaths) -> tuple[pd.DataFrame, dict[str, Any]]:
    """This run's index with the IDs carried from the last run, and the log entry to append once it is written.

    Raises:
        PersonIdLogError: the ID log or the last assignment is damaged or inconsistent.
    """
    log = read_id_log(paths)
    previous, previous_entry = read_previous_assignment(paths, log)
    key_id, before = current_key_id(paths), previous_entry.get("key_id")
    rekeyed = previous is not None and key_id is not None and before is not None and key_id != before
    highest = max((int(e.get("highest_id", 0)) for e in log), default=0)
    index, change = carry_person_ids(fresh, previous, highest_issued=highest, rekeyed=rekeyed)
    entry = {"date": datetime.now(UTC).isoformat(timespec="seconds"), "event": change["event"],
             "index_digest": person_index_digest(index),
             # the entry the previous assignment was found by holds its digest (read_previous_assignment)
             "previous_index_digest": (previous_entry.get("index_digest") or person_index_digest(previous))
             if previous is not None else None,
             "key_id": key_id, **{k: v for k, v in change.items() if k != "event"}}
    return index, entry


def record_person_ids(paths: ProjectPaths, index: pd.DataFrame, entry: dict[str, Any]) -> None:
    """Append the run's entry to the ID log, then keep its assignment for the next run.

    The log line is written first: were the run stopped between the two, the next run carries IDs from
    the older assignment, which the log still names, and the log's ``highest_id`` keeps every ID issued
    unused.
    """
    append_line_locked(id_log_path(paths), lambda _lines: json.dumps(entry, sort_keys=True))
    write_parquet(index[[*KEYS, "person_id"]].reset_index(drop=True), assignment_path(paths))


def summarise_change(entry: dict[str, Any]) -> dict[str, Any]:
    """The log entry without the per-ID lists, for reports/linkage.json."""
    return {"event": entry["event"], "people": entry["people"], "kept": entry["kept"], "new": entry["new"],
            "splits": len(entry["splits"]), "merges": len(entry["merges"]), "gone": len(entry["gone"]),
            "index_digest": entry["index_digest"]}
