"""Analysts: each model's run and headline metrics, and subgroup results; nothing person-level."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from pipeline.core.io import read_csv_table, read_json
from webapp.practice.access import role_required
from webapp.practice.project import current_project
from webapp.practice.roles import ANALYST

HEADLINE = ("auc", "precision_at_capacity", "lift_at_capacity", "calibration_slope", "oe_ratio", "brier",
            "prevalence", "n")


def headline(block: dict[str, Any]) -> list[tuple[str, str]]:
    """The headline metrics of one evaluation block, as (label, value) text."""
    out = []
    for name in HEADLINE:
        value = block.get(name)
        if isinstance(value, int | float):
            out.append((name.replace("_", " "), f"{value:,.3g}" if isinstance(value, float) else f"{value:,}"))
    return out


@role_required(ANALYST)
def analysis_view(request: HttpRequest) -> HttpResponse:
    project = current_project()
    models = []
    for model in project.models:
        run_file = project.paths.model_artifacts(model) / "run.json"
        metrics_file = project.paths.model_reports(model) / "metrics.json"
        groups_file = project.paths.model_reports(model) / "group_metrics.csv"
        run = read_json(run_file) if run_file.exists() else {}
        metrics = read_json(metrics_file) if metrics_file.exists() else {}
        groups = read_csv_table(groups_file).fillna("") if groups_file.exists() else None
        models.append({"model": model, "version": run.get("model_version", ""), "run_id": run.get("run_id", ""),
                       "capacity": metrics.get("capacity", ""), "test": headline(metrics.get("test", {})),
                       "groups": None if groups is None else {"columns": list(groups.columns),
                                                               "rows": groups.values.tolist()}})
    return render(request, "practice/analysis.html", {"models": models})
