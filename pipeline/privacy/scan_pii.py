"""``riskpipe scan-pii``: find direct identifiers left in files that should hold none.

Reads parquet (column by column, in Arrow), CSV, Excel, JSON, HTML, Markdown, XML, text and log files
and Jupyter notebooks (code, printed output, errors and the HTML tables data frames are shown as) and
runs the detectors of :mod:`pipeline.privacy.identifier_detectors` on them (NHS numbers, UPNs, full
postcodes, name columns, local IDs, exact dates of birth, listed names). Each finding gives file,
column, kind and count, never a value; a file that cannot be read is itself a finding. The same detectors
guard ``pseudonymise`` before it writes anything.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from io import StringIO
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from pipeline.privacy.identifier_detectors import (
    HEX_TOKEN,
    is_dob_column,
    is_local_id_column,
    is_name_column,
    read_names_list,
    scan_frame,
    scan_text,
    scan_value_counts,
)

log = logging.getLogger(__name__)

SCANNED_SUFFIXES = (".parquet", ".csv", ".xlsx", ".html", ".htm", ".json", ".md", ".xml", ".txt", ".log",
                    ".ipynb")
# JSON keys that name things (a model, a run, a feature), not people: a value there is a person's name only
# when it looks like one (two or more capitalised words), so riskpipe's own "name": "neet18" is no finding
THING_NAME_KEYS = frozenset({"name", "names"})
PERSON_NAME_SHAPE = r"[A-Z][a-z'’-]+(?: [A-Z][a-z'’-]+)+"
# kinds found from a table's column names, which free-text scanning of the same document cannot see
COLUMN_KINDS = frozenset({"name_column", "local_id", "date_of_birth"})


@dataclass(frozen=True)
class Finding:
    """``count`` values (rows, or text lines) in ``file``/``column`` hold an identifier of ``kind``."""

    file: str
    column: str
    kind: str
    count: int


def _scan_parquet(path: Path, names: frozenset[str]) -> list[tuple[str, str, int]]:
    """Column by column, counting distinct values in Arrow, so large files stay cheap."""
    found = []
    parquet = pq.ParquetFile(path)
    for field in parquet.schema_arrow:
        column = parquet.read(columns=[field.name]).column(0)
        if pa.types.is_list(column.type) or pa.types.is_large_list(column.type):
            column = pc.list_flatten(column)
        if pa.types.is_dictionary(column.type):
            column = column.cast(column.type.value_type)
        if pa.types.is_temporal(column.type):  # a date of birth stored as a date
            if is_dob_column(field.name) and len(column) - column.null_count:
                found.append((field.name, "date_of_birth", len(column) - column.null_count))
            continue
        if not (pa.types.is_string(column.type) or pa.types.is_large_string(column.type)
                or pa.types.is_integer(column.type)):
            continue
        if pa.types.is_integer(column.type):
            # every integer in a local-ID or date-of-birth column is one; elsewhere only 10-digit integers can be
            # NHS numbers
            if not (is_local_id_column(field.name) or is_dob_column(field.name)):
                column = column.filter(pc.and_(pc.greater_equal(column, 10**9), pc.less(column, 10**10)))
        else:  # drop tokens (and nulls) first, in Arrow's RE2: a token column is millions of distinct values
            column = column.filter(pc.invert(pc.match_substring_regex(column, f"^{HEX_TOKEN}$")))
        counts = pc.value_counts(column.drop_null())
        values = counts.field("values").to_pandas()
        if not pa.types.is_integer(column.type):
            values = values.astype("str")
        for kind, rows in scan_value_counts(values, counts.field("counts").to_numpy(), field.name,
                                            names).items():
            found.append((field.name, kind, rows))
    return found


def _json_columns(obj: object, key: str = "") -> Iterator[tuple[str, object]]:
    """Walk JSON, yielding (key path, scalar) pairs; list positions are not part of the path."""
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield from _json_columns(v, f"{key}.{k}" if key else str(k))
    elif isinstance(obj, list):
        for v in obj:
            yield from _json_columns(v, key)
    elif obj is not None:
        yield key or "(value)", obj


def _scan_json(path: Path, names: frozenset[str]) -> list[tuple[str, str, int]]:
    document = json.loads(path.read_text(encoding="utf-8"))
    pairs = pd.DataFrame(_json_columns(document), columns=["key", "value"])
    pairs["value"] = pairs["value"].astype("str")
    thing_name = pairs["key"].str.rsplit(".", n=1).str[-1].str.lower().isin(THING_NAME_KEYS)
    pairs = pairs[~thing_name | pairs["value"].str.fullmatch(PERSON_NAME_SHAPE)]
    by_name = pairs["key"].map(lambda k: is_name_column(k) or is_local_id_column(k) or is_dob_column(k))
    # one pass over every value whose key says nothing; only when it finds something is it scanned key by key
    # (a report holds thousands of keys, and scanning each alone costs seconds)
    plain = pairs[~by_name.astype(bool)]
    per_key = pairs if scan_frame(pd.DataFrame({"(json)": plain["value"].to_numpy()}), names) else pairs[by_name]
    found = []
    for key, group in per_key.groupby("key", sort=True):
        found += scan_frame(pd.DataFrame({key: group["value"].to_numpy()}), names)
    return found


def _notebook_parts(document: dict) -> tuple[str, list[str]]:
    """A notebook's text (cell sources, printed and plain-text outputs, errors) and its HTML outputs."""
    text, html = [], []

    def joined(value) -> str:
        return "".join(value) if isinstance(value, list) else str(value)

    for cell in document.get("cells", []):
        text.append(joined(cell.get("source", "")))
        for output in cell.get("outputs", []):
            text.append(joined(output.get("text", "")))
            text += [joined(line) for line in output.get("traceback", [])]
            data = output.get("data", {})
            text += [joined(v) for k, v in data.items() if k.startswith("text/") and k != "text/html"]
            text += [json.dumps(v) for k, v in data.items() if k.endswith("json")]
            if "text/html" in data:
                html.append(joined(data["text/html"]))
    return "\n".join(text), html


def _scan_html(text: str, names: frozenset[str]) -> list[tuple[str, str, int]]:
    """Identifiers in an HTML page's text, plus the column kinds of its tables."""
    found = scan_text(re.sub(r"<[^>]+>", " ", text), names)
    try:
        # lxml only: with no table in the page pandas would go on to bs4, which is not installed (ImportError)
        tables = pd.read_html(StringIO(text), flavor="lxml")
    except ValueError:  # no tables
        tables = []
    for table in tables:
        table.columns = [" ".join(map(str, c)) if isinstance(c, tuple) else str(c) for c in table.columns]
        found += [f for f in scan_frame(table.astype("str")) if f[1] in COLUMN_KINDS]
    return found


def _scan_notebook(path: Path, names: frozenset[str]) -> list[tuple[str, str, int]]:
    """A Jupyter notebook: its cells' code and every output (text, errors, HTML tables of data frames)."""
    text, html = _notebook_parts(json.loads(path.read_text(encoding="utf-8")))
    found = scan_text(text, names)
    for page in html:
        found += _scan_html(page, names)
    return found


def _markdown_tables(text: str) -> list[pd.DataFrame]:
    """Pipe tables in markdown (header row, then a ``|---|`` row, then rows)."""
    tables, lines = [], text.splitlines()
    for i in range(len(lines) - 1):
        if lines[i].lstrip().startswith("|") and re.fullmatch(r"\s*\|?[\s:|-]+\|?\s*", lines[i + 1]):
            header = [c.strip() for c in lines[i].strip().strip("|").split("|")]
            rows = [[c.strip() for c in row.strip().strip("|").split("|")] for row in lines[i + 2:]
                    if row.lstrip().startswith("|")]
            body = [r + [""] * (len(header) - len(r)) for r in rows]
            tables.append(pd.DataFrame([r[: len(header)] for r in body], columns=header, dtype="str"))
    return tables


def _scan_document(path: Path, names: frozenset[str]) -> list[tuple[str, str, int]]:
    """HTML/markdown/XML/text: identifiers in the text, plus name columns in HTML and markdown tables."""
    text = path.read_text(encoding="utf-8", errors="replace")
    if path.suffix.lower() in {".html", ".htm"}:
        return _scan_html(text, names)
    found = scan_text(text, names)
    tables = _markdown_tables(text) if path.suffix.lower() == ".md" else []
    for table in tables:
        found += [f for f in scan_frame(table.astype("str")) if f[1] in COLUMN_KINDS]
    return found


def _read_csv(path: Path) -> pd.DataFrame:
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return pd.read_csv(path, dtype="str", keep_default_na=False, encoding=encoding)
        except UnicodeDecodeError:
            continue
    raise ValueError(f"{path}: not UTF-8 or cp1252")


def scan_file(path: Path, names: frozenset[str] = frozenset()) -> list[Finding]:
    """Scan one file by its suffix; a file that cannot be read is itself a finding (fail closed)."""
    suffix = path.suffix.lower()
    try:
        if suffix == ".parquet":
            found = _scan_parquet(path, names)
        elif suffix == ".csv":
            found = scan_frame(_read_csv(path), names)
        elif suffix == ".xlsx":
            sheets = pd.read_excel(path, sheet_name=None, dtype="str", engine="openpyxl")
            found = [(f"{sheet}!{col}", kind, n) for sheet, frame in sheets.items()
                     for col, kind, n in scan_frame(frame.rename(columns=str), names)]
        elif suffix == ".json":
            found = _scan_json(path, names)
        elif suffix == ".ipynb":
            found = _scan_notebook(path, names)
        else:
            found = _scan_document(path, names)
    except Exception as exc:  # noqa: BLE001 - an unreadable file must not pass as clean
        log.error("%s: could not be scanned (%s)", path, type(exc).__name__)
        return [Finding(str(path), "(file)", "unreadable", 1)]
    return [Finding(str(path), column, kind, rows) for column, kind, rows in found]


def files_to_scan(paths: Iterable[Path]) -> list[Path]:
    """Expand directories recursively into the files with a scanned suffix."""
    files = []
    for path in map(Path, paths):
        if path.is_dir():
            found = (p for p in path.rglob("*") if p.is_file() and p.suffix.lower() in SCANNED_SUFFIXES)
            files += sorted(found)
        elif path.exists():
            files.append(path)
        else:
            raise FileNotFoundError(f"{path}: no such file or directory")
    return files


def read_names_file(path: Path) -> frozenset[str]:
    """Names to look for from a file of names, one per line (:func:`read_names_list`)."""
    return read_names_list(path.read_text(encoding="utf-8"))


def scan_paths(paths: Iterable[Path], names: frozenset[str] = frozenset()) -> list[Finding]:
    """Scan every file under ``paths``; returns all findings (empty when clean)."""
    findings = []
    for path in files_to_scan(paths):
        findings += scan_file(path, names)
    return findings
