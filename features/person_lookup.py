"""Where each row's text id sits in a list of unique ids: ``Index.get_indexer`` as pandas computes it, at Arrow's speed.

Linking a table to people (``features.events_link``) and giving every event frame its integer ``person_key``
(``features.build.add_person_keys``) look up millions of 32-character ids. Under pandas 3 those columns are Arrow
strings, which ``Index.get_indexer`` first turns into Python objects: a third of the events build at 100,000 people
(issue #17). ``pyarrow.compute.index_in`` does the same lookup in C, with the same answer (a missing id is found
only where one is listed, as pandas matches NaN with NaN).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc


def _text(values: pd.Series | pd.Index) -> pa.Array | pa.ChunkedArray:
    return pa.array(values.astype("str"), from_pandas=True).cast(pa.large_string())


def positions_in(values: pd.Series | pd.Index, ids: pd.Series | pd.Index) -> np.ndarray:
    """``pd.Index(ids).get_indexer(values)`` for text: each value's position in ``ids``, -1 where it is absent.

    Args:
        values: the ids looked up (text; each compared as ``astype("str")``).
        ids: unique text ids (a repeated id would make the answer ambiguous, as ``get_indexer`` refuses).

    Returns:
        An ``intp`` array aligned with ``values``.
    """
    found = pc.index_in(_text(values), value_set=_text(ids))
    return np.asarray(found.fill_null(-1), dtype=np.intp)
