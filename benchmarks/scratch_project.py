"""A scratch riskpipe project for a benchmark: its params.yaml, its two keys, and the stages run in order.

Two benchmarks drive the pipeline this way: ``benchmarks/whole_population.py`` (each stage measured in its own
process, stopped past a memory limit or a clock time) and ``benchmarks/ld_older_carer.py --through-pipeline``
(the stages run only for the register they leave). What they share is here, so both make a project and walk
the stages the same way (one run of a per-model stage per model, as dvc.yaml's ``foreach`` does); how one
stage runs and what is kept of it is the caller's.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Mapping
from pathlib import Path

import yaml

from benchmarks.run import stage_commands

KEYS = (("pseudo.key", []), ("ledger.key", ["--ledger"]))  # .secrets/<file>, keygen's extra arguments


def make_scratch_project(workdir: Path, params: dict, *, env: Mapping[str, str] | None = None) -> Path:
    """``workdir`` with ``params`` as its params.yaml and both keys (each made only where none is yet: keygen
    refuses to replace a key, and a kept project's tokens must go on matching). Returns ``workdir``."""
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    for name, extra in KEYS:
        if not (workdir / ".secrets" / name).exists():
            subprocess.run([sys.executable, "-m", "pipeline", "keygen", *extra, "--out", f".secrets/{name}"],
                           cwd=workdir, check=True, capture_output=True, env=dict(env or os.environ))
    return workdir


def run_stages(stages: list[str], children: int, models: list[str], run_one: Callable[[str, str, list[str]], dict],
               *, after_stage: Callable[[str, dict[str, dict]], dict[str, dict]] | None = None) -> dict[str, dict]:
    """Each of ``stages`` in order, a per-model stage once per model (``benchmarks.run.stage_commands``).

    Args:
        run_one: runs one command, ``(stage, result name, extra arguments)``, and returns its record; a record with
            ``failed`` stops the walk after that stage (later stages need its outputs).
        after_stage: called with the stage and the records so far once a stage's runs are done; the records it
            returns (e.g. figures read from the stage's outputs) are added beside the stages'.

    Returns:
        ``{result name: record}``: ``stage`` or ``stage:model`` for each run, plus ``after_stage``'s records.
    """
    out: dict[str, dict] = {}
    for stage in stages:
        commands = stage_commands(stage, children, models)
        for name, args in commands:
            out[name] = run_one(stage, name, args)
        if after_stage is not None:
            out |= after_stage(stage, out)
        if any(out[name].get("failed") for name, _ in commands):
            break
    return out
