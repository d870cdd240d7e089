"""The recording-practice monitor command: ``riskpipe monitor``."""

from __future__ import annotations

from pathlib import Path

from rich.markup import escape

from pipeline.cli.common import ParamsOption, RootOption, app, console, exits_on, load_config
from pipeline.core.paths import project_paths


@app.command()
def monitor(params: Path = ParamsOption, root: Path = RootOption) -> None:
    """Look for breaks in how each source records its codes (reports/monitor.json, .csv, .html).

    For every coded column a source declares as watched (pipeline/sources/*.py `monitored`: referral
    sources, needs, CP categories, legal statuses, NCCIS activities, admission methods, diagnoses …), counts
    each code per month in data/pseudo, overall, by ethnicity group and by area deprivation quintile, and
    compares it with the count expected for the ages of the people recorded that month. A step change —
    a code that stops being recorded, or starts being recorded far more often — is reported with its month,
    the rate before and after, and an adjusted p-value (params `monitor`: alpha, min_ratio …). Model
    cards list the breaks in the sources each model reads, and the gate's recording_practice check blocks a
    release until its context file records that a person reviewed them (`recording_breaks_reviewed`).
    """
    from pipeline.monitor.series import MonitorSettings
    from pipeline.monitor.stage import MonitorInputMissing, run_monitor

    config = load_config(params)
    settings = MonitorSettings(**config.monitor.model_dump())
    with exits_on((MonitorInputMissing, "Monitor not run", 2)):
        report = run_monitor(project_paths(root), settings, extract_date=str(config.ingest.extract_date))
    console.print(f"[green]Recording monitor[/green]: {report['series_tested']:,} series tested, "
                  f"{len(report['breaks'])} break(s); reports/monitor.html")
    for entry in report["breaks"][:10]:
        change = "started" if entry["ratio"] is None else f"x{entry['ratio']:.2f}"
        console.print(f"  - {escape(entry['id'])}: rate {change} (p {entry['p_value']:.1e})")
