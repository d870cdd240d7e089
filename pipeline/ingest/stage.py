"""The ingest stage end to end: plan tables from params, read, ingest, write staged/quarantine/report.

Called by ``riskpipe ingest``; all writes go through ``pipeline.core.io``. A file-level error stops
only its own table (no staged output for it, reported as failed); the caller exits non-zero.

Tables are independent, so with ``workers > 1`` they are ingested in that many processes, the
largest first; tables read from the same files (the four CIN census tables) stay together so each
XML file is still parsed and schema-validated once. Workers log through the parent's handlers,
and the report lists tables in plan order whatever order they finish in.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from concurrent.futures import as_completed
from datetime import date
from pathlib import Path

from pipeline.core import io
from pipeline.core.paths import ProjectPaths
from pipeline.core.workers import worker_pool
from pipeline.ingest.files import TablePlan, plan_ingest, read_table_frames
from pipeline.ingest.report import render_ingest_markdown, summarise_ingest
from pipeline.ingest.tables import ingest_table
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


def group_plans(plans: list[TablePlan]) -> list[list[int]]:
    """Positions of ``plans``, grouped by the files they read, largest input first.

    Tables sharing a file glob (the CIN census tables all read ``cin_*.xml``) form one group, so
    one process parses each file once; the rest are alone. Sizes are file bytes on disk.
    """
    groups: dict[tuple[Path, str], list[int]] = {}
    for i, plan in enumerate(plans):
        groups.setdefault((plan.raw_dir, plan.pattern), []).append(i)

    def size(group: list[int]) -> int:
        return sum(f.stat().st_size for f in plans[group[0]].files())

    return sorted(groups.values(), key=size, reverse=True)


def _ingest_group(
    plans: list[TablePlan], extract_date: date, paths: ProjectPaths, collection_year: int | None
) -> list[dict]:
    cache: dict = {}
    return [ingest_one(p, extract_date, paths, collection_year=collection_year, cache=cache) for p in plans]


def _ingest_in_processes(
    plans: list[TablePlan],
    ingest_group: Callable[[list[TablePlan]], list[dict]],
    workers: int,
    on_table: Callable[[str, int], None] | None,
) -> list[dict]:
    reports: list[dict | None] = [None] * len(plans)
    with worker_pool(workers) as pool:
        running = {pool.submit(ingest_group, [plans[i] for i in group]): group for group in group_plans(plans)}
        for done in as_completed(running):
            for i, report in zip(running[done], done.result(), strict=True):
                reports[i] = report
                if on_table:
                    on_table(plans[i].spec.name, len(plans))
    return reports


def run_ingest(
    cfg,
    paths: ProjectPaths,
    *,
    tables: list[str] | None = None,
    on_table: Callable[[str, int], None] | None = None,
    workers: int = 1,
) -> dict:
    """Ingest every enabled table and write ``reports/ingest.json`` and ``reports/ingest.md``.

    Args:
        cfg: the ``ingest`` params section.
        paths: project paths (raw folders in params are relative to ``paths.root``).
        tables: only these tables (default: all enabled).
        on_table: called with each table's name and the number of tables (before it is ingested
            when ``workers`` is 1, when it is done otherwise).
        workers: processes ingesting tables at once (1: in this process).

    Returns:
        The summary written to ``reports/ingest.json``; ``tables_failed`` lists file-level failures.
    """
    extract_date = cfg.extract_date or date.today()
    plans = plan_ingest(cfg, Path(paths.root), tables)
    ingest_group = functools.partial(
        _ingest_group, extract_date=extract_date, paths=paths, collection_year=cfg.collection_year
    )
    if workers > 1 and len(plans) > 1:
        reports = _ingest_in_processes(plans, ingest_group, workers, on_table)
    else:
        reports = []
        cache: dict = {}
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
