"""riskpipe ``link-pair`` (pseudonymised) against plain clear-text Splink on the FEBRL benchmarks.

Both link the same two tables on the same fields (forename, surname, date of birth, postcode), in
one process on the same machine, one after the other; each is timed from the tables in memory to
the scored pairs. The reference is Splink 5 as its documentation sets it up (DuckDB, the comparison
library's name, date-of-birth and exact-match comparisons with term-frequency adjustments, u by
random sampling, m by EM on two blocking rules, pairs at match probability >= 0.5) on the clear
values. riskpipe pseudonymises the tables with a fresh random key and links the tokens only, with
its default threshold choice. Precision, recall and F1 are against the FEBRL truth (record ids).

Examples:
    python benchmarks/linkage_reference.py                       # febrl4, febrl3, febrl2
    python benchmarks/linkage_reference.py --dataset febrl4 --json benchmarks/results/linkage-febrl4.json
"""

from __future__ import annotations

import argparse
import json
import logging
import secrets
import sys
import time
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from benchmarks.febrl import pair_quality, read_febrl, true_pairs  # noqa: E402

# The four identity fields both sides use, FEBRL column per riskpipe field.
FEBRL_MAPPING = {"forename": "given_name", "surname": "surname", "dob": "date_of_birth", "postcode": "postcode"}
REFERENCE_THRESHOLD = 0.5


def febrl_pair(dataset: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The two tables of a FEBRL task: ``febrl4`` is 4a x 4b (5,000 x 5,000, one-to-one);
    ``febrl2``/``febrl3`` split dataset 2/3 into its original records and their duplicates
    (one original may have several duplicates, with other error rates than FEBRL 4)."""
    if dataset == "febrl4":
        return read_febrl("dataset4a"), read_febrl("dataset4b")
    table = read_febrl(DATASETS[dataset])
    original = table["rec_id"].str.endswith("-org")
    return table[original].reset_index(drop=True), table[~original].reset_index(drop=True)


DATASETS = {"febrl4": "dataset4a+4b", "febrl3": "dataset3", "febrl2": "dataset2"}


def splink_reference(left: pd.DataFrame, right: pd.DataFrame, threshold: float = REFERENCE_THRESHOLD) -> pd.DataFrame:
    """Clear-text Splink 5 on forename, surname, dob and postcode; pairs at or above ``threshold``.

    Returns:
        ``left_id``, ``right_id``, ``match_probability``.
    """
    import splink.comparison_library as cl
    from splink import DuckDBAPI, Linker, SettingsCreator, block_on

    columns = ["rec_id", *FEBRL_MAPPING.values()]
    tables = [t[columns].rename(columns={"rec_id": "unique_id"}) for t in (left, right)]
    settings = SettingsCreator(
        link_type="link_only",
        comparisons=[
            cl.NameComparison("given_name").configure(term_frequency_adjustments=True),
            cl.NameComparison("surname").configure(term_frequency_adjustments=True),
            cl.DateOfBirthComparison("date_of_birth", input_is_string=True, datetime_format="%Y%m%d"),
            cl.LevenshteinAtThresholds("postcode", [1]).configure(term_frequency_adjustments=True),
        ],
        blocking_rules_to_generate_predictions=[
            block_on("given_name"), block_on("surname"), block_on("date_of_birth"), block_on("postcode"),
        ],
        retain_matching_columns=False,
    )
    db_api = DuckDBAPI()
    names = ("table_a", "table_b")  # not left/right: those are SQL keywords
    frames = [db_api.register(t, dataset_display_name=n) for t, n in zip(tables, names, strict=True)]
    linker = Linker(frames, settings)
    linker.training.estimate_probability_two_random_records_match(
        [block_on("given_name", "surname", "date_of_birth")], recall=0.7
    )
    linker.training.estimate_u_using_random_sampling(max_pairs=1e7, seed=1)
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("given_name", "surname"))
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("date_of_birth"))
    pairs = linker.inference.predict(threshold_match_probability=threshold).as_pandas_dataframe()
    out = pairs.rename(columns={"unique_id_l": "left_id", "unique_id_r": "right_id"})
    flipped = out["source_dataset_l"] != "table_a"
    out.loc[flipped, ["left_id", "right_id"]] = out.loc[flipped, ["right_id", "left_id"]].to_numpy()
    return out[["left_id", "right_id", "match_probability"]]


def riskpipe_pair(left: pd.DataFrame, right: pd.DataFrame, threshold: float | None = None) -> pd.DataFrame:
    """riskpipe ``link_pair`` on the same fields, pseudonymised on the fly with a fresh random key."""
    from pipeline.linkage.pair import link_pair

    return link_pair(
        left, right, id_left="rec_id", id_right="rec_id", mapping=FEBRL_MAPPING, dob_format="%Y%m%d",
        key=secrets.token_bytes(32), threshold=threshold,
    )


def compare(dataset: str = "febrl4") -> dict:
    """Both linkers on one FEBRL pair, timed; quality against the truth."""
    left, right = febrl_pair(dataset)
    truth = true_pairs(left, right)
    result = {"dataset": dataset, "records": [len(left), len(right)], "true_pairs": len(truth)}
    for name, run in (("splink_clear", splink_reference), ("riskpipe_pseudonymised", riskpipe_pair)):
        start = time.perf_counter()
        pairs = run(left, right)
        seconds = time.perf_counter() - start
        found = set(zip(pairs["left_id"], pairs["right_id"], strict=True))
        threshold = pairs.attrs.get("threshold", REFERENCE_THRESHOLD)
        result[name] = {**pair_quality(found, truth), "seconds": round(seconds, 2), "threshold": round(threshold, 4)}
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", default="all", choices=["all", *DATASETS], help="default: every task")
    parser.add_argument("--json", type=Path, default=None, help="also write the result here")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("splink").setLevel(logging.ERROR)  # EM progress is not the result
    results = [compare(d) for d in (DATASETS if args.dataset == "all" else [args.dataset])]
    for result in results:
        print(f"{result['dataset']}: {result['records'][0]:,} x {result['records'][1]:,} records, "
              f"{result['true_pairs']:,} true pairs")
        for name in ("splink_clear", "riskpipe_pseudonymised"):
            r = result[name]
            print(f"  {name:24s} precision {r['precision']:.4f}  recall {r['recall']:.4f}  F1 {r['f1']:.4f}  "
                  f"pairs {r['pairs']:,}  threshold {r['threshold']:.3f}  {r['seconds']:.1f} s")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
