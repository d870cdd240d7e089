"""``link-pair``: link any two person tables with riskpipe's comparison design, no tuning.

The tables are mapped onto riskpipe's identity fields (forename, surname, dob, sex, postcode,
nhs_number, upn; any subset). Clear tables are pseudonymised on the fly with the configured key
(``pipeline.pseudonymise.tables.identity_match_keys``), so only tokens reach the linkage engine; tables
already pseudonymised are used as they are. The model is trained on the pair itself: u by random
sampling (fixed seed), m by EM, with the declared priors kept wherever EM cannot run or drifts
(see ``repair_trained_parameters``). ``link_pair_files`` is the command end to end: it reads the
two tables and writes the pairs through ``pipeline.core.io``.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pandas as pd

from pipeline.core.config import LinkParams
from pipeline.core.io import read_csv_table, read_parquet, write_csv
from pipeline.linkage.engine import LinkageEngine, make_linker, predict_pairs, release_linker
from pipeline.linkage.model import FIELD_COLUMNS, IDENTITY_FIELDS, build_linkage_settings, fields_present
from pipeline.linkage.training import repair_trained_parameters, train_linkage_model
from pipeline.privacy.keys import load_key

log = logging.getLogger(__name__)
PAIR_COLUMNS = ["left_id", "right_id", "match_probability"]
_SEX_CODES = {"M": "M", "MALE": "M", "1": "M", "F": "F", "FEMALE": "F", "2": "F"}


def parse_mapping(text: str) -> dict[str, str]:
    """Parse ``field=column,field=column`` (the CLI's ``--map``) into a dict.

    Raises:
        ValueError: a malformed item or a field that is not an identity field.
    """
    mapping = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        field, sep, column = item.partition("=")
        if not sep or not column.strip():
            raise ValueError(f"--map item {item!r} is not field=column")
        mapping[field.strip()] = column.strip()
    unknown = set(mapping) - set(IDENTITY_FIELDS)
    if unknown:
        raise ValueError(
            f"unknown identity fields {sorted(unknown)}; expected some of {list(IDENTITY_FIELDS)}"
        )
    return mapping


def canonical_identity_columns(
    table: pd.DataFrame, mapping: dict[str, str], dob_format: str | None
) -> pd.DataFrame:
    """Rename mapped columns onto identity field names; parse dob; code sex as M/F/U.

    Args:
        table: any person table holding the mapped columns.
        mapping: identity field -> column in ``table``.
        dob_format: ``strptime`` format of the dob column (``None``: ISO / pandas inference).

    Returns:
        One column per mapped identity field, same row order as ``table``.
    """
    missing = [col for col in mapping.values() if col not in table]
    if missing:
        raise ValueError(f"mapped columns not in the table: {missing}")
    out = pd.DataFrame({field: table[col] for field, col in mapping.items()}, index=table.index)
    if "dob" in out:
        out["dob"] = pd.to_datetime(out["dob"].astype("string"), format=dob_format, errors="coerce")
    if "sex" in out:
        codes = out["sex"].astype("string").str.strip().str.upper()
        out["sex"] = codes.map(_SEX_CODES).fillna("U").astype("string")
    return out.reset_index(drop=True)


def pair_match_keys(
    table: pd.DataFrame,
    *,
    id_column: str,
    mapping: dict[str, str],
    dob_format: str | None,
    pseudonymised: bool,
    key: bytes | None,
) -> pd.DataFrame:
    """``unique_id`` plus the match-key token columns of the mapped fields, for one table."""
    if id_column not in table:
        raise ValueError(f"id column {id_column!r} not in the table")
    ids = table[id_column].astype("string").reset_index(drop=True)
    if ids.isna().any() or ids.duplicated().any():
        raise ValueError(f"id column {id_column!r} must be unique and non-missing")
    if pseudonymised:
        wanted = [c for f in (mapping or IDENTITY_FIELDS) for c in FIELD_COLUMNS[f] if c in table]
        tokens = table[wanted].reset_index(drop=True)
    else:
        if key is None:
            raise ValueError("a pseudonymisation key is needed to link clear tables")
        from pipeline.privacy.match_keys import identity_match_keys

        clear = canonical_identity_columns(table, mapping, dob_format)
        tokens = identity_match_keys(clear, key).reset_index(drop=True)
        if "sex" in clear and "sex" not in tokens:
            tokens["sex"] = clear["sex"]
    keep = [c for f in IDENTITY_FIELDS for c in FIELD_COLUMNS[f] if c in tokens]
    return pd.concat([ids.rename("unique_id"), tokens[keep].astype("string")], axis=1)


def link_pair(
    left: pd.DataFrame,
    right: pd.DataFrame,
    *,
    id_left: str,
    id_right: str,
    mapping: dict[str, str],
    dob_format: str | None = None,
    pseudonymised: bool = False,
    key: bytes | None = None,
    threshold: float = 0.9,
    mapping_right: dict[str, str] | None = None,
    seed: int = 42,
    backend: str = "duckdb",
) -> pd.DataFrame:
    """Score record pairs between two person tables; keep those at or above ``threshold``.

    Args:
        left, right: the two tables (clear, or pseudonymised with the contract's token columns).
        id_left, id_right: each table's unique record id column.
        mapping: identity field -> column (clear tables); for pseudonymised tables its keys choose
            the fields (empty: every field whose tokens are present).
        dob_format: ``strptime`` format of the clear dob column, e.g. ``%Y%m%d``.
        pseudonymised: the tables already hold tokens.
        key: pseudonymisation key (clear tables only).
        threshold: minimum match probability of a returned pair.
        mapping_right: the right table's mapping when its columns are named differently.
        seed: seed for u estimation by random sampling.
        backend: ``duckdb`` or ``spark``.

    Returns:
        ``left_id``, ``right_id``, ``match_probability``: one row per scored pair >= threshold,
        best first.
    """
    sides = {}
    for name, table, id_col, cols in (
        ("left_table", left, id_left, mapping),
        ("right_table", right, id_right, mapping_right or mapping),
    ):
        sides[name] = pair_match_keys(
            table, id_column=id_col, mapping=cols, dob_format=dob_format, pseudonymised=pseudonymised, key=key
        )
    common = set(sides["left_table"].columns) & set(sides["right_table"].columns)
    fields = fields_present(common)
    if len(fields) < 2:
        raise ValueError(f"link-pair needs at least two identity fields on both sides; found {fields}")
    sides = {name: df[["unique_id", *sorted(common - {"unique_id"})]] for name, df in sides.items()}
    engine = LinkageEngine(backend)
    model = train_pair_model(sides, fields, seed=seed, engine=engine)
    linker = make_linker(sides, model, engine)
    try:
        pairs = predict_pairs(linker, threshold)
    finally:
        release_linker(linker)
    out = pairs.rename(columns={"unique_id_l": "left_id", "unique_id_r": "right_id"})
    flipped = out["source_dataset_l"] != "left_table"
    out.loc[flipped, ["left_id", "right_id"]] = out.loc[flipped, ["right_id", "left_id"]].to_numpy()
    log.info("link-pair: %d pairs at match probability >= %.3f", len(out), threshold)
    return (
        out[PAIR_COLUMNS]
        .sort_values(["match_probability", "left_id", "right_id"], ascending=[False, True, True])
        .reset_index(drop=True)
    )


def train_pair_model(
    sides: dict[str, pd.DataFrame], fields: list[str], *, seed: int, engine: LinkageEngine
) -> dict[str, Any]:
    """Train a link-only model on the pair itself and return the repaired model dict."""
    n_left, n_right = (len(df) for df in sides.values())
    settings = build_linkage_settings(fields, link_type="link_only")
    pairs = max(n_left * n_right, 1)
    trained, _ = train_linkage_model(
        sides,
        settings,
        engine=engine,
        n_records=max(n_left, n_right),
        seed=seed,
        u_max_pairs=min(float(pairs), 1e7),
        prior_recall=0.7,
    )
    model, _ = repair_trained_parameters(trained, settings, u_fallback=1.0 / pairs)
    return model


def read_pair_table(path: Path) -> pd.DataFrame:
    """A person table for link-pair: parquet as stored, CSV with every column as text."""
    return read_parquet(path) if Path(path).suffix.lower() == ".parquet" else read_csv_table(path)


def link_pair_files(
    left: Path,
    right: Path,
    out: Path,
    *,
    id_left: str,
    id_right: str,
    mapping: str,
    map_right: str | None,
    dob_format: str | None,
    pseudonymised: bool,
    key_file: Path,
    threshold: float | None,
    params: LinkParams,
) -> pd.DataFrame:
    """``riskpipe link-pair`` end to end: read two person tables, ``link_pair``, write the pairs as CSV.

    Args:
        left, right: the tables (``.csv`` or ``.parquet``).
        out: the CSV of ``left_id``, ``right_id``, ``match_probability`` to write.
        mapping, map_right: the ``--map`` texts (``parse_mapping``); ``map_right`` None: same as left.
        key_file: the pseudonymisation key file (clear tables only; ``$RISKPIPE_PSEUDO_KEY`` wins).
        threshold: minimum match probability; None: ``params.pair_threshold_match_probability``.
        params: the ``link`` section of params.yaml (seed, backend, default threshold).
        id_left, id_right, dob_format, pseudonymised: as ``link_pair``.

    Returns:
        The pairs written.

    Raises:
        ValueError: a malformed mapping or table; PseudonymisationKeyError: no usable key for clear
        tables; FileNotFoundError: a table is missing. Nothing is written then.
    """
    left_map = parse_mapping(mapping)
    right_map = parse_mapping(map_right) if map_right else None
    key = None if pseudonymised else load_key(key_file)
    pairs = link_pair(
        read_pair_table(left),
        read_pair_table(right),
        id_left=id_left,
        id_right=id_right,
        mapping=left_map,
        mapping_right=right_map,
        dob_format=dob_format,
        pseudonymised=pseudonymised,
        key=key,
        threshold=threshold if threshold is not None else params.pair_threshold_match_probability,
        seed=params.seed,
        backend=params.backend,
    )
    write_csv(pairs, out)
    return pairs
