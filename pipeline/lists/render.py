"""The risk list as people read it: one table (CSV, Excel, HTML) plus its caveats, and the per-person file.

Columns of the CSV (the Excel sheet shows the same cells under the headings of ``DISPLAY_HEADERS``):
``status, rank, person_token, risk, risk_percent, band, reasons, protective_factors, cannot_see,
records_seen, <source>_last_record`` for each person source in registry order, ``model, model_version,
approval, person_index``. ``risk`` reads "about 1 in 4 (24%)"; ``reasons`` and ``protective_factors`` hold one
plain-English phrase per line, each with its county comparison; ``cannot_see`` names the sources with no
record of the person. ``person_index`` names the person index the tokens come from (``sha256:`` and the first
16 hex characters of :func:`pipeline.linkage.persistent_ids.person_index_digest`): ``reidentify`` refuses a
list whose index is not the current one unless the person ID log can translate its tokens.

The HTML page and the parquet file (:func:`person_records`, for the web app) carry the very same text.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from pipeline.lists.explanations import NONE_FOUND, NOTHING_STANDS_OUT, REASON_SEPARATOR
from pipeline.lists.record_dates import cannot_see, format_list_dates, records_seen
from pipeline.lists.release import DRAFT_BANNER, Release
from pipeline.sources.registry import Source, person_sources

# how people read the list's columns (Excel and HTML headings); the CSV keeps the column names
DISPLAY_HEADERS = {
    "status": "Status", "rank": "Rank", "person_token": "Person (pseudonymous token)", "risk": "Risk",
    "risk_percent": "Risk (%)", "band": "Band", "reasons": "Main reasons, against the county average",
    "protective_factors": "What lowers the score", "cannot_see": "What the model cannot see",
    "records_seen": "Records the model saw (latest month)", "model": "Model", "model_version": "Model version",
    "approval": "Approval", "person_index": "Person index",
}
# how the Excel workbook shows the list: risk as a percentage, long text wrapped (display headings)
PERCENT_COLUMNS = (DISPLAY_HEADERS["risk_percent"],)
WRAP_COLUMNS = tuple(DISPLAY_HEADERS[c] for c in ("reasons", "protective_factors", "cannot_see", "records_seen")) + (
    "caveat",)


def risk_in_words(risk: float) -> str:
    """A calibrated risk as people say it: "about 1 in 4 (24%)", "about 6 in 10 (62%)", "less than 1 in 100 (0.4%)"."""
    pct = "over 99%" if risk >= 0.995 else f"{risk:.0%}" if risk >= 0.01 else f"{risk:.1%}"
    if risk >= 0.55:  # "about 6 in 10" reads better than "about 1 in 2" from here on
        tenths = round(risk * 10)
        words = "more than 9 in 10" if tenths >= 10 else f"about {tenths} in 10"
    elif risk >= 0.01:
        words = f"about 1 in {round(1 / risk)}"
    else:
        words = "less than 1 in 100"
    return f"{words} ({pct})"


def build_risk_list(
    top: pd.DataFrame, explanations: pd.DataFrame, coverage: pd.DataFrame, release: Release, model: str,
    sources: Sequence[Source] | None = None, *, person_index: str,
) -> pd.DataFrame:
    """Assemble the list people read.

    Args:
        top: :func:`pipeline.lists.selection.select_top_by_capacity` output with ``person_id``, ``rank``,
            ``risk``, ``band``.
        explanations: ``reasons``, ``protective_factors`` aligned with ``top``
            (:func:`pipeline.lists.explanations.explain_rows`).
        coverage: :func:`pipeline.lists.record_dates.last_record_dates` output.
        sources: the sources shown (default: the registry's person sources, in order).
        person_index: names the person index the tokens come from (``sha256:`` and 16 hex characters).

    Returns:
        The CSV's columns (module docstring); ``<source>_last_record`` as ``YYYY-MM`` text or "no record".
    """
    sources = person_sources() if sources is None else sources
    out = top[["rank", "person_id", "risk", "band"]].join(explanations[["reasons", "protective_factors"]])
    out = out.merge(coverage, on="person_id", how="left")
    for source in sources:  # a person with no dated record anywhere has no coverage row: no record anywhere
        column = f"{source.name}_last_record"
        out[column] = pd.to_datetime(out[column]) if column in out else pd.Series(pd.NaT, index=out.index)
    out["cannot_see"] = cannot_see(out, sources)
    out["records_seen"] = records_seen(out, sources)
    for source in sources:
        column = f"{source.name}_last_record"
        out[column] = format_list_dates(out[column])
    out = out.rename(columns={"person_id": "person_token"}).assign(
        risk_percent=(out["risk"] * 100).round(1), risk=out["risk"].map(risk_in_words), model=model,
        model_version=release.version, approval=release.approval, status="DRAFT" if release.draft else "APPROVED",
        person_index=person_index)
    columns = ["status", "rank", "person_token", "risk", "risk_percent", "band", "reasons", "protective_factors",
               "cannot_see", "records_seen", *[f"{s.name}_last_record" for s in sources], "model", "model_version",
               "approval", "person_index"]
    return out[columns].sort_values("rank").reset_index(drop=True)


def person_records(risk_list: pd.DataFrame, top: pd.DataFrame, explanations: pd.DataFrame,
                   index_date: pd.Timestamp) -> pd.DataFrame:
    """The per-person file the web app reads (``risk_list.parquet``): the list's columns and text, plus detail.

    Args:
        risk_list: :func:`build_risk_list` output.
        top: the selected rows (``person_id``, ``rank``, ``risk``).
        explanations: :func:`pipeline.lists.explanations.explain_rows` output aligned with ``top``.
        index_date: the cohort's index date.

    Returns:
        ``risk_list``'s columns, then ``risk_probability`` (0-1), ``index_date``, ``hidden_contributions`` and
        the ``reason_<i>_feature/_text/_contribution/_county_average`` columns, in rank order
        (docs/contracts.md).
    """
    detail = [c for c in explanations.columns if c.startswith("reason_") or c == "hidden_contributions"]
    extra = top[["rank", "risk"]].rename(columns={"risk": "risk_probability"}).join(explanations[detail])
    out = risk_list.merge(extra, on="rank", how="left", validate="one_to_one")
    out.insert(out.columns.get_loc("risk_percent") + 1, "risk_probability", out.pop("risk_probability"))
    out.insert(out.columns.get_loc("risk_probability") + 1, "index_date", pd.Timestamp(index_date))
    return out


def risk_list_csv(risk_list: pd.DataFrame) -> bytes:
    """The list as UTF-8 CSV bytes (``\\n`` line ends): the file written and the bytes the audit log hashes."""
    return risk_list.to_csv(index=False, lineterminator="\n").encode("utf-8")


def risk_list_sheet(risk_list: pd.DataFrame) -> pd.DataFrame:
    """The list as the Excel sheet shows it: the same cells, headed as people read them."""
    return risk_list.rename(columns=DISPLAY_HEADERS)


def draft_title_rows(caveats: pd.DataFrame, release: Release) -> list[str]:
    """Rows above each Excel sheet: the DRAFT banner (first caveat) on a draft, nothing otherwise."""
    return [caveats["caveat"].iloc[0]] if release.draft else []


def render_risk_list_html(risk_list: pd.DataFrame, caveats: pd.DataFrame, release: Release, title: str,
                          nouns: tuple[str, str] = ("children", "child")) -> str:
    """Self-contained sortable, printable HTML page of the list (inline CSS and JS, no network); ``nouns``
    is what the population's people are called (plural, singular).

    One row per person: rank, token, risk in words, band, reasons and protective factors as bullet lists
    (the CSV's lines), what the model cannot see and the records it saw; the model, version and approval
    once, above the table.
    """
    from ethics.card.render import render_template

    def lines(text: str) -> list[str]:
        return str(text).split(REASON_SEPARATOR)

    people = [{"rank": int(r["rank"]), "token": r["person_token"], "risk": r["risk"],
               "risk_percent": float(r["risk_percent"]), "band": r["band"], "reasons": lines(r["reasons"]),
               "protective": lines(r["protective_factors"]), "cannot_see": r["cannot_see"],
               "records_seen": r["records_seen"]} for r in risk_list.to_dict("records")]
    first = risk_list.iloc[0] if len(risk_list) else None
    about = {} if first is None else {"Status": first["status"], "Model": first["model"],
                                      "Model version": first["model_version"]}
    if first is not None and not release.draft:  # a draft's approval is the banner, already at the top
        about["Approval"] = first["approval"]
    if first is not None:
        about["Person index (for the data controller)"] = first["person_index"]
    headers = [DISPLAY_HEADERS[c] for c in ("rank", "person_token", "risk", "band", "reasons", "protective_factors",
                                            "cannot_see", "records_seen")]
    return render_template("risk_list.html.j2", title=title, draft=release.draft, banner=DRAFT_BANNER,
                           headers=headers, people=people, about=about, caveats=caveats["caveat"].tolist(),
                           placeholders=(NOTHING_STANDS_OUT, NONE_FOUND), plural=nouns[0], singular=nouns[1])
