"""``link-pair``: link any two person tables with riskpipe's comparison design, no tuning.

The tables are mapped onto riskpipe's identity fields (forename, surname, dob, sex, postcode,
nhs_number, upn; any subset). Clear tables are pseudonymised on the fly with the configured key
(``pipeline.pseudonymise.tables.identity_match_keys``), so only tokens reach the linkage engine; tables
already pseudonymised are used as they are. Clear tables also give names' one-typo tokens
(``name_edit_tokens``) and tokens for partial or non-UK postcodes (``postcode_tokens_beyond_uk``).

The data decide the rest. Besides riskpipe's county blocking rules, each wide rule (one name, the
date of birth, the postcode ...) is used where it yields few enough pairs (``choose_wide_rules``).
The model is trained on the pair itself: u by random sampling (fixed seed), m by EM, with the
declared priors kept wherever EM cannot run or drifts (``repair_trained_parameters``); the prior
match probability is re-estimated from what the trained model says about its own exact rules
(``rescale_prior_to_model``), and with no ``threshold`` the cut-off is the one with the best F1
the model expects (``threshold_from_model``). ``link_pair_files`` is the command end to end: it
reads the two tables and writes the pairs through ``pipeline.core.io``.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pandas as pd

from pipeline.core.config import LinkParams
from pipeline.core.io import read_csv_table, read_parquet, write_csv
from pipeline.linkage.backends import engine_from_params
from pipeline.linkage.blocking import choose_wide_rules
from pipeline.linkage.comparisons import EDIT_COLUMNS, FIELD_COLUMNS, IDENTITY_FIELDS
from pipeline.linkage.engine import LinkageEngine, make_linker, predict_pairs, release_linker
from pipeline.linkage.model import build_linkage_settings, fields_present
from pipeline.linkage.probabilistic import threshold_from_model
from pipeline.linkage.training import repair_trained_parameters, rescale_prior_to_model, train_linkage_model
from pipeline.privacy.keys import load_key

log = logging.getLogger(__name__)
PAIR_COLUMNS = ["left_id", "right_id", "match_probability"]
ASSUMED_PRIOR_RECALL = 0.7  # first guess at the exact rules' recall; replaced by the model's own
SCORE_FLOOR = 1e-3  # pairs below this are not fetched (they barely move the threshold choice)
# random pairs for u: Splink samples them in ten chunks and stops once every level of a comparison
# has been seen 100 times, so most comparisons use a tenth of them
U_MAX_PAIRS = 2e6
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
        fields = mapping or IDENTITY_FIELDS
        wanted = [c for f in fields for c in (*FIELD_COLUMNS[f], EDIT_COLUMNS.get(f)) if c in table]
        tokens = table[wanted].reset_index(drop=True)
    else:
        if key is None:
            raise ValueError("a pseudonymisation key is needed to link clear tables")
        tokens = clear_match_keys(canonical_identity_columns(table, mapping, dob_format), key)
    keep = [c for f in IDENTITY_FIELDS for c in FIELD_COLUMNS[f] if c in tokens]
    edits = [EDIT_COLUMNS[f] for f in EDIT_COLUMNS if EDIT_COLUMNS[f] in tokens]
    return pd.concat([ids.rename("unique_id"), tokens[keep].astype("string"), tokens[edits]], axis=1)


def clear_match_keys(clear: pd.DataFrame, key: bytes) -> pd.DataFrame:
    """Match keys of canonical clear identity columns, plus link-pair's extra tokens.

    ``identity_match_keys`` (as pseudonymise makes them), then names' one-typo token lists
    (``<field>_edit_tok``) and, where the postcode is not a full UK one, the partial or as-written
    postcode tokens; ``sex`` stays clear (M/F/U).
    """
    from pipeline.privacy.match_keys import identity_match_keys, name_edit_tokens, postcode_tokens_beyond_uk

    tokens = identity_match_keys(clear, key).reset_index(drop=True)
    clear = clear.reset_index(drop=True)
    for field, column in EDIT_COLUMNS.items():
        if field in clear:
            tokens[column] = name_edit_tokens(clear[field], key)
    if "postcode" in clear:
        tokens = tokens.fillna(postcode_tokens_beyond_uk(clear["postcode"], key))
    if "sex" in clear and "sex" not in tokens:
        tokens["sex"] = clear["sex"]
    return tokens


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
    threshold: float | None = None,
    mapping_right: dict[str, str] | None = None,
    seed: int = 42,
    backend: str | LinkageEngine = "duckdb",
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
        threshold: minimum match probability of a returned pair; None: the threshold with the best
            F1 the fitted model expects (``threshold_from_model``).
        mapping_right: the right table's mapping when its columns are named differently.
        seed: seed for u estimation by random sampling.
        backend: ``duckdb`` or ``spark``, or the engine itself (``engine_from_params``: Spark's settings).

    Returns:
        ``left_id``, ``right_id``, ``match_probability``: one row per scored pair >= threshold,
        best first. ``attrs["threshold"]`` holds the threshold used.
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
    engine = backend if isinstance(backend, LinkageEngine) else LinkageEngine(backend)
    model = train_pair_model(sides, fields, seed=seed, engine=engine)
    linker = make_linker(sides, model, engine)
    try:
        pairs = predict_pairs(linker, SCORE_FLOOR if threshold is None else threshold)
    finally:
        release_linker(linker)
    if threshold is None:
        threshold = threshold_from_model(pairs["match_probability"])
        pairs = pairs[pairs["match_probability"] >= threshold]
    out = pairs.rename(columns={"unique_id_l": "left_id", "unique_id_r": "right_id"})
    flipped = out["source_dataset_l"] != "left_table"
    out.loc[flipped, ["left_id", "right_id"]] = out.loc[flipped, ["right_id", "left_id"]].to_numpy()
    log.info("link-pair: %d pairs at match probability >= %.3f", len(out), threshold)
    out = (
        out[PAIR_COLUMNS]
        .sort_values(["match_probability", "left_id", "right_id"], ascending=[False, True, True])
        .reset_index(drop=True)
    )
    out.attrs["threshold"] = float(threshold)
    return out


def train_pair_model(
    sides: dict[str, pd.DataFrame], fields: list[str], *, seed: int, engine: LinkageEngine
) -> dict[str, Any]:
    """Train a link-only model on the pair itself and return the repaired model dict."""
    n_left, n_right = (len(df) for df in sides.values())
    left, right = sides.values()
    settings = build_linkage_settings(
        fields,
        link_type="link_only",
        columns=set(left.columns) & set(right.columns),
        extra_blocking_rules=choose_wide_rules(left, right),
        sql_dialect=engine.backend,
        retain_matching_columns=False,  # only ids and probabilities leave link-pair
    )
    pairs = max(n_left * n_right, 1)
    trained, _ = train_linkage_model(
        sides,
        settings,
        engine=engine,
        n_records=max(n_left, n_right),
        seed=seed,
        u_max_pairs=min(float(pairs), U_MAX_PAIRS),
        prior_recall=ASSUMED_PRIOR_RECALL,
    )
    model, _ = repair_trained_parameters(trained, settings, u_fallback=1.0 / pairs)
    model, _ = rescale_prior_to_model(model, sides, ASSUMED_PRIOR_RECALL)
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
        threshold: minimum match probability; None: ``params.pair_threshold_match_probability``, and when
            that is None too, the threshold chosen from the fitted model.
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
        backend=engine_from_params(params),
    )
    write_csv(pairs, out)
    return pairs
