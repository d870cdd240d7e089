"""``riskpipe reidentify`` checks which person index a list came from.

Before lists recorded their person index, a re-link renumbered everyone and ``reidentify`` on last month's
list gave its rows the IDs of *different children*, with exit 0. Now a list from another index is refused,
or translated through the person ID log (data/person_ids/) with each row saying what changed.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from pipeline.cli import app
from pipeline.core.io import write_json, write_parquet
from pipeline.core.paths import project_paths
from pipeline.linkage.id_store import assign_lasting_ids, record_person_ids
from pipeline.linkage.persistent_ids import person_index_digest
from pipeline.privacy.actions import Privacy
from pipeline.privacy.fingerprint import LINKED_RECORD, key_record
from pipeline.privacy.keys import KEY_ENV_VAR
from pipeline.privacy.reidentify import GONE, MERGED, NOT_HELD, SAME_PERSON, SPLIT, tokenise_local_ids

REPO = Path(__file__).resolve().parents[3]
KEY, NEW_KEY = bytes(range(32)), bytes(range(50, 82))
CHILDREN = ["C1", "C2", "C3", "C5", "C6"]

# run 1: P1..P6 (C4 does not exist: P4 is known to health only)
FIRST_RUN = [["sc:C1", "health:h1"], ["sc:C2", "health:h2"], ["sc:C3", "health:h3"], ["health:h4"],
             ["sc:C5", "health:h5", "school:s5"], ["sc:C6"]]
# run 2, numbered afresh in another order: P3 and P4 merge, P5 splits (C5 leaves its health and school records)
SECOND_RUN = [["sc:C6"], ["sc:C5"], ["health:h5", "school:s5"], ["sc:C2", "health:h2"],
              ["sc:C3", "health:h3", "health:h4"], ["sc:C1", "health:h1"]]


def index_of(people: list[list[str]], key: bytes) -> pd.DataFrame:
    """A person index numbered P00000001… in the order given; ``sc:Cn``: social care child Cn's token under ``key``."""
    rows = []
    for n, records in enumerate(people, start=1):
        for record in records:
            table, local = record.split(":")
            if table == "sc":
                table, local = "social_care", tokenise_local_ids(pd.Series([local]), "la_child_id",
                                                                 Privacy.RECORD_KEY, key).iloc[0]
            rows.append((table, local, f"P{n:08d}"))
    return pd.DataFrame(rows, columns=["table", "record_key_tok", "person_id"]).astype("string").assign(
        match_probability=1.0, match_route="deterministic")


def link_run(root: Path, fresh: pd.DataFrame, *, lasting: bool = True) -> pd.DataFrame:
    """What ``riskpipe link`` leaves behind: the index in data/linked, and (lasting IDs) the ID log."""
    paths = project_paths(root)
    index = fresh
    if lasting:
        index, entry = assign_lasting_ids(fresh, paths)
        write_parquet(index, paths.person_index)
        record_person_ids(paths, index, entry)
    else:  # as link did before lasting IDs: renumbered, nothing logged
        write_parquet(index, paths.person_index)
    return index


def use_key(root: Path, key: bytes, monkeypatch) -> None:
    paths = project_paths(root)
    write_json(key_record(key, complete=True), paths.pseudo_key_record)
    write_json(key_record(key, complete=True), paths.linked / LINKED_RECORD)
    monkeypatch.setenv(KEY_ENV_VAR, key.hex())


@pytest.fixture
def project(tmp_path, monkeypatch):
    root = tmp_path / "project"
    root.mkdir()
    shutil.copy(REPO / "params.yaml", root / "params.yaml")
    use_key(root, KEY, monkeypatch)
    index = link_run(root, index_of(FIRST_RUN, KEY))
    controller = tmp_path / "controller"
    controller.mkdir()
    listed = pd.DataFrame({"status": "APPROVED", "rank": range(1, 7),
                           "person_token": [f"P{n:08d}" for n in range(1, 7)], "risk_percent": 50.0,
                           "person_index": f"sha256:{person_index_digest(index)[:16]}"})  # as score writes it
    listed.to_csv(controller / "risk_list.csv", index=False)
    pd.DataFrame({"LAchildID": [*CHILDREN, "C9"]}).to_csv(controller / "children.csv", index=False)
    return {"root": root, "controller": controller}


def reidentify(project, name: str = "named.csv", risk_list: str = "risk_list.csv"):
    root, controller = project["root"], project["controller"]
    result = CliRunner().invoke(app, [
        "reidentify", "--list", str(controller / risk_list), "--extract", str(controller / "children.csv"),
        "--source", "social_care", "--id-column", "LAchildID", "--out", str(controller / name),
        "--root", str(root), "--params", str(root / "params.yaml")])
    out = controller / name
    return result, (pd.read_csv(out, dtype="str", keep_default_na=False) if out.exists() else None)


def said(result) -> str:
    return " ".join(result.output.split())


def test_a_list_from_the_current_index_is_reidentified_as_before(project):
    result, named = reidentify(project)
    assert result.exit_code == 0, result.output
    assert named["local_id"].tolist() == ["C1", "C2", "C3", NOT_HELD, "C5", "C6"]
    assert "person_change" not in named and "merged, split or gone" not in result.output


def test_a_relink_that_renumbered_everyone_is_refused_not_matched_to_other_children(project):
    link_run(project["root"], index_of(SECOND_RUN, KEY), lasting=False)
    result, named = reidentify(project)
    assert result.exit_code == 2 and named is None
    text = said(result)
    assert "reidentify stopped" in text and "this list was made from person index" in text
    assert "re-linked since" in text and "cannot be translated; issue a new list (`riskpipe score`)" in text


def test_a_list_from_before_a_relink_is_translated_through_the_id_log(project):
    index = link_run(project["root"], index_of(SECOND_RUN, KEY))
    assert set(index["person_id"]) >= {f"P{n:08d}" for n in (1, 2, 3, 5, 6)} and "P00000007" in set(index["person_id"])
    result, named = reidentify(project)
    assert result.exit_code == 0, result.output
    # every row still names its own child: the IDs of the children the list was made about
    assert named["local_id"].tolist() == ["C1", "C2", "C3", "C3", "C5", "C6"]
    assert named["person_change"].tolist() == [SAME_PERSON, SAME_PERSON, MERGED, MERGED, SPLIT.format(n=2),
                                               SAME_PERSON]
    assert "3 list rows name a child merged, split or gone" in said(result)


def test_a_person_whose_records_left_is_said_to_be_gone(project):
    link_run(project["root"], index_of([p for p in FIRST_RUN if p != ["sc:C6"]], KEY))
    result, named = reidentify(project)
    assert result.exit_code == 0, result.output
    assert named.loc[5, "local_id"] == NOT_HELD and named.loc[5, "person_change"] == GONE


def test_a_list_from_before_a_new_key_is_refused(project, monkeypatch):
    use_key(project["root"], NEW_KEY, monkeypatch)
    link_run(project["root"], index_of(FIRST_RUN, NEW_KEY))  # the same children under new tokens
    result, named = reidentify(project)
    assert result.exit_code == 2 and named is None
    assert "re-keyed: all IDs new" in said(result) and "its tokens now name other people or nobody" in said(result)


def test_a_list_that_does_not_name_its_person_index_is_refused(project):
    listed = pd.read_csv(project["controller"] / "risk_list.csv", dtype="str").drop(columns="person_index")
    listed.to_csv(project["controller"] / "old_list.csv", index=False)
    result, named = reidentify(project, risk_list="old_list.csv")
    assert result.exit_code == 2 and named is None
    assert "the list does not say which person index its tokens come from" in said(result)
