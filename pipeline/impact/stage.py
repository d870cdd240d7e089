"""The impact stage, pure: events + outcomes + settings -> estimates per programme × outcome × horizon.

A programme of kind ``offer`` (offers drawn from risk lists) is evaluated on the children scored in each
list run: the effect of an offer for those offered (intention to treat, cross-fitted AIPW with the naive
comparators, :mod:`pipeline.impact.aipw`) and at the capacity cut (fuzzy and sharp regression
discontinuity, :mod:`pipeline.impact.rd`). A programme of kind ``area`` (rolled out by ward) is evaluated
on the ward × quarter referral panel: staggered rollouts by Callaway–Sant'Anna with two-way fixed effects
beside it (:mod:`pipeline.impact.staggered`), one-ward pilots by synthetic control
(:mod:`pipeline.impact.synthetic_control`), and the county series by controlled interrupted time series
(:mod:`pipeline.impact.its`). An estimator that cannot run on the data is reported with its reason, never
dropped silently. Cards, costs and words are made from these estimates in :mod:`pipeline.impact.card_content`.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date

import numpy as np
import pandas as pd

from pipeline.impact import panels
from pipeline.impact.estimate import Estimate
from pipeline.impact.events import Events
from pipeline.impact.outcomes import outcome_within, prior_covariates

log = logging.getLogger(__name__)

AIPW_ROWS = "aipw_rows"  # frames[f"aipw_rows_<outcome>_<h>m"]: person_id, run_id, offered of the rows AIPW kept
NUISANCE_REPEATS = 5  # fold splits averaged for the weighting's nuisance models (few comparable rows)
OFFER_WINDOW_DAYS = 31  # an offer within a month of a run (and before the next) is that run's offer
COVARIATES = ("score", "score_minus_cut", "age", "male", "imd_decile", "prior_referrals", "referrals_12m",
              "prior_care_periods", "prior_cp_plans", "prior_early_help", "absence_sessions_12m")


@dataclass(frozen=True)
class ImpactSettings:
    """What the stage needs from params ``impact:`` and the extract date."""

    horizons: tuple[int, ...]
    outcomes: tuple[str, ...]
    programmes: tuple[str, ...] | None
    min_cell: int
    n_boot: int
    folds: int
    trim: float
    seed: int
    extract_date: date


@dataclass
class ProgrammeResult:
    """Every estimate of one programme, the frames behind them (for charts and the IG annex) and what failed."""

    programme: str
    kind: str
    estimates: list[Estimate] = field(default_factory=list)
    frames: dict[str, pd.DataFrame] = field(default_factory=dict)
    extras: dict = field(default_factory=dict)
    not_run: list[str] = field(default_factory=list)


def scored_frame(events: Events, programme: str, attributes: pd.DataFrame, linked: Mapping[str, pd.DataFrame],
                 dates: Mapping[str, pd.DataFrame], settings: ImpactSettings) -> pd.DataFrame:
    """One row per child × list run, with the run's offer, outcomes per horizon and pre-run covariates.

    Rows after a child's first offer of the programme (any route) are dropped: that child is no longer
    "not yet offered". ``offered`` is an offer of the programme from this run (its ``run_id``: listed, or a
    practitioner's override); ``accepted`` whether it was taken up; ``other_route`` an offer by another
    route (professional or self referral) in the month after the run. Those follow what a worker saw, which
    the records do not hold: the weighting leaves such rows out, the cut-off design counts them as offers.

    Args:
        dates: outcome dates (:func:`pipeline.impact.outcomes.outcome_dates`).

    Returns:
        ``row_id, person_id, run_id, anchor_date, score, rank, listed, cut_score, offered, accepted,
        other_route`` plus
        ``<outcome>_<h>m`` (Int8, <NA> when the window has not ended) and the covariates in ``COVARIATES``.
    """
    scores = events.list_scores.dropna(subset=["person_id"]).copy()
    scores = scores.merge(events.list_runs[["run_id", "cut_score"]], on="run_id", how="left")
    scores["anchor_date"] = pd.to_datetime(scores["run_date"])
    offers = events.offers[events.offers["programme"].astype("str") == programme].dropna(subset=["person_id"])
    # a listed child recorded only as not_appropriate / already_known was NOT offered (a practitioner's override
    # not to offer): they are part of the comparison, not the offered
    offers = offers[offers["offered"].astype(bool)]
    offers = offers.assign(offer_date=pd.to_datetime(offers["offer_date"]))
    first_offer = offers.groupby("person_id")["offer_date"].min()
    by_run = offers.dropna(subset=["run_id"]).drop_duplicates(["person_id", "run_id"])
    scores = scores.merge(by_run[["person_id", "run_id", "accepted"]].rename(columns={"accepted": "run_accepted"}),
                          on=["person_id", "run_id"], how="left", indicator="from_run")
    pairs = scores[["person_id", "anchor_date"]].reset_index().merge(
        offers[["person_id", "offer_date", "accepted"]], on="person_id")
    near = pairs[(pairs["offer_date"] >= pairs["anchor_date"])
                 & (pairs["offer_date"] < pairs["anchor_date"] + pd.Timedelta(days=OFFER_WINDOW_DAYS))]
    near = near.drop_duplicates("index").set_index("index")
    scores["offered"] = scores["from_run"] == "both"
    scores["accepted"] = scores["run_accepted"].astype("boolean").fillna(False)
    # an offer by another route (a professional's or the family's own request) in the run's month is chosen on
    # what the worker saw, not on the list: that row is neither a list offer nor a clean comparison
    scores["other_route"] = scores.index.isin(near.index) & ~scores["offered"]
    first = scores["person_id"].map(first_offer)
    scores = scores[first.isna() | (scores["anchor_date"] <= first)].reset_index(drop=True)
    scores["row_id"] = np.arange(len(scores))
    scores["listed"] = scores["listed"].astype("str").str.upper().isin(["Y", "TRUE", "1"])
    for h in settings.horizons:
        for outcome in settings.outcomes:
            scores[f"{outcome}_{h}m"] = outcome_within(scores, dates[outcome], h, settings.extract_date)
    covariates = prior_covariates(scores[["row_id", "person_id", "anchor_date"]], linked, attributes, dates)
    out = scores.merge(covariates, on="row_id", how="left")
    out["score"] = pd.to_numeric(out["score"], errors="coerce")
    # known when the list is drawn: how far above or below the run's cut the child scored (offers follow it)
    out["score_minus_cut"] = out["score"] - pd.to_numeric(out["cut_score"], errors="coerce")
    out["list_position"] = list_position(out)
    return out.drop(columns=["from_run", "run_accepted"])


def list_position(scored: pd.DataFrame) -> pd.Series:
    """Per row, the child's rank in the run ÷ the run's capacity (the number listed): 1 or less is on the list.

    Ranks missing from the file are taken from the scores within the run (highest first)."""
    rank = pd.to_numeric(scored["rank"], errors="coerce") if "rank" in scored.columns else None
    by_score = scored.groupby("run_id")["score"].rank(ascending=False, method="first")
    rank = by_score if rank is None else rank.fillna(by_score)
    listed = scored.groupby("run_id")["listed"].transform("sum").astype("float64")
    return (rank / listed.where(listed > 0)).astype("float64")


def trial_rows(scored: pd.DataFrame, outcome_column: str) -> pd.DataFrame:
    """The weighting's frame: each list run is a comparison of its own (a sequence of target trials).

    Every child × run up to and including the child's first offer, whose outcome window has ended, with no
    offer by another route in the run's month, and placed in the run where offers are made
    (``list_position`` up to :func:`offer_band`): children offered at that run against children not offered
    at that run. Far below the cut nobody is offered, so nobody there is comparable and their weight would
    rest on the models' extrapolation. A child not offered now may be offered at a later run (their usual
    care), so the effect is that of an offer now; each child is offered once, and standard errors are
    clustered by child because one child's runs are not independent.

    Why not one row per child: comparing the offered with children *never* offered picks the comparison by
    the future. A child whose needs grow after a run scores higher later and is offered then, so "never
    offered" keeps the children whose needs did not grow, and an offer looks harmful.
    """
    mature = matured_rows(scored, outcome_column)
    return within_band(mature, offer_band(mature))


def matured_rows(scored: pd.DataFrame, outcome_column: str) -> pd.DataFrame:
    """Child × run rows whose outcome window has ended, without an offer by another route in the run's month
    (every child scored: the naive comparison's rows, and the weighting's before the band)."""
    return scored[~scored["other_route"]].dropna(subset=[outcome_column]).reset_index(drop=True)


def within_band(rows: pd.DataFrame, band: float | None) -> pd.DataFrame:
    """The rows ranked where offers are made (``list_position`` up to ``band``; all rows when None)."""
    return rows if band is None else rows[rows["list_position"] <= band].reset_index(drop=True)


def offer_band(rows: pd.DataFrame) -> float | None:
    """How far down a run's ranking offers reach: the 99th percentile of the offered rows' ``list_position``
    (at least 1, the list itself); None when no row carries a position."""
    position = rows.loc[rows["offered"].astype(bool), "list_position"].dropna() if "list_position" in rows else None
    if position is None or position.empty:
        return None
    return max(1.0, float(position.quantile(0.99)))


def children_scored(scored: pd.DataFrame, outcome_column: str) -> pd.DataFrame:
    """One row per child for counting (offer and outcome rates in the IG annex), never for comparing: an
    offered child's offering run, anyone else's latest run whose outcome window has ended."""
    rows = trial_rows(scored, outcome_column).sort_values(["offered", "anchor_date"], kind="stable")
    return rows.drop_duplicates("person_id", keep="last").reset_index(drop=True)


def offer_estimates(scored: pd.DataFrame, programme: str, settings: ImpactSettings,
                    result: ProgrammeResult) -> None:
    """AIPW (+ naive comparators) and regression discontinuity for each outcome and horizon, into ``result``."""
    from pipeline.impact.aipw import (
        cross_fit_nuisances,
        estimate_offer_effect,
        kept_by_overlap,
        naive_offer_difference,
    )
    from pipeline.impact.rd import add_running_variable, estimate_cut_effect

    covariates = [c for c in COVARIATES if c in scored.columns]
    for h in settings.horizons:
        for outcome in settings.outcomes:
            column = f"{outcome}_{h}m"
            everyone = matured_rows(scored, column)
            band = offer_band(everyone)
            persons = within_band(everyone, band)
            persons = persons.assign(**{column: persons[column].astype("int64"),
                                        "offered": persons["offered"].astype("int64")})
            # an unknown covariate (age without a birth month) takes the median: a row is never dropped for it
            persons[covariates] = persons[covariates].astype("float64").fillna(persons[covariates].median())
            try:
                nuisances = cross_fit_nuisances(persons[covariates].to_numpy(dtype=float),
                                                persons["offered"].to_numpy(), persons[column].to_numpy(),
                                                folds=settings.folds, seed=settings.seed,
                                                groups=pd.factorize(persons["person_id"])[0], repeats=NUISANCE_REPEATS)
                found = estimate_offer_effect(persons, outcome=column, covariates=covariates, programme=programme,
                                              horizon_months=h, folds=settings.folds, trim=settings.trim,
                                              target="att", seed=settings.seed, min_cell=settings.min_cell,
                                              nuisances=nuisances, cluster="person_id")
                # the naive difference is what a dashboard shows: every child scored, not only the comparable
                everyone = everyone.assign(**{column: everyone[column].astype("int64"),
                                              "offered": everyone["offered"].astype("int64")})
                found = [e for e in found if e.design != "naive_difference"] + [naive_offer_difference(
                    everyone, outcome=column, programme=programme, horizon_months=h, cluster="person_id",
                    min_cell=settings.min_cell)]
                result.estimates.extend(_renamed(e, outcome) for e in found)
                result.extras.setdefault("offer_band", {})[column] = band
                for e in found:
                    if e.design in ("aipw", "ipw_naive") and band is not None:
                        e.diagnostics["offer_band"] = band
                        e.diagnostics["estimand_population"] = (
                            f"children ranked within {band:.1f} times the list's capacity in a run (where offers "
                            f"are made), each run compared on its own, with a chance of an offer in [{settings.trim}, "
                            f"{1 - settings.trim}]; a child not offered may be offered at a later run (usual care)")
                # the rows the weighting compared (after trimming): its estimand's population, for the truth check
                kept = kept_by_overlap(nuisances["propensity"].to_numpy(), settings.trim)
                result.frames[f"{AIPW_ROWS}_{outcome}_{h}m"] = persons.loc[
                    kept, ["person_id", "run_id", "offered"]].reset_index(drop=True)
            except ValueError as exc:
                result.not_run.append(f"AIPW, {outcome} within {h} months: {exc}")
            rows = scored.dropna(subset=[column, "cut_score", "score"])
            # at the cut-off any offer in the run's month is the treatment: the design does not rest on why
            rows = rows.assign(**{column: rows[column].astype("float64"),
                                  "offered": (rows["offered"] | rows["other_route"]).astype(float)})
            try:
                found = estimate_cut_effect(add_running_variable(rows), outcome=column, programme=programme,
                                            horizon_months=h)
                result.estimates.extend(_renamed(e, outcome) for e in found)
            except Exception as exc:  # noqa: BLE001 - rdrobust raises a bare Exception when no bandwidth fits
                result.not_run.append(f"regression discontinuity, {outcome} within {h} months: {exc}")
    result.frames["scored"] = scored


def _renamed(estimate: Estimate, outcome: str) -> Estimate:
    """The estimate under the stage's outcome code (estimators are handed the column name)."""
    from dataclasses import replace

    return replace(estimate, outcome=outcome, estimand=estimate.estimand.replace(
        f"{outcome}_{estimate.horizon_months}m", OUTCOME_PHRASES.get(outcome, outcome)))


OUTCOME_PHRASES = {"care_entry": "entering care", "referral": "a referral to children's social care"}
# the recorded field an area outcome is counted from: only a recording change in it flags an estimate
REFERRAL_FIELDS = [("social_care", "cin_episode", "referral_date")]


def area_estimates(panel: pd.DataFrame, monthly: pd.DataFrame, go_live: pd.DataFrame, events: Events,
                   programme: str, result: ProgrammeResult) -> None:
    """Referrals: staggered rollouts (several wards) by Callaway–Sant'Anna with TWFE beside it on the quarterly
    panel; a one-ward pilot by synthetic control and, as its cross-check, a controlled interrupted time series
    of the ward's monthly series against the wards no area programme reached."""
    wards = go_live["ward_code"].astype("str").tolist()
    # wards of another area programme are neither treated here nor a clean comparison
    panel = panel[~panel["ward_code"].astype("str").isin(set(_area_wards(events, exclude=programme)) - set(wards))]
    monthly = monthly[~monthly["ward_code"].astype("str").isin(set(_area_wards(events, exclude=programme))
                                                               - set(wards))]
    live = panel.merge(go_live[["ward_code", "go_live_date"]], on="ward_code", how="left").rename(
        columns={"go_live_date": "go_live"})
    result.frames.update(panel=live, monthly=monthly)
    outcome = "referral"
    if len(wards) > 1:
        try:
            from pipeline.impact.staggered import estimate_staggered

            staggered = estimate_staggered(live, programme=programme, outcome=outcome,
                                           recording_regime=events.recording_regime, outcome_fields=REFERRAL_FIELDS)
            result.estimates.extend([staggered.overall, staggered.twfe])
            result.extras["staggered"] = staggered
        except (ImportError, ValueError) as exc:
            result.not_run.append(f"Callaway–Sant'Anna, referrals: {exc}")
    else:
        try:
            from pipeline.impact.synthetic_control import estimate_synthetic_control

            sc = estimate_synthetic_control(live, programme=programme, outcome=outcome, treated_ward=wards[0],
                                            recording_regime=events.recording_regime,
                                            outcome_fields=REFERRAL_FIELDS)
            result.estimates.append(sc.estimate if hasattr(sc, "estimate") else sc)
            result.extras["synthetic_control"] = sc
        except (ImportError, ValueError) as exc:
            result.not_run.append(f"synthetic control, referrals: {exc}")
        # one ward: the controlled interrupted time series cross-checks the synthetic control
        _its(monthly, go_live, events, programme, outcome, result)


def _its(monthly: pd.DataFrame, go_live: pd.DataFrame, events: Events, programme: str, outcome: str,
         result: ProgrammeResult) -> None:
    from pipeline.impact.its import estimate_its, series_from_panel

    wards = set(go_live["ward_code"].astype("str"))
    others = sorted(set(monthly["ward_code"].astype("str")) - wards)
    if not others:
        result.not_run.append("interrupted time series: no ward outside every area programme to compare with")
        return
    try:
        first = go_live["go_live_date"].min()
        series = pd.concat([series_from_panel(monthly, sorted(wards), "treated"),
                            series_from_panel(monthly, others, "control")], ignore_index=True)
        found = estimate_its(series, programme=programme, outcome=outcome, intervention_date=first,
                             recording_regime=events.recording_regime, outcome_fields=REFERRAL_FIELDS,
                             treated_wards=sorted(wards), control_wards=others)
        result.estimates.extend(found)
        result.frames["its_series"] = series
    except ValueError as exc:
        result.not_run.append(f"interrupted time series, referrals: {exc}")


def _area_wards(events: Events, exclude: str) -> list[str]:
    """Wards where any other area programme went live (not a clean comparison)."""
    rows = events.rollout[events.rollout["programme"].astype("str") != exclude]
    return rows["ward_code"].dropna().astype("str").tolist()


def programmes_to_run(events: Events, settings: ImpactSettings) -> list[tuple[str, str]]:
    """``(programme, kind)`` to evaluate: every programme in programmes.csv (or the ones params name)."""
    rows = events.programmes.dropna(subset=["programme"])
    wanted = settings.programmes
    return [(str(r.programme), str(r.kind)) for r in rows.itertuples(index=False)
            if wanted is None or str(r.programme) in wanted]


def recording_result(events: Events, linked: Mapping[str, pd.DataFrame], attributes: pd.DataFrame,
                     dated: pd.DataFrame, current: pd.Series, settings: ImpactSettings) -> ProgrammeResult:
    """The recording check (programme ``recording_break``, kind ``recording``): for each one-ward change of CIN
    assessment factors in ``recording_regime``, the recorded rise taken at face value beside the change beyond
    the recording step (:mod:`pipeline.impact.recording_check`)."""
    from pipeline.impact.recording_check import PROGRAMME, recording_estimates

    result = ProgrammeResult(PROGRAMME, "recording")
    last_month = panels.last_complete(pd.Timestamp(settings.extract_date), "M")
    excluded = set(events.rollout["ward_code"].dropna().astype("str"))
    found, frames, not_run = recording_estimates(events.recording_regime, linked.get("cin_assessment"), attributes,
                                                 dated, current, excluded, last_month)
    result.estimates.extend(found)
    result.frames.update(frames)
    result.not_run.extend(not_run)
    return result
