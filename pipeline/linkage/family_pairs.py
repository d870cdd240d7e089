"""Sets of person pairs as frames: the counting behind the family links' quality against truth (evaluation only).

A relation's quality is pairwise: predicted pairs (the true people a link's two person ids stand for), true
pairs (from the synthetic truth), and their intersection, overall and per group. Held as Python sets of
string tuples this was the slowest part of the link stage's family section at a million people (millions of
household pairs, and every group's counts a pass over both sets in Python). Here a set of pairs is a frame of
distinct ``a``, ``b`` (``str``), intersections are joins, and a group's counts one ``groupby``; the numbers
are those of the sets (tests/test_pipeline/test_linkage/test_family_pairs.py checks them against sets).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from pipeline.linkage.persons import AGE_BANDS

PAIR = ["a", "b"]
SUPPRESSED = {"suppressed": True}
_BAND_ORDER = {label: i for i, (_, _, label) in enumerate(AGE_BANDS)}


def group_order(group: str) -> tuple[int, str]:
    """Age bands youngest first, other groups alphabetically."""
    return _BAND_ORDER.get(group, len(_BAND_ORDER)), group


def pair_frame(a: Sequence | pd.Series, b: Sequence | pd.Series) -> pd.DataFrame:
    """The distinct pairs (``a``, ``b``) of two aligned columns, as text (``str(value)``), in first-seen order."""
    out = pd.DataFrame({"a": pd.Series(a).astype(str).to_numpy(), "b": pd.Series(b).astype(str).to_numpy()})
    return out.drop_duplicates(ignore_index=True)


def unordered(pairs: pd.DataFrame) -> pd.DataFrame:
    """Each pair as (smaller, larger), then distinct: the set of unordered pairs."""
    a, b = pairs["a"].to_numpy(dtype=object), pairs["b"].to_numpy(dtype=object)
    swap = b < a
    return pair_frame(np.where(swap, b, a), np.where(swap, a, b))


def linked_true_pairs(rows: pd.DataFrame, true_of: pd.Series, ordered: bool) -> pd.DataFrame:
    """The true-person pairs of links (``person_id_a``, ``person_id_b``): both known and different, sorted within
    a pair when ``ordered`` is False.

    Args:
        rows: family links.
        true_of: ``person_id`` -> true person (``pipeline.linkage.family.true_person_of``).
    """
    ta, tb = rows["person_id_a"].map(true_of), rows["person_id_b"].map(true_of)
    keep = (ta.notna() & tb.notna()).to_numpy(dtype=bool)
    ta, tb = ta[keep].astype(str), tb[keep].astype(str)
    pairs = pair_frame(ta[(ta != tb).to_numpy()], tb[(ta != tb).to_numpy()])
    return pairs if ordered else unordered(pairs)


def pairs_sharing(groups: pd.DataFrame, group: str) -> pd.DataFrame:
    """Pairs of distinct ``person_id`` sharing ``group``, each as (smaller, larger)."""
    both = groups.merge(groups, on=group, suffixes=("_a", "_b"))
    both = both[both["person_id_a"] < both["person_id_b"]]
    return pair_frame(both["person_id_a"], both["person_id_b"])


def in_pairs(pairs: pd.DataFrame, other: pd.DataFrame) -> np.ndarray:
    """For each row of ``pairs``, whether ``other`` holds the same pair."""
    if pairs.empty or other.empty:
        return np.zeros(len(pairs), dtype=bool)
    found = pairs[PAIR].merge(other[PAIR].drop_duplicates().assign(_found=True), on=PAIR, how="left", sort=False)
    return found["_found"].notna().to_numpy()


def pair_quality(predicted: pd.DataFrame, true: pd.DataFrame) -> dict:
    """``predicted_pairs``, ``true_pairs``, ``true_positive_pairs``, ``precision``, ``recall`` (None when undefined)."""
    return _quality(len(predicted), len(true), int(in_pairs(predicted, true).sum()))


def _quality(predicted: int, true: int, hits: int) -> dict:
    return {"predicted_pairs": int(predicted), "true_pairs": int(true), "true_positive_pairs": int(hits),
            "precision": hits / predicted if predicted else None, "recall": hits / true if true else None}


def share_in(pairs: pd.DataFrame, other: pd.DataFrame) -> float | None:
    """The share of ``pairs`` that ``other`` holds (None when there are no pairs)."""
    return int(in_pairs(pairs, other).sum()) / len(pairs) if len(pairs) else None


def _pair_groups(pairs: pd.DataFrame, members: Sequence[str], group_of: Mapping[str, str] | pd.Series
                 ) -> pd.DataFrame:
    """(row of ``pairs``, group) for each group a pair counts in: its ``members``' groups (``Unknown`` when
    ``group_of`` names none), once each."""
    lookup = group_of if isinstance(group_of, pd.Series) else pd.Series(group_of, dtype=object)
    parts = [pd.DataFrame({"row": np.arange(len(pairs)), "group": pairs[m].map(lookup).fillna("Unknown").to_numpy()})
             for m in members]
    return pd.concat(parts, ignore_index=True).drop_duplicates(ignore_index=True)


def quality_by_group(predicted: pd.DataFrame, true: pd.DataFrame, members: Sequence[str],
                     group_of: Mapping[str, str] | pd.Series, min_group: int) -> dict[str, dict]:
    """Pair quality per group of the pairs' ``members`` (``["a", "b"]``: a pair counts in each of its two
    people's groups; ``["b"]``: in its second person's), groups with fewer than ``min_group`` true or predicted
    pairs ``{"suppressed": True}``; age bands youngest first, other groups alphabetically."""
    hit = in_pairs(predicted, true)
    pred = _pair_groups(predicted, members, group_of)
    pred = pred.assign(hit=hit[pred["row"].to_numpy()])
    truth = _pair_groups(true, members, group_of)
    n_pred, n_hit = pred.groupby("group")["row"].size(), pred.groupby("group")["hit"].sum()
    n_true = truth.groupby("group")["row"].size()
    out = {}
    for group in sorted(set(pred["group"]) | set(truth["group"]), key=group_order):
        quality = _quality(n_pred.get(group, 0), n_true.get(group, 0), n_hit.get(group, 0))
        small = min(quality["true_pairs"], quality["predicted_pairs"]) < min_group
        out[group] = dict(SUPPRESSED) if small else quality
    return out
