"""The adults' models' extra evaluation, read from files: synthetic truth for the generator yardstick and the
``adult`` block of metrics.json (``models.adult_metrics``). Called by ``models.evaluate_stage`` only.

Truth (``data/truth``, evaluation only): the adults' simulation writes each person's expected number of
emergency admissions per financial year before that year's shock (``adults_admission_risk``: ``person_id,
year, expected``; year Y runs from 1 April Y-1) and the true spells (``adults_admissions``). Each year's
shock is gamma with mean 1 and shape ``synth.adults.transient_shape`` k, so the chance of one or more
admissions is ``1 - (1 + expected / k) ** -k``: the generator's own probability for the year after each
31 March. ``expected`` is shortened for people who die during the year (less time to be admitted), so the
yardstick knows a little about deaths in the window that no model can.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from models.adult_metrics import adult_block
from models.evaluation import MODEL_SCORES
from pipeline.core.config import ConfigError, load_params
from pipeline.core.io import parquet_columns, read_parquet
from pipeline.core.paths import ProjectPaths
from pipeline.core.synth_params import AdultsParams
from pipeline.sources.codes import HES_EMERGENCY_ADMISSION

KEYS = ["person_id", "index_date"]
EXTRA_COLUMNS = ("outcome_spells", "outcome_death", "emergency_spells_24m")


def transient_shape(root: Path) -> float:
    """``synth.adults.transient_shape`` of the project's params.yaml (the default when it cannot be read)."""
    try:
        return float(load_params(root / "params.yaml").synth.adults.transient_shape)
    except (ConfigError, AttributeError):
        return AdultsParams().transient_shape


def emergency_truth(risk: pd.DataFrame, admissions: pd.DataFrame, shape: float) -> pd.DataFrame:
    """The generator's probability and the true outcome of ``emergency_admission`` per true person and 31 March.

    Args:
        risk: ``adults_admission_risk`` (``person_id, year, expected``).
        admissions: ``adults_admissions`` (``person_id, admission_date, admission_method``).
        shape: the gamma shape of the yearly shock.

    Returns:
        ``person_id, index_date (31 March of year - 1), p_true, outcome`` (any true emergency spell admitted
        in the 12 months from the index date).
    """
    out = pd.DataFrame({"person_id": risk["person_id"].astype("int64"),
                        "index_date": pd.to_datetime((risk["year"] - 1).astype("str") + "-03-31")})
    out["p_true"] = 1 - np.power(1 + risk["expected"].to_numpy(dtype="float64") / shape, -shape)
    emergency = admissions[admissions["admission_method"].isin(list(HES_EMERGENCY_ADMISSION))]
    # admitted on or after 31 March Y-1 and before 31 March Y: counted against index date Y-1
    when = pd.to_datetime(emergency["admission_date"])
    index_year = when.dt.year - (when < pd.to_datetime(when.dt.year.astype("str") + "-03-31")).astype("int64")
    admitted = pd.DataFrame({"person_id": emergency["person_id"].astype("int64"),
                             "index_date": pd.to_datetime(index_year.astype("str") + "-03-31")}).drop_duplicates()
    out = out.merge(admitted.assign(outcome=1), on=KEYS, how="left")
    out["outcome"] = out["outcome"].fillna(0).astype("int8")
    return out


TRUTH_BUILDERS = {"emergency_admission"}  # adults' models whose truth the simulation holds


def truth_outcome(model: str, paths: ProjectPaths) -> pd.DataFrame | None:
    """Truth for an adults' model from the simulated lives, or None (not such a model, or no truth)."""
    risk_file = paths.truth / "adults_admission_risk.parquet"
    admissions_file = paths.truth / "adults_admissions.parquet"
    if model not in TRUTH_BUILDERS or not (risk_file.exists() and admissions_file.exists()):
        return None
    return emergency_truth(read_parquet(risk_file, columns=["person_id", "year", "expected"]),
                           read_parquet(admissions_file, columns=["person_id", "admission_date", "admission_method"]),
                           transient_shape(paths.root))


def adult_metrics(model: str, scores: pd.DataFrame, paths: ProjectPaths, seed: int) -> dict:
    """The ``adult`` block for the test year: ``scores`` (scores.parquet with ``fair_*`` and, with truth,
    ``p_true``) joined to the features file's ``outcome_spells, outcome_death, emergency_spells_24m``."""
    features_file = paths.features_table(model)
    extra = [c for c in EXTRA_COLUMNS if c in parquet_columns(features_file)]
    test = scores[(scores["split"] == "test") & scores["outcome"].notna()]
    test = test.merge(read_parquet(features_file, columns=[*KEYS, *extra]), on=KEYS, how="left",
                      validate="one_to_one")
    present = {name: cols for name, cols in MODEL_SCORES.items()
               if all(c in test.columns for c in cols) and test[cols[0]].notna().all()}
    return adult_block(test.reset_index(drop=True), present, seed=seed)
