"""Scale and speed harness: wall time and peak memory of pipeline stages on a synthetic county.

Each stage runs as its own process (`python -m pipeline <stage>`) in a scratch project folder, so the
peak resident memory of that process (ru_maxrss of the child) is the stage's peak. Results are medians
over ``--repeats`` runs and go to ``benchmarks/results/<label>.json``.

Examples:
    python benchmarks/run.py --children 30000 --repeats 3
    python benchmarks/run.py --children 300000 --repeats 3 --stages synth,ingest,pseudonymise,link
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_STAGES = "synth,ingest,pseudonymise,link"


def run_stage(stage: str, workdir: Path, extra: list[str]) -> dict:
    """Run one stage in ``workdir``; return its wall time (s) and peak RSS (MB)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "pipeline", stage, *extra], cwd=workdir,
                          capture_output=True, text=True, env={**os.environ, "COLUMNS": "120"})
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"{stage} failed (exit {proc.returncode}):\n{proc.stderr[-3000:]}")
    # ru_maxrss of children is the maximum over all children so far: run each repeat in a fresh
    # interpreter (see main) so the number belongs to this stage only
    peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return {"wall_s": wall, "peak_rss_mb": max(peak_kb, before) / 1024}


def one_run(children: int, stages: list[str]) -> dict[str, dict]:
    """All stages once, each measured in its own child interpreter."""
    out = {}
    with tempfile.TemporaryDirectory(prefix="riskpipe-bench-") as tmp:
        work = Path(tmp)
        shutil.copy(ROOT / "params.yaml", work / "params.yaml")
        subprocess.run([sys.executable, "-m", "pipeline", "keygen", "--out", ".secrets/pseudo.key"],
                       cwd=work, check=True, capture_output=True)
        for stage in stages:
            extra = ["--children", str(children)] if stage == "synth" else []
            if stage in {"features", "train", "evaluate"}:
                for model in ("neet18", "care_entry"):
                    res = _measured(stage, work, [*extra, "--model", model])
                    out[f"{stage}:{model}"] = res
                continue
            out[stage] = _measured(stage, work, extra)
            if out[stage].get("failed"):
                break  # later stages need this one's outputs
    return out


def _measured(stage: str, work: Path, extra: list[str]) -> dict:
    """Measure in a fresh helper process so ru_maxrss is not shared with earlier stages."""
    code = (
        f"import json,sys; sys.path.insert(0, {str(ROOT)!r}); from benchmarks.run import run_stage; "
        f"from pathlib import Path; print(json.dumps(run_stage({stage!r}, Path({str(work)!r}), {extra!r})))"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    if proc.returncode != 0:
        # keep the stages measured so far: a failed stage is recorded, not fatal to the report
        print(f"{stage} failed:\n{(proc.stderr or proc.stdout)[-2000:]}", file=sys.stderr)
        return {"wall_s": float("nan"), "peak_rss_mb": float("nan"), "failed": True}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--children", type=int, default=30_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--stages", default=DEFAULT_STAGES, help=f"comma-separated (default {DEFAULT_STAGES})")
    parser.add_argument("--label", default=None, help="results file name (default children-N)")
    args = parser.parse_args()
    stages = args.stages.split(",")
    runs = [one_run(args.children, stages) for _ in range(args.repeats)]
    summary = {
        name: {
            "median_wall_s": round(statistics.median(r[name]["wall_s"] for r in runs), 2),
            "median_peak_rss_mb": round(statistics.median(r[name]["peak_rss_mb"] for r in runs), 1),
            "runs": [{k: round(float(v), 2) for k, v in r[name].items()} for r in runs],
        }
        for name in runs[0]
        if all(name in r for r in runs)
    }
    result = {"children": args.children, "repeats": args.repeats, "cpus": os.cpu_count(),
              "machine": platform.platform(), "python": platform.python_version(), "stages": summary}
    out = ROOT / "benchmarks" / "results" / f"{args.label or f'children-{args.children}'}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    for name, s in summary.items():
        print(f"{name:28s} median {s['median_wall_s']:8.1f} s   peak {s['median_peak_rss_mb']:8.0f} MB")
    print(f"written {out}")


if __name__ == "__main__":
    main()
