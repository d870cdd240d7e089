"""``is_in`` (pipeline/linkage/membership.py) answers as ``Series.isin`` does, for every text dtype pandas gives."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from pipeline.linkage.membership import is_in


@pytest.mark.parametrize("dtype", ["str", "string", object])
def test_is_in_equals_series_isin_missing_values_included(dtype):
    rng = np.random.default_rng(1)
    words = [f"v{i}" for i in rng.integers(0, 500, 3000)]
    values = pd.Series(words, dtype=dtype)
    values[::50] = None
    for sought in (set(words[:200]), np.array(words[100:400], dtype=object), pd.Index(words[:10]),
                   pd.Series(words[5:90], dtype="string"), [*words[:30], None], set(),
                   pd.Series(words[:40], dtype="str")):
        expected = values.isin(sought).to_numpy()
        got = is_in(values, sought)
        assert got.dtype == bool and (got == expected).all()
        assert 0 < expected.sum() < len(values) or len(sought) == 0
