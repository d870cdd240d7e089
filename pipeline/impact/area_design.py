"""What every area-level design (staggered DiD, synthetic control, ITS) shares.

The recording-regime check: a change in how the outcome is recorded inside an estimate's window looks like an
effect (DOMAIN_IMPACT.md §2 "Measurement"), so each area estimate looks its window up here and is flagged.
And library warnings kept as diagnostics rather than silenced.
"""

from __future__ import annotations

import contextlib
import warnings
from collections.abc import Collection, Iterator

import pandas as pd

REGIME_COLUMNS = ("source", "table", "field", "ward_code", "change_date", "description")


@contextlib.contextmanager
def collected_library_warnings(into: list[str]) -> Iterator[None]:
    """Catch every warning a library call raises and append its text to ``into`` (for the diagnostics).

    pytest turns warnings into errors; the estimators' libraries (csdid, pysyncon, statsmodels) warn about
    small groups, dropped units and convergence. Those are facts about the estimate, so they are kept in the
    diagnostics rather than silenced or raised.
    """
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield
    into.extend(f"{w.category.__name__}: {w.message}" for w in caught)


def recording_changes_in_window(
    recording_regime: pd.DataFrame | None,
    *,
    start: pd.Timestamp,
    end: pd.Timestamp,
    wards: Collection[str] | None = None,
    fields: Collection[tuple[str, str, str]] | None = None,
) -> pd.DataFrame:
    """Rows of the recording regime whose change falls inside an estimate's window, for its field and area.

    Args:
        recording_regime: columns ``source``, ``table``, ``field``, ``ward_code`` (blank or missing =
            county-wide), ``change_date``, ``description``; None means no regime table.
        start: first period in the window; a change on that date is inside (the data before it are missing).
        end: last period in the window (inclusive).
        wards: ward codes in the estimate's series (treated and comparison); None = any ward.
        fields: ``(source, table, field)`` triples the outcome is counted from; None = every field (the
            conservative reading when the caller does not know).

    Returns:
        The matching rows (same columns), ``change_date`` as datetime, sorted by date.
    """
    if recording_regime is None or recording_regime.empty:
        return pd.DataFrame(columns=list(REGIME_COLUMNS))
    missing = [c for c in REGIME_COLUMNS if c not in recording_regime.columns]
    if missing:
        raise ValueError(f"recording_regime: missing column(s) {missing}")
    regime = recording_regime.copy()
    regime["change_date"] = pd.to_datetime(regime["change_date"])
    inside = (regime["change_date"] > pd.Timestamp(start)) & (regime["change_date"] <= pd.Timestamp(end))
    ward = regime["ward_code"].fillna("").astype(str).str.strip()
    in_area = ward.eq("") | (ward.isin(list(wards)) if wards is not None else True)
    keys = list(zip(regime["source"], regime["table"], regime["field"], strict=True))
    in_field = pd.Series([fields is None or key in set(fields) for key in keys], index=regime.index)
    return regime.loc[inside & in_area & in_field].sort_values("change_date").reset_index(drop=True)
