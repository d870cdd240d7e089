"""The recording-practice check: no unreviewed break in how a source the model reads records its codes.

``riskpipe monitor`` finds breaks (:mod:`pipeline.monitor`): a code that stops being recorded, or starts
being recorded far more often, from some month on. A model that reads the source learned the old
recording, so its scores may no longer mean what the evaluation measured. The gate blocks while any
break in a source the version's inputs come from, from its first training year on, is not reviewed: a
person records what they found under ``recording_breaks_reviewed`` in the model's context file
(``{break id: what was found and why the model may still be used}``), and the card shows both.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ethics.gate_evidence import CheckResult, GateEvidence
from ethics.thresholds import Thresholds

REVIEWED_FIELD = "recording_breaks_reviewed"


def input_sources(feature_columns: Sequence[str], registry: Mapping[str, Any]) -> tuple[str, ...]:
    """The registry sources (``school``, ``health`` …) a version's inputs are read from (each feature's ``group``)."""
    groups = {registry[c].group for c in feature_columns if c in registry}
    from pipeline.sources.registry import all_sources

    return tuple(name for name in all_sources() if name in groups)


def relevant_breaks(monitor: Mapping[str, Any] | None, sources: Sequence[str], from_year: int | None
                    ) -> list[dict[str, Any]]:
    """Breaks in ``sources`` dated in or after ``from_year`` (every break of those sources when None)."""
    found = []
    for entry in (monitor or {}).get("breaks", []):
        if entry.get("source") not in sources:
            continue
        if from_year is not None and int(str(entry.get("month", "0"))[:4]) < from_year:
            continue
        found.append(dict(entry))
    return found


def describe_break(entry: Mapping[str, Any]) -> str:
    """One break in words: ``ae_attendance.diagnosis = S09 (all rows) stopped being recorded from 2019-01``."""
    group = "all rows" if entry.get("breakdown") == "all" else f"{entry.get('breakdown')} {entry.get('group')}"
    if entry.get("coded_after") == 0:
        change = "stopped being recorded"
    elif entry.get("ratio") is None:
        change = "started being recorded"
    else:
        change = f"recorded {float(entry['ratio']):.1f} times as often (allowing for age)"
    return f"{entry['table']}.{entry['column']} = {entry['code']} ({group}) {change} from {entry['month']}"


def first_training_year(split_years) -> int | None:
    """The earliest index year the version was trained on (``split, index_year`` pairs), or None."""
    if split_years is None or split_years.empty:
        return None
    train = split_years[split_years["split"] == "train"]["index_year"]
    return int(train.min()) if len(train) else None


def check_recording_practice(ev: GateEvidence, th: Thresholds) -> CheckResult:
    """Fail while a break in a source the inputs come from (from the first training year on) is not reviewed."""
    if ev.monitor is None:
        return CheckResult("not_evaluable", "no recording-practice report (reports/monitor.json): run "
                           "`riskpipe monitor`")
    sources = ev.input_sources
    breaks = relevant_breaks(ev.monitor, sources, first_training_year(ev.split_years))
    reviewed = ev.context.get(REVIEWED_FIELD) or {}
    open_breaks = [b for b in breaks if not str(reviewed.get(b["id"], "")).strip()]
    tested = ev.monitor.get("series_tested", 0)
    if open_breaks:
        shown = "; ".join(describe_break(b) for b in open_breaks[:5])
        more = f" and {len(open_breaks) - 5} more" if len(open_breaks) > 5 else ""
        return CheckResult("fail", f"{len(open_breaks)} recording break(s) in sources this model reads, not "
                           f"reviewed: {shown}{more}. Look at reports/monitor.html, then record what was found "
                           f"under {REVIEWED_FIELD} in the model's context file (by break id)")
    return CheckResult("pass", f"{tested:,} recording series watched; {len(breaks)} break(s) in the sources this "
                       f"model reads ({', '.join(sources) or 'none'}), all reviewed" if breaks else
                       f"{tested:,} recording series watched; no break in the sources this model reads "
                       f"({', '.join(sources) or 'none'})")
