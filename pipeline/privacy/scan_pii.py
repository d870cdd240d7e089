"""``riskpipe scan-pii``: find direct identifiers left in files that should hold none.

Detectors (each reports file, column and count, never a value):

- ``nhs_number``: 10 digits (optionally 3-3-4 with spaces or hyphens) passing the modulus-11 check;
- ``upn``: 13 characters, letter + 11 digits + digit/letter, with a correct check letter (the LA
  number is not checked against a list: new and synthetic LA numbers must still be caught);
- ``postcode``: a full UK postcode (districts and sectors alone are not identifiers);
- ``name_column``: a column named like a person's name holding anything other than tokens;
- ``listed_name``: a whole word from a ``--names`` list (case-insensitive).

Matches must stand alone (no letter or digit on either side), so a 32-hex-character token, which
is one unbroken run, can never contain a finding. Detection runs once per distinct value.
The same detectors guard ``pseudonymise`` before it writes anything.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from io import StringIO
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

log = logging.getLogger(__name__)

SCANNED_SUFFIXES = (".parquet", ".csv", ".xlsx", ".html", ".htm", ".json", ".md", ".xml", ".txt")
HEX_TOKEN = r"[0-9a-f]{32}"
_L, _R = r"(?<![0-9A-Za-z])", r"(?![0-9A-Za-z])"
NHS_NUMBER_PATTERN = _L + r"(\d{3})[ -]?(\d{3})[ -]?(\d{4})" + _R
UPN_ALPHABET = "ABCDEFGHJKLMNPQRTUVWXYZ0123456789"  # DfE: no I, O or S
UPN_PATTERN = _L + r"([A-HJ-NP-RT-Z]\d{11}[0-9A-HJ-NP-RT-Z])" + _R
POSTCODE_PATTERN = _L + r"(?i:[A-Z]{1,2}[0-9][A-Z0-9]? ?[0-9][A-Z]{2})" + _R
NAME_COLUMN_WORDS = ("forename", "surname", "firstname", "lastname", "givenname", "familyname",
                     "middlename", "fullname", "childname")
# words that make a column a statement about a name (a comparison level, a token, a count), not a name
# (``_tok`` columns stay name columns: a token column holding anything but tokens is a leak)
ABOUT_A_NAME = frozenset({"level", "gamma", "tf", "bf", "count", "counts", "flag", "flagged", "missing", "valid",
                          "agree", "comparison"})
_UPN_VALUE = np.full(256, 0, dtype=np.int64)
_UPN_VALUE[[ord(c) for c in UPN_ALPHABET]] = np.arange(len(UPN_ALPHABET))


@dataclass(frozen=True)
class Finding:
    """``count`` values (rows, or text lines) in ``file``/``column`` hold an identifier of ``kind``."""

    file: str
    column: str
    kind: str
    count: int


def nhs_checksum_ok(digits: pd.Series) -> np.ndarray:
    """Modulus-11 check of 10-digit strings (weights 10..2; check 11 -> 0; 10 is never issued)."""
    if digits.empty:
        return np.zeros(0, dtype=bool)
    arr = np.frombuffer("".join(digits).encode("ascii"), dtype=np.uint8).reshape(-1, 10).astype(np.int64) - 48
    check = (11 - (arr[:, :9] @ np.arange(10, 1, -1)) % 11) % 11
    return (check != 10) & (check == arr[:, 9])


def upn_checksum_ok(upns: pd.Series) -> np.ndarray:
    """Check letter of 13-character upper-case UPN strings: sum(position x value) over chars 2-13, mod 23."""
    if upns.empty:
        return np.zeros(0, dtype=bool)
    arr = _UPN_VALUE[np.frombuffer("".join(upns).encode("ascii"), dtype=np.uint8).reshape(-1, 13)]
    return arr[:, 0] == (arr[:, 1:] @ np.arange(2, 14)) % 23


def _matches(values: pd.Series, pattern: str) -> pd.DataFrame:
    """All matches of ``pattern`` in ``values`` (RangeIndex): rows indexed by (value position, match)."""
    return values.str.extractall(pattern)


def _hit_positions(matches: pd.DataFrame, ok: np.ndarray) -> np.ndarray:
    return matches.index.get_level_values(0)[ok].unique().to_numpy()


def nhs_number_mask(values: pd.Series) -> np.ndarray:
    """Which text values contain a valid NHS number."""
    values = values.reset_index(drop=True)
    found = _matches(values[values.str.contains(r"\d{3}")], NHS_NUMBER_PATTERN)
    hits = _hit_positions(found, nhs_checksum_ok(found[0] + found[1] + found[2])) if len(found) else []
    return values.index.isin(hits)


def upn_mask(values: pd.Series) -> np.ndarray:
    """Which text values contain a UPN with a correct check letter."""
    values = values.reset_index(drop=True)
    found = _matches(values[values.str.contains(r"\d{11}")], UPN_PATTERN)
    hits = _hit_positions(found, upn_checksum_ok(found[0])) if len(found) else []
    return values.index.isin(hits)


def postcode_mask(values: pd.Series) -> np.ndarray:
    """Which text values contain a full UK postcode."""
    return values.str.contains(POSTCODE_PATTERN).to_numpy(dtype=bool)


def integer_nhs_number_mask(values: pd.Series) -> np.ndarray:
    """Which integers are valid 10-digit NHS numbers (NHS numbers are sometimes stored as int64)."""
    ints = values.to_numpy(dtype=np.int64)
    in_range = (ints >= 10**9) & (ints < 10**10)
    digits = pd.Series(ints[in_range].astype(str), dtype=object)
    mask = np.zeros(len(ints), dtype=bool)
    mask[in_range] = nhs_checksum_ok(digits)
    return mask


def is_name_column(column: str) -> bool:
    """Whether a column name says it holds people's names (``Forename``, ``family_name``, ``name``...).

    A column *about* a name (``level_forename`` in a linkage review, ``surname_count``)
    is not a name column: a word from ``ABOUT_A_NAME`` in the column name says so.
    """
    last = column.lower().rsplit(".", 1)[-1].rsplit("!", 1)[-1]
    if ABOUT_A_NAME & set(re.split(r"[^a-z]+", last)):
        return False
    squashed = re.sub(r"[^a-z]", "", last)
    return squashed in {"name", "names"} or any(word in squashed for word in NAME_COLUMN_WORDS)


def listed_name_mask(values: pd.Series, names: frozenset[str]) -> np.ndarray:
    """Which text values contain, as a whole word, one of ``names`` (case-folded single words)."""
    if not names or values.empty:
        return np.zeros(len(values), dtype=bool)
    words = values.reset_index(drop=True).str.casefold().str.findall(r"\w+").explode()
    return words.isin(names).groupby(level=0).any().reindex(range(len(values)), fill_value=False).to_numpy()


def scan_value_counts(
    values: pd.Series, counts: np.ndarray, column: str, names: frozenset[str] = frozenset()
) -> dict[str, int]:
    """Detect identifiers among distinct ``values`` (text or integer) seen ``counts`` times each.

    Returns:
        ``{kind: number of rows}`` for each kind found (kinds with no hit are left out).
    """
    counts = np.asarray(counts, dtype=np.int64)
    if pd.api.types.is_integer_dtype(values):
        hits = {"nhs_number": integer_nhs_number_mask(values)}
    else:
        values = values.astype("str").reset_index(drop=True)
        # tokens cannot hold a finding (one unbroken run of hex), so skip them: in pseudonymised
        # files they are most of the distinct values
        clear = ~values.str.fullmatch(HEX_TOKEN).to_numpy(dtype=bool)
        values, counts = values[clear].reset_index(drop=True), counts[clear]
        hits = {
            "nhs_number": nhs_number_mask(values),
            "upn": upn_mask(values.str.upper()),
            "postcode": postcode_mask(values),
            "listed_name": listed_name_mask(values, names),
        }
        if is_name_column(column):
            # a name has letters: counts and dates in a name-like column (report totals) are not names
            hits["name_column"] = values.str.contains(r"[^\W\d_]", regex=True).to_numpy(dtype=bool)
    return {kind: int(counts[mask].sum()) for kind, mask in hits.items() if mask.any()}


def scan_frame(df: pd.DataFrame, names: frozenset[str] = frozenset()) -> list[tuple[str, str, int]]:
    """Scan every text and integer column of ``df``: ``[(column, kind, rows), ...]``."""
    found = []
    for column in df.columns:
        series = df[column]
        if not (pd.api.types.is_string_dtype(series) or pd.api.types.is_object_dtype(series)
                or pd.api.types.is_integer_dtype(series)):
            continue
        counts = series.dropna().value_counts(sort=False)
        if pd.api.types.is_object_dtype(series):
            counts.index = counts.index.astype("str")
        for kind, rows in scan_value_counts(counts.index.to_series(), counts.to_numpy(), str(column),
                                            names).items():
            found.append((str(column), kind, rows))
    return found


def scan_text(text: str, names: frozenset[str] = frozenset()) -> list[tuple[str, str, int]]:
    """Scan free text line by line (count = lines with a finding)."""
    counts = pd.Series(text.splitlines(), dtype="str").value_counts(sort=False)
    hits = scan_value_counts(counts.index.to_series(), counts.to_numpy(), "(text)", names)
    return [("(text)", kind, rows) for kind, rows in hits.items()]


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
        if not (pa.types.is_string(column.type) or pa.types.is_large_string(column.type)
                or pa.types.is_integer(column.type)):
            continue
        if pa.types.is_integer(column.type):  # only 10-digit integers can be NHS numbers
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
    found = []
    for key, group in pairs.groupby("key", sort=True):
        found += scan_frame(pd.DataFrame({key: group["value"].astype("str").to_numpy()}), names)
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
    found = []
    if path.suffix.lower() in {".html", ".htm"}:
        found += scan_text(re.sub(r"<[^>]+>", " ", text), names)
        try:
            tables = pd.read_html(StringIO(text))
        except ValueError:  # no tables
            tables = []
    else:
        found += scan_text(text, names)
        tables = _markdown_tables(text) if path.suffix.lower() == ".md" else []
    for table in tables:
        found += [f for f in scan_frame(table.astype("str")) if f[1] == "name_column"]
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


def read_names_list(text: str) -> frozenset[str]:
    """Names to look for (one per line), case-folded; each name's words are matched as whole words."""
    return frozenset(w for line in text.splitlines() for w in re.findall(r"\w+", line.casefold()))


def scan_paths(paths: Iterable[Path], names: frozenset[str] = frozenset()) -> list[Finding]:
    """Scan every file under ``paths``; returns all findings (empty when clean)."""
    findings = []
    for path in files_to_scan(paths):
        findings += scan_file(path, names)
    return findings
