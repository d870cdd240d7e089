"""How names go wrong in records: nicknames and other spellings, typing errors, changed surnames.

Every function takes the ``rng`` and a rate, and changes about that share of the names; the same
seed gives the same errors. Capitals are kept: a name recorded in capitals stays in capitals.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from pipeline.synthetic.identities.codepoints import from_codepoints, replace_rows, to_codepoints
from pipeline.synthetic.identities.name_pools import FORENAME_VARIANTS
from pipeline.synthetic.identities.names import surnames


def _case_like(values: np.ndarray, originals: np.ndarray) -> np.ndarray:
    """Upper-case ``values`` where the original was written in capitals."""
    values = np.asarray(values, dtype=str)
    return np.where(np.strings.isupper(np.asarray(originals, dtype=str)), np.strings.upper(values), values)


def apply_forename_variants(rng: np.random.Generator, names: np.ndarray, rate: float) -> np.ndarray:
    """Replace a name by a nickname or another transliteration with probability ``rate``.

    Names without a known variant (``FORENAME_VARIANTS``) are left unchanged, as are all others
    not drawn. Lookup ignores case; capitals are kept.
    """
    names = np.asarray(names, dtype=str)
    codes, uniques = pd.factorize(names)
    options = [FORENAME_VARIANTS.get(str(u).title(), ()) for u in uniques]
    counts = np.array([len(o) for o in options] + [0], dtype=np.int64)
    flat = np.array([v for o in options for v in o] + [""], dtype=str)
    offsets = np.r_[0, np.cumsum(counts[:-1])]
    n_opts = counts[codes]
    change = (rng.random(len(names)) < rate) & (n_opts > 0)
    pick = offsets[codes[change]] + (rng.random(int(change.sum())) * n_opts[change]).astype(np.int64)
    return replace_rows(names, change, _case_like(flat[pick], names[change]))


# ---------------------------------------------------------------- typing errors
_KEYBOARD_ROWS = {
    "q": "wa", "w": "qeas", "e": "wrsd", "r": "etdf", "t": "ryfg", "y": "tugh", "u": "yihj", "i": "uojk",
    "o": "ipkl", "p": "ol", "a": "qwsz", "s": "awedxz", "d": "serfcx", "f": "drtgvc", "g": "ftyhbv",
    "h": "gyujnb", "j": "huikmn", "k": "jiolm", "l": "kop", "z": "asx", "x": "zsdc", "c": "xdfv",
    "v": "cfgb", "b": "vghn", "n": "bhjm", "m": "njk",
}
_NEIGHBOURS = np.zeros((128, 6), dtype=np.uint32)
_N_NEIGHBOURS = np.zeros(128, dtype=np.int64)
for _k, _v in _KEYBOARD_ROWS.items():
    for _case in (str.lower, str.upper):
        _NEIGHBOURS[ord(_case(_k)), : len(_v)] = [ord(_case(c)) for c in _v]
        _N_NEIGHBOURS[ord(_case(_k))] = len(_v)


def _neighbour(rng: np.random.Generator, chars: np.ndarray) -> np.ndarray:
    """A random keyboard neighbour of each letter (same case); 0 where ``chars`` is not a letter."""
    idx = np.minimum(chars, 127)
    n = np.where(chars < 128, _N_NEIGHBOURS[idx], 0)
    pick = (rng.random(len(chars)) * np.maximum(n, 1)).astype(np.int64)
    return np.where(n > 0, _NEIGHBOURS[idx, pick], 0).astype(np.uint32)


def _one_edit(rng: np.random.Generator, strings: np.ndarray) -> np.ndarray:
    """Apply exactly one edit (Damerau-Levenshtein distance 1) to each non-empty string."""
    k = len(strings)
    length = np.strings.str_len(strings).astype(np.int64)
    width = int(length.max())
    mat = np.zeros((k, width + 2), dtype=np.uint32)
    mat[:, :width] = to_codepoints(strings, width)
    rows = np.arange(k)
    lo = (length >= 2).astype(np.int64)  # keep the first letter (and so the case style) when we can
    op = rng.integers(0, 4, size=k)  # 0 substitute, 1 transpose, 2 delete, 3 insert
    u = rng.random(k)
    op = np.where((op == 1) & (length < 3), 0, op)
    op = np.where((op == 2) & (length == 1), 3, op)
    pos = np.select(
        [op == 1, op == 3],
        [1 + (u * (length - 2)).astype(np.int64), 1 + (u * length).astype(np.int64)],
        lo + (u * (length - lo)).astype(np.int64),
    )
    pos = np.minimum(pos, np.where(op == 3, length, length - 1))
    here, after = mat[rows, pos], mat[rows, pos + 1]
    substitute = _neighbour(rng, here)
    op = np.where((op == 0) & (substitute == 0), 2, op)
    swappable = (_N_NEIGHBOURS[np.minimum(here, 127)] > 0) & (_N_NEIGHBOURS[np.minimum(after, 127)] > 0)
    op = np.where((op == 1) & ((here == after) | ~swappable), 2, op)
    previous = mat[rows, np.maximum(pos - 1, 0)]
    inserted = np.strings.lower(from_codepoints(_neighbour(rng, previous)[:, None]))
    inserted = np.where(inserted == "", "e", inserted)  # after a hyphen or apostrophe
    inserted = to_codepoints(_case_like(inserted, strings), 1)[:, 0]

    j = np.arange(width + 1)[None, :]
    p = pos[:, None]
    o = op[:, None]
    src = np.select(
        [o == 2, o == 3, (o == 1) & (j == p), (o == 1) & (j == p + 1)],
        [j + (j >= p), j - (j > p), j + 1, j - 1],
        j,
    )
    out = np.take_along_axis(mat, src, axis=1)
    out[rows, pos] = np.select([op == 0, op == 3], [substitute, inserted], out[rows, pos])
    return from_codepoints(out)


def apply_typos(rng: np.random.Generator, strings: np.ndarray, rate: float) -> np.ndarray:
    """With probability ``rate`` make one typing error in a (non-empty) string.

    The error is a substitution by a keyboard neighbour, a transposition of adjacent letters, a
    deletion or an insertion (a neighbour of the previous key), so the result is always at
    Damerau-Levenshtein distance 1. The first character is kept when the string has two or more,
    and inserted letters follow the string's case (all capitals or not).
    """
    strings = np.asarray(strings, dtype=str)
    hit = (rng.random(len(strings)) < rate) & (np.strings.str_len(strings) > 0)
    if not hit.any():
        return strings.copy()
    return replace_rows(strings, hit, _one_edit(rng, strings[hit]))


# ---------------------------------------------------------------- surname changes
def apply_surname_changes(rng: np.random.Generator, surnames_: np.ndarray, rate: float,
                          group: np.ndarray) -> np.ndarray:
    """With probability ``rate`` change a surname: hyphenate it with another or replace it.

    Half the changes hyphenate (either order) with a surname from the person's group pool, half
    replace it; a surname that is already double-barrelled loses one half instead of growing.
    The new part always differs from the old surname.
    """
    old = np.asarray(surnames_, dtype=str)
    group = np.asarray(group, dtype=object)
    hit = np.flatnonzero(rng.random(len(old)) < rate)
    if not len(hit):  # numpy's string partition cannot size an empty array
        return old
    new = surnames(rng, group[hit])
    same = np.flatnonzero(np.strings.lower(new) == np.strings.lower(old[hit]))
    while len(same):
        new[same] = surnames(rng, group[hit[same]])
        same = same[np.strings.lower(new[same]) == np.strings.lower(old[hit[same]])]
    new = _case_like(new, old[hit])
    first, _, second = np.strings.partition(old[hit], "-")
    mode = rng.random(len(hit))
    changed = np.where(mode < 0.25, new + "-" + old[hit], old[hit] + "-" + new)
    changed = np.where(mode >= 0.5, new, changed)
    changed = np.where(second != "", np.where(mode < 0.5, first, second), changed)
    return replace_rows(old, hit, changed)
