"""From links to people: connected components over deterministic and probabilistic links.

``person_id`` is opaque and stable for the same input: clusters are ordered by their smallest
``source:record_key_tok`` and numbered ``P00000001``, ``P00000002``, ...
"""

from __future__ import annotations

import pandas as pd

from pipeline.linkage.engine import cluster_connected_components

PERSON_INDEX_COLUMNS = ["table", "record_key_tok", "person_id", "match_probability", "match_route"]


def node_ids(sources: pd.Series, keys: pd.Series) -> pd.Series:
    """``source:record_key_tok`` (a record's id across sources)."""
    return (sources.astype("string") + ":" + keys.astype("string")).astype("string")


def links_to_edges(links: pd.DataFrame, match_probability: float | pd.Series = 1.0) -> pd.DataFrame:
    """Edges ``node_id_l``, ``node_id_r``, ``match_probability`` from pair rows
    (``source_l``, ``record_key_tok_l``, ``source_r``, ``record_key_tok_r``)."""
    return pd.DataFrame(
        {
            "node_id_l": node_ids(links["source_l"], links["record_key_tok_l"]),
            "node_id_r": node_ids(links["source_r"], links["record_key_tok_r"]),
            "match_probability": match_probability,
        }
    )


def number_clusters(clusters: pd.DataFrame) -> pd.Series:
    """Map ``cluster_id`` to ``P`` + 8-digit number, ordered by each cluster's smallest ``node_id``."""
    first = clusters.groupby("cluster_id")["node_id"].min().sort_values(kind="stable")
    numbers = pd.Series(range(1, len(first) + 1), index=first.index)
    return clusters["cluster_id"].map(numbers.map(lambda n: f"P{n:08d}")).astype("string")


def cluster_records(persons: pd.DataFrame, edges: pd.DataFrame, backend: str = "duckdb") -> pd.DataFrame:
    """Connected components of ``edges`` over every person record.

    Args:
        persons: ``source``, ``record_key_tok``.
        edges: ``node_id_l``, ``node_id_r`` (every edge is a link).

    Returns:
        ``node_id``, ``source``, ``record_key_tok``, ``person_id``.
    """
    nodes = pd.DataFrame(
        {
            "node_id": node_ids(persons["source"], persons["record_key_tok"]),
            "source": persons["source"].astype("string"),
            "record_key_tok": persons["record_key_tok"].astype("string"),
        }
    )
    if len(edges):
        clusters = cluster_connected_components(nodes, edges, backend)
        clusters["node_id"] = clusters["node_id"].astype("string")
        clusters["cluster_id"] = clusters["cluster_id"].astype("string")
    else:
        clusters = nodes[["node_id"]].assign(cluster_id=nodes["node_id"])
    clusters = clusters.assign(person_id=number_clusters(clusters))
    return nodes.merge(clusters[["node_id", "person_id"]], on="node_id", how="left", validate="1:1")


def build_person_index(
    persons: pd.DataFrame,
    deterministic_links: pd.DataFrame,
    probabilistic_pairs: pd.DataFrame,
    cluster_threshold: float,
    backend: str = "duckdb",
) -> pd.DataFrame:
    """The person index: clusters of deterministic links UNION probabilistic pairs >= threshold.

    Args:
        persons: ``source``, ``record_key_tok``.
        deterministic_links: ``source_l``, ``record_key_tok_l``, ``source_r``, ``record_key_tok_r``.
        probabilistic_pairs: the same columns plus ``match_probability`` (Splink predictions).
        cluster_threshold: probabilistic pairs at or above this link two records.

    Returns:
        ``table``, ``record_key_tok``, ``person_id``, ``match_probability`` (1.0 for deterministic
        routes, the best accepted pair's probability for probabilistic, null for singletons),
        ``match_route`` (``deterministic`` | ``probabilistic`` | ``singleton``).
    """
    accepted = probabilistic_pairs[probabilistic_pairs["match_probability"] >= cluster_threshold]
    det_edges = links_to_edges(deterministic_links, 1.0)
    prob_edges = links_to_edges(accepted, accepted["match_probability"].to_numpy())
    edges = pd.concat([det_edges, prob_edges], ignore_index=True)
    index = cluster_records(persons, edges, backend)

    det_nodes = set(det_edges["node_id_l"]) | set(det_edges["node_id_r"])
    incident = pd.concat(
        [
            prob_edges[["node_id_l", "match_probability"]].rename(columns={"node_id_l": "node_id"}),
            prob_edges[["node_id_r", "match_probability"]].rename(columns={"node_id_r": "node_id"}),
        ]
    )
    best = incident.groupby("node_id")["match_probability"].max()
    index["match_probability"] = index["node_id"].map(best).astype("Float64")
    index["match_route"] = "singleton"
    index.loc[index["match_probability"].notna(), "match_route"] = "probabilistic"
    is_det = index["node_id"].isin(det_nodes)
    index.loc[is_det, "match_route"] = "deterministic"
    index.loc[is_det, "match_probability"] = 1.0
    index = index.rename(columns={"source": "table"})
    return (
        index[PERSON_INDEX_COLUMNS]
        .sort_values(["person_id", "table", "record_key_tok"])
        .reset_index(drop=True)
    )
