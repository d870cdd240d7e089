"""Features as the links stood on an index date: rows of an as-of person index matched to the full build.

``riskpipe link --as-of DATE`` groups the records that existed before DATE into people
(``pipeline.linkage.as_of``). Features built over that index see each child's history as it could have
been linked on the index date. Its *outcome* cannot be trusted: the records that define it (a first
SSDA903 episode, NCCIS activity at 16-18) mostly did not exist on the index date, so the as-of index does
not hold them. The label of an as-of row is therefore the full build's label of the same child, found
through the records both indexes share (person ids differ between indexes: people are record groups).
"""

from __future__ import annotations

import pandas as pd

RECORD_KEYS = ["table", "record_key_tok"]


def full_person_of(as_of_index: pd.DataFrame, full_index: pd.DataFrame) -> pd.Series:
    """The full index's person for each as-of person: the one holding most of its records.

    Both are person indexes (``table, record_key_tok, person_id``). An as-of person whose records the full
    index keeps apart (rare: ``records_split_later``) goes to the full person with most of them, ties to the
    lowest person id so the choice is the same on every run. Records are stable between indexes; person
    ids are not.

    Returns:
        Series ``as-of person_id -> full person_id`` (as-of people with no shared record are absent).
    """
    both = as_of_index[[*RECORD_KEYS, "person_id"]].merge(full_index[[*RECORD_KEYS, "person_id"]], on=RECORD_KEYS,
                                                          suffixes=("", "_full"))
    counts = both.groupby(["person_id", "person_id_full"]).size().rename("records").reset_index()
    counts = counts.sort_values(["person_id", "records", "person_id_full"], ascending=[True, False, True])
    first = counts.drop_duplicates("person_id")
    return pd.Series(first["person_id_full"].astype("str").to_numpy(), index=first["person_id"].astype("str"),
                     name="person_id_full")


def with_full_outcome(rows: pd.DataFrame, as_of_index: pd.DataFrame, full_index: pd.DataFrame,
                      full_frame: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, int]]:
    """As-of feature rows with ``person_id_full`` and the full build's ``outcome`` of that child.

    Args:
        rows: the as-of build's rows (``person_id, index_date, outcome`` and features).
        as_of_index, full_index: the two person indexes (``table, record_key_tok, person_id``).
        full_frame: the full features frame (``person_id, index_date, outcome``): its rows are the ones the
            full build kept, so its exclusions and censoring decide who is labelled.

    Returns:
        ``(frame, counts)``: ``rows`` with ``person_id_full`` and ``outcome`` replaced by the full build's
        (<NA> where the matched child has no full row on that date); ``counts`` = ``rows``,
        ``rows_matched`` (a full row on that date), ``outcome_differs_as_of_records`` (matched rows whose
        as-of build's own outcome differs: why it is not used), ``rows_only_in_full`` (full rows on those
        dates no as-of row matched) and ``fragments`` (extra as-of rows of a child the full index holds as one).
    """
    mapped = rows["person_id"].astype("str").map(full_person_of(as_of_index, full_index))
    full = full_frame[["person_id", "index_date", "outcome"]].assign(person_id=lambda f: f["person_id"].astype("str"))
    keyed = rows.assign(person_id_full=mapped.to_numpy())
    out = keyed.drop(columns="outcome").merge(
        full.rename(columns={"person_id": "person_id_full"}), on=["person_id_full", "index_date"], how="left",
        validate="many_to_one", indicator=True)
    matched = out.pop("_merge").eq("both")
    own = keyed["outcome"].astype("Float64").to_numpy()
    differs = matched.to_numpy() & (pd.Series(own).fillna(-1).to_numpy()
                                    != out["outcome"].astype("Float64").fillna(-1).to_numpy())
    dates = full[full["index_date"].isin(rows["index_date"].unique())]
    seen = set(zip(out.loc[matched, "person_id_full"], out.loc[matched, "index_date"], strict=True))
    only_full = sum((p, d) not in seen for p, d in zip(dates["person_id"], dates["index_date"], strict=True))
    fragments = int(out.loc[matched].duplicated(["person_id_full", "index_date"]).sum())
    counts = {"rows": int(len(out)), "rows_matched": int(matched.sum()), "outcome_differs_as_of_records":
              int(differs.sum()), "rows_only_in_full": int(only_full), "fragments": fragments}
    out["outcome"] = out["outcome"].astype("Int8")
    return out, counts
