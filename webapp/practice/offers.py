"""Offers events: what teams did for each child, as the file the impact stage reads (docs/contracts.md).

``data/raw/interventions/app_offers.csv`` (table ``app_offer`` of the interventions source,
pipeline/sources/interventions.py) has one row per event with columns :data:`OFFER_COLUMNS`. The app writes
it with ``python -m webapp.manage export_offers``; a council's own case-management events go in ``offers.csv``
beside it (docs/contracts.md "Interventions (early help records)").
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import pandas as pd

from pipeline.core.io import write_csv
from webapp.practice.models import Offer

OFFER_COLUMNS = ["offer_id", "person_token", "model", "release", "list_date", "route", "team", "status", "date",
                 "reason", "recorded_by_role"]


def offer_events(offers: Iterable[Offer]) -> pd.DataFrame:
    """The offers as events, in the order recorded, columns :data:`OFFER_COLUMNS` (dates ISO, text as typed)."""
    rows = [{"offer_id": str(o.offer_id), "person_token": o.person_token, "model": o.model, "release": o.release,
             "list_date": o.list_date.isoformat(), "route": o.route, "team": o.team.name, "status": o.status,
             "date": o.date.isoformat(), "reason": " ".join(o.reason.split()), "recorded_by_role": o.recorded_by_role}
            for o in offers]
    return pd.DataFrame(rows, columns=OFFER_COLUMNS)


def export_offers(out: Path) -> int:
    """Write every offer recorded to ``out`` (CSV, :data:`OFFER_COLUMNS`); return the number of events."""
    events = offer_events(Offer.objects.select_related("team").order_by("recorded_at", "id"))
    write_csv(events, out)
    return len(events)
