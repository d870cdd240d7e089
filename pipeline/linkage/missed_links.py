"""Links the person index missed, and the person index as it would be had they been made.

A missed link is two records of the same child held by two people of the index. Where they come from:

- **synthetic truth** (the demo county): the records the generator says are one child but the index
  holds as two or more people;
- **clerical review** (a council's own data): pairs the reviewer decided are a ``match`` whose two records
  the index holds in different people (the "reviewed non-links").

Either way the people a missed link joins are merged (connected components over people, so a chain of
missed links makes one person), and the merged person keeps the lowest person ID of its parts, as a
persistent index keeps the ID of the part holding the old records. Only tokens and person IDs are handled.
"""

from __future__ import annotations

import pandas as pd

MISSED_FROM = ("truth", "review")


def _components(edges: pd.DataFrame) -> pd.Series:
    """Each node's component label (its lowest node), for undirected ``edges`` ``a, b`` (strings)."""
    parent: dict[str, str] = {}

    def root(node: str) -> str:
        while parent.setdefault(node, node) != node:
            parent[node] = parent[parent[node]]  # path halving keeps long chains cheap
            node = parent[node]
        return node

    for a, b in zip(edges["a"], edges["b"], strict=True):
        ra, rb = root(a), root(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)  # the lowest ID is always the root: it names the component
    return pd.Series({node: root(node) for node in parent}, dtype="string")


def merges_from_pairs(pairs: pd.DataFrame) -> pd.DataFrame:
    """People to merge, from pairs of people a missed link joins.

    Args:
        pairs: ``person_id_l, person_id_r`` (a pair within one person is ignored).

    Returns:
        ``person_id`` (each person a missed link touches), ``merged_person_id`` (the lowest ID of its
        component) and ``parts`` (people in the component), sorted by ``merged_person_id, person_id``.
    """
    edges = pairs.rename(columns={"person_id_l": "a", "person_id_r": "b"})[["a", "b"]].astype("string").dropna()
    edges = edges[edges["a"] != edges["b"]]
    if edges.empty:
        return pd.DataFrame({"person_id": pd.Series(dtype="string"), "merged_person_id": pd.Series(dtype="string"),
                             "parts": pd.Series(dtype="int64")})
    label = _components(edges)
    out = pd.DataFrame({"person_id": label.index.astype("string"), "merged_person_id": label.to_numpy()})
    out["parts"] = out.groupby("merged_person_id")["person_id"].transform("size").astype("int64")
    return out.sort_values(["merged_person_id", "person_id"], kind="stable").reset_index(drop=True)


def missed_pairs_from_truth(person_index: pd.DataFrame, truth: pd.DataFrame) -> pd.DataFrame:
    """Pairs of people holding records of one true child (each child's people joined in a chain).

    Args:
        person_index: ``table`` (source), ``record_key_tok``, ``person_id``.
        truth: ``source``, ``record_key_tok``, ``true_person_id`` (``tokenise_truth_keys``).

    Returns:
        ``person_id_l, person_id_r, true_person_id``: for a child held by people A < B < C, rows A-B and A-C.
    """
    held = person_index.rename(columns={"table": "source"})[["source", "record_key_tok", "person_id"]].merge(
        truth[["source", "record_key_tok", "true_person_id"]], on=["source", "record_key_tok"], how="inner")
    people = held[["true_person_id", "person_id"]].astype("string").drop_duplicates()
    first = people.groupby("true_person_id")["person_id"].transform("min")
    pairs = people.assign(person_id_l=first).rename(columns={"person_id": "person_id_r"})
    pairs = pairs[pairs["person_id_l"] != pairs["person_id_r"]]
    return pairs[["person_id_l", "person_id_r", "true_person_id"]].reset_index(drop=True)


def missed_pairs_from_review(person_index: pd.DataFrame, decisions: pd.DataFrame) -> pd.DataFrame:
    """Reviewed pairs decided ``match`` whose two records the index holds in two people.

    Args:
        person_index: ``table`` (source), ``record_key_tok``, ``person_id``.
        decisions: the clerical decisions store (``source_l, record_key_tok_l, source_r, record_key_tok_r,
            decision``; the latest row of a ``pair_id`` wins when ``pair_id`` is there).

    Returns:
        ``person_id_l, person_id_r, pair_id`` (a decided pair one of whose records is no longer in the index is
        left out).
    """
    if "pair_id" in decisions:
        decisions = decisions.drop_duplicates("pair_id", keep="last")
    matched = decisions[decisions["decision"].astype("string") == "match"]
    person = person_index.set_index(["table", "record_key_tok"])["person_id"].astype("string")
    person = person[~person.index.duplicated()]
    out = pd.DataFrame({"pair_id": matched["pair_id"].astype("string").to_numpy() if "pair_id" in matched
                        else pd.RangeIndex(len(matched)).astype("string")})
    for side in ("l", "r"):
        keys = pd.MultiIndex.from_arrays([matched[f"source_{side}"].astype("string"),
                                          matched[f"record_key_tok_{side}"].astype("string")])
        out[f"person_id_{side}"] = person.reindex(keys).to_numpy()
    out = out.dropna(subset=["person_id_l", "person_id_r"])
    out = out[out["person_id_l"] != out["person_id_r"]]
    return out[["person_id_l", "person_id_r", "pair_id"]].reset_index(drop=True)


def corrected_index(person_index: pd.DataFrame, merges: pd.DataFrame) -> pd.DataFrame:
    """``person_index`` with each merged person's records under its ``merged_person_id``."""
    merged = merges.astype({"person_id": "string", "merged_person_id": "string"}).set_index("person_id")
    person = person_index["person_id"].astype("string")
    # cast before filling: mapping through no merge at all gives an all-missing column typed as numbers
    return person_index.assign(person_id=person.map(merged["merged_person_id"]).astype("string").fillna(person))


def affected_records(person_index: pd.DataFrame, merges: pd.DataFrame) -> pd.DataFrame:
    """The rows of ``person_index`` held by people a missed link touches (what features need for them)."""
    return person_index[person_index["person_id"].astype("string").isin(merges["person_id"])].reset_index(drop=True)
