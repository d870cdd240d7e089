"""Death registrations as events: the competing outcome of the adults' models, never a feature.

A death before the index date takes a person out of the adults' cohorts (``features.adult_population``);
a death within the outcome window is reported beside the outcome (``outcome_death``), not used to
censor it.
"""

from __future__ import annotations

import pandas as pd

from features.event_registry import event_builder

FEATURES = ()


@event_builder("death", source="deaths", tables={"death_registration": ("date_of_death", "place_of_death")})
def build_death_events(registrations: pd.DataFrame) -> pd.DataFrame:
    """``person_id, event_date (date of death), in_care_home`` (0/1: the place of death was a care home, which
    the all-tenure care-home outcome counts: someone who moved in and died there may have no other record of
    it, a self-funder above all)."""
    place = registrations["place_of_death"].astype("str") if "place_of_death" in registrations else None
    out = pd.DataFrame({"person_id": registrations["person_id"],
                        "event_date": pd.to_datetime(registrations["date_of_death"]),
                        "in_care_home": (place == "care_home").astype("int8") if place is not None else 0})
    return out.dropna(subset=["event_date"]).reset_index(drop=True)
