"""Assemble one card dict per programme × outcome × horizon from a programme's estimates and frames.

Pure (figures are drawn in memory and embedded as base64 PNG). The dict is what
:func:`ethics.card.impact_card.render_impact_card_html` renders and what estimates.json records.
"""

from __future__ import annotations

import logging
from typing import Any

import pandas as pd

from pipeline.impact import card_content as cc
from pipeline.impact.estimate import Estimate
from pipeline.impact.events import Events
from pipeline.impact.outcomes import OUTCOME_WORDS
from pipeline.impact.stage import ImpactSettings, ProgrammeResult, children_scored, trial_rows

log = logging.getLogger(__name__)

OUTCOME_NOUNS = {"care_entry": "care entry", "referral": "referral"}
AREA_OUTCOME_WORDS = {"referral": "referrals to children's social care", "care_entry": "entries into care"}
RECORDED = (
    "Each scoring run of the risk list: date, model release, capacity, cut-off score, how the list was drawn.",
    "Every child's score and rank in each run, listed or not (needed to compare children just either side of "
    "the cut-off).",
    "Every offer of help: route (list, professional, self), team, date, whether it overrode the list and why, "
    "acceptance or decline, start, end and number of contacts.",
    "Programme rollouts by ward with go-live dates; changes in how fields are recorded; unit costs with "
    "their source and price year.",
)
COMPARISON_USE = (
    "The comparison group is children who were scored but not offered help, and wards not yet reached. Their "
    "pseudonymised records (scores, referrals, care episodes, school absence) are processed to estimate what "
    "would have happened without help; nothing about them is released at person level, no decision about them "
    "is made from this evaluation, and every published count is aggregated with small cells suppressed. The "
    "list's own impact, not only its accuracy, is what is evaluated here.")


def _plot(draw, *args, **kwargs) -> str | None:
    try:
        return cc.png_base64(draw(*args, **kwargs))
    except (ValueError, KeyError, TypeError) as exc:
        log.info("chart not drawn: %s", exc)
        return None


def charts_for(estimates: list[Estimate], result: ProgrammeResult) -> list[dict]:
    """Diagnostic charts of the card's estimates (love plot + overlap, RD plot, event study, SC, ITS)."""
    from pipeline.impact import aipw, its, rd

    charts = []
    for e in estimates:
        png, title, alt = None, "", ""
        if e.design == "aipw":
            png = _plot(aipw.plot_offer_balance, e)
            title, alt = ("Balance before and after weighting, and overlap of the chance of an offer",
                          "Standardised differences of each covariate and histograms of estimated offer chance")
        elif e.design == "rd_fuzzy":
            png = _plot(rd.plot_cut_discontinuity, e)
            title, alt = ("Outcome and offer rates either side of the list's cut-off",
                          "Binned outcome rate and offer rate by distance of the score from the cut-off")
        elif e.design == "cs_did" and "staggered" in result.extras:
            from pipeline.impact.staggered import plot_event_study

            png = _plot(plot_event_study, result.extras["staggered"])
            title, alt = ("Event study: effect by quarters since go-live, with two-way fixed effects beside it",
                          "Effect per quarter before and after go-live for both designs with 95% intervals")
        elif e.design == "synthetic_control" and "synthetic_control" in result.extras:
            from pipeline.impact import synthetic_control

            draw = getattr(synthetic_control, "plot_synthetic_control", None)
            png = _plot(draw, result.extras["synthetic_control"]) if draw else None
            title, alt = ("Pilot ward against its synthetic control, and placebo gaps",
                          "Referral rate of the pilot ward and its synthetic control over time")
        elif e.design.startswith("its") and "its_series" in result.frames and not any(
                c["title"].startswith("Monthly") for c in charts):
            mine = tuple(x for x in result.estimates if x.design.startswith("its") and x.outcome == e.outcome)
            png = _plot(its.plot_its, result.frames["its_series"], mine,
                        intervention_date=result.extras.get("go_live_first"))
            title, alt = ("Monthly referral rate with the counterfactual (interrupted time series)",
                          "Observed monthly rates of treated and comparison wards with fitted and counterfactual")
        if png:
            charts.append({"title": title, "alt": alt, "png_base64": png})
    return charts


def offer_annex(result: ProgrammeResult, outcome: str, horizon: int, settings: ImpactSettings,
                attributes: pd.DataFrame) -> dict:
    """The IG annex's group tables for an offer programme: rates and the AIPW effect per group."""
    from pipeline.impact.aipw import estimate_offer_effect
    from pipeline.impact.stage import COVARIATES

    column = f"{outcome}_{horizon}m"
    scored = result.frames.get("scored")
    groups = []
    if scored is not None:
        def with_groups(frame: pd.DataFrame) -> pd.DataFrame:
            frame = frame.merge(attributes[["person_id", "sex", "ethnicity_group"]], on="person_id", how="left")
            frame["imd_group"] = cc.imd_group(frame["imd_decile"])
            return frame.assign(offered=frame["offered"].astype("int64"), accepted=frame["accepted"].astype("int64"),
                                **{column: frame[column].astype("int64")})

        # counts per child; effects compare run by run (stage.trial_rows), clustered by child
        persons, trials = with_groups(children_scored(scored, column)), with_groups(trial_rows(scored, column))
        covariates = [c for c in COVARIATES if c in trials.columns]
        for attribute, label in (("sex", "Sex"), ("ethnicity_group", "Ethnicity group"),
                                 ("imd_group", "Home deprivation (IMD decile of the home's LSOA)")):
            effects: dict[str, Estimate | None] = {}
            for group, part in trials.groupby(attribute):
                part = part.reset_index(drop=True)
                cells = pd.crosstab(part["offered"], part[column]).reindex(index=[0, 1], columns=[0, 1], fill_value=0)
                if int(cells.to_numpy().min()) < settings.min_cell:  # too few to fit: shown as not estimable
                    effects[str(group)] = None
                    continue
                part = part.assign(**{c: part[c].astype("float64").fillna(part[c].astype("float64").median())
                                      for c in covariates})
                try:
                    found = estimate_offer_effect(part, outcome=column, covariates=covariates,
                                                  programme=result.programme, horizon_months=horizon,
                                                  folds=settings.folds, trim=settings.trim, target="att",
                                                  seed=settings.seed, min_cell=settings.min_cell, cross_check=False,
                                                  cluster="person_id")
                    small = "small_cells" in found[0].flags
                    effects[str(group)] = None if small else found[0]
                except ValueError:
                    effects[str(group)] = None
            groups.append({"attribute": label, "columns": [label, "Children", "Offered", "Accepted",
                                                           f"{OUTCOME_NOUNS[outcome].capitalize()} within {horizon}m",
                                                           "Effect of an offer (95% interval)"],
                           "rows": cc.group_rows(persons, attribute, column, settings.min_cell, effects)})
    return {"recorded": list(RECORDED), "comparison_use": COMPARISON_USE, "groups": groups,
            "suppression": f"Counts below {settings.min_cell} are suppressed, with any rate that would reveal "
                           "them. Effects by group come from the doubly robust weighting fitted within the group "
                           "(the cut-off design has too few children per group), with that design's caveats; a "
                           "group with too few offered or too few outcomes shows none."}


def area_annex(result: ProgrammeResult, settings: ImpactSettings) -> dict:
    panel = result.frames.get("panel")
    rows = []
    if panel is not None and len(panel):
        latest = panel[panel["period"] == panel["period"].max()]
        for live, part in latest.groupby(latest["go_live"].notna()):
            n = int(part["children"].sum())
            rows.append({"cells": ["wards with the programme" if live else "wards without", f"{len(part):,}",
                                   f"{n:,}" if n >= settings.min_cell else f"fewer than {settings.min_cell}"],
                         "suppressed": n < settings.min_cell})
    table = {"attribute": "Wards (latest quarter)", "columns": ["Wards", "Number", "Children 0-17"], "rows": rows}
    return {"recorded": list(RECORDED), "comparison_use": COMPARISON_USE, "groups": [table],
            "suppression": f"Area estimates use ward totals only; counts below {settings.min_cell} are suppressed."}


def programme_name(programme: dict, code: str) -> str:
    """The programme's name from the programmes table (staged as ``programme_name``: a ``name`` column is for
    people), else a readable form of its code (``early_help_offer`` -> "Early help offer")."""
    names = [programme.get(k) for k in ("name", "programme_name")]
    found = next((n.strip() for n in names if isinstance(n, str) and n.strip()), None)
    return found or str(code).replace("_", " ").strip().capitalize()


def area_exposure(panel: pd.DataFrame | None, rollout: pd.DataFrame, extract_date) -> dict:
    """Child-periods live, families reached (capacity per month x months live), the months since the first
    go-live, and the mean Green Book discount factor of each (months counted from the first go-live).

    Args:
        panel: ward x period (``period, go_live, children``); rollout: ``go_live_date, capacity_per_month``.
    """
    from pipeline.impact.costs import discount_factor

    out = {"exposure_child_periods": 0.0, "families": None, "savings_discount": 1.0, "cost_discount": 1.0,
           "months_live": 0}
    go_live = pd.to_datetime(rollout["go_live_date"], errors="coerce")
    if go_live.isna().all():
        return out
    first, extract = go_live.min(), pd.Timestamp(extract_date)
    out["months_live"] = max(int((extract - first).days / 30.44), 0)
    if panel is not None and len(panel):
        live = panel[panel["go_live"].notna() & (panel["period"] >= panel["go_live"])]
        if len(live) and live["children"].sum() > 0:
            since = (pd.to_datetime(live["period"]) - first).dt.days / 30.44
            out["exposure_child_periods"] = float(live["children"].sum())
            out["savings_discount"] = float((live["children"] * since.map(discount_factor)).sum()
                                            / live["children"].sum())
    capacity = pd.to_numeric(rollout["capacity_per_month"], errors="coerce")
    if capacity.notna().any():
        months = ((extract - go_live).dt.days / 30.44).clip(lower=0)
        out["families"] = float((capacity * months).sum())
        # each ward's families arrive month by month from its go-live: discount each month from the first go-live
        weights = [(c, (g - first).days / 30.44 + m) for c, g, n in zip(capacity, go_live, months, strict=True)
                   if pd.notna(c) and pd.notna(g) for m in range(int(n))]
        if weights:
            out["cost_discount"] = sum(c * discount_factor(t) for c, t in weights) / sum(c for c, _ in weights)
    return out


def build_card(result: ProgrammeResult, programme: dict, events: Events, outcome: str, horizon: int,
               settings: ImpactSettings, attributes: pd.DataFrame, tested: list[str]) -> dict[str, Any]:
    """One card dict (see ethics/templates/impact_card.html.j2 for every key it shows)."""
    offer = result.kind == "offer"
    # an area estimate's horizon is its post-period (months since go-live), not a follow-up window
    mine = [e for e in result.estimates if e.outcome == outcome and (e.horizon_months == horizon or not offer)]
    primary = cc.primary_of(mine)
    ordered = ([primary] if primary else []) + [e for e in mine if e is not primary]
    name = programme_name(programme, result.programme)
    extra = [f"Not estimated: {why}" for why in result.not_run if OUTCOME_NOUNS.get(outcome, outcome) in why
             or outcome in why or "referrals" in why]
    if offer:
        offers = events.offers[events.offers["programme"].astype("str") == result.programme]
        answered = offers["accepted"].dropna()
        share = float(answered.astype(bool).mean()) if len(answered) else None
        card_costs = cc.offer_costs(primary, programme, share, events.unit_costs, outcome)
        annex = offer_annex(result, outcome, horizon, settings, attributes)
        scored = result.frames.get("scored")
        column = f"{outcome}_{horizon}m"
        follow = (f"{scored[column].notna().mean():.0%} of child × run rows have their {horizon} months of follow-up "
                  "by the extract date (the rest are left out, whatever happened)") if scored is not None else ""
        question = (f"Does offering “{name}” reduce {AREA_OUTCOME_WORDS.get(outcome, outcome)} within {horizon} "
                    "months, compared with similar children who were not offered it?")
    else:
        rollout = events.rollout[events.rollout["programme"].astype("str") == result.programme]
        card_costs = cc.area_costs(primary, programme, events.unit_costs, outcome, **area_exposure(
            result.frames.get("panel"), rollout, settings.extract_date))
        annex = area_annex(result, settings)
        follow = "ward totals up to the last complete quarter before the extract date"
        question = (f"Did “{name}” reduce {AREA_OUTCOME_WORDS.get(outcome, outcome)} per 1,000 children per quarter "
                    "in the wards where it went live, compared with what would have happened there without it?")
    if not offer:
        horizon = max((e.horizon_months for e in mine), default=horizon)
    return {
        "id": f"{result.programme}__{outcome}__{horizon}m" if offer else f"{result.programme}__{outcome}",
        "title": f"{name}: {OUTCOME_WORDS[outcome]}",
        "programme": result.programme, "programme_name": name, "kind": result.kind, "outcome": outcome,
        "outcome_words": OUTCOME_WORDS[outcome], "outcome_noun": OUTCOME_NOUNS[outcome], "horizon_months": horizon,
        "outcome_scale": "proportion" if offer else "rate", "extract_date": str(settings.extract_date),
        "question": question, "estimand": primary.estimand.replace(result.programme, f"“{name}”") if primary
        else "no estimate",
        "primary": cc.estimate_row(primary, offer) if primary else None,
        "others": [cc.estimate_row(e, offer) for e in ordered], "nnt": card_costs.get("nnt"), "costs": card_costs,
        "follow_up_text": follow, "charts": charts_for(ordered, result),
        "diagnostics_text": [f"{cc.DESIGN_LABELS.get(e.design, e.design)}: {e.library}" for e in ordered],
        "caveats": cc.caveats_for(ordered, extra), "annex": annex, "tested": tested,
        "generated_by": ", ".join(sorted({e.library for e in ordered})),
    }
