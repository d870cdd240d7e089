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

from pipeline.impact.estimate import Estimate
from pipeline.impact.events import Events
from pipeline.impact.outcomes import outcome_within, prior_covariates

log = logging.getLogger(__name__)

AIPW_ROWS = "aipw_rows"  # frames[f"aipw_rows_<outcome>_<h>m"]: person_id, run_id, offered of the rows AIPW kept
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
    return out.drop(columns=["from_run", "run_accepted"])


def one_row_per_child(scored: pd.DataFrame, outcome_column: str, seed: int) -> pd.DataFrame:
    """The AIPW frame: each offered child's offering run, and the highest-scored run of each never-offered
    child, among rows whose outcome window has ended and with no offer by another route in the run's month
    (children are not counted twice)."""
    mature = scored[~scored["other_route"]].dropna(subset=[outcome_column])
    offered = mature[mature["offered"]].drop_duplicates("person_id")
    others = mature[~mature["person_id"].isin(offered["person_id"])]
    # a never-offered child's run with their highest score: the closest they came to an offer, so the
    # comparison overlaps the offered (ties broken by a seeded shuffle)
    others = others.sample(frac=1.0, random_state=seed).sort_values("score", ascending=False, kind="stable")
    others = others.drop_duplicates("person_id")
    return pd.concat([offered, others], ignore_index=True)


def offer_estimates(scored: pd.DataFrame, programme: str, settings: ImpactSettings,
                    result: ProgrammeResult) -> None:
    """AIPW (+ naive comparators) and regression discontinuity for each outcome and horizon, into ``result``."""
    from pipeline.impact.aipw import cross_fit_nuisances, estimate_offer_effect, kept_by_overlap
    from pipeline.impact.rd import add_running_variable, estimate_cut_effect

    covariates = [c for c in COVARIATES if c in scored.columns]
    for h in settings.horizons:
        for outcome in settings.outcomes:
            column = f"{outcome}_{h}m"
            persons = one_row_per_child(scored, column, settings.seed)
            persons = persons.assign(**{column: persons[column].astype("int64"),
                                        "offered": persons["offered"].astype("int64")})
            # an unknown covariate (age without a birth month) takes the median: a row is never dropped for it
            persons[covariates] = persons[covariates].astype("float64").fillna(persons[covariates].median())
            try:
                nuisances = cross_fit_nuisances(persons[covariates].to_numpy(dtype=float),
                                                persons["offered"].to_numpy(), persons[column].to_numpy(),
                                                folds=settings.folds, seed=settings.seed)
                found = estimate_offer_effect(persons, outcome=column, covariates=covariates, programme=programme,
                                              horizon_months=h, folds=settings.folds, trim=settings.trim,
                                              target="att", seed=settings.seed, min_cell=settings.min_cell,
                                              nuisances=nuisances)
                result.estimates.extend(_renamed(e, outcome) for e in found)
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
    last_month = (pd.Timestamp(settings.extract_date).to_period("M") - 1).start_time
    excluded = set(events.rollout["ward_code"].dropna().astype("str"))
    found, frames, not_run = recording_estimates(events.recording_regime, linked.get("cin_assessment"), attributes,
                                                 dated, current, excluded, last_month)
    result.estimates.extend(found)
    result.frames.update(frames)
    result.not_run.extend(not_run)
    return result
