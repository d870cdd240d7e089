"""Plan each staged table and read its raw files (with ``pipeline.ingest.inventory``, which lists
them, the only place ingest touches data/raw).

Each file becomes one text frame, or a large CSV one per block of records (:func:`table_blocks`): source
column names, ``_source_file``, ``_source_row`` = the real line, ``_reader_flags`` from the cell checks of
``pipeline.ingest.cells``, the columns its path implies; for ``pipeline.ingest.tables``.
``_source_file`` is the path relative to the source's raw folder (``ssda903/2024/header.csv``), so
files sharing a name in different year folders stay distinguishable and no machine path is recorded.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from pipeline.core.config import IngestSource
from pipeline.ingest.cells import check_cells
from pipeline.ingest.cld_links import linked_person_rows
from pipeline.ingest.csv_blocks import BLOCK_BYTES, record_blocks, utf8_encoding
from pipeline.ingest.inventory import check_inside, matches, raw_files
from pipeline.sources.cin_census import cin_collection_year, flatten_cin, validate_cin
from pipeline.sources.encoding import decode_bytes, encoding_evidence
from pipeline.sources.errors import IngestError
from pipeline.sources.layout import (
    add_path_columns,
    census_date_from_name,
    collection_year_from_path,
    infer_collection_year,
)
from pipeline.sources.readers import first_line, parse_dates, parse_xml, read_csv_text
from pipeline.sources.registry import all_sources, all_tables
from pipeline.sources.spec import TableSpec
from pipeline.sources.ssda903 import flag_sex_code_year, flatten_903_xml

MAX_LISTED_SCHEMA_ERRORS = 200


@dataclass(frozen=True)
class TablePlan:
    """One enabled table: its spec, the raw folder of its source, the glob of its files, and whether
    params let its files be absent in this run (``ingest.sources.<source>.optional``/``optional_tables``),
    or its spec declares it an extract many councils lack (``TableSpec.optional``)."""

    spec: TableSpec
    raw_dir: Path
    pattern: str
    optional: bool = False

    def files(self) -> list[Path]:
        """Files under ``raw_dir`` matching ``pattern``, case-insensitively (see :func:`matches`)."""
        return [self.raw_dir / rel for rel in raw_files(self.raw_dir) if matches(rel, self.pattern)]


def plan_ingest(cfg, root: Path, only: list[str] | None = None) -> list[TablePlan]:
    """Enabled tables from the ``ingest`` params section, in source order.

    Raises:
        IngestError: params (or ``only``, from ``--table``) name a table that does not exist or is
            not enabled.
    """
    sources = all_sources()
    unknown_sources = sorted(set(cfg.sources) - set(sources))
    if unknown_sources:
        raise IngestError(
            "params.yaml",
            f"ingest.sources names unknown source(s): {', '.join(unknown_sources)}; known: {', '.join(sources)}",
        )
    plans = []
    for name, source in sources.items():
        section = cfg.sources.get(name, IngestSource())
        specs = source.tables
        own = {s.name for s in specs}
        enabled = section.tables if section.tables is not None else [s.name for s in specs]
        # a files entry naming another source's table would be silently ignored: only this source's count
        named = (enabled, section.files, section.optional_tables)
        unknown = [t for group in named for t in sorted(set(group) - own)]
        if unknown:
            raise IngestError(
                "params.yaml",
                f"ingest.sources.{name} names unknown table(s): {', '.join(unknown)}; "
                f"source {name!r} has: {', '.join(s.name for s in specs)}",
            )
        raw_dir = Path(section.raw_dir or source.raw_dir)
        raw_dir = raw_dir if raw_dir.is_absolute() else root / raw_dir
        plans += [
            TablePlan(
                s,
                raw_dir,
                section.files.get(s.name, s.files),
                optional=section.optional or s.name in section.optional_tables or s.optional,
            )
            for s in specs
            if s.name in enabled
        ]
    if only:
        names = [p.spec.name for p in plans]
        missing = sorted(set(only) - set(names))
        if missing:
            known = set(all_tables())
            why = "not a table" if not set(missing) & known else "not enabled in params.yaml ingest.sources"
            raise IngestError(
                "--table", f"{', '.join(missing)}: {why}; enabled tables: {', '.join(names)}"
            )
        plans = [p for p in plans if p.spec.name in only]
    return plans


def _declared(frame: pd.DataFrame, spec: TableSpec) -> list[str]:
    """The columns of ``frame`` the spec declares (matched case-insensitively, as ingest matches them)."""
    declared = {c.source.lower() for c in spec.columns}
    return [c for c in frame.columns if str(c).lower() in declared]


def _read_bytes(path: Path, file: str) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise IngestError(file, f"unreadable ({exc.strerror})") from None


def _sibling_episode_year(path: Path, raw_dir: Path) -> int | None:
    siblings = [p for p in path.parent.iterdir() if p.name.lower() == "episodes.csv"]
    if not siblings:
        return None
    file = siblings[0].relative_to(raw_dir).as_posix()
    frame = read_csv_text(decode_bytes(_read_bytes(siblings[0], file), file)[0], file)
    cols = {c.upper(): c for c in frame.columns}
    dates = [parse_dates(frame[cols[c]]) for c in ("DECOM", "DEC") if c in cols]
    return infer_collection_year(pd.concat(dates)) if dates else None


def _collection_year(path: Path, raw_dir: Path, default: int | None, episodes: pd.DataFrame | None) -> int:
    year = collection_year_from_path(path) or default
    if year is None and episodes is not None:
        year = infer_collection_year(
            pd.concat([parse_dates(episodes["DECOM"]), parse_dates(episodes["DEC"])])
        )
    if year is None:
        year = _sibling_episode_year(path, raw_dir)
    if year is None:
        raise IngestError(
            path.relative_to(raw_dir).as_posix(),
            "no collection year: put the file in a YYYY folder or set ingest.collection_year",
        )
    return year


def _read_xml(
    spec: TableSpec, path: Path, file: str, raw_dir: Path, default_year: int | None, cache: dict
) -> pd.DataFrame:
    if path not in cache:
        tree = parse_xml(_read_bytes(path, file), file)
        root = tree.getroot().tag
        if root == "Message":
            year = cin_collection_year(tree, file)
            errors = validate_cin(tree, year)
            schema = "CIN_schema_2024.xsd" if year <= 2024 else "CIN_schema_2026.xsd"
            cache[path] = (flatten_cin(tree, file, errors), year, "cin_xml", schema, errors)
        elif root == "EXPSSDA903":
            frames = flatten_903_xml(tree, file)
            year = _collection_year(path, raw_dir, default_year, frames["cla_episode"])
            cache[path] = (frames, year, "ssda903_xml", None, None)
        else:
            raise IngestError(
                file, f"wrong schema: root element <{root}> is neither a CIN census nor SSDA903"
            )
    frames, year, fmt, schema, errors = cache[path]
    if spec.name not in frames:
        raise IngestError(file, f"is a {fmt} file, which holds no {spec.name} table")
    frame = check_cells(frames[spec.name], _declared(frames[spec.name], spec), header_rows=False)
    frame = add_path_columns(frame, spec.from_path, census_date=None, collection_year=year)
    if spec.name in ("cla_header", "cla_uasc"):
        frame = flag_sex_code_year(frame, year)
    frame.attrs = {"file": file, "format": fmt, "collection_year": year, "schema": schema}
    if errors is not None:
        mine = [
            {k: e[k] for k in ("line", "element", "rule")} for e in errors if e["table"] in ("", spec.name)
        ]
        frame.attrs["schema_errors"] = {"count": len(mine), "first": mine[:MAX_LISTED_SCHEMA_ERRORS]}
    return frame


def _csv_frame(
    spec: TableSpec, path: Path, file: str, raw_dir: Path, default_year: int | None, frame: pd.DataFrame,
    encoding: str, evidence: str,
) -> pd.DataFrame:
    """A CSV text frame (the whole file or one block of it) with its cell checks, path columns and attrs."""
    if spec.reader == "cld_links":  # one row per CLD linked person (pipeline/ingest/cld_links.py)
        frame = linked_person_rows(frame, file)
    frame = check_cells(frame, _declared(frame, spec))
    attrs = {**frame.attrs, "encoding": encoding, "encoding_evidence": evidence, "format": "csv"}
    census_date = year = None
    if "census_date" in spec.from_path:
        census_date = census_date_from_name(path.name)
        if census_date is None:
            raise IngestError(file, "no census year in the file name (expected YYYY_spring_<table>.csv)")
        attrs["census_date"] = census_date.isoformat()
    if "collection_year" in spec.from_path:
        episodes = frame if spec.name == "cla_episode" and {"DECOM", "DEC"} <= set(frame.columns) else None
        year = attrs["collection_year"] = _collection_year(path, raw_dir, default_year, episodes)
    frame = add_path_columns(frame, spec.from_path, census_date=census_date, collection_year=year)
    if spec.name in ("cla_header", "cla_uasc"):
        frame = flag_sex_code_year(frame, year)
    frame.attrs = attrs
    return frame


def _read_csv(
    spec: TableSpec, path: Path, file: str, raw_dir: Path, default_year: int | None
) -> pd.DataFrame:
    data = _read_bytes(path, file)
    text, encoding = decode_bytes(data, file)
    frame = read_csv_text(text, file)
    return _csv_frame(spec, path, file, raw_dir, default_year, frame, encoding, encoding_evidence(data, encoding))


def _read_csv_blocks(
    spec: TableSpec, path: Path, file: str, raw_dir: Path, default_year: int | None, block_bytes: int
) -> Iterator[tuple[pd.DataFrame, int]]:
    """``(frame, bytes)`` per block of whole records of a UTF-8 file (``pipeline.ingest.csv_blocks``),
    numbered by real line across blocks; any other encoding is read whole (one frame)."""
    try:
        found = utf8_encoding(path, block_bytes)
    except OSError as exc:
        raise IngestError(file, f"unreadable ({exc.strerror})") from None
    if found is None:
        yield _read_csv(spec, path, file, raw_dir, default_year), _size(path)
        return
    encoding, evidence = found
    header, rows_before = None, 0
    for data, lines_before in record_blocks(path, skip_bom=encoding == "utf-8-sig", block_bytes=block_bytes):
        text = data.decode("utf-8")
        if header is None:
            header = first_line(text.lstrip("\r\n"))
            frame = read_csv_text(text, file)
        else:  # the header again on line 1, the block from line 2: lines shift by (lines before + 1) - 2
            frame = read_csv_text(f"{header}\n{text}", file, line_offset=lines_before - 1, rows_before=rows_before)
        rows_before += len(frame)
        # counted as a full block: each block of a large file is ingested on its own
        frame = _csv_frame(spec, path, file, raw_dir, default_year, frame, encoding, evidence)
        yield frame, max(len(data), block_bytes)


def _file_frames(
    spec: TableSpec, path: Path, raw_dir: Path, default_year: int | None, cache: dict, block_bytes: int | None
) -> Iterator[tuple[pd.DataFrame, int]]:
    """``(frame, bytes read)`` for one file: one frame, or one per block of a CSV larger than ``block_bytes``."""
    file = path.relative_to(raw_dir).as_posix() if path.is_relative_to(raw_dir) else path.name
    check_inside(path, raw_dir, file)
    size = _size(path)  # 0 for a broken link: reading it whole gives the error naming the file
    if path.suffix.lower() == ".xml":
        yield _read_xml(spec, path, file, raw_dir, default_year, cache), size
    # a collection year may be inferred from a whole file's dates (SSDA903 CSVs, small): those are read whole
    elif block_bytes is not None and "collection_year" not in spec.from_path and size > block_bytes:
        yield from _read_csv_blocks(spec, path, file, raw_dir, default_year, block_bytes)
    else:
        yield _read_csv(spec, path, file, raw_dir, default_year), size


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def read_table_frames(
    spec: TableSpec,
    files: list[Path],
    raw_dir: Path,
    *,
    collection_year: int | None = None,
    cache: dict | None = None,
) -> list[pd.DataFrame]:
    """Read every file of one table into text frames (one per file), each file whole.

    Args:
        spec: the table's declaration.
        files: its files, under ``raw_dir``.
        raw_dir: the source's raw folder (``_source_file`` is relative to it).
        collection_year: year for SSDA903/CIN files whose path and content say none.
        cache: shared between tables so one XML file is parsed and schema-validated once.

    Raises:
        IngestError: a file is unreadable, undecodable, empty, malformed, of the wrong kind, or a
            symbolic link leading outside ``raw_dir``.
    """
    cache = {} if cache is None else cache
    return [f for path in files for f, _ in _file_frames(spec, path, raw_dir, collection_year, cache, None)]


def in_one_block(files: list[Path], block_bytes: int = BLOCK_BYTES) -> bool:
    """Whether :func:`table_blocks` gives these files as one block (their bytes together fit in one)."""
    return sum(_size(p) for p in files) <= block_bytes


def table_blocks(
    spec: TableSpec,
    files: list[Path],
    raw_dir: Path,
    *,
    collection_year: int | None = None,
    cache: dict | None = None,
    block_bytes: int = BLOCK_BYTES,
) -> Iterator[list[pd.DataFrame]]:
    """The text frames of one table's files in blocks of about ``block_bytes`` of file, in file order.

    Small files are read whole and gathered into one block until it holds ``block_bytes``; a CSV file
    larger than that is read in blocks of whole records (``pipeline.ingest.csv_blocks``), each a frame
    whose ``_source_row`` is the real line in the file, so memory is bounded by the block, not the file.
    The frames of all blocks together are those of :func:`read_table_frames`, a large file cut into
    several. Arguments and errors are :func:`read_table_frames`'; an error in a later block is raised
    when that block is read.
    """
    cache = {} if cache is None else cache
    block: list[pd.DataFrame] = []
    held = 0
    for path in files:
        for frame, size in _file_frames(spec, path, raw_dir, collection_year, cache, block_bytes):
            block.append(frame)
            held += size
            if held >= block_bytes:
                yield block
                block, held = [], 0
    if block:
        yield block
