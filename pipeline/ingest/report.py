"""The ingest data-quality report: per table rows read, accepted, quarantined by reason, fields
flagged by rule. Counts, rules, files and line numbers only; never a data value."""

from __future__ import annotations

from datetime import date


def summarise_ingest(reports: list[dict], extract_date: date) -> dict:
    """Combine per-table reports into ``reports/ingest.json``.

    Args:
        reports: one ``IngestResult.report`` per table, or a failure/no-input entry
            (``table``, ``source``, ``status``, ``error``).
        extract_date: the extract date the run used.

    Returns:
        dict with ``extract_date``, ``totals`` (read, accepted, quarantined; reconciled) and ``tables``.

    Raises:
        AssertionError: a table's read count is not accepted + quarantined.
    """
    totals = {"rows_read": 0, "rows_accepted": 0, "rows_quarantined": 0}
    for rep in reports:
        if rep.get("status") != "ok":
            continue
        assert rep["rows_read"] == rep["rows_accepted"] + rep["rows_quarantined"], rep["table"]
        for key in totals:
            totals[key] += rep[key]
    failed = [r["table"] for r in reports if r.get("status") == "failed"]
    return {
        "extract_date": extract_date.isoformat(),
        "totals": totals,
        "reconciled": totals["rows_read"] == totals["rows_accepted"] + totals["rows_quarantined"],
        "tables_failed": failed,
        "tables": {r["table"]: r for r in reports},
    }


def _table_section(rep: dict) -> list[str]:
    lines = [f"## {rep['table']} ({rep['source']})", ""]
    if rep["status"] != "ok":
        label = "**FAILED** (file-level error)" if rep["status"] == "failed" else "no input files"
        lines += [f"{label}: {rep.get('error', '')}", ""]
        return lines
    lines += [
        f"Rows read **{rep['rows_read']:,}** = accepted **{rep['rows_accepted']:,}** "
        f"+ quarantined **{rep['rows_quarantined']:,}**",
        "",
        "| file | format | encoding | rows | undeclared columns dropped | schema errors |",
        "|---|---|---|---:|---:|---:|",
    ]
    for f in rep["files"]:
        errors = f.get("schema_errors", {}).get("count", "")
        fmt = f.get("format", "") + (f" ({f['delimiter']!r})" if f.get("delimiter") else "")
        lines.append(
            f"| {f['file']} | {fmt} | {f.get('encoding', '')} | {f['rows']:,} | "
            f"{f['undeclared_columns_dropped']} | {errors} |"
        )
    lines.append("")
    if rep["quarantine_reasons"]:
        lines += ["| quarantine reason | rows |", "|---|---:|"]
        lines += [f"| {reason} | {n:,} |" for reason, n in rep["quarantine_reasons"].items()]
        lines.append("")
    if rep["field_flags"]:
        lines += ["| column | rule | values | action |", "|---|---|---:|---|"]
        for column, rules in sorted(rep["field_flags"].items()):
            lines += [
                f"| {column} | {rule} | {v['count']:,} | {v['action']} |" for rule, v in sorted(rules.items())
            ]
        lines.append("")
    listed = [e for f in rep["files"] for e in f.get("schema_errors", {}).get("first", [])[:20]]
    if listed:
        lines += ["Schema errors (first 20 per file; line, element, rule):", ""]
        lines += [f"- line {e['line']}: `{e['element']}` {e['rule']}" for e in listed]
        lines.append("")
    return lines


def render_ingest_markdown(summary: dict) -> str:
    """Render ``summarise_ingest``'s result as ``reports/ingest.md`` for data managers."""
    t = summary["totals"]
    lines = [
        "# Ingest data-quality report",
        "",
        f"Extract date {summary['extract_date']}. Rows read **{t['rows_read']:,}** = accepted "
        f"**{t['rows_accepted']:,}** + quarantined **{t['rows_quarantined']:,}** "
        f"({'reconciled' if summary['reconciled'] else 'NOT RECONCILED'}).",
        "",
        "Quarantined rows are in `data/quarantine/<table>.csv` with `_source_file`, `_source_row` and "
        "`reasons`. Flagged values stay in the staged row (listed in its `_flags`) unless the action "
        "says nulled. This report holds counts only, never values.",
        "",
        "| table | read | accepted | quarantined | status |",
        "|---|---:|---:|---:|---|",
    ]
    for rep in summary["tables"].values():
        if rep["status"] == "ok":
            lines.append(
                f"| {rep['table']} | {rep['rows_read']:,} | {rep['rows_accepted']:,} | "
                f"{rep['rows_quarantined']:,} | ok |"
            )
        else:
            lines.append(f"| {rep['table']} | | | | {rep['status']} |")
    lines.append("")
    for rep in summary["tables"].values():
        lines += _table_section(rep)
    return "\n".join(lines)
