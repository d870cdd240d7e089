"""The pseudonymise stage end to end: every staged table through its spec, in worker processes, fail closed.

Called by ``riskpipe pseudonymise``; reads ``data/staged/``, writes ``data/pseudo/``,
``data/pseudo_key.json`` (the key's fingerprint, :mod:`pipeline.privacy.fingerprint`) and
``reports/pseudonymise.json`` through ``pipeline.core.io``. Which spec applies to a staged table comes
from the source registry (the same one ingest uses): a table no source declares is not written. Each table
is read, pseudonymised and written in batches of ``BATCH_ROWS`` rows (its rows are independent), so memory
is bounded by a batch; a batch that fails leaves no output for its table.

Each batch hashes its own distinct values with a plain :class:`TokenMaker` (``remember`` off). A remembering
maker looked each batch's values up among every token made so far, building a hash set of all of them on each
call, so the cost grew with the square of a table's rows: ``hes_outpatient`` holds 2.9 million unique event
keys at 100,000 people, so at 1,000,000 each of its batches searched up to 29 million, several times what
hashing the batch's values again costs. Nothing is remembered now: the work is linear in the rows, memory is
bounded by a batch, and the tokens are the same.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import as_completed
from pathlib import Path

import pandas as pd

from pipeline.core.io import read_csv_table, read_parquet, read_parquet_batches, write_json, write_parquet_parts
from pipeline.core.paths import ProjectPaths
from pipeline.core.progress import make_progress
from pipeline.core.workers import worker_pool
from pipeline.privacy.actions import PseudonymisationError
from pipeline.privacy.fingerprint import key_record
from pipeline.privacy.keys import PseudonymisationKey
from pipeline.privacy.tokens import TokenMaker
from pipeline.pseudonymise.tables import build_imd_by_postcode, merge_summaries, pseudonymise_table, summarise_table
from pipeline.sources.registry import all_tables, get_source
from pipeline.sources.spec import TableSpec

log = logging.getLogger(__name__)

REFERENCE_SOURCE = "reference"  # places, not people: its tables are read for the IMD lookup, not output
IMD_TABLES = ("postcode_lsoa", "lsoa_imd")  # the reference tables the IMD lookup is built from
BATCH_ROWS = 250_000  # rows pseudonymised at a time: memory is bounded by the batch, not the table


def load_imd_by_postcode(paths: ProjectPaths) -> pd.Series | None:
    """The IMD lookup from the staged reference tables, else from the reference source's raw files.

    The tables (``postcode_lsoa``, ``lsoa_imd``), their files and their raw folder are the reference
    source's in the registry. Returns None, with a warning, when neither is there: deciles are then
    NA, not an error.
    """
    reference = get_source(REFERENCE_SOURCE)
    # only the two tables the lookup is made of: the reference source's other tables (lsoa_ward) are optional
    specs = [reference.table(name) for name in IMD_TABLES]
    staged = {spec.name: paths.staged_table(spec.name) for spec in specs}
    raw = {spec.name: paths.root / reference.raw_dir / spec.files for spec in specs}
    # build_imd_by_postcode's parameters are named after the tables (postcode_lsoa, lsoa_imd)
    if all(p.exists() for p in staged.values()):
        return build_imd_by_postcode(**{name: read_parquet(p) for name, p in staged.items()})
    if all(p.exists() for p in raw.values()):
        return build_imd_by_postcode(**{name: read_csv_table(p) for name, p in raw.items()})
    log.warning("IMD lookup (%s) not found: lsoa_imd_decile will be empty", ", ".join(staged))
    return None


def _pseudonymise_file(path: Path, specs: Mapping[str, TableSpec], key: TokenMaker,
                       imd_by_postcode: pd.Series | None, paths: ProjectPaths) -> dict:
    name = path.stem
    if name not in specs:
        raise PseudonymisationError(f"{name}: no TableSpec declares this staged table")
    summaries: list[dict] = []

    def pseudonymised_batches() -> Iterator[pd.DataFrame]:
        # batch by batch (the rows of a table are independent): a table of millions of rows is never held whole
        for staged in read_parquet_batches(path, BATCH_ROWS):
            out = pseudonymise_table(staged, specs[name], key, imd_by_postcode)
            summaries.append(summarise_table(staged, out, specs[name]))
            yield out

    write_parquet_parts(pseudonymised_batches(), paths.pseudo_table(name))
    return merge_summaries(summaries)


def _pseudonymise_or_fail(path: Path, specs: Mapping[str, TableSpec], key: TokenMaker,
                          imd_by_postcode: pd.Series | None, paths: ProjectPaths) -> tuple[dict | None, str | None]:
    """(summary, None), or (None, message) with no output left behind: fail closed per table."""
    try:
        return _pseudonymise_file(path, specs, key, imd_by_postcode, paths), None
    except Exception as exc:  # noqa: BLE001 - fail closed per table, never quoting a value
        message = str(exc) if isinstance(exc, PseudonymisationError) else type(exc).__name__
        log.error("%s: not pseudonymised, no output written (%s)", path.stem, message)
        paths.pseudo_table(path.stem).unlink(missing_ok=True)
        return None, message


_worker: dict = {}  # in a worker process: its TokenMaker, the IMD lookup and the specs


def _start_worker(key: bytes, imd_by_postcode: pd.Series | None, specs: Mapping[str, TableSpec]) -> None:
    # the key reaches workers by fork (or the start method's own pipe), never through a file or a log;
    # the maker remembers nothing (see the module docstring): each batch hashes its distinct values
    _worker.update(maker=TokenMaker(key), imd=imd_by_postcode, specs=specs)


def _pseudonymise_in_worker(path: Path, paths: ProjectPaths) -> tuple[dict | None, str | None]:
    return _pseudonymise_or_fail(path, _worker["specs"], _worker["maker"], _worker["imd"], paths)


def _in_processes(staged: list[Path], specs: Mapping[str, TableSpec], key: bytes,
                  imd_by_postcode: pd.Series | None, paths: ProjectPaths, workers: int,
                  advance: Callable[[str], None]) -> dict[str, tuple[dict | None, str | None]]:
    """Pseudonymise tables in ``workers`` processes, largest first; each worker has its own TokenMaker."""
    results = {}
    with worker_pool(workers, _start_worker, (bytes(key), imd_by_postcode, dict(specs))) as pool:
        largest_first = sorted(staged, key=lambda p: p.stat().st_size, reverse=True)
        running = {pool.submit(_pseudonymise_in_worker, path, paths): path for path in largest_first}
        for done in as_completed(running):
            results[running[done].stem] = done.result()
            advance(running[done].stem)
    return results


def run_pseudonymise(paths: ProjectPaths, key: bytes, *, workers: int | None = None) -> dict:
    """Pseudonymise each ``data/staged/*.parquet`` into ``data/pseudo/``; write ``reports/pseudonymise.json``.

    A table that fails writes nothing (a stale output from an earlier run is removed) and is listed
    under ``failed`` with a message naming columns only; the others still run. With ``workers``
    above 1 (default: 2 where there are two cores), tables are pseudonymised in that many processes,
    with the same outputs and report.

    Returns:
        ``{"key_id", "tables": {name: summary}, "failed": {name: message}, "reference_tables_not_output"}``.
        Tables of the reference source (lookups: postcodes are places) feed the IMD deciles and are not
        copied to ``data/pseudo/``; a source holding no person records of its own (interventions) is
        pseudonymised like any other. A staged table no source declares fails.
    """
    staged = sorted(paths.staged.glob("*.parquet"))
    if not staged:
        raise PseudonymisationError(f"no staged tables under {paths.staged} (run `riskpipe ingest` first)")
    # the key's fingerprint, marked unfinished until the last table is written: a run cut short half way
    # (tables under two keys side by side) is refused by every stage that reads tokens
    write_json(key_record(key, complete=False), paths.pseudo_key_record)
    specs = all_tables()
    # reference lookups are places, not people, and stay out of data/pseudo; every other source's tables are
    # output, including those of a source holding no person records (interventions: events mapped to people later)
    reference = [p for p in staged if p.stem in specs and specs[p.stem].source == REFERENCE_SOURCE]
    staged = [p for p in staged if p not in reference]
    imd_by_postcode = load_imd_by_postcode(paths)
    workers = min(2, os.cpu_count() or 1) if workers is None else workers
    with make_progress() as progress:
        task = progress.add_task("pseudonymise", total=len(staged))

        def advance(name: str) -> None:
            progress.update(task, description=f"pseudonymise {name}", advance=1)

        if workers > 1 and len(staged) > 1:
            results = _in_processes(staged, specs, key, imd_by_postcode, paths, workers, advance)
        else:
            # one maker for the run, remembering nothing (see the module docstring)
            maker, results = TokenMaker(key), {}
            for path in staged:
                results[path.stem] = _pseudonymise_or_fail(path, specs, maker, imd_by_postcode, paths)
                advance(path.stem)
    tables = {p.stem: results[p.stem][0] for p in staged if results[p.stem][1] is None}
    failed = {p.stem: results[p.stem][1] for p in staged if results[p.stem][1] is not None}
    report = {"key_id": PseudonymisationKey(bytes(key)).key_id, "tables": tables, "failed": failed,
              "reference_tables_not_output": [p.stem for p in reference]}
    write_json(report, paths.reports / "pseudonymise.json")
    write_json(key_record(key, complete=True), paths.pseudo_key_record)
    return report
