"""The ingest data-quality report: per table rows read, accepted, quarantined by reason, fields
flagged by rule. Counts, rules, files and line numbers only; never a data value."""

from __future__ import annotations

from datetime import date


def summarise_ingest(reports: list[dict], extract_date: date, files: dict | None = None) -> dict:
    """Combine per-table reports into ``reports/ingest.json``.

    Args:
        reports: one ``IngestResult.report`` per table, or a failure/no-input entry
            (``table``, ``source``, ``status``, ``error``).
        extract_date: the extract date the run used.
        files: ``pipeline.ingest.files.file_inventory``: every file taken and every file ignored.

    Returns:
        dict with ``extract_date``, ``totals`` (read, accepted, quarantined; reconciled), ``tables_failed``
        (file-level failures and missing extracts), ``warnings``, ``files`` and ``tables``.

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
    failed = [r["table"] for r in reports if r.get("status") in ("failed", "missing")]
    warnings = [f"{r['table']}: {w}" for r in reports for w in r.get("warnings", [])]
    warnings += [f"{r['table']}: {r['error']}" for r in reports if r.get("status") == "no_input"]
    return {
        "extract_date": extract_date.isoformat(),
        "files": files or {"taken": [], "ignored": []},
        "warnings": warnings,
        "totals": totals,
        "reconciled": totals["rows_read"] == totals["rows_accepted"] + totals["rows_quarantined"],
        "tables_failed": failed,
        "tables": {r["table"]: r for r in reports},
    }


def _table_section(rep: dict) -> list[str]:
    lines = [f"## {rep['table']} ({rep['source']})", ""]
    if rep["status"] != "ok":
        labels = {"failed": "**FAILED** (file-level error)", "missing": "**MISSING** (no extract)"}
        label = labels.get(rep["status"], "no input files (optional)")
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
    if summary.get("warnings"):
        lines += ["## Warnings", "", *[f"- {w}" for w in summary["warnings"]], ""]
    for rep in summary["tables"].values():
        lines += _table_section(rep)
    lines += _files_section(summary.get("files", {}))
    return "\n".join(lines)


def _files_section(files: dict) -> list[str]:
    """Every ignored file by name; taken files counted per table (each is named in ingest.json)."""
    lines = ["## Files", ""]
    lines += [f"- **ignored**: {f['file']} ({f['reason']})" for f in files.get("ignored", [])]
    by_table: dict[str, list[str]] = {}
    for f in files.get("taken", []):
        by_table.setdefault(f["table"], []).append(f["file"])
    for table, names in by_table.items():
        shown = names[0] if len(names) == 1 else f"{names[0]} … {names[-1]}"
        lines.append(f"- taken by {table}: {len(names)} file(s) ({shown})")
    return [*lines, ""]
