"""The ``Feature`` record: what the registry knows about one output column."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Kind = Literal["numeric", "binary", "categorical"]
Role = Literal["model", "fairness_only", "never"]

# protected characteristics (Equality Act 2010) and sensitive circumstances a feature may stand in for
PROXY_CHARACTERISTICS = ("age", "disability", "ethnicity", "sex", "poverty")


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
        proxy_for: the protected or sensitive characteristics (``PROXY_CHARACTERISTICS``) the feature
            stands in for: SEN for disability, FSM and deprivation for poverty, age for age. The card
            and ATRS record state which model inputs are such proxies from this, never by hand.
        show_on_list: False for special-category detail (self-harm and other sensitive diagnoses, the
            abuse category of a child protection plan) that must never be printed as a reason on a
            list read by council staff; the model may still use it.
        reads: the event domains a row-built feature (``sql=None``, ``features.row_features``) counts, for
            its coverage (``features.coverage``); an SQL feature reads its ``domain``.
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
    proxy_for: tuple[str, ...] = ()
    show_on_list: bool = True
    reads: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        unknown = set(self.proxy_for) - set(PROXY_CHARACTERISTICS)
        if unknown:
            raise ValueError(f"feature {self.name}: proxy_for {sorted(unknown)} not in {PROXY_CHARACTERISTICS}")
