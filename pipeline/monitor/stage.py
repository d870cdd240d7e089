"""The IO of ``riskpipe monitor``: recording-practice breaks in every watched coded column, by group.

Reads the pseudonymised tables each source declares under ``monitored`` (pipeline/sources), joins each
row to its person's ethnicity group and area deprivation quintile from the source's own person table
(no linkage needed: the same source's key), counts every code per month (:mod:`pipeline.monitor.series`)
and tests each series for one step change (:mod:`pipeline.monitor.changepoint`). Writes
``reports/monitor.json`` (method, what was tested, each break), ``reports/monitor.csv`` (the breaks) and
``reports/monitor.html`` (each break's series drawn). Model cards list the breaks in the sources a model
reads, and the gate's ``recording_practice`` check blocks until a person has reviewed them.
"""

from __future__ import annotations

import base64
import io as bytes_io
import logging
from dataclasses import asdict
from pathlib import Path

import pandas as pd

from pipeline.core.io import parquet_columns, read_parquet, write_csv, write_json, write_text
from pipeline.core.paths import ProjectPaths
from pipeline.monitor.series import ALL, MonitorSettings, find_breaks, monthly_counts
from pipeline.sources.registry import MonitoredCodes, Source, all_sources

log = logging.getLogger(__name__)
BREAKDOWNS = ("ethnicity_group", "imd_quintile")
# read from the source's own person table: the breakdowns, and the birth month the ages come from
PERSON_ATTRIBUTES = ("ethnicity_group", "lsoa_imd_decile", "birth_year", "birth_month")


class MonitorInputMissing(FileNotFoundError):
    """A watched table is not in data/pseudo (run `riskpipe pseudonymise` first)."""


def break_id(source: str, table: str, column: str, row: pd.Series | dict) -> str:
    """A stable name for one break, which a model context may cite as reviewed: ``table.column=code@month[group]``."""
    where = "" if row["breakdown"] == ALL else f"[{row['breakdown']}={row['group']}]"
    return f"{table}.{column}={row['code']}@{row['month']}{where}"


def _person_attributes(paths: ProjectPaths, source: Source, on: str) -> pd.DataFrame | None:
    """The source's person table reduced to ``on`` and the breakdown columns it has (last row per person)."""
    if source.persons is None or not paths.pseudo_table(source.persons.table).exists():
        return None
    available = parquet_columns(paths.pseudo_table(source.persons.table))
    wanted = [c for c in PERSON_ATTRIBUTES if c in available]
    if on not in available or not wanted:
        return None
    people = read_parquet(paths.pseudo_table(source.persons.table), columns=[on, *wanted])
    return people.drop_duplicates(on, keep="last")


def _join_column(source: Source, table_columns: list[str], person_columns: list[str]) -> str | None:
    """The token joining a watched table to its source's person table: the person key's, else a shared one."""
    shared = [c for c in table_columns if c.endswith("_tok") and c in person_columns]
    key = source.person_key_token
    return key if key in shared else (shared[0] if shared else None)


def watched_rows(paths: ProjectPaths, source: Source, watched: MonitoredCodes) -> pd.DataFrame:
    """One watched table's date and coded columns, with each row's ethnicity group and IMD quintile where known.

    Raises:
        MonitorInputMissing: the table is not in data/pseudo.
    """
    path = paths.pseudo_table(watched.table)
    if not path.exists():
        raise MonitorInputMissing(f"{path.relative_to(paths.root)} is missing: run `riskpipe pseudonymise` first")
    table_columns = parquet_columns(path)
    person_table = source.persons.table if source.persons else None
    person_columns = parquet_columns(paths.pseudo_table(person_table)) if person_table and \
        paths.pseudo_table(person_table).exists() else []
    on = _join_column(source, table_columns, person_columns)
    keep = [watched.date_column, *watched.columns, *([on] if on else []),
            *(c for c in PERSON_ATTRIBUTES if c in table_columns)]
    rows = read_parquet(path, columns=list(dict.fromkeys(keep)))
    if on and person_table != watched.table:
        people = _person_attributes(paths, source, on)
        if people is not None:
            rows = rows.drop(columns=[c for c in people.columns if c != on and c in rows.columns])
            rows = rows.merge(people, on=on, how="left")
    if "lsoa_imd_decile" in rows.columns:
        decile = pd.to_numeric(rows["lsoa_imd_decile"], errors="coerce")
        rows["imd_quintile"] = ((decile + 1) // 2).astype("Int64")
    return rows


def scan_source(paths: ProjectPaths, source: Source, settings: MonitorSettings) -> tuple[list[dict], int, dict]:
    """Breaks in every watched column of one source; the breaks, series tested, and each break's series."""
    breaks, tested, drawn = [], 0, {}
    tables: dict[tuple[str, str], pd.DataFrame] = {}  # a table watched under several prefixes is read once
    optional = {t.name for t in source.tables if t.optional}
    for watched in source.monitored:
        read_as = (watched.table, watched.date_column)
        if watched.table in optional and not paths.pseudo_table(watched.table).exists():
            continue  # an optional extract this council does not send: reported under not_watched
        if read_as not in tables:
            columns = tuple(dict.fromkeys(c for w in source.monitored if (w.table, w.date_column) == read_as
                                          for c in w.columns))
            tables[read_as] = watched_rows(paths, source, MonitoredCodes(*read_as, columns))
        rows = tables[read_as]
        breakdowns = [b for b in BREAKDOWNS if b in rows.columns]
        for column in watched.columns:
            counts = monthly_counts(rows, date_column=watched.date_column, column=column, prefix=watched.prefix,
                                    breakdowns=breakdowns)
            found, n = find_breaks(counts, settings)
            tested += n
            for row in found.to_dict("records"):
                row["ratio"] = None if row["ratio"] is None or pd.isna(row["ratio"]) else float(row["ratio"])
                entry = {"id": break_id(source.name, watched.table, column, row), "source": source.name,
                         "table": watched.table, "column": column, **row}
                breaks.append(entry)
                series = counts[(counts["breakdown"] == row["breakdown"]) & (counts["group"] == row["group"])]
                drawn[entry["id"]] = series
    return breaks, tested, drawn


def run_monitor(paths: ProjectPaths, settings: MonitorSettings, *, extract_date: str) -> dict:
    """Scan every source's watched columns and write reports/monitor.{json,csv,html}; returns the report.

    Raises:
        MonitorInputMissing: a watched table is not in data/pseudo.
    """
    breaks, tested, drawn, watched, not_watched = [], 0, {}, [], []
    for source in all_sources().values():
        if not source.monitored:
            continue
        found, n, series = scan_source(paths, source, settings)
        breaks += found
        tested += n
        drawn.update(series)
        present = [w for w in source.monitored if paths.pseudo_table(w.table).exists()]
        watched += [{"source": source.name, "table": w.table, "columns": list(w.columns), "date": w.date_column}
                    for w in present]
        not_watched += [{"source": source.name, "table": w.table, "reason": "no extract this run (optional table)"}
                        for w in source.monitored if w not in present]
    report = {
        "extract_date": extract_date,
        "method": {"test": "single change-point (Poisson with offsets) in each code's monthly count, "
                           "with expected counts standardised for age, likelihood ratio divided by the quasi-Poisson "
                           "over-dispersion, p-value "
                           "Bonferroni-adjusted over the split points searched and over every series "
                           "of the column (family-wise)",
                   **asdict(settings), "breakdowns": [ALL, *BREAKDOWNS]},
        "watched": watched, "not_watched": not_watched, "series_tested": tested,
        "breaks": breaks,
        "breaks_by_source": {s: sum(b["source"] == s for b in breaks) for s in sorted({w["source"] for w in watched})},
    }
    write_json(report, paths.reports / "monitor.json")
    write_csv(pd.DataFrame(breaks, columns=["id", "source", "table", "column", "breakdown", "group", "code",
                                            "month", "share_before", "share_after", "ratio", "rows_before",
                                            "rows_after", "coded_before", "coded_after", "dispersion", "p_value"]),
              paths.reports / "monitor.csv")
    write_text(render_monitor_html(report, drawn), paths.reports / "monitor.html")
    log.info("Recording monitor: %d series tested, %d breaks", tested, len(breaks))
    return report


def _chart(series: pd.DataFrame, code: str, month: str) -> str:
    """One break's series as a PNG data URI: the code's monthly share, as recorded and as the ages expect."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    of_code = series[series["code"] == code].sort_values("month")
    when = of_code["month"].dt.to_timestamp()
    fig, ax = plt.subplots(figsize=(6.4, 2.2), dpi=90)
    ax.plot(when, of_code["coded"] / of_code["rows"], lw=1, color="#1d4e89", label="recorded")
    ax.plot(when, of_code["expected"] / of_code["rows"], lw=1, color="#8a8a8a", ls=":", label="expected for the ages")
    ax.axvline(pd.Period(month, "M").to_timestamp(), color="#b42318", ls="--", lw=1)
    ax.set_ylabel("share of rows")
    ax.legend(frameon=False, fontsize=8)
    ax.spines[["top", "right"]].set_visible(False)
    fig.tight_layout()
    buffer = bytes_io.BytesIO()
    fig.savefig(buffer, format="png")
    plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def render_monitor_html(report: dict, drawn: dict[str, pd.DataFrame], *, max_charts: int = 40) -> str:
    """reports/monitor.html: what was watched, and each break in words with its series drawn."""
    from html import escape

    parts = ["<!doctype html><html lang='en'><meta charset='utf-8'><title>Recording-practice monitor</title>",
             "<style>body{font-family:system-ui,sans-serif;max-width:960px;margin:2rem auto;color:#1a1a1a}"
             "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:4px 8px;text-align:left}"
             ".break{border-top:1px solid #ddd;padding:0.6rem 0}</style>",
             "<h1>Recording-practice monitor</h1>",
             f"<p>Extract date {escape(str(report['extract_date']))}. {report['series_tested']:,} series tested "
             "(each code's monthly share of its table's rows, overall, by ethnicity group and by area "
             f"deprivation quintile); <strong>{len(report['breaks'])} break(s)</strong> found.</p>",
             f"<p>Method: {escape(report['method']['test'])}; reported when the adjusted p-value is at most "
             f"{report['method']['alpha']:g} and the share changes by a factor of at least "
             f"{report['method']['min_ratio']:g} either way.</p>",
             "<p>A break is a change in how something is <em>recorded</em>; it may or may not be a change in what "
             "happens. A model that reads the source learned the old recording; check the break before relying "
             "on its scores.</p>",
             "<table><tr><th>Source</th><th>Breaks</th></tr>",
             *(f"<tr><td>{escape(s)}</td><td>{n}</td></tr>" for s, n in report["breaks_by_source"].items()),
             "</table>"]
    for entry in report["breaks"][:max_charts]:
        ratio = ("stopped" if entry["coded_after"] == 0 else "started" if entry["ratio"] is None
                 else f"{entry['ratio']:.2f}× its rate before, allowing for age")
        group = "all rows" if entry["breakdown"] == ALL else f"{entry['breakdown']} = {entry['group']}"
        parts.append(
            f"<div class='break'><h3>{escape(entry['table'])}.{escape(entry['column'])} = "
            f"{escape(entry['code'])} ({escape(group)})</h3><p>From {escape(entry['month'])} its share went from "
            f"{entry['share_before']:.2%} to {entry['share_after']:.2%} ({ratio}); adjusted p = "
            f"{entry['p_value']:.1e}. Break id <code>{escape(entry['id'])}</code>.</p>"
            f"<img alt='monthly share of {escape(entry['code'])}' "
            f"src='{_chart(drawn[entry['id']], entry['code'], entry['month'])}'></div>")
    if len(report["breaks"]) > max_charts:
        parts.append(f"<p>{len(report['breaks']) - max_charts} more in monitor.csv.</p>")
    parts.append("</html>")
    return "\n".join(parts)


def monitor_report(paths: ProjectPaths) -> Path:
    """Where the monitor's JSON report lies."""
    return paths.reports / "monitor.json"
