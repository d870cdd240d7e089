"""The interventions source's pseudonymised tables as typed frames, each event row with its ``person_id``.

Pure functions over the frames in ``data/pseudo/`` (docs/contracts.md "Interventions (early help
records)"); :func:`build_events` runs them all and returns an :class:`Events` with a reconciliation:
per table the rows in, mapped to a person, and unmapped by reason. A row never disappears unaccounted.
Absent tables (every one is optional) give empty frames with the same columns.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import pandas as pd

from pipeline.impact.persons import PersonLookup, map_persons

EVENT_TABLES = ("list_run", "list_score", "offer", "app_offer", "programme", "programme_rollout",
                "recording_regime", "unit_cost")
RUN_COLUMNS = ["run_id", "run_date", "model", "release", "capacity", "cut_score", "scored_rows", "rule"]
SCORE_COLUMNS = ["run_id", "person_id", "run_date", "score", "rank", "listed"]
OFFER_COLUMNS = ["offer_id", "person_id", "programme", "run_id", "route", "team", "offer_date", "offered", "accepted",
                 "started", "ended", "dosage", "override", "override_reason", "last_status", "from_app"]
PROGRAMME_COLUMNS = ["programme", "programme_name", "description", "kind", "cost_per_family_gbp", "price_year",
                     "agency"]
ROLLOUT_COLUMNS = ["programme", "ward_code", "go_live_date", "capacity_per_month"]
REGIME_COLUMNS = ["source", "table", "field", "ward_code", "change_date", "description"]
COST_COLUMNS = ["outcome", "description", "value_gbp", "price_year", "value_type", "cashable", "agency", "per",
                "source"]
ACCEPTING = ("accepted", "started", "ended")
OFFERING = ("offered", "declined", *ACCEPTING)  # statuses that say help was offered (not_appropriate: it was not)


@dataclass(frozen=True)
class Events:
    """What was done, typed: one frame per kind of event (columns in the module's ``*_COLUMNS``)."""

    list_runs: pd.DataFrame
    list_scores: pd.DataFrame
    offers: pd.DataFrame
    programmes: pd.DataFrame
    rollout: pd.DataFrame
    recording_regime: pd.DataFrame
    unit_costs: pd.DataFrame
    reconciliation: dict = field(default_factory=dict)


def _columns(frame: pd.DataFrame | None, columns: list[str]) -> pd.DataFrame:
    """``frame``'s ``columns`` (absent ones NA); an empty frame of them when ``frame`` is None."""
    if frame is None:
        return pd.DataFrame({c: pd.Series(dtype="object") for c in columns})
    return frame.reindex(columns=columns)


def list_runs(list_run: pd.DataFrame | None) -> pd.DataFrame:
    """One row per scoring run (``RUN_COLUMNS``), by date."""
    return _columns(list_run, RUN_COLUMNS).sort_values(["run_date", "run_id"], ignore_index=True)


def list_scores(list_score: pd.DataFrame | None, runs: pd.DataFrame, lookup: PersonLookup
                ) -> tuple[pd.DataFrame, dict]:
    """Every child scored in each run: ``run_id, person_id, run_date, score, rank, listed``.

    Rows with no person are counted, not kept. Two rows of one run naming one person (two records
    the link joined) keep the best-ranked and are counted as ``same_person_twice_in_run``; a run
    missing from ``list_run`` is counted as ``run_not_in_list_runs`` (its rows kept, ``run_date`` NA).
    """
    scores = _columns(list_score, ["run_id", "person_token", "nhs_number_tok", "upn_tok", "score", "rank", "listed"])
    mapped = map_persons(scores, lookup)
    recon = mapped.counts()
    out = scores.assign(person_id=mapped.person_id)[mapped.person_id.notna()]
    out = out.merge(runs[["run_id", "run_date"]], on="run_id", how="left")
    recon["run_not_in_list_runs"] = int(out["run_date"].isna().sum())
    ordered = out.sort_values(["run_id", "rank", "score"], ascending=[True, True, False], na_position="last")
    kept = ordered.drop_duplicates(["run_id", "person_id"], keep="first")
    recon["same_person_twice_in_run"] = len(out) - len(kept)
    recon["rows_out"] = len(kept)
    kept = kept.astype({"listed": "boolean"}) if len(kept) else kept
    return kept[SCORE_COLUMNS].sort_values(["run_date", "run_id", "rank"], ignore_index=True), recon


def _event_rows(offer: pd.DataFrame | None, app_offer: pd.DataFrame | None, runs: pd.DataFrame,
                programmes: pd.DataFrame) -> tuple[pd.DataFrame, dict]:
    """Both offers tables as one frame of events (the app's run and programme filled in where they can be)."""
    columns = ["offer_id_tok", "person_token", "nhs_number_tok", "upn_tok", "programme", "run_id", "route",
               "team", "status", "date", "override", "reason", "dosage"]
    council = _columns(offer, columns).assign(from_app=False)
    app = _columns(app_offer, [*columns, "model", "list_date"]).assign(from_app=True)
    notes = {"app_offers_without_run": 0, "app_offers_without_programme": 0}
    if len(app):
        # a list's run: the run of that model on the list's date
        keyed = runs.dropna(subset=["model", "run_date"]).drop_duplicates(["model", "run_date"])
        key = keyed.set_index(["model", "run_date"])["run_id"]
        pairs = pd.MultiIndex.from_arrays([app["model"], pd.to_datetime(app["list_date"])])
        app["run_id"] = pd.Series(key.reindex(pairs).to_numpy(), index=app.index)
        notes["app_offers_without_run"] = int((app["route"].eq("list") & app["run_id"].isna()).sum())
        # the app records offers of the council's one person-level programme; with several it cannot say which
        offered = programmes.loc[programmes["kind"] == "offer", "programme"].dropna().unique()
        app["programme"] = offered[0] if len(offered) == 1 else pd.NA
        notes["app_offers_without_programme"] = int(app["programme"].isna().sum())
    parts = [p for p in (council, app.drop(columns=["model", "list_date"])) if len(p)]
    events = pd.concat(parts, ignore_index=True) if parts else council.iloc[0:0]
    return events, notes


def offers(offer: pd.DataFrame | None, app_offer: pd.DataFrame | None, runs: pd.DataFrame,
           programmes: pd.DataFrame, lookup: PersonLookup) -> tuple[pd.DataFrame, dict]:
    """One row per offer (``offer_id``), from its events in date order: ``OFFER_COLUMNS``.

    ``offer_date`` is the first ``offered`` event's date (else the offer's first event); ``offered`` is True when
    an event says help was offered (False for a listed child recorded only as ``not_appropriate`` or
    ``already_known``: an override not to offer); ``accepted`` is
    True once accepted, started or ended, False when the last answer was a decline, NA otherwise (not yet
    answered, ``not_appropriate``, ``already_known``); ``started``/``ended`` the dates of those events;
    ``dosage`` the contacts on the ``ended`` event; ``override`` True when any event says so;
    ``override_reason`` the reason on the first override event; ``last_status`` the latest event's status.
    An offer's person is that of its first event naming one; ``offer_id`` is the tokenised id.

    Every summary is a grouped reduction (``first``/``last`` skip missing values): a county's hundreds of
    thousands of offers are summarised without a Python call per offer.
    """
    events, notes = _event_rows(offer, app_offer, runs, programmes)
    mapped = map_persons(events, lookup)
    recon = {"events": mapped.counts(), **notes}
    events = events.assign(person_id=mapped.person_id).sort_values(["offer_id_tok", "date"], kind="stable")
    if events.empty:
        return _columns(None, OFFER_COLUMNS), {**recon, "offers": 0, "offers_without_person": 0}
    offer_id = events["offer_id_tok"]
    grouped = events.groupby(offer_id, sort=True)
    status = events["status"]
    answered = events[status.isin([*ACCEPTING, "declined"])]
    override = events["override"]
    said_override = override.fillna(False).astype(bool)
    any_override = said_override.groupby(offer_id, sort=True).any()
    out = pd.DataFrame({
        **{column: grouped[column].first() for column in ("person_id", "programme", "run_id", "route", "team")},
        "offer_date": events[status == "offered"].groupby("offer_id_tok")["date"].min(),
        "offered": status.isin(OFFERING).groupby(offer_id, sort=True).any(),
        "accepted": answered.groupby("offer_id_tok")["status"].last() != "declined",
        "started": events[status == "started"].groupby("offer_id_tok")["date"].min(),
        "ended": events[status == "ended"].groupby("offer_id_tok")["date"].max(),
        "dosage": events[status == "ended"].groupby("offer_id_tok")["dosage"].first(),
        # NA where no event recorded the override either way
        "override": any_override.astype("boolean").where(override.notna().groupby(offer_id, sort=True).any()),
        "override_reason": events[said_override].groupby("offer_id_tok")["reason"].first(),
        "last_status": grouped["status"].last(),
        "from_app": grouped["from_app"].agg("any"),
    })
    first_event = grouped["date"].min()
    out["offer_date"] = out["offer_date"].fillna(first_event)
    out = out.reset_index().rename(columns={"offer_id_tok": "offer_id"})
    out = out.astype({"offered": "bool", "accepted": "boolean", "override": "boolean", "dosage": "Int64",
                      "from_app": "bool"})
    recon |= {"offers": len(out), "offers_without_person": int(out["person_id"].isna().sum())}
    return out[OFFER_COLUMNS].sort_values(["offer_date", "offer_id"], ignore_index=True), recon


def programmes(programme: pd.DataFrame | None) -> pd.DataFrame:
    """One row per programme (``PROGRAMME_COLUMNS``)."""
    return _columns(programme, PROGRAMME_COLUMNS).sort_values("programme", ignore_index=True)


def rollout(programme_rollout: pd.DataFrame | None) -> pd.DataFrame:
    """Go-live date of each programme in each ward (``ROLLOUT_COLUMNS``), by programme and date."""
    return _columns(programme_rollout, ROLLOUT_COLUMNS).sort_values(["programme", "go_live_date", "ward_code"],
                                                                    ignore_index=True)


def recording_regime(regime: pd.DataFrame | None) -> pd.DataFrame:
    """Recording-regime changes (``REGIME_COLUMNS``; ``ward_code`` NA = county-wide), by date."""
    return _columns(regime, REGIME_COLUMNS).sort_values(["change_date", "source", "field"], ignore_index=True)


def unit_costs(unit_cost: pd.DataFrame | None) -> pd.DataFrame:
    """Unit costs (``COST_COLUMNS``), by outcome."""
    return _columns(unit_cost, COST_COLUMNS).sort_values(["outcome", "value_type", "agency"], ignore_index=True)


def build_events(tables: Mapping[str, pd.DataFrame], lookup: PersonLookup) -> Events:
    """Every typed frame from the pseudonymised interventions tables present in ``tables`` (``EVENT_TABLES``).

    ``reconciliation``: ``{tables_present, list_score: {rows, mapped, mapped_by, unmapped, identifiers_disagree,
    run_not_in_list_runs, same_person_twice_in_run, rows_out}, offer: {events: {...}, offers,
    offers_without_person, app_offers_without_run, app_offers_without_programme}, rows: {table: n}}``.
    """
    runs = list_runs(tables.get("list_run"))
    progs = programmes(tables.get("programme"))
    scores, score_recon = list_scores(tables.get("list_score"), runs, lookup)
    offered, offer_recon = offers(tables.get("offer"), tables.get("app_offer"), runs, progs, lookup)
    recon = {"tables_present": [t for t in EVENT_TABLES if t in tables],
             "rows": {t: len(tables[t]) for t in EVENT_TABLES if t in tables},
             "list_score": score_recon, "offer": offer_recon}
    return Events(runs, scores, offered, progs, rollout(tables.get("programme_rollout")),
                  recording_regime(tables.get("recording_regime")), unit_costs(tables.get("unit_cost")), recon)
