"""Decode raw extract bytes into text frames, and parse the date formats councils export.

Readers take bytes (the CLI reads files) and return all-text DataFrames with the source's own
column names plus ``_source_file`` and ``_source_row`` (1-based data row). Nothing here guesses
types: typing and validation happen in ``pipeline.ingest.tables`` against the table's spec.
"""

from __future__ import annotations

import csv
import io
import re

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
from lxml import etree
from pandas.arrays import ArrowStringArray

from pipeline.sources.errors import IngestError

DELIMITERS = (",", ";", "\t", "|")
DATE_FORMATS = ("%d/%m/%Y", "%Y-%m-%d", "%Y-%b-%d %H:%M:%S")
TEXT = pd.StringDtype("pyarrow", na_value=np.nan)  # pandas' default ``str`` dtype
_ISO_WITH_TIME = re.compile(r"^(\d{4}-\d{2}-\d{2})[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?$")


def decode_bytes(data: bytes, file: str) -> tuple[str, str]:
    """Decode an extract: BOM -> utf-8-sig; else UTF-8; else cp1252. Returns (text, encoding).

    Raises:
        IngestError: the file is empty or is not text in any of those encodings.
    """
    # the BOM is a prefix, not a set of bytes: a cp1252 file holding only "»" is not empty
    body = data[3:] if data.startswith(b"\xef\xbb\xbf") else data
    if not body.strip(b" \t\r\n\x00"):
        raise IngestError(file, "empty file")
    if data.startswith(b"\xef\xbb\xbf"):
        try:
            return data.decode("utf-8-sig"), "utf-8-sig"
        except UnicodeDecodeError as exc:
            raise IngestError(
                file, f"has a UTF-8 byte-order mark but byte {exc.start} is not UTF-8"
            ) from None
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        text = _as_utf16(data)
        if text is not None:
            return text, "utf-16"
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252"), "cp1252"
    except UnicodeDecodeError as exc:
        raise IngestError(file, f"undecodable: byte {exc.start} is neither UTF-8 nor cp1252") from None


def _as_utf16(data: bytes) -> str | None:
    """The text of a file starting with a UTF-16 byte-order mark, or None when it is not UTF-16.

    A cp1252 file may itself start with "ÿþ" or "þÿ" (the same two bytes); a real UTF-16 extract has
    a body of whole code units, most of them Latin-1 (delimiters, digits and headers are).
    """
    body = data[2:]
    if not body or len(body) % 2:
        return None
    try:
        text = data.decode("utf-16")
    except UnicodeDecodeError:
        return None
    return text if sum(ch < "\u0100" for ch in text) * 2 >= len(text) else None


def repeated_text(value: str | None, index: pd.Index) -> pd.Series:
    """A ``str`` Series holding ``value`` (null when None) on every row of ``index``.

    Built in Arrow: broadcasting a Python string to millions of rows through pandas converts each
    row separately, which cost seconds per large table.
    """
    if value is None:
        values = pa.nulls(len(index), pa.large_string())
    else:
        values = pa.repeat(pa.scalar(value, pa.large_string()), len(index))
    return pd.Series(ArrowStringArray(values, dtype=TEXT), index=index)


def first_line(text: str) -> str:
    """``text.splitlines()[0]`` without splitting a whole extract into lines ('' for an empty text)."""
    return (text.partition("\n")[0] + "\n").splitlines()[0]


def sniff_delimiter(text: str) -> str:
    """Pick the delimiter (comma, semicolon, tab or pipe) that splits the header line most often."""
    header = first_line(text) if text else ""
    counts = {d: len(next(csv.reader([header], delimiter=d))) for d in DELIMITERS}
    best = max(DELIMITERS, key=lambda d: counts[d])  # ties keep the first (comma)
    return best


def _read_csv_arrow(text: str, delimiter: str, width: int) -> pd.DataFrame | None:
    """All-text frame of a well-formed CSV of ``width`` columns via Arrow's (multithreaded) reader.

    Returns None where pandas' reader must decide: a row of another width (pandas pads short
    rows, reports long ones and skips whitespace-only lines), or text Arrow cannot take. Blank
    lines are skipped and blank or ``""`` cells are null, as with pandas.
    """
    if width < 2:  # a single column cannot tell a whitespace-only line from a value
        return None
    names = [f"c{i}" for i in range(width)]
    try:
        table = pacsv.read_csv(
            pa.py_buffer(text.lstrip("\r\n").encode("utf-8")),
            read_options=pacsv.ReadOptions(column_names=names, skip_rows=1),
            parse_options=pacsv.ParseOptions(delimiter=delimiter, newlines_in_values=True),
            convert_options=pacsv.ConvertOptions(
                column_types=dict.fromkeys(names, pa.string()),
                strings_can_be_null=True,
                quoted_strings_can_be_null=True,
                null_values=[""],
            ),
        )
    except (pa.ArrowException, UnicodeEncodeError):
        return None
    return table.to_pandas(types_mapper=lambda _: TEXT)


def _read_csv_pandas(text: str, delimiter: str, file: str) -> pd.DataFrame:
    try:
        return pd.read_csv(
            io.StringIO(text),
            sep=delimiter,
            dtype="str",
            keep_default_na=False,
            na_values=[""],
            skip_blank_lines=True,
            engine="c",
        )
    except pd.errors.ParserError as exc:
        where = re.search(r"line \d+", str(exc))
        raise IngestError(
            file,
            f"malformed CSV ({where.group(0) if where else 'unreadable row'}: more fields than the header)",
        ) from None
    except pd.errors.EmptyDataError:
        raise IngestError(file, "empty file (no header row)") from None


def read_csv_text(text: str, file: str) -> pd.DataFrame:
    """Parse CSV text into an all-text frame with ``_source_file`` and ``_source_row``.

    Blank cells become null; surrounding whitespace in headers is removed. ``attrs`` carries
    ``delimiter`` for the data-quality report. Well-formed files go through Arrow's reader;
    anything else through pandas', whose handling (and error messages) decide.

    Raises:
        IngestError: a row has more fields than the header (message gives the line), or the
            header repeats a column name.
    """
    delimiter = sniff_delimiter(text)
    try:
        header = next(csv.reader([first_line(text.lstrip("\r\n"))], delimiter=delimiter))
    except csv.Error:
        header = None  # pandas reads first, so its error (if any) is the one reported
    df = _read_csv_arrow(text, delimiter, len(header)) if header is not None else None
    if df is None:
        df = _read_csv_pandas(text, delimiter, file)
    if header is None:
        header = next(csv.reader([first_line(text.lstrip("\r\n"))], delimiter=delimiter))
    names = [name.strip() for name in header]
    dupes = sorted({n for n in names if [m.lower() for m in names].count(n.lower()) > 1})
    if dupes:
        raise IngestError(file, f"header repeats column(s) {', '.join(dupes)}")
    if len(names) != len(df.columns):
        raise IngestError(file, "header could not be read")
    df.columns = names
    df = df.assign(_source_file=repeated_text(file, df.index), _source_row=range(1, len(df) + 1))
    df.attrs = {"file": file, "delimiter": delimiter}
    return df


def parse_dates(values: pd.Series) -> pd.Series:
    """Parse dates written as dd/mm/yyyy, yyyy-mm-dd or ``2025-Feb-16 00:00:00``, mixed freely.

    Each format is parsed vectorised over the whole column and the results combined, so a column
    mixing formats parses row by row. Anything else (including impossible dates) gives NaT; this
    never raises.

    Args:
        values: text values (nulls allowed).

    Returns:
        datetime64[us] Series at day precision, aligned to ``values``.
    """
    # a column repeats few distinct dates: parse each distinct text once and broadcast back
    codes, uniques = pd.factorize(values.astype("str"), use_na_sentinel=True)
    parsed = _parse_distinct_dates(pd.Series(uniques, dtype="str")).to_numpy()
    out = np.append(parsed, np.datetime64("NaT", "us"))[codes]
    return pd.Series(out, index=values.index, dtype="datetime64[us]")


def _parse_distinct_dates(values: pd.Series) -> pd.Series:
    text = values.str.strip()
    text = text.str.replace(_ISO_WITH_TIME, r"\1", regex=True)
    out = pd.Series(pd.NaT, index=values.index, dtype="datetime64[us]")
    for fmt in DATE_FORMATS:
        todo = out.isna() & text.notna()
        if not todo.any():
            break
        parsed = pd.to_datetime(text[todo], format=fmt, errors="coerce")
        out = out.where(~todo, parsed.astype("datetime64[us]").reindex(out.index))
    return out.dt.normalize()


def parse_xml(data: bytes, file: str) -> etree._ElementTree:
    """Parse XML bytes, keeping line numbers.

    Raises:
        IngestError: the XML is empty, truncated or malformed (message gives line and column).
    """
    if not data.strip():
        raise IngestError(file, "empty file")
    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=True)
    try:
        return etree.parse(io.BytesIO(data), parser)
    except etree.XMLSyntaxError as exc:
        line, col = exc.position
        raise IngestError(file, f"malformed or truncated XML at line {line}, column {col}") from None
