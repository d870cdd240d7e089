"""Rows and record keys met in earlier blocks of a table, so duplicates are found across blocks and files.

A table read in row blocks (``pipeline.ingest.files``) is checked for duplicates block by block: within a
block exactly, on the value codes of ``coerce_columns``; against earlier blocks on a 64-bit hash of the
typed values, kept as one sorted array per block (8 bytes a row, never the rows themselves). Two different
rows share a hash about once in 2^64 / rows² (under one in 10^5 at 10 million rows): the cost of that
rare event would be one row quarantined as a ``duplicate_row``/``duplicate_key`` it is not, visible in
the quarantine file with its line.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def row_hashes(typed: pd.DataFrame, columns: list[str]) -> np.ndarray:
    """One uint64 per row of ``typed[columns]``, equal where the typed values are equal (nulls included)."""
    return pd.util.hash_pandas_object(typed[columns], index=False, categorize=True).to_numpy(np.uint64)


class SeenHashes:
    """Hashes met in earlier blocks; :meth:`met` asks, :meth:`add` records a block's."""

    def __init__(self) -> None:
        self._blocks: list[np.ndarray] = []

    def met(self, hashes: np.ndarray) -> np.ndarray:
        """Boolean per hash: met in an earlier block."""
        order = np.argsort(hashes)
        asked = hashes[order]  # sorted questions walk each sorted array once: far fewer cache misses
        found_sorted = np.zeros(len(hashes), dtype=bool)
        for seen in self._blocks:
            at = np.minimum(np.searchsorted(seen, asked), len(seen) - 1)
            found_sorted |= seen[at] == asked
        found = np.empty(len(hashes), dtype=bool)
        found[order] = found_sorted
        return found

    def add(self, hashes: np.ndarray) -> None:
        """Remember a block's hashes; arrays of like size are merged, so lookups stay few (log of the blocks).

        Kept sorted, repeats and all (a sort is several times faster than ``np.unique`` here).
        """
        if not len(hashes):
            return
        self._blocks.append(np.sort(hashes))
        while len(self._blocks) > 1 and len(self._blocks[-2]) <= 2 * len(self._blocks[-1]):
            last = self._blocks.pop()
            self._blocks.append(np.sort(np.concatenate((self._blocks.pop(), last))))
