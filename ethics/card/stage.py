"""The IO of the card stage: ``riskpipe card`` writes the model card (HTML + Markdown) and the ATRS record.

Reads metrics.json, group_metrics.csv, calibration.csv, plots/*.png, governance.json, run.json,
linkage.json, the model spec and the model's context YAML (:mod:`ethics.card.read`); writes
``reports/<model>/model_card.html``, ``model_card.md`` and ``atrs.json`` and logs them to the version's
MLflow run (an MLflow failure is an error, :class:`pipeline.core.tracking.TrackingError`). The card's
evidence must still be the one the gate's release names (:mod:`ethics.card.evidence`).
"""

from __future__ import annotations

from pathlib import Path

from ethics.card.atrs import build_atrs_record
from ethics.card.evidence import card_sha256, check_card_matches_release
from ethics.card.model import build_model_card
from ethics.card.read import read_card_inputs
from ethics.card.render import render_model_card_html, render_model_card_markdown
from pipeline.core.config import GovernParams
from pipeline.core.io import write_json, write_text
from pipeline.core.paths import ProjectPaths


def run_card(cfg: GovernParams, paths: ProjectPaths, model: str) -> list[Path]:
    """Write model_card.html, model_card.md and atrs.json; returns their paths in that order.

    Raises:
        CardMismatchError: the card's evidence is not the one governance.json's release names (nothing written).
        TrackingError: the files were written but MLflow failed to log them to the run.
    """
    inputs = read_card_inputs(paths, cfg, model)
    check_card_matches_release(inputs.governance.get("release"), card_sha256(paths, cfg, model))
    model_card = build_model_card(inputs)
    reports = paths.model_reports(model)
    outs = [write_text(render_model_card_html(model_card), reports / "model_card.html"),
            write_text(render_model_card_markdown(model_card), reports / "model_card.md"),
            write_json(build_atrs_record(model_card, organisation=cfg.organisation), reports / "atrs.json")]
    from pipeline.core.tracking import log_run_artifacts, tracking_uri

    log_run_artifacts(inputs.run.get("run_id"), outs, "governance", tracking_uri(paths.root))
    return outs
