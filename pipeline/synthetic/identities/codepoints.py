"""Strings as fixed-width matrices of code points, so identifier arithmetic and typing errors vectorise.

Millions of names and identifiers are edited at once: a (n, width) ``uint32`` view of numpy's
fixed-width strings lets check characters, digit runs and single-letter edits be computed with
array operations instead of Python loops.
"""

from __future__ import annotations

import numpy as np


def to_codepoints(strings: np.ndarray, width: int | None = None) -> np.ndarray:
    """(n, width) uint32 matrix of the strings' code points, zero padded."""
    arr = np.asarray(strings, dtype=str)
    width = width or max(int(arr.dtype.itemsize // 4), 1)
    return np.ascontiguousarray(arr.astype(f"<U{width}")).view(np.uint32).reshape(len(arr), width)


def from_codepoints(codepoints: np.ndarray) -> np.ndarray:
    """Inverse of ``to_codepoints``: trailing zeros are dropped by numpy's fixed-width strings."""
    mat = np.ascontiguousarray(codepoints, dtype=np.uint32)
    return mat.view(f"<U{mat.shape[1]}").ravel()


def digit_codepoints(values: np.ndarray, width: int) -> np.ndarray:
    """(n, width) code-point matrix of non-negative integers written with leading zeros."""
    values = np.asarray(values, dtype=np.int64)
    powers = 10 ** np.arange(width - 1, -1, -1, dtype=np.int64)
    return (values[:, None] // powers % 10 + ord("0")).astype(np.uint32)


def replace_rows(base: np.ndarray, rows: np.ndarray, values: np.ndarray) -> np.ndarray:
    """A copy of string array ``base`` with ``values`` at ``rows`` (widened to fit them)."""
    values = np.asarray(values, dtype=str)
    width = max(base.dtype.itemsize, values.dtype.itemsize, 4) // 4
    out = base.astype(f"<U{width}")
    out[rows] = values
    return out
