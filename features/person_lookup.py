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


def id_set(ids: pd.Series | pd.Index) -> pa.Array | pa.ChunkedArray:
    """``ids`` as the Arrow text :func:`positions_in` looks values up in: convert once where many frames are
    looked up in the same ids."""
    return _text(ids)


def positions_in(values: pd.Series | pd.Index, ids: pd.Series | pd.Index | pa.Array | pa.ChunkedArray
                 ) -> np.ndarray:
    """``pd.Index(ids).get_indexer(values)`` for text: each value's position in ``ids``, -1 where it is absent.

    Args:
        values: the ids looked up (text; each compared as ``astype("str")``).
        ids: unique text ids (a repeated id would make the answer ambiguous, as ``get_indexer`` refuses), or
            :func:`id_set` of them.

    Returns:
        An ``intp`` array aligned with ``values``.
    """
    value_set = ids if isinstance(ids, pa.Array | pa.ChunkedArray) else _text(ids)
    found = pc.index_in(_text(values), value_set=value_set)
    return np.asarray(found.fill_null(-1), dtype=np.intp)


def keyed_by_person(frame: pd.DataFrame, person_ids: pd.Series) -> pd.DataFrame:
    """``frame`` with ``person_key`` (each row's position in ``person_ids``), rows of no listed person left out."""
    codes = positions_in(frame["person_id"], person_ids)
    return frame.assign(person_key=codes.astype("int32"))[codes >= 0].reset_index(drop=True)
