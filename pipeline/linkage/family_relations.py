"""Parent and sibling links from children's social care relationship records, with their quality against truth.

Two relations, each between two ``person_id`` of the person index (``pipeline.linkage.family`` holds the
file's columns and the carer and address relations):

- ``parent_of``: a ``csc_relationship`` row (Mother, Father, Parent or Step-parent) names the relative of a
  child known to social care; ``person_id_a`` is the parent, ``person_id_b`` the child. The relative is found
  by the person ID the row records (the council's case-management number, shared with adult social care's
  person table) and, failing that, by an NHS number recorded on a row naming that person ID, when exactly one
  linked person holds it. A relative found by neither stays unlinked: no link, never a guess.
- ``sibling_of``: two children whose records name the same parent (the same linked person, or the same
  recorded person ID when the parent is linked to no one); unordered, ``person_id_a`` < ``person_id_b``.

``first_seen``/``last_seen`` are the dates the relationships were recorded (a sibling pair from when both
were): what the council knew from then on, so features can use a link only after it existed.
Only tokens and person ids are read and written.
"""

from __future__ import annotations

import pandas as pd

from pipeline.linkage.family import _typed, empty_family_links, true_person_of
from pipeline.linkage.family_pairs import linked_true_pairs, pair_frame, pair_quality, quality_by_group
from pipeline.linkage.membership import is_in

PARENT_CODES = ("Mother", "Father", "Parent", "Step-parent")
RELATION_SOURCE = "social_care"
ADULT_SOURCE = "adult_social_care"  # whose person IDs the relationship rows record


def _person_of(index: pd.DataFrame, source: str) -> pd.Series:
    rows = index[index["table"] == source].drop_duplicates("record_key_tok")
    return rows.set_index("record_key_tok")["person_id"].astype("string")


def person_by_nhs_token(nhs: pd.DataFrame) -> pd.Series:
    """``nhs_number_tok`` -> ``person_id`` for the tokens held by exactly one linked person.

    Args:
        nhs: ``nhs_number_tok, person_id`` from every person table holding an NHS number.
    """
    pairs = nhs.dropna().astype("string").drop_duplicates()
    unique = pairs.groupby("nhs_number_tok")["person_id"].transform("nunique") == 1
    return pairs[unique].drop_duplicates("nhs_number_tok").set_index("nhs_number_tok")["person_id"]


def recorded_parents(relationships: pd.DataFrame, index: pd.DataFrame, nhs: pd.Series) -> pd.DataFrame:
    """The parent rows of ``csc_relationship`` with the child and, where found, the parent as person ids.

    Args:
        relationships: pseudonymised ``csc_relationship`` (``la_child_id_tok``, ``la_person_id_tok``,
            ``related_nhs_number_tok``, ``relationship``, ``start_date``).
        index: person index (``table``, ``record_key_tok``, ``person_id``).
        nhs: :func:`person_by_nhs_token`.

    Returns:
        ``child_id``, ``parent_id`` (<NA> when the relative is linked to no one), ``parent_key`` (the parent's
        person id, else ``"recorded:" + la_person_id_tok``), ``start_date``; rows whose child is not in the
        index are left out.
    """
    rows = relationships[relationships["relationship"].isin(PARENT_CODES)]
    child = rows["la_child_id_tok"].map(_person_of(index, RELATION_SOURCE))
    parent = rows["la_person_id_tok"].map(_person_of(index, ADULT_SOURCE))
    parent = parent.fillna(rows["related_nhs_number_tok"].map(nhs)).astype("string")
    # one recorded person ID is one person record: an NHS number on any of its rows finds it for all of them
    # (the first person found on its rows: ``first`` skips missing values, and is missing when all are)
    found = parent.groupby(rows["la_person_id_tok"]).first()
    parent = parent.fillna(rows["la_person_id_tok"].map(found).astype("string"))
    out = pd.DataFrame({"child_id": child, "parent_id": parent.astype("string"),
                        "parent_key": parent.fillna("recorded:" + rows["la_person_id_tok"].astype("string")),
                        "start_date": pd.to_datetime(rows["start_date"])})
    out = out.dropna(subset=["child_id"])
    itself = (out["child_id"] == out["parent_id"]).fillna(False).astype(bool)  # an unlinked parent is kept
    return out[~itself].reset_index(drop=True)


def parent_links(parents: pd.DataFrame) -> pd.DataFrame:
    """``parent_of`` links (``FAMILY_COLUMNS``) from :func:`recorded_parents`: rows with a linked parent."""
    found = parents.dropna(subset=["parent_id"])
    if found.empty:
        return empty_family_links()
    out = found.groupby(["parent_id", "child_id"], as_index=False).agg(
        first_seen=("start_date", "min"), last_seen=("start_date", "max"))
    out = out.rename(columns={"parent_id": "person_id_a", "child_id": "person_id_b"})
    return _typed(out.assign(relation="parent_of", source=RELATION_SOURCE))


def sibling_links(parents: pd.DataFrame) -> pd.DataFrame:
    """``sibling_of`` links (``FAMILY_COLUMNS``): children whose records name the same parent (``parent_key``)."""
    first = parents.groupby(["parent_key", "child_id"], as_index=False)["start_date"].min()
    pairs = first.merge(first, on="parent_key", suffixes=("_a", "_b"))
    pairs = pairs[pairs["child_id_a"].astype("string") < pairs["child_id_b"].astype("string")]
    if pairs.empty:
        return empty_family_links()
    pairs = pairs.assign(known=pairs[["start_date_a", "start_date_b"]].max(axis=1))
    out = pairs.groupby(["child_id_a", "child_id_b"], as_index=False).agg(
        first_seen=("known", "min"), last_seen=("known", "max"))
    out = out.rename(columns={"child_id_a": "person_id_a", "child_id_b": "person_id_b"})
    return _typed(out.assign(relation="sibling_of", source=RELATION_SOURCE))


def evaluate_relations(links: pd.DataFrame, index: pd.DataFrame, truth: pd.DataFrame, people: pd.DataFrame,
                       min_group: int = 1) -> dict[str, dict]:
    """Pairwise precision and recall of ``parent_of`` and ``sibling_of`` against synthetic truth, overall and
    by the ethnic group of the child (the younger-keyed child of a sibling pair).

    Recall is over the true pairs whose child is known to children's social care (only its records name
    relatives) and, for a parent, whose parent holds a record in some source: a parent nothing records
    cannot be linked by anyone.

    Args:
        links: ``FAMILY_COLUMNS``.
        index: person index (``table``, ``record_key_tok``, ``person_id``).
        truth: tokenised person map (``source``, ``record_key_tok``, ``true_person_id``).
        people: ``people`` truth (``person_id``, ``household_id``, ``role``, ``ethnicity_group``): a child's
            parents are the mother and father of their household, their siblings its other children.
        min_group: a group with fewer true or predicted pairs is reported as ``{"suppressed": True}``.

    Returns:
        per relation: ``predicted_pairs``, ``true_pairs``, ``true_positive_pairs``, ``precision``, ``recall`` and
        ``by_ethnicity_group`` (the same per group).
    """
    true_of = true_person_of(index, truth)
    people = people.assign(person_id=people["person_id"].astype(str))
    known_child = set(truth.loc[truth["source"] == RELATION_SOURCE, "true_person_id"].astype(str))
    recorded = set(truth["true_person_id"].astype(str))
    kids = people[(people["role"] == "child").to_numpy() & is_in(people["person_id"], known_child)]
    adults = people[people["role"].isin(["mother", "father"]).to_numpy() & is_in(people["person_id"], recorded)]
    group_of = dict(zip(kids["person_id"], kids["ethnicity_group"].astype(str), strict=True))
    parent_pairs = adults[["person_id", "household_id"]].merge(kids[["person_id", "household_id"]],
                                                               on="household_id", suffixes=("_a", "_b"))
    sib = kids[["person_id", "household_id"]].merge(kids[["person_id", "household_id"]], on="household_id",
                                                     suffixes=("_a", "_b"))
    sib = sib[sib["person_id_a"] < sib["person_id_b"]]
    true_pairs = {"parent_of": pair_frame(parent_pairs["person_id_a"], parent_pairs["person_id_b"]),
                  "sibling_of": pair_frame(sib["person_id_a"], sib["person_id_b"])}
    out = {}
    for relation, true in true_pairs.items():
        pairs = linked_true_pairs(links[links["relation"] == relation], true_of, ordered=relation == "parent_of")
        # a pair's group is its child's: the parent_of pair's second person, the sibling_of pair's younger-keyed
        out[relation] = {**pair_quality(pairs, true),
                         "by_ethnicity_group": quality_by_group(pairs, true, ["b"], group_of, min_group)}
    return out
