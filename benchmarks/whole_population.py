"""The whole-population benchmark (issue #17): wall time and peak memory of each stage on a county of
children, parents, other adults and older people, with the adult models.

Like ``benchmarks/run.py`` each stage runs as its own process (``python -m pipeline <stage>``) in a scratch
project folder, so its peak resident memory is the stage's own. The county is sized by everyone resident at
the reference date (``synth.adults.population``), with a fifth of that as ``synth.children``; the other
settings are params.yaml's with ``params.adults.yaml``'s overrides, and ``models`` the adult models. The
machine's load average is recorded next to every stage (the 2 cores may be shared), and with
``--base-rates`` the county's DOMAIN_ADULTS.md base rates are measured from its truth after synth.
Results go to ``benchmarks/results/<label>.json`` and, with ``--markdown``, to the "Whole population"
section of that file (between its own markers; the rest of the file is left as it is).

Examples:
    python benchmarks/whole_population.py --people 100000,300000 --base-rates --markdown docs/benchmarks.md
    nice -n 10 python benchmarks/whole_population.py --people 1000000 --stop-at 06:45 --label whole-1m
    python benchmarks/whole_population.py --combine benchmarks/results/whole-*.json --markdown docs/benchmarks.md
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.run import _measured  # noqa: E402
from benchmarks.scratch_project import make_scratch_project, run_stages  # noqa: E402
from benchmarks.summary import machine_description  # noqa: E402
from benchmarks.whole_population_report import model_figures, render_section, write_section  # noqa: E402

STAGES = ("synth", "ingest", "pseudonymise", "link", "features", "train", "evaluate")
OPTIONAL_STAGES = ("govern", "card")  # run only when --stages names them
MODELS = ("emergency_admission", "care_home_admission", "ld_older_carer")
NOT_STAGES = ("base_rates", "model_figures")  # the run's other records, beside its stages
CHILDREN_SHARE = 0.2  # synth.children per resident (England: 21% aged 0-17, some of whom are not "children" here)


def whole_population_params(people: int, models: list[str], *, base: Path = ROOT / "params.yaml",
                            overrides: Path = ROOT / "params.adults.yaml") -> dict:
    """params.yaml with params.adults.yaml's dotted keys applied, sized to ``people`` residents."""
    params = yaml.safe_load(base.read_text())
    settings = dict(yaml.safe_load(overrides.read_text()) or {})
    settings |= {"synth.children": max(int(people * CHILDREN_SHARE), 100), "synth.adults.enabled": True,
                 "synth.adults.population": int(people), "models": list(models)}
    for dotted, value in settings.items():
        node = params
        *parents, leaf = dotted.split(".")
        for key in parents:
            node = node.setdefault(key, {})
        node[leaf] = value
    return params


def one_size(people: int, stages: list[str], models: list[str], *, stop_at: dt.datetime | None,
             base_rates: bool, workdir: Path | None, max_rss_mb: float | None = None) -> dict:
    """Every stage once on a fresh county of ``people``; stops before a stage that would start after ``stop_at``,
    and stops a stage whose processes together pass ``max_rss_mb`` (recorded as failed, with the memory then)."""
    scratch = workdir or Path(tempfile.mkdtemp(prefix="riskpipe-whole-"))
    try:
        params = whole_population_params(people, models)
        # PYTHONPATH: the stages run this checkout's code, wherever the environment's editable install points
        env = {**os.environ, "MLFLOW_TRACKING_URI": f"sqlite:///{scratch / 'mlflow.db'}",
               "PYTHONPATH": os.pathsep.join([str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])])}
        make_scratch_project(scratch, params, env=env)

        def measure(stage: str, name: str, args: list[str]) -> dict:
            if stop_at is not None and dt.datetime.now(dt.UTC) >= stop_at:
                return {"not_run": True, "reason": f"past --stop-at {stop_at:%H:%M} UTC"}
            print(f"  {people:>9,} people  {name:28s}", end="", flush=True)
            load_before = os.getloadavg()[0]
            record = _guarded(stage, scratch, args, env, max_rss_mb) | {
                "load_before": round(load_before, 2), "load_after": round(os.getloadavg()[0], 2)}
            print(f"{record['wall_s']:8.1f} s {record.get('cpu_s', float('nan')):8.1f} s CPU "
                  f"{record['peak_rss_mb']:8.0f} MB  load {load_before:.1f}", flush=True)
            return record

        def read_outputs(stage: str, out: dict[str, dict]) -> dict[str, dict]:
            if stage == "synth" and base_rates and not out.get("synth", {}).get("failed"):
                return {"base_rates": _base_rates(scratch, env)}
            if stage == "evaluate":
                return {"model_figures": {m: model_figures(scratch / "reports" / m) for m in models
                                          if not out.get(f"evaluate:{m}", {}).get("failed")}}
            return {}

        return run_stages(stages, params["synth"]["children"], models, measure, after_stage=read_outputs)
    finally:
        if workdir is None:
            shutil.rmtree(scratch, ignore_errors=True)


def _tree_rss_mb(pid: int) -> float:
    """Resident memory (MB) of ``pid`` and every process below it, from /proc (Linux; 0 if it has gone)."""
    parents: dict[int, int] = {}
    for status in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = status.read_text().rsplit(")", 1)[1].split()
            parents[int(status.parent.name)] = int(fields[1])
        except (OSError, IndexError, ValueError):
            continue
    tree, frontier = {pid}, [pid]
    while frontier:
        frontier = [child for child, parent in parents.items() if parent in frontier and child not in tree]
        tree.update(frontier)
    total = 0.0
    for member in tree:
        try:
            for line in Path(f"/proc/{member}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) / 1024
        except OSError:
            continue
    return total


def _guarded(stage: str, work: Path, extra: list[str], env: dict[str, str], max_rss_mb: float | None) -> dict:
    """``benchmarks.run._measured`` (the stage in its own process), also sampling the memory of all its processes
    together every second (``tree_peak_mb``: ingest and pseudonymise run workers) and stopping it past
    ``max_rss_mb``, so a county too big for the machine fails alone instead of starving everything else on it."""
    if max_rss_mb is None and not Path("/proc/self/status").exists():
        return _measured(stage, work, extra, env)
    code = (f"import json,sys; sys.path.insert(0, {str(ROOT)!r}); from benchmarks.run import run_stage; "
            f"from pathlib import Path; print(json.dumps(run_stage({stage!r}, Path({str(work)!r}), {extra!r})))")
    start = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=env, start_new_session=True)
    tree_peak, over = 0.0, False
    while proc.poll() is None:
        tree_peak = max(tree_peak, _tree_rss_mb(proc.pid))
        if max_rss_mb is not None and tree_peak > max_rss_mb:
            over = True
            os.killpg(proc.pid, signal.SIGKILL)
            break
        time.sleep(1.0)
    stdout, stderr = proc.communicate()
    if over or proc.returncode != 0:
        why = f"stopped: its processes passed {max_rss_mb:,.0f} MB" if over else (stderr or stdout)[-2000:]
        print(f"\n{stage} failed:\n{why}", file=sys.stderr)
        return {"wall_s": time.perf_counter() - start, "peak_rss_mb": float("nan"), "tree_peak_mb": tree_peak,
                "failed": True, "over_memory_limit": over}
    return json.loads(stdout.strip().splitlines()[-1]) | {"tree_peak_mb": round(tree_peak, 1)}


def _base_rates(scratch: Path, env: dict[str, str]) -> dict:
    """DOMAIN_ADULTS.md's base rates of the county just made (own process: the truth is large)."""
    code = (f"import json,sys; sys.path.insert(0, {str(ROOT)!r}); from pathlib import Path; "
            "from pipeline.synthetic.adults.truth_rates import adult_base_rates; "
            f"print(json.dumps(adult_base_rates(Path({str(scratch / 'data' / 'truth')!r}))))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        print(f"\nbase rates failed:\n{proc.stderr[-2000:]}", file=sys.stderr)
        return {"failed": True}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def summarise(run: dict) -> dict:
    """Total wall time (stages in sequence) and the largest stage peak, over the stages that ran."""
    done = {k: v for k, v in run.items() if k not in NOT_STAGES and not v.get("failed") and not v.get("not_run")}
    return {
        "stages": run,
        # end to end only when every stage of the pipeline ran and none failed (a county measured in parts counts
        # only once its parts cover them all)
        "complete": len(done) == len([k for k in run if k not in NOT_STAGES])
        and all(any(k.split(":")[0] == stage for k in done) for stage in STAGES),
        "total_wall_s": round(sum(v["wall_s"] for v in done.values()), 1),
        # CPU time (user + system, all of a stage's threads and workers): comparable between runs on a shared
        # machine; with 2 cores the wall time on a quiet one is at least half of it
        "total_cpu_s": round(sum(v.get("cpu_s", float("nan")) for v in done.values()), 1),
        "peak_rss_mb": round(max((v["peak_rss_mb"] for v in done.values()), default=0.0), 1),
    }


def combine(files: list[Path], out: Path, markdown: Path | None) -> None:
    """One results file from several runs (e.g. 100k and 300k measured apart; the last file's machine)."""
    result: dict = {"sizes": {}}
    for path in files:
        run = json.loads(path.read_text())
        for people, size in run["sizes"].items():
            if people in result["sizes"]:  # the same county's later stages, run apart (--workdir, --stages)
                earlier = result["sizes"][people]
                # each command once, in the order first run (a file combined twice repeats none)
                commands = [c for run_ in (earlier, size) for c in run_.get("command", "").split("` then `") if c]
                size = summarise(earlier["stages"] | size["stages"]) | {"command": "` then `".join(
                    dict.fromkeys(commands))}
            result["sizes"][people] = size
        result |= {"machine": run["machine"], "python": run["python"]}
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(render_section(result))
    print(f"written {out}")
    if markdown:
        write_section(markdown, result)
        print(f"written {markdown}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--people", default="100000,300000", help="comma-separated county sizes (residents)")
    parser.add_argument("--stages", default=",".join(STAGES), help=f"comma-separated (default {','.join(STAGES)})")
    parser.add_argument("--models", default=",".join(MODELS), help=f"comma-separated (default {','.join(MODELS)})")
    parser.add_argument("--stop-at", default=None, help="HH:MM UTC: start no stage after this (recorded as not run)")
    parser.add_argument("--base-rates", action="store_true", help="measure the county's base rates after synth")
    parser.add_argument("--max-rss-mb", type=float, default=None,
                        help="stop a stage whose processes together pass this much memory (recorded as failed)")
    parser.add_argument("--workdir", type=Path, default=None,
                        help="keep the county here (one size only) instead of a temporary folder")
    parser.add_argument("--label", default=None, help="results file name (default whole-population)")
    parser.add_argument("--merge", action="store_true",
                        help="add these sizes to an existing results file of the same label")
    parser.add_argument("--markdown", type=Path, default=None,
                        help="also write the Markdown section here (the committed one is docs/benchmarks.md)")
    parser.add_argument("--combine", type=Path, nargs="+", default=None, metavar="JSON",
                        help="run nothing: merge the sizes of these results files into <label>.json (and --markdown)")
    args = parser.parse_args()
    if args.combine:
        combine(args.combine, ROOT / "benchmarks" / "results" / f"{args.label or 'whole-population'}.json",
                args.markdown)
        return
    sizes = [int(s) for s in args.people.split(",") if s.strip()]
    stages = [s for s in args.stages.split(",") if s]
    if unknown := set(stages) - set(STAGES) - set(OPTIONAL_STAGES):
        parser.error(f"unknown stage(s) {sorted(unknown)}; choose from {', '.join(STAGES + OPTIONAL_STAGES)}")
    if args.workdir is not None and len(sizes) != 1:
        parser.error("--workdir keeps one county: give one size")
    stop_at = None
    if args.stop_at:
        hour, minute = (int(x) for x in args.stop_at.split(":"))
        stop_at = dt.datetime.now(dt.UTC).replace(hour=hour, minute=minute, second=0, microsecond=0)
    label = args.label or "whole-population"
    out = ROOT / "benchmarks" / "results" / f"{label}.json"
    result = json.loads(out.read_text()) if args.merge and out.exists() else {"sizes": {}}
    result |= {"machine": machine_description(), "python": platform.python_version()}
    models = [m for m in args.models.split(",") if m]
    command = " ".join(["python benchmarks/whole_population.py", *sys.argv[1:]])
    for people in sizes:
        print(f"{people:,} people")
        start = time.perf_counter()
        run = one_size(people, stages, models, stop_at=stop_at, base_rates=args.base_rates, workdir=args.workdir,
                       max_rss_mb=args.max_rss_mb)
        result["sizes"][str(people)] = summarise(run) | {"elapsed_s": round(time.perf_counter() - start, 1),
                                                         "command": command}
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(result, indent=2) + "\n")  # after each size: a long run keeps what it measured
    print(render_section(result))
    print(f"written {out}")
    if args.markdown:
        write_section(args.markdown, result)
        print(f"written {args.markdown}")


if __name__ == "__main__":
    main()
