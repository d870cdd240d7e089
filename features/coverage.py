"""From when each input's source holds records: the coverage written to features.json (issue #18).

A council's extract of a source may start long after the index years a model trains on: adult social care's
Client Level Data (CLD), like the national collection, starts in April 2023. An input built from it is 0 for
almost everyone before then because the source held no records, not because there was no care (a structural
zero). The train stage keeps such an input out of the years it cannot describe (``models.input_coverage``);
this module says, from the data, when each input's source starts and from which index date the input's whole
look-back lies on or after that start.

A domain's start is the earliest date of the column its event builder names in ``coverage_from`` (CLD: the
start of the earliest reporting period submitted; its services' own start dates reach back years before the
collection did), else the first month with events. An input reads its ``domain`` (SQL features) or the domains
it declares in ``reads`` (row-built features, ``features.row_features``); cross-source domains (``record``,
``address``, ``family`` …) have no single source and no start. An input is covered at an index date when the
date is on or after the latest start of the domains it reads plus its window (``ever``, ``now`` and ``latest``:
the start itself; ``12m``: 12 months after it; ``6y``: 6 years).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import pandas as pd

from features.event_registry import EventBuilder
from features.events import event_builders
from features.feature import Feature

_WINDOW = re.compile(r"^(\d+)([my])$")


def look_back_months(window: str) -> int:
    """Months an input's window looks back from the index date (0 for ``ever``, ``now``, ``latest``)."""
    found = _WINDOW.match(window)
    if found is None:
        return 0
    return int(found.group(1)) * (12 if found.group(2) == "y" else 1)


def domain_starts(events: Mapping[str, pd.DataFrame], builders: list[EventBuilder]) -> dict[str, pd.Timestamp]:
    """The date from which each built domain's source holds records (see the module docstring); a domain with
    no events has none.

    Args:
        events: event frames by domain (``event_date`` and the builder's ``coverage_from`` column; a frame
            without it, built by hand, is read by its first month with events).
        builders: the event builders (``features.events.event_builders``).
    """
    out = {}
    for b in builders:
        frame = events.get(b.domain)
        if frame is None or frame.empty:
            continue
        if b.coverage_from is not None and b.coverage_from in frame.columns:
            start = pd.to_datetime(frame[b.coverage_from]).min()
        else:
            first = pd.to_datetime(frame["event_date"]).min()
            start = first.to_period("M").to_timestamp() if pd.notna(first) else first
        if pd.notna(start):
            out[b.domain] = pd.Timestamp(start)
    return out


def input_coverage(features: Mapping[str, Feature], starts: Mapping[str, pd.Timestamp],
                   sources: Mapping[str, str]) -> dict[str, dict[str, Any]]:
    """features.json ``input_coverage``: for each input that reads a domain with a start, its ``source`` (the
    registry's source names, joined), ``domains``, ``window``, ``source_starts`` (ISO date) and ``covered_from``
    (the first index date whose whole look-back lies on or after the start, ISO date).

    Args:
        features: the features built for the model (``features.registry.spec_features``).
        starts: :func:`domain_starts`.
        sources: each domain's source (``EventBuilder.source``).
    """
    out = {}
    for f in features.values():
        domains = [d for d in (f.reads or ((f.domain,) if f.domain else ())) if d in starts]
        if not domains:
            continue
        start = max(starts[d] for d in domains)
        covered = start + pd.DateOffset(months=look_back_months(f.window))
        out[f.name] = {"source": ", ".join(dict.fromkeys(sources[d] for d in domains)), "domains": domains,
                       "window": f.window, "source_starts": start.date().isoformat(),
                       "covered_from": pd.Timestamp(covered).date().isoformat()}
    return out


def coverage_report(features: Mapping[str, Feature], events: Mapping[str, pd.DataFrame]) -> dict[str, dict[str, Any]]:
    """:func:`input_coverage` of ``features`` over the event frames every registered source's builder made."""
    builders = event_builders()
    return input_coverage(features, domain_starts(events, builders), {b.domain: b.source for b in builders})
