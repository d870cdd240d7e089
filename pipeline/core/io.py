"""The only module that reads and writes files.

Stage code receives and returns DataFrames; the CLI calls these functions at the edges.
Writes are atomic (temporary file, then rename) so an interrupted stage never leaves a
half-written output that a later stage could mistake for a good one.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import yaml


@contextlib.contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it over ``path`` on success."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.replace(tmp_path, path)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


@contextlib.contextmanager
def staging_folder(target: Path) -> Iterator[Path]:
    """Yield an empty hidden folder beside the folder ``target``; it and anything left in it go at the end.

    Files are written here first and moved into ``target`` with :func:`move_into` only once they may
    exist (a risk list only after its audit-log entry is written).
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}.", suffix=".staging"))
    try:
        yield staging
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def clear_staging_leftovers(target: Path) -> list[Path]:
    """Remove staging folders of ``target`` left by a run that was killed outright (no ``finally`` ran)."""
    target = Path(target)
    leftovers = sorted(target.parent.glob(f".{target.name}.*.staging"))
    for leftover in leftovers:
        shutil.rmtree(leftover, ignore_errors=True)
    return leftovers


def remove_files(files: list[Path]) -> None:
    """Delete ``files`` where they exist (stale outputs a failed run must not leave for the next stage)."""
    for file in files:
        Path(file).unlink(missing_ok=True)


def move_into(files: list[Path], target: Path) -> list[Path]:
    """Move ``files`` into the folder ``target`` (same file system: each move is one atomic rename)."""
    target = Path(target)
    target.mkdir(parents=True, exist_ok=True)
    moved = []
    for file in files:
        os.replace(file, target / Path(file).name)
        moved.append(target / Path(file).name)
    return moved


def write_parquet(df: pd.DataFrame, path: Path) -> Path:
    """Write ``df`` to parquet (no pandas index), atomically."""
    with atomic_path(path) as tmp:
        table = pa.Table.from_pandas(df, preserve_index=False)
        pq.write_table(table, tmp, compression="zstd")
    return Path(path)


def write_parquet_parts(parts: Iterable[pd.DataFrame], path: Path) -> Path:
    """Write frames with the same columns to one parquet file, one row group (or more) each, atomically,
    so a table of millions of rows is never held whole. Later frames are cast to the first's column types
    (a column null throughout one frame has no type of its own). ``parts`` must yield at least one frame;
    an error raised while it yields leaves no file behind.
    """
    with atomic_path(path) as tmp:
        writer = None
        try:
            for df in parts:
                table = pa.Table.from_pandas(df, preserve_index=False)
                if writer is None:
                    writer = pq.ParquetWriter(tmp, table.schema, compression="zstd")
                elif not table.schema.equals(writer.schema, check_metadata=False):
                    table = table.cast(writer.schema)
                writer.write_table(table)
        finally:
            if writer is not None:
                writer.close()
    return Path(path)


def read_parquet(path: Path, columns: list[str] | None = None) -> pd.DataFrame:
    return pd.read_parquet(path, columns=columns)


def read_parquet_batches(path: Path, rows: int) -> Iterator[pd.DataFrame]:
    """A parquet file as frames of at most ``rows`` rows each, in order, with the dtypes ``read_parquet``
    gives (the file's pandas metadata); a file of no rows gives one empty frame."""
    file = pq.ParquetFile(path)
    if file.metadata.num_rows == 0:
        yield pd.read_parquet(path)
        return
    for batch in file.iter_batches(batch_size=rows):
        yield pa.Table.from_batches([batch]).to_pandas()


def write_csv(df: pd.DataFrame, path: Path, *, encoding: str = "utf-8", bom: bool = False) -> Path:
    """Write ``df`` as CSV. Every column is written as text exactly as held in ``df``.

    ``encoding='cp1252'`` or ``bom=True`` reproduce the encodings councils' systems export.
    Large frames go through pyarrow's CSV writer, which is several times faster than pandas'.
    """
    with atomic_path(path) as tmp:
        if encoding.lower().replace("-", "") == "utf8" and not bom:
            table = pa.Table.from_pandas(df.astype("string[pyarrow]"), preserve_index=False)
            options = pacsv.WriteOptions(quoting_style="needed")
            pacsv.write_csv(table, tmp, write_options=options)
        else:
            enc = "utf-8-sig" if bom else encoding
            df.to_csv(tmp, index=False, encoding=enc, errors="replace", lineterminator="\r\n")
    return Path(path)


def write_csv_parts(parts: Iterable[pd.DataFrame], path: Path) -> Path:
    """Write UTF-8 CSV from frames with the same columns, one after another, so a file of millions of rows
    is never held whole (the synthetic county's largest extracts). The bytes are those ``write_csv`` writes
    for the frames concatenated. ``parts`` must yield at least one frame (an empty one writes the header).
    """
    with atomic_path(path) as tmp:
        writer = None
        try:
            for df in parts:
                table = pa.Table.from_pandas(df.astype("string[pyarrow]"), preserve_index=False)
                if writer is None:
                    writer = pacsv.CSVWriter(tmp, table.schema,
                                             write_options=pacsv.WriteOptions(quoting_style="needed"))
                writer.write_table(table)
        finally:
            if writer is not None:
                writer.close()
        if writer is None:
            raise ValueError(f"{path}: no parts to write")
    return Path(path)


def write_text(text: str, path: Path, *, encoding: str = "utf-8") -> Path:
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding=encoding)
    return Path(path)


def write_bytes(data: bytes, path: Path) -> Path:
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)
    return Path(path)


def write_json(obj: Any, path: Path) -> Path:
    """Write ``obj`` as indented, key-sorted JSON (stable diffs for DVC metrics)."""
    return write_text(json.dumps(obj, indent=2, sort_keys=True, default=str) + "\n", path)


def read_json(path: Path) -> Any:
    return json.loads(Path(path).read_text(encoding="utf-8"))


def read_yaml(path: Path) -> Any:
    return yaml.safe_load(Path(path).read_text(encoding="utf-8"))


def file_sha256(path: Path, chunk: int = 1 << 20) -> str:
    """SHA-256 of a file's bytes, for lineage records."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def read_csv_table(path: Path) -> pd.DataFrame:
    """Read a CSV with every column as text and blanks as missing (BOM tolerated).

    Identifiers and dates must not be reinterpreted (leading zeros, ``01/02/2010``), so nothing is
    type-inferred; callers parse what they need.
    """
    return pd.read_csv(path, dtype="str", keep_default_na=False, na_values=[""], encoding="utf-8-sig")


def read_lines(path: Path) -> list[str]:
    """Lines of a text file without their line endings ([] when the file does not exist)."""
    path = Path(path)
    if not path.exists():
        return []
    return path.read_text(encoding="utf-8").splitlines()


def append_line_locked(path: Path, make_line: Any, after_write: Any = None) -> str:
    """Append one line to ``path`` under an exclusive lock; return it.

    ``make_line(existing_lines) -> str`` builds the new line from the file as it is *inside*
    the lock, so two writers of a hash-chained log can never chain to the same predecessor.
    The line is flushed and fsynced before ``after_write(all_lines)`` (if given: e.g. anchoring the
    log's new length elsewhere) runs, still inside the lock, so anchors are written in append order.
    """
    import fcntl

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+", encoding="utf-8") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            fh.seek(0)
            line = make_line(fh.read().splitlines())
            if "\n" in line:
                raise ValueError("a log entry must be one line")
            fh.seek(0, os.SEEK_END)
            fh.write(line + "\n")
            fh.flush()
            os.fsync(fh.fileno())
            if after_write is not None:
                fh.seek(0)
                after_write(fh.read().splitlines())
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)
    return line


def write_xlsx_sheets(
    sheets: dict[str, pd.DataFrame],
    path: Path,
    *,
    title_rows: dict[str, list[str]] | None = None,
    percent_columns: tuple[str, ...] = (),
    wrap_columns: tuple[str, ...] = (),
) -> Path:
    """Write formatted worksheets: bold frozen header, autofilter, sensible widths, atomically.

    Args:
        sheets: sheet name -> frame, in order.
        title_rows: sheet name -> lines written above the header (e.g. a DRAFT banner), bold red.
        percent_columns: columns (0-100 numbers) shown with one decimal place.
        wrap_columns: long text columns shown wrapped in a wide column.
    """
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    title_rows = title_rows or {}
    book = Workbook()
    book.remove(book.active)
    for name, df in sheets.items():
        ws = book.create_sheet(title=name[:31])
        for line in title_rows.get(name, []):
            ws.append([line])
            ws.cell(row=ws.max_row, column=1).font = Font(bold=True, color="C00000", size=12)
        header_row = ws.max_row + 1 if title_rows.get(name) else 1
        ws.append([str(c) for c in df.columns])
        for cell in ws[header_row]:
            cell.font = Font(bold=True, color="FFFFFF")
            cell.fill = PatternFill("solid", fgColor="1F4E79")
        for row in df.itertuples(index=False):
            ws.append([None if (not isinstance(v, str) and pd.isna(v)) else v for v in row])
        ws.freeze_panes = ws.cell(row=header_row + 1, column=1)
        if len(df):
            ws.auto_filter.ref = f"A{header_row}:{get_column_letter(len(df.columns))}{ws.max_row}"
        for i, column in enumerate(df.columns, start=1):
            letter = get_column_letter(i)
            texts = [str(column)] + [str(v) for v in df[column].head(200).tolist()]
            width = min(max(len(t) for t in texts) + 2, 60)
            if column in wrap_columns:
                width = 60
                for cell in ws[letter][header_row:]:
                    cell.alignment = Alignment(wrap_text=True, vertical="top")
            if column in percent_columns:
                for cell in ws[letter][header_row:]:
                    cell.number_format = "0.0"
            ws.column_dimensions[letter].width = width
    with atomic_path(path) as tmp:
        book.save(tmp)
    return Path(path)


def parquet_columns(path: Path) -> list[str]:
    """Column names of a parquet file, read from its footer (no data read)."""
    return list(pq.read_schema(path).names)
