"""Ingest: text frames read from raw extracts in, typed canonical tables out, bad rows quarantined.

Pure functions: ``ingest_table`` takes the frames read from one table's files (see
``pipeline.ingest.files``) and returns the accepted rows, the quarantined rows with their
reasons, and a data-quality report holding counts only, never values. Three levels of problem:

- file-level (a required column missing): ``IngestError`` naming the file;
- row-level (no record key, unparseable date of birth, impossible dates, duplicates): the row
  goes to quarantine with ``reasons``;
- field-level (bad check digit, unknown code, bad format): the value is nulled or kept per the
  column's ``on_invalid``, listed in the row's ``_flags`` and counted by rule.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass
from datetime import date

import pandas as pd

from pipeline.ingest.cells import FIELD_RULES, ROW_RULES, ROW_RULES_WITH_COLUMN
from pipeline.ingest.date_formats import DateFormatTally
from pipeline.ingest.seen_rows import SeenHashes, row_hashes
from pipeline.privacy.actions import Privacy
from pipeline.sources.codes import derive_ethnicity_group
from pipeline.sources.coerce import coerce_columns
from pipeline.sources.errors import IngestError
from pipeline.sources.readers import repeated_text
from pipeline.sources.schema import empty_problems, find_problems
from pipeline.sources.spec import TableSpec
from pipeline.sources.validators import INFORMATIONAL_RULES

__all__ = ["IngestError", "IngestResult", "TableIngest", "ingest_table", "rename_to_canonical"]
log = logging.getLogger(__name__)
TRACE = ["_source_file", "_source_row"]
READER_RULE_PREFIXES = ("xsd_", "sex_code_other_year", *FIELD_RULES)


@dataclass(frozen=True)
class IngestResult:
    """One staged table: accepted rows, quarantined rows (with ``reasons``), and its DQ report."""

    accepted: pd.DataFrame
    quarantined: pd.DataFrame
    report: dict


def rename_to_canonical(frame: pd.DataFrame, spec: TableSpec) -> pd.DataFrame:
    """Match source columns (case-insensitively) to the spec and rename them to canonical names.

    Optional columns absent from the file are added as null; undeclared columns are dropped
    (so an unexpected identifier can never reach staged data) and counted in ``attrs``.

    Raises:
        IngestError: a required column is missing (message names the file and the columns).
    """
    file = frame.attrs.get("file") or (str(frame["_source_file"].iloc[0]) if len(frame) else "?")
    by_lower = {str(c).lower(): c for c in frame.columns}
    missing = [c.source for c in spec.columns if c.required and c.source.lower() not in by_lower]
    if missing:
        raise IngestError(file, f"required column(s) missing for {spec.name}: {', '.join(missing)}")
    renamed = {by_lower[c.source.lower()]: c.name for c in spec.columns if c.source.lower() in by_lower}
    keep = [*renamed, *[c for c in ("_source_file", "_source_row", "_reader_flags") if c in frame.columns]]
    out = frame[keep].rename(columns=renamed)
    for col in spec.columns:
        if col.name not in out.columns:
            out[col.name] = repeated_text(None, out.index)
    if "_reader_flags" not in out.columns:
        out["_reader_flags"] = repeated_text(None, out.index)
    out.attrs = {**frame.attrs, "file": file, "undeclared_columns": len(frame.columns) - len(keep)}
    return out


def reader_problems(raw: pd.DataFrame, spec: TableSpec) -> pd.DataFrame:
    """Problems the reader attached to rows (``_reader_flags``, ``element:rule``).

    Most are field-level notes (schema errors, code era, a stray BOM removed); the cell and record
    checks of ``pipeline.ingest.cells`` (NUL byte, over-long cell, short or truncated record, repeated
    header) are row-level, named after the column where there is one (``nul_byte_in_forename``).
    """
    flags = raw["_reader_flags"].dropna().str.split(";").explode().dropna()
    flags = flags[flags != ""]
    if flags.empty:
        return empty_problems()
    parts = flags.str.split(":", n=1, expand=True)
    by_source = {c.source.lower(): c.name for c in spec.columns}
    column = parts[0].str.lower().map(by_source).fillna(parts[0])
    rule = parts[1]
    is_row = rule.isin(list(ROW_RULES))
    named = rule.isin(list(ROW_RULES_WITH_COLUMN)) & (column != "")
    rule = rule.where(~named, rule + "_in_" + column)
    return pd.DataFrame(
        {
            "row": flags.index.astype("int64"),
            "column": column.values,
            "rule": rule.values,
            "level": is_row.map({True: "row", False: "field"}).values,
        }
    )


def find_duplicates(
    value_codes: pd.DataFrame, spec: TableSpec, excluded: pd.Series, typed: pd.DataFrame | None = None,
    seen: tuple[SeenHashes, SeenHashes] | None = None,
) -> pd.DataFrame:
    """Row-level duplicate problems: exact duplicate rows, then repeated keys among rows not
    otherwise quarantined. The first occurrence (file order, then row order) is kept.

    Rows are compared on ``value_codes`` (from ``coerce_columns``: one integer column per spec
    column, equal exactly where the typed values are), which is the same as comparing the typed
    values and far cheaper than hashing millions of strings again. With ``seen`` (rows and keys of
    earlier blocks of the same table, ``pipeline.ingest.seen_rows``) a row or key met in an earlier
    block is a duplicate too, and this block's are added to ``seen``; ``typed`` is then required.
    """
    columns = [c.name for c in spec.columns]
    exact = value_codes.duplicated(subset=columns, keep="first")
    if seen is not None:
        hashes = row_hashes(typed, columns)
        exact = exact | seen[0].met(hashes)
        seen[0].add(hashes)
    found = [pd.DataFrame({"row": value_codes.index[exact], "column": "", "rule": "duplicate_row", "level": "row"})]
    if spec.keys:
        alive = value_codes[~excluded & ~exact]
        repeated = alive.duplicated(subset=list(spec.keys), keep="first")
        if seen is not None:
            keys = row_hashes(typed.loc[alive.index], list(spec.keys))
            repeated = repeated | seen[1].met(keys)
            seen[1].add(keys)
        found.append(
            pd.DataFrame({"row": alive.index[repeated], "column": "", "rule": "duplicate_key", "level": "row"})
        )
    return pd.concat(found, ignore_index=True).astype({"row": "int64"})


def _join_sorted(values: pd.Series) -> str:
    return ";".join(sorted(set(values)))


def _field_counts(counts: dict[tuple[str, str], int], spec: TableSpec) -> dict:
    out: dict[str, dict] = {}
    actions = {c.name: c.on_invalid for c in spec.columns}
    for (column, rule), n in sorted(counts.items()):
        own_rule = rule not in INFORMATIONAL_RULES and not rule.startswith(READER_RULE_PREFIXES)
        nulled = actions.get(column) == "null" and own_rule
        parse = rule.startswith(("unparseable", "not_a", "upn_unknown"))
        action = "nulled" if nulled or parse else "kept"
        out.setdefault(column, {})[rule] = {"count": int(n), "action": action}
    return out


def ingest_table(frames: list[pd.DataFrame], spec: TableSpec, extract_date: date) -> IngestResult:
    """Validate, type and split one table's source frames into accepted and quarantined rows.

    The whole table in one block (see :class:`TableIngest` for a table read block by block).

    Args:
        frames: one text frame per source file, with source column names, ``_source_file``,
            ``_source_row`` and optionally ``_reader_flags``; ``attrs`` may hold ``file``,
            ``encoding``, ``delimiter``, ``schema`` and ``schema_errors`` for the report.
        spec: the table's declaration.
        extract_date: the date the extracts were taken; later event dates are impossible.

    Returns:
        IngestResult: ``accepted`` (canonical columns, ``ethnicity_group`` where there is an
        ethnicity, ``_source_file``, ``_source_row``, ``_flags``), ``quarantined`` (canonical
        columns as recorded, ``_source_file``, ``_source_row``, ``reasons``) and ``report``.

    Raises:
        IngestError: a file lacks a required column, or a date column of a file is mostly in a
            format riskpipe does not read (``pipeline.ingest.date_formats``).
    """
    run = TableIngest(spec, extract_date, in_blocks=False)
    accepted, quarantined = run.add(frames)
    return IngestResult(accepted, quarantined, run.finish())


class TableIngest:
    """One table ingested block by block: :meth:`add` each block of frames (file order, then row order),
    then :meth:`finish` for the report.

    Everything that spans blocks is carried here, so the outcome is the one of the whole table in one
    block: duplicate rows and keys against earlier blocks (``pipeline.ingest.seen_rows``), each file's
    date-format shares (``pipeline.ingest.date_formats``, judged in :meth:`finish`), and the counts of
    the report (rows read, accepted, quarantined, per file, per reason, per field rule).
    """

    def __init__(self, spec: TableSpec, extract_date: date, *, in_blocks: bool = True) -> None:
        """``in_blocks=False``: the table comes as one block (rows are then not hashed for later blocks)."""
        self.spec = spec
        self.extract_date = extract_date
        self.dates = DateFormatTally(spec)
        self.seen = (SeenHashes(), SeenHashes()) if in_blocks else None
        self.blocks = 0
        self.files: dict[str, dict] = {}
        self.rows_read = self.rows_accepted = self.rows_quarantined = 0
        self.reasons: Counter = Counter()
        self.field: Counter = Counter()

    def add(self, frames: list[pd.DataFrame]) -> tuple[pd.DataFrame, pd.DataFrame]:
        """Ingest one block (one text frame per file or part of a file); returns (accepted, quarantined).

        Raises:
            IngestError: a file lacks a required column.
        """
        spec = self.spec
        canon = [rename_to_canonical(f, spec) for f in frames]
        columns = [c.name for c in spec.columns]
        empty = pd.DataFrame({c: pd.Series(dtype="str") for c in [*columns, "_source_file", "_reader_flags"]})
        raw = pd.concat([empty.assign(_source_row=pd.Series(dtype="int64")), *canon], ignore_index=True)
        raw = raw.astype({"_source_row": "int64"})
        typed, parse_problems, value_codes = coerce_columns(raw[columns], spec)
        self.dates.add(raw, parse_problems)
        schema_problems = find_problems(typed, spec, self.extract_date)
        unparseable = parse_problems[parse_problems["level"] == "row"]
        shadowed = (
            schema_problems.merge(
                unparseable.assign(rule="missing_" + unparseable["column"]),
                on=["row", "rule"],
                how="left",
                indicator=True,
                suffixes=("", "_p"),
            )["_merge"]
            .eq("both")
            .to_numpy()
        )
        problems = pd.concat(
            [p for p in (parse_problems, schema_problems[~shadowed], reader_problems(raw, spec)) if len(p)]
            or [empty_problems()],
            ignore_index=True,
        )
        # a repeated header row is no one's record: its failing dates and codes are not reasons of their own
        headers = problems.loc[problems["rule"] == "repeated_header", "row"]
        problems = problems[~problems["row"].isin(headers) | (problems["rule"] == "repeated_header")]
        row_level = problems[problems["level"] == "row"]
        excluded = pd.Series(typed.index.isin(row_level["row"]), index=typed.index)
        duplicates = find_duplicates(value_codes, spec, excluded, typed, self.seen)
        problems = pd.concat([problems, duplicates], ignore_index=True)
        reasons = problems[problems["level"] == "row"].groupby("row")["rule"].agg(_join_sorted)
        quarantine_mask = typed.index.isin(reasons.index)

        field = problems[(problems["level"] == "field") & ~problems["row"].isin(reasons.index)]
        # only the spec's own rules null a value; reader notes (schema errors, code era) are counted
        nullable = schema_problems[
            (schema_problems["level"] == "field") & ~schema_problems["rule"].isin(INFORMATIONAL_RULES)
        ]
        for col in spec.columns:
            if col.on_invalid != "null":
                continue
            bad = nullable.loc[nullable["column"] == col.name, "row"]
            typed[col.name] = typed[col.name].where(~typed.index.isin(bad), None)
        flags = (field["column"] + ":" + field["rule"]).groupby(field["row"]).agg(_join_sorted)

        accepted = typed.loc[~quarantine_mask, columns]
        if any(c.privacy == Privacy.ETHNICITY for c in spec.columns):
            eth = next(c.name for c in spec.columns if c.privacy == Privacy.ETHNICITY)
            accepted = accepted.assign(ethnicity_group=derive_ethnicity_group(accepted[eth]))
        accepted = accepted.assign(
            _source_file=raw.loc[~quarantine_mask, "_source_file"].astype("str"),
            _source_row=raw.loc[~quarantine_mask, "_source_row"],
            _flags=flags.reindex(accepted.index).astype("str"),
        ).reset_index(drop=True)
        quarantined = (
            raw.loc[quarantine_mask, [*columns, *TRACE]]
            .assign(reasons=reasons.reindex(raw.index[quarantine_mask]).astype("str"))
            .reset_index(drop=True)
        )
        assert len(raw) == len(accepted) + len(quarantined), f"{spec.name}: ingest lost rows"
        self.blocks += 1
        assert self.seen is not None or self.blocks == 1, f"{spec.name}: a second block, made with in_blocks=False"
        self.rows_read += len(raw)
        self.rows_accepted += len(accepted)
        self.rows_quarantined += len(quarantined)
        self.reasons.update(
            problems[problems["level"] == "row"].drop_duplicates(["row", "rule"])["rule"].value_counts().to_dict()
        )
        self.field.update(field.groupby(["column", "rule"]).size().to_dict())
        for frame, c in zip(frames, canon, strict=True):
            self._add_file(frame, c)
        return accepted, quarantined

    def _add_file(self, frame: pd.DataFrame, canon: pd.DataFrame) -> None:
        """Merge one frame's summary into its file's (a file read in blocks gives several frames)."""
        summary = _file_summary(frame, canon)
        known = self.files.get(summary["file"])
        if known is None:
            self.files[summary["file"]] = summary
            return
        known["rows"] += summary["rows"]
        if "line_numbers" in summary:
            known["line_numbers"] = summary["line_numbers"]

    def finish(self) -> dict:
        """The table's data-quality report (counts only), once every block is added.

        Raises:
            IngestError: a date column of a file is mostly in a format riskpipe does not read.
        """
        self.dates.check()
        spec = self.spec
        assert self.rows_read == self.rows_accepted + self.rows_quarantined, f"{spec.name}: ingest lost rows"
        log.debug(
            "%s: %d read, %d accepted, %d quarantined in %d block(s)",
            spec.name, self.rows_read, self.rows_accepted, self.rows_quarantined, self.blocks,
        )
        return {
            "table": spec.name,
            "source": spec.source,
            "status": "ok",
            "files": list(self.files.values()),
            "rows_read": self.rows_read,
            "rows_accepted": self.rows_accepted,
            "rows_quarantined": self.rows_quarantined,
            "quarantine_reasons": {str(k): int(v) for k, v in sorted(self.reasons.items()) if v},
            "field_flags": _field_counts(self.field, spec),
        }


def _file_summary(frame: pd.DataFrame, canon: pd.DataFrame) -> dict:
    keys = ("encoding", "encoding_evidence", "delimiter", "format", "schema", "collection_year", "census_date")
    summary = {
        "file": canon.attrs.get("file"),
        "rows": len(frame),
        "undeclared_columns_dropped": canon.attrs.get("undeclared_columns", 0),
    }
    summary.update({k: frame.attrs[k] for k in keys if frame.attrs.get(k) is not None})
    if frame.attrs.get("lines_exact") is False:  # stray quotes: rows are numbered as header + data row
        summary["line_numbers"] = "approximate (a stray quote character; lines counted as data rows)"
    if "schema_errors" in frame.attrs:
        summary["schema_errors"] = frame.attrs["schema_errors"]
    return summary
