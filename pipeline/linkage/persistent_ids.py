"""Person IDs that last from one ``riskpipe link`` run to the next, and the log of how they changed.

``build_person_index`` numbers people afresh on every run (``P00000001`` … in order of each cluster's
smallest record), so without this module a re-link renumbers everyone and last month's list, offer of
help or case note points at whoever now holds that number. Here the new clusters are matched to the
previous run's people by their records (``table``, ``record_key_tok``):

* a new cluster holding a strict majority of one old person's records keeps that person's ID (where it
  holds majorities of several, a merge, it keeps the ID it shares most records with, then the lowest);
* every other cluster is a new person with a new ID numbered after the highest ID ever issued, so an
  ID is never reused, not even one whose person has gone;
* each old ID whose records now sit anywhere but under the same ID alone (split, merged into another,
  or gone) is written to the run's log entry as ``successors``: old ID -> the new IDs holding its records.

Record tokens are HMACs under the pseudonymisation key: under a new key no record can be matched to the
last run's, so IDs are not carried over at all. The run is logged as ``re-keyed: all IDs new`` and no
list made before it can be translated (``reidentify`` refuses those).

A person index is identified by :func:`person_index_digest`, a SHA-256 of its ``table, record_key_tok,
person_id`` rows in sorted order (not of the parquet file, whose bytes may change while its content does
not). Risk lists carry it, and :func:`translate_tokens` follows the log from a list's index to the current one.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

ID_PREFIX = "P"
ID_DIGITS = 8
FIRST = "first"
CARRIED = "carried"
REKEYED = "re-keyed: all IDs new"
NO_PREVIOUS = "previous assignment missing: all IDs new"
NO_COMMON_RECORDS = "no records in common with the previous index: all IDs new"
KEYS = ["table", "record_key_tok"]


class PersonIdLogError(ValueError):
    """The ID log and the previous assignment disagree, or a list's person index cannot be reached."""


def person_index_digest(index: pd.DataFrame) -> str:
    """SHA-256 (hex) of ``table``, ``record_key_tok``, ``person_id`` rows, sorted: the index's identity.

    The text hashed is the rows in sorted order, each ``table \\t record_key_tok \\t person_id`` (missing
    values empty), joined by newlines. It is sorted and joined in Arrow (UTF-8 byte order is Python's string
    order): a million people's records sorted and joined in pandas took most of a minute.
    """
    columns = [*KEYS, "person_id"]
    rows = pa.table({c: pa.array(index[c].astype("string").fillna(""), from_pandas=True).cast(pa.large_string())
                     for c in columns})
    rows = rows.take(pc.sort_indices(rows, sort_keys=[(c, "ascending") for c in columns]))
    lines = pc.binary_join_element_wise(*(rows[c] for c in columns), pa.scalar("\t", pa.large_string()))
    lines = lines.combine_chunks() if isinstance(lines, pa.ChunkedArray) else lines
    text = pc.binary_join(pa.LargeListArray.from_arrays(pa.array([0, len(lines)], pa.int64()), lines),
                          pa.scalar("\n", pa.large_string()))[0]
    return hashlib.sha256(text.as_buffer() or b"").hexdigest()


def id_number(person_id: str) -> int:
    """The number in ``P00000042`` (42)."""
    return int(str(person_id)[len(ID_PREFIX):])


def format_id(number: int) -> str:
    """``P`` and the number in eight digits (more digits once past 99,999,999)."""
    return f"{ID_PREFIX}{number:0{ID_DIGITS}d}"


def id_numbers(ids: pd.Series) -> pd.Series:
    """The numbers in a Series of IDs (vectorised :func:`id_number`)."""
    return ids.astype("string").str.slice(len(ID_PREFIX)).astype("int64")


def highest_id(ids: pd.Series) -> int:
    """The highest number among ``ids`` (0 when empty)."""
    return int(id_numbers(ids).max()) if len(ids) else 0


def inherited_ids(previous: pd.DataFrame, fresh: pd.DataFrame) -> pd.Series:
    """Which old ID each fresh cluster keeps (module docstring).

    Args:
        previous: ``table``, ``record_key_tok``, ``person_id`` of the last run.
        fresh: the same columns of this run, ``person_id`` as ``build_person_index`` numbered it.

    Returns:
        Fresh ``person_id`` -> old ``person_id``, for the clusters that keep one.
    """
    shared = fresh[[*KEYS, "person_id"]].merge(previous[[*KEYS, "person_id"]], on=KEYS, suffixes=("", "_old"))
    counts = shared.groupby(["person_id", "person_id_old"]).size().rename("shared").reset_index()
    held = previous["person_id"].value_counts()
    counts = counts[counts["shared"] * 2 > counts["person_id_old"].map(held)]  # a strict majority of the old records
    if counts.empty:
        return pd.Series(dtype="string")
    counts = counts.assign(number=counts["person_id_old"].map(id_number))
    best = counts.sort_values(["person_id", "shared", "number"], ascending=[True, False, True], kind="stable")
    return best.drop_duplicates("person_id").set_index("person_id")["person_id_old"].astype("string")


def successors(previous: pd.DataFrame, current: pd.DataFrame) -> dict[str, list[str]]:
    """Old ID -> the current IDs holding its records, for every old ID not simply kept as itself alone.

    An old ID whose records all left the index maps to ``[]``; one kept whole (possibly with new records
    added) is left out.
    """
    shared = previous[[*KEYS, "person_id"]].merge(current[[*KEYS, "person_id"]], on=KEYS, how="left",
                                                  suffixes=("", "_new"))
    pairs = shared[["person_id", "person_id_new"]].astype("string").drop_duplicates()
    # most people are kept whole: one successor, itself; only the others are looked at one by one
    held = pairs.groupby("person_id")["person_id_new"].agg(["count", "first"])
    whole = held["count"].eq(1) & held["first"].eq(held.index.to_series())
    changed = pairs[pairs["person_id"].isin(held.index[~whole])]
    out: dict[str, list[str]] = {old: [] for old in sorted(map(str, held.index[~whole]))}
    for old, new in zip(changed["person_id"], changed["person_id_new"], strict=True):
        if not pd.isna(new):
            out[str(old)].append(str(new))
    return {old: sorted(news) for old, news in out.items()}


def carry_person_ids(
    fresh: pd.DataFrame, previous: pd.DataFrame | None, *, highest_issued: int = 0, rekeyed: bool = False,
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Give this run's person index lasting IDs, and say what changed.

    Args:
        fresh: the person index as ``build_person_index`` made it (``table``, ``record_key_tok``,
            ``person_id`` and any other columns, kept).
        previous: ``table``, ``record_key_tok``, ``person_id`` of the last run, or None on the first run.
        highest_issued: the highest ID number ever issued (from the ID log; IDs up to it are never reused).
        rekeyed: the last run's tokens were made under another pseudonymisation key: carry nothing over.

    Returns:
        (index, change): the index with lasting ``person_id`` (same rows and columns, sorted by
        ``person_id``, ``table``, ``record_key_tok``) and the run's change record: ``event`` (``first`` |
        ``carried`` | ``re-keyed: all IDs new`` | no records in common), ``people``, ``kept``, ``new``,
        ``highest_id``, ``successors`` (old -> new IDs), ``splits`` (``old``, ``new``), ``merges``
        (``old``, ``new``) and ``gone`` (old IDs whose records all left).
    """
    if previous is None:
        index, event = fresh.copy(), FIRST
        if highest_issued:  # no assignment to carry, but IDs were issued before: never reuse them
            index["person_id"], event = renumber(index["person_id"], {}, highest_issued), NO_PREVIOUS
    else:
        common = fresh[KEYS].merge(previous[KEYS], on=KEYS).shape[0]
        floor = max(highest_issued, highest_id(previous["person_id"]))
        event = REKEYED if rekeyed else (CARRIED if common else NO_COMMON_RECORDS)
        kept = inherited_ids(previous, fresh) if event == CARRIED else {}
        index = fresh.assign(person_id=renumber(fresh["person_id"], kept, floor))
    index = index.sort_values(["person_id", *KEYS], kind="stable").reset_index(drop=True)
    change = describe_change(index, previous if event == CARRIED else None, event)
    change["highest_id"] = max(highest_issued, highest_id(index["person_id"]),
                               highest_id(previous["person_id"]) if previous is not None else 0)
    return index, change


def renumber(fresh_ids: pd.Series, kept: Mapping[str, str], floor: int) -> pd.Series:
    """Fresh IDs -> lasting ones: ``kept`` where given, else new numbers after ``floor`` in fresh-ID order."""
    kept = {str(k): str(v) for k, v in dict(kept).items()}
    unique = pd.Series(fresh_ids.astype("string").unique(), dtype="string")
    others = unique[[u not in kept for u in unique]]  # a dict lookup: Series.isin on strings is far slower
    others = others.iloc[np.argsort(id_numbers(others).to_numpy(), kind="stable")]
    numbers = np.arange(floor + 1, floor + 1 + len(others))
    mapping = pd.concat([pd.Series(kept, dtype="string"),
                         pd.Series([format_id(int(n)) for n in numbers], index=others.to_numpy(), dtype="string")])
    return fresh_ids.astype("string").map(mapping).astype("string")


def describe_change(index: pd.DataFrame, previous: pd.DataFrame | None, event: str) -> dict[str, Any]:
    """The change record of :func:`carry_person_ids` (``previous`` None: nobody carried over)."""
    people = index["person_id"].nunique()
    if previous is None:
        return {"event": event, "people": int(people), "kept": 0, "new": int(people), "successors": {},
                "splits": [], "merges": [], "gone": []}
    moved = successors(previous, index)
    old_ids = set(previous["person_id"].astype(str))
    kept = set(index["person_id"].astype(str)) & old_ids
    splits = [{"old": old, "new": new} for old, new in moved.items() if len(new) > 1]
    into: dict[str, list[str]] = {}  # new ID -> the old IDs whose records it holds (only where one moved)
    for old, news in moved.items():
        for new in news:
            into.setdefault(new, []).append(old)
    for new, olds in into.items():
        if new in old_ids and new not in moved:  # an old ID kept whole that took in another's records
            olds.append(new)
    merges = [{"old": sorted(olds, key=id_number), "new": new} for new, olds in sorted(into.items()) if len(olds) > 1]
    return {"event": event, "people": int(people), "kept": len(kept), "new": int(people - len(kept)),
            "successors": moved, "splits": splits, "merges": merges,
            "gone": [old for old, new in moved.items() if not new]}


def translate_tokens(log: Sequence[Mapping[str, Any]], from_digest: str, to_digest: str) -> dict[str, list[str]]:
    """Follow the ID log from the index a list was made from to the current one.

    Args:
        log: the ID log's entries, oldest first (each with ``index_digest``, ``previous_index_digest``,
            ``event``, ``successors``).
        from_digest: the list's person index digest (a prefix of at least 16 hex characters is enough).
        to_digest: the current person index digest.

    Returns:
        Old ID -> current IDs for every ID that changed on the way (IDs not named are unchanged).

    Raises:
        PersonIdLogError: the log holds no run from ``from_digest`` to ``to_digest``, or a run on the way
            re-keyed (its IDs are all new: nothing before it can be translated).
    """
    def same(full: Any, prefix: str) -> bool:
        return bool(full) and len(prefix) >= 16 and str(full).startswith(prefix[:64])

    def refuse(why: str) -> PersonIdLogError:
        return PersonIdLogError(f"{why}: the list's tokens cannot be translated; issue a new list (`riskpipe score`)")

    at = next((i for i in range(len(log) - 1, -1, -1) if same(log[i].get("index_digest"), to_digest)), None)
    chain: list[Mapping[str, Any]] = []
    while at is not None and not same(log[at].get("index_digest"), from_digest):
        chain.append(log[at])
        before = log[at].get("previous_index_digest")
        at = next((i for i in range(at - 1, -1, -1) if before and log[i].get("index_digest") == before), None)
    if at is None:
        raise refuse(f"the person ID log has no run from the list's person index {from_digest[:16]} to the current "
                     f"index {to_digest[:16]}")
    mapping: dict[str, list[str]] = {}
    for entry in reversed(chain):
        if entry.get("event") != CARRIED:
            raise refuse(f"the person index was renumbered on {entry.get('date', '?')} ({entry.get('event')}) after "
                         "this list was made, so its tokens now name other people or nobody")
        step = {k: list(v) for k, v in entry.get("successors", {}).items()}
        mapping = {old: sorted({n for m in news for n in step.get(m, [m])}) for old, news in mapping.items()}
        for old, news in step.items():
            mapping.setdefault(old, news)
    return mapping
