"""The leakage perturbation: delete the future of a sample of rows, rebuild their features, require no change.

The point-in-time join (``features.window``) keeps SQL features to events strictly before the index date,
but it is only one of the ways a feature can see the future: a feature computed in Python, a span's end
date read as if it were known on the index date, a cross-source frame derived from the whole history,
or a later edit to the join itself. This check does not trust any of them. For a seeded sample of cohort
rows it builds a world in which each sampled row's child has only the history that existed on that row's
index date — every event dated on or after the index date deleted, every span end after the index date
made unknown (still open, as it was then) — rebuilds the cross-source ``record`` and ``address`` frames
from that, computes the row's features with the same code (``compute_features``, the person attributes,
``add_context_features``) and compares them, NaN-aware and exactly, with the full build.

Each sampled row becomes its own person in the perturbed world (``leak<row_id>``), so one child sampled at
two index dates gets two histories, each cut at its own date.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import duckdb
import pandas as pd

CROSS_SOURCE = ("person", "record", "address")

FeatureBuilder = Callable[[duckdb.DuckDBPyConnection, pd.DataFrame, Mapping[str, pd.DataFrame]], pd.DataFrame]


def sample_rows(frame: pd.DataFrame, n: int, seed: int) -> pd.DataFrame:
    """Up to ``n`` rows of ``frame`` drawn without replacement with ``seed`` (all rows when fewer)."""
    if n <= 0 or frame.empty:
        return frame.iloc[0:0]
    return frame.sample(n=min(n, len(frame)), random_state=seed).sort_values("row_id")


def cut_at_index(frame: pd.DataFrame, sample: pd.DataFrame) -> pd.DataFrame:
    """One event frame as each sampled row's child would have had it on that row's index date.

    Args:
        frame: ``person_id, event_date`` and domain columns (other date columns are span ends and the like).
        sample: ``person_id, leak_id, index_date`` (one row per sampled cohort row).

    Returns:
        ``frame``'s events of the sampled children dated strictly before the row's index date, under
        ``person_id = leak_id``; any other date after the index date (a span's end) set to NaT: not yet known.
    """
    own = frame.drop(columns=["person_key"], errors="ignore")
    # the sampled children's events picked out before the merge (the same rows, in order): merging a whole
    # frame of millions of events costs hundreds of MB for a few hundred rows kept (issue #17)
    own = own[own["person_id"].isin(sample["person_id"])]
    merged = own.merge(sample[["person_id", "leak_id", "index_date"]].rename(columns={"index_date": "_cut"}),
                       on="person_id", how="inner")
    merged = merged[merged["event_date"] < merged["_cut"]].copy()
    for col in merged.columns:
        if col not in ("event_date", "_cut") and pd.api.types.is_datetime64_any_dtype(merged[col]):
            merged[col] = merged[col].mask(merged[col] > merged["_cut"])
    merged["person_id"] = merged["leak_id"]
    return merged.drop(columns=["leak_id", "_cut"]).reset_index(drop=True)


def perturbed_events(events: Mapping[str, pd.DataFrame], sample: pd.DataFrame,
                     cross_source: Callable[[dict[str, pd.DataFrame]], dict[str, pd.DataFrame]]
                     ) -> dict[str, pd.DataFrame]:
    """Every source event frame cut at each sampled row's index date, then the cross-source frames rebuilt
    from them by ``cross_source`` (``features.build.with_cross_source``, the full build's own code).

    Args:
        events: the full build's event frames (``features.build.build_events``).
        sample: ``person_id, leak_id, index_date``.
    """
    cut = {name: cut_at_index(frame, sample) for name, frame in events.items() if name not in CROSS_SOURCE}
    person = events["person"].drop(columns=["person_key"], errors="ignore")
    cut["person"] = sample[["person_id", "leak_id"]].merge(person, on="person_id", how="inner").drop(
        columns="person_id").rename(columns={"leak_id": "person_id"})
    return cross_source(cut)


def equal_or_both_missing(a: pd.Series, b: pd.Series) -> pd.Series:
    """Element-wise: the same value, or both missing (exact, no tolerance: the same code on the same events)."""
    a, b = a.reset_index(drop=True), b.reset_index(drop=True)
    both_missing = a.isna().to_numpy() & b.isna().to_numpy()
    same = (a.astype("object") == b.astype("object")).fillna(False).to_numpy(dtype=bool)
    return pd.Series(both_missing | same)


def compare_features(full: pd.DataFrame, perturbed: pd.DataFrame, columns: list[str]) -> dict[str, Any]:
    """Rows and features that differ between the full build and the perturbed one.

    Args:
        full, perturbed: ``row_id`` and ``columns``.

    Returns:
        ``rows_compared``, ``differing_rows`` and ``differing_features`` (feature -> rows that differ,
        features with no difference left out, largest first).
    """
    left = full.set_index("row_id")
    right = perturbed.set_index("row_id")
    ids = left.index.intersection(right.index)
    left, right = left.loc[ids], right.loc[ids]
    differs = {c: ~equal_or_both_missing(left[c], right[c]) for c in columns}
    counts = {c: int(d.sum()) for c, d in differs.items() if d.any()}
    any_row = pd.concat(differs, axis=1).any(axis=1) if differs else pd.Series(dtype=bool)
    return {"rows_compared": len(ids), "differing_rows": int(any_row.sum()),
            "differing_features": dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))}


def leakage_perturbation(full: pd.DataFrame, events: Mapping[str, pd.DataFrame], features: Sequence[str],
                         rebuild: FeatureBuilder, cross_source: Callable[[dict[str, pd.DataFrame]],
                                                                         dict[str, pd.DataFrame]],
                         con: duckdb.DuckDBPyConnection, *, n: int, seed: int) -> dict[str, Any]:
    """Run the perturbation on ``n`` rows of ``full`` and report what changed (counts only, no identifiers).

    Args:
        full: the full build's rows to sample from: ``row_id, person_id, index_date`` and every feature.
        events: the full build's event frames.
        features: the feature columns compared (the model's inputs and ``fair_*`` attributes).
        rebuild: ``(con, cohort, events) -> frame``: the full build's own feature code, applied to the
            perturbed cohort (``row_id, person_id, index_date, index_year, birth_year, birth_month``).
        cross_source: builds ``record``, ``address`` and person keys from source frames.
        con: DuckDB connection.
        n: rows to sample; seed: the sampling seed (the spec's).

    Returns:
        ``sampled, rows_compared, differing_rows, differing_features, seed`` and the rule applied.
    """
    sample = sample_rows(full, n, seed)
    sample = sample.assign(leak_id="leak" + sample["row_id"].astype("str"))
    columns = [c for c in features if c in full.columns]
    out: dict[str, Any] = {"sampled": len(sample), "seed": seed,
                           "rule": "events dated on or after the index date deleted; span ends after it unknown"}
    if sample.empty:
        return out | {"rows_compared": 0, "differing_rows": 0, "differing_features": {}}
    world = perturbed_events(events, sample, cross_source)
    cohort = sample[["row_id", "leak_id", "index_date", "index_year", "birth_year", "birth_month"]].rename(
        columns={"leak_id": "person_id"})
    perturbed = rebuild(con, cohort.reset_index(drop=True), world)
    return out | compare_features(full[["row_id", *columns]], perturbed[["row_id", *columns]], columns)
