"""Family and household links (issue #17): carer -> cared-for from CLD, same address from a UPRN token.

A small county with adults on is run as commands (synth → ingest → pseudonymise → link) in a temporary
project; ``data/linked/family_links.parquet`` is checked against the synthetic truth and for clear
identifiers. The pure builders are checked on hand-made frames, and a project without adult tables
writes no family links at all.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

from pipeline.core.paths import ProjectPaths
from pipeline.linkage.family import FAMILY_COLUMNS, MAX_PEOPLE_AT_ADDRESS, address_links, carer_links
from pipeline.linkage.family_stage import family_links_file, run_family_links
from pipeline.privacy.scan_pii import scan_paths
from pipeline.sources.cld_events import carer_edges

REPO = Path(__file__).resolve().parents[3]
CHILDREN = 1500


def _riskpipe(root: Path, env: dict, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pipeline", *args, "--root", str(root), "--params",
                           str(root / "params.yaml")], cwd=REPO, capture_output=True, text=True, check=False, env=env)


@pytest.fixture(scope="module")
def county(tmp_path_factory):
    root = tmp_path_factory.mktemp("family_links")
    params = yaml.safe_load((REPO / "params.yaml").read_text())
    params["synth"] |= {"children": CHILDREN, "adults": {**(params["synth"].get("adults") or {}), "enabled": True}}
    (root / "params.yaml").write_text(yaml.safe_dump(params))
    env = {**os.environ, "RISKPIPE_PSEUDO_KEY": bytes(range(32)).hex()}
    env.pop("MLFLOW_TRACKING_URI", None)
    for step in (["synth"], ["ingest"], ["pseudonymise"], ["link"]):
        done = _riskpipe(root, env, *step)
        assert done.returncode == 0, f"{step}: {done.stdout[-2000:]}{done.stderr[-2000:]}"
    return ProjectPaths(root)


def test_file_follows_the_contract_and_the_report_counts_it(county):
    links = pd.read_parquet(family_links_file(county))
    assert tuple(links.columns) == FAMILY_COLUMNS
    assert set(links["relation"]) == {"carer_of", "same_address", "parent_of", "sibling_of"}
    report = json.loads((county.reports / "linkage.json").read_text())["family_links"]
    assert report["links"] == links["relation"].value_counts().to_dict()
    assert "## Family and household links" in (county.reports / "linkage.md").read_text()
    index_ids = set(pd.read_parquet(county.person_index)["person_id"])
    assert set(links["person_id_a"]) | set(links["person_id_b"]) <= index_ids
    assert not (links["person_id_a"] == links["person_id_b"]).any()
    assert not links.duplicated(["person_id_a", "person_id_b", "relation"]).any()
    carers = links[links["relation"] == "carer_of"]
    assert carers["first_seen"].notna().all() and (carers["first_seen"] <= carers["last_seen"]).all()


def test_precision_and_recall_against_truth(county):
    truth = json.loads((county.reports / "linkage.json").read_text())["family_links"]["truth"]
    carers, homes = truth["carer_of"], truth["same_address"]
    assert carers["predicted_pairs"] > 0 and carers["precision"] >= 0.9
    assert homes["predicted_pairs"] >= 20 and homes["precision"] >= 0.9 and homes["recall"] >= 0.8
    # carer links CLD records: every recorded pair (in the clear staged tables) comes back as a link
    recorded = carer_edges(pd.read_parquet(county.staged_table("cld_event")),
                           pd.read_parquet(county.staged_table("cld_carer_link")))
    assert carers["predicted_pairs"] >= 0.9 * len(recorded) > 0


def test_no_clear_identifier_in_the_file(county):
    assert scan_paths([family_links_file(county)]) == []
    links = pd.read_parquet(family_links_file(county))
    staged = pd.read_parquet(county.staged_table("asc_person"), columns=["la_person_id", "uprn"])
    clear = set(staged["la_person_id"].astype(str)) | set(staged["uprn"].astype(str))
    values = set(links[["person_id_a", "person_id_b", "source"]].astype(str).to_numpy().ravel())
    assert not values & clear


def _index(rows: list[tuple[str, str, str]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["table", "record_key_tok", "person_id"]).astype("string")


def test_address_links_pair_a_household_and_skip_a_communal_address():
    home = [("k1", "u1"), ("k2", "u1"), ("k3", "u1")]
    communal = [(f"c{i}", "u2") for i in range(MAX_PEOPLE_AT_ADDRESS + 1)]
    table = pd.DataFrame(home + communal + [("k9", None)], columns=["la_person_id_tok", "uprn_tok"])
    index = _index([("asc", k, f"P{k}") for k, _ in home + communal] + [("asc", "k9", "Pk9")])
    links = address_links({"asc": table}, {"asc": "la_person_id_tok"}, index)
    assert set(zip(links["person_id_a"], links["person_id_b"], strict=True)) == {
        ("Pk1", "Pk2"), ("Pk1", "Pk3"), ("Pk2", "Pk3")}
    assert set(links["relation"]) == {"same_address"} and set(links["source"]) == {"asc"}


def test_carer_links_map_tokens_to_people_and_drop_self_links_after_linkage():
    events = pd.DataFrame({"la_person_id_tok": ["c", "d"], "client_type": ["Carer", "Carer"],
                           "period_end": pd.to_datetime(["2024-03-31", "2024-06-30"]),
                           "_source_file": ["f", "f"], "_source_row": [1, 2]})
    links = pd.DataFrame({"la_person_id_tok": ["x", "y"], "_source_file": ["f", "f"], "_source_row": [1, 2]})
    # d and y are two records of one person: a link between them is no family link
    index = _index([("asc", "c", "P1"), ("asc", "x", "P2"), ("asc", "d", "P3"), ("asc", "y", "P3")])
    out = carer_links(events, links, index, "asc")
    assert out[["person_id_a", "person_id_b", "relation"]].values.tolist() == [["P1", "P2", "carer_of"]]
    assert out["first_seen"].iloc[0] == pd.Timestamp("2024-03-31")


def test_a_children_only_project_writes_no_family_links(tmp_path):
    paths = ProjectPaths(tmp_path)
    stale = family_links_file(paths)
    stale.parent.mkdir(parents=True)
    stale.write_bytes(b"from an earlier run")
    assert run_family_links(paths, _index([("school", "t", "P1")]), None) is None
    assert not stale.exists()
