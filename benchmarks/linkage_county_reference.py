"""riskpipe ``link`` on a synthetic county against plain clear-text Splink on the same records and fields.

The county folder must have run ``synth``, ``ingest`` and ``pseudonymise`` (e.g. a scratch folder of
benchmarks/run.py). The reference builds the same person records as riskpipe (one per person key,
latest row, school address), but from the clear staged tables, and links them with Splink 5 as its
documentation sets it up: DuckDB, ``link_and_dedupe`` over the four person sources, the comparison
library's name (Jaro-Winkler), date-of-birth, postcode, exact sex / NHS number / UPN comparisons with
term-frequency adjustments on names, u by random sampling, m by EM, links at match probability
>= 0.95 (riskpipe's cluster threshold), connected components. riskpipe runs ``python -m pipeline
link`` in the folder. Both are scored pairwise against ``data/truth/person_map.parquet``.

Example:
    python benchmarks/linkage_county_reference.py /tmp/county-10k
"""

from __future__ import annotations

import argparse
import json
import logging
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pipeline.linkage.evaluation import pairwise_counts, precision_recall  # noqa: E402
from pipeline.linkage.persons import build_source_persons  # noqa: E402
from pipeline.sources.registry import person_sources  # noqa: E402

CLEAR_FIELDS = ("forename", "surname", "dob", "sex", "postcode", "nhs_number", "upn", "former_upn")
CLUSTER_THRESHOLD = 0.95


def clear_person_records(county: Path) -> pd.DataFrame:
    """One clear record per (source, person key), chosen as riskpipe chooses them.

    riskpipe's person builder is reused on the clear staged tables by giving clear columns the
    token columns' names (and back): the same latest-row and address rules, clear values.

    Returns:
        ``source``, ``record_key`` and ``CLEAR_FIELDS`` (those a source holds; others null).
    """
    parts = []
    for source in person_sources():
        clear_key = source.person_key_token.removesuffix("_tok")
        names = [source.persons.table, *([source.persons.address_table] if source.persons.address_table else [])]
        tables = {}
        for name in names:
            table = pd.read_parquet(county / "data" / "staged" / f"{name}.parquet")
            clear = (*CLEAR_FIELDS, clear_key, "pupil_record_id")
            renames = {c: f"{c}_tok" for c in clear if c in table and c != "sex"}
            tables[name] = table.rename(columns=renames)
        persons = build_source_persons(source, tables)
        out = pd.DataFrame({"source": source.name, "record_key": persons["record_key_tok"].astype("string")})
        for field in CLEAR_FIELDS:
            column = "sex" if field == "sex" else f"{field}_tok"
            out[field] = persons[column].astype("string") if column in persons else pd.NA
        parts.append(out)
    records = pd.concat(parts, ignore_index=True)
    records["dob"] = pd.to_datetime(records["dob"], errors="coerce").dt.strftime("%Y-%m-%d")
    return records.drop(columns="former_upn")


def splink_reference(records: pd.DataFrame) -> pd.Series:
    """Cluster label per record (aligned with ``records``) from clear-text Splink."""
    import splink.comparison_library as cl
    from splink import DuckDBAPI, Linker, SettingsCreator, block_on

    settings = SettingsCreator(
        link_type="link_and_dedupe",
        comparisons=[
            cl.NameComparison("forename").configure(term_frequency_adjustments=True),
            cl.NameComparison("surname").configure(term_frequency_adjustments=True),
            cl.DateOfBirthComparison("dob", input_is_string=True, datetime_format="%Y-%m-%d"),
            cl.PostcodeComparison("postcode"),
            cl.ExactMatch("sex"),
            cl.ExactMatch("nhs_number"),
            cl.ExactMatch("upn"),
        ],
        blocking_rules_to_generate_predictions=[
            block_on("dob"), block_on("forename", "surname"), block_on("postcode", "substr(dob, 1, 4)"),
            block_on("nhs_number"), block_on("upn"),
        ],
        retain_matching_columns=False,
    )
    frame = records.assign(unique_id=records["source"] + ":" + records["record_key"])
    db_api = DuckDBAPI()
    inputs = [
        db_api.register(part.drop(columns=["source", "record_key"]), dataset_display_name=f"src_{name}")
        for name, part in frame.groupby("source", sort=False)
    ]
    linker = Linker(inputs, settings)
    linker.training.estimate_probability_two_random_records_match(
        [block_on("forename", "surname", "dob"), block_on("nhs_number"), block_on("upn")], recall=0.7
    )
    linker.training.estimate_u_using_random_sampling(max_pairs=1e7, seed=1)
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("dob"))
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("forename", "surname"))
    pairs = linker.inference.predict(threshold_match_probability=CLUSTER_THRESHOLD)
    clusters = linker.clustering.cluster_pairwise_predictions_at_threshold(pairs, CLUSTER_THRESHOLD)
    labels = clusters.as_pandas_dataframe()[["source_dataset", "unique_id", "cluster_id"]]
    return frame[["unique_id"]].merge(labels, on="unique_id", how="left")["cluster_id"].astype("string")


def run_riskpipe_link(county: Path) -> dict:
    """``python -m pipeline link`` in the county folder: wall seconds and its pairwise quality."""
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "pipeline", "link"], cwd=county, check=True, capture_output=True)
    seconds = time.perf_counter() - start
    truth = json.loads((county / "reports" / "linkage.json").read_text())["truth"]
    return {k: truth[k] for k in ("precision", "recall", "f1", "predicted_pairs", "true_pairs")} | {
        "seconds": round(seconds, 2)
    }


def compare(county: Path) -> dict:
    """Both linkers on one county, timed; pairwise quality against the synthetic truth."""
    records = clear_person_records(county)
    truth = pd.read_parquet(county / "data" / "truth" / "person_map.parquet")
    truth = truth.assign(record_key=truth["record_key"].astype("string"))[["source", "record_key", "person_id"]]
    start = time.perf_counter()
    labels = splink_reference(records)
    seconds = time.perf_counter() - start
    scored = records.assign(cluster=labels).merge(truth, on=["source", "record_key"], how="inner")
    quality = precision_recall(pairwise_counts(scored["cluster"], scored["person_id"]))
    reference = {k: quality[k] for k in ("precision", "recall", "f1", "predicted_pairs", "true_pairs")}
    return {
        "county": str(county),
        "records": len(records),
        "splink_clear": reference | {"seconds": round(seconds, 2), "records_in_truth": len(scored)},
        "riskpipe_link": run_riskpipe_link(county),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("county", type=Path, help="a folder that has run synth, ingest and pseudonymise")
    parser.add_argument("--json", type=Path, default=None, help="also write the result here")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("splink").setLevel(logging.ERROR)
    result = compare(args.county.resolve())
    print(f"{result['records']:,} person records")
    for name in ("splink_clear", "riskpipe_link"):
        r = result[name]
        print(f"  {name:14s} precision {r['precision']:.4f}  recall {r['recall']:.4f}  F1 {r['f1']:.4f}  "
              f"{r['seconds']:.1f} s")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
