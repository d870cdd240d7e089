"""Scored pairs queried in the backend: what is fetched matches the same selection made in pandas."""

from __future__ import annotations

from types import SimpleNamespace

import duckdb
import numpy as np
import pandas as pd
import pytest

from pipeline.linkage.report import format_review_sample, sources_held
from pipeline.linkage.scored_pairs import PAIR_KEYS, fetch_scored_pairs

BAND = (0.5, 0.99)


class DuckDBLinker:
    """Stands in for a Splink linker: ``misc.query_sql(sql, output_type="pandas")`` on DuckDB."""

    def __init__(self, predictions: pd.DataFrame) -> None:
        self.con = duckdb.connect()
        self.con.register("scored", predictions)
        self.con.execute("CREATE TABLE predictions AS SELECT * FROM scored")
        self.misc = SimpleNamespace(query_sql=lambda sql, output_type: self.con.sql(sql).df())


def _predictions(n: int, seed: int, *, sources: bool = True) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "unique_id_l": [f"{i:032x}" for i in range(n)],
            "unique_id_r": [f"{i + n:032x}" for i in range(n)],
            "match_weight": rng.normal(size=n),
            "match_probability": rng.uniform(0.5, 1.0, n),
            "gamma_dob": rng.integers(-1, 6, n),
            "dob_tok_l": [f"{i:032x}" for i in rng.integers(0, 9, n)],
            "dob_tok_r": [f"{i:032x}" for i in rng.integers(0, 9, n)],
        }
    )
    if sources:
        frame.insert(0, "source_dataset_l", rng.choice(["health", "school"], n))
        frame.insert(2, "source_dataset_r", rng.choice(["nccis", "social_care"], n))
    return frame


def _fetch(predictions: pd.DataFrame, size: int = 20, seed: int = 7):
    return fetch_scored_pairs(
        DuckDBLinker(predictions),
        SimpleNamespace(physical_name="predictions"),
        only_source="health",
        cluster_threshold=0.95,
        review_band=BAND,
        review_size=size,
        seed=seed,
    )


def _as_pairs(predictions: pd.DataFrame) -> pd.DataFrame:
    return predictions.rename(
        columns={
            "source_dataset_l": "source_l",
            "unique_id_l": "record_key_tok_l",
            "source_dataset_r": "source_r",
            "unique_id_r": "record_key_tok_r",
        }
    )


def test_pairs_over_the_cluster_threshold_and_the_count_match_pandas():
    predictions = _predictions(500, seed=1)
    scored = _fetch(predictions)
    pairs = _as_pairs(predictions)
    expected = pairs[pairs["match_probability"] >= 0.95]
    got = scored.over_cluster_threshold
    assert scored.scored == len(predictions)
    assert list(got.columns) == [*PAIR_KEYS, "match_weight", "match_probability", "gamma_dob"]
    pd.testing.assert_frame_equal(
        got.sort_values(PAIR_KEYS).reset_index(drop=True),
        expected[got.columns].sort_values(PAIR_KEYS).reset_index(drop=True),
        check_dtype=False,
    )


def test_review_sample_is_a_seeded_draw_from_the_band_whatever_the_row_order():
    predictions = _predictions(500, seed=2)
    first = _fetch(predictions).review
    shuffled = _fetch(predictions.sample(frac=1.0, random_state=3)).review
    labels = {"dob": {5: "exact", 0: "else", -1: "null"}}
    pd.testing.assert_frame_equal(format_review_sample(first, labels), format_review_sample(shuffled, labels))

    pairs = _as_pairs(predictions)
    band = pairs[pairs["match_probability"].between(*BAND)].sort_values(PAIR_KEYS).reset_index(drop=True)
    drawn = band.sample(n=20, random_state=np.random.RandomState(7))
    assert set(first["record_key_tok_l"]) == set(drawn["record_key_tok_l"])
    assert {"dob_tok_l", "dob_tok_r", "gamma_dob"} <= set(first.columns)


@pytest.mark.parametrize("size", [0, 10_000])
def test_review_sample_size_is_capped_by_the_band(size):
    predictions = _predictions(200, seed=4)
    review = _fetch(predictions, size=size).review
    in_band = predictions["match_probability"].between(*BAND).sum()
    assert len(review) == min(size, in_band)
    assert review["match_probability"].between(*BAND).all()


def test_a_single_source_gets_its_name_on_both_sides():
    scored = _fetch(_predictions(100, seed=5, sources=False))
    assert set(scored.over_cluster_threshold["source_l"]) == {"health"}
    assert set(scored.review["source_r"]) == {"health"}


def test_sources_held_matches_crosstab():
    index = pd.DataFrame(
        {
            "person_id": ["P1", "P1", "P2", "P3", "P3", "P3"],
            "table": ["school", "health", "school", "nccis", "school", "school"],
        }
    )
    expected = pd.crosstab(index["person_id"], index["table"]).gt(0)
    pd.testing.assert_frame_equal(sources_held(index), expected, check_names=False)
