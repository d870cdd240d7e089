"""What the person index says about linkage quality: counts, cluster sizes, link rates by group.

Link rates are the numbers a reader needs to judge linkage bias: if one ethnic group's
social-care records link to school records less often, every school-derived feature is missing
more often for that group, and downstream models inherit the gap. The directions reported are
those the source registry declares (``Source.link_rates_to``; ``registry.link_rate_pairs``, named
``<from>_to_<to>`` as ``registry.link_rate_directions`` lists them).
"""

from __future__ import annotations

from itertools import combinations

import pandas as pd

from pipeline.linkage.evaluation import GROUP_COLUMNS
from pipeline.sources import registry


def summarise_sources(index: pd.DataFrame) -> dict[str, dict[str, int]]:
    """Records and distinct people per source. ``index``: ``table``, ``person_id``."""
    grouped = index.groupby("table")
    return {t: {"records": int(len(g)), "people": int(g["person_id"].nunique())} for t, g in grouped}


def sources_held(index: pd.DataFrame) -> pd.DataFrame:
    """Whether each person holds a record of each source: ``person_id`` x ``table`` booleans.

    A grouped count, not ``pd.crosstab``: crosstab counts each cell in Python, minutes at a county.
    """
    return index.groupby(["person_id", "table"]).size().unstack(fill_value=0).gt(0)


def people_per_source_pair(index: pd.DataFrame) -> dict[str, int]:
    """People holding records in both sources of each pair of person sources (registry order), as ``a|b``."""
    holds = sources_held(index)
    return {
        f"{a}|{b}": int((holds[a] & holds[b]).sum()) if a in holds and b in holds else 0
        for a, b in combinations([s.name for s in registry.person_sources()], 2)
    }


def cluster_sizes(index: pd.DataFrame, max_records: dict[str, int]) -> dict:
    """Distribution of records per person, and people over ``max_records`` for any source.

    Returns:
        ``records_per_person`` (size -> people), ``by_route`` (route -> records), ``oversized``
        (count, per-source counts, and up to 50 person_ids to review).
    """
    per_person = index.groupby("person_id").size()
    counts = index.groupby(["person_id", "table"]).size().unstack(fill_value=0)
    over = pd.Series(False, index=counts.index)
    by_source = {}
    for source, limit in max_records.items():
        if source in counts:
            flag = counts[source] > limit
            by_source[source] = int(flag.sum())
            over |= flag
    return {
        "records_per_person": {str(k): int(v) for k, v in per_person.value_counts().sort_index().items()},
        "by_route": {k: int(v) for k, v in index["match_route"].value_counts().sort_index().items()},
        "oversized": {
            "people": int(over.sum()),
            "by_source": by_source,
            "limits": dict(max_records),
            "person_ids": sorted(over[over].index.astype(str))[:50],
        },
    }


def link_rates(index: pd.DataFrame) -> dict:
    """Share of each source's records whose person also has a record in the target source, for each
    declared direction (``registry.link_rate_pairs``).

    Args:
        index: ``table``, ``person_id`` and ``GROUP_COLUMNS`` (the record's own attributes).

    Returns:
        ``<source>_to_<target>`` -> {``overall``, ``records``, ``by_group`` -> column -> value -> rate}.
    """
    holds = sources_held(index)
    rates = {}
    for source, target in registry.link_rate_pairs():
        rows = index[index["table"] == source]
        if rows.empty:
            continue
        has_target = holds[target] if target in holds else pd.Series(False, index=holds.index)
        linked = rows["person_id"].map(has_target).astype(float)
        by_group = {
            column: {
                str(k): {"rate": float(v["mean"]), "records": int(v["count"])}
                for k, v in linked.groupby(rows[column]).agg(["mean", "count"]).iterrows()
            }
            for column in GROUP_COLUMNS
        }
        rates[f"{source}_to_{target}"] = {
            "overall": float(linked.mean()),
            "records": int(len(rows)),
            "by_group": by_group,
        }
    return rates


def format_review_sample(sample: pd.DataFrame, gamma_labels: dict[str, dict[int, str]]) -> pd.DataFrame:
    """The clerical-review sample as reviewers read it, weakest pair first.

    Tokens only, never values: ``source_l/_r``, ``record_key_tok_l/_r``, ``match_weight``,
    ``match_probability``, one ``level_<comparison>`` label per comparison, and the token columns
    the comparisons used (so a key holder can look the records up).

    Args:
        sample: scored pairs drawn for review (``fetch_review_pairs``): the columns above with
            ``gamma_<comparison>`` levels and the ``<token>_l/_r`` columns.
        gamma_labels: ``gamma_labels_from_model``.
    """
    levels = {
        f"level_{name}": sample[f"gamma_{name}"].map(labels)
        for name, labels in gamma_labels.items()
        if f"gamma_{name}" in sample
    }
    tokens = sorted(
        c
        for c in sample.columns
        if (c.endswith(("_tok_l", "_tok_r")) or c in ("sex_l", "sex_r")) and not c.startswith("record_key")
    )
    head = [
        "source_l",
        "record_key_tok_l",
        "source_r",
        "record_key_tok_r",
        "match_weight",
        "match_probability",
    ]
    out = pd.concat([sample[head], pd.DataFrame(levels, index=sample.index), sample[tokens]], axis=1)
    # ties in probability ordered by the pair's keys, so the file is the same on every run
    return out.sort_values(["match_probability", *head[:4]], kind="stable").reset_index(drop=True)


def gamma_labels_from_model(model: dict) -> dict[str, dict[int, str]]:
    """comparison name -> gamma value -> level label (null is -1; levels count down to else = 0)."""
    labels = {}
    for comparison in model["comparisons"]:
        levels = comparison["comparison_levels"]
        non_null = [lvl for lvl in levels if not lvl.get("is_null_level")]
        mapping = {
            len(non_null) - 1 - i: lvl.get("label_for_charts", str(i)) for i, lvl in enumerate(non_null)
        }
        mapping[-1] = "null"
        labels[comparison["output_column_name"]] = mapping
    return labels
