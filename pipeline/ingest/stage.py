"""The ingest stage end to end: plan tables from params, read, ingest, write staged/quarantine/report.

Called by ``riskpipe ingest``; all writes go through ``pipeline.core.io``. A file-level error stops
only its own table (no staged output for it, reported as failed); so does a declared table whose
files are absent (reported as missing) unless params say it is optional in this run. The caller
exits non-zero on either. Outputs land in staging folders and move into place at the end.

A table is read and ingested in blocks of about 16 MB of file (``pipeline.ingest.files.table_blocks``),
its accepted rows written to parquet one block at a time, so memory is bounded by a block whatever the
size of an extract; the outcome (rows, real lines, quarantine, report) is that of the whole table at once.

Tables are independent, so with ``workers > 1`` they are ingested in that many processes, the
largest first; tables read from the same files (the four CIN census tables) stay together so each
XML file is still parsed and schema-validated once. Workers log through the parent's handlers,
and the report lists tables in plan order whatever order they finish in.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Iterator
from concurrent.futures import as_completed
from datetime import date
from pathlib import Path
from typing import NamedTuple

import pandas as pd

from pipeline.core import io
from pipeline.core.paths import ProjectPaths
from pipeline.core.workers import worker_pool
from pipeline.ingest.files import TablePlan, in_one_block, plan_ingest, table_blocks
from pipeline.ingest.inventory import file_inventory
from pipeline.ingest.report import render_ingest_markdown, summarise_ingest
from pipeline.ingest.tables import TableIngest
from pipeline.sources.errors import IngestError

log = logging.getLogger(__name__)


class OutputFolders(NamedTuple):
    """Where one run writes: the project folder (for paths in messages) and its staging folders."""

    root: Path
    staged: Path
    quarantine: Path


def _shown(path: Path, root: Path) -> str:
    """``path`` relative to the project folder when inside it (no machine path in reports)."""
    return path.relative_to(root).as_posix() if path.is_relative_to(root) else path.name


def missing_entry(plan: TablePlan, root: Path) -> dict:
    """The report entry of a table none of whose files is there: an error unless params allow it."""
    spec = plan.spec
    folder = _shown(plan.raw_dir, root)
    if plan.optional:
        return {
            "table": spec.name,
            "source": spec.source,
            "status": "no_input",
            "error": f"no files match {plan.pattern} under {folder} (optional in this run)",
        }
    if not plan.raw_dir.is_dir():
        problem = f"raw folder {folder} does not exist (ingest.sources.{spec.source}.raw_dir)"
    else:
        problem = f"no file matches {plan.pattern} under {folder}: the extract is missing"
    return {
        "table": spec.name,
        "source": spec.source,
        "status": "missing",
        "error": f"{problem}; copy it in (or run `riskpipe synth` for a demo county), or if it is not part "
        f"of this run set ingest.sources.{spec.source}.optional_tables: [{spec.name}] "
        f"(or optional: true for the whole source) in params.yaml",
    }


def _warnings(rep: dict, spec) -> list[str]:
    """Files that gave no data rows: a census year or a return that silently contributes nothing."""
    out = []
    for f in rep["files"]:
        # a CLD submission naming no linked person gives no cld_carer_link rows, yet holds data
        if f["rows"] == 0 and spec.reader != "cld_links":
            year = f" (census {f['census_date'][:4]} has no rows in {spec.name})" if f.get("census_date") else ""
            out.append(f"{f['file']}: header only, no data rows{year}")
    return out


def log_inventory(inventory: dict) -> None:
    """Every file in the log: each ignored one as a warning, taken ones per table (each at debug level)."""
    by_table: dict[str, list[str]] = {}
    for f in inventory["taken"]:
        by_table.setdefault(f["table"], []).append(f["file"])
        log.debug("taken: %s (%s)", f["file"], f["table"])
    for table, names in by_table.items():
        shown = ", ".join(names[:3]) + (" …" if len(names) > 3 else "")
        log.info("%s: %d file(s) taken (%s)", table, len(names), shown)
    for f in inventory["ignored"]:
        log.warning("ignored: %s (%s)", f["file"], f["reason"])


def ingest_one(
    plan: TablePlan,
    extract_date: date,
    out: OutputFolders,
    *,
    collection_year: int | None,
    cache: dict,
) -> dict:
    """Ingest one planned table into the run's staging folders; returns its report entry."""
    spec = plan.spec
    files = plan.files()
    if not files:
        entry = missing_entry(plan, out.root)
        log_missing = log.warning if entry["status"] == "no_input" else log.error
        log_missing("%s: %s", spec.name, entry["error"])
        return entry
    run = TableIngest(spec, extract_date, in_blocks=not in_one_block(files))
    quarantined: list[pd.DataFrame] = []

    def accepted_blocks() -> Iterator[pd.DataFrame]:
        # block by block: only one block of raw text is held, accepted rows go straight to the parquet file
        for frames in table_blocks(spec, files, plan.raw_dir, collection_year=collection_year, cache=cache):
            accepted, rejected = run.add(frames)
            quarantined.append(rejected)
            yield accepted
        run.finish()  # a file's date-format check, over all its blocks: raising here leaves no parquet file

    try:
        io.write_parquet_parts(accepted_blocks(), out.staged / f"{spec.name}.parquet")
        rep = run.finish()
    except IngestError as exc:
        log.error("%s: %s", spec.name, exc)
        return {"table": spec.name, "source": spec.source, "status": "failed", "error": str(exc)}
    # quarantined rows are few (a share of a percent): gathered, then written as one file
    io.write_csv(pd.concat(quarantined, ignore_index=True), out.quarantine / f"{spec.name}.csv")
    warnings = _warnings(rep, spec)
    if warnings:
        rep = {**rep, "warnings": warnings}
        for warning in warnings:
            log.warning("%s: %s", spec.name, warning)
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
        return sum(f.stat().st_size for f in plans[group[0]].files() if f.exists())  # a broken link: 0

    return sorted(groups.values(), key=size, reverse=True)


def _ingest_group(
    plans: list[TablePlan], extract_date: date, out: OutputFolders, collection_year: int | None
) -> list[dict]:
    cache: dict = {}
    return [ingest_one(p, extract_date, out, collection_year=collection_year, cache=cache) for p in plans]


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

    Outputs are written to hidden staging folders and moved into ``data/staged``/``data/quarantine``
    only once every table has run; a table that failed (or whose files are missing) has its previous
    outputs removed, so a later stage can never read a stale table. An unknown ``--table`` is an
    error before anything is written (the previous report stays).

    Args:
        cfg: the ``ingest`` params section.
        paths: project paths (raw folders in params are relative to ``paths.root``).
        tables: only these tables (default: all enabled).
        on_table: called with each table's name and the number of tables (before it is ingested
            when ``workers`` is 1, when it is done otherwise).
        workers: processes ingesting tables at once (1: in this process).

    Returns:
        The summary written to ``reports/ingest.json``; ``tables_failed`` lists file-level failures
        and missing extracts, ``files`` every file taken and ignored, ``warnings`` header-only files.

    Raises:
        IngestError: params or ``tables`` name an unknown or disabled table.
    """
    extract_date = cfg.extract_date or date.today()
    root = Path(paths.root)
    enabled = plan_ingest(cfg, root)
    plans = plan_ingest(cfg, root, tables)
    inventory = file_inventory(enabled, {p.spec.name for p in plans} if tables else None)
    log_inventory(inventory)
    for target in (paths.staged, paths.quarantine):
        io.clear_staging_leftovers(target)
    with io.staging_folder(paths.staged) as staged, io.staging_folder(paths.quarantine) as quarantine:
        out = OutputFolders(root, staged, quarantine)
        ingest_group = functools.partial(
            _ingest_group, extract_date=extract_date, out=out, collection_year=cfg.collection_year
        )
        if workers > 1 and len(plans) > 1:
            reports = _ingest_in_processes(plans, ingest_group, workers, on_table)
        else:
            reports = []
            cache: dict = {}
            for plan in plans:
                if on_table:
                    on_table(plan.spec.name, len(plans))
                reports.append(ingest_one(plan, extract_date, out, collection_year=cfg.collection_year, cache=cache))
        for rep in reports:
            name = rep["table"]
            if rep["status"] == "ok":
                io.move_into([staged / f"{name}.parquet"], paths.staged)
                io.move_into([quarantine / f"{name}.csv"], paths.quarantine)
            else:  # a stale output from an earlier run must not stand in for this run's
                io.remove_files([paths.staged_table(name), paths.quarantine_table(name)])
    summary = summarise_ingest(reports, extract_date, inventory)
    io.write_json(summary, paths.reports / "ingest.json")
    io.write_text(render_ingest_markdown(summary), paths.reports / "ingest.md")
    return summary
