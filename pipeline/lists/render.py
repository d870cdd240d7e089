"""The risk list as people read it: one table (CSV, Excel, HTML) plus its caveats sheet.

Columns: ``status, rank, person_token, risk_percent, band, reasons, protective_factors, sources_seen,
<source>_last_record`` for each person source in registry order, ``model, model_version, approval,
person_index``. ``person_index`` names the person index the tokens come from (``sha256:`` and the first 16
hex characters of :func:`pipeline.linkage.persistent_ids.person_index_digest`): ``reidentify`` refuses a list whose
index is not the current one unless the person ID log can translate its tokens.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from pipeline.lists.record_dates import describe_sources, format_list_dates
from pipeline.lists.release import DRAFT_BANNER, Release
from pipeline.sources.registry import Source, person_sources

# how the Excel workbook shows the list: risk as a percentage, long text wrapped
PERCENT_COLUMNS = ("risk_percent",)
WRAP_COLUMNS = ("reasons", "protective_factors", "sources_seen", "caveat")


def build_risk_list(
    top: pd.DataFrame, explanations: pd.DataFrame, coverage: pd.DataFrame, release: Release, model: str,
    sources: Sequence[Source] | None = None, *, person_index: str,
) -> pd.DataFrame:
    """Assemble the list people read.

    Args:
        top: :func:`pipeline.lists.selection.select_top_by_capacity` output with ``person_id``, ``rank``,
            ``risk``, ``band``.
        explanations: ``reasons``, ``protective_factors`` aligned with ``top``.
        coverage: :func:`pipeline.lists.record_dates.last_record_dates` output.
        sources: the sources shown (default: the registry's person sources, in order).
        person_index: names the person index the tokens come from (``sha256:`` and 16 hex characters).

    Returns:
        ``status, rank, person_token, risk_percent, band, reasons, protective_factors, sources_seen,
        <source>_last_record (``YYYY-MM`` text or "no record"), model, model_version, approval, person_index``.
    """
    sources = person_sources() if sources is None else sources
    out = top[["rank", "person_id", "risk", "band"]].join(explanations[["reasons", "protective_factors"]])
    out = out.merge(coverage, on="person_id", how="left")
    out["sources_seen"] = describe_sources(out, sources)
    for source in sources:
        column = f"{source.name}_last_record"
        out[column] = format_list_dates(out[column])
    out = out.rename(columns={"person_id": "person_token"}).assign(
        risk_percent=(out["risk"] * 100).round(1), model=model, model_version=release.version,
        approval=release.approval, status="DRAFT" if release.draft else "APPROVED", person_index=person_index)
    columns = ["status", "rank", "person_token", "risk_percent", "band", "reasons", "protective_factors",
               "sources_seen", *[f"{s.name}_last_record" for s in sources], "model", "model_version", "approval",
               "person_index"]
    return out[columns].sort_values("rank").reset_index(drop=True)


def risk_list_csv(risk_list: pd.DataFrame) -> bytes:
    """The list as UTF-8 CSV bytes (``\\n`` line ends): the file written and the bytes the audit log hashes."""
    return risk_list.to_csv(index=False, lineterminator="\n").encode("utf-8")


def draft_title_rows(caveats: pd.DataFrame, release: Release) -> list[str]:
    """Rows above each Excel sheet: the DRAFT banner (first caveat) on a draft, nothing otherwise."""
    return [caveats["caveat"].iloc[0]] if release.draft else []


def render_risk_list_html(risk_list: pd.DataFrame, caveats: pd.DataFrame, release: Release, title: str) -> str:
    """Self-contained sortable, printable HTML page of the list (inline CSS and JS, no network)."""
    from ethics.card.render import render_template

    return render_template("risk_list.html.j2", title=title, draft=release.draft, banner=DRAFT_BANNER,
                           columns=list(risk_list.columns), rows=risk_list.astype("str").values.tolist(),
                           caveats=caveats["caveat"].tolist())
