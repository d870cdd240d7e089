"""``reports/linkage.md``: the linkage report in words and tables, for analysts and IG reviewers."""

from __future__ import annotations

from typing import Any

from pipeline.linkage.family_quality import family_links_markdown


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{100 * value:.1f}%"


def _table(header: list[str], rows: list[list[Any]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return lines + ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]


def render_linkage_markdown(report: dict[str, Any]) -> str:
    """Render the report dict made by ``pipeline.linkage.stage.link_person_records`` as Markdown."""
    out = [
        "# Linkage report",
        "",
        f"{report['people']:,} people from "
        f"{sum(s['records'] for s in report['sources'].values()):,} source records. "
        f"Pairs at match probability >= {report['thresholds']['cluster']} with date-of-birth "
        "evidence link two records; shared NHS number or UPN tokens link them deterministically. "
        f"{report.get('pairs_over_threshold_without_dob_evidence', 0):,} pairs over the threshold "
        "lacked date-of-birth evidence; "
        f"{report.get('links_refused_over_source_limits', 0):,} links were refused because a person "
        "would have held more records of a source than allowed (the weakest link of the chain goes).",
        "",
        "## Records and people",
        "",
    ]
    out += _table(
        ["source", "records", "people"],
        [[s, f"{v['records']:,}", f"{v['people']:,}"] for s, v in report["sources"].items()],
    )
    out += ["", "## People linked across sources", ""]
    out += _table(
        ["sources", "people"],
        [[k.replace("|", " & "), f"{v:,}"] for k, v in report["people_per_source_pair"].items()],
    )
    sizes = report["cluster_sizes"]
    out += ["", "## Cluster sizes", ""]
    out += _table(
        ["records per person", "people"], [[k, f"{v:,}"] for k, v in sizes["records_per_person"].items()]
    )
    over = sizes["oversized"]
    out += [
        "",
        f"**Oversized clusters** (more records of a source than {over['limits']}): "
        f"{over['people']:,} people ({over['by_source']}). Review these before use.",
        "",
    ]
    out += [
        "## Link rates",
        "",
        "Share of each source's records whose person also has a record in the target source. "
        "Lower rates for a group mean that group's linked features are missing more often.",
        "",
    ]
    for name, rate in report["link_rates"].items():
        out += [f"### {name.replace('_to_', ' → ')}: {_pct(rate['overall'])} of {rate['records']:,}", ""]
        rows = [
            [col, value, _pct(v["rate"]), f"{v['records']:,}"]
            for col, groups in rate["by_group"].items()
            for value, v in groups.items()
        ]
        out += _table(["attribute", "group", "linked", "records"], rows) + [""]
    if "truth" in report:
        truth, det = report["truth"], report["deterministic_only"]
        worst = truth.get("worst_ethnic_group_recall") or {}
        out += ["## Quality against synthetic truth", ""]
        out += _table(
            ["linkage", "pairwise precision", "pairwise recall"],
            [
                ["riskpipe (deterministic + Splink)", _pct(truth["precision"]), _pct(truth["recall"])],
                ["NHS number / UPN only", _pct(det["precision"]), _pct(det["recall"])],
            ],
        )
        out += [
            "",
            f"Worst ethnic group recall: {worst.get('group', 'n/a')} {_pct(worst.get('recall'))} "
            f"(overall {_pct(truth['recall'])}).",
            "",
        ]
        rows = [
            [col, value, _pct(v["precision"]), _pct(v["recall"]), f"{v['true_pairs']:,}"]
            for col, groups in truth["by_group"].items()
            for value, v in groups.items()
        ]
        out += _table(["attribute", "group", "precision", "recall", "true pairs"], rows) + [""]
    if "family_links" in report:  # data/linked/family_links.parquet (pipeline/linkage/family.py)
        out += family_links_markdown(report["family_links"])
    out += ["## Model training", ""] + [f"- {note}" for note in report["training_notes"]] + [""]
    return "\n".join(out)
