"""The IO of the ledger: the keyed logs, their anchor files and MLflow anchors, at fixed places.

``signoffs`` is ``ethics/ledger/signoffs.jsonl`` (human sign-offs), ``audit`` is ``outputs/audit.jsonl``
(risk lists issued), ``preregistration`` and ``releases`` lie beside the sign-offs (:func:`ledger_path`);
all are chained under the ledger key (:func:`pipeline.privacy.keys.load_ledger_key`) and anchored, after
every append, in ``reports/ledger/<log>.anchor.json`` and as a tag of the MLflow experiment
``riskpipe-ledger``. The locations are fixed (:func:`ledger_path`), never parameters. Any failure here
raises :class:`LedgerError`: on the release path it is an error, never a warning. The chain and anchor
logic itself is pure, in :mod:`ethics.ledger`.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ethics.ledger import (
    ChainVerification,
    anchor_problems,
    chained_line,
    entry_hash,
    make_anchor,
    parse_log,
    prefix_problems,
    utc_now,
    verify_chain,
)
from ethics.ledger_locks import exclusive_lock, ledger_lock, reading_lock
from pipeline.core.io import append_line_locked, read_lines, write_json
from pipeline.core.paths import ProjectPaths
from pipeline.privacy.keys import LedgerKey, LedgerKeyError, load_ledger_key

SIGNOFF_LOG = "signoffs"
AUDIT_LOG = "audit"
PREREGISTRATION_LOG = "preregistration"
RELEASE_LOG = "releases"
LEDGER_LOGS = (AUDIT_LOG, SIGNOFF_LOG, PREREGISTRATION_LOG, RELEASE_LOG)


class LedgerError(RuntimeError):
    """The ledger cannot be read or written as it must be (no key, a broken chain, an anchor that disagrees)."""


def ledger_path(paths: ProjectPaths, log_name: str) -> Path:
    """Where log ``log_name`` lies: fixed places, never parameters.

    ``preregistration`` (``ethics/ledger/preregistration.jsonl``: each model's thresholds and checklist, registered
    before its first evaluation) and ``releases`` (``ethics/ledger/releases.jsonl``: every release the gate judged,
    :mod:`ethics.release`) lie beside the sign-off log, in ``ethics/ledger/`` (git-ignored: see its README).
    """
    return {SIGNOFF_LOG: paths.signoff_log, AUDIT_LOG: paths.audit_log,
            PREREGISTRATION_LOG: paths.root / "ethics" / "ledger" / "preregistration.jsonl",
            RELEASE_LOG: paths.root / "ethics" / "ledger" / "releases.jsonl"}[log_name]


def ledger_key(paths: ProjectPaths, pseudo_key_file: Path | None = None) -> LedgerKey:
    """The ledger key ($RISKPIPE_LEDGER_KEY or ``.secrets/ledger.key``), refused if it is the pseudonymisation key.

    Args:
        pseudo_key_file: the configured pseudonymisation key file to compare against; None = the default
            ``.secrets/pseudo.key`` ($RISKPIPE_PSEUDO_KEY takes precedence either way).

    Raises:
        LedgerError: no usable ledger key, or the same bytes as the pseudonymisation key.
    """
    try:
        return load_ledger_key(paths.ledger_key, pseudo_key_file or paths.secrets / "pseudo.key")
    except LedgerKeyError as exc:
        raise LedgerError(str(exc)) from None


def read_anchor_file(path: Path) -> Any:
    """The anchor file's record, None if there is none, or the text "unreadable" (an anchor problem)."""
    if not path.exists():
        return None
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return "unreadable"


def read_mlflow_anchor(paths: ProjectPaths, log_name: str) -> Any:
    """The log's MLflow anchor, None if there is none.

    Raises:
        LedgerError: MLflow could not be read (the anchor cannot be checked, so nothing may be trusted).
    """
    return read_mlflow_ledger(paths, log_name)[1]


def read_mlflow_ledger(paths: ProjectPaths, log_name: str) -> tuple[str | None, Any]:
    """The ledger experiment's id (None if there is none) and the log's MLflow anchor (None if none), in one read.

    Raises:
        LedgerError: MLflow could not be read (the anchor cannot be checked, so nothing may be trusted).
    """
    try:
        from pipeline.core.tracking import ledger_experiment, tracking_uri

        return ledger_experiment(log_name, tracking_uri(paths.root))
    except Exception as exc:  # noqa: BLE001 - any MLflow failure is reported as a ledger failure
        raise LedgerError(f"cannot read the MLflow anchor of the {log_name} log ({type(exc).__name__})") from None


_PREPARED: set[str] = set()
_PREPARED_LOCK = threading.Lock()


def prepare_mlflow_anchors(paths: ProjectPaths) -> None:
    """Make MLflow's tables and the ``riskpipe-ledger`` experiment now, once per process and store, one process at
    a time (an exclusive lock on ``reports/ledger/mlflow.lock``).

    On a project with no ``mlflow.db`` yet, concurrent first appends (several web server workers) would each try
    to create MLflow's tables and the experiment, and all but one fail. The web app calls this when it migrates
    and before its first audit entry in each process; the anchors are still written and checked on every append.

    Raises:
        LedgerError: MLflow could not be prepared (nothing may then be appended: fail closed).
    """
    from pipeline.core.tracking import ensure_ledger_experiment, tracking_uri

    uri = tracking_uri(paths.root)
    with _PREPARED_LOCK:
        if uri in _PREPARED:
            return
        try:
            with exclusive_lock(paths.ledger_anchors / "mlflow.lock"):
                ensure_ledger_experiment(uri)
        except Exception as exc:  # noqa: BLE001 - any MLflow failure is a ledger failure
            raise LedgerError(f"cannot prepare the MLflow ledger anchors ({type(exc).__name__}: {exc})") from None
        _PREPARED.add(uri)


@dataclass(frozen=True)
class LedgerReport:
    """One log checked against its chain and anchors: ``problems`` empty means intact; ``lines`` as checked."""

    name: str
    path: Path
    exists: bool
    chain: ChainVerification
    problems: list[str] = field(default_factory=list)
    lines: list[str] = field(default_factory=list, repr=False)

    @property
    def ok(self) -> bool:
        return not self.problems


def check_lines(paths: ProjectPaths, log_name: str, lines: list[str], exists: bool, key: LedgerKey,
                mlflow_anchor: Any) -> LedgerReport:
    """Check ``lines`` (log ``log_name`` as read) against the chain, the anchor file and ``mlflow_anchor``."""
    check = verify_chain_incrementally(ledger_path(paths, log_name), lines, key)
    problems = list(check.problems)
    anchors = (("the anchor file", read_anchor_file(paths.ledger_anchor(log_name))),
               ("the MLflow anchor", mlflow_anchor))
    for where, anchor in anchors:
        problems += anchor_problems(log_name, exists=exists, check=check, anchor=anchor, where=where, key=key)
    return LedgerReport(log_name, ledger_path(paths, log_name), exists, check, problems, lines)


# per process, the longest intact chain each log was verified to: (log path, key digest) -> (entries, SHA-256 of
# those lines, head hash). Verification is a function of the lines and the key alone, so a log whose first
# lines are byte for byte the ones verified before needs only its new lines checked; an edit, removal or
# rewrite of any earlier line changes the digest and the whole chain is verified again. Without this every
# append (each page the web app serves) would re-check every entry ever written, twice.
_VERIFIED: dict[tuple[str, str], tuple[int, str, str]] = {}
_VERIFIED_LOCK = threading.Lock()


def _lines_digest(lines: list[str]) -> str:
    return hashlib.sha256("\n".join(lines).encode("utf-8")).hexdigest()


def _tail_head(lines: list[str], prev: str, key: LedgerKey) -> str | None:
    """The head hash after ``lines`` when each is a well-formed entry chaining to ``prev`` under ``key``, else None."""
    for line in lines:
        try:
            entry = json.loads(line)
        except json.JSONDecodeError:
            return None
        if not isinstance(entry, dict) or entry.get("prev_hash") != prev or "hash" not in entry:
            return None
        if not hmac.compare_digest(entry_hash(entry, key), str(entry["hash"])):
            return None
        prev = str(entry["hash"])
    return prev


def verify_chain_incrementally(path: Path, lines: list[str], key: LedgerKey) -> ChainVerification:
    """:func:`ethics.ledger.verify_chain` of ``lines`` (log ``path`` as read), checking only the lines after the
    prefix this process last verified intact when that prefix is unchanged; any problem is reported by the full
    check, with its messages."""
    ident = (str(path), hashlib.sha256(b"riskpipe/v1/chain-cache\x00" + bytes(key)).hexdigest())
    with _VERIFIED_LOCK:
        known = _VERIFIED.get(ident)
    check = None
    if known is not None and known[0] <= len(lines) and _lines_digest(lines[:known[0]]) == known[1]:
        head = _tail_head(lines[known[0]:], known[2], key)
        if head is not None:
            check = ChainVerification(entries=len(lines), ok=True, last_hash=head)
    if check is None:
        check = verify_chain(lines, key)
    if check.ok:
        with _VERIFIED_LOCK:
            _VERIFIED[ident] = (len(lines), _lines_digest(lines), check.last_hash)
    return check


def check_log(paths: ProjectPaths, log_name: str, lines: list[str], exists: bool, key: LedgerKey, *,
              governance: bool = True, seen: dict[str, Any] | None = None) -> LedgerReport:
    """Check ``lines`` (log ``log_name`` as read) against the chain, every anchor and, for the sign-off log
    (unless ``governance`` is false), the heads each governance.json recorded (:func:`governance_anchor_problems`).

    An MLflow that cannot be read at all is reported as one problem, rather than also calling the entries
    unanchored there. ``seen`` (if given) gets ``experiment_id``: the ledger experiment's id as read here.
    """
    try:
        experiment_id, mlflow_anchor = read_mlflow_ledger(paths, log_name)
        if seen is not None:
            seen["experiment_id"] = experiment_id
        report = check_lines(paths, log_name, lines, exists, key, mlflow_anchor)
        problems = list(report.problems)
    except LedgerError as exc:
        report = check_lines(paths, log_name, lines, exists, key, None)
        problems = [p for p in report.problems if "MLflow anchor" not in p] + [str(exc)]
    if governance and log_name == SIGNOFF_LOG:
        problems += governance_anchor_problems(paths, lines)
    return LedgerReport(report.name, report.path, report.exists, report.chain, problems, lines)


def governance_anchor_problems(paths: ProjectPaths, lines: list[str]) -> list[str]:
    """The sign-off log against the count and head each ``reports/<model>/governance.json`` recorded."""
    problems = []
    for governance in sorted(paths.reports.glob("*/governance.json")):
        recorded = read_anchor_file(governance)
        anchor = recorded.get("signoff_log") if isinstance(recorded, dict) else None
        if isinstance(anchor, dict) and {"entries", "head"} <= anchor.keys():
            where = f"{governance.parent.name}/governance.json"
            problems += prefix_problems(lines, int(anchor["entries"]), str(anchor["head"]), where)
    return problems


def verify_ledger(paths: ProjectPaths, log_name: str, key: LedgerKey, *, governance: bool = True) -> LedgerReport:
    """Check one log: its keyed chain, its anchor file, its MLflow anchor (and governance.json for sign-offs).

    A missing MLflow anchor is a problem like any other, and an MLflow that cannot be read at all is
    reported as one rather than skipped.
    """
    path = ledger_path(paths, log_name)
    with reading_lock(path, ledger_lock(paths, log_name)):
        return check_log(paths, log_name, read_lines(path), path.exists(), key, governance=governance)


def require_intact(paths: ProjectPaths, report: LedgerReport) -> None:
    """Raise :class:`LedgerError` naming the log (by its path under the root) and its first problems unless
    ``report`` is intact."""
    if not report.ok:
        shown = "; ".join(report.problems[:3])
        raise LedgerError(f"{report.path.relative_to(paths.root)} fails verification: {shown} "
                          "(run `riskpipe audit-log verify`)")


def read_verified_entries(paths: ProjectPaths, log_name: str, key: LedgerKey) -> list[dict[str, Any]]:
    """Entries of one keyed log, checked against its chain and anchors.

    Raises:
        LedgerError: the log fails verification (it can vouch for nothing).
    """
    report = verify_ledger(paths, log_name, key)
    require_intact(paths, report)
    return parse_log(report.lines)


def write_anchors(paths: ProjectPaths, log_name: str, head: ChainVerification, key: LedgerKey, *,
                  experiment_id: str | None = None) -> dict[str, Any]:
    """Anchor the log at ``head`` (its verified entry count and head hash): the anchor file, then the MLflow tag;
    return the anchor. ``experiment_id``: the ledger experiment as the check before the append read it (saves
    MLflow a look-up); None looks it up.

    Raises:
        LedgerError: either could not be written (the entry is in the log but not anchored).
    """
    anchor = make_anchor(log_name, head, utc_now(), key)
    try:
        write_json(anchor, paths.ledger_anchor(log_name))
        from pipeline.core.tracking import record_ledger_anchor, tracking_uri

        record_ledger_anchor(log_name, anchor, tracking_uri(paths.root), experiment_id=experiment_id)
    except Exception as exc:  # noqa: BLE001 - any failure to anchor is a ledger failure
        raise LedgerError(f"the {log_name} log entry was written but not anchored ({type(exc).__name__}: {exc})"
                          ) from None
    return anchor


def append_to_ledger(paths: ProjectPaths, log_name: str, record: dict[str, Any], key: LedgerKey, *,
                     admit: Callable[[list[dict[str, Any]]], None] | None = None,
                     check_governance: bool = False) -> dict[str, Any]:
    """Append ``record`` to log ``log_name`` and anchor the new head; return the chained entry.

    The whole append holds the log's lock file (:func:`ledger_lock`) exclusively, so readers and other
    appends wait for it, whether or not the log exists yet. Inside it the log is checked (chain, anchor
    file, MLflow anchor and, with ``check_governance``, the sign-off log against the heads each
    governance.json recorded) before anything is written; appending to a truncated or rewritten log would
    otherwise re-anchor, and so hide, the damage. A log that does not exist is checked before the append
    creates it, so a deleted log is reported as deleted. The new line chains to the head that check
    verified, and the anchor records the new line's hash, so the chain is not re-verified after the write;
    the MLflow anchor is one tag write on the experiment the check just read (MLflow's tables and the
    experiment are made once per process by :func:`prepare_mlflow_anchors`). ``admit`` (if
    given) sees the entries already in the log while the lock is held and raises to refuse the record, so
    a rule about earlier entries (one signing role per person) cannot be raced by two commands at once.
    ``check_governance`` is for sign-offs (:func:`ethics.signoff_stage.record_signoff`): a sign-off log that
    no longer holds what a governance.json judged takes no new entry.

    Raises:
        LedgerError: the log fails verification (nothing appended) or the new head could not be anchored.
    """
    path = ledger_path(paths, log_name)
    prepare_mlflow_anchors(paths)
    heads: list[ChainVerification] = []
    seen: dict[str, Any] = {}

    def make_line(lines: list[str]) -> str:
        report = check_log(paths, log_name, lines, True, key, governance=check_governance, seen=seen)
        require_intact(paths, report)
        if admit is not None:
            admit(parse_log(lines))
        line = chained_line(report.chain.last_hash, record, key)
        heads.append(ChainVerification(report.chain.entries + 1, True, json.loads(line)["hash"]))
        return line

    def anchor(_lines: list[str]) -> None:
        write_anchors(paths, log_name, heads[-1], key, experiment_id=seen.get("experiment_id"))

    with exclusive_lock(ledger_lock(paths, log_name)):
        if not path.exists():  # checked before the append creates the file: a deleted log stays reported as deleted
            require_intact(paths, check_log(paths, log_name, [], False, key, governance=check_governance))
        line = append_line_locked(path, make_line, anchor)
    return json.loads(line)
