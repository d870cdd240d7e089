"""Commands that make and protect the source data: synth, keygen, pseudonymise, scan-pii."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

from pipeline.cli.common import ParamsOption, RootOption, app, console, exits_on, key_file_path, load_config
from pipeline.core.paths import project_paths


@app.command()
def synth(
    params: Path = ParamsOption,
    root: Path = RootOption,
    children: int | None = typer.Option(None, help="Override synth.children (e.g. 300000 for scale tests)."),
    seed: int | None = typer.Option(None, help="Override synth.seed."),
) -> None:
    """Simulate a synthetic county and write its extracts in real LA/NHS formats.

    Life courses are simulated first (households, neighbourhoods, latent adversity, school,
    social care and health events), then each source's extract is taken as at
    synth.reference_date, so no record can contain a future event. Writes data/raw/
    (school census, KS2, NCCIS, SSDA903, CIN census XML, early help, NHS demographics,
    HES-like admissions and A&E) and data/truth/ (for evaluation and tests only).
    """
    from pipeline.synthetic import run_synth

    cfg = load_config(params).synth
    overrides = {k: v for k, v in {"children": children, "seed": seed}.items() if v is not None}
    if overrides:
        cfg = cfg.model_copy(update=overrides)
    paths = project_paths(root)
    summary = run_synth(cfg, paths)
    console.print(
        f"[green]Synthetic county written[/green]: {summary['children']:,} children, "
        f"{summary['files']} files under {paths.raw}; ground truth under {paths.truth}"
    )


@app.command()
def keygen(
    out: Path | None = typer.Option(None, "--out", help="Key file [default: pseudonymise.key_file, or "
                                    ".secrets/ledger.key with --ledger]."),
    ledger: bool = typer.Option(False, "--ledger", help="Make the ledger key (HMAC of the sign-off and audit logs) "
                                "instead of the pseudonymisation key."),
    force: bool = typer.Option(False, "--force", help="Replace an existing key (old tokens stop matching; logs "
                               "chained under an old ledger key stop verifying)."),
    params: Path = ParamsOption,
    root: Path = RootOption,
) -> None:
    """Make a new random 256-bit pseudonymisation key, or with --ledger the ledger key (hex, owner-only).

    The two keys are held apart: the ledger key may not be written over the pseudonymisation key's
    file or the other way round. Refuses a path inside data/, reports/, outputs/ or any folder DVC
    tracks (the key would travel with the data). A missing folder is made owner-only (0700); an
    existing folder's permissions are left as they are. Refuses to overwrite an existing key unless --force: tokens made
    with a lost or replaced key can never be matched with new ones, and a replaced ledger key no
    longer verifies the logs chained under the old one. The key is never printed.
    """
    from pipeline.core.config import PseudonymiseParams
    from pipeline.core.paths import dvc_tracked_folders
    from pipeline.privacy.keys import LEDGER, PSEUDONYMISATION, KeyLocationError, generate_key, refuse_key_location

    # a fresh folder with no params.yaml yet gets the default key file (keygen is often the first command)
    pseudo_cfg = load_config(params).pseudonymise if params.exists() else PseudonymiseParams()
    pseudo_file, ledger_file = key_file_path(root, pseudo_cfg.key_file), project_paths(root).ledger_key
    role, default, other = LEDGER, ledger_file, pseudo_file
    if not ledger:
        role, default, other = PSEUDONYMISATION, pseudo_file, ledger_file
    path = out if out is not None else default
    if path.resolve() == other.resolve():
        console.print(f"[red]Refused:[/red] {path} holds the {'pseudonymisation' if ledger else 'ledger'} key; "
                      "the two keys must be held apart")
        raise typer.Exit(1)
    project = project_paths(root)
    forbidden = {"the data folder": project.data, "the reports folder": project.reports,
                 "the outputs folder": project.outputs,
                 **{f"tracked by DVC: {p.relative_to(root)}": p for p in dvc_tracked_folders(root)}}
    with exits_on((KeyLocationError, "Refused", 2, True), (FileExistsError, "Not overwritten", 1)):
        refuse_key_location(path, forbidden)
        generate_key(path, force=force, role=role)
    console.print(f"[green]{role.noun.capitalize()} key written[/green] to {path} (mode 0600).")


@app.command("key-fingerprint")
def key_fingerprint(params: Path = ParamsOption, root: Path = RootOption) -> None:
    """Write the current pseudonymisation key's fingerprint to data/key_in_use.json (never the key).

    Run by `dvc repro` before pseudonymise on every repro (stage `key`, always changed): when the key
    is replaced the file changes, so pseudonymise and every stage after it run again; with the same key
    the file is the same and nothing re-runs.
    """
    from pipeline.core.io import write_json
    from pipeline.privacy.fingerprint import key_record
    from pipeline.privacy.keys import PseudonymisationKeyError, load_key

    cfg = load_config(params).pseudonymise
    paths = project_paths(root)
    with exits_on((PseudonymisationKeyError, "No key", 2)):
        key = load_key(key_file_path(root, cfg.key_file))
    record = {k: v for k, v in key_record(key, complete=True).items() if k != "complete"}
    write_json(record, paths.key_in_use)
    console.print(f"Pseudonymisation key fingerprint {record['key_id']} -> {paths.key_in_use}")


@app.command()
def pseudonymise(params: Path = ParamsOption, root: Path = RootOption) -> None:
    """Replace direct identifiers in every staged table with keyed HMAC tokens and match keys.

    Reads data/staged/*.parquet, applies each column's privacy action from its source spec and
    writes data/pseudo/<table>.parquet plus reports/pseudonymise.json (row and column counts, no
    values). The key comes from $RISKPIPE_PSEUDO_KEY or pseudonymise.key_file. Fails closed: a
    table with any problem gets no output, and the command exits non-zero.
    """
    from pipeline.privacy.actions import PseudonymisationError
    from pipeline.privacy.keys import PseudonymisationKeyError, load_key
    from pipeline.pseudonymise.stage import run_pseudonymise

    cfg = load_config(params).pseudonymise
    paths = project_paths(root)
    with exits_on(((PseudonymisationKeyError, PseudonymisationError), "Pseudonymisation stopped", 2)):
        key = load_key(key_file_path(root, cfg.key_file))
        report = run_pseudonymise(paths, key)
    if report["failed"]:
        console.print(
            f"[red]{len(report['failed'])} table(s) not pseudonymised[/red] (no output written): "
            f"{', '.join(sorted(report['failed']))}; see {paths.reports / 'pseudonymise.json'}"
        )
        raise typer.Exit(1)
    console.print(f"[green]Pseudonymised[/green] {len(report['tables'])} tables into {paths.pseudo}")


@app.command("scan-pii")
def scan_pii(
    paths: list[Path] = typer.Argument(..., help="Files or folders (searched recursively)."),
    names: Path | None = typer.Option(
        None, "--names", exists=True, dir_okay=False, help="File of names to look for, one per line."
    ),
) -> None:
    """Scan parquet/csv/xlsx/html/json/md/xml/txt files for direct identifiers; exit 1 if any is found.

    Looks for valid NHS numbers, UPNs, full UK postcodes, name columns holding anything but
    tokens, and (with --names) listed names as whole words. Reports file, column, kind and count,
    never the values. 32-hex-character tokens are never taken for identifiers.
    """
    from rich.table import Table

    from pipeline.privacy.scan_pii import read_names_file, scan_paths

    name_list = read_names_file(names) if names else frozenset()
    try:
        findings = scan_paths(paths, name_list)
    except FileNotFoundError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from None
    if not findings:
        console.print("[green]No identifiers found.[/green]")
        return
    table = Table("file", "column", "kind", "rows", title="Identifiers found")
    for f in findings:
        table.add_row(f.file, f.column, f.kind, f"{f.count:,}")
    Console().print(table)
    console.print(f"[red]{len(findings)} finding(s)[/red] in {len({f.file for f in findings})} file(s)")
    raise typer.Exit(1)
