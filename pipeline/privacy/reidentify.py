"""``riskpipe reidentify``: the data controller maps a risk list's tokens back to its own local IDs.

Only the controller holding the pseudonymisation key and its own raw extract can do this: its
local IDs are tokenised exactly as ``pseudonymise`` tokenised the source's person key column (same
privacy action, so the same normalisation and HMAC domain), matched to the person index, and so
to the list's ``person_token``. Nothing else is revealed: a controller sees IDs only for children in
its own extract. Output goes only where told.

Which column is a source's person key, and its privacy action, is the source registry's to say;
the caller (``pipeline.lists.stage``) looks them up, so privacy code never imports the sources.

A list's tokens are the person IDs of the index it was made from, named in its ``person_index``
column. Matched through another index they would name other children (a re-link used to renumber
everyone), so the caller checks that column against the current index first and refuses a list it
cannot place; where the person ID log leads from the list's index to the current one, the caller passes
its ``translation`` (old ID -> current IDs) and each row says in ``person_change`` what happened to its
person since (same person, merged with another, split, gone).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pandas as pd

from pipeline.privacy.actions import Privacy
from pipeline.privacy.match_keys import column_outputs
from pipeline.privacy.tokens import TokenMaker

NOT_HELD = "not in this extract"
LIST_INDEX_COLUMN = "person_index"
SAME_PERSON = "same person"
MERGED = "merged with another person since this list: check these IDs are the child the list meant"
SPLIT = "split into {n} people since this list: check which of these IDs is the child the list meant"
GONE = "no longer in the person index (records left the extracts since this list)"


class ReidentifyError(ValueError):
    """The request cannot be served safely (unknown source, missing column); names columns, never values."""


def tokenise_local_ids(local_ids: pd.Series, key_column: str, privacy: Privacy, key: bytes | TokenMaker) -> pd.Series:
    """Tokens of a controller's own IDs, as pseudonymise made ``<key_column>_tok`` under ``privacy``.

    A :attr:`Privacy.UPN` key is tokenised in the shared ``upn`` domain, a :attr:`Privacy.RECORD_KEY`
    column in a domain named after the column (``la_child_id``), as :mod:`pipeline.privacy.match_keys` does.

    Raises:
        ReidentifyError: ``privacy`` makes no ``<key_column>_tok`` token.
    """
    token_column = f"{key_column}_tok"
    outputs = column_outputs(local_ids, privacy, key_column, key)
    if token_column not in outputs:
        raise ReidentifyError(f"{key_column} is not tokenised (privacy action {privacy.value}); nothing to match")
    return outputs[token_column]


def list_person_index(risk_list: pd.DataFrame) -> str:
    """The person index digest (hex) a list says its tokens come from (its ``person_index`` column, ``sha256:…``).

    Raises:
        ReidentifyError: no ``person_index`` column, or rows naming different indexes.
    """
    if LIST_INDEX_COLUMN not in risk_list:
        raise ReidentifyError(
            "the list does not say which person index its tokens come from (no person_index column: issued before "
            "riskpipe recorded it, or edited); after any re-link its tokens may name other children. Issue a new "
            "list (`riskpipe score`) and re-identify that")
    named = risk_list[LIST_INDEX_COLUMN].dropna().unique()
    if len(named) != 1:
        raise ReidentifyError(f"the list's person_index column names {len(named)} person indexes; one list comes "
                              "from one index: re-identify the list as it was issued")
    digest = str(named[0]).strip().removeprefix("sha256:")
    if len(digest) < 16 or any(c not in "0123456789abcdef" for c in digest):
        raise ReidentifyError("the list's person_index is not a person index digest (sha256: and 16 hex characters; "
                              "edited?): re-identify the list as it was issued")
    return digest


def translate_list_tokens(tokens: pd.Series, translation: Mapping[str, Sequence[str]]) -> pd.DataFrame:
    """Each list token's current person IDs and what happened to its person since the list.

    Args:
        tokens: the list's ``person_token`` values (IDs of the index it was made from).
        translation: old ID -> current IDs for every ID that changed (from the person ID log; not named:
            unchanged).

    Returns:
        ``person_token``, ``person_id`` (one row per current ID; null when gone), ``person_change``.
    """
    absorbed = {new for old, news in translation.items() for new in news if new != old}
    rows = []
    for token in dict.fromkeys(tokens.astype(str)):
        now = list(translation.get(token, [token]))
        if not now:
            change = GONE
        elif len(now) > 1:
            change = SPLIT.format(n=len(now))
        elif now != [token] or token in absorbed:
            change = MERGED
        else:
            change = SAME_PERSON
        rows += [(token, person, change) for person in (now or [None])]
    return pd.DataFrame(rows, columns=["person_token", "person_id", "person_change"])


def reidentify_list(
    risk_list: pd.DataFrame, person_index: pd.DataFrame, extract: pd.DataFrame, *, id_column: str,
    source: str, key_column: str, privacy: Privacy, key: bytes | TokenMaker,
    translation: Mapping[str, Sequence[str]] | None = None,
) -> pd.DataFrame:
    """Add the controller's local ID(s) to each list row.

    Args:
        risk_list: a risk list with ``person_token`` (the person index ``person_id``).
        person_index: ``table``, ``record_key_tok``, ``person_id``: the index the list was made from, or
            the current one when ``translation`` leads there.
        extract: the controller's own raw extract holding ``id_column``.
        source: which person source the extract is (its person index ``table``: school, social_care ...).
        key_column: the source's person key column (``la_child_id``), whose token is the index's record key.
        privacy: the privacy action of ``key_column`` in the source's spec.
        translation: old ID -> current IDs (:func:`translate_list_tokens`) when the list was made from an
            earlier index; None when it was made from ``person_index`` itself.

    Returns:
        ``risk_list`` with ``local_id`` inserted after ``person_token``: the IDs held ("; "-joined when a
        person has several), or "not in this extract"; with a ``translation``, ``person_change`` after it.

    Raises:
        ReidentifyError: a required column is missing, or the key column is not tokenised.
    """
    if id_column not in extract:
        raise ReidentifyError(f"the extract has no column {id_column!r}")
    if "person_token" not in risk_list:
        raise ReidentifyError("the list has no person_token column")
    ids = extract[[id_column]].dropna().drop_duplicates()
    tokens = tokenise_local_ids(ids[id_column], key_column, privacy, key)
    ids = ids.assign(record_key_tok=tokens).dropna(subset="record_key_tok")
    index = person_index.loc[person_index["table"] == source, ["record_key_tok", "person_id"]]
    matched = ids.merge(index, on="record_key_tok", how="inner")
    moved = translate_list_tokens(risk_list["person_token"], translation or {})
    matched = moved.merge(matched, on="person_id", how="inner")
    local = matched.groupby("person_token")[id_column].agg(lambda s: "; ".join(sorted(map(str, s))))
    out = risk_list.copy()
    position = out.columns.get_loc("person_token") + 1
    out.insert(position, "local_id", out["person_token"].map(local).fillna(NOT_HELD))
    if translation is not None:
        out.insert(position + 1, "person_change", out["person_token"].map(moved.groupby("person_token")[
            "person_change"].first()))
    return out
