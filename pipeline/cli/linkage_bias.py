"""``riskpipe linkage-bias``: how the links linkage missed change one model's scores and list."""

from __future__ import annotations

from pathlib import Path

import typer

from pipeline.cli.common import (
    ModelOption,
    ParamsOption,
    RootOption,
    app,
    console,
    exits_on,
    key_file_path,
    load_config,
)
from pipeline.core.paths import project_paths


@app.command("linkage-bias")
def linkage_bias(
    model: str = ModelOption,
    missed_from: str = typer.Option(
        "auto", "--missed-from",
        help="Where the missed links come from: truth (synthetic data/truth), review (clerical decisions "
             "decided match that the index did not join) or auto (truth when it exists)."),
    params: Path = ParamsOption,
    root: Path = RootOption,
) -> None:
    """Report how missed links change each affected child's score and rank, by group.

    Merges the people each missed link joins, rebuilds their features at the test year's index date with the
    features stage's builder, scores them with the trained model and ranks the corrected cohort. Writes
    reports/<model>/linkage_bias.json and .md (by ethnicity, sex and age band; groups under
    the gate's min_group_size suppressed) and data/linkage_bias/<model>/ (merges, corrected person index,
    affected children: tokens only).
    """
    import pandas as pd

    from ethics.inputs import read_thresholds
    from features.ld_population import RegisterMissing
    from features.stage import build_over_index
    from models.linkage_bias_stage import LinkageBiasInputMissing, run_linkage_bias
    from models.spec import ModelSpecError
    from pipeline.core.tracking import TrackingError
    from pipeline.privacy.keys import PseudonymisationKeyError

    if missed_from not in ("auto", "truth", "review"):
        console.print("[red]Usage[/red]: --missed-from is auto, truth or review")
        raise typer.Exit(2)
    config = load_config(params)
    paths = project_paths(root)
    with exits_on((ModelSpecError, "Model spec error", 2), (LinkageBiasInputMissing, "Input missing", 2),
                  (PseudonymisationKeyError, "Key error", 2), (TrackingError, "Trained model not loaded", 1)):
        def build(spec, index, years):
            try:
                return build_over_index(spec, index, config.features, paths, years).frame
            except RegisterMissing:  # no one a missed link touches is on the register: none is in its cohort
                return pd.DataFrame({"person_id": pd.Series(dtype="string"),
                                     "index_date": pd.Series(dtype="datetime64[ns]")})

        written = run_linkage_bias(model, build, read_thresholds(paths, config.govern, model).min_group_size, paths,
                                   key_file=key_file_path(root, config.pseudonymise.key_file), missed_from=missed_from)
    report = written.report
    console.print(f"[green]{model}[/green]: {report['headline']} Rebuild check "
                  f"{'passed' if report['rebuild_check']['passed'] else 'FAILED'}; {written.json_file}, "
                  f"{written.md_file}")
    if not report["rebuild_check"]["passed"]:
        raise typer.Exit(1)
