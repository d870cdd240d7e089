"""Which help works: ``riskpipe impact``."""

from __future__ import annotations

from pathlib import Path

from rich.markup import escape

from pipeline.cli.common import ParamsOption, RootOption, app, console, exits_on, key_file_path, load_config
from pipeline.core.paths import project_paths


@app.command()
def impact(params: Path = ParamsOption, root: Path = RootOption) -> None:
    """Estimate the effects and costs of offers and programmes (reports/impact/: cards, estimates.json, .csv).

    Reads the early help records in data/pseudo (list runs, scores, offers, programmes, rollouts, recording
    changes, unit costs: docs/impact.md), the person index and the children's social care, school and health
    tables. For each programme × outcome × follow-up window (params `impact`: horizons, outcomes, programmes):
    offers drawn from risk lists by cross-fitted doubly robust weighting (AIPW, with the naive comparisons
    beside it) and at the list's cut-off by regression discontinuity; ward rollouts by Callaway–Sant'Anna
    (two-way fixed effects beside it); one-ward pilots by synthetic control with a controlled interrupted time
    series as cross-check. Writes one impact card per question (effect in percentage points with its 95%
    interval, confidence rating, number needed to treat, cost per outcome avoided, caveats, IG annex with
    small cells suppressed) and logs the run to MLflow (experiment riskpipe-impact). A county with no early
    help records gets a short report saying so, and the command succeeds.
    """
    from pipeline.core.tracking import TrackingError
    from pipeline.impact.io import run_impact
    from pipeline.impact.stage import ImpactSettings
    from pipeline.privacy.keys import PseudonymisationKeyError

    config = load_config(params)
    cfg = config.impact
    settings = ImpactSettings(horizons=tuple(cfg.horizons), outcomes=tuple(cfg.outcomes),
                              programmes=tuple(cfg.programmes) if cfg.programmes is not None else None,
                              min_cell=cfg.min_cell, n_boot=cfg.n_boot, folds=cfg.folds, trim=cfg.trim, seed=cfg.seed,
                              extract_date=config.features.extract_date)
    with exits_on((PseudonymisationKeyError, "Key error", 2), (TrackingError, "MLflow error", 1)):
        summary = run_impact(project_paths(root), settings, key_file_path(root, config.pseudonymise.key_file))
    if summary["status"] != "estimated":
        console.print(f"[yellow]Impact[/yellow]: {escape(summary['message'])}")
        return
    console.print(f"[green]Impact[/green]: {len(summary['estimates'])} estimates, {len(summary['cards'])} cards; "
                  "reports/impact/index.html")
    for card in summary["cards"]:
        p = card["primary"]
        if p is None:
            console.print(f"  - {escape(card['title'])}: not estimable")
            continue
        unit = 100 if card["outcome_scale"] == "proportion" else 1
        suffix = " pp" if unit == 100 else " per 1,000"
        low, high = unit * p["ci_low"], unit * p["ci_high"]
        console.print(f"  - {escape(card['title'])} ({card['horizon_months']}m, {p['design']}): "
                      f"{unit * p['effect']:+.1f}{suffix} (95% {low:+.1f} to {high:+.1f})")
    for programme, reasons in summary["not_run"].items():
        for reason in reasons:
            console.print(f"  [yellow]not estimated[/yellow] {escape(programme)}: {escape(reason)}")
