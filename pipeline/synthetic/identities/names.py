"""True names of the county's people: surnames, forenames and middle names by heritage.

Name pools (``name_pools``) list common names by heritage, most common first, with Zipf-like
weights so that "Smith", "Khan" and "Mohammed" recur as often as linkage must expect. A person's
heritage is drawn from their ethnicity group's blend (``GROUP_HERITAGE``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from pipeline.synthetic.identities.name_pools import (
    FORENAME_POOLS,
    FORENAME_WIDTH,
    GROUP_HERITAGE,
    HERITAGES,
    SURNAME_POOLS,
)


def _zipf_weights(n: int, offset: float) -> np.ndarray:
    """Zipf-Mandelbrot weights 1/(rank + offset): the first names of a pool are the common ones."""
    w = 1.0 / (np.arange(1, n + 1) + offset)
    return w / w.sum()


def _draw_heritage(rng: np.random.Generator, group: np.ndarray) -> np.ndarray:
    """A heritage per person (index into ``HERITAGES``), drawn from their group's blend."""
    codes, uniques = pd.factorize(np.asarray(group, dtype=object), use_na_sentinel=False)
    out = np.empty(len(codes), dtype=np.int64)
    for i, name in enumerate(uniques):
        rows = np.flatnonzero(codes == i)
        blend = GROUP_HERITAGE.get(name, GROUP_HERITAGE["Unknown"])
        keys = np.array([HERITAGES.index(k) for k in blend])
        probs = np.array(list(blend.values()), dtype=float)
        out[rows] = keys[rng.choice(len(keys), size=len(rows), p=probs / probs.sum())]
    return out


def _draw_from_pools(rng: np.random.Generator, heritage: np.ndarray,
                     pools: dict[str, list[str]], offset: float) -> np.ndarray:
    width = max(len(name) for pool in pools.values() for name in pool)
    out = np.empty(len(heritage), dtype=f"<U{width}")
    for key, pool in pools.items():
        rows = np.flatnonzero(heritage == HERITAGES.index(key))
        if len(rows):
            pick = rng.choice(len(pool), size=len(rows), p=_zipf_weights(len(pool), offset))
            out[rows] = np.array(pool)[pick]
    return out


def surnames(rng: np.random.Generator, group: np.ndarray) -> np.ndarray:
    """A surname per person, from pools by heritage blended per ethnicity group.

    Args:
        group: ethnicity group per person: White, Mixed, Asian, Black or Other (anything else
            draws from a national blend).
    """
    return _draw_from_pools(rng, _draw_heritage(rng, group), SURNAME_POOLS, offset=6.0)


def forenames(rng: np.random.Generator, group: np.ndarray, sex: np.ndarray) -> np.ndarray:
    """A forename per person by ethnicity group and sex (M/F; anything else draws either)."""
    heritage = _draw_heritage(rng, group)
    sex = np.asarray(sex, dtype=object)
    male = np.where(pd.Series(sex).isin(["M", "F"]).to_numpy(), sex == "M", rng.random(len(sex)) < 0.5)
    out = np.empty(len(heritage), dtype=f"<U{FORENAME_WIDTH}")
    for s, rows in (("M", np.flatnonzero(male)), ("F", np.flatnonzero(~male))):
        out[rows] = _draw_from_pools(rng, heritage[rows], {k: v[s] for k, v in FORENAME_POOLS.items()},
                                      offset=3.0)
    return out


def middlenames(rng: np.random.Generator, group: np.ndarray, sex: np.ndarray,
                empty_rate: float = 0.4) -> np.ndarray:
    """A middle name per person (empty string for about ``empty_rate`` of them)."""
    names = forenames(rng, group, sex)
    return np.where(rng.random(len(names)) < empty_rate, "", names)
