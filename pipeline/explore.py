"""Loaders, tables and plots for the review notebooks (``notebooks/*.ipynb``).

Everything here reads what the pipeline has already written (``reports/``, ``outputs/``) through
``pipeline/io.py`` and reshapes it for reading; nothing is recomputed, so a notebook shows exactly
the figures that the model card, ``dvc metrics`` and MLflow show. No function returns a person
token or a record token: the linkage review sample loses its token columns and risk lists lose
``person_token`` on load.

Synthetic ground truth (``data/truth/``) does not exist in a council's own data. Every function
that depends on it returns ``None`` (or leaves the oracle row out) when it is absent, and the
notebooks say so.
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from pipeline.io import read_csv_table, read_json, read_lines
from pipeline.paths import project_paths
from pipeline.score import SOURCES

MODELS_IN_ORDER = ("lightgbm", "logistic", "rule", "oracle")
HEADLINE_METRICS = ("n", "prevalence", "auc", "auc_ci", "average_precision", "brier", "ece", "oe_ratio",
                    "calibration_slope", "calibration_intercept", "precision_at_capacity", "recall_at_capacity",
                    "lift_at_capacity", "lift_top_0_5pct")
# risk-list columns a notebook may show: no token, no per-person record dates
RISK_LIST_DISPLAY_COLUMNS = ("status", "rank", "risk_percent", "band", "reasons")


def find_project_root(start: Path | str | None = None) -> Path:
    """The nearest folder at or above ``start`` (default: the working directory) holding dvc.yaml and params.yaml.

    A notebook opened from ``notebooks/`` and one executed with the project root as its working
    directory both find the same project.

    Raises:
        FileNotFoundError: no such folder above ``start``.
    """
    here = Path(start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "dvc.yaml").is_file() and (folder / "params.yaml").is_file():
            return folder
    raise FileNotFoundError(f"no riskpipe project (dvc.yaml and params.yaml) at or above {here}")


def numeric_columns(df: pd.DataFrame) -> pd.DataFrame:
    """CSV text columns whose every non-missing value is a number become float; ``True``/``False`` become bool."""
    out = df.copy()
    for column in out.columns:
        values = out[column]
        if values.dropna().isin(["True", "False"]).all() and values.notna().any():
            out[column] = values.eq("True")
            continue
        converted = pd.to_numeric(values, errors="coerce")
        if converted.notna().sum() == values.notna().sum():
            out[column] = converted.astype("float64")
    return out


# ---------------------------------------------------------------- linkage


def load_linkage(root: Path) -> tuple[dict[str, Any], pd.DataFrame]:
    """``reports/linkage.json`` and the clerical-review sample without its token columns.

    Returns:
        (report dict, review frame with ``source_l``, ``source_r``, ``match_weight``,
        ``match_probability`` (floats) and one ``level_<comparison>`` label column per comparison).
    """
    reports = project_paths(root).reports
    review = read_csv_table(reports / "linkage_review.csv")
    keep = ["source_l", "source_r", "match_weight", "match_probability",
            *[c for c in review.columns if c.startswith("level_")]]
    review = review[keep].astype({"match_weight": "float64", "match_probability": "float64"})
    return read_json(reports / "linkage.json"), review


def source_table(report: dict[str, Any]) -> pd.DataFrame:
    """Records and people per source. Columns ``source, records, people, records_per_person``."""
    rows = [{"source": s, "records": v["records"], "people": v["people"]} for s, v in report["sources"].items()]
    out = pd.DataFrame(rows)
    return out.assign(records_per_person=out["records"] / out["people"])


def link_rate_table(report: dict[str, Any]) -> pd.DataFrame:
    """Link rates by group, long format.

    Returns:
        ``link`` (e.g. ``social_care_to_school``), ``attribute``, ``group``, ``rate``, ``records``,
        ``overall`` (the link's rate over all records) and ``gap`` (rate - overall).
    """
    rows = [{"link": link, "attribute": attribute, "group": group, "rate": v["rate"], "records": v["records"],
             "overall": entry["overall"]}
            for link, entry in report["link_rates"].items()
            for attribute, groups in entry["by_group"].items()
            for group, v in groups.items()]
    out = pd.DataFrame(rows)
    return out.assign(gap=out["rate"] - out["overall"])


def linkage_truth_table(report: dict[str, Any]) -> pd.DataFrame | None:
    """Pairwise precision and recall against synthetic truth by group, or None without truth.

    Returns:
        ``attribute``, ``group``, ``precision``, ``recall``, ``true_pairs``, ``missed_pairs``
        (true pairs the linkage did not join).
    """
    truth = report.get("truth")
    if not truth:
        return None
    rows = [{"attribute": attribute, "group": group, "precision": v["precision"], "recall": v["recall"],
             "true_pairs": v["true_pairs"]}
            for attribute, groups in truth["by_group"].items() for group, v in groups.items()]
    out = pd.DataFrame(rows).astype({"precision": "float64", "recall": "float64"})
    return out.assign(missed_pairs=(out["true_pairs"] * (1 - out["recall"])).round().astype("int64"))


def linkage_headline(report: dict[str, Any]) -> pd.DataFrame:
    """One row per linkage method with pairwise precision/recall/F1 (empty without truth)."""
    methods = {"riskpipe (deterministic + Splink)": report.get("truth"),
               "NHS number / UPN only": report.get("deterministic_only")}
    rows = [{"method": name, "precision": m["precision"], "recall": m["recall"], "f1": m["f1"]}
            for name, m in methods.items() if m]
    return pd.DataFrame(rows, columns=["method", "precision", "recall", "f1"])


def review_level_counts(review: pd.DataFrame) -> pd.DataFrame:
    """How often each comparison level occurs in the review sample.

    Args:
        review: :func:`load_linkage` review frame (``level_<comparison>`` columns).

    Returns:
        Rows = comparison, columns = level label, values = pairs (0 where a level never occurs).
    """
    levels = [c for c in review.columns if c.startswith("level_")]
    long = review[levels].melt(var_name="comparison", value_name="level")
    long["comparison"] = long["comparison"].str.removeprefix("level_")
    return pd.crosstab(long["comparison"], long["level"].fillna("null"))


# ---------------------------------------------------------------- model review


@dataclass(frozen=True)
class ModelReports:
    """Everything ``evaluate``, ``govern`` and ``features`` wrote for one model."""

    model: str
    metrics: dict[str, Any]
    group_metrics: pd.DataFrame
    calibration: pd.DataFrame
    features: dict[str, Any]
    governance: dict[str, Any]
    folder: Path


def model_names(root: Path) -> list[str]:
    """Models with a ``reports/<model>/metrics.json``, sorted."""
    reports = project_paths(root).reports
    return sorted(p.parent.name for p in reports.glob("*/metrics.json"))


def load_model_reports(root: Path, model: str) -> ModelReports:
    """Read ``reports/<model>/{metrics,features,governance}.json``, ``group_metrics.csv``, ``calibration.csv``."""
    folder = project_paths(root).model_reports(model)
    return ModelReports(
        model=model,
        metrics=read_json(folder / "metrics.json"),
        group_metrics=numeric_columns(read_csv_table(folder / "group_metrics.csv")),
        calibration=numeric_columns(read_csv_table(folder / "calibration.csv")),
        features=read_json(folder / "features.json"),
        governance=read_json(folder / "governance.json"),
        folder=folder,
    )


def has_ground_truth(metrics: dict[str, Any]) -> bool:
    """True when evaluation had synthetic true probabilities (the ``oracle`` baseline)."""
    return "oracle" in metrics.get("baselines", {})


def headline_table(metrics: dict[str, Any], split: str = "test",
                   columns: Iterable[str] = HEADLINE_METRICS) -> pd.DataFrame:
    """LightGBM and every baseline side by side on one split.

    Args:
        metrics: ``metrics.json``; ``split`` is ``test`` or ``validation``.

    Returns:
        Index = model (``lightgbm``, ``logistic``, ``rule``, ``oracle`` where present), one column per
        metric; ``auc_ci`` becomes ``auc_low`` and ``auc_high``. Undefined metrics are NaN.
    """
    baselines_key = "baselines" if split == "test" else f"{split}_baselines"
    blocks = {"lightgbm": metrics[split], **metrics.get(baselines_key, {})}
    rows = {}
    for name in [m for m in MODELS_IN_ORDER if m in blocks]:
        block, row = blocks[name], {}
        for column in columns:
            value = block.get(column)
            if column.endswith("_ci"):
                low, high = value if value else (None, None)
                row[f"{column[:-3]}_low"], row[f"{column[:-3]}_high"] = low, high
            else:
                row[column] = value
        rows[name] = row
    return pd.DataFrame.from_dict(rows, orient="index").astype("float64")


def compare_with_rule(headline: pd.DataFrame, metrics: Iterable[str] = (
        "auc", "average_precision", "precision_at_capacity", "recall_at_capacity", "brier", "ece")) -> pd.DataFrame:
    """LightGBM against the spec's rule score, metric by metric.

    Args:
        headline: :func:`headline_table` output (rows ``lightgbm`` and ``rule``).

    Returns:
        ``metric``, ``lightgbm``, ``rule``, ``lightgbm_minus_rule`` (for brier and ece lower is better).
    """
    rows = [{"metric": m, "lightgbm": headline.at["lightgbm", m], "rule": headline.at["rule", m]}
            for m in metrics if m in headline]
    out = pd.DataFrame(rows, columns=["metric", "lightgbm", "rule"])
    return out.assign(lightgbm_minus_rule=out["lightgbm"] - out["rule"])


def intervals_overlap(headline: pd.DataFrame, first: str, second: str, metric: str = "auc") -> bool | None:
    """Whether two models' bootstrap 95% CIs of ``metric`` overlap (None where either is undefined).

    Overlap is a cautious reading: the test year cannot tell the two apart.
    """
    low, high = f"{metric}_low", f"{metric}_high"
    bounds = headline.loc[[first, second], [low, high]]
    if bounds.isna().any().any():
        return None
    return bool(bounds.at[first, low] <= bounds.at[second, high] and bounds.at[second, low] <= bounds.at[first, high])


def published_groups(group_metrics: pd.DataFrame) -> pd.DataFrame:
    """Rows of ``group_metrics.csv`` that were not suppressed as small cells."""
    return group_metrics[~group_metrics["suppressed"].astype(bool)].reset_index(drop=True)


def fairness_gaps(metrics: dict[str, Any], model: str = "lightgbm") -> pd.DataFrame:
    """Largest between-group gaps per attribute (``metrics.json`` ``fairness``); rows = attribute."""
    return pd.DataFrame.from_dict(metrics.get("fairness", {}).get(model, {}), orient="index").astype("float64")


def governance_table(governance: dict[str, Any]) -> pd.DataFrame:
    """Checklist items: ``id``, ``kind`` (auto | human), ``status``, ``role``, ``evidence``."""
    items = pd.DataFrame(governance["items"])
    if "role" not in items:
        items["role"] = None
    return items[["id", "kind", "status", "role", "evidence"]]


def model_card_markdown(root: Path, model: str) -> str:
    """Text of ``reports/<model>/model_card.md`` ('' when it has not been rendered)."""
    return "\n".join(read_lines(project_paths(root).model_reports(model) / "model_card.md"))


def cohort_table(features_report: dict[str, Any]) -> pd.DataFrame:
    """Rows, labelled rows and prevalence per index year from ``features.json``."""
    rows = [{"index_year": int(year), "rows": v["rows"], "labelled": v["labelled"],
             "prevalence": v.get("outcome_prevalence")}
            for year, v in features_report["rows_by_index_year"].items()]
    return pd.DataFrame(rows).astype({"prevalence": "float64"}).set_index("index_year")


# ---------------------------------------------------------------- risk lists


def load_risk_list(root: Path, model: str) -> pd.DataFrame:
    """``outputs/risk_lists/<model>/risk_list.csv`` without ``person_token``.

    Returns:
        Every other list column; ``rank`` as int and ``risk_percent`` as float.
    """
    path = project_paths(root).outputs / "risk_lists" / model / "risk_list.csv"
    frame = read_csv_table(path).drop(columns=["person_token"])
    return frame.astype({"rank": "int64", "risk_percent": "float64"})


def split_factors(text: str) -> list[tuple[str, str]]:
    """``"description: value; description: value"`` -> [(description, value), ...].

    Descriptions can themselves hold ': ', so each part splits at its last one. The placeholders the
    list uses when nothing stands out (no ': ') give no factor.
    """
    parts = [p.strip() for p in str(text).split("; ") if p.strip()]
    return [(head, value) for head, sep, value in (p.rpartition(": ") for p in parts) if sep]


def factor_counts(risk_list: pd.DataFrame, column: str = "reasons") -> pd.DataFrame:
    """How many listed people have each factor among their ``column`` (``reasons`` or ``protective_factors``).

    Returns:
        ``factor``, ``people``, ``share`` (of the list), most frequent first.
    """
    factors = [{"row": i, "factor": head} for i, text in enumerate(risk_list[column]) for head, _ in
               split_factors(text)]
    columns = ["factor", "people", "share"]
    if not factors:
        return pd.DataFrame(columns=columns)
    counts = pd.DataFrame(factors).drop_duplicates().groupby("factor").size().rename("people").reset_index()
    counts["share"] = counts["people"] / max(len(risk_list), 1)
    return counts.sort_values(["people", "factor"], ascending=[False, True], ignore_index=True)[columns]


def source_coverage(risk_list: pd.DataFrame) -> pd.DataFrame:
    """Share of listed people each source has any record for before the index date.

    Returns:
        ``source``, ``with_record``, ``without_record``, ``share_with_record``.
    """
    rows = []
    for source in SOURCES:
        column = f"{source}_last_record"
        if column in risk_list:
            seen = int(risk_list[column].ne("no record").sum())
            rows.append({"source": source, "with_record": seen, "without_record": len(risk_list) - seen})
    out = pd.DataFrame(rows, columns=["source", "with_record", "without_record"])
    return out.assign(share_with_record=out["with_record"] / max(len(risk_list), 1))


def list_summary(risk_list: pd.DataFrame, metrics: dict[str, Any]) -> pd.Series:
    """What a list of this length means, in expected numbers.

    ``expected_outcomes`` is the sum of the listed calibrated risks: had the model been right about
    calibration, about that many listed people would go on to have the outcome. The test year's
    ``precision_at_capacity`` is the share that did on the last year with known outcomes.
    """
    test = metrics["test"]
    prevalence = test.get("prevalence")
    return pd.Series({
        "people listed": len(risk_list),
        "capacity (spec)": metrics["capacity"],
        "mean risk on list (%)": float(risk_list["risk_percent"].mean()) if len(risk_list) else np.nan,
        "expected outcomes among listed (sum of risks)": float(risk_list["risk_percent"].sum() / 100),
        "test-year base rate (%)": 100 * prevalence if prevalence is not None else np.nan,
        "test-year precision at capacity": test.get("precision_at_capacity"),
        "test-year recall at capacity": test.get("recall_at_capacity"),
    }, dtype="float64")


def band_table(risk_list: pd.DataFrame) -> pd.DataFrame:
    """People and risk range per band, highest band first: ``band``, ``people``, ``min_risk_percent``,
    ``max_risk_percent``."""
    grouped = risk_list.groupby("band")["risk_percent"].agg(people="size", min_risk_percent="min",
                                                            max_risk_percent="max")
    return grouped.sort_values("max_risk_percent", ascending=False).reset_index()


# ---------------------------------------------------------------- plots (matplotlib Axes)


def _axes(ax):
    import matplotlib.pyplot as plt

    return ax if ax is not None else plt.subplots(figsize=(6, 4))[1]


def plot_link_rates(table: pd.DataFrame, link: str, attribute: str, ax=None):
    """Bar per group of one link's rate for one attribute, the overall rate as a dashed line."""
    ax = _axes(ax)
    rows = table[(table["link"] == link) & (table["attribute"] == attribute)]
    ax.bar(rows["group"], rows["rate"], color="#1F4E79")
    if len(rows):
        ax.axhline(rows["overall"].iloc[0], ls="--", color="grey", label="all records")
        ax.legend(fontsize=7)
    ax.set(ylim=(0, 1.05), ylabel="share linked", title=f"{link.replace('_to_', ' → ')} by {attribute}")
    ax.tick_params(axis="x", labelrotation=30, labelsize=8)
    return ax


def plot_reliability(calibration: pd.DataFrame, ax=None, models: Iterable[str] | None = None):
    """Observed outcome rate against mean predicted probability per bin, one line per model.

    Args:
        calibration: ``calibration.csv`` (``model``, ``mean_predicted``, ``observed``).
    """
    ax = _axes(ax)
    wanted = list(models) if models is not None else list(dict.fromkeys(calibration["model"]))
    rows = calibration[calibration["model"].isin(wanted)]
    top = float(max(rows["mean_predicted"].max(), rows["observed"].max(), 1e-3)) if len(rows) else 1.0
    for name, part in rows.groupby("model", sort=False):
        ax.plot(part["mean_predicted"], part["observed"], marker="o", label=str(name))
    ax.plot([0, top], [0, top], ls=":", color="grey", label="perfect calibration")
    ax.set(xlabel="mean predicted probability", ylabel="observed rate", title="Reliability (test year)")
    ax.legend(fontsize=7)
    return ax


def plot_metric_by_model(headline: pd.DataFrame, metric: str, ax=None):
    """Bar per model of one metric, with its bootstrap 95% CI where ``<metric>_low/_high`` exist."""
    ax = _axes(ax)
    values = headline[metric]
    errors = None
    if f"{metric}_low" in headline and f"{metric}_high" in headline:
        low, high = headline[f"{metric}_low"], headline[f"{metric}_high"]
        errors = np.vstack([(values - low).clip(lower=0).fillna(0), (high - values).clip(lower=0).fillna(0)])
    ax.bar(headline.index, values.fillna(0), yerr=errors, capsize=4, color="#1F4E79")
    ax.set(ylabel=metric, title=f"{metric} by model (test year)")
    return ax


def plot_group_metric(group_metrics: pd.DataFrame, metric: str, attribute: str, ax=None):
    """Bar per published group of one metric for one attribute; says so when every group is suppressed."""
    ax = _axes(ax)
    rows = published_groups(group_metrics)
    rows = rows[rows["attribute"] == attribute]
    if rows.empty or rows[metric].isna().all():
        ax.text(0.5, 0.5, "every group suppressed\n(small cells)", ha="center", va="center")
        ax.set_axis_off()
    else:
        bars = ax.bar(rows["group"], rows[metric].fillna(0), color="#1F4E79")
        # a bar of height 0 is invisible: the label shows it is a real 0, not a missing group
        ax.bar_label(bars, fmt="%.2f", fontsize=7)
        ax.tick_params(axis="x", labelrotation=30, labelsize=8)
    ax.set_title(f"{metric} by {attribute}")
    return ax


def plot_risk_by_rank(risk_list: pd.DataFrame, base_rate_percent: float | None = None, ax=None):
    """Risk (%) against rank on the list, coloured by band, with the cohort base rate for scale."""
    ax = _axes(ax)
    for band, part in risk_list.groupby("band", sort=False):
        ax.scatter(part["rank"], part["risk_percent"], s=10, label=band)
    if base_rate_percent is not None:
        ax.axhline(base_rate_percent, ls="--", color="grey", label="base rate (test year)")
    ax.set(xlabel="rank on list", ylabel="risk (%)", title="Risk down the list")
    ax.legend(fontsize=7)
    return ax


def plot_factor_shares(counts: pd.DataFrame, title: str, top: int = 8, ax=None):
    """Horizontal bars of the ``top`` most common factors (:func:`factor_counts`), labels wrapped, not cut.

    Cutting labels would merge factors that differ only at the end ("..., last 12 months" / "last 3 years").
    """
    ax = _axes(ax)
    rows = counts.head(top).iloc[::-1]
    labels = [textwrap.fill(str(f), 48) for f in rows["factor"]]
    ax.barh(range(len(rows)), rows["share"], color="#1F4E79")
    ax.set_yticks(range(len(rows)), labels, fontsize=7)
    ax.set(xlabel="share of listed children", title=title, xlim=(0, 1))
    return ax
