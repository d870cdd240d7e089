"""Family and household links between linked people, from what the pseudonymised sources record.

Two relations, each between two ``person_id`` of the person index:

- ``carer_of``: a carer's Client Level Data row names the person cared for (``cld_carer_link``, read by
  :func:`pipeline.sources.cld_events.carer_edges`); ``person_id_a`` cares for ``person_id_b``.
- ``same_address``: two people whose person records carry the same UPRN token (a source's person table
  with a ``uprn_tok`` column); the pair is unordered, so ``person_id_a`` < ``person_id_b``.

The GP extract adds ``same_household`` and probable ``carer_of`` links (source ``gp_carer_code``):
:mod:`pipeline.linkage.family_gp`; children's social care adds ``parent_of`` and ``sibling_of``:
:mod:`pipeline.linkage.family_relations`.

Only tokens and person ids are read and written. Quality against synthetic truth (evaluation only) is
pairwise precision and recall per relation, among the true people the relation's sources hold a record of.
"""

from __future__ import annotations

import pandas as pd

from pipeline.linkage.family_pairs import linked_true_pairs, pair_frame, pair_quality, pairs_sharing, share_in
from pipeline.linkage.membership import is_in
from pipeline.sources.cld_events import carer_edges

FAMILY_COLUMNS = ("person_id_a", "person_id_b", "relation", "source", "first_seen", "last_seen")
UPRN_TOKEN = "uprn_tok"
# more people than this at one UPRN is a communal establishment (care home, hostel), not a household:
# linking every resident to every other would swamp the household links with pairs that mean nothing
MAX_PEOPLE_AT_ADDRESS = 12
# a link source that is not a source of the registry -> the source whose records it reads (for recall's
# denominator: the people that source holds)
READS_SOURCE = {"gp_carer_code": "gp"}


def empty_family_links() -> pd.DataFrame:
    """No links, with the file's columns and types."""
    return _typed(pd.DataFrame({c: [] for c in FAMILY_COLUMNS}))


def _typed(links: pd.DataFrame) -> pd.DataFrame:
    out = links[list(FAMILY_COLUMNS)].copy()
    for column in ("person_id_a", "person_id_b", "relation", "source"):
        out[column] = out[column].astype("string")
    for column in ("first_seen", "last_seen"):
        out[column] = pd.to_datetime(out[column]).astype("datetime64[ns]")
    return out.sort_values(list(FAMILY_COLUMNS[:3]), ignore_index=True)


def _person_of(index: pd.DataFrame, source: str) -> pd.Series:
    """``record_key_tok`` -> ``person_id`` for one source's records in the person index."""
    rows = index[index["table"] == source].drop_duplicates("record_key_tok")
    return rows.set_index("record_key_tok")["person_id"]


def carer_links(events: pd.DataFrame, links: pd.DataFrame, index: pd.DataFrame, source: str) -> pd.DataFrame:
    """``carer_of`` links from a source's CLD rows and carer-link rows, in person ids.

    Args:
        events: pseudonymised ``cld_event`` (``la_person_id_tok``, ``client_type``, ``period_end``,
            ``_source_file``, ``_source_row``).
        links: pseudonymised ``cld_carer_link`` (``la_person_id_tok`` of the person cared for, ``_source_file``,
            ``_source_row``).
        index: person index (``table``, ``record_key_tok``, ``person_id``).
        source: the source both tables belong to (the index's ``table`` for their records).

    Returns:
        ``FAMILY_COLUMNS``; ``first_seen``/``last_seen`` are the first and last reporting period ends naming
        the pair. Tokens not in the index, and a person linked to themself after linkage, are left out.
    """
    edges = carer_edges(events, links)
    person = _person_of(index, source)
    out = pd.DataFrame({
        "person_id_a": edges["carer_id"].map(person), "person_id_b": edges["cared_for_id"].map(person),
        "first_seen": edges["first_reported"], "last_seen": edges["last_reported"]})
    out = out.dropna(subset=["person_id_a", "person_id_b"])
    out = out[out["person_id_a"] != out["person_id_b"]]
    out = out.groupby(["person_id_a", "person_id_b"], as_index=False).agg(
        first_seen=("first_seen", "min"), last_seen=("last_seen", "max"))
    return _typed(out.assign(relation="carer_of", source=source))


def address_links(person_tables: dict[str, pd.DataFrame], keys: dict[str, str], index: pd.DataFrame) -> pd.DataFrame:
    """``same_address`` links: distinct people whose records share a UPRN token, within or across sources.

    Args:
        person_tables: pseudonymised person tables by source name, each with ``uprn_tok`` and its person key token.
        keys: each source's person key token column (``la_person_id_tok`` …).
        index: person index (``table``, ``record_key_tok``, ``person_id``).

    Returns:
        ``FAMILY_COLUMNS``, ``source`` the sources recording the address joined by ``+``, no dates (the
        person tables date no address). Addresses holding more than ``MAX_PEOPLE_AT_ADDRESS`` people are skipped.
    """
    parts = []
    for source, table in person_tables.items():
        rows = table[[keys[source], UPRN_TOKEN]].dropna()
        person = _person_of(index, source)
        parts.append(pd.DataFrame({"uprn": rows[UPRN_TOKEN].astype("string").to_numpy(),
                                   "person_id": rows[keys[source]].map(person).to_numpy(), "source": source}))
    if not parts:
        return empty_family_links()
    at = pd.concat(parts, ignore_index=True).dropna().drop_duplicates(["uprn", "person_id", "source"])
    sizes = at.groupby("uprn")["person_id"].transform("nunique")
    at = at[(sizes > 1) & (sizes <= MAX_PEOPLE_AT_ADDRESS)]
    pairs = at.merge(at, on="uprn", suffixes=("_a", "_b"))
    pairs = pairs[pairs["person_id_a"].astype("string") < pairs["person_id_b"].astype("string")]
    pairs = pairs.assign(source=pairs["source_a"] + "+" + pairs["source_b"])
    pairs = pairs.groupby(["person_id_a", "person_id_b"], as_index=False).agg(
        source=("source", lambda s: "+".join(sorted({x for joined in s for x in joined.split("+")}))))
    return _typed(pairs.assign(relation="same_address", first_seen=pd.NaT, last_seen=pd.NaT))


def one_row_per_link(links: pd.DataFrame) -> pd.DataFrame:
    """One row per pair and relation: a pair two sources give (a carer both CLD and a GP code name) keeps
    both sources joined by ``+``, the earliest ``first_seen`` and the latest ``last_seen``."""
    if not links.duplicated(list(FAMILY_COLUMNS[:3])).any():
        return links
    out = links.groupby(list(FAMILY_COLUMNS[:3]), as_index=False, dropna=False).agg(
        source=("source", lambda s: "+".join(sorted({x for joined in s for x in joined.split("+")}))),
        first_seen=("first_seen", "min"), last_seen=("last_seen", "max"))
    return _typed(out)


def count_by_relation(links: pd.DataFrame) -> dict[str, int]:
    """Links per relation."""
    return {str(k): int(v) for k, v in links["relation"].value_counts().sort_index().items()}


def true_person_of(index: pd.DataFrame, truth: pd.DataFrame) -> pd.Series:
    """``person_id`` -> the true person most of its records belong to (``truth``: ``source``, ``record_key_tok``,
    ``true_person_id``)."""
    records = index.rename(columns={"table": "source"}).merge(truth, on=["source", "record_key_tok"])
    counts = records.groupby(["person_id", "true_person_id"]).size().rename("n").reset_index()
    counts = counts.sort_values(["person_id", "n", "true_person_id"], ascending=[True, False, True])
    return counts.drop_duplicates("person_id").set_index("person_id")["true_person_id"].astype("string")


def latest_addresses(addresses: pd.DataFrame) -> pd.DataFrame:
    """Each person's latest address (``person_id``, ``uprn``) from ``person_id``, ``uprn``, ``start``."""
    latest = addresses.sort_values(["person_id", "start"], kind="stable").drop_duplicates("person_id", keep="last")
    return latest[["person_id", "uprn"]]


def evaluate_family_links(links: pd.DataFrame, index: pd.DataFrame, truth: pd.DataFrame, caring: pd.DataFrame,
                          addresses: pd.DataFrame, people: pd.DataFrame) -> dict[str, dict]:
    """Pairwise precision and recall of each relation against synthetic truth.

    A predicted link is true when the true people its two person ids stand for (most of each one's records)
    are a true pair. Recall is over the true pairs whose two people both hold a record in a source that
    recorded the relation: a pair no source could see is not a linkage miss.

    Args:
        links: ``FAMILY_COLUMNS``.
        index: person index (``table``, ``record_key_tok``, ``person_id``).
        truth: tokenised person map (``source``, ``record_key_tok``, ``true_person_id``).
        caring: ``adults_caring`` truth (``carer_id``, ``cared_for_id``): ordered carer -> cared-for pairs.
        addresses: ``adults_addresses`` truth (``person_id``, ``uprn``, ``start``): same_address pairs are
            people whose latest true address is one UPRN (person tables record the current address).
        people: ``adults_people`` truth (``person_id``, ``household_id``): the share of same_address links
            within one household (a care home's residents share an address, not a household).

    Returns:
        per relation: ``predicted_pairs``, ``true_pairs``, ``true_positive_pairs``, ``precision``, ``recall``;
        ``same_address`` also ``same_household_share``.
    """
    true_of = true_person_of(index, truth)
    out = {}
    for relation in ("carer_of", "same_address"):
        rows = links[links["relation"] == relation]
        sources = {READS_SOURCE.get(s, s) for joined in rows["source"] for s in joined.split("+")}
        seen = truth.loc[truth["source"].isin(sources), "true_person_id"].astype(str).unique()
        pairs = linked_true_pairs(rows, true_of, ordered=relation == "carer_of")
        if relation == "carer_of":
            true_pairs = pair_frame(caring["carer_id"], caring["cared_for_id"])
        else:
            latest = latest_addresses(addresses).astype(str)
            latest = latest[is_in(latest["person_id"], seen)]
            # held to the households the links are built for: communal establishments are skipped there too
            latest = latest[latest.groupby("uprn")["person_id"].transform("size") <= MAX_PEOPLE_AT_ADDRESS]
            true_pairs = pairs_sharing(latest, "uprn")
        true_pairs = true_pairs[is_in(true_pairs["a"], seen) & is_in(true_pairs["b"], seen)]
        out[relation] = pair_quality(pairs, true_pairs)
        if relation == "same_address":
            households = pairs_sharing(people[["person_id", "household_id"]].dropna().astype(str), "household_id")
            out[relation]["same_household_share"] = share_in(pairs, households)
    return out
