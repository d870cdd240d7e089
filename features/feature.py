"""The ``Feature`` record: what the registry knows about one output column."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Kind = Literal["numeric", "binary", "categorical"]
Role = Literal["model", "fairness_only", "never"]


@dataclass(frozen=True)
class Feature:
    """One registered feature.

    Attributes:
        name: column name in data/features/<model>.parquet.
        description: plain English, read by early help staff and IG reviewers.
        source: the source system (school census, KS2, CIN census, SSDA903, early help, HES, NCCIS, derived).
        window: ``12m``, ``36m``, ``6y``, ``ever``, ``now`` (at the index date) or ``latest``.
        kind: numeric, binary (0/1) or categorical (text).
        role: model, fairness_only or never.
        group: the source whose module declares it (``school``, ``social_care``, ``health`` …), or
            ``demographics``, ``coverage`` or ``fairness`` (``features.context``).
        domain: event frame the SQL aggregates (an event builder's domain, ``features.event_registry``;
            or ``record``/``address``, built across sources); None = derived in context.
        sql: DuckDB aggregate over ``e`` (events) and ``c`` (cohort row).
        fill: value for rows with no events before the index date (None = stays missing).
    """

    name: str
    description: str
    source: str
    window: str
    kind: Kind
    role: Role
    group: str
    domain: str | None = None
    sql: str | None = None
    fill: float | None = None
