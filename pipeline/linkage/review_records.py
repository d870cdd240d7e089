"""The two records of each sampled pair in clear text, for the data controller's own eyes only.

The person index holds record tokens; the staged tables (``data/staged``) hold the clear records they were
made from. As ``reidentify`` does, a source's person key column (``upn``, ``la_child_id``) is tokenised
with the pseudonymisation key exactly as ``pseudonymise`` tokenised it, and matched to the sample's record
tokens. Each record is the source's latest row for the person (``persons.latest_by``) with its address
where the source keeps addresses apart (school), as linkage saw it.

What this module returns holds clear identifiers: the caller writes it only outside the project
(:func:`pipeline.privacy.clear_outputs.refuse_clear_output`).
"""

from __future__ import annotations

from html import escape

import pandas as pd

from pipeline.privacy.reidentify import tokenise_local_ids
from pipeline.privacy.tokens import TokenMaker
from pipeline.sources.registry import Source

# what a reviewer compares, in this order; a source shows those its staged tables hold
DISPLAY_FIELDS = ("forename", "middlenames", "surname", "preferred_surname", "former_surname", "dob", "sex",
                  "postcode", "nhs_number", "upn", "former_upn")
# the reviewer judges blind: neither the match probability, the stratum nor whether the index linked the pair is
# shown (`record` takes them from the sample kept in the project)
SHEET_HEAD = ("pair_id", "decision", "reviewer", "decided_before")


def source_records(source: Source, tables: dict[str, pd.DataFrame], tokens: set[str],
                   key: bytes | TokenMaker) -> pd.DataFrame:
    """Clear records of ``source`` whose person key token is in ``tokens``.

    Args:
        source: a person source of the registry.
        tables: its staged tables by name (the person table, and its address table when it has one).
        tokens: the record tokens wanted (``record_key_tok`` of the person index).
        key: the pseudonymisation key.

    Returns:
        ``record_key_tok``, ``local_id`` (the clear person key) and the ``DISPLAY_FIELDS`` the tables hold,
        as text, one row per token found.
    """
    persons = source.persons
    table = tables[persons.table]
    ids = pd.Series(table[source.person_key].dropna().unique())
    found = dict(zip(tokenise_local_ids(ids, source.person_key, source.person_key_privacy, key), ids, strict=True))
    found = {t: v for t, v in found.items() if t in tokens}
    rows = table[table[source.person_key].isin(list(found.values()))]
    order = [c for c in persons.latest_by if c in rows]
    rows = rows.sort_values([*order, source.person_key], kind="stable").drop_duplicates(source.person_key, keep="last")
    address = tables.get(persons.address_table) if persons.address_table else None
    if address is not None and "postcode" in address:
        join = [c for c in persons.address_keys if c in rows and c in address]
        rows = rows.drop(columns=[c for c in ("postcode",) if c in rows]).merge(
            address[[*join, "postcode"]].drop_duplicates(join, keep="last"), on=join, how="left")
    token_of = {v: t for t, v in found.items()}
    out = pd.DataFrame({"record_key_tok": rows[source.person_key].map(token_of).to_numpy(),
                        "local_id": rows[source.person_key].to_numpy()})
    for field in DISPLAY_FIELDS:
        if field in rows:
            values = rows[field]
            if pd.api.types.is_datetime64_any_dtype(values):
                values = values.dt.strftime("%Y-%m-%d")
            out[field] = values.to_numpy()
    return out.astype("string")


def side_by_side(sample: pd.DataFrame, records: pd.DataFrame) -> pd.DataFrame:
    """The review sheet: one row per pair, each field of the two records next to each other.

    Args:
        sample: the drawn pairs: ``pair_id``, ``PAIR_KEYS``, ``decision``, ``reviewer``, ``decided_at`` (carried
            decisions, or null).
        records: ``source``, ``record_key_tok``, ``local_id`` and display fields (:func:`source_records`).

    Returns:
        ``SHEET_HEAD`` then ``source_1``, ``source_2``, ``local_id_1``, ``local_id_2``, ``forename_1``,
        ``forename_2`` …, ordered by ``pair_id`` (strata mixed); a record the staged tables no longer hold
        shows "(not in data/staged)".
    """
    fields = ["local_id", *(f for f in DISPLAY_FIELDS if f in records)]
    sheet = sample.assign(decided_before=sample["decided_at"].fillna(""))
    sheet = sheet[[*SHEET_HEAD, "source_l", "record_key_tok_l", "source_r", "record_key_tok_r"]]
    for side, number in (("l", 1), ("r", 2)):
        named = records.rename(columns={"source": f"source_{side}", "record_key_tok": f"record_key_tok_{side}",
                                        **{f: f"{f}_{number}" for f in fields}})
        sheet = sheet.merge(named, on=[f"source_{side}", f"record_key_tok_{side}"], how="left")
        sheet[f"local_id_{number}"] = sheet[f"local_id_{number}"].fillna("(not in data/staged)")
        sheet = sheet.rename(columns={f"source_{side}": f"source_{number}"})
    ordered = [*SHEET_HEAD, "source_1", "source_2"] + [f"{f}_{n}" for f in fields for n in (1, 2)]
    return sheet[ordered].sort_values("pair_id", ignore_index=True)  # a hash: random order, strata mixed


def render_review_html(sheet: pd.DataFrame, decisions_file: str) -> str:
    """A local HTML page showing each pair's two records side by side, fields that differ marked."""
    fields = [c[:-2] for c in sheet.columns if c.endswith("_1")]
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'><title>Linkage clerical review</title><style>"
        "body{font-family:sans-serif;margin:2em}table{border-collapse:collapse;margin:0 0 1.5em}"
        "td,th{border:1px solid #999;padding:.2em .6em;text-align:left}.differs{background:#fde2a6}"
        "</style></head><body><h1>Linkage clerical review</h1>",
        "<p><strong>Clear identifiers: keep this page and the sheet inside your own environment; delete them "
        "when the review is recorded.</strong></p>",
        f"<p>For each pair, judge whether the two records are the same child. Write <code>match</code>, "
        f"<code>non-match</code> or <code>unsure</code> in the <code>decision</code> column of "
        f"<code>{escape(decisions_file)}</code> (and your name under <code>reviewer</code>), then run "
        "<code>riskpipe review-linkage record --decisions FILE --by NAME</code>. The pairs are in random order and "
        "nothing here says whether riskpipe linked them: judge the records alone, using the source systems where "
        "they are not enough.</p>",
    ]
    for number, row in enumerate(sheet.itertuples(index=False), start=1):
        values = row._asdict()
        parts.append(f"<h2>Pair {number} <small>({escape(str(values['pair_id']))})</small></h2><table>"
                     "<tr><th>field</th><th>record 1</th><th>record 2</th></tr>")
        for field in fields:
            first, second = (str(values[f"{field}_{n}"]) if pd.notna(values[f"{field}_{n}"]) else "" for n in (1, 2))
            marked = " class='differs'" if first != second and field not in ("source", "local_id") else ""
            parts.append(f"<tr{marked}><th>{escape(field)}</th><td>{escape(first)}</td><td>{escape(second)}</td></tr>")
        carried = f"{values['decision']} ({values['reviewer']}, {values['decided_before']})" \
            if pd.notna(values["decision"]) else "no"
        parts.append(f"</table><p>decided before: {escape(carried)}</p>")
    parts.append("</body></html>")
    return "\n".join(parts)
