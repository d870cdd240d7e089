"""The IO of the impact stage: ``riskpipe impact`` reads data/pseudo + the person index, writes reports/impact/.

Writes ``estimates.json`` (every estimate and card dict), ``estimates.csv`` (one row per estimate),
``<card id>.html`` and ``<card id>_<n>.png`` (its charts), ``index.html``, and, where the synthetic truth
exists, ``truth_check.json`` (evaluation only: no estimator reads it). The rows the weighting compared
(``person_id`` of the person index, ``run_id``, ``offered``) go to
``data/impact/aipw_rows_<programme>_<outcome>_<h>m.parquet``: pseudonymous ids belong under data/, not in
reports; the truth check maps them to the synthetic truth's children. Logs the run to MLflow (experiment
``riskpipe-impact``): estimates as metrics, cards as artifacts, library versions as params. A county with
no intervention records gets a short report saying so, and the command succeeds.

The ward of an address needs the postcode directory in the same tokens as the pseudonymised addresses, so
the directory's postcodes (places, not people) are tokenised here with the pseudonymisation key.
"""

from __future__ import annotations

import base64
import logging
from dataclasses import asdict
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import pandas as pd

from pipeline.core.io import (
    read_csv_table,
    read_json,
    read_parquet,
    remove_files,
    write_bytes,
    write_csv,
    write_json,
    write_parquet,
    write_text,
)
from pipeline.core.paths import ProjectPaths, require_input
from pipeline.impact import panels
from pipeline.impact.card_assembly import build_card, programme_name
from pipeline.impact.events import EVENT_TABLES
from pipeline.impact.events_io import load_events
from pipeline.impact.outcomes import OUTCOME_WORDS, link_person_table, outcome_dates, person_attributes
from pipeline.impact.stage import (
    AIPW_ROWS,
    ImpactSettings,
    ProgrammeResult,
    area_estimates,
    offer_estimates,
    programmes_to_run,
    recording_result,
    scored_frame,
)

log = logging.getLogger(__name__)

NO_RECORDS = ("No intervention records: data/pseudo holds none of the early help tables (offers, list runs, "
              "programmes). Nothing was estimated. Add data/raw/interventions/ (docs/impact.md) to evaluate help.")
PERSON_TABLES = ("cla_episode", "cin_episode", "cin_cp_plan", "early_help", "csc_person", "cin_child", "school_pupil",
                 "nhs_patient", "cin_assessment")  # cin_assessment: the recording check's factors
SCHOOL_CHILD_TABLES = ("school_address", "school_attendance")
SCHOOL_LINK = ["census_date", "pupil_record_id_tok"]
RECORDING_CHECK_WORDS = "a check on how an outcome is recorded (before and after, against the other wards)"
LIBRARIES = ("pandas", "numpy", "scikit-learn", "lightgbm", "statsmodels", "linearmodels", "csdid", "rdrobust",
             "rddensity", "pysyncon", "econml", "matplotlib")


def impact_reports(paths: ProjectPaths) -> Path:
    return paths.reports / "impact"


def impact_data(paths: ProjectPaths) -> Path:
    """data/impact/: the rows each weighting compared (pseudonymous person ids: never under reports/)."""
    return paths.data / "impact"


def has_intervention_records(paths: ProjectPaths) -> bool:
    return any(paths.pseudo_table(t).exists() for t in EVENT_TABLES if t not in ("unit_cost", "recording_regime"))


def read_linked(paths: ProjectPaths) -> dict[str, pd.DataFrame]:
    """The person tables the outcomes, covariates and addresses come from, each with ``person_id``."""
    index = read_parquet(require_input(paths.person_index, paths.root), columns=["table", "record_key_tok",
                                                                                  "person_id"])
    linked = {name: link_person_table(read_parquet(paths.pseudo_table(name)), name, index)
              for name in PERSON_TABLES if paths.pseudo_table(name).exists()}
    if "school_pupil" in linked:
        pupils = linked["school_pupil"][[*SCHOOL_LINK, "person_id"]].drop_duplicates(SCHOOL_LINK)
        for name in SCHOOL_CHILD_TABLES:
            if paths.pseudo_table(name).exists():
                linked[name] = read_parquet(paths.pseudo_table(name)).merge(pupils, on=SCHOOL_LINK, how="inner")
    return linked


def _reference(paths: ProjectPaths, table: str) -> pd.DataFrame | None:
    staged = paths.staged_table(table)
    if staged.exists():
        return read_parquet(staged)
    raw = paths.raw / "reference" / f"{table}.csv"
    return read_csv_table(raw) if raw.exists() else None


def ward_lookup(paths: ProjectPaths, key_file: Path) -> pd.Series:
    """Ward code by postcode token (empty without the lsoa_ward or postcode_lsoa reference tables)."""
    from pipeline.privacy.actions import Privacy
    from pipeline.privacy.keys import load_key
    from pipeline.privacy.match_keys import column_outputs

    directory, lsoa_ward = _reference(paths, "postcode_lsoa"), _reference(paths, "lsoa_ward")
    if directory is None or lsoa_ward is None:
        log.warning("no postcode_lsoa or lsoa_ward reference table: area programmes cannot be evaluated")
        return pd.Series(dtype="str")
    tokens = column_outputs(directory["postcode"].astype("str"), Privacy.POSTCODE, "postcode", load_key(key_file))
    directory = pd.DataFrame({"postcode_tok": tokens["postcode_tok"].astype("str"),
                              "lsoa_code": directory["lsoa_code"].astype("str")})
    return panels.ward_by_postcode_token(directory, lsoa_ward.astype({"lsoa_code": "str", "ward_code": "str"}))


def library_versions() -> dict[str, str]:
    out = {}
    for name in LIBRARIES:
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = "not installed"
    return out


def run_impact(paths: ProjectPaths, settings: ImpactSettings, key_file: Path, *, log_mlflow: bool = True) -> dict:
    """Estimate every programme × outcome × horizon, write reports/impact/ and log to MLflow.

    Returns:
        The summary written to estimates.json (``status``, ``estimates``, ``cards``, ``not_run``, ...).
    """
    from ethics.card.impact_card import render_impact_card_html, render_impact_index_html

    out_dir = impact_reports(paths)
    # cards of programmes or windows no longer evaluated must not linger beside the new ones
    remove_files([f for pattern in ("*.html", "*.png", "*.json", "*.csv", "*.pdf") for f in out_dir.glob(pattern)])
    remove_files(list(impact_data(paths).glob(f"{AIPW_ROWS}_*.parquet")))
    if not has_intervention_records(paths):
        summary = {"status": "no intervention records", "message": NO_RECORDS, "estimates": [], "cards": []}
        write_json(summary, out_dir / "estimates.json")
        write_csv(pd.DataFrame(columns=["programme", "outcome", "horizon_months", "design", "effect", "ci_low",
                                        "ci_high"]), out_dir / "estimates.csv")
        write_text(render_impact_index_html(summary), out_dir / "index.html")
        return summary
    events = load_events(paths)
    linked = read_linked(paths)
    attributes = person_attributes(linked)
    dates = outcome_dates(linked)
    wards = None  # the key is read only when an area programme needs the ward of an address
    results: list[ProgrammeResult] = []
    for programme, kind in programmes_to_run(events, settings):
        result = ProgrammeResult(programme, kind)
        if kind == "offer":
            scored = scored_frame(events, programme, attributes, linked, dates, settings)
            offer_estimates(scored, programme, settings, result)
        else:
            wards = ward_lookup(paths, key_file) if wards is None else wards
            _area(result, events, linked, attributes, dates, wards, settings)
        results.append(result)
        log.info("%s: %d estimates, %d not run", programme, len(result.estimates), len(result.not_run))
    if not events.recording_regime.empty:  # a recorded rise that is not a real change (recording_check)
        wards = ward_lookup(paths, key_file) if wards is None else wards
        dated, current = panels.addresses(linked, wards)
        results.append(recording_result(events, linked, attributes, dated, current, settings))
    for result in results:  # aipw_rows_<outcome>_<h>m -> data/impact/aipw_rows_<programme>_<outcome>_<h>m.parquet
        for name, frame in result.frames.items():
            if name.startswith(f"{AIPW_ROWS}_"):
                suffix = name[len(AIPW_ROWS):]
                write_parquet(frame, impact_data(paths) / f"{AIPW_ROWS}_{result.programme}{suffix}.parquet")
    return _write(paths, out_dir, settings, events, results, attributes, log_mlflow,
                  render_impact_card_html, render_impact_index_html, key_file)


def _area(result, events, linked, attributes, dates, wards, settings) -> None:
    go_live = panels.go_live_by_ward(events.rollout, result.programme)
    if go_live.empty or wards.empty:
        result.not_run.append("referrals: no go-live dates or no ward lookup (lsoa_ward reference table)")
        return
    dated, current = panels.addresses(linked, wards)
    extract = pd.Timestamp(settings.extract_date)
    start = (go_live["go_live_date"].min() - pd.DateOffset(years=3)).to_period("Q").start_time
    last_q, last_m = panels.last_complete(extract, "Q"), panels.last_complete(extract, "M")
    quarterly = panels.area_panel(attributes, dated, current, dates["referral"], start, last_q, "QS")
    monthly = panels.area_panel(attributes, dated, current, dates["referral"], start, last_m, "MS")
    result.extras["go_live_first"] = go_live["go_live_date"].min()
    area_estimates(quarterly, monthly, go_live, events, result.programme, result)


def _write(paths, out_dir, settings, events, results, attributes, log_mlflow, render_card, render_index,
           key_file) -> dict:
    programmes = {str(r.programme): r._asdict() for r in events.programmes.itertuples(index=False)}
    if paths.pseudo_table("programme").exists():  # its display name column (staged as programme_name)
        for row in read_parquet(paths.pseudo_table("programme")).to_dict("records"):
            programmes.setdefault(str(row["programme"]), {}).update(
                {k: v for k, v in row.items() if not k.startswith("_") and not pd.isna(v)})
    checks = [r for r in results if r.kind == "recording"]
    results = [r for r in results if r.kind != "recording"]
    tested = [f"{programme_name(programmes.get(r.programme, {}), r.programme)} / {OUTCOME_WORDS[o]}"
              + (f" / {h} months" if r.kind == "offer" else " / since go-live")
              for r in results for o in _outcomes(r, settings)
              for h in (settings.horizons if r.kind == "offer" else settings.horizons[:1])]
    cards, files = [], []
    for result in results:
        for outcome in _outcomes(result, settings):
            # an area programme has one card per outcome: its estimates cover the post-period, not a window
            for h in settings.horizons if result.kind == "offer" else settings.horizons[:1]:
                card = build_card(result, programmes.get(result.programme, {}), events, outcome, h, settings,
                                  attributes, tested)
                html = write_text(render_card(card), out_dir / f"{card['id']}.html")
                files.append(html)
                for i, chart in enumerate(card["charts"]):
                    files.append(write_bytes(base64.b64decode(chart["png_base64"]), out_dir / f"{card['id']}_{i}.png"))
                cards.append(card)
    recording = _recording_cards(checks, out_dir, files)
    results = [*results, *checks]
    estimates = [e.to_dict() for r in results for e in r.estimates]
    summary = {"status": "estimated", "extract_date": str(settings.extract_date), "settings": _settings(settings),
               "libraries": library_versions(), "reconciliation": events.reconciliation,
               "not_run": {r.programme: r.not_run for r in results}, "estimates": estimates,
               "cards": [{k: v for k, v in c.items() if k != "charts"} for c in cards],
               "recording_checks": [{k: v for k, v in c.items() if k != "charts"} for c in recording]}
    files.append(write_json(summary, out_dir / "estimates.json"))
    table = pd.DataFrame([{k: v for k, v in e.items() if k not in ("diagnostics",)} for e in estimates])
    if len(table):
        table["flags"] = table["flags"].map(";".join)
    files.append(write_csv(table, out_dir / "estimates.csv"))
    index = {"extract_date": str(settings.extract_date), "message": "", "cards": [
        {"file": f"{c['id']}.html", "title": c["title"] + (f" within {c['horizon_months']} months"
                                                           if c["kind"] == "offer" else " per quarter since go-live"),
         "design": c["primary"]["design_label"] if c["primary"] else "no estimate",
         "effect": _effect_text(c), "rating": f"{c['primary']['rating']} of 5" if c["primary"] else ""}
        for c in cards] + [{"file": f"{c['id']}.html", "title": c["title"], "design": RECORDING_CHECK_WORDS,
                            "effect": "", "rating": ""} for c in recording]}
    files.append(write_text(render_index(index), out_dir / "index.html"))
    truth = paths.truth / "help" / "effects.json"
    if truth.exists():
        from pipeline.impact.truth_check import check_against_truth

        own = _own_estimand_truths(paths, key_file, results, settings)
        write_json(check_against_truth(estimates, read_json(truth), own), out_dir / "truth_check.json")
    if log_mlflow:
        from pipeline.core.tracking import log_impact_run, tracking_uri
        from pipeline.core.tracking.impact_runs import impact_metrics

        metrics = impact_metrics(estimates)  # one key per estimate: naive and adjusted twins never collide
        summary["mlflow_run_id"] = log_impact_run(uri=tracking_uri(paths.root), metrics=metrics, artifacts=files,
                                                  params={"settings": _settings(settings),
                                                          "library": library_versions()})
    return summary


def _own_estimand_truths(paths: ProjectPaths, key_file: Path, results: list[ProgrammeResult],
                         settings: ImpactSettings) -> dict:
    """Evaluation only: the truth of each weighting's own estimand (``truth_check.own_estimand_truth``), by
    ``(programme, outcome, horizon)``; empty (the list-route ITT is used) without help truth, the person map
    or the key to tokenise its record keys."""
    from models.oracle import linked_to_true_person
    from pipeline.impact.truth_check import own_estimand_truth
    from pipeline.linkage.evaluation import tokenise_truth_keys
    from pipeline.privacy.keys import PseudonymisationKeyError, load_key

    scores_file, map_file = paths.truth / "help" / "scores.parquet", paths.truth / "person_map.parquet"
    frames = {(r.programme, o, h): r.frames.get(f"{AIPW_ROWS}_{o}_{h}m") for r in results
              for o in settings.outcomes for h in settings.horizons}
    frames = {k: v for k, v in frames.items() if v is not None}
    if not frames or not (scores_file.exists() and map_file.exists() and paths.person_index.exists()):
        return {}
    try:
        key = load_key(key_file)
    except PseudonymisationKeyError as exc:
        log.warning("Truth of the weighting's own estimand skipped (cannot tokenise truth): %s", exc)
        return {}
    true_person = linked_to_true_person(read_parquet(paths.person_index),
                                        tokenise_truth_keys(read_parquet(map_file), key))
    scores = read_parquet(scores_file)
    return {k: own_estimand_truth(rows, true_person, scores, k[1], k[2]) for k, rows in frames.items()}


def _recording_cards(checks: list[ProgrammeResult], out_dir: Path, files: list[Path]) -> list[dict]:
    """Write the recording check's card ("What changed was the recording, not the need") and its charts."""
    from pipeline.impact.recording_check import recording_card, recording_card_html

    cards = [c for c in (recording_card(r.estimates, r.frames) for r in checks) if c]
    for card in cards:
        files.append(write_text(recording_card_html(card), out_dir / f"{card['id']}.html"))
        for i, chart in enumerate(card["charts"]):
            files.append(write_bytes(base64.b64decode(chart["png_base64"]), out_dir / f"{card['id']}_{i}.png"))
    return cards


def _outcomes(result: ProgrammeResult, settings: ImpactSettings) -> list[str]:
    # area programmes are evaluated on referrals only (care entries per ward-quarter are too rare to panel)
    return list(settings.outcomes) if result.kind == "offer" else [o for o in settings.outcomes if o == "referral"]


def _settings(settings: ImpactSettings) -> dict:
    out = asdict(settings)
    out["extract_date"] = str(settings.extract_date)
    return out


def _effect_text(card: dict) -> str:
    p = card["primary"]
    if not p:
        return "not estimable"
    if card["outcome_scale"] == "proportion":
        return f"{100 * p['effect']:+.1f} pp ({100 * p['ci_low']:+.1f} to {100 * p['ci_high']:+.1f})"
    return f"{p['effect']:+.1f} per 1,000 ({p['ci_low']:+.1f} to {p['ci_high']:+.1f})"
