"""The IO of the card stage: ``riskpipe card`` writes the model card (HTML + Markdown) and the ATRS record.

Reads metrics.json, group_metrics.csv, calibration.csv, plots/*.png, governance.json, run.json,
linkage.json, the model spec and the model's context YAML; writes ``reports/<model>/model_card.html``,
``model_card.md`` and ``atrs.json`` and logs them to the version's MLflow run (an MLflow failure
is an error, :class:`pipeline.core.tracking.TrackingError`).
"""

from __future__ import annotations

import logging
from pathlib import Path

from ethics.card.atrs import build_atrs_record
from ethics.card.model import CardInputs, build_model_card
from ethics.card.plots import card_figures
from ethics.card.render import render_model_card_html, render_model_card_markdown
from ethics.inputs import read_context, read_numeric_csv, read_optional_json, read_thresholds, thresholds_file
from pipeline.core.config import GovernParams
from pipeline.core.io import file_sha256, read_json, write_json, write_text
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


def read_card_inputs(paths: ProjectPaths, cfg: GovernParams, model: str) -> CardInputs:
    """Everything a card is built from (:class:`ethics.card.model.CardInputs`), figures drawn."""
    reports = paths.model_reports(model)
    min_group_size = read_thresholds(paths, cfg, model).min_group_size
    group_metrics = read_numeric_csv(reports / "group_metrics.csv")
    calibration = read_numeric_csv(reports / "calibration.csv") if (reports / "calibration.csv").exists() else None
    plots = [(png.stem, png.read_bytes()) for png in sorted((reports / "plots").glob("*.png"))]
    figures = card_figures(calibration, group_metrics, min_group_size, plots)
    spec = read_model_spec(model)
    return CardInputs(
        model=model, spec=spec, context=read_context(paths, cfg, model), metrics=read_json(reports / "metrics.json"),
        group_metrics=group_metrics, run=read_json(paths.model_artifacts(model) / "run.json"),
        governance=read_optional_json(reports / "governance.json") or GOVERNANCE_NOT_RUN,
        min_group_size=min_group_size, linkage=read_optional_json(paths.reports / "linkage.json"),
        input_hashes=input_hashes(paths, cfg, model), figures=figures,
    )


def run_card(cfg: GovernParams, paths: ProjectPaths, model: str) -> list[Path]:
    """Write model_card.html, model_card.md and atrs.json; returns their paths in that order.

    Raises:
        TrackingError: the files were written but MLflow failed to log them to the run.
    """
    inputs = read_card_inputs(paths, cfg, model)
    model_card = build_model_card(inputs)
    reports = paths.model_reports(model)
    outs = [write_text(render_model_card_html(model_card), reports / "model_card.html"),
            write_text(render_model_card_markdown(model_card), reports / "model_card.md"),
            write_json(build_atrs_record(model_card, organisation=cfg.organisation), reports / "atrs.json")]
    from pipeline.core.tracking import log_run_artifacts, tracking_uri

    log_run_artifacts(inputs.run.get("run_id"), outs, "governance", tracking_uri(paths.root))
    return outs
