"""The rows each bootstrap replicate draws, held as each row's count, and pooled into the cells a metric needs.

Replicate ``b`` draws ``n`` rows with replacement: ``default_rng(seed).integers(0, n, (chunk, n))`` chunk by
chunk, ``BOOTSTRAP_CHUNK_CELLS // n`` replicates at a time, so one seed gives the same replicates in every run
and to every metric that resamples the same rows. A replicate is held as each row's count (times drawn).

A metric that needs only counts per cell (the AUROC's tie blocks, the calibration slope's pooled log-odds)
pools a replicate's row counts with one weighted ``bincount`` per replicate, which reads the counts in row
order. Gathering each draw's cell (``cell[drawn]``) or reordering the counts by cell reads them at random and
costs several times more at a million rows; the counts per cell are the same integers either way.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

BOOTSTRAP_CHUNK_CELLS = 8_000_000  # replicates x rows drawn at once: bounds memory (~64 MB per array)


def replicate_counts(n: int, n_boot: int, seed: int) -> Iterator[tuple[int, np.ndarray]]:
    """``(first replicate, counts)`` chunk by chunk; ``counts`` is (replicates, n) float, each row's draws."""
    if n == 0 or n_boot == 0:
        return
    rng = np.random.default_rng(seed)
    chunk = max(1, BOOTSTRAP_CHUNK_CELLS // n)
    for start in range(0, n_boot, chunk):
        drawn = rng.integers(0, n, size=(min(chunk, n_boot - start), n))
        counts = np.empty(drawn.shape)
        for b, rows in enumerate(drawn):
            counts[b] = np.bincount(rows, minlength=n)
        del drawn  # not held while the caller works on the chunk
        yield start, counts


def pooled_counts(counts: np.ndarray, cell: np.ndarray, n_cells: int) -> np.ndarray:
    """(replicates, ``n_cells``): each replicate's draws per cell, ``cell`` giving each row's cell."""
    out = np.empty((len(counts), n_cells))
    for b, row in enumerate(counts):
        out[b] = np.bincount(cell, weights=row, minlength=n_cells)
    return out
