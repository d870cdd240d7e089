"""One row per offer from its events: missing values are skipped, never taken as the answer."""

from __future__ import annotations

import pandas as pd

from pipeline.impact.events import list_runs, offers, programmes
from pipeline.impact.persons import person_lookup

INDEX = pd.DataFrame({"table": ["school"], "record_key_tok": ["a" * 32], "person_id": ["P00000001"]})


def test_each_offer_takes_its_first_known_values_and_its_last_known_status():
    events = pd.DataFrame({
        "offer_id_tok": ["O1", "O1", "O1", "O2", "O2"],
        "person_token": [None, "P00000001", "P00000002", "P00000001", None],
        "programme": [None, "early_help_offer", "other", "early_help_offer", None],
        "route": ["list", None, None, "referral", None],
        "team": [None, None, "east", None, None],
        "status": ["offered", "accepted", None, "declined", None],
        "date": pd.to_datetime(["2025-01-10", "2025-01-20", "2025-02-01", "2025-03-01", "2025-03-05"]),
        "override": [None, None, None, None, None],
        "reason": [None, None, None, None, None],
        "dosage": [None, None, None, None, None],
    }).astype({c: "str" for c in ("offer_id_tok", "person_token", "programme", "route", "team", "status", "reason")})
    made, recon = offers(events, None, list_runs(None), programmes(None), person_lookup(INDEX, {}))
    one, two = made.set_index("offer_id").loc["O1"], made.set_index("offer_id").loc["O2"]
    # P00000002 is no person of the index: its event names nobody, so O1's person is the first event naming one
    assert one["person_id"] == "P00000001" and one["programme"] == "early_help_offer" and one["team"] == "east"
    assert one["route"] == "list" and one["last_status"] == "accepted" and one["accepted"]
    assert one["offered"] and one["offer_date"] == pd.Timestamp("2025-01-10")
    assert two["last_status"] == "declined" and not two["accepted"] and two["route"] == "referral"
    # no event recorded an override either way: unknown, not False
    assert made["override"].isna().all() and made["override_reason"].isna().all()
    assert recon["offers"] == 2 and recon["events"]["identifiers_disagree"] == 0
