"""The model card as a typed tree (model-card toolkit / NHS England template sections).

:func:`build_model_card` is pure: every figure comes from the evaluation outputs (metrics.json,
group_metrics.csv, linkage.json, run.json, governance.json), every statement about inputs, sources,
proxies and phase from the release's feature list and the feature registry (``ethics.card.disclosure``),
every sentence about purpose and use from the per-model context YAML written by people. No machine path
is shown: the tracking URI becomes its backend kind. Small groups are suppressed by one rule
(``ethics.card.tables.suppressed_groups``) in every table and chart, and the card states that rule.

The first screen (``headline``, ``gate``) comes from ``ethics.card.headline``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import pandas as pd
from pydantic import BaseModel

from ethics.card.adult import adult_heading, adult_table, describe_adult
from ethics.card.backtest import backtest_fairness, backtest_table, describe_backtest
from ethics.card.care_home import competing_risks_table, describe_competing_risks
from ethics.card.disclosure import (
    describe_audit_attributes,
    describe_capacity_share,
    describe_exclusions,
    describe_inputs,
    describe_phase,
    describe_proxies,
    disclose_inputs,
)
from ethics.card.headline import GateSummary, Headline, headline_performance, plain_evidence, summarise_gate
from ethics.card.ld_register import describe_register, register_table
from ethics.card.left_out import describe_left_out
from ethics.card.recording import recording_section
from ethics.card.released import describe_explanations, describe_lightgbm, describe_released
from ethics.card.tables import (
    AttributeResults,
    Table,
    attribute_results,
    describe_suppression,
    disaggregated_table,
    evaluation_table,
    format_value,
    linkage_table,
)
from ethics.card.wording import (
    describe_label,
    describe_registration,
    describe_release,
    describe_settings,
    describe_split,
    outcome_phrase,
)
from ethics.monitor_checks import input_sources
from features.feature import Feature
from features.populations import get_population
from models.live_calibration import describe_live_calibration
from models.offer_split import describe_offer_split
from models.untreated import describe_untreated


class Figure(BaseModel):
    """One embedded chart; ``section`` says where it goes (calibration, fairness or performance)."""

    title: str
    png_base64: str
    alt: str
    section: str = "performance"
    attribute: str | None = None  # the fairness attribute a fairness chart is about


class ChecklistRow(BaseModel):
    id: str
    kind: str
    status: str
    evidence: str
    role: str | None = None
    signed_by: str | None = None
    question: str | None = None  # in the words of the model's population (governance.json, ethics.gate)


class ModelCard(BaseModel):
    """Sections of the card, in reading order."""

    model: str
    title: str
    people: str = "children"  # what the population's people are called (features.populations)
    draft_notice: str
    governance_status: str
    phase: str
    outcome: str
    headline: Headline
    gate: GateSummary
    suppression_rule: str
    release: dict[str, str]
    details: dict[str, str]
    intended_uses: list[str]
    out_of_scope_uses: list[str]
    purpose: str
    data: dict[str, str]
    linkage: Table
    recording_summary: str
    recording: Table
    method: dict[str, str]
    proxy_inputs: Table
    sensitive_attributes: str
    evaluation: Table
    backtest_summary: str = ""
    backtest: Table = Table(columns=[], rows=[])
    adult_summary: str = ""  # adults' models only (metrics.json "adult", ethics.card.adult)
    adult_heading: str = ""
    adult: Table = Table(columns=[], rows=[])
    competing_risks_summary: list[str] = []  # care_home_admission only (metrics.json "competing_risks")
    competing_risks: Table = Table(columns=[], rows=[])
    ld_register_summary: str = ""  # the older-carer register only (metrics.json "ld_register", ethics.card.ld_register)
    ld_register: Table = Table(columns=[], rows=[])
    disaggregated: Table
    fairness: list[AttributeResults]
    backtest_fairness: list[AttributeResults] = []  # where the backtest differs from the standard split
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
    monitor: dict[str, Any] | None = None
    linkage_bias: dict[str, Any] | None = None  # reports/<model>/linkage_bias.json (riskpipe linkage-bias)
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


def _as_list(value: Any) -> list[str]:
    if value is None:
        return []
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


def describe_as_of_linkage(block: dict[str, Any] | None) -> str:
    """One sentence from ``metrics.json`` ``test_as_of_linkage``: the test year's list as linked on its index
    date beside the all-records figure (``models.as_of_evaluation``)."""
    if not block:
        return "Not measured: the test year was judged on the person index built from every record"
    found, full = block.get("found_at_capacity"), block.get("found_at_capacity_full")
    if found is None or full is None:
        return f"Linked as the records stood on {block.get('index_date')}: too few labelled rows to say"
    gap = full - found
    effect = (f"evaluation with later records flatters it by about {gap:.0f}" if gap >= 0.5 else
              f"later records do not flatter it (about {-gap:.0f} fewer with all records)" if gap <= -0.5 else
              "later records make no difference to it")
    auc = (block.get("difference_from_full") or {}).get("auc")
    return (f"Linked as the records stood on {block.get('index_date')}, the test year's list would find about "
            f"{found:.0f} children ({full:.0f} with all records): {effect}"
            + (f" (AUROC {auc:+.3f} against all records)" if auc is not None else ""))


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
    people = get_population(str(spec.get("population", "children"))).plural  # "children", "adults", "people"
    synthetic = bool(truth) or "generator" in (inputs.metrics.get("baselines") or {})
    phase = describe_phase(status, synthetic)
    details = {
        "Model": f"riskpipe-{inputs.model}", "Registered version": str(run.get("model_version", "-")),
        "Phase": phase,
        "MLflow run": str(run.get("run_id", "-")), "Model URI": describe_model_uri(run.get("model_uri")),
        "Tracking": describe_tracking(run.get("tracking_uri")), "Owner": str(ctx.get("owner", "-")),
        "Contact": str(ctx.get("contact", "-")),
        "Thresholds file SHA-256 (at training)": str(run.get("thresholds_sha256", "-")),
        "Governance status": status,
        **{f"Input {name}": digest for name, digest in sorted(inputs.input_hashes.items())},
    }
    outcome = spec.get("outcome") or {}
    data = {
        "Sources": (f"{', '.join(disclosure.sources) or 'none'} (pseudonymised, linked by riskpipe; the sources "
                    "this release's inputs are read from, per the feature registry)"),
        "Cohort": describe_settings(spec.get("cohort")),
        "Label definition": describe_label(outcome),
        # the regime the risk refers to (issue 19): risk without help, which naive retraining would not learn
        "What the model predicts": str(spec.get("estimand") or "-"),
        "What the label really measures": str(ctx.get("label_meaning") or outcome.get("label_note") or "-"),
        "Linkage quality": (f"Pairwise precision {format_value(truth.get('precision'), 4)}, recall "
                            f"{format_value(truth.get('recall'), 4)} against synthetic ground truth")
        if truth else "No ground truth: see the clerical review sample",
        "Linkage as of the test index date": describe_as_of_linkage(inputs.metrics.get("test_as_of_linkage")),
        "Missed links carried to the score": (inputs.linkage_bias or {}).get(
            "headline", "Not measured: run `riskpipe linkage-bias`"),
        "Test index date": str(inputs.metrics.get("test_index_date", "-")),
        "Capacity (list length)": format_value(inputs.metrics.get("capacity")),
        "List's share of the cohort": describe_capacity_share(inputs.metrics.get("capacity_share")
                                                              or run.get("capacity"), people),
        "Who is not scored": " ".join(describe_exclusions(spec)) or "-",
    }
    method = {
        # a spec may release another learner (models.few_events): the card says which and why
        "Learner": describe_released(run) or describe_lightgbm(run, spec),
        "Calibration of the list's risks": describe_live_calibration(run.get("live_calibration")),
        "Baselines": "logistic regression; the council's additive rule score; generator probability (synthetic only)",
        "Split": describe_split(spec.get("split")),
        "Inputs": describe_inputs(disclosure),
        # inputs whose source starts after some fitted years (run.json inputs_left_out, models.input_coverage)
        "Inputs left out of the learners": describe_left_out(run.get("inputs_left_out")),
        "Proxies for protected characteristics": describe_proxies(disclosure),
        "Fairness attributes": describe_audit_attributes(disclosure),
        "Explanations": describe_explanations(run)
        or "LightGBM per-row contributions (TreeSHAP), mapped to plain English by the registry",
        "Offers of help in training": describe_untreated(run.get("untreated")),
        # a very large county's learners fit a sample of whole people (models.training_sample)
        "Rows the learners were fitted on": str((run.get("training_sample") or {}).get("description") or "-"),
        "Performance by offer": describe_offer_split(inputs.metrics.get("offer_split"), people),
    }
    recording_summary, recording = recording_section(
        inputs.monitor, input_sources(list(run.get("feature_columns") or []), registry), ctx)
    checklist = [ChecklistRow(**{k: i.get(k) for k in ChecklistRow.model_fields} | {
        "evidence": plain_evidence(i.get("evidence", ""))}) for i in gov.get("items", [])]
    return ModelCard(
        model=inputs.model, title=str(ctx.get("title") or spec.get("title") or inputs.model),
        draft_notice="" if status == "approved" else "NOT APPROVED: blocked at the governance gate",
        governance_status=status, phase=phase, outcome=describe_label(outcome),
        people=people,
        headline=headline_performance(inputs.metrics, outcome_phrase(outcome), people), gate=summarise_gate(gov),
        suppression_rule=describe_suppression(inputs.min_group_size, people),
        release={**describe_release(gov.get("release")), **describe_registration(gov.get("registration"))},
        details=details, purpose=str(ctx.get("purpose", "-")),
        intended_uses=_as_list(ctx.get("intended_uses")), out_of_scope_uses=_as_list(ctx.get("out_of_scope_uses")),
        data=data, linkage=linkage_table(inputs.linkage, inputs.min_group_size), method=method,
        recording_summary=recording_summary, recording=recording,
        proxy_inputs=Table(columns=["input", "what it records", "stands in for"],
                           rows=[[p.name, p.description, ", ".join(p.proxy_for)] for p in disclosure.proxies]),
        sensitive_attributes=f"{describe_proxies(disclosure)} {describe_audit_attributes(disclosure)}",
        evaluation=evaluation_table(inputs.metrics),
        backtest_summary=describe_backtest(inputs.metrics.get("backtest")),
        backtest=backtest_table(inputs.metrics.get("backtest")),
        adult_summary=describe_adult(inputs.metrics.get("adult"), str(inputs.spec.get("title", "the outcome"))),
        adult=adult_table(inputs.metrics.get("adult"), str(outcome.get("kind", ""))),
        adult_heading=adult_heading(str(outcome.get("kind", ""))),
        competing_risks_summary=describe_competing_risks(inputs.metrics.get("competing_risks")),
        competing_risks=competing_risks_table(inputs.metrics.get("competing_risks")),
        ld_register_summary=describe_register(inputs.metrics.get("ld_register")),
        ld_register=register_table(inputs.metrics.get("ld_register")),
        disaggregated=disaggregated_table(inputs.group_metrics, inputs.min_group_size, people),
        fairness=attribute_results(inputs.group_metrics, inputs.min_group_size, people), figures=inputs.figures,
        backtest_fairness=backtest_fairness(inputs.metrics.get("backtest"), inputs.min_group_size),
        ethical_considerations=_as_list(ctx.get("ethical_considerations")), caveats=_as_list(ctx.get("caveats")),
        checklist=checklist, reasons_blocked=list(gov.get("reasons", [])),
    )
