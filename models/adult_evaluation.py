"""The adults' models' extra evaluation, read from files: synthetic truth for the generator yardstick and the
``adult`` block of metrics.json (``models.adult_metrics``). Called by ``models.evaluate_stage`` only.

Truth (``data/truth``, evaluation only): the adults' simulation writes each person's expected number of
emergency admissions per financial year before that year's shock (``adults_admission_risk``: ``person_id,
year, expected``; year Y runs from 1 April Y-1) and the true spells (``adults_admissions``). Each year's
shock is gamma with mean 1 and shape ``synth.adults.transient_shape`` k, so the chance of one or more
admissions is ``1 - (1 + expected / k) ** -k``: the generator's own probability for the year after each
31 March. ``expected`` is shortened for people who die during the year (less time to be admitted), so the
yardstick knows a little about deaths in the window that no model can. The simulation also keeps each
person's chance of a permanent move into a care home that year (``care_home_p``, drawn after the year's deaths:
the same caveat) beside the true moves (``adults_care_home_entries``) for ``care_home_admission``.
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
GENERATOR_MIN_COVERAGE = 0.99  # share of the test rows truth must place for the generator's adult figures


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
    out = pd.DataFrame({"person_id": risk["person_id"].astype("int64"), "index_date": _index_dates(risk["year"] - 1)})
    out["p_true"] = 1 - np.power(1 + risk["expected"].to_numpy(dtype="float64") / shape, -shape)
    emergency = admissions[admissions["admission_method"].isin(list(HES_EMERGENCY_ADMISSION))]
    out = out.merge(_by_index_date(emergency["person_id"], emergency["admission_date"]).assign(outcome=1), on=KEYS,
                    how="left")
    out["outcome"] = out["outcome"].fillna(0).astype("int8")
    return out


def care_home_truth(risk: pd.DataFrame, entries: pd.DataFrame) -> pd.DataFrame:
    """The generator's probability and the true outcome of ``care_home_admission`` per true person and 31 March.

    Args:
        risk: ``adults_admission_risk`` (``person_id, year, care_home_p``: the chance of a permanent move
            into a care home in financial year ``year``, council-funded or self-funded alike).
        entries: ``adults_care_home_entries`` (``person_id, entry_date, permanent``).

    Returns:
        ``person_id, index_date (31 March of year - 1), p_true, outcome`` (a true permanent move in the 12
        months from the index date, whoever paid).
    """
    out = pd.DataFrame({"person_id": risk["person_id"].astype("int64"),
                        "index_date": _index_dates(risk["year"] - 1), "p_true": risk["care_home_p"].astype("float64")})
    moved = entries[entries["permanent"].astype("bool")]
    return out.merge(_by_index_date(moved["person_id"], moved["entry_date"]).assign(outcome=1), on=KEYS,
                     how="left").fillna({"outcome": 0}).astype({"outcome": "int8"})


def _index_dates(years: pd.Series) -> pd.Series:
    return pd.to_datetime(years.astype("int64").astype("str") + "-03-31")


def _by_index_date(person_id: pd.Series, when: pd.Series) -> pd.DataFrame:
    """One row per person and 31 March whose following 12 months hold one of the dated events (``when`` on or
    after 31 March Y-1 and before 31 March Y is counted against index date Y-1)."""
    when = pd.to_datetime(when)
    index_year = when.dt.year - (when < _index_dates(when.dt.year)).astype("int64")
    return pd.DataFrame({"person_id": person_id.astype("int64").to_numpy(),
                         "index_date": _index_dates(index_year).to_numpy()}).drop_duplicates()


TRUTH_BUILDERS = {"emergency_admission", "care_home_admission"}  # adults' models whose truth the simulation holds


def truth_outcome(model: str, paths: ProjectPaths) -> pd.DataFrame | None:
    """Truth for an adults' model from the simulated lives, or None (not such a model, or no truth: a county
    simulated before the care-home probability was kept has no ``care_home_p``)."""
    risk_file = paths.truth / "adults_admission_risk.parquet"
    if model not in TRUTH_BUILDERS or not risk_file.exists():
        return None
    if model == "care_home_admission":
        entries_file = paths.truth / "adults_care_home_entries.parquet"
        if "care_home_p" not in parquet_columns(risk_file) or not entries_file.exists():
            return None
        return care_home_truth(read_parquet(risk_file, columns=["person_id", "year", "care_home_p"]),
                               read_parquet(entries_file, columns=["person_id", "entry_date", "permanent"]))
    admissions_file = paths.truth / "adults_admissions.parquet"
    if not admissions_file.exists():
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
    block = adult_block(test.reset_index(drop=True), present, seed=seed)
    # the generator's probability is missing for the few linked people truth cannot place: judge it on the rest,
    # saying on how many, rather than leave it out (a learner's score is never missing)
    generator = MODEL_SCORES.get("generator")
    if generator and "generator" not in present and all(c in test.columns for c in generator):
        covered = test[test[generator[0]].notna()].reset_index(drop=True)
        if len(covered) >= GENERATOR_MIN_COVERAGE * len(test) and covered["outcome"].nunique() == 2:
            judged = adult_block(covered, {"generator": generator}, seed=seed)["models"]["generator"]
            block["models"]["generator"] = judged | {"rows": int(len(covered))}
    return block
