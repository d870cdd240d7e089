"""From links to people: connected components over the links kept within per-source limits.

Each source declares the most records one person may hold in it (``Source.max_records_per_person``
in the source registry: one in health, social care and NCCIS, a few UPNs in school), so a person
holding two health records is two people merged, typically siblings who share surname, postcode and
sometimes forename. Links are therefore taken strongest first (deterministic, then probabilistic by
match weight) and a link that would give a person more records of a source than its limit
(``record_limits``) is refused: the weakest link of the chain is the one dropped.
Splink's clustering has no such constraint, so the edge choice is a small union-find here and the
components of the kept edges come from Splink.

``person_id`` is opaque and stable for the same input: clusters are ordered by their smallest
``source:record_key_tok`` and numbered ``P00000001``, ``P00000002``, ...
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from pipeline.linkage.engine import DEFAULT_ENGINE, LinkageEngine, cluster_connected_components
from pipeline.linkage.membership import is_in
from pipeline.sources.registry import SourceRegistryError, person_sources

PERSON_INDEX_COLUMNS = ["table", "record_key_tok", "person_id", "match_probability", "match_route"]


def record_limits(overrides: dict[str, int] | None = None) -> dict[str, int]:
    """Most records of each person source one person may hold: the registry's, then ``overrides``.

    Args:
        overrides: source name -> limit (params ``link.max_records_per_person``), replacing the
            declared limit of the sources it names.

    Returns:
        source -> limit, person sources in registry order; a source with no limit is left out.

    Raises:
        SourceRegistryError: ``overrides`` names a source that is not a person source.
    """
    overrides = overrides or {}
    names = [s.name for s in person_sources()]
    unknown = sorted(set(overrides) - set(names))
    if unknown:
        raise SourceRegistryError(
            f"link.max_records_per_person names unknown person source(s) {unknown}; known: {', '.join(names)}"
        )
    declared = {s.name: s.max_records_per_person for s in person_sources()}
    limits = {name: overrides.get(name, declared[name]) for name in names}
    return {name: limit for name, limit in limits.items() if limit is not None}


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


def cluster_records(
    persons: pd.DataFrame, edges: pd.DataFrame, engine: LinkageEngine = DEFAULT_ENGINE
) -> pd.DataFrame:
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
        clusters = cluster_connected_components(nodes, edges, engine)
        clusters["node_id"] = clusters["node_id"].astype("string")
        clusters["cluster_id"] = clusters["cluster_id"].astype("string")
    else:
        clusters = nodes[["node_id"]].assign(cluster_id=nodes["node_id"])
    clusters = clusters.assign(person_id=number_clusters(clusters))
    return nodes.merge(clusters[["node_id", "person_id"]], on="node_id", how="left", validate="1:1")


def select_edges_within_source_limits(edges: pd.DataFrame, limits: dict[str, int]) -> pd.Series:
    """Which edges to keep, strongest first, so no cluster exceeds a source's record limit.

    Args:
        edges: ``node_id_l``, ``node_id_r`` (``source:record_key_tok``) and ``strength`` (higher is
            taken first; ties broken by node ids, so the result does not depend on row order).
        limits: source -> most records one person may hold (sources not named: no limit).

    Returns:
        Boolean Series aligned with ``edges``: True where the edge is kept.

    Node ids are numbered once (in their text order, so the ties break as the text would) and the edges
    walked as integers: a union-find over lists. Each cluster's root holds its records of the limited
    sources packed into one integer, a byte per source, biased so that a merge over any source's limit
    sets that byte's top bit: one addition and one mask test per merge. At a million people the walk
    over text ids, with a Counter per cluster, took minutes.
    """
    n = len(edges)
    if n == 0:
        return pd.Series(np.zeros(0, dtype=bool), index=edges.index)
    codes, nodes = pd.factorize(pd.concat([edges["node_id_l"], edges["node_id_r"]], ignore_index=True), sort=True)
    if (codes < 0).any():
        raise ValueError("an edge has no node id (a record with no source or no key token)")
    left, right = codes[:n], codes[n:]
    strength = edges["strength"].to_numpy(dtype=float)
    order = np.lexsort((right, left, -strength))  # strongest first, then by node ids; stable for equal edges
    bias = over = 0
    held = [0] * len(nodes)  # per node, then per root: its records of each limited source, a byte each
    nodes = pd.Index(nodes)
    for byte, (source, limit) in enumerate(limits.items()):
        if not 0 < limit < 128:
            raise ValueError(f"{source}: a limit of records per person must be 1 to 127, not {limit}")
        one = 1 << (8 * byte)
        for node in np.flatnonzero(nodes.str.startswith(f"{source}:")).tolist():
            held[node] = one
        bias, over = bias + (127 - limit) * one, over + 128 * one  # a count above the limit sets the byte's bit 7
    parent = list(range(len(nodes)))
    size = [1] * len(nodes)

    def root(node: int) -> int:
        top = node
        while parent[top] != top:
            top = parent[top]
        while parent[node] != top:
            parent[node], node = top, parent[node]
        return top

    keep = np.zeros(n, dtype=bool)
    for i, a, b in zip(order.tolist(), left[order].tolist(), right[order].tolist(), strict=True):
        a, b = root(a), root(b)
        if a != b:
            merged = held[a] + held[b]
            if (merged + bias) & over:
                continue
            if size[a] < size[b]:
                a, b = b, a
            parent[b], size[a], held[a] = a, size[a] + size[b], merged
        keep[i] = True
    return pd.Series(keep, index=edges.index)


def build_person_index(
    persons: pd.DataFrame,
    deterministic_links: pd.DataFrame,
    probabilistic_pairs: pd.DataFrame,
    cluster_threshold: float,
    engine: LinkageEngine = DEFAULT_ENGINE,
    *,
    max_records_per_person: dict[str, int] | None = None,
) -> tuple[pd.DataFrame, int]:
    """The person index: clusters of deterministic links and probabilistic pairs >= threshold,
    kept strongest first within ``max_records_per_person`` (module docstring).

    Args:
        persons: ``source``, ``record_key_tok``.
        deterministic_links: ``source_l``, ``record_key_tok_l``, ``source_r``, ``record_key_tok_r``.
        probabilistic_pairs: the same columns plus ``match_probability`` and (optionally)
            ``match_weight`` (Splink predictions).
        cluster_threshold: probabilistic pairs at or above this link two records.
        max_records_per_person: source -> most records of it one person may hold (None: no limit).

    Returns:
        (index, refused): index with ``table``, ``record_key_tok``, ``person_id``,
        ``match_probability`` (1.0 for deterministic routes, the best kept pair's probability for
        probabilistic, null for singletons), ``match_route`` (``deterministic`` | ``probabilistic``
        | ``singleton``); refused: number of links refused to respect the limits.
    """
    accepted = probabilistic_pairs[probabilistic_pairs["match_probability"] >= cluster_threshold]
    det_edges = links_to_edges(deterministic_links, 1.0).assign(strength=np.inf)
    weight = accepted["match_weight"] if "match_weight" in accepted else accepted["match_probability"]
    prob_edges = links_to_edges(accepted, accepted["match_probability"].to_numpy()).assign(
        strength=weight.astype(float).to_numpy()
    )
    edges = pd.concat([det_edges, prob_edges], ignore_index=True)
    kept = select_edges_within_source_limits(edges, max_records_per_person or {})
    edges = edges[kept]
    index = cluster_records(persons, edges, engine)

    is_det_edge = edges["strength"] == np.inf
    det_nodes = pd.concat([edges.loc[is_det_edge, "node_id_l"], edges.loc[is_det_edge, "node_id_r"]]).unique()
    prob_kept = edges[~is_det_edge]
    incident = pd.concat(
        [
            prob_kept[["node_id_l", "match_probability"]].rename(columns={"node_id_l": "node_id"}),
            prob_kept[["node_id_r", "match_probability"]].rename(columns={"node_id_r": "node_id"}),
        ]
    )
    best = incident.groupby("node_id")["match_probability"].max()
    probability = index["node_id"].map(best).astype("Float64")
    is_det = pd.Series(is_in(index["node_id"], det_nodes), index=index.index)
    # new columns, never written in place: the mapped values can be a read-only view (seen on a tiny county)
    index["match_probability"] = probability.mask(is_det, 1.0)
    index["match_route"] = np.select([is_det.to_numpy(), probability.notna().to_numpy()],
                                     ["deterministic", "probabilistic"], default="singleton")
    index = index.rename(columns={"source": "table"})
    index = index[PERSON_INDEX_COLUMNS].sort_values(["person_id", "table", "record_key_tok"])
    return index.reset_index(drop=True), int((~kept).sum())
