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

from datetime import date

import pandas as pd

from pipeline.linkage.family import MAX_PEOPLE_AT_ADDRESS
from pipeline.linkage.family_pairs import (
    linked_true_pairs,
    pair_frame,
    pair_quality,
    pairs_sharing,
    quality_by_group,
    share_in,
)
from pipeline.linkage.membership import is_in
from pipeline.linkage.persons import AGE_BANDS


def person_groups(people: pd.DataFrame, as_of: date | None) -> dict[str, pd.Series]:
    """True person id -> group, per attribute: ``{"ethnicity_group": ..., "age_band": ...}`` (``age_band`` only
    with ``as_of``); a person listed twice takes their last row.

    Args:
        people: truth (``person_id``, ``ethnicity_group``, ``dob``, ``death_date``).
    """
    ids = people["person_id"].astype(str)
    last = ~ids.duplicated(keep="last").to_numpy()

    def by_person(groups: pd.Series) -> pd.Series:
        return pd.Series(groups.astype(str).to_numpy()[last], index=ids.to_numpy()[last], dtype=object)

    out = {"ethnicity_group": by_person(people["ethnicity_group"].fillna("Unknown"))}
    if as_of is not None:
        on = pd.to_datetime(people["death_date"]).fillna(pd.Timestamp(as_of)).clip(upper=pd.Timestamp(as_of))
        dob = pd.to_datetime(people["dob"])
        age = on.dt.year - dob.dt.year - ((on.dt.month * 100 + on.dt.day) < (dob.dt.month * 100 + dob.dt.day))
        band = pd.Series("Unknown", index=people.index, dtype="string")
        for low, high, label in AGE_BANDS:
            band = band.mask((age >= low) & (age <= high), label)
        out["age_band"] = by_person(band)
    return out


def _by_groups(predicted: pd.DataFrame, true: pd.DataFrame, groups: dict[str, pd.Series],
               members: list[str], min_group: int) -> dict[str, dict]:
    return {f"by_{column}": quality_by_group(predicted, true, members, group_of, min_group)
            for column, group_of in groups.items()}


def _seen(truth: pd.DataFrame, sources: set[str]) -> pd.Index:
    """True people holding a record in one of ``sources``."""
    return pd.Index(truth.loc[truth["source"].isin(sources), "true_person_id"].astype(str).unique())


def household_quality(rows: pd.DataFrame, true_of: pd.Series, truth: pd.DataFrame, addresses: pd.DataFrame,
                      people: pd.DataFrame, groups: dict[str, pd.Series], min_group: int) -> dict:
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
    now = now[is_in(now["person_id"], seen)].drop_duplicates("person_id")
    now = now[now.groupby("uprn")["person_id"].transform("size") <= MAX_PEOPLE_AT_ADDRESS]
    true = pairs_sharing(now, "uprn")
    predicted = linked_true_pairs(rows, true_of, ordered=False)
    same = pairs_sharing(people[["person_id", "household_id"]].dropna().astype(str), "household_id")
    return {**pair_quality(predicted, true), "same_household_share": share_in(predicted, same),
            **_by_groups(predicted, true, groups, ["a", "b"], min_group)}


def carer_quality(rows: pd.DataFrame, true_of: pd.Series, truth: pd.DataFrame, caring: pd.DataFrame,
                  people: pd.DataFrame, groups: dict[str, pd.Series], min_group: int,
                  sources: set[str]) -> dict:
    """``carer_of`` quality of links read from ``sources``, against the truth's ordered caring pairs.

    ``recall_within_household`` is the recall over the true pairs whose two people belong to one household
    (``household_id``): the only pairs a household key can find.

    Args:
        caring: ``adults_caring`` truth (``carer_id``, ``cared_for_id``).
        people: truth (``person_id``, ``household_id``).
    """
    seen = _seen(truth, sources)
    true = pair_frame(caring["carer_id"], caring["cared_for_id"])
    true = true[is_in(true["a"], seen) & is_in(true["b"], seen)]
    predicted = linked_true_pairs(rows, true_of, ordered=True)
    ids = people["person_id"].astype(str)
    last = ~ids.duplicated(keep="last").to_numpy()  # a person listed twice: their last row
    household = pd.Series(people["household_id"].astype(str).to_numpy()[last], index=ids.to_numpy()[last])
    home_a, home_b = true["a"].map(household), true["b"].map(household)
    together = true[(home_a.notna() & (home_a == home_b)).to_numpy()]
    return {**pair_quality(predicted, true),
            "recall_within_household": share_in(together, predicted),
            **_by_groups(predicted, true, groups, ["b"], min_group)}


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
