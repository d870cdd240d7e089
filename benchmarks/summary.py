"""The benchmark's Markdown summary: per-stage medians by county size, totals, growth and the targets.

The generated part sits between two HTML comments in the Markdown file, so notes written by people
below it (what would speed the slowest stage up) survive a re-run.
"""

from __future__ import annotations

import datetime as dt
import os
import platform
import subprocess
from pathlib import Path

START, END = "<!-- benchmark:generated:start -->", "<!-- benchmark:generated:end -->"
TARGET_300K_WALL_S = 20 * 60
TARGET_300K_PEAK_MB = 8 * 1024


def machine_description() -> dict:
    """CPU model, cores, memory, OS and the commit measured (no host names or user names)."""
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        mem_gb = round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1024**3, 1)
    except (ValueError, OSError, AttributeError):
        mem_gb = None
    root = Path(__file__).resolve().parents[1]
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=root, capture_output=True,
                            text=True).stdout.strip() or "unknown"
    return {"cpu": cpu, "cores": os.cpu_count(), "memory_gb": mem_gb, "os": platform.platform(),
            "commit": commit, "date": dt.date.today().isoformat()}


def growth(result: dict, small: str = "100000", large: str = "300000") -> dict[str, float]:
    """Cost at ``large`` over cost at ``small``, per stage and for the total (linear = size ratio)."""
    sizes = result["sizes"]
    if small not in sizes or large not in sizes:
        return {}
    a, b = sizes[small], sizes[large]
    ratios = {name: b["stages"][name]["median_wall_s"] / s["median_wall_s"]
              for name, s in a["stages"].items() if name in b["stages"] and s["median_wall_s"] > 0}
    ratios["total"] = b["total_wall_s"] / a["total_wall_s"] if a["total_wall_s"] else float("nan")
    return ratios


def render_markdown(result: dict, *, generated_by: str) -> str:
    """The generated section: machine, per-stage table, totals, slowest stage, growth, targets."""
    sizes = sorted(result["sizes"], key=int)
    m = result["machine"]
    lines = [
        START,
        f"Measured {m['date']} at commit `{m['commit']}` on {m['cpu']}, {m['cores']} cores, "
        f"{m['memory_gb']} GB RAM ({m['os']}, Python {result['python']}), with `{generated_by}`.",
        "",
        "Median wall time (s) / peak resident memory (MB) of each stage, each its own process; runs per size: "
        + ", ".join(f"{int(s):,}: {result['sizes'][s]['repeats']}" for s in sizes) + ".",
        "",
        "| stage | " + " | ".join(f"{int(s):,} children" for s in sizes) + " |",
        "|---|" + "---:|" * len(sizes),
    ]
    stage_names = list(result["sizes"][sizes[-1]]["stages"])
    for name in stage_names:
        cells = []
        for s in sizes:
            st = result["sizes"][s]["stages"].get(name)
            if st is None:
                cells.append("—")
            elif any(r.get("failed") for r in st["runs"]):
                cells.append("failed")
            else:
                cells.append(f"{st['median_wall_s']:.1f} s / {st['median_peak_rss_mb']:,.0f} MB")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    lines.append("| **whole pipeline** | " + " | ".join(
        f"**{result['sizes'][s]['total_wall_s'] / 60:.1f} min / {result['sizes'][s]['peak_rss_mb']:,.0f} MB**"
        + ("" if result["sizes"][s].get("complete", True) else " (incomplete: a stage failed)")
        for s in sizes) + " |")
    largest = result["sizes"][sizes[-1]]
    measured = {k: v for k, v in largest["stages"].items() if v["median_wall_s"] == v["median_wall_s"]}  # not NaN
    slowest = max(measured.items(), key=lambda kv: kv[1]["median_wall_s"])
    lines += ["", f"Slowest stage at {int(sizes[-1]):,} children: **{slowest[0]}** "
                  f"({slowest[1]['median_wall_s']:.0f} s, "
                  f"{100 * slowest[1]['median_wall_s'] / largest['total_wall_s']:.0f}% of the pipeline)."]
    ratios = growth(result)
    if ratios:
        worst = max((kv for kv in ratios.items() if kv[0] != "total"), key=lambda kv: kv[1])
        verdict = "no worse than linear" if ratios["total"] <= 3.0 else "worse than linear"
        lines += ["", f"Growth from 100,000 to 300,000 children (3× the children; linear = 3.0): whole pipeline "
                      f"{ratios['total']:.2f}× ({verdict}); steepest stage {worst[0]} {worst[1]:.2f}×."]
    if "300000" in result["sizes"]:
        big = result["sizes"]["300000"]
        ok_t, ok_m = big["total_wall_s"] <= TARGET_300K_WALL_S, big["peak_rss_mb"] <= TARGET_300K_PEAK_MB
        lines += ["", f"Targets at 300,000 children on 2 cores: whole pipeline ≤ 20 min — "
                      f"{big['total_wall_s'] / 60:.1f} min {'✓' if ok_t else '✗'}; peak ≤ 8 GB — "
                      f"{big['peak_rss_mb'] / 1024:.1f} GB {'✓' if ok_m else '✗'}."]
    lines.append(END)
    return "\n".join(lines)


def write_markdown(path: Path, result: dict, *, generated_by: str) -> None:
    """Replace the generated section of ``path`` (create the file if needed), keeping people's notes."""
    section = render_markdown(result, generated_by=generated_by)
    if path.exists() and START in (text := path.read_text()) and END in text:
        head, _, rest = text.partition(START)
        _, _, tail = rest.partition(END)
        path.write_text(head + section + tail)
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("# Benchmarks\n\n" + section + "\n\n## What would speed it up\n\n(notes)\n")
