"""The ingest stage end to end: plan tables from params, read, ingest, write staged/quarantine/report.

Called by ``riskpipe ingest``; all writes go through ``pipeline.io``. A file-level error stops
only its own table (no staged output for it, reported as failed); the caller exits non-zero.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import date
from pathlib import Path

from pipeline import io
from pipeline.ingest import ingest_table
from pipeline.ingest_files import TablePlan, plan_ingest, read_table_frames
from pipeline.ingest_report import render_ingest_markdown, summarise_ingest
from pipeline.paths import ProjectPaths
from pipeline.sources.errors import IngestError

log = logging.getLogger(__name__)


def ingest_one(
    plan: TablePlan, extract_date: date, paths: ProjectPaths, *, collection_year: int | None, cache: dict
) -> dict:
    """Ingest one planned table and write its outputs; returns its report entry."""
    spec = plan.spec
    files = plan.files()
    if not files:
        log.warning("%s: no files match %s under %s", spec.name, plan.pattern, plan.raw_dir)
        return {
            "table": spec.name,
            "source": spec.source,
            "status": "no_input",
            "error": f"no files match {plan.pattern}",
        }
    try:
        frames = read_table_frames(spec, files, plan.raw_dir, collection_year=collection_year, cache=cache)
        result = ingest_table(frames, spec, extract_date)
    except IngestError as exc:
        log.error("%s: %s", spec.name, exc)
        return {"table": spec.name, "source": spec.source, "status": "failed", "error": str(exc)}
    io.write_parquet(result.accepted, paths.staged_table(spec.name))
    io.write_csv(result.quarantined, paths.quarantine_table(spec.name))
    rep = result.report
    log.info(
        "%s: %d read, %d accepted, %d quarantined",
        spec.name,
        rep["rows_read"],
        rep["rows_accepted"],
        rep["rows_quarantined"],
    )
    return rep


def run_ingest(
    cfg,
    paths: ProjectPaths,
    *,
    tables: list[str] | None = None,
    on_table: Callable[[str, int], None] | None = None,
) -> dict:
    """Ingest every enabled table and write ``reports/ingest.json`` and ``reports/ingest.md``.

    Args:
        cfg: the ``ingest`` params section.
        paths: project paths (raw folders in params are relative to ``paths.root``).
        tables: only these tables (default: all enabled).
        on_table: called with each table's name and the number of tables, before it is ingested.

    Returns:
        The summary written to ``reports/ingest.json``; ``tables_failed`` lists file-level failures.
    """
    extract_date = cfg.extract_date or date.today()
    plans = plan_ingest(cfg, Path(paths.root), tables)
    cache: dict = {}
    reports = []
    for plan in plans:
        if on_table:
            on_table(plan.spec.name, len(plans))
        reports.append(
            ingest_one(plan, extract_date, paths, collection_year=cfg.collection_year, cache=cache)
        )
    summary = summarise_ingest(reports, extract_date)
    io.write_json(summary, paths.reports / "ingest.json")
    io.write_text(render_ingest_markdown(summary), paths.reports / "ingest.md")
    return summary
