"""Tokens: HMAC-SHA256 of normalised values under the pseudonymisation key, one domain per identifier kind.

Tokens are HMAC-SHA256 over ``b"riskpipe/v1/<domain>\\x00" + value``, lowercase hex cut to 32
characters: the same value in two domains gives unrelated tokens, so a token can only ever be
compared with tokens of its own kind.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

TOKEN_CHARS = 32
DOMAIN_PREFIX = b"riskpipe/v1/"
_SHA256_BLOCK = 64


class TokenMaker:
    """Tokens of values under one key: ``HMAC-SHA256(key, b"riskpipe/v1/<domain>\\x00" + value)``, 32 hex.

    HMAC (RFC 2104) is SHA-256 over the key block XOR opad, then over the key block XOR ipad and the
    message. The two SHA-256 states after the key blocks (and, inside, the domain prefix) are computed
    once per domain and copied per value: the same tokens as :func:`hmac.new`, without its per-call
    Python wrapper, which cost more than the hashing.

    With ``remember=True`` the tokens already made are kept per domain (as Arrow arrays, compactly),
    so a value met again in another table or column is not hashed again: one pseudonymise run meets
    each pupil record key in every school census table. The key itself is never shown.
    """

    def __init__(self, key: bytes, *, remember: bool = False) -> None:
        block = bytes(key)
        if len(block) > _SHA256_BLOCK:
            block = hashlib.sha256(block).digest()
        block = block.ljust(_SHA256_BLOCK, b"\x00")
        self._inner = hashlib.sha256(bytes(b ^ 0x36 for b in block))
        self._outer = hashlib.sha256(bytes(b ^ 0x5C for b in block))
        self._domains: dict = {}  # domain -> inner SHA-256 state after the key block and prefix
        self._known: dict[str, tuple[pa.Array, pa.Array]] | None = {} if remember else None

    def __repr__(self) -> str:
        return "TokenMaker(<key hidden>)"

    def _hash(self, values: Sequence[str], domain: str) -> list[str]:
        if domain not in self._domains:
            inner = self._inner.copy()
            inner.update(DOMAIN_PREFIX + domain.encode("ascii") + b"\x00")
            self._domains[domain] = inner
        inner_copy, outer_copy = self._domains[domain].copy, self._outer.copy
        tokens = []
        for value in values:
            inner = inner_copy()
            inner.update(value.encode("utf-8"))
            outer = outer_copy()
            outer.update(inner.digest())
            tokens.append(outer.hexdigest()[:TOKEN_CHARS])
        return tokens

    def tokens(self, values: Sequence[str], domain: str) -> np.ndarray:
        """Tokens (object array of str) of distinct, non-missing text ``values`` in ``domain``."""
        values = list(values)
        if self._known is None:
            return np.array(self._hash(values, domain), dtype=object)
        known_values, known_tokens = self._known.get(domain, (pa.array([], pa.large_string()),) * 2)
        asked = pa.array(values, type=pa.large_string())
        at = pc.index_in(asked, value_set=known_values)
        new = pc.is_null(at)
        new_values = asked.filter(new)
        new_tokens = pa.array(self._hash(new_values.to_pylist(), domain), type=pa.large_string())
        # a new value's token sits after the known ones, in the order the new values were met
        new_at = len(known_values) + np.cumsum(new.to_numpy(zero_copy_only=False)) - 1
        at = np.where(new.to_numpy(zero_copy_only=False), new_at, at.fill_null(0).to_numpy())
        every_token = pa.concat_arrays([known_tokens, new_tokens])
        self._known[domain] = (pa.concat_arrays([known_values, new_values]), every_token)
        return np.array(every_token.take(pa.array(at, pa.int64())).to_pylist(), dtype=object)

def as_token_maker(key: bytes | TokenMaker) -> TokenMaker:
    """``key`` itself when it is already a :class:`TokenMaker` (sharing its remembered tokens), else a new one."""
    return key if isinstance(key, TokenMaker) else TokenMaker(key)


def make_tokens(values: pd.Series, domain: str, key: bytes | TokenMaker) -> pd.Series:
    """HMAC-SHA256 tokens of ``values`` in ``domain``: 32 lowercase hex characters; NA/empty -> NA.

    Each distinct value is hashed once, then mapped back, so millions of rows take seconds.
    ``key`` may be a :class:`~pipeline.privacy.keys.TokenMaker`, which also remembers tokens across calls.
    """
    maker = as_token_maker(key)
    text = values.astype("str").where(values.notna())
    text = text.where(text.str.len() > 0)
    codes, uniques = pd.factorize(text, use_na_sentinel=True)
    # plain Python strings: iterating Arrow is slow; the last slot (code -1) stays None
    tokens = np.append(maker.tokens([str(v) for v in uniques.tolist()], domain), None)
    return pd.Series(tokens[codes], index=values.index, dtype="str")

def holds_only_tokens(values: pd.Series) -> bool:
    """Whether every non-missing value is a token: exactly 32 characters, each ``0-9`` or ``a-f``.

    Checked on the UTF-8 bytes Arrow holds (lengths from the offsets, then a byte lookup), the same
    test as matching :data:`~pipeline.privacy.identifier_detectors.HEX_TOKEN` but fast enough for millions of rows.
    """
    text = pa.chunked_array(pa.array(values.dropna().astype("str"), type=pa.large_string())).combine_chunks()
    if len(text) == 0:
        return True
    offsets = np.frombuffer(text.buffers()[1], np.int64)[text.offset : text.offset + len(text) + 1]
    if not (np.diff(offsets) == TOKEN_CHARS).all():
        return False
    data = np.frombuffer(text.buffers()[2], np.uint8)[offsets[0] : offsets[-1]]
    step = 1 << 24  # look at bytes in blocks so the test never doubles a big column's memory
    return all(_is_lower_hex(data[i : i + step]).all() for i in range(0, len(data), step))

def _is_lower_hex(data: np.ndarray) -> np.ndarray:
    # uint8 arithmetic wraps below zero, so one comparison tests each range
    return ((data - np.uint8(ord("0"))) < 10) | ((data - np.uint8(ord("a"))) < 6)
