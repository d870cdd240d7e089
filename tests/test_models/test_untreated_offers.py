"""Offers made, read from a pseudonymised county as the features stage reads them (issue 19).

Reuses the interventions source's small county (tests/test_pipeline/test_sources/test_interventions.py):
ingested and pseudonymised by the CLI, its person index written by hand.
"""

from __future__ import annotations

import pandas as pd

from features.offers import with_offer_exposure
from pipeline.core.paths import ProjectPaths
from pipeline.impact.events_io import load_events
from pipeline.impact.offers_made import read_offers_made
from tests.test_pipeline.test_sources.test_interventions import county, write_person_index  # noqa: F401 (fixture)


def test_offers_made_are_the_offered_events_of_mapped_children(county, tmp_path):  # noqa: F811 (the fixture)
    write_person_index(county)
    made = read_offers_made(ProjectPaths(county))
    offers = load_events(ProjectPaths(county)).offers
    expected = offers[offers["offered"] & offers["person_id"].notna()]
    assert sorted(zip(made["person_id"], made["date"], strict=True)) == sorted(
        zip(expected["person_id"], expected["offer_date"], strict=True))
    assert len(made) < len(offers)  # not-offered overrides and unmapped children are not exposure
    frame = pd.DataFrame({"person_id": ["P00000001", "P00000002", "P00000004"],
                          "index_date": pd.to_datetime(["2024-03-31", "2025-03-31", "2024-03-31"]),
                          "outcome": pd.array([0, 0, 1], dtype="Int8")})
    exposed = with_offer_exposure(frame, made, 12)
    assert exposed["offered_in_window"].tolist() == [True, False, False]  # B's offer came before 2025's index date
    assert list(exposed.columns[:3]) == ["person_id", "index_date", "outcome"]
    assert read_offers_made(ProjectPaths(tmp_path)) is None  # a county without offer records
    assert with_offer_exposure(frame, None, 12) is frame
