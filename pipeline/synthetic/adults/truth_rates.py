"""The whole population's base rates (issue #17) measured from a written county's adults' truth, as
DOMAIN_ADULTS.md §3 states them (the definitions are ``rates``'); ``benchmarks/whole_population.py --base-rates``
reports them by size."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from pipeline.core import io
from pipeline.synthetic.adults import AdultLives, rates

ADULT_YEARS = range(2018, 2026)  # financial years pooled for the adults' rates (ending 31 March)
# the adults' truth tables (and columns) the base rates read: the big event tables only in part
_ADULT_TRUTH = {
    "people": None,
    "admissions": ["person_id", "admission_date", "admission_method"],
    "care_home_entries": None,
    "asc_events": ["person_id", "event_type", "service_type", "client_type", "start", "end"],
    "gp_events": ["person_id", "date", "concept"],
}


def adult_base_rates(truth_dir: Path, years: range = ADULT_YEARS) -> dict[str, float]:
    """Issue #17's base rates of a synthetic whole-population county, from its truth (``truth_dir`` holds
    ``adults_<table>.parquet`` as ``riskpipe synth`` writes them with ``synth.adults.enabled``).

    Each rate is that of ``pipeline.synthetic.adults.rates.summary`` (DOMAIN_ADULTS.md §3's definitions),
    pooled over ``years``, plus ``deaths_over_expected_65+`` (deaths of residents 65+ over the ONS life
    table, all bands together) and ``residents`` (at the last year's end).
    """

    frames = {name: io.read_parquet(truth_dir / f"adults_{name}.parquet", columns=cols)
              for name, cols in _ADULT_TRUTH.items()}
    frames["gp_events"] = frames["gp_events"][frames["gp_events"]["concept"] == "ld"].reset_index(drop=True)
    empty = pd.DataFrame()
    lives = AdultLives(**frames, addresses=empty, gp_registrations=empty, medications=empty, attendances=empty,
                       outpatients=empty, caring=empty, adversity=empty)
    risk = io.read_parquet(truth_dir / "adults_admission_risk.parquet", columns=["person_id", "year", "expected"])
    out = rates.summary(lives, risk, years)
    deaths = rates.deaths_vs_life_table(lives, years)
    old = deaths.loc[[b for b in deaths.index if b.left >= 65]]
    out["deaths_over_expected_65+"] = float(old["died"].sum() / old["expected"].sum())
    out["residents"] = float(len(rates.residents(lives.people, np.datetime64(f"{max(years)}-03-31"))))
    return out
