"""Bootstrap replicates of per-group sums, from which every compared group metric is a ratio.

Used by ``models.metrics.fairness.group_metrics``: the group and the overall value are computed from
the same replicate (rows drawn with replacement), so their differences and ratios get honest CIs.
Rows are pooled into cells first, so a replicate is one ``bincount`` of its draws' cells. Every audited
attribute reads the same replicates (``bootstrap_attribute_sums``): one draw of the rows is summed by the
finest groups (a group in every attribute at once) and each attribute's groups add those up, so the draws,
the one cost that grows with rows x replicates, are paid once, not once per attribute.
"""

from __future__ import annotations

import numpy as np

from models.metrics.resampling import BOOTSTRAP_CHUNK_CELLS


def pool_rows(keys: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Rows with equal values in every key share a cell; cells are ordered by the keys (first key first).

    Returns:
        Each row's cell and, per cell, one of its rows.
    """
    cell, n_cells = np.zeros(len(keys[0]), dtype=np.int64), 1
    for key in keys:
        uniques, inverse = np.unique(key, return_inverse=True)  # NaNs share one value
        # renumber after each key so the combined code stays below n x (distinct values of one key)
        cells, cell = np.unique(cell * len(uniques) + inverse.ravel(), return_inverse=True)
        n_cells, cell = len(cells), cell.ravel()
    first_row = np.empty(n_cells, dtype=np.int64)
    first_row[cell] = np.arange(len(cell))
    return cell, first_row


def bootstrap_group_sums(y, s, p, codes, n_groups, n_boot, seed):
    """Bootstrap replicates of each group's (and the total's) sums; shape (B, G + 1, 7).

    The seven sums are rows, outcomes, selections, selected outcomes, selected non-outcomes,
    squared errors and predictions, so every compared metric is a ratio of two of them. Rows with
    the same group and the same seven values are pooled into cells (calibrated probabilities take
    few distinct values), so a replicate is one ``bincount`` of the cells it drew and a
    cells-by-quantities product per group. Replicate ``b`` draws the rows
    ``default_rng(seed).integers(0, n, n)`` (the b-th call).
    """
    rng = np.random.default_rng(seed)
    n = len(y)
    quantities = np.column_stack([np.ones(n), y, s, s * y, s * (1 - y), (p - y) ** 2, p])
    out = np.zeros((n_boot, n_groups + 1, quantities.shape[1]))
    if n == 0 or n_boot == 0:
        return out
    cell, first_row = pool_rows([codes, y, s, p])
    cells = quantities[first_row]
    n_cells = len(cells)
    bounds = np.searchsorted(codes[first_row], np.arange(n_groups + 1))
    # looked up once per draw: a 4-byte table is half the cache a default 8-byte one takes, which at a million
    # rows more than halves the time the lookups take (the counts are the same)
    cell = cell.astype(np.int32) if n_cells < np.iinfo(np.int32).max else cell
    chunk = max(1, BOOTSTRAP_CHUNK_CELLS // max(n, n_cells))
    for start in range(0, n_boot, chunk):
        rows = min(chunk, n_boot - start)
        drawn = rng.integers(0, n, size=(rows, n))
        counts = np.empty((rows, n_cells))
        for b, replicate in enumerate(drawn):
            counts[b] = np.bincount(cell[replicate], minlength=n_cells)
        for g in range(n_groups):
            a, b = bounds[g], bounds[g + 1]
            out[start:start + rows, g] = counts[:, a:b] @ cells[a:b]
    out[:, n_groups] = out[:, :n_groups].sum(axis=1)
    return out


def bootstrap_attribute_sums(y, s, p, codes_by_attribute: list[np.ndarray], n_groups_by_attribute: list[int],
                             n_boot: int, seed: int) -> list[np.ndarray]:
    """``bootstrap_group_sums`` for several attributes from one set of replicates; one (B, G + 1, 7) per attribute.

    Rows are grouped by their group in every attribute at once (the finest groups); one
    ``bootstrap_group_sums`` of those gives each replicate's sums per finest group, and an attribute's
    group is the sum of the finest groups inside it. Replicate ``b`` draws the rows
    ``default_rng(seed).integers(0, n, n)`` (the b-th call) for every attribute, so the first attribute's
    replicates are those ``bootstrap_group_sums(..., seed)`` draws for it alone.

    Args:
        codes_by_attribute: each attribute's group code per row, ``0 .. G - 1``.
        n_groups_by_attribute: each attribute's number of groups ``G``.
    """
    if not codes_by_attribute:
        return []
    finest, first_row = pool_rows(codes_by_attribute)
    n_finest = len(first_row)
    sums = bootstrap_group_sums(y, s, p, finest, n_finest, n_boot, seed)
    out = []
    for codes, n_groups in zip(codes_by_attribute, n_groups_by_attribute, strict=True):
        # finest group -> this attribute's group, as a 0/1 matrix: each group adds up the finest groups inside it
        inside = np.zeros((n_groups + 1, n_finest + 1))
        inside[codes[first_row], np.arange(n_finest)] = 1
        inside[n_groups, n_finest] = 1  # the total is the finest groups' total
        out.append(inside @ sums)
    return out


def rates_from_sums(sums: np.ndarray) -> dict[str, np.ndarray]:
    """Ratio-of-sums metrics from sums ordered as in ``bootstrap_group_sums``."""
    n, y, s, sy, s_not_y, sq, p = (sums[..., i] for i in range(7))
    with np.errstate(invalid="ignore", divide="ignore"):
        tpr = sy / y
        return {
            "prevalence": y / n,
            "selection_rate": s / n,
            "tpr": tpr,
            "fnr": 1 - tpr,
            "fpr": s_not_y / (n - y),
            "ppv": sy / s,
            "oe_ratio": y / p,
            "brier": sq / n,
        }


def column_quantile(values: np.ndarray, q: float) -> np.ndarray:
    """Per-column quantile ignoring NaN; NaN for a column with no finite value (no warning)."""
    out = np.full(values.shape[1] if values.ndim == 2 else 0, np.nan)
    for j in range(len(out)):
        column = values[:, j]
        column = column[np.isfinite(column)]
        if len(column):
            out[j] = np.quantile(column, q)
    return out
