"""Read decoded extract text into text frames, parse XML safely, and parse the date formats councils export.

Readers return all-text DataFrames with the source's own column names plus ``_source_file`` and
``_source_row`` (the real line in the file where the record starts, as for XML elements). Decoding
bytes to text is ``pipeline.sources.encoding``'s. Nothing here guesses types: typing and validation
happen in ``pipeline.ingest.tables`` against the table's spec.
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

from pipeline.sources.encoding import line_and_column
from pipeline.sources.errors import IngestError

DELIMITERS = (",", ";", "\t", "|")
DATE_FORMATS = ("%d/%m/%Y", "%Y-%m-%d", "%Y-%b-%d %H:%M:%S")
TEXT = pd.StringDtype("pyarrow", na_value=np.nan)  # pandas' default ``str`` dtype
_DTD_OR_ENTITY = re.compile(rb"<!(DOCTYPE|ENTITY)", re.IGNORECASE)
_ISO_WITH_TIME = re.compile(r"^(\d{4}-\d{2}-\d{2})[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?$")


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


def _read_csv_pandas(text: str, delimiter: str, file: str, line_offset: int = 0) -> pd.DataFrame:
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
        where = re.search(r"line (\d+)", str(exc))
        raise IngestError(
            file,
            f"malformed CSV ({f'line {int(where.group(1)) + line_offset}' if where else 'unreadable row'}: "
            "more fields than the header)",
        ) from None
    except pd.errors.EmptyDataError:
        raise IngestError(file, "empty file (no header row)") from None


def record_layout(text: str, delimiter: str) -> tuple[np.ndarray, np.ndarray, int]:
    """Line on which each non-blank CSV record starts, and its number of fields.

    Quote-aware (a newline or delimiter inside ``"..."`` belongs to the field), so a record holding a
    multi-line quoted field counts once and the records after it keep their real line numbers. Blank
    and whitespace-only lines are skipped, as both readers skip them. Vectorised over the positions of
    newlines, quotes and delimiters only.

    Returns:
        (lines, fields, longest): 1-based physical start line and field count per record, header
        included, and the length in bytes of the longest record (no cell can be longer).
    """
    data = np.frombuffer(text.encode("utf-8", "surrogatepass"), dtype=np.uint8)
    quotes = np.flatnonzero(data == ord('"'))
    newlines = np.flatnonzero(data == ord("\n"))
    ends = newlines[np.searchsorted(quotes, newlines) % 2 == 0]  # newlines outside quotes end records
    starts = np.concatenate(([0], ends + 1))
    ends = np.concatenate((ends, [len(data)]))
    delims = np.flatnonzero(data == ord(delimiter))
    delims = delims[np.searchsorted(quotes, delims) % 2 == 0]
    fields = np.searchsorted(delims, ends) - np.searchsorted(delims, starts) + 1
    blank_bytes = b" \t\r" if delimiter != "\t" else b" \r"
    # only an empty record or one starting with whitespace can be blank: check just those one by one
    first = np.append(data, np.uint8(0))[starts]
    maybe = np.flatnonzero((ends == starts) | np.isin(first, np.frombuffer(blank_bytes, np.uint8)))
    raw = data.tobytes()
    blank = np.zeros(len(starts), dtype=bool)
    blank[maybe] = [not raw[a:b].strip(blank_bytes) for a, b in zip(starts[maybe], ends[maybe], strict=True)]
    lines = np.searchsorted(newlines, starts) + 1
    return lines[~blank], fields[~blank], int((ends - starts).max(initial=0))


def read_csv_text(text: str, file: str, *, line_offset: int = 0, rows_before: int = 0) -> pd.DataFrame:
    """Parse CSV text into an all-text frame with ``_source_file``, ``_source_row`` and ``_reader_flags``.

    ``_source_row`` is the real line in the file on which the record starts (the header is line 1;
    blank lines and multi-line quoted fields counted), the number a data manager sees in an editor.
    A record with fewer fields than the header gets the row-level flag ``short_row`` (or
    ``truncated_last_line`` when it is the last one and the file ends without a newline): its missing
    fields would otherwise be read as blanks. Blank cells become null; surrounding whitespace in
    headers is removed. ``attrs`` carries ``delimiter`` for the data-quality report. Well-formed files
    go through Arrow's reader; anything else through pandas', whose handling (and error messages) decide.

    A block of a larger file (``pipeline.ingest.csv_blocks``) is read as its header line followed by the
    block's records: ``line_offset`` is added to every line number (the real line of the block's first
    record less 2) and ``rows_before`` (data rows in earlier blocks) to the data-row count used where a
    stray quote makes lines inexact.

    Raises:
        IngestError: a row has more fields than the header (message gives the line), or the
            header repeats a column name.
    """
    delimiter = sniff_delimiter(text)
    try:
        header = next(csv.reader([first_line(text.lstrip("\r\n"))], delimiter=delimiter))
    except csv.Error:
        header = None  # pandas reads first, so its error (if any) is the one reported
    lines, fields, longest = record_layout(text, delimiter)
    df = _read_csv_arrow(text, delimiter, len(header)) if header is not None else None
    if df is None:
        try:
            df = _read_csv_pandas(text, delimiter, file, line_offset)
        except IngestError:
            # pandas counts lines its own way: name the real line where the layout agrees a row is too wide
            wide = np.flatnonzero(fields[1:] > len(header)) + 1 if header is not None else []
            if len(wide):
                at = wide[0]
                raise IngestError(
                    file,
                    f"malformed CSV (line {lines[at] + line_offset}: {fields[at]} fields, more than the header's "
                    f"{len(header)})",
                ) from None
            raise
    if header is None:
        header = next(csv.reader([first_line(text.lstrip("\r\n"))], delimiter=delimiter))
    names = [name.strip() for name in header]
    dupes = sorted({n for n in names if [m.lower() for m in names].count(n.lower()) > 1})
    if dupes:
        raise IngestError(file, f"header repeats column(s) {', '.join(dupes)}")
    if len(names) != len(df.columns):
        raise IngestError(file, "header could not be read")
    df.columns = names
    flags = repeated_text(None, df.index)
    if len(lines) == len(df) + 1:
        rows = lines[1:] + line_offset
        short = fields[1:] < len(names)
        if short.any():
            last_unterminated = not text.endswith("\n")
            rule = np.where(short, ":short_row", None).astype(object)
            if last_unterminated and short[-1]:
                rule[-1] = ":truncated_last_line"
            flags = pd.Series(rule, index=df.index, dtype=TEXT)
        exact = True
    else:  # stray quotes the readers take literally: fall back to counting data rows
        rows, exact = np.arange(2, len(df) + 2) + rows_before, False
    df = df.assign(_source_file=repeated_text(file, df.index), _source_row=rows.astype(np.int64), _reader_flags=flags)
    # what the cell checks (pipeline.ingest.cells) need not look for, found on the whole text at once
    hints = {"may_hold_nul": "\x00" in text, "may_hold_bom": "\ufeff" in text, "longest_record": longest}
    df.attrs = {"file": file, "delimiter": delimiter, "lines_exact": exact, **hints}
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
    """Parse XML bytes, keeping line numbers. DTDs and entity declarations are refused.

    A statutory return never needs a DTD; one in an extract can expand entities into gigabytes
    ("billion laughs") or pull in local files (external entities), and unexpanded entity nodes
    break flattening, so any ``<!DOCTYPE``/``<!ENTITY`` is a file-level error, never parsed.

    Raises:
        IngestError: the XML is empty, has a DTD or entity, or is truncated or malformed (message
            gives line and column).
    """
    if not data.strip():
        raise IngestError(file, "empty file")
    declared = _DTD_OR_ENTITY.search(data)
    if declared:
        line, col = line_and_column(data, declared.start())
        kind = declared.group(0).decode("ascii").upper()
        raise IngestError(
            file,
            f"line {line}, column {col}: {kind} declaration refused (DTDs and entities can expand without "
            "limit or read other files); export the return without a DOCTYPE",
        )
    parser = etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, huge_tree=True, remove_comments=False
    )
    try:
        tree = etree.parse(io.BytesIO(data), parser)
    except etree.XMLSyntaxError as exc:
        line, col = exc.position
        raise IngestError(file, f"malformed or truncated XML at line {line}, column {col}") from None
    if tree.docinfo.doctype:  # a DTD the byte search could not see (e.g. a UTF-16 file)
        raise IngestError(file, "DOCTYPE declaration refused; export the return without a DOCTYPE")
    return tree
