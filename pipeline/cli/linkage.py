"""Record linkage commands: link (the person index) and link-pair (any two person tables)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

from pipeline.cli.common import ParamsOption, RootOption, app, console, key_file_path, load_config, read_person_table
from pipeline.core.paths import ProjectPaths, project_paths

if TYPE_CHECKING:
    import pandas as pd

# each source's tables, the person table first; a source is read, reduced to its person records
# and dropped before the next is read (a county's school censuses dwarf its person records)
PERSON_SOURCE_TABLES = (("school_pupil", "school_address"), ("csc_person",), ("nhs_patient",), ("nccis_activity",))


@app.command()
def link(params: Path = ParamsOption, root: Path = RootOption) -> None:
    """Link pseudonymised school, social care, health and NCCIS records into one person index.

    Deterministic passes (NHS number tokens between social care and health; UPN and former-UPN
    tokens between school, social care and NCCIS), then a Splink model over the match-key tokens,
    trained on the data (u by seeded random sampling, m by EM). Writes
    data/linked/person_index.parquet, data/linked/splink_model.json, reports/linkage.json,
    reports/linkage.md and reports/linkage_review.csv (tokens, never values). When
    data/truth/person_map.parquet exists (synthetic county) it is used for evaluation only.
    """
    from pipeline.core.io import read_parquet, write_csv, write_json, write_parquet, write_text
    from pipeline.linkage.engine import LinkageBackendError
    from pipeline.linkage.evaluation import tokenise_truth_keys
    from pipeline.linkage.markdown import render_linkage_markdown
    from pipeline.linkage.memory import log_memory
    from pipeline.linkage.stage import link_persons
    from pipeline.privacy.keys import PseudonymisationKeyError, load_key

    cfg = load_config(params)
    paths = project_paths(root)
    if not any(paths.pseudo_table(group[0]).exists() for group in PERSON_SOURCE_TABLES):
        console.print(f"[red]No pseudonymised person tables[/red] under {paths.pseudo}; run pseudonymise.")
        raise typer.Exit(2)
    persons, records_without_key = read_person_records(paths)
    log_memory("reading person records")
    truth = None
    truth_file = paths.truth / "person_map.parquet"
    if truth_file.exists():
        try:
            key = load_key(key_file_path(root, cfg.pseudonymise.key_file))
        except PseudonymisationKeyError as exc:
            console.print(f"[red]Cannot tokenise truth for evaluation:[/red] {exc}")
            raise typer.Exit(2) from None
        truth = tokenise_truth_keys(read_parquet(truth_file), key)
    try:
        result = link_persons(persons, records_without_key, cfg.link, truth)
    except LinkageBackendError as exc:
        console.print(f"[red]Linkage backend unavailable:[/red] {exc}")
        raise typer.Exit(2) from None
    log_memory("linkage")
    write_parquet(result.person_index, paths.person_index)
    write_json(result.model, paths.splink_model)
    write_json(result.report, paths.reports / "linkage.json")
    write_text(render_linkage_markdown(result.report), paths.reports / "linkage.md")
    write_csv(result.review, paths.reports / "linkage_review.csv")
    summary = f"{result.report['people']:,} people from {len(result.person_index):,} records"
    if "truth" in result.report:
        t = result.report["truth"]
        summary += f"; pairwise precision {t['precision']:.4f}, recall {t['recall']:.4f}"
    console.print(f"[green]Person index written[/green] to {paths.person_index}: {summary}")


def read_person_records(paths: ProjectPaths) -> tuple[pd.DataFrame, dict[str, int]]:
    """Person records of every present source (``build_person_records``) and the rows without a key."""
    import pandas as pd

    from pipeline.core.io import parquet_columns, read_parquet
    from pipeline.linkage.memory import release_unused_memory
    from pipeline.linkage.persons import INPUT_COLUMNS, build_person_records, count_records_without_key

    parts, without_key = [], {}
    for group in PERSON_SOURCE_TABLES:
        files = {t: paths.pseudo_table(t) for t in group if paths.pseudo_table(t).exists()}
        if group[0] not in files:
            continue
        tables = {
            t: read_parquet(f, columns=[c for c in parquet_columns(f) if c in INPUT_COLUMNS]) for t, f in files.items()
        }
        parts.append(build_person_records(tables))
        without_key.update(count_records_without_key(tables))
        del tables
        release_unused_memory()
    return pd.concat(parts, ignore_index=True), without_key


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
    at or above the threshold.
    """
    from pipeline.core.io import write_csv
    from pipeline.linkage.pair import link_pair, parse_mapping
    from pipeline.privacy.keys import PseudonymisationKeyError, load_key

    cfg = load_config(params)
    try:
        left_map = parse_mapping(mapping)
        right_map = parse_mapping(map_right) if map_right else None
        key = None if pseudonymised else load_key(key_file_path(root, cfg.pseudonymise.key_file))
        threshold = threshold if threshold is not None else cfg.link.pair_threshold_match_probability
        pairs = link_pair(
            read_person_table(left), read_person_table(right), id_left=id_left, id_right=id_right,
            mapping=left_map, mapping_right=right_map, dob_format=dob_format, pseudonymised=pseudonymised,
            key=key, threshold=threshold,
            seed=cfg.link.seed, backend=cfg.link.backend,
        )
    except (ValueError, PseudonymisationKeyError, FileNotFoundError) as exc:
        console.print(f"[red]link-pair stopped:[/red] {exc}")
        raise typer.Exit(2) from None
    write_csv(pairs, out)
    console.print(f"[green]{len(pairs):,} pairs[/green] written to {out}")
