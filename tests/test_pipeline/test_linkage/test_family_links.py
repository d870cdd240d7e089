"""Family and household links (issue #17): carer -> cared-for from CLD, same address from a UPRN token, and
from the GP extract: same household from its RALF token, probable carers from its carer codes.

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
    assert set(links["relation"]) == {"carer_of", "same_address", "parent_of", "sibling_of", "same_household"}
    assert set(links.loc[links["relation"] == "carer_of", "source"].str.split("+").explode()) == {
        "adult_social_care", "gp_carer_code"}
    report = json.loads((county.reports / "linkage.json").read_text())["family_links"]
    assert report["links"] == links["relation"].value_counts().to_dict()
    # a pair both CLD and a GP carer code give is one link, recorded by both
    carer_sources = links.loc[links["relation"] == "carer_of", "source"].str.split("+").explode()
    assert report["links_by_source"]["carer_of"] == carer_sources.value_counts().to_dict()
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
    gp = pd.read_parquet(county.staged_table("gp_patient"), columns=["patient_id", "ralf"])
    clear = (set(staged["la_person_id"].astype(str)) | set(staged["uprn"].astype(str))
             | set(gp["patient_id"].astype(str)) | set(gp["ralf"].dropna().astype(str)))
    values = set(links[["person_id_a", "person_id_b", "source"]].astype(str).to_numpy().ravel())
    assert not values & clear


def test_the_gp_household_key_parses_back_reconciles_and_leaves_only_tokens(county):
    raw = pd.read_csv(county.root / "data/raw/gp/gp_patients.csv", dtype=str, keep_default_na=False)
    staged = pd.read_parquet(county.staged_table("gp_patient"), columns=["patient_id", "ralf"])
    # every RALF comes back as written, a blank (no UPRN matched) as missing
    assert dict(zip(raw["Patient_ID"], raw["RALF"], strict=True)) == dict(
        zip(staged["patient_id"], staged["ralf"].fillna(""), strict=True))
    assert 0.8 < (raw["RALF"] != "").mean() < 0.99
    ingest = json.loads((county.reports / "ingest.json").read_text())
    assert ingest["reconciled"] and ingest["tables"]["gp_patient"]["rows_accepted"] == len(raw)
    pseudo = pd.read_parquet(county.pseudo_table("gp_patient"))
    assert "ralf" not in pseudo.columns and pseudo["ralf_tok"].dropna().str.fullmatch("[0-9a-f]{32}").all()
    assert pseudo["ralf_tok"].notna().sum() == staged["ralf"].notna().sum()
    assert scan_paths([county.pseudo_table("gp_patient"), county.pseudo_table("gp_event")]) == []
    assert any(f.column == "RALF" and f.kind == "local_id" for f in scan_paths([county.root / "data/raw/gp"]))


def test_gp_household_and_carer_links_reach_their_expected_quality(county):
    family = json.loads((county.reports / "linkage.json").read_text())["family_links"]
    homes, gp_carers = family["truth"]["same_household"], family["truth"]["carer_of"]["by_source"]["gp_carer_code"]
    # a RALF goes missing for about 8% of records, independently, so about (1 - 0.08)^2 of pairs can be found
    assert homes["predicted_pairs"] >= 500 and homes["precision"] >= 0.97 and homes["recall"] >= 0.75
    assert homes["same_household_share"] >= 0.9
    # a probable link: most coded carers living with a person in need care for that person
    assert gp_carers["predicted_pairs"] >= 20 and gp_carers["precision"] >= 0.8
    # about 45% of carers are coded, and only carers living with the person are in reach of a household key
    assert 0.1 <= gp_carers["recall_within_household"] <= 0.6
    for quality in (homes, gp_carers):
        for column in ("by_ethnicity_group", "by_age_band"):
            groups = quality[column]
            assert groups and all(g == {"suppressed": True} or min(g["true_pairs"], g["predicted_pairs"])
                                  >= family["min_group_pairs"] for g in groups.values())
    assert homes["by_ethnicity_group"]["White"]["true_pairs"] >= family["min_group_pairs"]
    markdown = (county.reports / "linkage.md").read_text()
    assert "| same_household | gp |" in markdown and "| carer_of | gp_carer_code |" in markdown
    assert "### same_household by group" in markdown


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


def test_the_report_times_the_link_phases_with_names_and_numbers_only(county):
    timings = json.loads((county.reports / "linkage.json").read_text())["timings"]
    names = [p["phase"] for p in timings["phases"]]
    for expected in ("reading person records", "deterministic links", "splink: u by random sampling", "splink: EM",
                     "splink: predict", "clustering", "review sample and population", "family links",
                     "family links quality against truth", "linkage quality against truth", "writing outputs"):
        assert expected in names
    assert len(names) == len(set(names))
    for p in timings["phases"]:
        assert set(p) == {"phase", "wall_s", "cpu_s", "peak_rss_mb"}
        assert all(isinstance(p[k], int | float) and p[k] >= 0 for k in ("wall_s", "cpu_s"))
    assert sum(p["wall_s"] for p in timings["phases"]) <= timings["total_wall_s"] + 0.1
    assert "timings" not in (county.reports / "linkage.md").read_text().lower()
