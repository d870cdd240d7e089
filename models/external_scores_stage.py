"""The IO of ``riskpipe audit``: read any scored file, audit it, write ``audit.json`` and ``audit.html``.

The audit itself is pure (``models.external_scores``); this module reads the file and writes the
results through ``pipeline.core.io``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from models.external_scores import audit_scores, render_audit_html
from pipeline.core.config import EvaluateParams
from pipeline.core.io import read_csv_table, read_parquet, write_json, write_text
from pipeline.core.paths import ProjectPaths
from pipeline.privacy.clear_outputs import (
    ClearOutputRefused,
    identifier_columns,
    identifier_like_group,
    refuse_clear_output,
)


class AuditStopped(ValueError):
    """The scored file cannot be audited as asked (a missing column, not exactly one flagging rule)."""


@dataclass(frozen=True)
class AuditWritten:
    """An ``audit_scores`` result and where it was written."""

    result: dict
    json_file: Path
    html_file: Path


def read_scored_file(path: Path) -> pd.DataFrame:
    """A scored file: parquet as stored, CSV with every column as text (the audit parses the numbers it uses)."""
    return read_parquet(path) if path.suffix.lower() == ".parquet" else read_csv_table(path)


def audit_settings(params: EvaluateParams | None, min_group_n: int | None = None) -> dict:
    """``audit_scores``' bootstrap and suppression settings from the evaluate section and the gate's
    ``min_group_size`` (``min_group_n``); {} = its defaults."""
    settings = {} if min_group_n is None else {"min_n": int(min_group_n)}
    if params is None:
        return settings
    return {"n_boot": params.n_boot, "seed": params.seed, **settings, "min_positives": params.min_group_positives}


def check_audit_privacy(frame: pd.DataFrame, groups: list[str], out: Path, paths: ProjectPaths | None) -> None:
    """Refuse identifier-like groups, and clear inputs audited into the project's data folders.

    Raises:
        AuditStopped: a group column identifies people (every NHS number would be a row of the HTML), or
            the file holds clear identifiers and ``out`` lies inside data/, reports/ or outputs/ of ``paths``.
    """
    for group in groups:
        if group in frame.columns:
            why = identifier_like_group(group, frame[group])
            if why:
                raise AuditStopped(f"--group {group} refused: {why}; an audit compares groups of people "
                                   "(sex, ethnicity, area), never individuals")
    if paths is None:
        return
    clear = identifier_columns(frame)
    if clear:
        try:
            refuse_clear_output(out, paths, command="audit",
                                why=f"the scored file holds clear identifiers (columns {sorted(clear)})")
        except ClearOutputRefused as exc:
            raise AuditStopped(str(exc)) from None


def run_audit(scores_file: Path, *, label: str, score: str, groups: list[str], out: Path,
              threshold: float | None = None, top_k: int | None = None, top_frac: float | None = None,
              params: EvaluateParams | None = None, min_group_n: int | None = None,
              paths: ProjectPaths | None = None) -> AuditWritten:
    """Audit one scored file and write ``out/audit.json`` and ``out/audit.html``.

    Args:
        scores_file: ``.parquet``, or CSV for any other suffix; one row per person with ``label``,
            ``score`` and each of ``groups``.
        threshold, top_k, top_frac: how the tool flags people (exactly one): ``score >= threshold``,
            the ``top_k`` highest scores, or the highest fraction ``top_frac``.
        out: folder for the two files (made if missing).
        params: the ``evaluate`` section (bootstrap, outcomes per group); None = the audit's defaults.
        min_group_n: the smallest group shown: the gate's ``min_group_size`` (the thresholds file's defaults);
            None = the audit's default.
        paths: the project whose data/, reports/ and outputs/ a file with clear identifiers may not be
            audited into (None: no project).

    Raises:
        AuditStopped: a named column is missing, not exactly one flagging rule is set, a group column
            identifies people, or clear identifiers would be audited into the project; nothing is written.
    """
    frame = read_scored_file(scores_file)
    check_audit_privacy(frame, groups, out, paths)
    try:
        result = audit_scores(frame, label=label, score=score, groups=groups, threshold=threshold,
                              top_k=top_k, top_frac=top_frac,
                              **audit_settings(params, min_group_n))
    except (ValueError, KeyError) as exc:
        raise AuditStopped(str(exc)) from exc
    json_file = write_json(result, out / "audit.json")
    html_file = write_text(render_audit_html(result, label=label, score=score), out / "audit.html")
    return AuditWritten(result, json_file, html_file)
