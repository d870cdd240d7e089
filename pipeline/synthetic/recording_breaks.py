"""Plant a change in recording practice in an exported extract (synthetic only; ``synth.recording_breaks``).

Applied to the raw frame a table is written from, in the source's own column names and date format, so
the change reaches riskpipe the way a real one would: through the extract. The monitor
(``riskpipe monitor``) and the gate's ``recording_practice`` check are tested against it.
"""

from __future__ import annotations

from collections.abc import Sequence
from fnmatch import fnmatch

import numpy as np
import pandas as pd

from pipeline.core.synth_params import RecordingBreak


def check_recording_breaks(breaks: Sequence[RecordingBreak]) -> None:
    """Refuse a planted break that could not be applied (so a fault-injection test cannot pass vacuously).

    Raises:
        ValueError: an unknown table or column, a table not written as CSV (CIN census XML), or one with no
            date the monitor watches.
    """
    from pipeline.sources.registry import get_source, table_spec

    for planted in breaks:
        try:
            spec = table_spec(planted.table)
            spec.column(planted.column)
        except KeyError as exc:
            raise ValueError(f"synth.recording_breaks: {exc}") from None
        if spec.reader != "csv":
            raise ValueError(f"synth.recording_breaks: {planted.table} is written as {spec.reader}, not CSV; "
                             "a break can be planted only in a CSV extract")
        if not any(m.table == planted.table for m in get_source(spec.source).monitored):
            raise ValueError(f"synth.recording_breaks: the monitor watches no dated column of {planted.table}")


def breaks_for_file(rel: str, breaks: Sequence[RecordingBreak]) -> list[RecordingBreak]:
    """The planted breaks whose table is written to ``rel`` (``health/hes_ae.csv``), by its TableSpec's file glob."""
    from pipeline.sources.registry import get_source, table_spec

    found = []
    for planted in breaks:
        spec = table_spec(planted.table)
        folder = get_source(spec.source).raw_dir.removeprefix("data/raw/").strip("/")
        if spec.files and fnmatch(rel, f"{folder}/{spec.files}"):
            found.append(planted)
    return found


def plant_recording_break(frame: pd.DataFrame, planted: RecordingBreak, rng: np.random.Generator) -> pd.DataFrame:
    """``frame`` with ``planted`` applied from its start date on (rows before it untouched).

    Args:
        frame: the raw extract as exported (source column names, dates as the source writes them).
        planted: what to change; its ``column`` and the table's dated column are mapped to source names.

    Raises:
        KeyError: the table has no such column, or no date the break can be placed by.
    """
    from pipeline.sources.registry import get_source, table_spec

    spec = table_spec(planted.table)
    code_column = spec.column(planted.column).source
    watched = [m for m in get_source(spec.source).monitored if m.table == planted.table]
    if not watched:
        raise KeyError(f"{planted.table} has no dated column the monitor watches; a break cannot be placed")
    date_column = spec.column(watched[0].date_column).source
    dates = pd.to_datetime(frame[date_column], errors="coerce", dayfirst=True, format="mixed")
    after = (dates >= pd.Timestamp(planted.start)).to_numpy()
    codes = frame[code_column].astype("string").fillna("")
    is_code = codes.str.startswith(planted.code).to_numpy()
    out = frame.copy()
    if planted.factor < 1:  # the code is recorded only `factor` of the time; the rest as `recorded_as`
        dropped = after & is_code & (rng.random(len(frame)) >= planted.factor)
        out.loc[dropped, code_column] = planted.recorded_as
        return out
    others = np.flatnonzero(after & ~is_code)
    extra = min(len(others), int(round((planted.factor - 1) * (after & is_code).sum())))
    if extra:
        out.loc[out.index[rng.choice(others, size=extra, replace=False)], code_column] = _the_code(codes[is_code],
                                                                                                 planted.code)
    return out


def _the_code(recorded: pd.Series, code: str) -> str:
    """The full code to write for a prefix (its most common recorded form), or the code itself."""
    return str(recorded.mode().iloc[0]) if len(recorded) else code
