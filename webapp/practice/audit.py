"""Every list view, person view, export, re-identification, action and refusal, appended to the audit ledger.

Entries go to ``outputs/audit.jsonl`` (the keyed, anchored chain of :mod:`ethics.ledger_store`) with the
signed-in identity and roles. A view whose entry cannot be written is not served (fail closed):
:class:`AuditUnavailable` becomes a 503 page. MLflow's tables and the ledger experiment are made when the
database is migrated (:func:`prepare_audit`), and again, one process at a time, before a process's first
entry if they are missing, so concurrent first entries on a new project never race to create them.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from django.conf import settings
from django.http import HttpRequest

from ethics.ledger import utc_now
from ethics.ledger_store import AUDIT_LOG, LedgerError, append_to_ledger, ledger_key, prepare_mlflow_anchors
from pipeline.core.paths import project_paths
from webapp.practice.project import current_project
from webapp.practice.roles import user_roles

log = logging.getLogger("webapp.audit")


class AuditUnavailable(RuntimeError):
    """The audit ledger would not take the entry (no key, a broken chain or anchor): nothing is shown."""


def identity(request: HttpRequest) -> str:
    """Who is signed in, as the ledger records them: ``web:<username>`` (``web:anonymous`` when nobody is)."""
    user = request.user
    return f"web:{user.get_username()}" if getattr(user, "is_authenticated", False) else "web:anonymous"


def audit_record(request: HttpRequest, event: str, **fields: Any) -> dict[str, Any]:
    """The ledger record of one web event: ``event``, ``time``, ``user``, ``roles``, ``team``, ``path`` and ``fields``.

    Person tokens may appear in ``fields`` (they are the list's pseudonyms); clear identifiers never do.
    """
    staff = getattr(request.user, "staff", None) if getattr(request.user, "is_authenticated", False) else None
    return {"event": f"web_{event}", "time": utc_now(), "user": identity(request), "roles": user_roles(request.user),
            "team": str(staff.team) if staff and staff.team else None, "path": request.path, **fields}


def prepare_audit() -> None:
    """Make MLflow's tables and the ledger experiment for the project now (:func:`prepare_mlflow_anchors`).

    Raises:
        AuditUnavailable: MLflow could not be prepared.
    """
    try:
        # the paths alone (not params.yaml, which a new installation may not have when it first migrates)
        prepare_mlflow_anchors(project_paths(Path(settings.RISKPIPE_ROOT)))
    except LedgerError as exc:
        raise AuditUnavailable(str(exc)) from None


def audit(request: HttpRequest, event: str, **fields: Any) -> dict[str, Any]:
    """Append one web event to the audit ledger; return the chained entry.

    Raises:
        AuditUnavailable: the ledger refused the entry (the caller must not serve what it audits).
    """
    project = current_project()
    record = audit_record(request, event, **fields)
    try:
        key = ledger_key(project.paths, project.pseudo_key_file)
        return append_to_ledger(project.paths, AUDIT_LOG, record, key)
    except LedgerError as exc:
        log.error("audit ledger refused a %s entry: %s", record["event"], exc)
        raise AuditUnavailable(str(exc)) from None
