"""Read what a model card is built from: the evaluation outputs, the gate's decision, spec, context and lineage.

Shared by the card stage (:mod:`ethics.card.stage`) and the card digest a release binds
(:mod:`ethics.card.evidence`).
"""

from __future__ import annotations

import logging

from ethics.card.model import CardInputs
from ethics.card.plots import card_figures
from ethics.inputs import read_context, read_numeric_csv, read_optional_json, read_thresholds, thresholds_file
from pipeline.core.config import GovernParams
from pipeline.core.io import file_sha256, read_json
from pipeline.core.paths import ProjectPaths

log = logging.getLogger(__name__)
# shown before any gate has run: a card never reads as approved by default
GOVERNANCE_NOT_RUN = {"status": "blocked", "items": [], "reasons": ["governance not run"]}


def read_model_spec(model: str) -> dict:
    """The model spec as JSON-ready data, or empty (with a warning) when it cannot be loaded."""
    from models.spec import ModelSpecError, load_model_spec

    try:
        return load_model_spec(model).model_dump(mode="json")
    except ModelSpecError as exc:
        log.warning("Model card without its spec: %s", exc)
        return {}


def input_hashes(paths: ProjectPaths, cfg: GovernParams, model: str) -> dict[str, str]:
    """First 16 hex of the SHA-256 of each input the card describes (those present)."""
    hashed = {"features": paths.features_table(model), "person index": paths.person_index,
              "scores": paths.model_artifacts(model) / "scores.parquet",
              "metrics": paths.model_reports(model) / "metrics.json", "thresholds": thresholds_file(paths, cfg)}
    return {name: file_sha256(path)[:16] for name, path in hashed.items() if path.exists()}


def read_card_inputs(paths: ProjectPaths, cfg: GovernParams, model: str, *, governance: dict | None = None,
                     draw_figures: bool = True) -> CardInputs:
    """Everything a card is built from (:class:`ethics.card.model.CardInputs`).

    Args:
        governance: the gate's decision to show; None reads governance.json (:data:`GOVERNANCE_NOT_RUN`
            when absent).
        draw_figures: False leaves the figures out (the card's evidence digest, :mod:`ethics.card.evidence`).
    """
    reports = paths.model_reports(model)
    min_group_size = read_thresholds(paths, cfg, model).min_group_size
    group_metrics = read_numeric_csv(reports / "group_metrics.csv")
    calibration = read_numeric_csv(reports / "calibration.csv") if (reports / "calibration.csv").exists() else None
    figures = []
    if draw_figures:
        plots = [(png.stem, png.read_bytes()) for png in sorted((reports / "plots").glob("*.png"))]
        figures = card_figures(calibration, group_metrics, min_group_size, plots)
    spec = read_model_spec(model)
    return CardInputs(
        model=model, spec=spec, context=read_context(paths, cfg, model), metrics=read_json(reports / "metrics.json"),
        group_metrics=group_metrics, run=read_json(paths.model_artifacts(model) / "run.json"),
        governance=governance or read_optional_json(reports / "governance.json") or GOVERNANCE_NOT_RUN,
        min_group_size=min_group_size, linkage=read_optional_json(paths.reports / "linkage.json"),
        monitor=read_optional_json(paths.reports / "monitor.json"),
        linkage_bias=read_optional_json(reports / "linkage_bias.json"),
        input_hashes=input_hashes(paths, cfg, model), figures=figures,
    )
