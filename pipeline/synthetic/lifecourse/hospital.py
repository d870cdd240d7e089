"""One year of hospital use: A&E attendances and admitted care (including teenage pregnancy)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from pipeline.synthetic.lifecourse.calendar import random_dates
from pipeline.synthetic.lifecourse.cohort import Children, YearCohort
from pipeline.synthetic.lifecourse.risk import AGE_AE, age_term


def simulate_hospital_use(rng: np.random.Generator, cohort: YearCohort, children: Children) -> dict[str, pd.DataFrame]:
    """A&E attendances (``ae``) and admissions (``apc``) of the cohort this year.

    Returns:
        ``ae`` and/or ``apc`` (a key is absent when there is no such event): person_id, date, age,
        need, dv, sub, mh; ``apc`` also pregnancy (on the child's first admission of the year).
    """
    idx, a, need, act = cohort.idx, cohort.age, cohort.need, cohort.adversity
    health = children.health
    ae_n = rng.poisson(0.27 * np.exp(0.25 * need + 0.35 * health[idx] + age_term(a, AGE_AE)))
    apc_n = rng.poisson(0.045 * np.exp(0.35 * need + 0.6 * health[idx]))
    preg = (children.sex[idx] == "F") & (a >= 15) & (rng.random(idx.size) < 0.006 * np.exp(0.7 * need))
    out = {}
    for kind, counts in (("ae", ae_n), ("apc", apc_n + preg)):
        ci = np.repeat(np.arange(idx.size), counts)
        if ci.size == 0:
            continue
        d = np.maximum(random_dates(rng, cohort.start, ci.size), children.dob[idx[ci]])
        frame = pd.DataFrame(
            {
                "person_id": idx[ci],
                "date": d,
                "age": a[ci],
                "need": need[ci],
                "dv": act["dv"][ci],
                "sub": act["sub"][ci],
                "mh": act["mh"][ci],
            }
        )
        if kind == "apc":
            first = np.r_[True, ci[1:] != ci[:-1]]
            frame["pregnancy"] = preg[ci] & first
        out[kind] = frame
    return out
