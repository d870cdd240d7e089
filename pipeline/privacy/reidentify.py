"""``riskpipe reidentify``: the data controller maps a risk list's tokens back to its own local IDs.

Only the controller holding the pseudonymisation key and its own raw extract can do this: its
local IDs are tokenised exactly as ``pseudonymise`` tokenised the source's person key column (same
privacy action, so the same normalisation and HMAC domain), matched to the person index, and so
to the list's ``person_token``. Nothing else is revealed: a controller sees IDs only for children in
its own extract. Output goes only where told.

Which column is a source's person key, and its privacy action, is the source registry's to say;
the caller (``pipeline.lists.stage``) looks them up, so privacy code never imports the sources.
"""

from __future__ import annotations

import pandas as pd

from pipeline.privacy.actions import Privacy
from pipeline.privacy.match_keys import column_outputs
from pipeline.privacy.tokens import TokenMaker

NOT_HELD = "not in this extract"


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


def reidentify_list(
    risk_list: pd.DataFrame, person_index: pd.DataFrame, extract: pd.DataFrame, *, id_column: str,
    source: str, key_column: str, privacy: Privacy, key: bytes | TokenMaker,
) -> pd.DataFrame:
    """Add the controller's local ID(s) to each list row.

    Args:
        risk_list: a risk list with ``person_token`` (the person index ``person_id``).
        person_index: ``table``, ``record_key_tok``, ``person_id``.
        extract: the controller's own raw extract holding ``id_column``.
        source: which person source the extract is (its person index ``table``: school, social_care ...).
        key_column: the source's person key column (``la_child_id``), whose token is the index's record key.
        privacy: the privacy action of ``key_column`` in the source's spec.

    Returns:
        ``risk_list`` with ``local_id`` inserted after ``person_token``: the IDs held ("; "-joined when a
        person has several), or "not in this extract".

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
    local = matched.groupby("person_id")[id_column].agg(lambda s: "; ".join(sorted(map(str, s))))
    out = risk_list.copy()
    position = out.columns.get_loc("person_token") + 1
    out.insert(position, "local_id", out["person_token"].map(local).fillna(NOT_HELD))
    return out
