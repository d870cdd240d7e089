"""What the link stage takes from Splink's scored pairs, queried where the pairs lie.

A county's scored pairs carry both sides' token columns (about fifty strings a pair); pulled
into pandas whole they were one of the stage's largest frames. The table stays in the backend and
three small queries fetch what is used: the pairs that may join two records (keys, weight,
probability and comparison levels), the pair count, and the clerical-review sample, the only
rows whose token columns leave the backend.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from splink import Linker
from splink.internals.splink_dataframe import SplinkDataFrame

from pipeline.linkage.engine import query_pairs
from pipeline.linkage.timing import phase

PAIR_KEYS = ["source_l", "record_key_tok_l", "source_r", "record_key_tok_r"]
_SPLINK_KEYS = {
    "source_dataset_l": "source_l",
    "unique_id_l": "record_key_tok_l",
    "source_dataset_r": "source_r",
    "unique_id_r": "record_key_tok_r",
}


@dataclass(frozen=True)
class ScoredPairs:
    """Scored pairs as the link stage uses them.

    Attributes:
        scored: number of pairs scored at or above the scoring threshold.
        over_cluster_threshold: pairs at or above the cluster threshold: ``PAIR_KEYS``,
            ``match_weight``, ``match_probability``, ``gamma_<comparison>``.
        review: the clerical-review sample, every column Splink keeps (``PAIR_KEYS`` names).
        everything: every scored pair, ``PAIR_KEYS``, ``match_weight``, ``match_probability`` only: the
            population ``riskpipe review-linkage`` draws its strata from (pipeline/linkage/review_pairs.py).
    """

    scored: int
    over_cluster_threshold: pd.DataFrame
    review: pd.DataFrame
    everything: pd.DataFrame | None = None


def fetch_scored_pairs(
    linker: Linker,
    predictions: SplinkDataFrame,
    *,
    only_source: str,
    cluster_threshold: float,
    review_band: tuple[float, float],
    review_size: int,
    seed: int,
) -> ScoredPairs:
    """Query the prediction table for the pairs to cluster, their count and the review sample.

    Args:
        linker: the linker that made ``predictions`` (its backend holds the table).
        predictions: Splink's scored pairs (``source_dataset_l/_r`` when several inputs,
            ``unique_id_l/_r``, ``match_weight``, ``match_probability``, ``gamma_*``, tokens).
        only_source: the source name when there was a single input (Splink then adds no
            source column).
        cluster_threshold: pairs at or above this probability are fetched for clustering.
        review_band: (low, high) probabilities the review sample is drawn from, inclusive.
        review_size: pairs in the review sample (fewer if the band holds fewer).
        seed: seed of the review draw.
    """
    table = predictions.physical_name
    columns = list(query_pairs(linker, f"SELECT * FROM {table} LIMIT 0").columns)
    keys = _key_select(columns, only_source)
    gammas = ", ".join(c for c in columns if c.startswith("gamma_"))
    with phase("splink: fetch pairs over the cluster threshold"):
        over = query_pairs(
            linker,
            f"SELECT {keys}, match_weight, match_probability{', ' + gammas if gammas else ''} "
            f"FROM {table} WHERE match_probability >= {_double(cluster_threshold)}",
        )
        scored = int(query_pairs(linker, f"SELECT count(*) AS n FROM {table}")["n"].iloc[0])
    with phase("splink: fetch review sample"):
        review = fetch_review_pairs(linker, table, keys, review_band, review_size, seed)
    with phase("splink: fetch every scored pair"):
        everything = query_pairs(linker, f"SELECT {keys}, match_weight, match_probability FROM {table}")
    return ScoredPairs(scored, over, review, everything)


def fetch_review_pairs(
    linker: Linker, table: str, keys: str, band: tuple[float, float], size: int, seed: int
) -> pd.DataFrame:
    """A seeded sample of ``size`` pairs with match probability inside ``band``, all columns.

    The band's pairs are numbered in key order before the draw, so the same pairs give the same
    sample on every run whatever order the backend returns rows in.
    """
    in_band = f"match_probability >= {_double(band[0])} AND match_probability <= {_double(band[1])}"
    n = int(query_pairs(linker, f"SELECT count(*) AS n FROM {table} WHERE {in_band}")["n"].iloc[0])
    positions = review_positions(n, size, seed)
    drawn = f"review_position IN ({', '.join(str(int(p)) for p in positions)})" if len(positions) else "false"
    pair_keys = ", ".join(PAIR_KEYS)
    # number the band's keys only (a window over every column would hold the band in memory)
    numbered = (
        f"SELECT {pair_keys}, row_number() OVER (ORDER BY {pair_keys}) - 1 AS review_position "
        f"FROM (SELECT {keys} FROM {table} WHERE {in_band})"
    )
    sample = query_pairs(
        linker,
        f"SELECT * FROM (SELECT {keys}, * FROM {table} WHERE {in_band}) "
        f"JOIN (SELECT {pair_keys} FROM ({numbered}) WHERE {drawn}) USING ({pair_keys})",
    )
    return sample.drop(columns=[c for c in _SPLINK_KEYS if c in sample])


def review_positions(n: int, size: int, seed: int) -> np.ndarray:
    """Positions of a seeded draw of ``min(size, n)`` of ``n`` pairs without replacement."""
    if not size or not n:
        return np.array([], dtype=int)
    return np.random.RandomState(seed).choice(n, size=min(size, n), replace=False)


def _double(value: float) -> str:
    """A probability as a DuckDB/Spark SQL double literal (a bare 0.95 would be a decimal)."""
    return f"CAST({float(value)!r} AS DOUBLE)"


def _key_select(columns: list[str], only_source: str) -> str:
    """SQL selecting ``PAIR_KEYS`` from Splink's prediction columns."""
    if "source_dataset_l" in columns:
        source_l, source_r = "source_dataset_l", "source_dataset_r"
    else:  # a single input: Splink adds no source column
        source_l = source_r = f"'{only_source}'"
    return (
        f"{source_l} AS source_l, unique_id_l AS record_key_tok_l, "
        f"{source_r} AS source_r, unique_id_r AS record_key_tok_r"
    )
