"""The pairs a clerical review is drawn from, the decisions read back, and the review the gate may use.

Tokens only: this module never sees a clear value. ``riskpipe link`` keeps every scored pair (all at or
above ``link.threshold_match_probability``, the near-miss floor) with its match probability and whether
the person index put its two records in one person (``linked``); the review's strata and their sizes come
from these. A pair is named by ``pair_id``, a hash of its two record tokens in a fixed order, so the same
two records are the same pair in every run whatever order Splink put them in: decisions on a pair carry
over for as long as both records keep their tokens.

A review is of one person index (its digest, :func:`pipeline.linkage.persistent_ids.person_index_digest`):
after a re-link the links it judged may no longer be the index's, so the gate refuses it (:func:`gate_review`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from pipeline.linkage.clerical_review import DECISIONS, ClericalReviewError

PAIR_KEYS = ["source_l", "record_key_tok_l", "source_r", "record_key_tok_r"]
POPULATION_COLUMNS = ["pair_id", *PAIR_KEYS, "match_weight", "match_probability", "linked"]
DECISION_COLUMNS = ["pair_id", "decision", "reviewer"]
# band edges between the floor and the link threshold, and above it (module docstring of clerical_review)
NEAR_MISS_MIDDLE, LINK_UPPER = (0.8,), (0.99, 0.999)


PAIR_ID_PREFIX = "clerical-pair"
PAIR_ID_CHARS = 20


# A pair's ID is the first 20 hex characters of SHA-256 of "clerical-pair\n" + first + "\n" + second, the sides
# being source + "\t" + token in sorted order, so the same two records are the same pair whichever way round
# Splink gave them. One pass in DuckDB: at a million people there are millions of scored pairs, where two pandas
# merges on string keys and a Python hash per pair were twice as slow (tokens and source names are ASCII, so
# DuckDB's byte order is Python's and the IDs are those earlier runs wrote).
POPULATION_SQL = f"""
WITH pairs AS (
    SELECT *, row_number() OVER () AS row_order,
           source_l || chr(9) || record_key_tok_l AS side_l, source_r || chr(9) || record_key_tok_r AS side_r
    FROM scored
)
SELECT left(sha256('{PAIR_ID_PREFIX}' || chr(10) || least(side_l, side_r) || chr(10) || greatest(side_l, side_r)),
            {PAIR_ID_CHARS}) AS pair_id,
       p.source_l, p.record_key_tok_l, p.source_r, p.record_key_tok_r, p.match_weight, p.match_probability,
       coalesce(l.person_id = r.person_id, false) AS linked
FROM pairs p
LEFT JOIN person l ON l.source = p.source_l AND l.record_key_tok = p.record_key_tok_l
LEFT JOIN person r ON r.source = p.source_r AND r.record_key_tok = p.record_key_tok_r
ORDER BY p.row_order
"""


def review_population(scored: pd.DataFrame, index: pd.DataFrame) -> pd.DataFrame:
    """Every scored pair with its ``pair_id`` and whether the index made its two records one person.

    Args:
        scored: ``PAIR_KEYS``, ``match_weight``, ``match_probability`` (Splink's scored pairs).
        index: the person index: ``table``, ``record_key_tok``, ``person_id``.

    Returns:
        ``POPULATION_COLUMNS``, in ``scored``'s order; ``linked`` is True where both records hold the same
        ``person_id`` (directly or through other records of the person).
    """
    import duckdb  # the linkage backends' engine; imported here so reading a review does not load it

    pairs = scored[PAIR_KEYS + ["match_weight", "match_probability"]]
    person = index[["table", "record_key_tok", "person_id"]].rename(columns={"table": "source"})
    person = person.assign(**{c: person[c].astype(str) for c in person.columns})
    with duckdb.connect() as con:
        con.register("scored", pairs.assign(**{c: pairs[c].astype(str) for c in PAIR_KEYS}))
        con.register("person", person)
        out = con.execute(POPULATION_SQL).df()
    return out.assign(pair_id=out["pair_id"].astype("string"), linked=out["linked"].astype(bool))[POPULATION_COLUMNS]


def strata_edges(floor: float, link_threshold: float) -> tuple[list[float], list[float]]:
    """Band edges for links and for near-misses (:func:`pipeline.linkage.clerical_review.stratify`).

    Links: from the link threshold through 0.99 and 0.999 to 1. Near-misses: from the floor (the scoring
    threshold) through 0.8 and the link threshold to 1, so pairs scored over the threshold that clustering
    refused (no date-of-birth evidence, a source's record limit) form a stratum of their own.
    """
    links = sorted({link_threshold, *(e for e in LINK_UPPER if e > link_threshold), 1.0})
    misses = sorted({floor, *(e for e in NEAR_MISS_MIDDLE if floor < e < link_threshold), link_threshold, 1.0})
    return links, misses


def carry_decisions(sample: pd.DataFrame, earlier: pd.DataFrame | None) -> pd.DataFrame:
    """Fill the sample's ``decision``, ``reviewer`` and ``decided_at`` from earlier decisions on the same pairs.

    Args:
        sample: drawn pairs with ``pair_id``.
        earlier: the decisions store (``pair_id``, ``decision``, ``reviewer``, ``decided_at``), or None.

    Returns:
        ``sample`` with the three columns (null where the pair was never decided) and ``carried`` (bool).
    """
    columns = ["decision", "reviewer", "decided_at"]
    if earlier is None or earlier.empty:
        return sample.assign(**{c: pd.Series(pd.NA, index=sample.index, dtype="string") for c in columns},
                             carried=False)
    latest = earlier.drop_duplicates("pair_id", keep="last").set_index("pair_id")[columns].astype("string")
    out = sample.join(latest, on="pair_id")
    return out.assign(carried=out["decision"].notna())


def read_filled_decisions(filled: pd.DataFrame, sample: pd.DataFrame, reviewer: str, file: Path | str
                          ) -> pd.DataFrame:
    """The decisions of a filled review sheet, matched to the sample drawn; every other column is ignored.

    Args:
        filled: the sheet as read (all text): ``pair_id``, ``decision``, optional ``reviewer``; its clear
            columns are dropped unread.
        sample: the sample drawn (``pair_id`` and the pair's tokens, stratum, size, ``linked``).
        reviewer: who records the decisions: fills a blank ``reviewer``.
        file: the sheet's name, for messages.

    Returns:
        The sample's rows that hold a decision, with ``decision`` (lower case) and ``reviewer``.

    Raises:
        ClericalReviewError: a column is missing, or a row names a pair that is not in the sample, names a pair
            twice, or holds an unknown decision; messages name the file, line and column, never a value.
    """
    missing = [c for c in ("pair_id", "decision") if c not in filled]
    if missing:
        raise ClericalReviewError(f"{file}: no column {', '.join(missing)}; fill in the sheet "
                                  "`riskpipe review-linkage sample` wrote")
    taken = filled.reindex(columns=DECISION_COLUMNS).astype("string")
    taken["line"] = np.arange(2, len(taken) + 2)  # the header is line 1
    taken["decision"] = taken["decision"].str.strip().str.lower()
    taken = taken[taken["decision"].fillna("") != ""]
    bad = taken[~taken["decision"].isin(DECISIONS)]
    if len(bad):
        raise ClericalReviewError(f"{file} lines {bad['line'].head(5).tolist()}, column decision: must be one of "
                                  f"{', '.join(DECISIONS)} (or blank: not reviewed)")
    unknown = taken[~taken["pair_id"].isin(sample["pair_id"])]
    if len(unknown):
        raise ClericalReviewError(f"{file} lines {unknown['line'].head(5).tolist()}, column pair_id: not a pair of "
                                  "the sample drawn (a sheet from another sample, or an edited pair_id)")
    twice = taken[taken["pair_id"].duplicated(keep=False)]
    if len(twice):
        raise ClericalReviewError(f"{file} lines {twice['line'].head(5).tolist()}, column pair_id: the same pair "
                                  "decided more than once")
    taken["reviewer"] = taken["reviewer"].str.strip().replace("", pd.NA).fillna(reviewer.strip())
    return sample.merge(taken.drop(columns="line"), on="pair_id", how="inner")


def merge_decisions(earlier: pd.DataFrame | None, recorded: pd.DataFrame) -> pd.DataFrame:
    """The decisions store after a recording: each pair's latest decision (``recorded`` wins).

    A carried decision recorded again unchanged (same decision, same reviewer) keeps when, by which OS
    user and on which index it was first made (``decided_at``, ``os_user``, ``person_index``).
    """
    if earlier is None or earlier.empty:
        return recorded.reset_index(drop=True)
    prior = earlier.drop_duplicates("pair_id", keep="last").set_index("pair_id")
    unchanged = (recorded["pair_id"].map(prior["decision"]).eq(recorded["decision"])
                 & recorded["pair_id"].map(prior["reviewer"]).eq(recorded["reviewer"])).fillna(False).astype(bool)
    recorded = recorded.copy()
    for column in ("decided_at", "os_user", "person_index"):
        if column in prior and column in recorded:
            recorded[column] = recorded[column].where(~unchanged, recorded["pair_id"].map(prior[column]))
    kept = earlier[~earlier["pair_id"].isin(recorded["pair_id"])]
    return pd.concat([kept, recorded], ignore_index=True)


def gate_review(linkage: dict[str, Any] | None, review: dict[str, Any] | None,
                current_index: str | None) -> dict[str, Any] | None:
    """reports/linkage.json as the gate reads it: with the clerical review under ``clerical_review``.

    A review of another person index than the current one is replaced by a refusal the linkage check
    reports (``not_evaluable``): its links may no longer be the index's.

    Args:
        linkage: reports/linkage.json (None: missing; stays None).
        review: reports/linkage_clerical_review.json, or None when nobody reviewed.
        current_index: the current person index digest (hex), or None when unknown.
    """
    if linkage is None or review is None:
        return linkage
    reviewed = str(review.get("person_index") or "")
    if not current_index or reviewed != current_index:
        refusal = (f"the clerical review is of person index {reviewed[:16] or 'unknown'}, the current one is "
                   f"{(current_index or 'unknown')[:16]}: review again (`riskpipe review-linkage sample`; "
                   "decisions on unchanged pairs carry over)")
        return {**linkage, "clerical_review": {"precision": None, "recall": None, "not_evaluable": refusal}}
    return {**linkage, "clerical_review": review}
