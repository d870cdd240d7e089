"""Offer exposure: whether an early help offer fell in each row's outcome window, and when (issue 19).

The exposure says what help the list triggered after the index date. It is what ``models.untreated`` needs to
train for risk *without* help (drop and reweight, or relabel, the offered rows), and what monitoring splits
realised performance by. It is never a model input: the columns are ``models.spec.OFFER_EXPOSURE_COLUMNS``,
which no registry feature may be named, and which ``models.untreated.check_no_exposure_inputs`` stops training
on. Offers come from the interventions source's events with ``person_id`` (``pipeline.impact.events``, read by
the caller); this module is pure.
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from features.feature import Feature
from models.spec import OFFER_EXPOSURE_COLUMNS

OFFERED, OFFER_DATE = OFFER_EXPOSURE_COLUMNS
# the source (feature group) and event domains whose records are the help itself (the interventions source's
# tables): a feature read from them would tell the model who was listed or helped
HELP_GROUPS = ("interventions",)
HELP_DOMAINS = ("offer", "app_offer", "list_score", "list_run")


def offer_exposure(rows: pd.DataFrame, offers: pd.DataFrame, horizon_months: int) -> pd.DataFrame:
    """Each row's first offer in its outcome window ``(index_date, index_date + horizon_months]``.

    An offer on the index date itself counts (the list of that date made it), one before does not: it was
    known when the row was scored. Every offer counts whatever its route (list, professional, self) and
    whatever became of it (accepted or declined): the exposure is the offer, as the effect estimated is.

    Args:
        rows: ``person_id, index_date`` (the features frame's keys).
        offers: ``person_id, date`` (one row per offer; ``pipeline.impact.events`` offers, status ``offered``).
        horizon_months: the outcome window's length.

    Returns:
        ``rows``' index with ``offered_in_window`` (bool) and ``offer_date`` (the first such offer; NaT if none).
    """
    missing = [c for c in ("person_id", "date") if c not in offers.columns]
    if missing:
        raise ValueError(f"offers need columns {missing} to attach offer exposure")
    keys = pd.DataFrame({"row": range(len(rows)), "person_id": rows["person_id"].astype("str").to_numpy(),
                         "start": pd.to_datetime(rows["index_date"]).to_numpy()})
    made = pd.DataFrame({"person_id": offers["person_id"].astype("str"), "date": pd.to_datetime(offers["date"])})
    pairs = keys.merge(made.dropna(), on="person_id")
    end = pairs["start"] + pd.DateOffset(months=horizon_months)
    inside = pairs[(pairs["date"] >= pairs["start"]) & (pairs["date"] <= end)]
    first = inside.groupby("row")["date"].min()
    dates = pd.Series(pd.NaT, index=range(len(rows)), dtype="datetime64[ns]")
    dates.loc[first.index] = first.to_numpy()
    return pd.DataFrame({OFFERED: dates.notna().to_numpy(), OFFER_DATE: dates.to_numpy()}, index=rows.index)


def with_offer_exposure(frame: pd.DataFrame, offers: pd.DataFrame | None, horizon_months: int) -> pd.DataFrame:
    """The features frame with the exposure columns added (unchanged when the county has no offer records)."""
    if offers is None:
        return frame
    # the columns added, not joined: a join copies every column of the features frame (issue #17)
    exposure = offer_exposure(frame, offers, horizon_months)
    return frame.assign(**{column: exposure[column] for column in exposure.columns})


def help_features(features: Mapping[str, Feature]) -> list[str]:
    """Registry features that would tell a model who was listed or helped: named as an exposure column, or read
    from the help records (the interventions source). The registry must have none
    (tests/test_models/test_untreated.py)."""
    return [name for name, f in features.items()
            if name in OFFER_EXPOSURE_COLUMNS or f.group in HELP_GROUPS or f.domain in HELP_DOMAINS]
