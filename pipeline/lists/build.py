"""``riskpipe score``: risk lists for early help teams, only from an approved model (or as a DRAFT).

A list is the top of the latest cohort by calibrated risk, as long as early help capacity
allows. Each row carries a pseudonymous token (the person index ``person_id``; only the data
controller can map it back, with ``riskpipe reidentify``), rank, risk (%), a band relative to
the base rate, up to five reasons and three protective factors in plain English from LightGBM's
own per-row contributions, and which sources hold the child with their last record date: a
child with no health record is not a child at low health risk, the model simply saw nothing.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

DRAFT_BANNER = "DRAFT — NOT APPROVED FOR OPERATIONAL USE"
SOURCES = ("school", "social_care", "health", "nccis")
SOURCE_LABELS = {"school": "school", "social_care": "social care", "health": "health", "nccis": "NCCIS"}
# (pseudonymised table, person key token, event date): where each source's last record date comes from
SOURCE_EVENT_DATES = {
    "school": [("school_pupil", "upn_tok", "census_date")],
    "social_care": [("cin_episode", "la_child_id_tok", "referral_date"), ("cla_episode", "la_child_id_tok",
                    "start_date"), ("early_help", "la_child_id_tok", "start_date")],
    "health": [("hes_admission", "hes_id_tok", "admission_date"), ("ae_attendance", "hes_id_tok", "arrival_date")],
    "nccis": [("nccis_activity", "ccis_id_tok", "date_ascertained")],
}
LIST_CAVEATS = (
    "Every entry must be reviewed by a practitioner before any contact; the score never decides anything.",
    "Risk is a calibrated probability for the cohort as a whole; most people on this list will not have the outcome.",
    "Reasons show what pushed this score up in the model; they are associations, not causes.",
    "'No record' for a source means the model saw nothing there: it is not evidence of low risk.",
    "Tokens are pseudonymous; only the data controller can re-identify them (riskpipe reidentify).",
    "Do not share this list beyond the early help team; do not tell families they are 'on a list'.",
)


class NotApprovedError(RuntimeError):
    """No approved model version and draft mode is off: no list may be produced."""


@dataclass(frozen=True)
class Release:
    """Which version a list comes from and on whose authority."""

    draft: bool
    version: str
    approval: str


def decide_release(approved: Mapping[str, str] | None, candidate_version: str, draft_mode: bool) -> Release:
    """Use the ``approved`` alias's version; without one, a DRAFT from the candidate, if draft mode is on.

    Args:
        approved: ``{"version", "approval_ref"}`` of the version holding the ``approved`` alias, or None.

    Raises:
        NotApprovedError: nothing approved and draft mode off.
    """
    if approved:
        return Release(draft=False, version=str(approved["version"]), approval=str(approved["approval_ref"]))
    if not draft_mode:
        raise NotApprovedError("no model version holds the `approved` alias; run `riskpipe govern` after every "
                               "sign-off, or turn on score.draft_mode for a DRAFT list")
    return Release(draft=True, version=str(candidate_version), approval=DRAFT_BANNER)


def select_top_by_capacity(scored: pd.DataFrame, capacity: int) -> pd.DataFrame:
    """The ``capacity`` highest risks, ranked 1..k (ties broken by token so reruns agree).

    Args:
        scored: ``person_id``, ``risk`` (calibrated probability) plus any other columns.

    Returns:
        The selected rows with ``rank`` (int), highest risk first.
    """
    ordered = scored.sort_values(["risk", "person_id"], ascending=[False, True], kind="stable")
    return ordered.head(capacity).assign(rank=np.arange(1, min(capacity, len(ordered)) + 1)).reset_index(drop=True)


def band_risk(risk: pd.Series, base_rate: float, multiples: Mapping[str, float]) -> pd.Series:
    """Band each risk by how many times the cohort base rate it is (``multiples``: band -> minimum multiple)."""
    ratio = risk / base_rate if base_rate > 0 else pd.Series(np.inf, index=risk.index)
    band = pd.Series("below the listed bands", index=risk.index, dtype="str")
    for name, minimum in sorted(multiples.items(), key=lambda kv: kv[1]):
        band = band.mask(ratio >= minimum, f"{name} ({minimum:g}x base rate or more)")
    return band


def describe_value(value: Any, kind: str, name: str = "") -> str:
    """A feature value for people: yes/no for binary features, shares as percentages, short numbers, text as is.

    ``name`` lets shares (``*_rate_*`` features, stored as 0-1) read as "14%" rather than "0.142".
    """
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return "not recorded"
    if kind == "binary":
        return "yes" if bool(value) else "no"
    if isinstance(value, int | np.integer | float | np.floating):
        if "_rate_" in name:
            return f"{float(value):.0%}"
        return f"{value:.3g}"
    return str(value)


def feature_label(description: str, kind: str) -> str:
    """The description without the list of categories a categorical one spells out after a colon."""
    return description.split(": ", 1)[0] if kind == "categorical" else description


def explain_rows(
    contributions: pd.DataFrame, values: pd.DataFrame, registry: Mapping[str, Mapping[str, str]],
    max_reasons: int = 5, max_protective: int = 3,
) -> pd.DataFrame:
    """Plain-English reasons (largest positive contributions) and protective factors (largest negative).

    Args:
        contributions: one row per person, one column per feature, LightGBM ``pred_contrib`` values in
            log-odds (bias column removed); same index as ``values``.
        values: the feature values the model saw.
        registry: feature name -> ``{"description", "kind"}`` from the feature registry.

    Returns:
        Same index: ``reasons`` and ``protective_factors`` ("; "-joined ``description: value``).
    """
    names = np.asarray(contributions.columns)
    matrix = contributions.to_numpy(dtype=float)
    order = np.argsort(-matrix, axis=1, kind="stable")
    reasons, protective = [], []
    for i, row_order in enumerate(order):
        def phrase(j: int, _i: int = i) -> str:
            entry = registry.get(names[j], {})
            kind = entry.get("kind", "numeric")
            text = feature_label(entry.get("description") or names[j].replace("_", " "), kind)
            return f"{text}: {describe_value(values.iloc[_i][names[j]], kind, str(names[j]))}"

        up = [j for j in row_order if matrix[i, j] > 0][:max_reasons]
        down = [j for j in row_order[::-1] if matrix[i, j] < 0][:max_protective]
        reasons.append("; ".join(phrase(j) for j in up) or "no single factor stands out")
        protective.append("; ".join(phrase(j) for j in down) or "none found")
    return pd.DataFrame({"reasons": reasons, "protective_factors": protective}, index=contributions.index)


def last_record_dates(events: pd.DataFrame, person_index: pd.DataFrame, index_date: pd.Timestamp) -> pd.DataFrame:
    """Latest record date strictly before ``index_date`` per person and source.

    Args:
        events: ``table`` (person source), ``record_key_tok``, ``event_date``.
        person_index: ``table``, ``record_key_tok``, ``person_id``.

    Returns:
        One row per ``person_id``: ``<source>_last_record`` (datetime64 or NaT) for each source.
    """
    seen = events[events["event_date"] < index_date].merge(person_index[["table", "record_key_tok", "person_id"]],
                                                           on=["table", "record_key_tok"], how="inner")
    latest = seen.groupby(["person_id", "table"])["event_date"].max().unstack("table")
    latest = latest.reindex(columns=list(SOURCES))
    latest.columns = [f"{s}_last_record" for s in SOURCES]
    return latest.astype("datetime64[us]").reset_index()


def describe_sources(coverage: pd.DataFrame) -> pd.Series:
    """'school (last 2025-01-16); no health record; ...' per row of :func:`last_record_dates` output."""
    parts = []
    for source in SOURCES:
        dates = coverage[f"{source}_last_record"]
        label = SOURCE_LABELS[source]
        parts.append(dates.dt.strftime(f"{label} (last %Y-%m-%d)").fillna(f"no {label} record"))
    return pd.concat(parts, axis=1).agg("; ".join, axis=1)


def build_risk_list(
    top: pd.DataFrame, explanations: pd.DataFrame, coverage: pd.DataFrame, release: Release, model: str,
) -> pd.DataFrame:
    """Assemble the list people read.

    Args:
        top: :func:`select_top_by_capacity` output with ``person_id``, ``rank``, ``risk``, ``band``.
        explanations: ``reasons``, ``protective_factors`` aligned with ``top``.
        coverage: :func:`last_record_dates` output.

    Returns:
        ``status, rank, person_token, risk_percent, band, reasons, protective_factors, sources_seen,
        <source>_last_record (text), model, model_version, approval``.
    """
    out = top[["rank", "person_id", "risk", "band"]].join(explanations[["reasons", "protective_factors"]])
    out = out.merge(coverage, on="person_id", how="left")
    out["sources_seen"] = describe_sources(out)
    for source in SOURCES:
        out[f"{source}_last_record"] = out[f"{source}_last_record"].dt.strftime("%Y-%m-%d").fillna("no record")
    out = out.rename(columns={"person_id": "person_token"}).assign(
        risk_percent=(out["risk"] * 100).round(1), model=model, model_version=release.version,
        approval=release.approval, status="DRAFT" if release.draft else "APPROVED")
    columns = ["status", "rank", "person_token", "risk_percent", "band", "reasons", "protective_factors",
               "sources_seen", *[f"{s}_last_record" for s in SOURCES], "model", "model_version", "approval"]
    return out[columns].sort_values("rank").reset_index(drop=True)


def caveats_table(release: Release, extra: Mapping[str, str]) -> pd.DataFrame:
    """The caveats sheet: DRAFT notice first when draft, the standing caveats, then lineage lines."""
    lines = ([DRAFT_BANNER] if release.draft else []) + list(LIST_CAVEATS)
    lines += [f"{k}: {v}" for k, v in extra.items()]
    return pd.DataFrame({"caveat": lines})


def list_sha256(csv_bytes: bytes) -> str:
    """Hash recorded in the audit log: SHA-256 of the list's CSV file."""
    return hashlib.sha256(csv_bytes).hexdigest()


def render_risk_list_html(risk_list: pd.DataFrame, caveats: pd.DataFrame, release: Release, title: str) -> str:
    """Self-contained sortable, printable HTML page of the list (inline CSS and JS, no network)."""
    from ethics.card.render import render_template

    return render_template("risk_list.html.j2", title=title, draft=release.draft, banner=DRAFT_BANNER,
                           columns=list(risk_list.columns), rows=risk_list.astype("str").values.tolist(),
                           caveats=caveats["caveat"].tolist())


def collect_source_events(tables: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """Stack every record date per source person key from the pseudonymised tables present.

    Args:
        tables: pseudonymised table name -> frame holding the key and date columns of SOURCE_EVENT_DATES.

    Returns:
        ``table`` (person source), ``record_key_tok``, ``event_date`` (datetime64).
    """
    parts = []
    for source, specs in SOURCE_EVENT_DATES.items():
        for table, key, date in specs:
            if table in tables:
                df = tables[table][[key, date]].dropna()
                parts.append(pd.DataFrame({"table": source, "record_key_tok": df[key].astype("str"),
                                           "event_date": pd.to_datetime(df[date])}))
    if not parts:
        return pd.DataFrame({"table": pd.Series(dtype="str"), "record_key_tok": pd.Series(dtype="str"),
                             "event_date": pd.Series(dtype="datetime64[us]")})
    return pd.concat(parts, ignore_index=True)


def find_lightgbm(model: Any) -> tuple[Any, Any]:
    """``(preprocess, lgbm)`` inside a calibrated pipeline: walks CalibratedClassifierCV, FrozenEstimator, Pipeline.

    ``preprocess`` is the pipeline before the LightGBM step (or None); raises TypeError if none is found.
    """
    from lightgbm import LGBMClassifier
    from sklearn.pipeline import Pipeline

    obj = model
    for _ in range(8):
        if isinstance(obj, LGBMClassifier):
            return None, obj
        if isinstance(obj, Pipeline) and isinstance(obj.steps[-1][1], LGBMClassifier):
            return (obj[:-1] if len(obj.steps) > 1 else None), obj.steps[-1][1]
        if isinstance(obj, Pipeline):
            obj = obj.steps[-1][1]
        elif getattr(obj, "calibrated_classifiers_", None):
            obj = obj.calibrated_classifiers_[0].estimator
        elif hasattr(obj, "estimator"):
            obj = obj.estimator
        else:
            break
    raise TypeError(f"no LightGBM classifier found inside {type(model).__name__}")


def score_with_contributions(model: Any, features: pd.DataFrame) -> tuple[pd.Series, pd.DataFrame]:
    """Calibrated risk from ``model.predict_proba`` and LightGBM per-row contributions (log-odds, no bias).

    Args:
        model: the registered sklearn model (calibrated pipeline ending in an LGBMClassifier).
        features: the model's feature columns only, in training order.
    """
    risk = pd.Series(model.predict_proba(features)[:, 1], index=features.index, name="risk")
    preprocess, lgbm = find_lightgbm(model)
    prepared = preprocess.transform(features) if preprocess is not None else features
    contrib = np.asarray(lgbm.predict(prepared, pred_contrib=True))
    names = list(getattr(prepared, "columns", features.columns))
    return risk, pd.DataFrame(contrib[:, :-1], index=features.index, columns=names)
