"""Set membership of text columns: ``Series.isin`` as pandas computes it, at Arrow's speed.

Under pandas 3 text columns are Arrow strings, and ``isin`` on them turns every value sought into an
Arrow scalar one at a time in Python: a person index's node ids against a few hundred thousand linked ones
took tens of seconds at 100,000 people, and the family links' quality did the same over every true person.
``pyarrow.compute.is_in`` does the same test in C, with the same answer (a missing value is found only
when one is sought).
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc


def _strings(values: Iterable) -> pa.Array | pa.ChunkedArray:
    if isinstance(values, set | frozenset | dict):
        values = list(values)
    if isinstance(values, pd.Series | pd.Index) and values.dtype == object:
        values = values.to_numpy()
    return pa.array(values, from_pandas=True).cast(pa.large_string())


def is_in(values: pd.Series, sought: Iterable) -> np.ndarray:
    """``values.isin(sought)`` for text ``values`` and ``sought`` (a set, array, Index or Series of text).

    Returns:
        A boolean array aligned with ``values``.
    """
    found = pc.is_in(_strings(values), value_set=_strings(sought))
    return np.asarray(found.fill_null(False), dtype=bool)
