"""Death registrations as events: the competing outcome of the adults' models, never a feature.

A death before the index date takes a person out of the adults' cohorts (``features.adult_population``);
a death within the outcome window is reported beside the outcome (``outcome_death``), not used to
censor it.
"""

from __future__ import annotations

import pandas as pd

from features.event_registry import event_builder

FEATURES = ()


@event_builder("death", source="deaths", tables={"death_registration": ("date_of_death",)})
def build_death_events(registrations: pd.DataFrame) -> pd.DataFrame:
    """``person_id, event_date (date of death)``."""
    out = pd.DataFrame({"person_id": registrations["person_id"],
                        "event_date": pd.to_datetime(registrations["date_of_death"])})
    return out.dropna(subset=["event_date"]).reset_index(drop=True)
