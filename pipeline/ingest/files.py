"""Plan each staged table and read its raw files (with ``pipeline.ingest.inventory``, which lists
them, the only place ingest touches data/raw).

Each file becomes one text frame (source column names, ``_source_file``, ``_source_row`` = the real
line, ``_reader_flags`` from the cell checks of ``pipeline.ingest.cells``, the columns its path implies)
for ``pipeline.ingest.tables.ingest_table``. ``_source_file`` is the path relative to the source's
raw folder (``ssda903/2024/header.csv``), so files sharing a name in different year folders stay
distinguishable and no machine path is recorded.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from pipeline.core.config import IngestSource
from pipeline.ingest.cells import check_cells
from pipeline.ingest.cld_links import linked_person_rows
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
from pipeline.sources.readers import parse_dates, parse_xml, read_csv_text
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


def _read_csv(
    spec: TableSpec, path: Path, file: str, raw_dir: Path, default_year: int | None
) -> pd.DataFrame:
    data = _read_bytes(path, file)
    text, encoding = decode_bytes(data, file)
    frame = read_csv_text(text, file)
    if spec.reader == "cld_links":  # one row per CLD linked person (pipeline/ingest/cld_links.py)
        frame = linked_person_rows(frame, file)
    frame = check_cells(frame, _declared(frame, spec))
    evidence = encoding_evidence(data, encoding)
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


def read_table_frames(
    spec: TableSpec,
    files: list[Path],
    raw_dir: Path,
    *,
    collection_year: int | None = None,
    cache: dict | None = None,
) -> list[pd.DataFrame]:
    """Read every file of one table into text frames (one per file).

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
    frames = []
    for path in files:
        file = path.relative_to(raw_dir).as_posix() if path.is_relative_to(raw_dir) else path.name
        check_inside(path, raw_dir, file)
        if path.suffix.lower() == ".xml":
            frames.append(_read_xml(spec, path, file, raw_dir, collection_year, cache))
        else:
            frames.append(_read_csv(spec, path, file, raw_dir, collection_year))
    return frames
