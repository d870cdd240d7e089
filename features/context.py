"""Demographics, coverage and fairness attributes.

Coverage features make "no record" visible: which sources hold the child before the index date and
how long since each last saw them, so a blank history is not read as low risk by the model or by the
people reading its lists. Fairness attributes are kept under ``fair_*`` names, apart from inputs.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from features.feature import Feature
from features.window import W12

SOURCES = ("school", "social_care", "health", "nccis")
# event domain -> (person source, column holding the end of a span, if the event has one)
RECORD_DOMAINS: dict[str, tuple[str, str | None]] = {
    "census": ("school", None),
    "referral": ("social_care", "closure_date"),
    "assessment": ("social_care", None),
    "cp_plan": ("social_care", "cpp_end"),
    "care": ("social_care", "end_date"),
    "early_help": ("social_care", "end_date"),
    "ae": ("health", None),
    "admission": ("health", None),
    "nccis": ("nccis", None),
}
AGE_BANDS = ((0, 0, "under 1"), (1, 4, "1-4"), (5, 9, "5-9"), (10, 15, "10-15"), (16, 17, "16-17"))


def build_record_spans(events: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """Every record any source holds: ``person_id, event_date (start), end_date, source``.

    Point events have ``end_date = event_date``; open spans (e.g. a CIN episode) have a null end.
    """
    frames = []
    for domain, (source, end_col) in RECORD_DOMAINS.items():
        ev = events[domain]
        end = ev[end_col] if end_col else ev["event_date"]
        frames.append(pd.DataFrame({"person_id": ev["person_id"], "event_date": ev["event_date"],
                                    "end_date": end, "source": source}))
    return pd.concat(frames, ignore_index=True)


def build_address_events(events: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """Dated neighbourhood deprivation: ``person_id, event_date, imd_decile`` (school census, NCCIS)."""
    parts = [events[d][["person_id", "event_date", "imd_decile"]] for d in ("census", "nccis")]
    out = pd.concat(parts, ignore_index=True).dropna(subset=["imd_decile"])
    return out.astype({"imd_decile": "float64"})


def _covered(source: str, name: str, words: str) -> tuple[Feature, ...]:
    last = "least(coalesce(e.end_date, c.index_date), c.index_date)"
    return (
        Feature(f"in_{source}_ever", f"{words} holds a record of the child before the index date", "derived",
                "ever", "binary", "model", "coverage", "record",
                f"CAST(bool_or(e.source = '{source}') AS INTEGER)", 0),
        Feature(f"months_since_{name}", f"Months since {words} last recorded the child (blank = never)", "derived",
                "latest", "numeric", "model", "coverage", "record",
                f"date_diff('month', max({last}) FILTER (WHERE e.source = '{source}'), c.index_date)"),
    )


COVERAGE_FEATURES = (
    *_covered("school", "school_record", "A school census"),
    *_covered("social_care", "social_care_record", "Children's social care (incl. early help)"),
    *_covered("health", "health_record", "Hospital (A&E or admitted care)"),
    *_covered("nccis", "nccis_record", "Post-16 tracking (NCCIS)"),
    Feature("in_school_12m", "On a school census roll in the last 12 months", "derived", "12m", "binary", "model",
            "coverage", "record", f"CAST(bool_or(e.source = 'school' AND {W12}) AS INTEGER)", 0),
    Feature("sources_ever", "Number of sources (school, social care, health, NCCIS) holding a record of the child",
            "derived", "ever", "numeric", "model", "coverage", "record", "count(DISTINCT e.source)", 0),
)

DEMOGRAPHIC_FEATURES = (
    Feature("age_months", "Age in months on the index date (from month of birth)", "derived", "now", "numeric",
            "model", "demographics"),
    Feature("imd_decile", "Deprivation decile of the latest known home neighbourhood (1 = most deprived)",
            "school census, NCCIS", "latest", "numeric", "model", "demographics", "address",
            "arg_max(e.imd_decile, e.event_date)"),
)

FAIRNESS_FEATURES = (
    Feature("fair_sex", "Sex (M, F, U)", "derived", "ever", "categorical", "fairness_only", "fairness"),
    Feature("fair_ethnicity_group", "Ethnicity group (White, Mixed, Asian, Black, Other, Unknown)", "derived", "ever",
            "categorical", "fairness_only", "fairness"),
    Feature("fair_sen", "SEN group for audits: none, support, ehcp (the model sees sen_status)", "school census",
            "latest", "categorical", "never", "fairness"),
    Feature("fair_fsm", "FSM eligible now, for audits (the model sees fsm_now)", "school census", "now", "binary",
            "never", "fairness"),
    Feature("fair_imd_quintile", "Deprivation quintile for audits (1 = most deprived; the model sees imd_decile)",
            "derived", "latest", "numeric", "never", "fairness"),
    Feature("fair_age_band", "Age band on the index date for audits", "derived", "now", "categorical", "never",
            "fairness"),
)

CONTEXT_FEATURES = (*COVERAGE_FEATURES, *DEMOGRAPHIC_FEATURES, *FAIRNESS_FEATURES)


def age_in_months(index_date: pd.Series, birth_year: pd.Series, birth_month: pd.Series) -> pd.Series:
    """Whole months from the first of the birth month to the index date (<NA> when birth is unknown)."""
    months = (index_date.dt.year - birth_year) * 12 + (index_date.dt.month - birth_month)
    return months.astype("Int64")


def age_band(age_years: pd.Series) -> pd.Series:
    """DfE-style age bands (under 1, 1-4, 5-9, 10-15, 16-17; other ages as their number)."""
    out = pd.Series(pd.NA, index=age_years.index, dtype="str")
    for low, high, label in AGE_BANDS:
        out = out.mask(age_years.between(low, high).fillna(False), label)
    return out


def add_context_features(frame: pd.DataFrame) -> pd.DataFrame:
    """Add age and the ``fair_*`` attributes.

    Args:
        frame: ``index_date, birth_year, birth_month, sex, ethnicity_group, sen_status, fsm_now, imd_decile``.

    Returns:
        ``frame`` with ``age_months`` and ``fair_sex, fair_ethnicity_group, fair_sen, fair_fsm,
        fair_imd_quintile, fair_age_band`` added.
    """
    out = frame.copy()
    out["age_months"] = age_in_months(out["index_date"], out["birth_year"], out["birth_month"])
    out["fair_sex"] = out["sex"].fillna("U").astype("str")
    out["fair_ethnicity_group"] = out["ethnicity_group"].fillna("Unknown").astype("str")
    out["fair_sen"] = out["sen_status"].fillna("none").astype("str")
    out["fair_fsm"] = out["fsm_now"].fillna(0).astype("bool")
    out["fair_imd_quintile"] = np.ceil(out["imd_decile"].astype("Float64") / 2).astype("Int8")
    out["fair_age_band"] = age_band(out["age_months"] // 12)
    return out
