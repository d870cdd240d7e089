"""NCCIS events: each young person's post-16 activity (education, employment, training or NEET).

NCCIS feeds no model input of its own: its activity events are the NEET outcome (``features.outcomes``),
a record of the child for coverage features, and a dated address for deprivation.
"""

from __future__ import annotations

import pandas as pd

from features.event_registry import event_builder, person_attributes

# the post-16 caseload records no ethnicity, and is trusted last for the rest
person_attributes("nccis_activity", trust=40, columns=("birth_year", "birth_month", "sex"))


@event_builder("nccis", source="nccis", record=True, address=True, tables={
    "nccis_activity": ("lsoa_imd_decile", "activity_code", "activity_start")})
def build_nccis_events(nccis: pd.DataFrame) -> pd.DataFrame:
    """``person_id, event_date (activity start), activity_code, imd_decile``."""
    out = nccis.rename(columns={"activity_start": "event_date", "lsoa_imd_decile": "imd_decile"})
    return out.dropna(subset=["event_date"])[["person_id", "event_date", "activity_code", "imd_decile"]]
