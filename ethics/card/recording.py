"""The card's recording-practice section: breaks in how the sources a model reads record their codes.

Built from ``reports/monitor.json`` (``riskpipe monitor``), the sources the release's inputs come from and
the reviews people recorded in the model's context (``recording_breaks_reviewed``), so the card states
the same breaks the gate's ``recording_practice`` check judged.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ethics.card.tables import Table
from ethics.monitor_checks import REVIEWED_FIELD, describe_break, relevant_breaks


def recording_section(monitor: Mapping[str, Any] | None, sources: Sequence[str],
                      context: Mapping[str, Any]) -> tuple[str, Table]:
    """A sentence on what was watched and found, and one row per break in the model's sources.

    Returns:
        The summary, and a table ``break, id, reviewed`` (empty when no break).
    """
    if monitor is None:
        return ("The recording-practice monitor has not been run (`riskpipe monitor`): changes in how the sources "
                "record their codes are unknown.", Table(columns=[], rows=[]))
    breaks = relevant_breaks(monitor, sources, None)
    reviewed = context.get(REVIEWED_FIELD) or {}
    watched = ", ".join(sources) or "none"
    summary = (f"{int(monitor.get('series_tested', 0)):,} recording series watched across the sources: how often "
               "each code is recorded month by month, against what the ages of the people recorded would predict "
               "(reports/monitor.html gives the method).")
    if not breaks:
        return summary + f" No break was found in the sources this model reads ({watched}).", Table(columns=[],
                                                                                                   rows=[])
    rows = [[describe_break(b), str(b["id"]), str(reviewed.get(b["id"]) or "NOT REVIEWED")] for b in breaks]
    open_count = sum(row[2] == "NOT REVIEWED" for row in rows)
    summary += (f" {len(breaks)} break(s) in the sources this model reads ({watched}); {open_count} not yet "
                "reviewed. A break is a change in how something is recorded: the model learned the old recording.")
    return summary, Table(columns=["change", "break id", "what was found (model context)"], rows=rows)
