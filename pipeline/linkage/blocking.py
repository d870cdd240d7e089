"""Blocking for link-pair: wide rules taken only where the two tables give them few enough pairs.

riskpipe's county rules (``PREDICTION_BLOCKING_RULES``, pipeline/linkage/model.py) all carry part of
the date of birth, since a county's blocks on one name or one postcode hold millions of pairs. Two
tables brought to ``link-pair`` may be small enough for wider rules, which catch the true pairs with
errors in several fields at once (FEBRL: a name typo and a wrong day of birth); the pair counts
decide, not the table sizes.
"""

from __future__ import annotations

import pandas as pd

WIDE_RULE_MAX_PAIRS = 5e6  # a wide blocking rule is used when it yields at most this many pairs
# One exact key each (or two phonetic names, or both initials and the birth year).
WIDE_BLOCKING_RULES: tuple[tuple[str, ...], ...] = (
    ("forename_tok",),
    ("surname_tok",),
    ("dob_tok",),
    ("postcode_tok",),
    ("forename_phon_tok", "surname_phon_tok"),
    ("forename_initial_tok", "surname_initial_tok", "dob_year_tok"),
)


def rule_pair_count(left: pd.DataFrame, right: pd.DataFrame, columns: tuple[str, ...]) -> int:
    """Pairs an equi-join blocking rule on ``columns`` yields between two tables (nulls never join)."""
    counts = [df.dropna(subset=list(columns)).groupby(list(columns)).size() for df in (left, right)]
    joined = counts[0].to_frame("left").join(counts[1].to_frame("right"), how="inner")
    return int((joined["left"] * joined["right"]).sum())


def choose_wide_rules(
    left: pd.DataFrame, right: pd.DataFrame, max_pairs: float = WIDE_RULE_MAX_PAIRS
) -> tuple[tuple[str, ...], ...]:
    """The ``WIDE_BLOCKING_RULES`` whose columns both tables hold and that yield at most ``max_pairs``."""
    available = set(left.columns) & set(right.columns)
    return tuple(
        rule
        for rule in WIDE_BLOCKING_RULES
        if set(rule) <= available and rule_pair_count(left, right, rule) <= max_pairs
    )
