"""The gate's linkage checks for a model about adults, judged on adults' records and worded for adult teams.

The children's checks (``ethics.fairness_checks``) judge the school and health links that feed the children's
models; an adult model's inputs come from GP, hospital, death, adult social care and learning-disability
register records, and a school link says nothing about them (a 70-year-old has no school record to find). So
for a model whose population is not ``children`` (run.json ``population``) the gate swaps in these two:

- :func:`check_adult_linkage_quality`: pairwise precision and recall (ground truth or clerical review), and the
  recall in each **adult** age band of the linkage report (18-24, 25-64, 65-84, 85+) and in each ethnic group;
- :func:`check_adult_link_rate_gap`: the link-rate gaps of the directions between the sources that feed the
  model (:data:`SOURCES_OF_INPUTS`), between adult age bands and between the groups of each
  ``link_rate_attributes`` (ethnic group, deprivation, sex).

Both use the same pre-registered thresholds as the children's, and say in their evidence who would be missed.
The linkage report splits ethnic groups and deprivation over every age of a direction's records (it does not
cross them with age): the evidence says so.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ethics.fairness_checks import worst_group_recall
from ethics.gate_evidence import CheckResult, GateEvidence, as_number
from ethics.thresholds import Thresholds

ADULT_AGE_BANDS = ("18-24", "25-64", "65-84", "85+")  # pipeline.linkage.persons.AGE_BANDS from 18
# feature groups of the adult models -> the sources whose records (and links) they are built from; the
# register's carer features read each carer's GP, hospital, social care and death records through its links
SOURCES_OF_INPUTS = {
    "adult_health": ("health",),
    "adult_gp": ("gp",),
    "adult_social_care": ("adult_social_care",),
    "deaths": ("deaths",),
    "ld_register": ("ld_register", "gp", "health", "adult_social_care", "deaths"),
}
CONSEQUENCE = ("their records are joined less often, so what the other services hold about them is missing from "
               "their scores and the list under-ranks them")


def is_adult_model(ev: GateEvidence) -> bool:
    """True for a version whose population (run.json ``population``) is not ``children``; a run.json from before
    it was recorded counts as adult when an input comes from an adult feature group."""
    return run_is_adult(ev.run)


def run_is_adult(run: dict[str, Any]) -> bool:
    """:func:`is_adult_model` of a run.json."""
    population = run.get("population")
    if population:
        return population != "children"
    return bool(run_sources(run))


def model_sources(ev: GateEvidence) -> set[str]:
    """The sources whose records feed the version's inputs (:data:`SOURCES_OF_INPUTS` of its feature groups)."""
    return run_sources(ev.run)


def run_sources(run: dict[str, Any]) -> set[str]:
    """:func:`model_sources` of a run.json."""
    from features.registry import FEATURES

    groups = {FEATURES[c].group for c in run.get("feature_columns") or [] if c in FEATURES}
    return {source for group in groups for source in SOURCES_OF_INPUTS.get(group, ())}


def check_adult_linkage_quality(ev: GateEvidence, th: Thresholds) -> CheckResult:
    """Precision and recall overall, and recall in each adult age band and each ethnic group (groups of
    ``min_group_size``+ true pairs): a linkage that misses the oldest adults' records, or one group's, makes
    them look lower risk than they are, however good the average."""
    truth = (ev.linkage or {}).get("truth") or (ev.linkage or {}).get("clerical_review")
    if not truth:
        return CheckResult("not_evaluable", "no ground truth or clerical-review result in reports/linkage.json")
    if truth.get("not_evaluable"):
        return CheckResult("not_evaluable", f"clerical review: {truth['not_evaluable']}")
    precision, recall = as_number(truth.get("precision")), as_number(truth.get("recall"))
    if precision is None or recall is None:
        return CheckResult("not_evaluable", "linkage precision/recall missing")
    age = worst_group_recall(truth, "age_band", th.min_group_size, ADULT_AGE_BANDS)
    if age is None:
        return CheckResult("not_evaluable", "reports/linkage.json has no recall by adult age band (18-24, 25-64, "
                           f"65-84, 85+) with {th.min_group_size}+ true pairs: the adults' linkage cannot be judged")
    ethnic = worst_group_recall(truth, "ethnicity_group", th.min_group_size)
    evidence = (f"pairwise precision {precision:.4f} (minimum {th.min_linkage_precision}), recall {recall:.4f} "
                f"(minimum {th.min_linkage_recall}); lowest recall among adults' age bands {age[1]:.4f} "
                f"(aged {age[0]})")
    if ethnic is not None:
        evidence += f"; lowest recall by ethnic group {ethnic[1]:.4f} ({ethnic[0]}, all ages)"
    short = [f"adults aged {age[0]}"] if age[1] < th.min_linkage_recall else []
    if ethnic is not None and ethnic[1] < th.min_linkage_recall:
        short.append(f"people in the {ethnic[0]} ethnic group")
    ok = precision >= th.min_linkage_precision and recall >= th.min_linkage_recall and not short
    if short:
        evidence += f": for {' and '.join(short)} {CONSEQUENCE}"
    return CheckResult("pass" if ok else "fail", evidence)


def adult_link_rate_gaps(linkage: dict[str, Any], directions: Iterable[str], attributes: Iterable[str],
                         min_group_size: int) -> dict[str, tuple[float, str, float]]:
    """Per ``direction/attribute``: ``(largest minus smallest link rate, the lowest group, its rate)`` over groups
    of ``min_group_size``+ records; age bands are the adult ones only."""
    gaps = {}
    for direction in directions:
        by_group = ((linkage.get("link_rates") or {}).get(direction) or {}).get("by_group") or {}
        for attribute in ("age_band", *attributes):
            groups = by_group.get(attribute) or {}
            only = ADULT_AGE_BANDS if attribute == "age_band" else None
            rates = {g: float(v["rate"]) for g, v in groups.items() if (only is None or g in only)
                     and (v.get("records") or 0) >= min_group_size and v.get("rate") is not None}
            if len(rates) >= 2:
                low = min(rates, key=rates.get)
                gaps[f"{direction}/{attribute}"] = (max(rates.values()) - rates[low], low, rates[low])
    return gaps


def direction_words(direction: str) -> str:
    """``gp_to_health`` as "GP records linked to health records" (the registry's display names)."""
    from pipeline.sources.registry import all_sources, link_rate_pairs

    def records(name: str) -> str:  # "death registrations" is a plural already; "GP" is not
        words = names.get(name, name)
        return words if words.endswith("s") else f"{words} records"

    names = {s: source.display_name for s, source in all_sources().items()}
    for a, b in link_rate_pairs():
        if f"{a}_to_{b}" == direction:
            return f"{records(a)} linked to {records(b)}"
    return direction


def check_adult_link_rate_gap(ev: GateEvidence, th: Thresholds) -> CheckResult:
    """The largest gap in link rates between adult age bands or groups, over the declared directions between
    the sources that feed the model (``pipeline.sources.registry.link_rate_pairs``, gated or reported-only)."""
    from pipeline.sources.registry import link_rate_pairs

    if not ev.linkage:
        return CheckResult("not_evaluable", "reports/linkage.json missing")
    sources = model_sources(ev)
    directions = [f"{a}_to_{b}" for a, b in link_rate_pairs() if a in sources and b in sources]
    if not directions:
        return CheckResult("not_evaluable", f"no link-rate direction is declared between the sources feeding this "
                           f"model ({', '.join(sorted(sources)) or 'none'}): declare link_rates_to in "
                           "pipeline/sources so the linkage report measures them")
    gaps = adult_link_rate_gaps(ev.linkage, directions, th.link_rate_attributes, th.min_group_size)
    if not gaps:
        return CheckResult("not_evaluable", f"no link rates by adult age band or group with {th.min_group_size}+ "
                           f"records in {', '.join(directions)}")
    worst = max(gaps, key=lambda k: gaps[k][0])
    gap, low, rate = gaps[worst]
    direction, attribute = worst.split("/", 1)
    who = f"adults aged {low}" if attribute == "age_band" else f"{attribute.replace('_', ' ')} {low} (all ages)"
    evidence = (f"largest link-rate gap {gap:.3f} ({direction_words(direction)}, by {attribute.replace('_', ' ')}; "
                f"lowest: {who} {rate:.3f}) vs maximum {th.max_link_rate_gap:.3f}, over "
                f"{'; '.join(direction_words(d) for d in directions)}")
    if gap > th.max_link_rate_gap:
        return CheckResult("fail", f"{evidence}: for {who} {CONSEQUENCE}")
    return CheckResult("pass", evidence)
