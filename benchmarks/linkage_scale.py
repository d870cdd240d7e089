"""Linkage at scale: the same synthetic person records linked on DuckDB and on Spark (local mode), side by side.

Person records of four sources (school, social care, health, NCCIS: about 2.6 records a person) are made
directly from pipeline/synthetic/identities (names from the heritage pools, typing errors, nicknames,
changed surnames, day/month swaps, moves; identifiers missing in part), tokenised with a fixed test key,
and linked by ``link_persons`` (the link stage without file IO) once per backend, each in its own process
so that one backend's memory and JVM do not count against the other. For each run: wall time, peak memory
(the Python process and, for Spark, the JVM it starts: RSS of its child processes, sampled every 0.2 s),
the time of each phase (from the stage's own phase log: deterministic links, prior, u sampling, each EM
session, m from known matches, prediction, clustering, report and truth evaluation), and pairwise precision
and recall against the records' true people.

Example:
    python benchmarks/linkage_scale.py --records 100000 300000 --out benchmarks/results/linkage_scale.json
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import subprocess
import sys
import threading
import time
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pipeline.linkage.memory import release_unused_memory  # noqa: E402
from pipeline.linkage.persons import person_columns  # noqa: E402
from pipeline.privacy.match_keys import identity_match_keys  # noqa: E402
from pipeline.privacy.tokens import make_tokens  # noqa: E402
from pipeline.synthetic import identities as ids  # noqa: E402

KEY = bytes(range(32))  # a test key: these records are synthetic
GROUPS = np.array(["White", "Asian", "Black", "Mixed", "Other"])
# source -> (share of people with a record, the key's token domain, identifiers it records)
SOURCES = {
    "school": (1.0, "upn", ("upn",)),
    "social_care": (0.4, "la_child_id", ("nhs_number", "upn")),
    "health": (0.9, "hes_id", ("nhs_number",)),
    "nccis": (0.3, "ccis_id", ("upn",)),
}
RECORDS_PER_PERSON = sum(share for share, _, _ in SOURCES.values())


def synthetic_people(n: int, rng: np.random.Generator) -> pd.DataFrame:
    """``n`` true identities: ``person``, ``forename``, ``surname``, ``dob``, ``sex``, ``postcode``,
    ``nhs_number``, ``upn``, ``ethnicity_group``, ``lsoa_imd_decile``."""
    group = rng.choice(GROUPS, n, p=[0.7, 0.12, 0.08, 0.07, 0.03])
    sex = rng.choice(np.array(["M", "F"]), n)
    lsoas = ids.make_lsoas(rng, max(n // 600, 12))
    postcodes = ids.make_postcodes(rng, lsoas, 20)["postcode"].to_numpy()
    dob = np.datetime64("2006-09-01") + rng.integers(0, 365 * 14, n).astype("timedelta64[D]")
    school = rng.integers(2000, 2000 + max(n // 300, 1), n)
    year2 = (dob.astype("datetime64[Y]").astype(int) + 1970 + 5) % 100
    return pd.DataFrame({
        "person": np.arange(n),
        "forename": ids.forenames(rng, group, sex),
        "surname": ids.surnames(rng, group),
        "dob": dob,
        "sex": sex,
        "postcode": rng.choice(postcodes, n),
        "nhs_number": ids.nhs_numbers(rng, n),
        "upn": ids.upns(rng, "999", school.astype(str), year2),
        "ethnicity_group": group,
        "lsoa_imd_decile": rng.integers(1, 11, n),
    })


def source_records(people: pd.DataFrame, source: str, rng: np.random.Generator) -> pd.DataFrame:
    """One source's clear records of a share of ``people``, with the recording errors councils see."""
    share, key_domain, identifiers = SOURCES[source]
    rec = people[rng.random(len(people)) < share].reset_index(drop=True)
    n = len(rec)
    group = rec["ethnicity_group"].to_numpy()
    rec["forename"] = ids.apply_typos(rng, ids.apply_forename_variants(rng, rec["forename"].to_numpy(), 0.05), 0.02)
    rec["surname"] = ids.apply_typos(rng, ids.apply_surname_changes(rng, rec["surname"].to_numpy(), 0.02, group), 0.02)
    rec["dob"] = ids.apply_dob_errors(rng, rec["dob"].to_numpy(dtype="datetime64[D]"), 0.02, 0.01)
    moved = rng.random(n) < 0.1
    rec.loc[moved, "postcode"] = rng.choice(people["postcode"].to_numpy(), int(moved.sum()))
    rec.loc[rng.random(n) < 0.05, "postcode"] = None
    for column in ("nhs_number", "upn"):
        if column not in identifiers:
            rec[column] = None
        else:
            rec.loc[rng.random(n) < 0.15, column] = None
    rec["record_key"] = [f"{source}-{i}" for i in range(n)]
    rec.attrs["key_domain"] = key_domain
    return rec


def person_records(n_records: int, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(person records as the link stage builds them, truth: ``source``, ``record_key_tok``, ``true_person_id``)."""
    rng = np.random.default_rng(seed)
    people = synthetic_people(int(round(n_records / RECORDS_PER_PERSON)), rng)
    parts, truth = [], []
    for source in SOURCES:
        rec = source_records(people, source, rng)
        tok = identity_match_keys(rec[["forename", "surname", "dob", "sex", "postcode", "nhs_number", "upn"]]
                                  .assign(dob=lambda d: pd.to_datetime(d["dob"])), KEY)
        tok.insert(0, "record_key_tok", make_tokens(rec["record_key"], rec.attrs["key_domain"], KEY).to_numpy())
        tok.insert(0, "source", source)
        tok["former_upn_tok"] = pd.NA
        tok["ethnicity_group"] = rec["ethnicity_group"].to_numpy()
        tok["lsoa_imd_decile"] = rec["lsoa_imd_decile"].to_numpy()
        parts.append(tok)
        truth.append(pd.DataFrame({"source": source, "record_key_tok": tok["record_key_tok"],
                                   "true_person_id": rec["person"].astype(str).to_numpy()}))
    persons = pd.concat(parts, ignore_index=True)
    for column in person_columns():
        if column not in persons:
            persons[column] = pd.NA
    return persons[list(person_columns())], pd.concat(truth, ignore_index=True).astype("string")


def blocked_pairs(persons: pd.DataFrame, geography: str | None = None) -> dict[str, int]:
    """Pairs each prediction blocking rule admits (records agreeing on all its columns), by rule.

    ``geography``: None for the county's rules, ``postcode_district`` for the national ones
    (``link.blocking_geography``). A pair admitted by two rules is counted under both, so the sum bounds
    Splink's scored pairs from above. How these grow with the records is what an estimate for national
    scale rests on.
    """
    from pipeline.linkage.model import prediction_blocking_rules

    counts = {}
    for rule in prediction_blocking_rules(geography):
        sizes = persons.dropna(subset=list(rule)).groupby(list(rule)).size().to_numpy(dtype=np.int64)
        counts["+".join(c.removesuffix("_tok") for c in rule)] = int((sizes * (sizes - 1) // 2).sum())
    return counts


def true_pairs_admitted(persons: pd.DataFrame, truth: pd.DataFrame, geography: str | None = None) -> float:
    """Share of true-match pairs (two records of one true person) that some prediction blocking rule admits:
    the blocking's own recall, before any scoring (links through a third record can still join the rest)."""
    from pipeline.linkage.model import prediction_blocking_rules

    records = persons.merge(truth, on=["source", "record_key_tok"]).reset_index(drop=True)
    groups = [idx for idx in records.groupby("true_person_id").indices.values() if len(idx) > 1]
    pairs = np.array([(g[a], g[b]) for g in groups for a in range(len(g)) for b in range(a + 1, len(g))])
    if not len(pairs):
        return 1.0
    admitted = np.zeros(len(pairs), dtype=bool)
    for rule in prediction_blocking_rules(geography):
        agree = np.ones(len(pairs), dtype=bool)
        for column in rule:
            values = records[column].astype(object).to_numpy()
            left, right = values[pairs[:, 0]], values[pairs[:, 1]]
            agree &= pd.notna(left) & pd.notna(right) & (left == right)
        admitted |= agree
    return round(float(admitted.mean()), 5)


class PhaseClock(logging.Handler):
    """Seconds between the stage's phase log lines (``memory after <phase>``, pipeline/linkage/memory.py)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.last = time.perf_counter()
        self.phases: dict[str, float] = {}

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if message.startswith("memory after "):
            phase = message.removeprefix("memory after ").split(":")[0]
            now = time.perf_counter()
            self.phases[phase] = round(self.phases.get(phase, 0.0) + now - self.last, 2)
            self.last = now


class Progress(logging.Handler):
    """Writes the phases finished so far and the peak memory to a file after each phase, so a run stopped
    part way (a time limit, the JVM dying) still says how far it got."""

    def __init__(self, path: Path | None, clock: PhaseClock, memory: PeakMemory) -> None:
        super().__init__(logging.DEBUG)
        self.path, self.clock, self.memory = path, clock, memory

    def emit(self, record: logging.LogRecord) -> None:
        if self.path is not None and record.getMessage().startswith("memory after "):
            self.path.write_text(json.dumps({"phases_s": self.clock.phases, "peak_rss_mib": self.memory.peaks()}))


class PeakMemory:
    """Peak RSS of this process and of its children (the JVM), sampled in a thread."""

    def __init__(self, interval: float = 0.2) -> None:
        import psutil

        self.process, self.interval = psutil.Process(), interval
        self.peak_total = self.peak_self = self.peak_children = 0.0
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self.stop.wait(self.interval):
            try:
                own = self.process.memory_info().rss / 2**20
                kids = sum(c.memory_info().rss for c in self.process.children(recursive=True)) / 2**20
            except Exception:  # a child ending between the listing and the reading
                continue
            self.peak_self, self.peak_children = max(self.peak_self, own), max(self.peak_children, kids)
            self.peak_total = max(self.peak_total, own + kids)

    def peaks(self) -> dict[str, int]:
        return {"total": round(self.peak_total), "python": round(self.peak_self), "jvm": round(self.peak_children)}

    def __enter__(self) -> PeakMemory:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join()


def jvm_exit_code() -> int | None:
    """The exit code of the JVM pyspark started (None while it runs or when none was started): -9 is a
    SIGKILL, which on Linux is usually the kernel's out-of-memory killer."""
    try:
        from pyspark import SparkContext
    except ImportError:
        return None
    gateway = getattr(SparkContext, "_gateway", None)
    proc = getattr(gateway, "proc", None)
    return None if proc is None else proc.poll()


def run_one(
    backend: str, n_records: int, seed: int, cores: int, work_dir: Path, geography: str | None = None,
    progress: Path | None = None, driver_memory: str = "4g",
) -> dict:
    """Link ``n_records`` synthetic records on ``backend`` in this process; the measurements as a dict."""
    from pipeline.core.config import LinkParams, SparkParams
    from pipeline.linkage.evaluation import pairwise_counts, precision_recall
    from pipeline.linkage.spark_session import stop_spark_session
    from pipeline.linkage.stage import link_persons

    persons, truth = person_records(n_records, seed)
    params = LinkParams(
        backend=backend, duckdb_threads=cores, review_sample_size=0, extract_date=date(2026, 3, 31),
        blocking_geography=geography,
        spark=SparkParams(master=f"local[{cores}]", shuffle_partitions=2 * cores, driver_memory=driver_memory,
                          work_dir=str(work_dir)),
    )
    clock = PhaseClock()
    logging.getLogger("pipeline.linkage").addHandler(clock)
    logging.getLogger("pipeline.linkage").setLevel(logging.DEBUG)
    load_at_start = round(os.getloadavg()[0], 1)
    with PeakMemory() as memory:
        logging.getLogger("pipeline.linkage").addHandler(Progress(progress, clock, memory))
        start = clock.last = time.perf_counter()
        try:
            result = link_persons(persons, {}, params)
        except Exception:
            if backend == "spark":  # why the JVM went, when it did (stderr holds the JVM's own last words)
                print(f"JVM exit code: {jvm_exit_code()}", file=sys.stderr)
            raise
        wall = time.perf_counter() - start
        stop_spark_session()
    scored = result.person_index.rename(columns={"table": "source"}).merge(truth, on=["source", "record_key_tok"])
    quality = precision_recall(pairwise_counts(scored["person_id"], scored["true_person_id"]))
    return {
        "backend": backend, "blocking_geography": geography, "records": int(len(persons)), "cores": cores,
        "wall_s": round(wall, 1), "peak_rss_mib": memory.peaks(),
        "phases_s": clock.phases, "people": int(result.report["people"]),
        "scored_pairs": int(result.report["scored_pairs"]),
        "precision": quality["precision"], "recall": quality["recall"],
        # the machine may be shared: read timings with its load
        "load_average_1m": {"start": load_at_start, "end": round(os.getloadavg()[0], 1)},
    }


def run_child(args: argparse.Namespace, backend: str, n: int, geography: str | None) -> dict:
    """One backend, one size, in a process of its own (its own session: a time limit stops the JVM too)."""
    name = f"{args.out.stem}_{backend}_{n}_{geography or 'county'}"
    log_file, progress = args.out.with_name(name + ".log"), args.out.with_name(name + ".progress.json")
    progress.unlink(missing_ok=True)
    command = [sys.executable, __file__, "--one", backend, str(n), "--seed", str(args.seed), "--cores", str(args.cores),
               "--work-dir", str(args.work_dir), "--geography", geography or "county", "--progress", str(progress),
               "--driver-memory", args.driver_memory]
    start = time.perf_counter()
    with open(log_file, "w") as log, subprocess.Popen(command, stdout=subprocess.PIPE, stderr=log, text=True,
                                                      start_new_session=True) as child:
        try:
            stdout, _ = child.communicate(timeout=args.timeout)
        except subprocess.TimeoutExpired:
            os.killpg(child.pid, 9)  # the child's own process group: it and the JVM it started
            stdout, _ = child.communicate()
    if child.returncode == 0:
        return json.loads(stdout.strip().splitlines()[-1])
    stderr = log_file.read_text(errors="replace")
    failed = {"backend": backend, "blocking_geography": geography, "records": n, "returncode": child.returncode,
              "stopped_after_s": round(time.perf_counter() - start), "log": str(log_file),
              "timed_out": child.returncode == -9 and time.perf_counter() - start >= (args.timeout or 0),
              "jvm": [line for line in stderr.splitlines() if line.startswith("JVM exit code")
                      or "OutOfMemoryError" in line or "Terminating due to" in line][:5],
              "first_errors": [line for line in stderr.splitlines() if "Error" in line or "Exception" in line][:5]}
    if progress.exists():  # how far it got
        failed.update(json.loads(progress.read_text()))
    return failed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, nargs="+", default=[100_000])
    parser.add_argument("--backends", nargs="+", default=["duckdb", "spark"])
    parser.add_argument("--geography", nargs="+", default=["postcode_district"],
                        choices=["county", "postcode_district"],
                        help="blocking rules: county (link.blocking_geography null), postcode_district (national)")
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--seed", type=int, default=20261127)
    parser.add_argument("--driver-memory", default="4g", help="Spark driver (JVM heap) memory")
    parser.add_argument("--timeout", type=float, default=None, help="seconds one backend may run on one size")
    parser.add_argument("--work-dir", type=Path, default=ROOT / "benchmarks" / "results" / "spark_work")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "linkage_scale.json")
    parser.add_argument("--one", nargs=2, metavar=("BACKEND", "RECORDS"), help=argparse.SUPPRESS)
    parser.add_argument("--progress", type=Path, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:  # the child process: one backend, one size, JSON on stdout
        geography = None if args.geography[0] == "county" else args.geography[0]
        print(json.dumps(run_one(args.one[0], int(args.one[1]), args.seed, args.cores, args.work_dir, geography,
                                 args.progress, args.driver_memory)))
        return
    results = []
    args.out.parent.mkdir(parents=True, exist_ok=True)
    for n in args.records:
        persons, truth = person_records(n, args.seed)
        for geography in ("county", "postcode_district"):  # both rule sets' pairs: cheap, and the comparison
            rules = None if geography == "county" else geography
            pairs = blocked_pairs(persons, rules)
            results.append({"records": n, "blocking_geography": rules, "blocked_pairs_by_rule": pairs,
                            "blocked_pairs": sum(pairs.values()),
                            "true_pairs_admitted": true_pairs_admitted(persons, truth, rules)})
            print(json.dumps(results[-1]), flush=True)
        del persons, truth
        release_unused_memory()  # the children, not this process, should hold the memory while they run
        for geography in args.geography:
            for backend in args.backends:
                results.append(run_child(args, backend, n, None if geography == "county" else geography))
                print(json.dumps(results[-1]), flush=True)
                args.out.write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
