"""Early help episodes in riskpipe's documented local format (no statutory return exists)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from pipeline.core.config import SynthParams
from pipeline.synthetic.formatting import format_dates


def early_help_records(rng: np.random.Generator, cfg: SynthParams, eh: pd.DataFrame, ids: pd.DataFrame) -> pd.DataFrame:
    """Early help episodes in riskpipe's documented format (ISO dates).

    Args:
        eh: person_id, start, end (``LifeCourse.early_help``).
        ids: person_id, la_child_id.

    Returns:
        EHEpisodeID, LAchildID, StartDate, EndDate ('' while open), ReferralSource, LeadAgency,
        ClosureReason ('' while open).
    """
    ref = np.datetime64(cfg.reference_date)
    eh = eh[eh["start"] <= ref].reset_index(drop=True)
    end = eh["end"].to_numpy()
    open_ = end > ref
    return pd.DataFrame(
        {
            "EHEpisodeID": np.char.add("EH", np.char.zfill(np.arange(1, len(eh) + 1).astype(str), 7)),
            "LAchildID": ids.set_index("person_id")["la_child_id"].reindex(eh["person_id"]).to_numpy(),
            "StartDate": format_dates(eh["start"], "%Y-%m-%d"),
            "EndDate": np.where(open_, "", format_dates(end, "%Y-%m-%d")),
            "ReferralSource": rng.choice(
                ["school", "health", "police", "family", "other"], len(eh), p=[0.4, 0.2, 0.15, 0.15, 0.1]
            ),
            "LeadAgency": rng.choice(["school", "family_hub", "health_visitor", "youth_service"], len(eh)),
            "ClosureReason": np.where(
                open_,
                "",
                rng.choice(
                    ["STEPDOWN", "ESCALATED", "DISENGAGED", "NEEDS_MET", "MOVED"],
                    len(eh),
                    p=[0.2, 0.15, 0.15, 0.45, 0.05],
                ),
            ),
        }
    )
