"""Clerical review of linkage: a stratified sample of pairs, and precision and recall estimated from decisions.

On a council's own data there is no truth; a person who can see both records in clear text (the data
controller, in their own environment) judges a sample of pairs instead. Pairs are sampled in strata, so
the rare but telling ones are seen: links at several match-probability bands, and near-misses (pairs
scored but not linked) below the link threshold, where missed links hide. Each stratum's share of true
matches is estimated from its reviewed pairs and weighted by the stratum's size:

* matches among links ``T = sum_h N_h p_h`` over link strata, precision ``T / N_links``;
* matches among near-misses ``F = sum_h N_h p_h`` over non-link strata, recall ``T / (T + F)``.

Variances are the stratified-sampling ones with the finite population correction; to keep an interval
honest where a small stratum's reviewed pairs all agree (a raw variance of zero), each stratum's variance
uses the Agresti-Coull adjusted proportion. Recall's interval is by the delta method (``T`` and ``F`` come
from different strata, so they are independent). Recall counts only the matches among scored pairs: true
matches that blocking never compared are invisible to any review of pairs, so it is an upper bound.

Decisions are ``match``, ``non-match`` or ``unsure``; unsure pairs are counted and left out of the
estimates (a stratum with none decided is reported and makes the estimate not evaluable).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from statistics import NormalDist
from typing import Any

import numpy as np
import pandas as pd

DECISIONS = ("match", "non-match", "unsure")
RECALL_SCOPE = ("among pairs scored by the model (blocking compared them); matches never compared are not "
                "counted, so this is an upper bound on recall")


class ClericalReviewError(ValueError):
    """Review decisions that cannot be used (unknown decision, pair not in the sample, no reviewer); names rows."""


def stratify(pairs: pd.DataFrame, link_edges: Sequence[float], near_miss_edges: Sequence[float]) -> pd.Series:
    """Each pair's stratum: ``link p0-p1`` or ``near-miss p0-p1`` by ``match_probability``.

    Args:
        pairs: ``linked`` (bool: the two records are one person in the index), ``match_probability``.
        link_edges: ascending band edges for links (e.g. ``[0.95, 0.99, 0.999, 1.0]``); links below the
            first edge fall in the first band, the last edge is inclusive.
        near_miss_edges: the same for pairs not linked (e.g. ``[0.5, 0.8, 0.95, 1.0]``: pairs over the link
            threshold that clustering refused are near-misses too); a top edge of 1.0 is inclusive.

    Returns:
        Stratum label per pair (string; null for a non-link outside the near-miss bands: not reviewed).
    """
    out = pd.Series(pd.NA, index=pairs.index, dtype="string")
    for linked, edges, name in ((True, link_edges, "link"), (False, near_miss_edges, "near-miss")):
        chosen = pairs["linked"].astype(bool) == linked
        probability = pairs.loc[chosen, "match_probability"].astype(float)
        if linked:
            probability = probability.clip(lower=edges[0])
        bands = pd.cut(probability, bins=list(edges), right=False, include_lowest=True,
                       labels=[f"{name} {lo:g}-{hi:g}" for lo, hi in zip(edges[:-1], edges[1:], strict=True)])
        if linked or edges[-1] >= 1.0:  # a top edge of 1.0 (or the links' top edge) belongs to the top band
            bands = bands.where(probability < edges[-1], bands.cat.categories[-1])
        out.loc[chosen] = bands.astype("string")
    return out


def draw_sample(pairs: pd.DataFrame, per_stratum: int, seed: int, key: str | None = None) -> pd.DataFrame:
    """Up to ``per_stratum`` pairs at random from each stratum, with each stratum's size.

    With ``key`` the draw uses permanent random numbers: each pair's number is a hash of the seed and its
    ``key`` value, and each stratum takes the pairs with the smallest numbers. That is still a simple
    random sample of each stratum, but a pair that was drawn last run is drawn again this run unless
    pairs with smaller numbers joined its stratum or it moved stratum, so earlier decisions carry over.

    Args:
        pairs: ``stratum`` (null: not sampled) and any pair columns (``key`` among them when given).
        key: a column identifying each pair across runs (``pair_id``), or None for a draw by position.

    Returns:
        The sampled rows plus ``stratum_pairs`` (pairs in the stratum), ordered by stratum, then at random.
    """
    rng = np.random.default_rng(seed)
    sizes = pairs["stratum"].value_counts()
    numbers = permanent_random_numbers(pairs[key], seed) if key else None
    picked = []
    for stratum in sorted(sizes.index):
        rows = pairs.index[pairs["stratum"] == stratum]
        if numbers is None:
            chosen = np.sort(rng.choice(len(rows), size=min(per_stratum, len(rows)), replace=False))
        else:
            chosen = np.argsort(numbers.loc[rows].to_numpy(), kind="stable")[:per_stratum]
        picked.append(pairs.loc[rows[chosen]].assign(stratum_pairs=int(sizes[stratum])))
    return pd.concat(picked, ignore_index=True) if picked else pairs.head(0).assign(stratum_pairs=0)


def permanent_random_numbers(keys: pd.Series, seed: int) -> pd.Series:
    """A number in [0, 1) per key, fixed by the seed and the key alone (the first 15 hex digits of a SHA-256)."""
    return keys.astype(str).map(
        lambda k: int(hashlib.sha256(f"{seed}\0{k}".encode()).hexdigest()[:15], 16) / 16**15)


def check_decisions(reviewed: pd.DataFrame) -> None:
    """Refuse decisions that are not ``match`` / ``non-match`` / ``unsure`` or have no reviewer.

    Raises:
        ClericalReviewError: naming the first bad rows (1-based, as a spreadsheet numbers data rows).
    """
    bad = ~reviewed["decision"].astype("string").str.strip().str.lower().isin(DECISIONS)
    if bad.any():
        rows = [int(i) + 1 for i in np.flatnonzero(bad.to_numpy())[:5]]
        raise ClericalReviewError(f"decision must be one of {', '.join(DECISIONS)}: data rows {rows}")
    no_reviewer = reviewed["reviewer"].astype("string").str.strip().fillna("").eq("")
    if no_reviewer.any():
        rows = [int(i) + 1 for i in np.flatnonzero(no_reviewer.to_numpy())[:5]]
        raise ClericalReviewError(f"every decision needs a reviewer: data rows {rows}")


def stratum_estimates(reviewed: pd.DataFrame, z: float) -> pd.DataFrame:
    """Per stratum: ``stratum``, ``linked``, ``pairs`` (N), ``reviewed``, ``unsure``, ``matches``, ``share``
    (matches among decided), ``total`` (N x share) and ``variance`` of the total (module docstring)."""
    decision = reviewed["decision"].astype("string").str.strip().str.lower()
    frame = reviewed.assign(decided=decision != "unsure", match=decision == "match")
    rows = []
    for stratum, group in frame.groupby("stratum", sort=True):
        size, decided = int(group["stratum_pairs"].iloc[0]), int(group["decided"].sum())
        matches = int(group["match"].sum())
        share = matches / decided if decided else float("nan")
        adjusted = (matches + z * z / 2) / (decided + z * z)
        fpc = max(0.0, 1 - decided / size) if size else 0.0
        variance = size**2 * fpc * adjusted * (1 - adjusted) / decided if decided else float("nan")
        rows.append({"stratum": stratum, "linked": bool(group["linked"].astype(bool).iloc[0]), "pairs": size,
                     "reviewed": len(group), "unsure": len(group) - decided, "matches": matches, "share": share,
                     "total": size * share, "variance": variance})
    return pd.DataFrame(rows)


def estimate_quality(reviewed: pd.DataFrame, confidence: float = 0.95) -> dict[str, Any]:
    """Precision and recall with confidence intervals from reviewed pairs (module docstring).

    Args:
        reviewed: the sample (``draw_sample``) with ``stratum``, ``stratum_pairs``, ``linked``, ``decision``,
            ``reviewer`` filled in.
        confidence: two-sided level of the intervals.

    Returns:
        ``precision``, ``precision_ci``, ``recall``, ``recall_ci`` (null where not evaluable), ``confidence``,
        ``pairs_reviewed``, ``unsure``, ``reviewers``, ``by_stratum``, ``recall_scope``, ``not_evaluable``
        (why, or null), ``decisions_sha256``.

    Raises:
        ClericalReviewError: see :func:`check_decisions`.
    """
    check_decisions(reviewed)
    z = NormalDist().inv_cdf(0.5 + confidence / 2)
    strata = stratum_estimates(reviewed, z)
    undecided = strata.loc[strata["reviewed"] == strata["unsure"], "stratum"].tolist()
    links, misses = strata[strata["linked"]], strata[~strata["linked"]]
    result: dict[str, Any] = {
        "precision": None, "precision_ci": None, "recall": None, "recall_ci": None, "confidence": confidence,
        "pairs_reviewed": int(len(reviewed)), "unsure": int(strata["unsure"].sum()) if len(strata) else 0,
        "reviewers": sorted(set(reviewed["reviewer"].astype(str).str.strip())),
        "by_stratum": strata.drop(columns=["variance"]).replace({np.nan: None}).to_dict("records"),
        "recall_scope": RECALL_SCOPE, "not_evaluable": None, "decisions_sha256": decisions_digest(reviewed)}
    if links.empty or undecided:
        result["not_evaluable"] = (f"no pair decided in stratum {undecided}" if undecided
                                   else "no link was reviewed")
        return result
    matched, variance = float(links["total"].sum()), float(links["variance"].sum())
    precision, spread = matched / links["pairs"].sum(), z * variance**0.5 / links["pairs"].sum()
    result |= {"precision": precision, "precision_ci": interval(precision, spread)}
    if not misses.empty:
        missed, missed_variance = float(misses["total"].sum()), float(misses["variance"].sum())
        everything = matched + missed
        recall = matched / everything if everything else float("nan")
        recall_variance = (missed**2 * variance + matched**2 * missed_variance) / everything**4 if everything else 0
        result |= {"recall": recall, "recall_ci": interval(recall, z * recall_variance**0.5)}
    return result


def interval(estimate: float, spread: float) -> list[float]:
    """``[estimate - spread, estimate + spread]`` kept within 0 and 1."""
    return [max(0.0, estimate - spread), min(1.0, estimate + spread)]


def decisions_digest(reviewed: pd.DataFrame) -> str:
    """SHA-256 of the decisions (every column, rows in stratum order then as given): what the estimate rests on."""
    rows = reviewed.astype("string").fillna("").to_dict("records")
    return hashlib.sha256(json.dumps(rows, sort_keys=True).encode("utf-8")).hexdigest()
