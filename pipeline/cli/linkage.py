"""Record linkage commands: link (the person index) and link-pair (any two person tables)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import typer

from pipeline.cli.common import ParamsOption, RootOption, app, console, exits_on, key_file_path, load_config
from pipeline.core.paths import project_paths


@app.command()
def link(
    params: Path = ParamsOption,
    root: Path = RootOption,
    as_of: datetime | None = typer.Option(
        None, "--as-of", formats=["%Y-%m-%d"],
        help="Link only the records dated strictly before this date (YYYY-MM-DD; give the day after an index "
             "date to include that day's census), as a list made then would have, into "
             "data/linked_as_of/<date>/; reports/linkage_as_of/<date>.json says how much of the "
             "full index rests on later records. Needs the full index (run without --as-of first)."),
) -> None:
    """Link the pseudonymised records of every person source (school, social care, health, NCCIS …)
    into one person index.

    Deterministic passes on the identifiers each source declares (NHS number tokens between social
    care and health; UPN and former-UPN tokens between school, social care and NCCIS), then a Splink
    model over the match-key tokens, trained on the data (u by seeded random sampling, m by EM).
    Writes data/linked/person_index.parquet, data/linked/splink_model.json, reports/linkage.json,
    reports/linkage.md and reports/linkage_review.csv (tokens, never values). When
    data/truth/person_map.parquet exists (synthetic county) it is used for evaluation only.
    """
    from pipeline.linkage.backends import with_work_dir_under
    from pipeline.linkage.engine import LinkageBackendError
    from pipeline.linkage.read import LinkInputError
    from pipeline.linkage.stage import run_link, run_link_as_of, summarise_link
    from pipeline.privacy.fingerprint import KeyFingerprintMismatch
    from pipeline.privacy.keys import PseudonymisationKeyError
    from pipeline.sources.registry import SourceRegistryError

    cfg = load_config(params)
    paths = project_paths(root)
    link_params = with_work_dir_under(cfg.link, root)  # link.spark.work_dir is relative to the project
    with exits_on(
        (KeyFingerprintMismatch, "Key mismatch, nothing linked", 2),
        (LinkInputError, "Nothing to link", 2),
        (SourceRegistryError, "Configuration error", 2),
        (PseudonymisationKeyError, "Pseudonymisation key unusable", 2),
        (LinkageBackendError, "Linkage backend unavailable", 2),
    ):
        if as_of is not None:
            report = run_link_as_of(paths, link_params, key_file_path(root, cfg.pseudonymise.key_file), as_of.date())
        else:
            result = run_link(paths, link_params, key_file_path(root, cfg.pseudonymise.key_file))
    if as_of is None:
        console.print(f"[green]Person index written[/green] to {paths.person_index}: {summarise_link(result)}")
        return
    compared = report["compared_with_all_records"]
    console.print(f"[green]As-of person index[/green] ({report['as_of']}): {report['people']:,} people from "
                  f"{report['records']:,} records; {compared['share_joined_only_later']:.2%} of these records are "
                  "joined to others only through records made after that date (reports/linkage_as_of/)")


@app.command("link-pair")
def link_pair_command(
    left: Path = typer.Argument(..., help="Left person table (.csv or .parquet)."),
    right: Path = typer.Argument(..., help="Right person table (.csv or .parquet)."),
    id_left: str = typer.Option(..., "--id-left", help="Unique record id column of the left table."),
    id_right: str = typer.Option(..., "--id-right", help="Unique record id column of the right table."),
    mapping: str = typer.Option(
        "", "--map", help="field=column,... onto forename, surname, dob, sex, postcode, nhs_number, upn."
    ),
    map_right: str | None = typer.Option(None, "--map-right", help="Right table's mapping if it differs."),
    dob_format: str | None = typer.Option(None, "--dob-format", help="strptime format of dob, e.g. %Y%m%d."),
    pseudonymised: bool = typer.Option(False, "--pseudonymised", help="Tables already hold riskpipe tokens."),
    threshold: float | None = typer.Option(
        None, "--threshold", help="Min. match probability [default: link.pair_threshold_match_probability]"
    ),
    out: Path = typer.Option(Path("pairs.csv"), "--out", help="CSV of left_id, right_id, match_probability."),
    params: Path = ParamsOption,
    root: Path = RootOption,
) -> None:
    """Link any two person tables with riskpipe's comparison design, trained on the pair itself.

    Clear tables are pseudonymised on the fly with the configured key (only tokens reach the
    linkage engine); --pseudonymised tables are used as they are. Writes one row per scored pair
    at or above the threshold. The pairs of clear tables hold both tables' clear IDs, so --out may then
    not lie inside the project's data/, reports/ or outputs/.
    """
    from pipeline.linkage.backends import LinkageBackendError, with_work_dir_under
    from pipeline.linkage.pair import link_pair_files
    from pipeline.privacy.clear_outputs import ClearOutputRefused, refuse_clear_output
    from pipeline.privacy.keys import PseudonymisationKeyError

    cfg = load_config(params)
    if not pseudonymised:  # the pairs would tie clear local IDs to clear IDs of another organisation
        with exits_on((ClearOutputRefused, "Refused", 2)):
            refuse_clear_output(out, project_paths(root), command="link-pair",
                                why="the tables are clear (not --pseudonymised), so the pairs tie their clear IDs")
    with exits_on(((ValueError, PseudonymisationKeyError, FileNotFoundError), "link-pair stopped", 2),
                  (LinkageBackendError, "Linkage backend unavailable", 2)):
        pairs = link_pair_files(
            left, right, out, id_left=id_left, id_right=id_right, mapping=mapping, map_right=map_right,
            dob_format=dob_format, pseudonymised=pseudonymised,
            key_file=key_file_path(root, cfg.pseudonymise.key_file), threshold=threshold,
            params=with_work_dir_under(cfg.link, root),
        )
    console.print(f"[green]{len(pairs):,} pairs[/green] written to {out}")
