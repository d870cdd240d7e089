"""``riskpipe reidentify``: the data controller maps a risk list's tokens back to its own local IDs.

Only the controller holding the pseudonymisation key and its own raw extract can do this: its
local IDs are tokenised exactly as ``pseudonymise`` did (same normalisation, same HMAC domain),
matched to the person index, and so to the list's ``person_token``. Nothing else is revealed:
a controller sees IDs only for children in its own extract. Output goes only where told.
"""

from __future__ import annotations

import pandas as pd

from pipeline.privacy.normalise import normalise_record_key, normalise_upn
from pipeline.privacy.tokens import make_tokens

# person source -> (token domain, normaliser) of the key the person index holds for that source
SOURCE_KEYS = {
    "school": ("upn", normalise_upn),
    "social_care": ("la_child_id", normalise_record_key),
    "health": ("hes_id", normalise_record_key),
    "nccis": ("ccis_id", normalise_record_key),
}
NOT_HELD = "not in this extract"


class ReidentifyError(ValueError):
    """The request cannot be served safely (unknown source, missing column); names columns, never values."""


def tokenise_local_ids(local_ids: pd.Series, source: str, key: bytes) -> pd.Series:
    """Tokens of a controller's own IDs in the person index's domain for ``source``."""
    if source not in SOURCE_KEYS:
        raise ReidentifyError(f"unknown source {source!r}; one of {sorted(SOURCE_KEYS)}")
    domain, normalise = SOURCE_KEYS[source]
    return make_tokens(normalise(local_ids), domain, key)


def reidentify_list(
    risk_list: pd.DataFrame, person_index: pd.DataFrame, extract: pd.DataFrame, *, id_column: str,
    source: str, key: bytes,
) -> pd.DataFrame:
    """Add the controller's local ID(s) to each list row.

    Args:
        risk_list: a risk list with ``person_token`` (the person index ``person_id``).
        person_index: ``table``, ``record_key_tok``, ``person_id``.
        extract: the controller's own raw extract holding ``id_column``.
        source: which person source the extract is (school, social_care, health, nccis).

    Returns:
        ``risk_list`` with ``local_id`` inserted after ``person_token``: the IDs held ("; "-joined when a
        person has several), or "not in this extract".

    Raises:
        ReidentifyError: unknown source, or a required column is missing.
    """
    if id_column not in extract:
        raise ReidentifyError(f"the extract has no column {id_column!r}")
    if "person_token" not in risk_list:
        raise ReidentifyError("the list has no person_token column")
    ids = extract[[id_column]].dropna().drop_duplicates()
    ids = ids.assign(record_key_tok=tokenise_local_ids(ids[id_column], source, key)).dropna(subset="record_key_tok")
    index = person_index.loc[person_index["table"] == source, ["record_key_tok", "person_id"]]
    matched = ids.merge(index, on="record_key_tok", how="inner")
    local = matched.groupby("person_id")[id_column].agg(lambda s: "; ".join(sorted(map(str, s))))
    out = risk_list.copy()
    position = out.columns.get_loc("person_token") + 1
    out.insert(position, "local_id", out["person_token"].map(local).fillna(NOT_HELD))
    return out
