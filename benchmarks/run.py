"""Scale and speed harness: wall time and peak memory of every pipeline stage on synthetic counties.

Each stage runs as its own process (`python -m pipeline <stage>`) in a scratch project folder, so the
peak resident memory of that process (ru_maxrss of the child) is the stage's peak. Per county size the
results are medians over that size's repeats; they go to ``benchmarks/results/<label>.json`` and, with
``--markdown``, to a Markdown summary (the committed one is ``docs/benchmarks.md``).

The county here is children only (``synth.adults`` off, the children's models); the whole population
(adults on, the adult models, sized by residents up to 1,000,000) is ``benchmarks/whole_population.py``,
which measures each stage the same way (``run_stage`` in its own process).

Examples:
    python benchmarks/run.py                                   # 10k, 30k, 100k, 300k; every stage
    python benchmarks/run.py --sizes 10000:3,30000:3,100000:1,300000:1 --markdown docs/benchmarks.md
    python benchmarks/run.py --sizes 300000:1 --stages synth,ingest,pseudonymise,link --label link-300k
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
sys.path.insert(0, str(ROOT))

from benchmarks.summary import machine_description, render_markdown, write_markdown  # noqa: E402
from pipeline.core.config import load_params  # noqa: E402

ALL_STAGES = ("synth", "ingest", "pseudonymise", "link", "monitor", "features", "features_as_of", "train", "evaluate",
              "govern", "card", "score")
MODEL_STAGES = {"features", "features_as_of", "train", "evaluate", "govern", "card", "score"}
# a dvc.yaml stage that runs a command under another name: (command, its extra arguments)
STAGE_COMMANDS = {"features_as_of": ("features", ["--as-of-test"])}
DEFAULT_SIZES = "10000:3,30000:3,100000:1,300000:1"


def run_stage(stage: str, workdir: Path, extra: list[str]) -> dict:
    """Run one stage in ``workdir``; return its wall time (s), CPU time (s, user + system of the stage's
    process and everything it waited for: all its threads and workers) and peak RSS (MB).

    CPU time is what to compare between runs on a shared machine, where the wall time depends on the load.
    """
    command, fixed = STAGE_COMMANDS.get(stage, (stage, []))
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    before, cpu_before = usage.ru_maxrss, usage.ru_utime + usage.ru_stime
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "pipeline", command, *fixed, *extra], cwd=workdir,
                          capture_output=True, text=True, env={**os.environ, "COLUMNS": "120"})
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"{stage} failed (exit {proc.returncode}):\n{proc.stderr[-3000:]}")
    # ru_maxrss of children is the maximum over all children so far: each stage is measured from a
    # fresh helper interpreter (see _measured) so the number belongs to this stage only
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return {"wall_s": wall, "cpu_s": usage.ru_utime + usage.ru_stime - cpu_before,
            "peak_rss_mb": max(usage.ru_maxrss, before) / 1024}


def stage_commands(stage: str, children: int, models: list[str]) -> list[tuple[str, list[str]]]:
    """``(result name, extra arguments)`` of each run of ``stage``: once per model for a per-model stage.

    Args:
        models: the ``models:`` list of params.yaml (the same list dvc.yaml runs).
    """
    extra = ["--children", str(children)] if stage == "synth" else []
    if stage in MODEL_STAGES:
        return [(f"{stage}:{m}", [*extra, "--model", m]) for m in models]
    return [(stage, extra)]


def one_run(children: int, stages: list[str], keep_reports: Path | None = None) -> dict[str, dict]:
    """Every stage once on a fresh county of ``children``, each measured in its own child interpreter.

    With ``keep_reports``, the run's ``reports/`` folder is copied to ``keep_reports/<children>/``
    (model metrics and linkage quality at scale) before the scratch folder goes.
    """
    out: dict[str, dict] = {}
    with tempfile.TemporaryDirectory(prefix="riskpipe-bench-") as tmp:
        work = Path(tmp)
        shutil.copy(ROOT / "params.yaml", work / "params.yaml")
        env = {**os.environ, "MLFLOW_TRACKING_URI": f"sqlite:///{work / 'mlflow.db'}"}
        subprocess.run([sys.executable, "-m", "pipeline", "keygen", "--out", ".secrets/pseudo.key"],
                       cwd=work, check=True, capture_output=True, env=env)
        subprocess.run([sys.executable, "-m", "pipeline", "keygen", "--ledger", "--out", ".secrets/ledger.key"],
                       cwd=work, check=True, capture_output=True, env=env)
        models = load_params(work / "params.yaml").models
        for stage in stages:
            names = stage_commands(stage, children, models)
            for name, args in names:
                print(f"  {children:>7,} children  {name:22s}", end="", flush=True)
                out[name] = _measured(stage, work, args, env)
                print(f"{out[name]['wall_s']:8.1f} s {out[name]['peak_rss_mb']:8.0f} MB", flush=True)
            if any(out[n].get("failed") for n, _ in names):
                break  # later stages need this one's outputs
        if keep_reports is not None and (work / "reports").is_dir():
            shutil.copytree(work / "reports", keep_reports / str(children), dirs_exist_ok=True)
    return out


def _measured(stage: str, work: Path, extra: list[str], env: dict[str, str]) -> dict:
    """Measure in a fresh helper process so ru_maxrss is not shared with earlier stages."""
    code = (
        f"import json,sys; sys.path.insert(0, {str(ROOT)!r}); from benchmarks.run import run_stage; "
        f"from pathlib import Path; print(json.dumps(run_stage({stage!r}, Path({str(work)!r}), {extra!r})))"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        # keep the stages measured so far: a failed stage is recorded, not fatal to the report
        print(f"\n{stage} failed:\n{(proc.stderr or proc.stdout)[-2000:]}", file=sys.stderr)
        return {"wall_s": float("nan"), "peak_rss_mb": float("nan"), "failed": True}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def summarise_runs(runs: list[dict[str, dict]]) -> dict:
    """Median wall time and peak RSS per stage over repeats, plus the pipeline's total and peak.

    The total is the sum of the stage medians (the stages run one after another); the peak is the
    largest stage peak, since each stage is its own process.
    """
    stages = {
        name: {
            "median_wall_s": round(statistics.median(r[name]["wall_s"] for r in runs), 2),
            "median_peak_rss_mb": round(statistics.median(r[name]["peak_rss_mb"] for r in runs), 1),
            "runs": [{k: round(float(v), 2) for k, v in r[name].items()} for r in runs],
        }
        for name in runs[0]
        if all(name in r for r in runs)
    }
    done = [s for s in stages.values() if not any(r.get("failed") for r in s["runs"])]
    return {
        "repeats": len(runs),
        "stages": stages,
        "complete": len(done) == len(stages),
        "total_wall_s": round(sum(s["median_wall_s"] for s in done), 1),
        "peak_rss_mb": round(max((s["median_peak_rss_mb"] for s in done), default=0.0), 1),
    }


def parse_sizes(text: str, default_repeats: int) -> list[tuple[int, int]]:
    """``"10000:3,300000:1"`` → ``[(10000, 3), (300000, 1)]``; a size with no ``:n`` uses ``default_repeats``."""
    sizes = []
    for item in filter(None, (part.strip() for part in text.split(","))):
        children, _, repeats = item.partition(":")
        sizes.append((int(children), int(repeats) if repeats else default_repeats))
    return sizes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default=DEFAULT_SIZES,
                        help=f"comma-separated children[:repeats] (default {DEFAULT_SIZES})")
    parser.add_argument("--children", type=int, default=None, help="one size only (same as --sizes N)")
    parser.add_argument("--repeats", type=int, default=3, help="repeats for sizes given without :n (default 3)")
    parser.add_argument("--stages", default=",".join(ALL_STAGES), help="comma-separated (default: every stage)")
    parser.add_argument("--label", default=None, help="results file name (default scale or children-N)")
    parser.add_argument("--keep-reports", type=Path, default=None,
                        help="copy each size's reports/ (metrics, linkage quality) to DIR/<children>/")
    parser.add_argument("--markdown", type=Path, default=None,
                        help="also write a Markdown summary here (the committed one is docs/benchmarks.md)")
    args = parser.parse_args()
    sizes = parse_sizes(str(args.children) if args.children else args.sizes, args.repeats)
    stages = [s for s in args.stages.split(",") if s]
    unknown = set(stages) - set(ALL_STAGES)
    if unknown:
        parser.error(f"unknown stage(s) {sorted(unknown)}; choose from {', '.join(ALL_STAGES)}")
    result = {"machine": machine_description(), "python": platform.python_version(), "sizes": {}}
    for children, repeats in sizes:
        print(f"{children:,} children, {repeats} run(s)")
        runs = [one_run(children, stages, args.keep_reports) for _ in range(repeats)]
        result["sizes"][str(children)] = summarise_runs(runs)
    label = args.label or (f"children-{sizes[0][0]}" if len(sizes) == 1 else "scale")
    out = ROOT / "benchmarks" / "results" / f"{label}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(render_markdown(result, generated_by=" ".join(["python benchmarks/run.py", *sys.argv[1:]])))
    print(f"written {out}")
    if args.markdown:
        write_markdown(args.markdown, result, generated_by=" ".join(["python benchmarks/run.py", *sys.argv[1:]]))
        print(f"written {args.markdown}")


if __name__ == "__main__":
    main()
