"""What the automatic governance checks read and return: :class:`GateEvidence` and :class:`CheckResult`.

The govern stage (:mod:`ethics.govern_stage`) loads the evidence from the contract files; each check
in :data:`ethics.auto_checks.CHECKS` is a pure ``check(evidence, thresholds) -> CheckResult``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

import pandas as pd

Status = Literal["pass", "fail", "not_evaluable"]
# what people leave in a context field they have not written yet (ethics/contexts/<model>.yaml)
INCOMPLETE_MARK = "TO COMPLETE"


@dataclass(frozen=True)
class CheckResult:
    """``pass``, ``fail`` or ``not_evaluable`` (an input is missing), with the numbers compared."""

    status: Status
    evidence: str


@dataclass(frozen=True)
class GateEvidence:
    """Everything the auto checks read (loaded by :func:`ethics.govern_stage.read_gate_evidence`).

    Attributes:
        metrics: ``reports/<model>/metrics.json``.
        group_metrics: ``reports/<model>/group_metrics.csv`` (``attribute, group, n, fnr, oe_ratio,
            suppressed`` and the other rate columns).
        run: ``data/models/<model>/run.json`` (``feature_columns``, ``thresholds_sha256``, ...).
        thresholds_sha256: digest of the model's thresholds as they are now
            (:func:`ethics.thresholds.model_thresholds_sha256`).
        registered_thresholds_sha256: the same digest as first pre-registered for the model
            (``ethics/ledger/preregistration.jsonl``), or None when it never was.
        split_years: ``split, index_year`` pairs from ``scores.parquet``.
        linkage: ``reports/linkage.json`` or None.
        features_report: ``reports/<model>/features.json`` or None.
        fairness_features: names the feature registry marks fairness-only or never-an-input.
        context: the per-model context YAML written by people.
        link_rate_directions: ``<from>_to_<to>`` link-rate directions the source registry declares
            (:func:`pipeline.sources.registry.link_rate_directions`), compared by the link-rate check.
        monitor: ``reports/monitor.json`` (recording-practice breaks, ``riskpipe monitor``) or None.
        input_sources: the registry sources the version's inputs are read from (features' ``group``).
    """

    metrics: dict[str, Any]
    group_metrics: pd.DataFrame
    run: dict[str, Any]
    thresholds_sha256: str
    split_years: pd.DataFrame
    linkage: dict[str, Any] | None = None
    features_report: dict[str, Any] | None = None
    fairness_features: frozenset[str] = frozenset()
    context: dict[str, Any] = field(default_factory=dict)
    link_rate_directions: tuple[str, ...] = ()
    registered_thresholds_sha256: str | None = None
    monitor: dict[str, Any] | None = None
    input_sources: tuple[str, ...] = ()


def metrics_of_test_year(ev: GateEvidence) -> dict[str, Any]:
    """The test-year block of metrics.json (empty when absent)."""
    return ev.metrics.get("test") or {}


def judged_group_tables(ev: GateEvidence) -> list[tuple[str, pd.DataFrame]]:
    """The per-group figures the fairness checks judge, each with what it is in words.

    Always the standard test year's (group_metrics.csv). Where the deployment-faithful backtest differs from
    the standard split (``models.backtest``: the live list's model is trained on older cohorts), also the
    backtest's (metrics.json ``backtest.group_metrics``): a group the live list would fail is failed there,
    whatever the standard split shows.
    """
    tables = [("test year", ev.group_metrics)]
    backtest = backtest_group_metrics(ev.metrics)
    if backtest is not None:
        tables.append(("backtest", backtest))
    return tables


def backtest_group_metrics(metrics: dict[str, Any]) -> pd.DataFrame | None:
    """metrics.json ``backtest.group_metrics`` as group_metrics.csv reads (figures as numbers), where the backtest
    differs from the standard split; None otherwise."""
    backtest = metrics.get("backtest") or {}
    if not (backtest.get("differs_from_standard") and backtest.get("group_metrics")):
        return None
    frame = pd.DataFrame(backtest["group_metrics"])
    return frame.apply(lambda c: c if c.name in ("attribute", "group", "suppressed") else
                       pd.to_numeric(c, errors="coerce"))


def as_number(value: Any) -> float | None:
    """``value`` as a float, or None when it is missing, NaN or not a number."""
    try:
        out = float(value)
    except (TypeError, ValueError):
        return None
    return None if pd.isna(out) else out
