"""The adults' part of the synthetic county: simulate their lives, then hand them to the exporters.

Used by ``pipeline.synthetic.generate_county`` only when ``synth.adults.enabled``. Every draw here comes
from streams seeded ``[seed, 17, ...]``, never from the children's generator.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pandas as pd

from pipeline.core.synth_params import SynthParams
from pipeline.synthetic.adults.lives import simulate_adults


def truth_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A truth table ready for parquet: dates as datetime64[s], diagnoses as lists of str."""
    out = frame.copy()
    for col in out.columns:
        if pd.api.types.is_datetime64_any_dtype(out[col].dtype):
            out[col] = out[col].astype("datetime64[s]")
        elif col == "diagnoses":
            out[col] = [list(d) for d in out[col]]
    return out


def adult_county(
    cfg: SynthParams, hh: pd.DataFrame, kids: pd.DataFrame, parents: pd.DataFrame, lsoas: pd.DataFrame,
    postcodes: pd.DataFrame, addresses: pd.DataFrame,
    children_health: tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame],
) -> Iterator[tuple[str, str, object]]:
    """Yield the adults' truth (``adults_<table>``) and the health, GP, deaths, adult social care and
    learning-disability register extracts (the five largest health and GP files as ``csv_parts``: frames of
    about ``PART_ROWS`` rows, formatted as they are written).

    Args:
        children_health: ``(patients, apc, ae)`` of the children (export_health), merged into the same
            health files by the health exporter.
    """
    from pipeline.synthetic.export_adult_health import adult_health_extracts
    from pipeline.synthetic.export_adult_health_recording import PART_ROWS
    from pipeline.synthetic.export_adult_social_care import adult_social_care_extracts
    from pipeline.synthetic.export_ld_register import ld_register_extracts

    lives, risk = simulate_adults(cfg, hh, kids, parents, lsoas, postcodes, addresses)
    for name, frame in lives.frames().items():
        yield "truth", f"adults_{name}", truth_frame(frame)
    yield "truth", "adults_admission_risk", risk
    yield from adult_health_extracts(np.random.default_rng([cfg.seed, 17, 1]), cfg, lives, children=children_health,
                                     part_rows=PART_ROWS)
    yield from adult_social_care_extracts(np.random.default_rng([cfg.seed, 17, 2]), cfg, lives)
    yield from ld_register_extracts(np.random.default_rng([cfg.seed, 17, 3]), cfg, lives)
