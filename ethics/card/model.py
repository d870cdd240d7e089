"""The model card as a typed tree (model-card toolkit / NHS England template sections).

:func:`build_model_card` is pure: every figure comes from the evaluation outputs (metrics.json,
group_metrics.csv, linkage.json, run.json, governance.json), every statement about inputs, sources,
proxies and phase from the release's feature list and the feature registry (``ethics.card.disclosure``),
every sentence about purpose and use from the per-model context YAML written by people. No machine path
is shown: the tracking URI becomes its backend kind. Small groups are suppressed here too.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import pandas as pd
from pydantic import BaseModel

from ethics.card.disclosure import (
    describe_audit_attributes,
    describe_inputs,
    describe_phase,
    describe_proxies,
    disclose_inputs,
)
from features.feature import Feature

METRIC_LABELS = {
    "auc": "AUROC", "average_precision": "Average precision", "brier": "Brier score", "ece": "ECE",
    "oe_ratio": "Observed/expected", "calibration_slope": "Calibration slope",
    "precision_at_capacity": "Precision at capacity", "recall_at_capacity": "Recall at capacity",
    "lift_at_capacity": "Lift at capacity", "prevalence": "Prevalence", "n": "n",
}
GROUP_COLUMNS = ("n", "prevalence", "selection_rate", "tpr", "fnr", "fpr", "ppv", "auc", "oe_ratio")
SUPPRESSED = "suppressed"


class Table(BaseModel):
    columns: list[str]
    rows: list[list[str]]


class Figure(BaseModel):
    title: str
    png_base64: str
    alt: str


class ChecklistRow(BaseModel):
    id: str
    kind: str
    status: str
    evidence: str
    role: str | None = None
    signed_by: str | None = None


class ModelCard(BaseModel):
    """Sections of the card, in reading order."""

    model: str
    title: str
    draft_notice: str
    governance_status: str
    phase: str
    details: dict[str, str]
    intended_uses: list[str]
    out_of_scope_uses: list[str]
    purpose: str
    data: dict[str, str]
    linkage: Table
    method: dict[str, str]
    proxy_inputs: Table
    sensitive_attributes: str
    evaluation: Table
    disaggregated: Table
    figures: list[Figure]
    ethical_considerations: list[str]
    caveats: list[str]
    checklist: list[ChecklistRow]
    reasons_blocked: list[str]


@dataclass(frozen=True)
class CardInputs:
    """Everything a card is built from; loaded by the CLI from the contract files."""

    model: str
    spec: dict[str, Any]
    context: dict[str, Any]
    metrics: dict[str, Any]
    group_metrics: pd.DataFrame
    run: dict[str, Any]
    governance: dict[str, Any]
    min_group_size: int
    linkage: dict[str, Any] | None = None
    input_hashes: dict[str, str] = field(default_factory=dict)
    figures: list[Figure] = field(default_factory=list)
    # None = the project's registry (features.registry.FEATURES); tests pass their own
    feature_registry: Mapping[str, Feature] | None = None


# a tracking URI's scheme -> what the card says instead of the URI (which may hold a machine path)
TRACKING_BACKENDS = {"sqlite": "MLflow, SQLite database in the project", "file": "MLflow, file store in the project",
                     "http": "MLflow tracking server", "https": "MLflow tracking server",
                     "databricks": "MLflow on Databricks", "postgresql": "MLflow, PostgreSQL database",
                     "mysql": "MLflow, MySQL database"}


def describe_tracking(uri: Any) -> str:
    """The kind of tracking backend, never its location (a URI may name a folder on someone's machine)."""
    if not uri or uri == "-":
        return "-"
    scheme = urlsplit(str(uri)).scheme.split("+")[0].lower()
    return TRACKING_BACKENDS.get(scheme, "MLflow" if not scheme else f"MLflow ({scheme})")


def describe_model_uri(uri: Any) -> str:
    """An MLflow model URI (``models:/…``, ``runs:/…``) as is; a filesystem location reduced to its scheme."""
    text = str(uri or "-")
    scheme = urlsplit(text).scheme.lower()
    if scheme in ("models", "runs", "m") or text == "-":
        return text
    return f"stored model ({scheme or 'file'})"


def format_value(value: Any, digits: int = 3) -> str:
    """A number for people: integers with separators, floats to ``digits`` places, CIs as ranges."""
    if isinstance(value, list | tuple) and len(value) == 2:
        return f"{format_value(value[0], digits)}-{format_value(value[1], digits)}"
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return "-"
    if isinstance(value, bool | str):
        return str(value)
    if float(value).is_integer() and abs(value) >= 10:
        return f"{int(value):,}"
    return f"{float(value):.{digits}f}"


def evaluation_table(metrics: dict[str, Any]) -> Table:
    """Test-year metrics of the model beside the logistic, rule-score and oracle baselines."""
    blocks = {"model (test year)": metrics.get("test") or {},
              "model (validation year)": metrics.get("validation") or {}}
    for name, block in (metrics.get("baselines") or {}).items():
        blocks[f"{name} baseline" if name != "oracle" else "oracle (true probabilities, synthetic only)"] = block
    keys = [k for k in METRIC_LABELS if any(k in b for b in blocks.values())]
    rows = []
    for name, block in blocks.items():
        if block:
            cells = [format_value(block.get(k)) + (f" ({format_value(block.get(k + '_ci'))})"
                                                   if block.get(k + "_ci") else "") for k in keys]
            rows.append([name, *cells])
    return Table(columns=["", *[METRIC_LABELS[k] for k in keys]], rows=rows)


def disaggregated_table(group_metrics: pd.DataFrame, min_group_size: int) -> Table:
    """Per-group results; groups under ``min_group_size`` (or flagged) show no figures at all.

    Args:
        group_metrics: ``attribute, group, n, suppressed`` and rate columns of group_metrics.csv.
    """
    columns = [c for c in GROUP_COLUMNS if c in group_metrics]
    rows = []
    for rec in group_metrics.to_dict("records"):
        n = pd.to_numeric(rec.get("n"), errors="coerce")
        hidden = str(rec.get("suppressed")).lower() in ("true", "1") or pd.isna(n) or n < min_group_size
        cells = [f"< {min_group_size}" if c == "n" else SUPPRESSED for c in columns] if hidden else [
            format_value(rec.get(c)) for c in columns]
        rows.append([str(rec.get("attribute")), str(rec.get("group")), *cells])
    return Table(columns=["attribute", "group", *columns], rows=rows)


def linkage_table(linkage: dict[str, Any] | None, min_group_size: int) -> Table:
    """Link rates by direction and group (groups under ``min_group_size`` records suppressed)."""
    rows = []
    for direction, block in ((linkage or {}).get("link_rates") or {}).items():
        rows.append([direction, "overall", format_value(block.get("overall")), format_value(block.get("records"))])
        for attribute, groups in (block.get("by_group") or {}).items():
            for group, g in groups.items():
                small = g.get("records", 0) < min_group_size
                rows.append([direction, f"{attribute}={group}", SUPPRESSED if small else format_value(g.get("rate")),
                             f"< {min_group_size}" if small else format_value(g.get("records"))])
    return Table(columns=["direction", "group", "link rate", "records"], rows=rows)


def _as_list(value: Any) -> list[str]:
    if value is None:
        return []
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


def build_model_card(inputs: CardInputs) -> ModelCard:
    """Assemble the card tree from evaluation outputs, governance result and the people-written context."""
    spec, ctx, gov, run = inputs.spec, inputs.context, inputs.governance, inputs.run
    truth = (inputs.linkage or {}).get("truth") or {}
    status = gov.get("status", "blocked")
    if inputs.feature_registry is None:
        from features.registry import FEATURES as registry
    else:
        registry = inputs.feature_registry
    disclosure = disclose_inputs(list(run.get("feature_columns") or []), registry)
    synthetic = bool(truth) or "oracle" in (inputs.metrics.get("baselines") or {})
    phase = describe_phase(status, synthetic)
    details = {
        "Model": f"riskpipe-{inputs.model}", "Registered version": str(run.get("model_version", "-")),
        "Phase": phase,
        "MLflow run": str(run.get("run_id", "-")), "Model URI": describe_model_uri(run.get("model_uri")),
        "Tracking": describe_tracking(run.get("tracking_uri")), "Owner": str(ctx.get("owner", "-")),
        "Contact": str(ctx.get("contact", "-")), "Thresholds SHA-256": str(run.get("thresholds_sha256", "-")),
        "Governance status": status,
        **{f"Input {name}": digest for name, digest in sorted(inputs.input_hashes.items())},
    }
    outcome = spec.get("outcome") or {}
    data = {
        "Sources": (f"{', '.join(disclosure.sources) or 'none'} (pseudonymised, linked by riskpipe; the sources "
                    "this release's inputs are read from, per the feature registry)"),
        "Cohort": describe_settings(spec.get("cohort")),
        "Label definition": describe_label(outcome),
        "What the label really measures": str(ctx.get("label_meaning") or outcome.get("label_note") or "-"),
        "Linkage quality": (f"pairwise precision {format_value(truth.get('precision'), 4)}, recall "
                            f"{format_value(truth.get('recall'), 4)} against synthetic ground truth")
        if truth else "no ground truth: see the clerical review sample",
        "Test index date": str(inputs.metrics.get("test_index_date", "-")),
        "Capacity (list length)": format_value(inputs.metrics.get("capacity")),
    }
    method = {
        "Learner": "LightGBM gradient boosting, calibrated on the validation year "
                   f"({', '.join((spec.get('calibration') or {}).get('methods', [])) or '-'})",
        "Baselines": "logistic regression; the council's additive rule score; oracle (synthetic only)",
        "Split": f"out of time: {describe_settings(spec.get('split'))}",
        "Inputs": describe_inputs(disclosure),
        "Proxies for protected characteristics": describe_proxies(disclosure),
        "Fairness attributes": describe_audit_attributes(disclosure),
        "Explanations": "LightGBM per-row contributions (TreeSHAP), mapped to plain English by the registry",
    }
    checklist = [ChecklistRow(**{k: i.get(k) for k in ChecklistRow.model_fields}) for i in gov.get("items", [])]
    return ModelCard(
        model=inputs.model, title=str(ctx.get("title") or spec.get("title") or inputs.model),
        draft_notice="" if status == "approved" else "NOT APPROVED: blocked at the governance gate",
        governance_status=status, phase=phase, details=details, purpose=str(ctx.get("purpose", "-")),
        intended_uses=_as_list(ctx.get("intended_uses")), out_of_scope_uses=_as_list(ctx.get("out_of_scope_uses")),
        data=data, linkage=linkage_table(inputs.linkage, inputs.min_group_size), method=method,
        proxy_inputs=Table(columns=["input", "what it records", "stands in for"],
                           rows=[[p.name, p.description, ", ".join(p.proxy_for)] for p in disclosure.proxies]),
        sensitive_attributes=f"{describe_proxies(disclosure)} {describe_audit_attributes(disclosure)}",
        evaluation=evaluation_table(inputs.metrics),
        disaggregated=disaggregated_table(inputs.group_metrics, inputs.min_group_size), figures=inputs.figures,
        ethical_considerations=_as_list(ctx.get("ethical_considerations")), caveats=_as_list(ctx.get("caveats")),
        checklist=checklist, reasons_blocked=list(gov.get("reasons", [])),
    )


def describe_settings(settings: Any) -> str:
    """A spec section for people: ``kind: year9_on_roll; nc_year: 9`` rather than a Python dict."""
    if not isinstance(settings, dict) or not settings:
        return str(settings or "-")
    return "; ".join(f"{key.replace('_', ' ')}: {value}" for key, value in settings.items() if value is not None)


def describe_label(outcome: dict) -> str:
    """What counts as the outcome and over which window, from the spec's ``outcome`` section."""
    kind = str(outcome.get("kind", "-"))
    definition = f" ({outcome['definition'].replace('_', ' ')})" if outcome.get("definition") else ""
    if outcome.get("horizon_months"):
        window = f"within {outcome['horizon_months']} months after the index date"
    elif outcome.get("from_academic_age") is not None and outcome.get("until_birthday") is not None:
        window = f"from academic age {outcome['from_academic_age']} until the {outcome['until_birthday']}th birthday"
    else:
        window = "window set by the spec"
    return f"{kind.replace('_', ' ')}{definition}, {window}"
