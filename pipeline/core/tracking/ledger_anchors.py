"""Ledger anchors in MLflow: each hash-chained log's entry count and head, kept outside the log file."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pipeline.core.tracking.registry import _client

LEDGER_EXPERIMENT = "riskpipe-ledger"


def _ledger_tag(log_name: str) -> str:
    return f"ledger.{log_name}.anchor"


def ensure_ledger_experiment(uri: str | None = None) -> str:
    """The id of experiment ``riskpipe-ledger``, made (with MLflow's own tables, on a new store) if missing.

    Raises:
        MlflowException: the store could not be read or the experiment made (callers treat that as a ledger failure).
    """
    client = _client(uri)
    experiment = client.get_experiment_by_name(LEDGER_EXPERIMENT)
    return experiment.experiment_id if experiment else client.create_experiment(LEDGER_EXPERIMENT)


def record_ledger_anchor(log_name: str, anchor: Mapping[str, Any], uri: str | None = None,
                         experiment_id: str | None = None) -> None:
    """Tag experiment ``riskpipe-ledger`` with a log's anchor (entry count, head hash, keyed MAC) as JSON.

    ``experiment_id``: the experiment's id as :func:`ledger_experiment` just read it (one call to MLflow
    instead of two); None looks it up (and makes the experiment if missing).

    Raises:
        MlflowException: the tag could not be set (callers treat that as a ledger failure).
    """
    import json

    client = _client(uri)
    experiment_id = experiment_id or ensure_ledger_experiment(uri)
    client.set_experiment_tag(experiment_id, _ledger_tag(log_name), json.dumps(dict(anchor), sort_keys=True))


def ledger_experiment(log_name: str, uri: str | None = None) -> tuple[str | None, dict | None]:
    """The ledger experiment's id (None if there is none) and the anchor it holds for ``log_name`` (None if none),
    in one read."""
    import json

    experiment = _client(uri).get_experiment_by_name(LEDGER_EXPERIMENT)
    if experiment is None:
        return None, None
    tag = (experiment.tags or {}).get(_ledger_tag(log_name))
    return experiment.experiment_id, json.loads(tag) if tag else None


def ledger_anchor(log_name: str, uri: str | None = None) -> dict | None:
    """The anchor last recorded by :func:`record_ledger_anchor` for ``log_name``, or None if there is none."""
    return ledger_experiment(log_name, uri)[1]
