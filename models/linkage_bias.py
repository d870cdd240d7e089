"""How missed links change the model's scores and the list: per affected child, and by group.

A missed link leaves one child as two or more people in the person index, each with part of the child's
history (pipeline/linkage/missed_links.py). Here the cohort of one index date is ranked twice with the
trained model: as linked (the people as the index holds them, scores as the train stage wrote them) and as
corrected (the parts replaced by one merged person whose features were rebuilt from all its records). A
child's score before is the highest of its parts' (the part a list would have shown); its rank is that
part's place in the cohort. The list at capacity is selected as evaluation and the score stage select it
(models/selection.py: uncalibrated margin, seeded tie draw), so "enters" and "leaves" are what the list
would have done.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from models.selection import selection_order

GROUP_ATTRIBUTES = ("fair_ethnicity_group", "fair_sex", "fair_age_band")


def ranks(margin: pd.Series, person_id: pd.Series, seed: int) -> np.ndarray:
    """Each row's place in the cohort (1 = highest risk), as :func:`models.selection.selection_order` orders it."""
    order = selection_order(margin.to_numpy(dtype="float64", na_value=np.nan), person_id.astype(str).to_numpy(), seed)
    out = np.empty(len(order), dtype="int64")
    out[order] = np.arange(1, len(order) + 1)
    return out


def _ranked(cohort: pd.DataFrame, capacity: int, seed: int) -> pd.DataFrame:
    rank = ranks(cohort["margin"], cohort["person_id"], seed)
    return cohort.assign(rank=rank, selected=rank <= capacity)


def affected_changes(before: pd.DataFrame, after_rows: pd.DataFrame, merges: pd.DataFrame, capacity: int,
                     seed: int) -> tuple[pd.DataFrame, dict[str, int]]:
    """Score and rank of each affected child as linked and had its missed links been made.

    Args:
        before: the cohort of one index date as linked: ``person_id``, ``margin`` (uncalibrated), ``score``
            (calibrated) and the ``GROUP_ATTRIBUTES`` present.
        after_rows: the merged people's rows on that date, rebuilt and scored: ``person_id`` (a
            ``merged_person_id``), ``margin``, ``score``, attributes. A merged person outside the cohort
            (excluded once all its records are seen) has no row.
        merges: ``person_id``, ``merged_person_id`` (``merges_from_pairs``).
        capacity: children listed at this index date.
        seed: the spec's seed (the tie draw).

    Returns:
        One row per merged person (the affected child) with ``merged_person_id``, ``parts``,
        ``parts_in_cohort``, ``score_before`` (highest part; NaN when no part was in the cohort),
        ``score_after`` (NaN when out of the cohort after), ``score_change``, ``rank_before``, ``rank_after``,
        ``listed_before``, ``listed_after`` and the attributes (after, else the best part's); and counts:
        ``cohort_before``, ``cohort_after``, ``others_displaced`` (unaffected children listed before and not after).
    """
    part_of = merges.set_index("person_id")["merged_person_id"]
    linked = _ranked(before.reset_index(drop=True), capacity, seed)
    linked["merged_person_id"] = linked["person_id"].astype("string").map(part_of)
    corrected = pd.concat([linked.loc[linked["merged_person_id"].isna(), before.columns],
                           after_rows[[c for c in before.columns if c in after_rows]]], ignore_index=True)
    corrected = _ranked(corrected, capacity, seed)
    parts = linked.dropna(subset=["merged_person_id"]).sort_values("rank")
    best = parts.drop_duplicates("merged_person_id").set_index("merged_person_id")
    attributes = [c for c in GROUP_ATTRIBUTES if c in before.columns]
    after = corrected.set_index("person_id").reindex(after_rows["person_id"])
    children = pd.DataFrame({"merged_person_id": merges["merged_person_id"].drop_duplicates().to_numpy()})
    children["parts"] = children["merged_person_id"].map(merges.groupby("merged_person_id").size()).astype("int64")
    children["parts_in_cohort"] = children["merged_person_id"].map(parts.groupby("merged_person_id").size()) \
        .fillna(0).astype("int64")
    for name, frame in (("before", best), ("after", after)):
        for column in ("score", "rank", "selected"):
            children[f"{column}_{name}"] = children["merged_person_id"].map(frame[column])
    children = children.rename(columns={"selected_before": "listed_before", "selected_after": "listed_after"})
    for column in ("listed_before", "listed_after"):
        children[column] = children[column].fillna(False).astype(bool)
    for column in ("rank_before", "rank_after"):
        children[column] = children[column].astype("Int64")
    children["score_change"] = children["score_after"] - children["score_before"]
    for column in attributes:
        children[column] = children["merged_person_id"].map(after[column]).fillna(
            children["merged_person_id"].map(best[column])).astype("string").fillna("Unknown")
    listed_before = set(linked.loc[linked["selected"] & linked["merged_person_id"].isna(), "person_id"])
    listed_after = set(corrected.loc[corrected["selected"], "person_id"])
    counts = {"cohort_before": int(len(linked)), "cohort_after": int(len(corrected)),
              "others_displaced": len(listed_before - listed_after)}
    return children, counts


def features_changed(children: pd.DataFrame, parts: pd.DataFrame, after_rows: pd.DataFrame, merges: pd.DataFrame,
                     feature_columns: Sequence[str]) -> dict[str, int]:
    """How many affected children have each model input changed by the merge: the merged person's value against
    its best-ranked part's (the row a list would have shown), over children in the cohort before and after.

    Args:
        children: :func:`affected_changes`' rows (``merged_person_id``, ``rank_before``).
        parts: the parts' rebuilt rows (``person_id``, ``margin`` and the inputs); ``after_rows`` likewise for
            the merged people.

    Returns:
        ``{feature: children whose value differs}``, features that changed for nobody left out, most first.
    """
    part_of = merges.set_index("person_id")["merged_person_id"]
    ranked = parts.assign(merged_person_id=parts["person_id"].astype("string").map(part_of))
    best = ranked.sort_values("margin", ascending=False).drop_duplicates("merged_person_id") \
        .set_index("merged_person_id")
    after = after_rows.set_index("person_id")
    both = children.loc[children["rank_before"].notna() & children["rank_after"].notna(), "merged_person_id"]
    both = both[both.isin(best.index) & both.isin(after.index)]
    counts = {}
    for feature in feature_columns:
        a, b = best.loc[both, feature].reset_index(drop=True), after.loc[both, feature].reset_index(drop=True)
        same = (a == b).fillna(False).astype(bool) | (a.isna() & b.isna())
        counts[feature] = int((~same).sum())
    return dict(sorted(((f, n) for f, n in counts.items() if n), key=lambda item: (-item[1], item[0])))


def _summary(rows: pd.DataFrame) -> dict[str, Any]:
    in_cohort = rows[rows["parts_in_cohort"].gt(0) | rows["score_after"].notna()]
    change = rows["score_change"].dropna()
    return {"affected": int(len(rows)), "in_cohort": int(len(in_cohort)),
            "scored_before_and_after": int(len(change)),
            "median_score_change": float(change.median()) if len(change) else None,
            "max_score_increase": float(change.max()) if len(change) else None,
            "max_score_decrease": float(change.min()) if len(change) else None,
            "max_abs_score_change": float(change.abs().max()) if len(change) else None,
            "median_rank_change": float((rows["rank_before"] - rows["rank_after"]).dropna().median())
            if len(change) else None,
            "enter_list": int((~rows["listed_before"] & rows["listed_after"]).sum()),
            "leave_list": int((rows["listed_before"] & ~rows["listed_after"]).sum()),
            "enter_cohort": int((rows["parts_in_cohort"].eq(0) & rows["score_after"].notna()).sum()),
            "leave_cohort": int((rows["parts_in_cohort"].gt(0) & rows["score_after"].isna()).sum())}


def summarise_by_group(children: pd.DataFrame, min_group_n: int,
                       attributes: Sequence[str] = GROUP_ATTRIBUTES) -> dict[str, Any]:
    """Overall and per-group figures of :func:`affected_changes`' rows; a group of fewer than ``min_group_n``
    affected children is suppressed (its name and ``suppressed: true`` only).

    Returns:
        ``overall`` (suppressed too, all but ``affected``, when under ``min_group_n``) and ``by_group`` ->
        attribute (``fair_`` dropped) -> group -> ``_summary`` figures:
        ``affected``, ``in_cohort``, ``median_score_change``, ``max_score_increase``, ``max_score_decrease``,
        ``max_abs_score_change``, ``median_rank_change`` (places moved up), ``enter_list``, ``leave_list``,
        ``enter_cohort``, ``leave_cohort``.
    """
    by_group: dict[str, dict] = {}
    overall = _summary(children) | {"suppressed": False} if len(children) >= min_group_n else {
        "affected": int(len(children)), "suppressed": True}
    for attribute in attributes:
        if attribute not in children:
            continue
        groups: dict[str, Any] = {}
        for group, rows in children.groupby(attribute, sort=True):
            groups[str(group)] = (_summary(rows) | {"suppressed": False} if len(rows) >= min_group_n
                                  else {"suppressed": True})
        by_group[attribute.removeprefix("fair_")] = groups
    return {"overall": overall, "by_group": by_group}


def headline(summary: Mapping[str, Any], capacity: int, missed_from: str) -> str:
    """One sentence for the card and the report."""
    o = summary["overall"]
    if not o["affected"]:
        return f"No missed links ({missed_from}) touch the cohort: linkage errors of this kind do not change the list."
    if o["suppressed"]:
        return (f"{o['affected']:,} children of the cohort are split by missed links ({missed_from}): too few to "
                "report how their scores would change (small-number suppression).")
    change = o["median_score_change"]
    median = "n/a" if change is None else f"{0.0 if abs(change) < 0.0005 else change:+.3f}"
    return (f"{o['affected']:,} children of the cohort are split by missed links ({missed_from}); had the links been "
            f"made their risk would change by {median} (median), and at capacity "
            f"{capacity} {o['enter_list']} would enter the list and {o['leave_list']} leave it.")
