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
import tempfile
from collections.abc import Iterator
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


def write_parquet(df: pd.DataFrame, path: Path) -> Path:
    """Write ``df`` to parquet (no pandas index), atomically."""
    with atomic_path(path) as tmp:
        table = pa.Table.from_pandas(df, preserve_index=False)
        pq.write_table(table, tmp, compression="zstd")
    return Path(path)


def read_parquet(path: Path, columns: list[str] | None = None) -> pd.DataFrame:
    return pd.read_parquet(path, columns=columns)


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
