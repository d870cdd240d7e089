"""The "Whole population" section of docs/benchmarks.md, from ``benchmarks/whole_population.py``'s results.

The section sits between its own two HTML comments, so the children's generated table, "Linkage at scale"
and people's notes elsewhere in the file are never touched; a file without the markers gets the section
appended under a "## Whole population" heading.
"""

from __future__ import annotations

import json
from pathlib import Path

START, END = "<!-- whole-population:generated:start -->", "<!-- whole-population:generated:end -->"
TARGET_1M_WALL_S = 60 * 60
TARGET_1M_PEAK_MB = 16 * 1024
RATE_ROWS = (  # (key in adult_base_rates, label, DOMAIN_ADULTS.md §3 band, format)
    ("emergency_per_1000_18-44", "Emergency admissions per 1,000, 18–44", "40–90", "{:.0f}"),
    ("emergency_per_1000_45-64", "… 45–64", "55–120", "{:.0f}"),
    ("emergency_per_1000_65-74", "… 65–74", "100–200", "{:.0f}"),
    ("emergency_per_1000_75-84", "… 75–84", "200–380", "{:.0f}"),
    ("emergency_per_1000_85+", "… 85+", "380–650 (design ≈500)", "{:.0f}"),
    ("emergency_per_1000_65+", "… 65+", "200–300 (≈240)", "{:.0f}"),
    ("2C_per_100k", "Council-funded permanent care-home admissions per 100,000 aged 65+ (ASCOF 2C)",
     "450–720 (584)", "{:.0f}"),
    ("2B_per_100k", "… per 100,000 aged 18–64 (ASCOF 2B)", "3–35 (14.6)", "{:.1f}"),
    ("self_funded_share_65", "Share of care-home entrants 65+ self-funding", "0.25–0.50 (37%)", "{:.2f}"),
    ("lts_65_during_year", "Adults 65+ with long-term support during the year", "0.035–0.065 (4.0–5.4%)",
     "{:.3f}"),
    ("ld_register_prevalence", "LD on the GP register (all ages)", "0.004–0.008 (0.5–0.6%)", "{:.4f}"),
    ("deaths_over_expected_65+", "Deaths 65+ over the ONS life table", "0.85–1.15", "{:.2f}"),
    ("persons_with_admission_pct", "Adults with ≥1 emergency admission in a year (%)", "5–14 (SPARRA 8.9)",
     "{:.1f}"),
    ("top5pct_by_risk", "Share of admissions in the top 5% by true risk", "0.25–0.60 (design 0.45)", "{:.2f}"),
    ("top5pct_realised", "Share of admissions in the top 5% of users", "> top 5% by risk", "{:.2f}"),
    ("top0.5pct_lift", "Top 0.5% by true risk: times the average admission rate", "10–40 (CPM 18.6)", "{:.1f}"),
    ("roland_index_year_share", "65+ with ≥2 admissions: share of admissions that year", "0.30–0.60 (Roland 0.38)",
     "{:.2f}"),
    ("roland_next_year_share", "… their share the next year", "< 0.15 (Roland < 0.10)", "{:.2f}"),
)


TOP_SHARES = (0.005, 0.01, 0.05)
# metrics.json ``adult.models`` names, in this order (the released learner is "lightgbm", or "released" once renamed)
LEARNERS = ("released", "lightgbm", "logistic", "rule", "generator")


def model_figures(reports: Path) -> dict:
    """The #18 figures of one evaluated model, from ``reports/<model>/metrics.json``: the ``adult`` block
    (AUROC of each learner and of the generator's probability, lift in the top 0.5/1/5%, the no-prior-admission
    subgroup, calibration by age band and deprivation quintile), the competing-risks block's cumulative incidence
    of a care home and of death by risk band, and the test year's AUROC of every learner; {} without the file."""
    path = reports / "metrics.json"
    if not path.exists():
        return {}
    metrics = json.loads(path.read_text())
    competing = metrics.get("competing_risks") or {}
    scalars = ("auc", "n", "prevalence", "lift_top_0_5pct", "lift_top_1pct", "lift_top_5pct", "oe_ratio")
    test = {"released" if name == "test" else name: {k: block.get(k) for k in scalars}
            for name, block in (("test", metrics.get("test")), *((metrics.get("baselines") or {}).items()))
            if isinstance(block, dict)}
    return {"test": test, "adult": metrics.get("adult"),
            "competing_risks": {k: competing.get(k) for k in ("test_year", "overall", "by_band", "auroc_12m",
                                                              "training", "status", "reason") if k in competing}
            or None}


def _num(value, fmt: str = "{:.3f}") -> str:
    return "—" if value is None else fmt.format(value)


def _figure_lines(model: str, size: str, figures: dict) -> list[str]:
    """Plain lines of one model's #18 figures at one county size."""
    out = []
    adult = figures.get("adult") or {}
    learners = adult.get("models") or {}
    test = figures.get("test") or {}
    released = test.get("released") or {}
    if released:
        names = ["released", *(n for n in ("logistic", "rule", "generator") if n in test)]
        out.append(f"- **{model}**, {int(size):,} people, test year ({released.get('n') or 0:,} rows, "
                   f"{_num(released.get('prevalence'), '{:.2%}')} with the outcome): AUROC "
                   + ", ".join(f"{n} {_num(test[n].get('auc'))}" for n in names) + "; lift in the top 0.5 / 1 / 5%: "
                   + ", ".join(f"{n} " + " / ".join(_num(test[n].get(k), "{:.1f}") for k in (
                       "lift_top_0_5pct", "lift_top_1pct", "lift_top_5pct")) for n in names if n != "rule")
                   + "; observed ÷ predicted " + _num(released.get("oe_ratio"), "{:.2f}") + ".")
    if learners:
        for name in ("released", "lightgbm", "generator"):
            top = (learners.get(name) or {}).get("top") or []
            top = [t for t in top if t.get("share_of_admitted_people") is not None]
            if top:
                out.append(f"  - {name}: lift in the top " + ", ".join(
                    f"{t['share']:.1%} {_num(t.get('lift'), '{:.1f}')}× "
                    f"({_num(t.get('share_of_admitted_people'), '{:.0%}')} of those with the outcome)"
                    for t in top) + ".")
        released = learners.get("released") or learners.get("lightgbm") or {}
        prior = released.get("no_prior_admission")
        if prior:
            share = _num(prior.get("share_of_cohort"), "{:.0%}")
            out.append(f"  - no emergency admission in the prior two years ({share} of the cohort): "
                       f"AUROC {_num(prior.get('auroc'))}, {_num(prior.get('share_of_admitted_people'), '{:.0%}')} "
                       "of those with the outcome.")
        for key, label in (("calibration_by_age_band", "age band"), ("calibration_by_imd_quintile",
                                                                      "deprivation quintile")):
            groups = released.get(key) or []
            if groups:
                out.append(f"  - observed ÷ predicted by {label}: " + ", ".join(
                    f"{g['group']} {_num(g.get('observed_to_expected'), '{:.2f}')}" for g in groups) + ".")
        bands = released.get("by_risk_band") or []
        if bands:
            out.append("  - by risk band, with the outcome / died: " + ", ".join(
                f"{b['band']} {_num(b.get('admitted_rate'), '{:.1%}')} / {_num(b.get('died_rate'), '{:.1%}')}"
                for b in bands) + ".")
    competing = figures.get("competing_risks") or {}
    bands = competing.get("by_band") or []
    if bands:
        cells = []
        for b in bands:
            at12 = b.get("12m") or {}
            care, death = at12.get("care_home"), at12.get("death")
            care = care.get("estimate") if isinstance(care, dict) else care
            death = death.get("estimate") if isinstance(death, dict) else death
            cells.append(f"{b.get('band')} {_num(care, '{:.1%}')} / {_num(death, '{:.1%}')}")
        out.append("  - cumulative incidence at 12 months by risk band, care home / death first: "
                   + ", ".join(cells) + ".")
    return out


def _cell(stage: dict | None) -> str:
    if stage is None:
        return "—"
    if stage.get("not_run"):
        return "not run"
    if stage.get("over_memory_limit"):
        return f"stopped after {stage['wall_s']:.0f} s at {stage['tree_peak_mb']:,.0f} MB (over the limit)"
    if stage.get("failed"):
        return "failed"
    cell = f"{stage['wall_s']:.0f} s / {stage['peak_rss_mb']:,.0f} MB"
    if "cpu_s" in stage:  # measured since session 31
        cell += f" ({stage['cpu_s']:.0f} s CPU)"
    if stage.get("tree_peak_mb", 0) > 1.2 * stage["peak_rss_mb"]:  # workers: all the stage's processes together
        cell += f" ({stage['tree_peak_mb']:,.0f} MB all processes)"
    before, after = stage.get("load_before", 0), stage.get("load_after")
    # a long stage can start on a quiet machine and end on a busy one: both ends are shown when they differ
    load = f"{before:.1f}" if after is None or abs(after - before) < 1 else f"{before:.1f} → {after:.1f}"
    return cell + f" (load {load})"


def render_section(result: dict) -> str:
    """Machine, per-stage table by county size, totals, growth, the 1M targets and the base rates."""
    sizes = sorted(result["sizes"], key=int)
    m = result["machine"]
    names = list(dict.fromkeys(n for s in sizes for n in result["sizes"][s]["stages"]
                               if n not in ("base_rates", "model_figures")))
    lines = [
        START,
        f"Measured {m['date']} at commit `{m['commit']}` (plus the working tree) on {m['cpu']}, {m['cores']} cores, "
        f"{m['memory_gb']} GB RAM (Python {result['python']}). Commands: "
        + "; ".join(f"`{result['sizes'][s].get('command', '')}`" for s in sizes) + ".",
        "",
        "Wall time / peak resident memory of each stage, each its own process, with the 1-minute load average "
        "when it started (and ended, where that differs by 1 or more; 2 cores: a load above 2 means the stage "
        "shared them with other work).",
        "",
        "| stage | " + " | ".join(f"{int(s):,} people" for s in sizes) + " |",
        "|---|" + "---:|" * len(sizes),
    ]
    for name in names:
        lines.append(f"| {name} | " + " | ".join(_cell(result["sizes"][s]["stages"].get(name)) for s in sizes) + " |")
    lines.append("| **measured stages** | " + " | ".join(
        f"**{result['sizes'][s]['total_wall_s'] / 60:.1f} min / {result['sizes'][s]['peak_rss_mb']:,.0f} MB**"
        + ("" if result["sizes"][s]["complete"] else " (incomplete)") for s in sizes) + " |")
    if "100000" in result["sizes"] and "300000" in result["sizes"]:
        a, b = result["sizes"]["100000"], result["sizes"]["300000"]
        lines += ["", "Growth from 100,000 to 300,000 people (linear = 3.0): "
                  + ", ".join(f"{n} {b['stages'][n]['wall_s'] / a['stages'][n]['wall_s']:.2f}× time, "
                              f"{b['stages'][n]['peak_rss_mb'] / a['stages'][n]['peak_rss_mb']:.2f}× memory"
                              for n in names if _ran(a, n) and _ran(b, n)) + "."]
    if "1000000" in result["sizes"]:
        big = result["sizes"]["1000000"]
        stopped = [n for n, v in big["stages"].items() if isinstance(v, dict) and v.get("over_memory_limit")]
        ok_t = big["total_wall_s"] <= TARGET_1M_WALL_S
        ok_m = big["peak_rss_mb"] <= TARGET_1M_PEAK_MB and not stopped
        lines += ["", "Targets at 1,000,000 people on 2 cores: end to end ≤ 60 min — "
                      f"{big['total_wall_s'] / 60:.1f} min {'✓' if ok_t and big['complete'] else '✗'}; peak ≤ 16 GB — "
                      f"{big['peak_rss_mb'] / 1024:.1f} GB {'✓' if ok_m else '✗'}"
                      + ("" if big["complete"] else " (over the stages that ran)")
                      + (f"; stopped past the memory limit: {', '.join(stopped)}" if stopped else "") + "."]
    figure_lines = [line for s in sizes
                    for model, figures in (result["sizes"][s]["stages"].get("model_figures") or {}).items()
                    for line in _figure_lines(model, s, figures)]
    if figure_lines:
        lines += ["", "The adult models' figures (issue #18) from each county's evaluate stage (`reports/<model>/"
                      "metrics.json`; the released learner's list unless named; generator = the synthetic truth's "
                      "probability):", "", *figure_lines]
    rated = [s for s in sizes if isinstance(result["sizes"][s]["stages"].get("base_rates"), dict)
             and not result["sizes"][s]["stages"]["base_rates"].get("failed")]
    if rated:
        lines += ["", "Base rates of the synthetic county (its truth; financial years 2018–2025 pooled), against "
                      "DOMAIN_ADULTS.md §3 (the bands the tests hold):", "",
                  "| base rate | band (reference) | " + " | ".join(f"{int(s):,} people" for s in rated) + " |",
                  "|---|---|" + "---:|" * len(rated)]
        for key, label, band, fmt in RATE_ROWS:
            values = [result["sizes"][s]["stages"]["base_rates"].get(key) for s in rated]
            lines.append(f"| {label} | {band} | "
                         + " | ".join("—" if v is None else fmt.format(v) for v in values) + " |")
    lines.append(END)
    return "\n".join(lines)


def _ran(size: dict, name: str) -> bool:
    stage = size["stages"].get(name)
    return bool(stage) and not stage.get("failed") and not stage.get("not_run") and stage["wall_s"] > 0


def write_section(path: Path, result: dict) -> None:
    """Replace the section between the markers in ``path``, or append it under "## Whole population"."""
    section = render_section(result)
    text = path.read_text() if path.exists() else "# Benchmarks\n"
    if START in text and END in text:
        head, _, rest = text.partition(START)
        _, _, tail = rest.partition(END)
        path.write_text(head + section + tail)
        return
    path.write_text(text.rstrip("\n") + "\n\n## Whole population (issue #17)\n\n" + section + "\n")
