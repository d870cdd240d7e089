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


def audit_settings(params: EvaluateParams | None) -> dict:
    """``audit_scores``' bootstrap and suppression settings from the evaluate section; {} = its defaults."""
    if params is None:
        return {}
    return {"n_boot": params.n_boot, "seed": params.seed, "min_n": params.min_group_n,
            "min_positives": params.min_group_positives}


def run_audit(scores_file: Path, *, label: str, score: str, groups: list[str], out: Path,
              threshold: float | None = None, top_k: int | None = None, top_frac: float | None = None,
              params: EvaluateParams | None = None) -> AuditWritten:
    """Audit one scored file and write ``out/audit.json`` and ``out/audit.html``.

    Args:
        scores_file: ``.parquet``, or CSV for any other suffix; one row per person with ``label``,
            ``score`` and each of ``groups``.
        threshold, top_k, top_frac: how the tool flags people (exactly one): ``score >= threshold``,
            the ``top_k`` highest scores, or the highest fraction ``top_frac``.
        out: folder for the two files (made if missing).
        params: the ``evaluate`` section (bootstrap and small-cell suppression); None = the audit's defaults.

    Raises:
        AuditStopped: a named column is missing or not exactly one flagging rule is set; nothing is written.
    """
    frame = read_scored_file(scores_file)
    try:
        result = audit_scores(frame, label=label, score=score, groups=groups, threshold=threshold,
                              top_k=top_k, top_frac=top_frac, **audit_settings(params))
    except (ValueError, KeyError) as exc:
        raise AuditStopped(str(exc)) from exc
    json_file = write_json(result, out / "audit.json")
    html_file = write_text(render_audit_html(result, label=label, score=score), out / "audit.html")
    return AuditWritten(result, json_file, html_file)
