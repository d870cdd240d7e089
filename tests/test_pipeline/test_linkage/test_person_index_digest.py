"""The person index digest computed in Arrow (pipeline/linkage/persistent_ids.py) equals the plain computation
it replaced: the rows sorted and joined in Python, then SHA-256 (#17). Lists and reviews carry digests made
by earlier runs, so not one byte of the hashed text may change."""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd
import pytest

from pipeline.linkage.persistent_ids import person_index_digest


def _plain_digest(index: pd.DataFrame) -> str:
    rows = index[["table", "record_key_tok", "person_id"]].astype("string").fillna("")
    rows = rows.sort_values(["table", "record_key_tok", "person_id"])
    text = "\n".join(rows["table"] + "\t" + rows["record_key_tok"] + "\t" + rows["person_id"])
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@pytest.mark.parametrize("dtype", ["string", "str", object])
def test_digest_equals_the_plain_computation(dtype):
    rng = np.random.default_rng(5)
    n = 5000
    index = pd.DataFrame({"table": rng.choice(["school", "health", "gp", "nccis"], n),
                          "record_key_tok": [f"{i:012x}" for i in rng.integers(0, 2**40, n)],
                          "person_id": [f"P{i:08d}" for i in rng.integers(0, n // 2, n)],
                          "match_route": "probabilistic"}).astype(dtype)
    index.loc[::97, "person_id"] = None  # a missing value hashes as empty
    index.loc[5, "record_key_tok"] = "é-non-ascii"  # UTF-8 byte order is Python's order
    index.loc[6, "record_key_tok"] = "Z"
    index = pd.concat([index, index.head(3)], ignore_index=True)  # a repeated row hashes twice
    assert person_index_digest(index) == _plain_digest(index)
    assert person_index_digest(index.sample(frac=1, random_state=1)) == _plain_digest(index)  # order-free
    assert person_index_digest(index.head(1)) == _plain_digest(index.head(1))
    assert person_index_digest(index.head(0)) == _plain_digest(index.head(0))
