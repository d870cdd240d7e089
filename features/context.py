"""Demographics, coverage and fairness attributes.

Coverage features make "no record" visible: which sources hold the child before the index date and
how long since each last saw them, so a blank history is not read as low risk by the model or by the
people reading its lists. They are generated for every source holding people in the source registry
(``pipeline.sources.registry``), over the record spans of the event domains their builders mark as
records. Fairness attributes are kept under ``fair_*`` names, apart from inputs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from features.events import address_domains, record_domains
from features.feature import Feature
from features.window import W12
from pipeline.sources.registry import Source, person_sources


def build_record_spans(events: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """Every record any source holds: ``person_id, event_date (start), end_date, source, domain``.

    The records are the event domains whose builders say so (``features.events.record_domains``).
    Point events have ``end_date = event_date``; open spans (e.g. a CIN episode) have a null end.
    ``domain`` lets an outcome's exclusion and censoring rules leave out the outcome's own records.
    """
    frames = []
    for domain, (source, end_col) in record_domains().items():
        ev = events[domain]
        end = ev[end_col] if end_col else ev["event_date"]
        frames.append(pd.DataFrame({"person_id": ev["person_id"], "event_date": ev["event_date"],
                                    "end_date": end, "source": source, "domain": domain}))
    out = pd.concat(frames, ignore_index=True)
    return out.astype({"domain": "category"})


def build_address_events(events: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """Dated neighbourhood deprivation: ``person_id, event_date, imd_decile`` from the event domains that
    date addresses (``features.events.address_domains``: school census, NCCIS)."""
    parts = [events[d][["person_id", "event_date", "imd_decile"]] for d in address_domains()]
    out = pd.concat(parts, ignore_index=True).dropna(subset=["imd_decile"])
    return out.astype({"imd_decile": "float64"})


def _covered(source: Source) -> tuple[Feature, ...]:
    """``in_<source>_ever`` and ``months_since_<source>_record`` over the ``record`` spans of one source."""
    name = source.name
    words = source.record_holder or source.display_name[:1].upper() + source.display_name[1:]
    last = "least(coalesce(e.end_date, c.index_date), c.index_date)"
    return (
        Feature(f"in_{name}_ever", f"{words} holds a record of the child before the index date", "derived",
                "ever", "binary", "model", "coverage", "record",
                f"CAST(bool_or(e.source = '{name}') AS INTEGER)", 0),
        Feature(f"months_since_{name}_record", f"Months since {words} last recorded the child (blank = never)",
                "derived", "latest", "numeric", "model", "coverage", "record",
                f"date_diff('month', max({last}) FILTER (WHERE e.source = '{name}'), c.index_date)"),
    )


def coverage_features() -> tuple[Feature, ...]:
    """Coverage features: two per source holding people (registry order; not for a source declared without
    them, ``Source.coverage_features``, nor for one no event builder marks as records of the person, whose
    inputs would be 0 for everyone), then school in the last year and the number of sources."""
    recorded = {source for source, _ in record_domains().values()}
    sources = [s for s in person_sources() if s.coverage_features and s.name in recorded]
    listed = ", ".join(s.display_name for s in sources)
    return (
        *(f for source in sources for f in _covered(source)),
        Feature("in_school_12m", "On a school census roll in the last 12 months", "derived", "12m", "binary",
                "model", "coverage", "record", f"CAST(bool_or(e.source = 'school' AND {W12}) AS INTEGER)", 0),
        Feature("sources_ever", f"Number of sources ({listed}) holding a record of the child", "derived", "ever",
                "numeric", "model", "coverage", "record", "count(DISTINCT e.source)", 0),
    )


DEMOGRAPHIC_FEATURES = (
    Feature("age_months", "Age in months on the index date (from month of birth)", "derived", "now", "numeric",
            "model", "demographics", proxy_for=("age",)),
    Feature("imd_decile", "Deprivation decile of the latest known home neighbourhood (1 = most deprived)",
            "school census, NCCIS", "latest", "numeric", "model", "demographics", "address",
            "arg_max(e.imd_decile, e.event_date)", proxy_for=("poverty",)),
)

FAIRNESS_FEATURES = (
    Feature("fair_sex", "Sex (M, F, U)", "derived", "ever", "categorical", "fairness_only", "fairness",
            proxy_for=("sex",)),
    Feature("fair_ethnicity_group", "Ethnicity group (White, Mixed, Asian, Black, Other, Unknown)", "derived", "ever",
            "categorical", "fairness_only", "fairness", proxy_for=("ethnicity",)),
    Feature("fair_sen", "SEN group for audits: none, support, ehcp (the model sees sen_status)", "school census",
            "latest", "categorical", "never", "fairness", proxy_for=("disability",)),
    Feature("fair_fsm", "FSM eligible now, for audits (the model sees fsm_now)", "school census", "now", "binary",
            "never", "fairness", proxy_for=("poverty",)),
    Feature("fair_imd_quintile", "Deprivation quintile for audits (1 = most deprived; the model sees imd_decile)",
            "derived", "latest", "numeric", "never", "fairness", proxy_for=("poverty",)),
    Feature("fair_age_band", "Age band on the index date for audits", "derived", "now", "categorical", "never",
            "fairness", proxy_for=("age",)),
)


def context_features() -> tuple[Feature, ...]:
    """Every feature of this module, coverage built from the source registry as it stands now."""
    return (*coverage_features(), *DEMOGRAPHIC_FEATURES, *FAIRNESS_FEATURES)


def age_in_months(index_date: pd.Series, birth_year: pd.Series, birth_month: pd.Series) -> pd.Series:
    """Whole months from the first of the birth month to the index date (<NA> when birth is unknown)."""
    months = (index_date.dt.year - birth_year) * 12 + (index_date.dt.month - birth_month)
    return months.astype("Int64")


def age_band(age_years: pd.Series, bands: Sequence[tuple[int, int, str]]) -> pd.Series:
    """The label of the band (``lowest age, highest age, label``) each age falls in; blank outside every band."""
    out = pd.Series(pd.NA, index=age_years.index, dtype="str")
    for low, high, label in bands:
        out = out.mask(age_years.between(low, high).fillna(False), label)
    return out


def add_context_features(frame: pd.DataFrame, age_bands: Sequence[tuple[int, int, str]]) -> pd.DataFrame:
    """Add age and the ``fair_*`` attributes.

    Args:
        frame: ``index_date, birth_year, birth_month, sex, ethnicity_group, imd_decile`` and, where the
            population has them, ``sen_status, fsm_now`` (else the SEN and FSM attributes are blank) and
            ``gp_imd_decile`` (deprivation where ``imd_decile`` is blank).
        age_bands: the model's population's bands for ``fair_age_band`` (``features.populations``).

    Returns:
        ``frame`` with ``age_months`` and ``fair_sex, fair_ethnicity_group, fair_sen, fair_fsm,
        fair_imd_quintile, fair_age_band`` added.
    """
    # a shallow copy: the columns added below are new arrays (copy-on-write keeps ``frame`` as it was), and a
    # deep copy of a cohort-sized frame was the stage's peak (issue #17)
    out = frame.copy(deep=False)
    out["age_months"] = age_in_months(out["index_date"], out["birth_year"], out["birth_month"])
    out["fair_sex"] = out["sex"].fillna("U").astype("str")
    out["fair_ethnicity_group"] = out["ethnicity_group"].fillna("Unknown").astype("str")
    # an adults' frame has no school features (blank SEN and FSM) and takes deprivation from the GP record
    blank = pd.Series(pd.NA, index=out.index)
    out["fair_sen"] = out["sen_status"].fillna("none").astype("str") if "sen_status" in out else blank.astype("str")
    out["fair_fsm"] = out["fsm_now"].fillna(0).astype("bool") if "fsm_now" in out else blank.astype("boolean")
    imd = out["imd_decile"].astype("Float64")
    if "gp_imd_decile" in out:
        imd = imd.fillna(out["gp_imd_decile"].astype("Float64"))
    out["fair_imd_quintile"] = np.ceil(imd / 2).astype("Int8")
    out["fair_age_band"] = age_band(out["age_months"] // 12, age_bands)
    return out
