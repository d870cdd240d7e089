"""Locks of the ledger's logs: one lock file per log, ``reports/ledger/<log>.lock``, beside its anchor file.

Readers hold it shared while they read a log and its anchors; an append (:func:`ethics.ledger_store.append_to_ledger`)
holds it exclusively from reading the log until both anchors name the new line. It is a file of its own, not the
log, so a log that does not exist yet is locked like any other.
"""

from __future__ import annotations

import contextlib
import fcntl
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from pipeline.core.paths import ProjectPaths


def ledger_lock(paths: ProjectPaths, log_name: str) -> Path:
    """The lock file of log ``log_name``: ``reports/ledger/<log>.lock``, beside its anchor file (git-ignored like it).

    Readers and writers lock this file rather than the log, so a log that does not exist yet is locked too.
    """
    return paths.ledger_anchors / f"{log_name}.lock"


@contextmanager
def _flock(path: Path, mode: int) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+b") as fh:
        fcntl.flock(fh, mode)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def exclusive_lock(path: Path) -> contextlib.AbstractContextManager[None]:
    """Hold an exclusive lock on lock file ``path`` (made if missing)."""
    return _flock(path, fcntl.LOCK_EX)


@contextmanager
def reading_lock(path: Path, lock: Path | None = None) -> Iterator[None]:
    """Hold a shared lock on log ``path``'s lock file (``lock``) while it and its anchors are read.

    An append holds that lock exclusively from reading the log until both anchors name its new line
    (:func:`ethics.ledger_store.append_to_ledger`); a reader between the two would see one entry more than
    the anchors record and call the log tampered with. Concurrent web requests read and append all the
    time, so readers wait for a whole append instead. The lock is a separate file, so a log that does not
    exist yet is locked too: concurrent first entries would otherwise find the log written but not anchored
    (or anchored and then, to a reader that looked a moment earlier, missing). Where the lock file cannot
    be made (a read-only copy checked by an auditor, where nobody appends), the log itself is locked if it
    exists.
    """
    fh = None
    if lock is not None:
        try:
            lock.parent.mkdir(parents=True, exist_ok=True)
            fh = open(lock, "a+b")  # noqa: SIM115 - closed below, after the caller's block
        except OSError:
            fh = None
    if fh is None and path.exists():
        fh = open(path, "rb")  # noqa: SIM115 - closed below
    if fh is None:
        yield
        return
    with fh:
        fcntl.flock(fh, fcntl.LOCK_SH)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)
