"""The IO of the lists stage: ``riskpipe score`` (issue a risk list) and ``riskpipe reidentify``.

Reads the model's run and metrics, the features, the pseudonymised record-date tables and the person
index; asks MLflow (through ``pipeline.core.tracking``) for the approved version and its model; writes
``outputs/risk_lists/<model>/risk_list.{csv,xlsx,html,parquet}`` (the parquet file: one row per person for
the web app, docs/contracts.md) and appends the list's hash to the keyed hash
chain ``outputs/audit.jsonl`` (:mod:`ethics.ledger_store`). The files are written to a staging folder first
and moved into place only after their log entry is written and anchored, so no list exists without its
entry. Every computation is a pure function in this package.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from ethics.gate import run_population
from ethics.ledger import list_issue_record
from ethics.ledger_store import AUDIT_LOG, LedgerError, append_to_ledger, ledger_key
from features.populations import get_population
from pipeline.core.config import GovernParams, Params, ScoreParams
from pipeline.core.io import (
    move_into,
    read_csv_table,
    read_json,
    read_parquet,
    staging_folder,
    write_bytes,
    write_csv,
    write_parquet,
    write_text,
    write_xlsx_sheets,
)
from pipeline.core.paths import ProjectPaths
from pipeline.linkage.id_store import read_id_log
from pipeline.linkage.persistent_ids import PersonIdLogError, person_index_digest, translate_tokens
from pipeline.lists.explanations import county_averages, explain_rows, feature_phrasebook
from pipeline.lists.record_dates import (
    collect_source_events,
    last_record_dates,
    record_date_columns,
    sources_on_list,
)
from pipeline.lists.release import (
    ApprovalWithdrawnError,
    caveats_table,
    decide_release,
    list_sha256,
    scoring_inputs,
)
from pipeline.lists.render import (
    PERCENT_COLUMNS,
    WRAP_COLUMNS,
    build_risk_list,
    draft_title_rows,
    person_records,
    render_risk_list_html,
    risk_list_csv,
    risk_list_sheet,
)
from pipeline.lists.scoring import score_margin, score_with_contributions
from pipeline.lists.selection import (
    band_risk,
    rank_by_risk,
    select_scoring_cohort,
    select_top_by_capacity,
    tie_break_seed,
)
from pipeline.privacy.actions import Privacy
from pipeline.privacy.fingerprint import optional_key, verify_pseudo_key
from pipeline.privacy.keys import load_key
from pipeline.privacy.reidentify import NOT_HELD, SAME_PERSON, ReidentifyError, list_person_index, reidentify_list
from pipeline.sources.registry import Source, person_sources


class AuditLogRefusedError(LedgerError):
    """The audit log would not take the list's entry (no key, a broken chain or anchor); no list was written."""


class OutputRefusedError(ValueError):
    """A re-identified list may not be written there (inside the pipeline's folders, or over a file)."""


@dataclass(frozen=True)
class IssuedList:
    """What ``run_score`` issued: draft or approved, list length, cohort size, folder and audit entry hash."""

    draft: bool
    rows: int
    people_scored: int
    out_dir: Path
    audit_hash: str


@dataclass(frozen=True)
class ReidentifiedList:
    """What ``run_reidentify`` wrote: rows matched to the controller's IDs, of all list rows, and rows whose
    person changed since the list was made (translated through the person ID log; 0 from the current index)."""

    held: int
    rows: int
    out: Path
    changed: int = 0


def read_scoring_cohort(paths: ProjectPaths, model: str) -> pd.DataFrame:
    """Feature rows of the latest cohort (:func:`pipeline.lists.selection.select_scoring_cohort`)."""
    features = read_parquet(paths.features_table(model))
    scores = read_parquet(paths.model_artifacts(model) / "scores.parquet", columns=["person_id", "index_date", "split"])
    return select_scoring_cohort(features, scores)


def read_record_date_tables(paths: ProjectPaths, sources: Sequence[Source] | None = None) -> dict[str, pd.DataFrame]:
    """The pseudonymised tables that date ``sources``' records (key token and date columns; default: every
    person source's), where present."""
    return {table: read_parquet(paths.pseudo_table(table), columns=[key, date])
            for _, table, key, date in record_date_columns(sources) if paths.pseudo_table(table).exists()}


def run_score(cfg: ScoreParams, paths: ProjectPaths, model: str, *, govern: GovernParams,
              pseudo_key_file: Path | None = None) -> IssuedList:
    """Issue the risk list for the latest cohort from the approved version (or a DRAFT); see ``riskpipe score``.

    Args:
        govern: where the checklist and thresholds are, to re-judge the approved release now.
        pseudo_key_file: the configured pseudonymisation key file, which the ledger key must differ from
            (:func:`ethics.ledger_store.ledger_key`; None = the default).

    Raises:
        ApprovalWithdrawnError: the release holding ``approved`` is not recorded, a digest of it differs
            from the disk or MLflow now (model files, run, thresholds, checklist, evaluation outputs), a
            sign-off was withdrawn, or governance.json does not back it (nothing written).
        NotApprovedError: no approved version and draft mode off (nothing written).
        TrackingError: MLflow failed to say which version is approved or to load it (nothing written).
        LedgerError: the sign-off, release or pre-registration log fails verification (nothing written).
        AuditLogRefusedError: no ledger key, or the audit log refused or could not anchor the list's entry
            (no list file written).
    """
    from ethics.card.evidence import card_sha256
    from ethics.release_store import approved_release_problems
    from pipeline.core.tracking import (
        approved_model_version,
        load_model_files,
        load_sklearn_model,
        registered_model_name,
        tracking_uri,
    )

    try:  # before any work: without the ledger key no list may be issued; loaded once, for every log read
        key = ledger_key(paths, pseudo_key_file)
    except LedgerError as exc:
        raise AuditLogRefusedError(str(exc)) from None
    verify_pseudo_key(paths, optional_key(pseudo_key_file), linked=True)  # another key's tokens reach nobody
    uri = tracking_uri(paths.root)
    reports, model_dir = paths.model_reports(model), paths.model_artifacts(model)
    run, metrics = read_json(model_dir / "run.json"), read_json(reports / "metrics.json")
    name = registered_model_name(model)
    approved, fitted, approved_release, withdrawn = approved_model_version(name, uri), None, None, []
    if approved:  # the files hashed are the files that score
        fitted, model_sha256 = load_model_files(f"models:/{name}/{approved['version']}", uri)
        withdrawn, approved_release = approved_release_problems(
            govern, paths, model, approved, model_sha256, card_digest=lambda: card_sha256(paths, govern, model),
            key=key)
    release = decide_release(approved, str(run["model_version"]), cfg.draft_mode, withdrawn=withdrawn)
    inputs = scoring_inputs(release, approved_release, run, metrics)
    if release.draft:
        fitted = load_sklearn_model(run["model_uri"], uri)
    feature_columns = inputs.feature_columns
    # what the list calls its people: the population the version was trained for (train records it in run.json)
    population = get_population(run_population(run))
    cohort = read_scoring_cohort(paths, model)
    missing = [c for c in feature_columns if c not in cohort.columns]
    if missing:
        raise ApprovalWithdrawnError(f"the features file lacks inputs of the release being scored: {missing}")
    risk, contributions = score_with_contributions(fitted, cohort[feature_columns])
    scored = cohort[["person_id", "index_date"]].assign(risk=risk, margin=score_margin(fitted, cohort[feature_columns]))
    seed = tie_break_seed(metrics)  # ranked and tie-broken exactly as evaluation selected (models.selection)
    top = select_top_by_capacity(scored, inputs.capacity, seed=seed)
    top["band"] = band_risk(top["risk"], inputs.base_rate, cfg.band_multiples)
    keep = rank_by_risk(scored, seed=seed).index[: len(top)]
    phrasebook = feature_phrasebook()
    # the county comparison: over every person scored now, never a figure written by hand
    averages = county_averages(cohort[feature_columns], {n: phrasebook.get(n, {}).get("kind", "numeric")
                                                          for n in feature_columns})
    explanations = explain_rows(contributions.loc[keep].reset_index(drop=True),
                                cohort.loc[keep, feature_columns].reset_index(drop=True), phrasebook, averages,
                                cfg.max_reasons, cfg.max_protective, people=population.plural)
    index_date = cohort["index_date"].max()
    person_index = read_parquet(paths.person_index)
    index_digest = person_index_digest(person_index)  # the list says which index its tokens name
    # "sha256:" keeps the text a text: a spreadsheet would turn an all-digit or "123e45" digest into a number
    named_index = f"sha256:{index_digest[:16]}"
    shown, held_by_nobody = sources_on_list(feature_columns, {n: e["group"] for n, e in phrasebook.items()}, cohort)
    coverage = last_record_dates(collect_source_events(read_record_date_tables(paths, shown), shown), person_index,
                                 index_date, shown)
    risk_list = build_risk_list(top, explanations, coverage, release, model, shown, person_index=named_index)
    lineage = {"model": name, "model version": release.version, "approval": release.approval,
               "cohort index date": str(index_date.date()), "people scored": f"{len(cohort):,}",
               "list length (capacity)": f"{len(risk_list):,}",
               "person index": named_index}
    if held_by_nobody:  # a gap for everyone, said once: not a blind spot of one child
        lineage["sources holding no record of anyone scored"] = ", ".join(s.display_name for s in held_by_nobody)
    if not release.draft:
        lineage["release digest"] = release.release_digest
    caveats = caveats_table(release, lineage)
    out_dir = paths.outputs / "risk_lists" / model
    csv_bytes = risk_list_csv(risk_list)
    banner = draft_title_rows(caveats, release)
    with staging_folder(out_dir) as staging:
        files = [
            write_bytes(csv_bytes, staging / "risk_list.csv"),
            write_xlsx_sheets({"risk list": risk_list_sheet(risk_list), "caveats": caveats},
                              staging / "risk_list.xlsx",
                              title_rows={"risk list": banner, "caveats": banner}, percent_columns=PERCENT_COLUMNS,
                              wrap_columns=WRAP_COLUMNS),
            write_text(render_risk_list_html(risk_list, caveats, release,
                                             f"{name} risk list, cohort {index_date.date()}",
                                             (population.plural, population.singular)),
                       staging / "risk_list.html"),
            write_parquet(person_records(risk_list, top, explanations, index_date), staging / "risk_list.parquet"),
        ]
        record = list_issue_record(model=model, model_version=release.version, approval=release.approval,
                                   list_sha256=list_sha256(csv_bytes), rows=len(risk_list),
                                   files=[f.name for f in files], draft=release.draft)
        record["person_index_digest"] = index_digest
        try:
            entry = append_to_ledger(paths, AUDIT_LOG, record, key)
        except LedgerError as exc:
            raise AuditLogRefusedError(f"{exc}; no list was issued") from None
        move_into(files, out_dir)
    return IssuedList(draft=release.draft, rows=len(risk_list), people_scored=len(cohort), out_dir=out_dir,
                      audit_hash=entry["hash"])


def person_key_of(source: str) -> tuple[str, Privacy]:
    """The person key column of person source ``source`` and its privacy action, from the source registry.

    Raises:
        ReidentifyError: ``source`` is not a person source.
    """
    sources = {s.name: s for s in person_sources()}
    if source not in sources:
        raise ReidentifyError(f"unknown source {source!r}; one of {sorted(sources)}")
    found = sources[source]
    return found.person_key, found.person_key_privacy


def check_reidentified_output(paths: ProjectPaths, out: Path, force: bool) -> None:
    """Refuse ``out`` inside data/, reports/ or outputs/, or over an existing file without ``force``.

    Raises:
        OutputRefusedError: with the reason.
    """
    target = out.resolve()
    guarded = [d.resolve() for d in (paths.data, paths.reports, paths.outputs)]
    if any(target.is_relative_to(d) for d in guarded):
        raise OutputRefusedError("re-identified lists must not be written inside data/, reports/ or outputs/")
    if out.exists() and not force:
        raise OutputRefusedError(f"{out} exists; pass --force to overwrite")


def run_reidentify(params: Params, paths: ProjectPaths, *, risk_list: Path, extract: Path, source: str,
                   id_column: str, out: Path, force: bool = False) -> ReidentifiedList:
    """Map a list's tokens back to the controller's own IDs and write the result to ``out`` only.

    The list must come from the current person index, or from an earlier one the person ID log leads from
    (its tokens are then translated: :func:`pipeline.linkage.persistent_ids.translate_tokens`).

    Raises:
        OutputRefusedError: ``out`` is not allowed (checked before anything is read).
        PseudonymisationKeyError: no usable key.
        ReidentifyError: unknown source, a missing column, or a list made from another person index that
            the ID log cannot translate (no path to the current index, or a re-key on the way).
    """
    check_reidentified_output(paths, out, force)
    key = load_key(paths.root / params.pseudonymise.key_file)
    verify_pseudo_key(paths, key, linked=True)  # under another key every token misses: "0 matched" is no answer
    listed, index = read_csv_table(risk_list), read_parquet(paths.person_index)
    translation = list_translation(paths, list_person_index(listed), person_index_digest(index))
    own = read_csv_table(extract)
    key_column, privacy = person_key_of(source)
    result = reidentify_list(listed, index, own, id_column=id_column, source=source, key_column=key_column,
                             privacy=privacy, key=key, translation=translation)
    write_csv(result, out)
    changed = int((result["person_change"] != SAME_PERSON).sum()) if translation is not None else 0
    return ReidentifiedList(held=int((result["local_id"] != NOT_HELD).sum()), rows=len(result), out=out,
                            changed=changed)


def list_translation(paths: ProjectPaths, made_from: str, current: str) -> dict[str, list[str]] | None:
    """None when the list was made from the current person index, else its tokens' translation from the ID log.

    Raises:
        ReidentifyError: the index differs and the ID log cannot lead from the list's index to it.
    """
    if len(made_from) >= 16 and current.startswith(made_from):
        return None
    try:
        return translate_tokens(read_id_log(paths), made_from, current)
    except PersonIdLogError as exc:
        raise ReidentifyError(f"this list was made from person index {made_from[:16]}, but the current person index "
                              f"is {current[:16]} (re-linked since): {exc}") from None
