"""Ledger anchors in MLflow: each hash-chained log's entry count and head, kept outside the log file."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pipeline.core.tracking.registry import _client

LEDGER_EXPERIMENT = "riskpipe-ledger"


def _ledger_tag(log_name: str) -> str:
    return f"ledger.{log_name}.anchor"


def record_ledger_anchor(log_name: str, anchor: Mapping[str, Any], uri: str | None = None) -> None:
    """Tag experiment ``riskpipe-ledger`` with a log's anchor (entry count, head hash, keyed MAC) as JSON.

    Raises:
        MlflowException: the tag could not be set (callers treat that as a ledger failure).
    """
    import json

    client = _client(uri)
    experiment = client.get_experiment_by_name(LEDGER_EXPERIMENT)
    experiment_id = experiment.experiment_id if experiment else client.create_experiment(LEDGER_EXPERIMENT)
    client.set_experiment_tag(experiment_id, _ledger_tag(log_name), json.dumps(dict(anchor), sort_keys=True))


def ledger_anchor(log_name: str, uri: str | None = None) -> dict | None:
    """The anchor last recorded by :func:`record_ledger_anchor` for ``log_name``, or None if there is none."""
    import json

    experiment = _client(uri).get_experiment_by_name(LEDGER_EXPERIMENT)
    tag = (experiment.tags or {}).get(_ledger_tag(log_name)) if experiment else None
    return json.loads(tag) if tag else None
