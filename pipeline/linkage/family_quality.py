"""Quality of the GP household and carer links against synthetic truth, overall and by group (evaluation only).

Pairwise precision and recall as for the other family relations (``pipeline.linkage.family``): a predicted
link is true when the true people its two person ids stand for are a true pair; recall is over the true
pairs whose two people both hold a record in a source the relation is built from.

By group: ``by_ethnicity_group`` and ``by_age_band`` (age on the extract date, or at death if earlier; the
linkage report's bands). A ``carer_of`` pair belongs to the group of the person cared for; a
``same_household`` pair to the group of each of its two people (once when both share it). A group with fewer
than ``min_group`` true or predicted pairs is published as ``{"suppressed": true}`` only.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import pandas as pd

from pipeline.linkage.family import MAX_PEOPLE_AT_ADDRESS, _pair_quality, _unordered_pairs
from pipeline.linkage.persons import AGE_BANDS

SUPPRESSED = {"suppressed": True}
_BAND_ORDER = {label: i for i, (_, _, label) in enumerate(AGE_BANDS)}


def _group_order(group: str) -> tuple[int, str]:
    """Age bands youngest first, other groups alphabetically."""
    return _BAND_ORDER.get(group, len(_BAND_ORDER)), group


def quality_by_group(predicted: set, true: set, groups_of: Callable[[tuple], set[str]], min_group: int
                     ) -> dict[str, dict]:
    """Pair quality per group (``groups_of``: pair -> the groups it counts in), small groups suppressed."""
    groups = sorted({g for p in predicted | true for g in groups_of(p)}, key=_group_order)
    out = {}
    for group in groups:
        quality = _pair_quality({p for p in predicted if group in groups_of(p)},
                                {p for p in true if group in groups_of(p)})
        small = min(quality["true_pairs"], quality["predicted_pairs"]) < min_group
        out[group] = dict(SUPPRESSED) if small else quality
    return out


def person_groups(people: pd.DataFrame, as_of: date | None) -> dict[str, dict[str, str]]:
    """True person id -> ``{"ethnicity_group": ..., "age_band": ...}`` (``age_band`` only with ``as_of``).

    Args:
        people: truth (``person_id``, ``ethnicity_group``, ``dob``, ``death_date``).
    """
    ids = people["person_id"].astype(str)
    out = {"ethnicity_group": dict(zip(ids, people["ethnicity_group"].fillna("Unknown").astype(str), strict=True))}
    if as_of is not None:
        on = pd.to_datetime(people["death_date"]).fillna(pd.Timestamp(as_of)).clip(upper=pd.Timestamp(as_of))
        dob = pd.to_datetime(people["dob"])
        age = on.dt.year - dob.dt.year - ((on.dt.month * 100 + on.dt.day) < (dob.dt.month * 100 + dob.dt.day))
        band = pd.Series("Unknown", index=people.index, dtype="string")
        for low, high, label in AGE_BANDS:
            band = band.mask((age >= low) & (age <= high), label)
        out["age_band"] = dict(zip(ids, band.astype(str), strict=True))
    return out


def _by_groups(predicted: set, true: set, groups: dict[str, dict[str, str]], members: Callable[[tuple], tuple],
               min_group: int) -> dict[str, dict]:
    return {f"by_{column}": quality_by_group(predicted, true, lambda p, g=group_of: {g.get(m, "Unknown")
                                                                                     for m in members(p)}, min_group)
            for column, group_of in groups.items()}


def predicted_pairs(rows: pd.DataFrame, true_of: pd.Series, ordered: bool) -> set[tuple[str, str]]:
    """The true-person pairs of links (``person_id_a``, ``person_id_b``), sorted within a pair if unordered."""
    ta, tb = rows["person_id_a"].map(true_of), rows["person_id_b"].map(true_of)
    pairs = {(str(a), str(b)) for a, b in zip(ta, tb, strict=True) if pd.notna(a) and pd.notna(b) and a != b}
    return pairs if ordered else {tuple(sorted(p)) for p in pairs}


def _seen(truth: pd.DataFrame, sources: set[str]) -> set[str]:
    return set(truth.loc[truth["source"].isin(sources), "true_person_id"].astype(str))


def household_quality(rows: pd.DataFrame, true_of: pd.Series, truth: pd.DataFrame, addresses: pd.DataFrame,
                      people: pd.DataFrame, groups: dict[str, dict[str, str]], min_group: int) -> dict:
    """``same_household`` quality: true pairs are people with a GP record living at one UPRN now (an open
    address, ``end`` missing), at addresses of at most ``MAX_PEOPLE_AT_ADDRESS`` such people.

    Args:
        rows: the ``same_household`` links.
        addresses: ``adults_addresses`` truth (``person_id``, ``uprn``, ``end``).
        people: truth (``person_id``, ``household_id``): ``same_household_share`` is the share of links
            within one true household.
    """
    seen = _seen(truth, {"gp"})
    now = addresses[addresses["end"].isna()][["person_id", "uprn"]].astype(str)
    now = now[now["person_id"].isin(seen)].drop_duplicates("person_id")
    now = now[now.groupby("uprn")["person_id"].transform("size") <= MAX_PEOPLE_AT_ADDRESS]
    true = _unordered_pairs(now, "uprn")
    predicted = predicted_pairs(rows, true_of, ordered=False)
    same = _unordered_pairs(people[["person_id", "household_id"]].dropna().astype(str), "household_id")
    return {**_pair_quality(predicted, true),
            "same_household_share": len(predicted & same) / len(predicted) if predicted else None,
            **_by_groups(predicted, true, groups, lambda p: p, min_group)}


def carer_quality(rows: pd.DataFrame, true_of: pd.Series, truth: pd.DataFrame, caring: pd.DataFrame,
                  people: pd.DataFrame, groups: dict[str, dict[str, str]], min_group: int,
                  sources: set[str]) -> dict:
    """``carer_of`` quality of links read from ``sources``, against the truth's ordered caring pairs.

    ``recall_within_household`` is the recall over the true pairs whose two people belong to one household
    (``household_id``): the only pairs a household key can find.

    Args:
        caring: ``adults_caring`` truth (``carer_id``, ``cared_for_id``).
        people: truth (``person_id``, ``household_id``).
    """
    seen = _seen(truth, sources)
    true = {p for p in zip(caring["carer_id"].astype(str), caring["cared_for_id"].astype(str), strict=True)
            if p[0] in seen and p[1] in seen}
    predicted = predicted_pairs(rows, true_of, ordered=True)
    household = dict(zip(people["person_id"].astype(str), people["household_id"].astype(str), strict=True))
    together = {p for p in true if household.get(p[0]) is not None and household.get(p[0]) == household.get(p[1])}
    return {**_pair_quality(predicted, true),
            "recall_within_household": len(predicted & together) / len(together) if together else None,
            **_by_groups(predicted, true, groups, lambda p: (p[1],), min_group)}


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{100 * value:.1f}%"


def _group_rows(quality: dict, min_group: int) -> list[str]:
    rows = []
    for key in sorted(k for k in quality if k.startswith("by_") and k != "by_source"):
        for group, q in quality[key].items():
            cells = ([f"fewer than {min_group} true or linked pairs", "", ""] if q.get("suppressed")
                     else [_pct(q["precision"]), _pct(q["recall"]), f"{q['true_pairs']:,}"])
            rows.append(f"| {key[3:].replace('_', ' ')} | {group} | " + " | ".join(cells) + " |")
    return rows


def family_links_markdown(family: dict) -> list[str]:
    """``reports/linkage.md``'s family section from the report's ``family_links`` (``run_family_links``)."""
    truth, by_source = family.get("truth", {}), family.get("links_by_source", {})
    min_group = family.get("min_group_pairs", 0)
    out = ["## Family and household links", "",
           "| relation | source | links | precision | recall | true pairs |", "|---|---|---|---|---|---|"]
    grouped = []
    for relation, count in family["links"].items():
        quality = truth.get(relation, {})
        sources = by_source.get(relation, {})
        out.append(f"| {relation} | {' + '.join(sources) or 'all'} | {count:,} | {_pct(quality.get('precision'))} | "
                   f"{_pct(quality.get('recall'))} | {quality.get('true_pairs', 0):,} |")
        parts = quality.get("by_source", {}) if len(sources) > 1 or "by_source" in quality else {}
        for source, q in parts.items():
            out.append(f"| {relation} | {source} | {sources.get(source, 0):,} | {_pct(q.get('precision'))} | "
                       f"{_pct(q.get('recall'))} | {q.get('true_pairs', 0):,} |")
        grouped += [(f"{relation} ({source})", q) for source, q in parts.items()]
        grouped += [(relation, quality)] if any(k.startswith("by_") and k != "by_source" for k in quality) else []
    out.append("")
    if "same_household" in truth:
        out.append(f"GP households: {_pct(truth['same_household'].get('same_household_share'))} of same_household "
                   "links join two members of one true household (the rest share an address only).")
    for source, q in truth.get("carer_of", {}).get("by_source", {}).items():
        out.append(f"carer_of from {source}: recall {_pct(q.get('recall_within_household'))} over the true carers "
                   "who live with the person they care for (the only pairs a household key can find).")
    out.append("")
    for title, quality in grouped:
        rows = _group_rows(quality, min_group)
        if rows:
            out += [f"### {title} by group", "", "| attribute | group | precision | recall | true pairs |",
                    "|---|---|---|---|---|", *rows, ""]
    return out
