"""``riskpipe pseudonymise``: staged tables -> HMAC tokens and match keys; no direct identifier survives.

Each column's :class:`~pipeline.sources.spec.Privacy` action (docs/contracts.md) decides its outputs.
Tokens are HMAC-SHA256 over ``b"riskpipe/v1/<domain>\\x00" + value``, lowercase hex cut to 32
characters, one domain per identifier type: the same value in two domains gives unrelated tokens,
so a token can only ever be compared with tokens of its own kind. Shared domains are deliberate:
``upn`` (current and former UPNs match), ``name`` / ``name_phonetic`` / ``name_initial`` (forename
and surname, so a forename/surname swap can be seen) and ``dob_day_month`` (day and month, so a
day/month swap can be seen: ``dob_day_tok`` of one record equals ``dob_month_tok`` of the other).

Identifiers are normalised (pipeline/normalise.py) before tokens are made; :func:`identity_match_keys`
is the one place that happens, for this stage and for on-the-fly linkage alike.

Privacy fails closed: a table whose outputs cannot be built, or that still holds an identifier
column, an NHS number, a UPN, a postcode or a clear name afterwards, is not written.
"""

from __future__ import annotations

import importlib
import logging
import os
from collections.abc import Callable, Mapping
from concurrent.futures import as_completed
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from pipeline.io import read_parquet, write_json, write_parquet
from pipeline.keys import TOKEN_CHARS, PseudonymisationKey, TokenMaker, as_token_maker
from pipeline.normalise import (
    normalise_name,
    normalise_nhs_number,
    normalise_postcode,
    normalise_record_key,
    normalise_upn,
    phonetic,
    postcode_district,
    postcode_sector,
)
from pipeline.paths import ProjectPaths
from pipeline.progress import make_progress
from pipeline.scan_pii import scan_frame
from pipeline.sources.codes import derive_ethnicity_group
from pipeline.sources.spec import Privacy, TableSpec
from pipeline.workers import worker_pool

log = logging.getLogger(__name__)

IDENTITY_FIELDS: Mapping[str, Privacy] = {
    "forename": Privacy.FORENAME, "surname": Privacy.SURNAME, "dob": Privacy.DOB, "sex": Privacy.KEEP,
    "postcode": Privacy.POSTCODE, "nhs_number": Privacy.NHS_NUMBER, "upn": Privacy.UPN,
}
# lineage and data-quality flags (``column:rule`` names, never values), not identifiers
PASSTHROUGH_COLUMNS = ("_source_file", "_source_row", "_flags", "_reader_flags")
DERIVED_COLUMNS = ("ethnicity_group",)  # may be added by ingest without a spec entry
CLEAR_PRIVACY = (Privacy.KEEP, Privacy.ETHNICITY)
SOURCE_MODULES = ("pipeline.sources", "pipeline.sources.registry", "pipeline.sources.education",
                  "pipeline.sources.social_care", "pipeline.sources.health", "pipeline.sources.reference")
REFERENCE_TABLES = ("postcode_lsoa", "lsoa_imd")  # places, not people: read for the lookup, not output
IDENTIFIER_KINDS = ("nhs_number", "upn", "postcode", "name_column", "listed_name")


class PseudonymisationError(RuntimeError):
    """A table cannot be pseudonymised safely. Messages name tables and columns, never values."""


def make_tokens(values: pd.Series, domain: str, key: bytes | TokenMaker) -> pd.Series:
    """HMAC-SHA256 tokens of ``values`` in ``domain``: 32 lowercase hex characters; NA/empty -> NA.

    Each distinct value is hashed once, then mapped back, so millions of rows take seconds.
    ``key`` may be a :class:`~pipeline.keys.TokenMaker`, which also remembers tokens across calls.
    """
    maker = as_token_maker(key)
    text = values.astype("str").where(values.notna())
    text = text.where(text.str.len() > 0)
    codes, uniques = pd.factorize(text, use_na_sentinel=True)
    # plain Python strings: iterating Arrow is slow; the last slot (code -1) stays None
    tokens = np.append(maker.tokens([str(v) for v in uniques.tolist()], domain), None)
    return pd.Series(tokens[codes], index=values.index, dtype="str")


def _as_dates(values: pd.Series) -> pd.Series:
    if pd.api.types.is_datetime64_any_dtype(values):
        return values
    return pd.to_datetime(values, format="ISO8601", errors="raise")


def _two_digits(numbers: pd.Series) -> pd.Series:
    return numbers.map("{:02d}".format, na_action="ignore")


def _dob_outputs(values: pd.Series, column: str, key: TokenMaker) -> dict[str, pd.Series]:
    dates = _as_dates(values)
    clear = "" if column == "dob" else f"{column}_"
    month = dates.dt.month.astype("Int64")
    day = dates.dt.day.astype("Int64")
    return {
        f"{column}_tok": make_tokens(dates.dt.strftime("%Y-%m-%d"), "dob", key),
        f"{column}_year_tok": make_tokens(dates.dt.year.astype("Int64"), "dob_year", key),
        f"{column}_month_tok": make_tokens(_two_digits(month), "dob_day_month", key),
        f"{column}_day_tok": make_tokens(_two_digits(day), "dob_day_month", key),
        f"{clear}birth_year": dates.dt.year.astype("Int64"),
        f"{clear}birth_month": month,
    }


def _tokenised_outputs(values: pd.Series, privacy: Privacy, column: str, key: TokenMaker) -> dict[str, pd.Series]:
    if privacy is Privacy.RECORD_KEY:
        return {f"{column}_tok": make_tokens(normalise_record_key(values), column, key)}
    if privacy is Privacy.NHS_NUMBER:
        return {f"{column}_tok": make_tokens(normalise_nhs_number(values), "nhs_number", key)}
    if privacy is Privacy.UPN:
        return {f"{column}_tok": make_tokens(normalise_upn(values), "upn", key)}
    if privacy in (Privacy.FORENAME, Privacy.SURNAME):
        names = normalise_name(values)
        return {
            f"{column}_tok": make_tokens(names, "name", key),
            f"{column}_phon_tok": make_tokens(phonetic(names), "name_phonetic", key),
            f"{column}_initial_tok": make_tokens(names.str.slice(0, 1), "name_initial", key),
        }
    if privacy is Privacy.DOB:
        return _dob_outputs(values, column, key)
    if privacy is Privacy.POSTCODE:
        return {
            f"{column}_tok": make_tokens(normalise_postcode(values), "postcode", key),
            f"{column}_sector_tok": make_tokens(postcode_sector(values), "postcode_sector", key),
            f"{column}_district_tok": make_tokens(postcode_district(values), "postcode_district", key),
        }
    raise PseudonymisationError(f"{column}: unknown privacy action {privacy!r}")


def column_outputs(
    values: pd.Series, privacy: Privacy, column: str, key: bytes | TokenMaker
) -> dict[str, pd.Series]:
    """The output columns one staged column becomes under its privacy action (docs/contracts.md).

    ``lsoa_imd_decile`` for postcodes needs a lookup, so :func:`pseudonymise_table` adds it.
    Tokenised outputs are built once per distinct value and mapped back to the rows (a missing
    value gives missing outputs), since identifier columns repeat each value many times.
    """
    if privacy is Privacy.KEEP:
        return {column: values}
    if privacy is Privacy.DROP:
        return {}
    if privacy is Privacy.ETHNICITY:
        return {column: values, f"{column}_group" if column != "ethnicity" else "ethnicity_group":
                derive_ethnicity_group(values)}
    maker = as_token_maker(key)
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    distinct = pd.Series(uniques, dtype=values.dtype, name=values.name)
    made = _tokenised_outputs(distinct, privacy, column, maker)
    return {
        name: pd.Series(out.array.take(codes, allow_fill=True), index=values.index, dtype=out.dtype)
        for name, out in made.items()
    }


def identity_match_keys(df: pd.DataFrame, key: bytes | TokenMaker) -> pd.DataFrame:
    """Match keys for clear identity fields, exactly as :func:`pseudonymise_table` makes them.

    Args:
        df: any subset of ``forename``, ``surname``, ``dob`` (datetime64), ``sex``, ``postcode``,
            ``nhs_number``, ``upn``; other columns are ignored.
        key: the pseudonymisation key.

    Returns:
        Same index as ``df``: ``forename_tok``/``_phon_tok``/``_initial_tok``, the same for surname,
        ``dob_tok``, ``dob_year_tok``, ``dob_month_tok``, ``dob_day_tok``, ``birth_year``,
        ``birth_month``, ``sex``, ``postcode_tok``/``_sector_tok``/``_district_tok``,
        ``nhs_number_tok``, ``upn_tok`` — for the fields present.
    """
    maker = as_token_maker(key)
    outputs: dict[str, pd.Series] = {}
    for column in df.columns:
        if column in IDENTITY_FIELDS:
            outputs |= column_outputs(df[column], IDENTITY_FIELDS[column], column, maker)
    return pd.DataFrame(outputs, index=df.index)


def build_imd_by_postcode(postcode_lsoa: pd.DataFrame, lsoa_imd: pd.DataFrame) -> pd.Series:
    """IMD decile (1 = most deprived) by normalised postcode.

    Args:
        postcode_lsoa: ``postcode``, ``lsoa_code``.
        lsoa_imd: ``lsoa_code``, ``imd_decile``.
    """
    lookup = postcode_lsoa.assign(postcode=normalise_postcode(postcode_lsoa["postcode"]))
    lookup = lookup.dropna(subset="postcode")
    deciles = lookup.merge(lsoa_imd[["lsoa_code", "imd_decile"]], on="lsoa_code", how="left")
    deciles = deciles.drop_duplicates("postcode", keep="first").set_index("postcode")["imd_decile"]
    return pd.to_numeric(deciles).astype("Int64")


def imd_deciles(postcodes: pd.Series, imd_by_postcode: pd.Series | None) -> pd.Series:
    """IMD decile of each postcode's LSOA (Int64; NA when unknown or when there is no lookup)."""
    if imd_by_postcode is None:
        return pd.Series(pd.NA, index=postcodes.index, dtype="Int64")
    return normalise_postcode(postcodes).map(imd_by_postcode).astype("Int64")


def _check_declared(df: pd.DataFrame, spec: TableSpec) -> None:
    declared = {c.name for c in spec.columns} | set(PASSTHROUGH_COLUMNS) | set(DERIVED_COLUMNS)
    undeclared = [c for c in df.columns if c not in declared]
    if undeclared:
        raise PseudonymisationError(f"{spec.name}: columns with no privacy action in the spec: {undeclared}")


def holds_only_tokens(values: pd.Series) -> bool:
    """Whether every non-missing value is a token: exactly 32 characters, each ``0-9`` or ``a-f``.

    Checked on the UTF-8 bytes Arrow holds (lengths from the offsets, then a byte lookup), the same
    test as matching :data:`~pipeline.scan_pii.HEX_TOKEN` but fast enough for millions of rows.
    """
    text = pa.chunked_array(pa.array(values.dropna().astype("str"), type=pa.large_string())).combine_chunks()
    if len(text) == 0:
        return True
    offsets = np.frombuffer(text.buffers()[1], np.int64)[text.offset : text.offset + len(text) + 1]
    if not (np.diff(offsets) == TOKEN_CHARS).all():
        return False
    data = np.frombuffer(text.buffers()[2], np.uint8)[offsets[0] : offsets[-1]]
    step = 1 << 24  # look at bytes in blocks so the test never doubles a big column's memory
    return all(_is_lower_hex(data[i : i + step]).all() for i in range(0, len(data), step))


def _is_lower_hex(data: np.ndarray) -> np.ndarray:
    # uint8 arithmetic wraps below zero, so one comparison tests each range
    return ((data - np.uint8(ord("0"))) < 10) | ((data - np.uint8(ord("a"))) < 6)


def check_no_identifiers(out: pd.DataFrame, spec: TableSpec) -> None:
    """Refuse an output that still holds an identifier column, a non-token ``*_tok``, or identifier values.

    Raises:
        PseudonymisationError: naming the table, column and kind (never a value).
    """
    identifiers = [c.name for c in spec.columns if c.privacy not in CLEAR_PRIVACY and c.name in out.columns]
    if identifiers:
        raise PseudonymisationError(f"{spec.name}: identifier columns survived: {identifiers}")
    if out.columns.duplicated().any():
        duplicated = list(out.columns[out.columns.duplicated()])
        raise PseudonymisationError(f"{spec.name}: duplicate output columns {duplicated}")
    token_columns = [c for c in out.columns if str(c).endswith("_tok")]
    for column in token_columns:
        if not holds_only_tokens(out[column]):
            raise PseudonymisationError(f"{spec.name}.{column}: holds values that are not tokens")
    # token columns hold only tokens (checked above), which cannot contain an identifier
    findings = [f for f in scan_frame(out.drop(columns=token_columns)) if f[1] in IDENTIFIER_KINDS]
    if findings:
        where = ", ".join(f"{column} ({kind}: {rows} rows)" for column, kind, rows in findings)
        raise PseudonymisationError(f"{spec.name}: identifiers found in the output: {where}")


def pseudonymise_table(
    df: pd.DataFrame, spec: TableSpec, key: bytes | TokenMaker, imd_by_postcode: pd.Series | None
) -> pd.DataFrame:
    """Apply every column's privacy action; the result has the same rows in the same order.

    Args:
        df: a staged table (docs/contracts.md) with ``_source_file``, ``_source_row``.
        spec: its TableSpec; every column of ``df`` must be declared there.
        key: the pseudonymisation key, or a TokenMaker holding it (shared by the tables of a run).
        imd_by_postcode: IMD decile by normalised postcode, or None (deciles are then NA).

    Returns:
        The pseudonymised table: tokens (``*_tok``), kept columns, ``birth_year``/``birth_month``,
        ``lsoa_imd_decile``, ``ethnicity_group``, ``_source_file``/``_source_row``.

    Raises:
        PseudonymisationError: anything wrong; the message names columns, never values.
    """
    _check_declared(df, spec)
    maker = as_token_maker(key)
    outputs: dict[str, pd.Series] = {}
    for col in spec.columns:
        if col.name not in df.columns:
            log.debug("%s: column %s not present, skipped", spec.name, col.name)
            continue
        try:
            made = column_outputs(df[col.name], col.privacy, col.name, maker)
            if col.privacy is Privacy.POSTCODE:
                decile_name = "lsoa_imd_decile" if col.name == "postcode" else f"{col.name}_lsoa_imd_decile"
                made[decile_name] = imd_deciles(df[col.name], imd_by_postcode)
        except PseudonymisationError:
            raise
        except Exception as exc:  # noqa: BLE001 - the message of a pandas error may quote a value
            problem = f"{spec.name}.{col.name}: {type(exc).__name__} while building outputs"
            raise PseudonymisationError(problem) from None
        clash = set(made) & set(outputs)
        if col.privacy is Privacy.ETHNICITY and "ethnicity_group" in df.columns:
            made.pop("ethnicity_group", None)
            clash.discard("ethnicity_group")
        if clash:
            raise PseudonymisationError(f"{spec.name}.{col.name}: output columns clash: {sorted(clash)}")
        outputs |= made
    for column in (*DERIVED_COLUMNS, *PASSTHROUGH_COLUMNS):
        if column in df.columns and column not in outputs:
            outputs[column] = df[column]
    out = pd.DataFrame(outputs, index=df.index).reset_index(drop=True)
    if len(out) != len(df):
        raise PseudonymisationError(f"{spec.name}: {len(df)} rows in but {len(out)} out")
    check_no_identifiers(out, spec)
    return out


def _specs_in(value: object) -> list[TableSpec]:
    """The TableSpecs a module attribute holds: itself, or the members of a list, tuple or dict."""
    if isinstance(value, dict):
        value = list(value.values())
    members = value if isinstance(value, list | tuple) else [value]
    return [item for item in members if isinstance(item, TableSpec)]


def all_table_specs() -> dict[str, TableSpec]:
    """Every TableSpec declared at module level (alone, or in a list/tuple/dict) in the source modules."""
    specs: dict[str, TableSpec] = {}
    for module_name in SOURCE_MODULES:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name != module_name:
                raise
            continue
        for value in vars(module).values():
            for item in _specs_in(value):
                if specs.setdefault(item.name, item) != item:
                    raise PseudonymisationError(f"table {item.name!r} is declared twice, differently")
    return specs


def spec_for_table(name: str) -> TableSpec:
    """The TableSpec of staged table ``name``.

    Raises:
        PseudonymisationError: no source module declares it (fail closed: no spec, no output).
    """
    specs = all_table_specs()
    if name not in specs:
        raise PseudonymisationError(f"{name}: no TableSpec declares this staged table")
    return specs[name]


def load_imd_by_postcode(paths: ProjectPaths) -> pd.Series | None:
    """The IMD lookup from the staged reference tables, else from ``data/raw/reference/*.csv``.

    Returns None, with a warning, when neither is there: deciles are then NA, not an error.
    """
    staged = [paths.staged_table(name) for name in REFERENCE_TABLES]
    if all(p.exists() for p in staged):
        return build_imd_by_postcode(*(read_parquet(p) for p in staged))
    raw = [paths.raw / "reference" / f"{name}.csv" for name in REFERENCE_TABLES]
    if all(p.exists() for p in raw):
        # pipeline/io.py has no CSV reader yet: move this read there when it has one
        return build_imd_by_postcode(*(pd.read_csv(p, dtype="str") for p in raw))
    log.warning("IMD lookup (%s) not found: lsoa_imd_decile will be empty", ", ".join(REFERENCE_TABLES))
    return None


def summarise_table(staged: pd.DataFrame, out: pd.DataFrame, spec: TableSpec) -> dict:
    """Counts and column names for the report (no values): rows, columns tokenised/dropped/kept."""
    present = [c for c in spec.columns if c.name in staged.columns]
    return {
        "rows_in": len(staged),
        "rows_out": len(out),
        "tokenised": [c.name for c in present if c.privacy not in (*CLEAR_PRIVACY, Privacy.DROP)],
        "dropped": [c.name for c in present if c.privacy is Privacy.DROP],
        "kept": [c.name for c in present if c.privacy in CLEAR_PRIVACY]
        + [c for c in (*DERIVED_COLUMNS, *PASSTHROUGH_COLUMNS) if c in staged.columns],
        "output_columns": list(out.columns),
        "non_null_tokens": {c: int(out[c].notna().sum()) for c in out.columns if c.endswith("_tok")},
    }


def _pseudonymise_file(path: Path, specs: Mapping[str, TableSpec], key: TokenMaker,
                       imd_by_postcode: pd.Series | None, paths: ProjectPaths) -> dict:
    name = path.stem
    if name not in specs:
        raise PseudonymisationError(f"{name}: no TableSpec declares this staged table")
    staged = read_parquet(path)
    out = pseudonymise_table(staged, specs[name], key, imd_by_postcode)
    write_parquet(out, paths.pseudo_table(name))
    return summarise_table(staged, out, specs[name])


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
    # the key reaches workers by fork (or the start method's own pipe), never through a file or a log
    _worker.update(maker=TokenMaker(key, remember=True), imd=imd_by_postcode, specs=specs)


def _pseudonymise_in_worker(path: Path, paths: ProjectPaths) -> tuple[dict | None, str | None]:
    return _pseudonymise_or_fail(path, _worker["specs"], _worker["maker"], _worker["imd"], paths)


def _in_processes(staged: list[Path], specs: Mapping[str, TableSpec], key: bytes,
                  imd_by_postcode: pd.Series | None, paths: ProjectPaths, workers: int,
                  advance: Callable[[str], None]) -> dict[str, tuple[dict | None, str | None]]:
    """Pseudonymise tables in ``workers`` processes, largest first; each worker keeps its own TokenMaker."""
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
        Reference lookups (``source == "reference"``: postcodes are places, not people) feed the IMD
        deciles and are not copied to ``data/pseudo/``.
    """
    staged = sorted(paths.staged.glob("*.parquet"))
    if not staged:
        raise PseudonymisationError(f"no staged tables under {paths.staged} (run `riskpipe ingest` first)")
    specs = all_table_specs()
    reference = [p for p in staged if p.stem in specs and specs[p.stem].source == "reference"]
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
            # one maker for the run: a record key or name met in several tables is hashed once
            maker, results = TokenMaker(key, remember=True), {}
            for path in staged:
                results[path.stem] = _pseudonymise_or_fail(path, specs, maker, imd_by_postcode, paths)
                advance(path.stem)
    tables = {p.stem: results[p.stem][0] for p in staged if results[p.stem][1] is None}
    failed = {p.stem: results[p.stem][1] for p in staged if results[p.stem][1] is not None}
    report = {"key_id": PseudonymisationKey(bytes(key)).key_id, "tables": tables, "failed": failed,
              "reference_tables_not_output": [p.stem for p in reference]}
    write_json(report, paths.reports / "pseudonymise.json")
    return report
