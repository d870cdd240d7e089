"""Pseudonymise one table: staged columns -> HMAC tokens and match keys; no direct identifier survives.

Each column's :class:`~pipeline.sources.spec.Privacy` action (docs/contracts.md) decides its outputs.
Tokens are HMAC-SHA256 over ``b"riskpipe/v1/<domain>\\x00" + value``, lowercase hex cut to 32
characters, one domain per identifier type: the same value in two domains gives unrelated tokens,
so a token can only ever be compared with tokens of its own kind. Shared domains are deliberate:
``upn`` (current and former UPNs match), ``name`` / ``name_phonetic`` / ``name_initial`` (forename
and surname, so a forename/surname swap can be seen) and ``dob_day_month`` (day and month, so a
day/month swap can be seen: ``dob_day_tok`` of one record equals ``dob_month_tok`` of the other).

Identifiers are normalised (pipeline/privacy/normalise.py) before tokens are made; :func:`identity_match_keys`
is the one place that happens, for this stage and for on-the-fly linkage alike.

Privacy fails closed: a table whose outputs cannot be built, or that still holds an identifier
column, an NHS number, a UPN, a postcode or a clear name afterwards, is not written.
"""

from __future__ import annotations

import logging

import pandas as pd

from pipeline.privacy.actions import CLEAR_PRIVACY, Privacy, PseudonymisationError
from pipeline.privacy.identifier_detectors import scan_frame
from pipeline.privacy.match_keys import column_outputs
from pipeline.privacy.normalise import normalise_postcode
from pipeline.privacy.tokens import TokenMaker, as_token_maker, holds_only_tokens
from pipeline.sources.codes import derive_ethnicity_group
from pipeline.sources.spec import TableSpec

log = logging.getLogger(__name__)

# lineage and data-quality flags (``column:rule`` names, never values), not identifiers
PASSTHROUGH_COLUMNS = ("_source_file", "_source_row", "_flags", "_reader_flags")


DERIVED_COLUMNS = ("ethnicity_group",)  # may be added by ingest without a spec entry


IDENTIFIER_KINDS = ("nhs_number", "upn", "postcode", "name_column", "listed_name", "local_id", "date_of_birth")


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
            if col.privacy is Privacy.ETHNICITY:
                group = f"{col.name}_group" if col.name != "ethnicity" else "ethnicity_group"
                if group not in df.columns:  # ingest adds ethnicity_group; it then passes through as derived
                    made[group] = derive_ethnicity_group(df[col.name])
            if col.privacy is Privacy.POSTCODE:
                decile_name = "lsoa_imd_decile" if col.name == "postcode" else f"{col.name}_lsoa_imd_decile"
                made[decile_name] = imd_deciles(df[col.name], imd_by_postcode)
        except PseudonymisationError:
            raise
        except Exception as exc:  # noqa: BLE001 - the message of a pandas error may quote a value
            problem = f"{spec.name}.{col.name}: {type(exc).__name__} while building outputs"
            raise PseudonymisationError(problem) from None
        clash = set(made) & set(outputs)
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


def merge_summaries(summaries: list[dict]) -> dict:
    """One table's :func:`summarise_table` from those of its batches: counts added, names the first's."""
    merged = dict(summaries[0])
    merged["rows_in"] = sum(s["rows_in"] for s in summaries)
    merged["rows_out"] = sum(s["rows_out"] for s in summaries)
    merged["non_null_tokens"] = {c: sum(s["non_null_tokens"][c] for s in summaries) for c in merged["non_null_tokens"]}
    return merged
