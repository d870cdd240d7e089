"""The early help offers made, for the features stage's offer exposure (``features.offers``; issue 19).

Read from ``data/pseudo/`` through ``pipeline.core.io`` and typed by :func:`pipeline.impact.events.offers`, so
the features stage sees offers exactly as the impact stage does. Passed to ``features.stage.run_features`` by
the CLI: features cannot import this package, which builds on features.
"""

from __future__ import annotations

import pandas as pd

from pipeline.core.io import read_parquet
from pipeline.core.paths import ProjectPaths
from pipeline.impact.events import list_runs, offers, programmes
from pipeline.impact.events_io import read_person_lookup

TABLES = ("offer", "app_offer", "list_run", "programme")


def read_offers_made(paths: ProjectPaths) -> pd.DataFrame | None:
    """``person_id, date`` of every offer that was made (an event says help was offered) to a child in the person
    index; None when the county has no offer records. Offers whose child is not in the person index are left
    out here (the impact stage's reconciliation counts them)."""
    present = {t: read_parquet(paths.pseudo_table(t)) for t in TABLES if paths.pseudo_table(t).exists()}
    if "offer" not in present and "app_offer" not in present:
        return None
    made, _ = offers(present.get("offer"), present.get("app_offer"), list_runs(present.get("list_run")),
                     programmes(present.get("programme")), read_person_lookup(paths))
    made = made[made["offered"].astype(bool) & made["person_id"].notna()]
    return pd.DataFrame({"person_id": made["person_id"].astype("str"), "date": made["offer_date"]})
