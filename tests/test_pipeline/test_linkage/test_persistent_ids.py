"""Person IDs last across link runs: kept for the same person, split and merge logged, never reused, re-key refused.

Two small person indexes are built by hand, numbered afresh as ``build_person_index`` numbers them, so the
test sees what a re-link did before lasting IDs: a different child behind the same ID.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

from pipeline.core.io import write_json
from pipeline.core.paths import project_paths
from pipeline.linkage.id_store import assign_lasting_ids, read_id_log, record_person_ids
from pipeline.linkage.persistent_ids import (
    CARRIED,
    FIRST,
    REKEYED,
    PersonIdLogError,
    carry_person_ids,
    id_number,
    person_index_digest,
    translate_tokens,
)


def index_of(people: list[list[str]]) -> pd.DataFrame:
    """A person index from clusters of ``table:token`` records, numbered P00000001… in the order given."""
    rows = [(record.split(":")[0], record.split(":")[1], f"P{n:08d}")
            for n, records in enumerate(people, start=1) for record in records]
    return pd.DataFrame(rows, columns=["table", "record_key_tok", "person_id"]).astype("string").assign(
        match_probability=1.0, match_route="deterministic")


# run 1: seven people
FIRST_RUN = [
    ["school:a1", "social_care:c1", "health:h1"],            # P1: unchanged (gains a record)
    ["school:a2", "health:h2"],                              # P2: unchanged
    ["school:a3", "health:h3"],                              # P3 } merged in run 2
    ["social_care:c4"],                                      # P4 }
    ["school:a5", "social_care:c5", "health:h5", "nccis:n5"],  # P5: splits 3 + 1 (keeps its ID)
    ["school:a6", "health:h6"],                              # P6: splits 1 + 1 (no majority: both new)
    ["school:a7"],                                           # P7: its record leaves the extract
]
# run 2, in another order, so fresh numbering gives other children the old numbers
SECOND_RUN = [
    ["school:z1"],                                           # a new child
    ["health:h6"],
    ["school:a3", "health:h3", "social_care:c4"],
    ["nccis:n5"],
    ["school:a5", "social_care:c5", "health:h5"],
    ["school:a2", "health:h2"],
    ["school:a6"],
    ["school:a1", "social_care:c1", "health:h1", "school:b9"],
]


def person_of(index: pd.DataFrame, table: str, token: str) -> str:
    return index.loc[(index["table"] == table) & (index["record_key_tok"] == token), "person_id"].item()


def test_a_relink_keeps_ids_logs_the_split_and_the_merge_and_reuses_no_id():
    first, second = index_of(FIRST_RUN), index_of(SECOND_RUN)
    assert person_of(second, "school", "a2") != "P00000002"  # without lasting IDs: P2 now names another child
    index, change = carry_person_ids(second, first[["table", "record_key_tok", "person_id"]], highest_issued=7)
    assert change["event"] == CARRIED
    assert person_of(index, "school", "a1") == "P00000001" and person_of(index, "school", "b9") == "P00000001"
    assert person_of(index, "school", "a2") == "P00000002"
    assert person_of(index, "social_care", "c4") == "P00000003"  # merge: the ID sharing most records survives
    assert person_of(index, "school", "a5") == "P00000005"  # the majority side of the split keeps the ID
    new_ids = set(index["person_id"]) - {f"P{n:08d}" for n in range(1, 8)}
    assert {person_of(index, "nccis", "n5"), person_of(index, "school", "a6"), person_of(index, "health", "h6"),
            person_of(index, "school", "z1")} == new_ids
    assert min(id_number(i) for i in new_ids) == 8 and len(new_ids) == 4  # never an ID issued before
    assert "P00000006" not in set(index["person_id"]) and "P00000007" not in set(index["person_id"])
    n5, a6, h6 = (person_of(index, *r) for r in [("nccis", "n5"), ("school", "a6"), ("health", "h6")])
    assert change["splits"] == [{"old": "P00000005", "new": sorted(["P00000005", n5])},
                                {"old": "P00000006", "new": sorted([a6, h6])}]
    assert change["merges"] == [{"old": ["P00000003", "P00000004"], "new": "P00000003"}]
    assert change["gone"] == ["P00000007"]
    assert change["successors"] == {"P00000004": ["P00000003"], "P00000005": sorted(["P00000005", n5]),
                                    "P00000006": sorted([a6, h6]), "P00000007": []}
    assert change["kept"] == 4 and change["new"] == 4 and change["highest_id"] == 11
    assert len(index) == len(second) and set(index.columns) == set(second.columns)


def test_an_unchanged_relink_keeps_every_id_and_the_same_digest():
    first = index_of(FIRST_RUN)
    shuffled = index_of(list(reversed(FIRST_RUN)))
    index, change = carry_person_ids(shuffled, first, highest_issued=7)
    assert person_index_digest(index) == person_index_digest(first)
    assert change["successors"] == {} and change["kept"] == 7 and change["new"] == 0


def test_two_runs_through_the_store_and_a_list_translated_through_the_log(tmp_path):
    paths = project_paths(tmp_path)
    write_json({"key_id": "aaaaaaaaaaaa", "complete": True}, paths.pseudo_key_record)
    one, entry_one = assign_lasting_ids(index_of(FIRST_RUN), paths)
    assert entry_one["event"] == FIRST and entry_one["previous_index_digest"] is None
    record_person_ids(paths, one, entry_one)
    two, entry_two = assign_lasting_ids(index_of(SECOND_RUN), paths)
    record_person_ids(paths, two, entry_two)
    log = read_id_log(paths)
    assert [e["event"] for e in log] == [FIRST, CARRIED]
    assert log[1]["previous_index_digest"] == log[0]["index_digest"] == person_index_digest(one)
    assert log[1]["index_digest"] == person_index_digest(two) and log[1]["key_id"] == "aaaaaaaaaaaa"
    assert log[1]["merges"] == [{"old": ["P00000003", "P00000004"], "new": "P00000003"}]
    moved = translate_tokens(log, person_index_digest(one)[:16], person_index_digest(two))
    assert moved["P00000004"] == ["P00000003"] and moved["P00000007"] == [] and "P00000001" not in moved
    # a third run, same people: the chain goes on, and a list from run one still translates
    three, entry_three = assign_lasting_ids(index_of(list(reversed(SECOND_RUN))), paths)
    assert person_index_digest(three) == person_index_digest(two)
    record_person_ids(paths, three, entry_three)
    assert translate_tokens(read_id_log(paths), person_index_digest(one), person_index_digest(three)) == moved
    text = json.dumps(read_id_log(paths))
    assert not any(f'"{token}"' in text for token in ["a1", "c4", "n5", "h6"])  # IDs in the log, not record tokens


def test_a_new_key_carries_no_id_over_and_the_log_refuses_to_translate_across_it(tmp_path):
    paths = project_paths(tmp_path)
    write_json({"key_id": "aaaaaaaaaaaa", "complete": True}, paths.pseudo_key_record)
    one, entry = assign_lasting_ids(index_of(FIRST_RUN), paths)
    record_person_ids(paths, one, entry)
    write_json({"key_id": "bbbbbbbbbbbb", "complete": True}, paths.pseudo_key_record)
    # same tokens on purpose: even if they matched, IDs are not carried across a key change
    two, entry = assign_lasting_ids(index_of(FIRST_RUN), paths)
    assert entry["event"] == REKEYED and entry["kept"] == 0
    assert min(id_number(i) for i in two["person_id"]) == 8  # old numbers are never handed to other children
    record_person_ids(paths, two, entry)
    with pytest.raises(PersonIdLogError, match="re-keyed: all IDs new"):
        translate_tokens(read_id_log(paths), person_index_digest(one), person_index_digest(two))


def test_unknown_digest_and_an_assignment_the_log_does_not_know_are_refused(tmp_path):
    paths = project_paths(tmp_path)
    one, entry = assign_lasting_ids(index_of(FIRST_RUN), paths)
    record_person_ids(paths, one, entry)
    with pytest.raises(PersonIdLogError, match="no run from the list's person index 0123456789abcdef"):
        translate_tokens(read_id_log(paths), "0123456789abcdef" * 4, person_index_digest(one))
    index_of(SECOND_RUN)[["table", "record_key_tok", "person_id"]].to_parquet(
        tmp_path / "data/person_ids/last_assignment.parquet")
    with pytest.raises(PersonIdLogError, match="made by no run"):
        assign_lasting_ids(index_of(FIRST_RUN), paths)


REPO = Path(__file__).resolve().parents[3]


def riskpipe(root: Path, *args: str) -> None:
    done = subprocess.run([sys.executable, "-m", "pipeline", *args, "--root", str(root), "--params",
                           str(root / "params.yaml")], cwd=REPO, capture_output=True, text=True, check=False)
    assert done.returncode == 0, f"{args}: {done.stdout[-2000:]}{done.stderr[-2000:]}"


def set_cluster_threshold(root: Path, value: float) -> None:
    params = yaml.safe_load((root / "params.yaml").read_text())
    params["link"]["cluster_threshold_match_probability"] = value
    (root / "params.yaml").write_text(yaml.safe_dump(params))


@pytest.mark.slow
def test_riskpipe_link_run_again_keeps_ids_and_logs_splits_then_merges(tmp_path):
    """A small synthetic county linked three times: unchanged, split by a stricter threshold, merged back."""
    root = tmp_path / "county"
    root.mkdir()
    params = yaml.safe_load((REPO / "params.yaml").read_text())
    params["synth"]["children"] = 1000
    (root / "params.yaml").write_text(yaml.safe_dump(params))
    for step in (["synth"], ["keygen"], ["ingest"], ["pseudonymise"], ["link"]):
        riskpipe(root, *step)
    paths = project_paths(root)
    first = pd.read_parquet(paths.person_index)
    riskpipe(root, "link")
    assert person_index_digest(pd.read_parquet(paths.person_index)) == person_index_digest(first)

    set_cluster_threshold(root, 0.99999)  # fewer probabilistic links: some people split
    riskpipe(root, "link")
    split = pd.read_parquet(paths.person_index)
    report = json.loads((root / "reports/linkage.json").read_text())["person_ids"]
    assert report["event"] == CARRIED and report["splits"] > 0 and report["merges"] == 0
    both = first.merge(split, on=["table", "record_key_tok"], suffixes=("_1", "_2"))
    unchanged = both.groupby("person_id_1")["person_id_2"].transform("nunique").eq(1) & both.groupby(
        "person_id_2")["person_id_1"].transform("nunique").eq(1)
    assert unchanged.mean() > 0.5 and (both.loc[unchanged, "person_id_1"] == both.loc[unchanged, "person_id_2"]).all()
    new_ids = set(split["person_id"]) - set(first["person_id"])
    assert new_ids and min(id_number(i) for i in new_ids) > highest_of(first)  # never reused

    set_cluster_threshold(root, params["link"]["cluster_threshold_match_probability"])  # links made again: merges
    riskpipe(root, "link")
    log = read_id_log(paths)
    assert [e["event"] for e in log] == [FIRST, CARRIED, CARRIED, CARRIED]
    assert log[3]["merges"] and not log[3]["splits"] and log[3]["previous_index_digest"] == log[2]["index_digest"]
    for merge in log[3]["merges"]:
        assert all(log[3]["successors"].get(old, [old]) == [merge["new"]] for old in merge["old"])


def highest_of(index: pd.DataFrame) -> int:
    return max(id_number(i) for i in index["person_id"])
