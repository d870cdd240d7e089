"""Pseudonymise at scale: each batch hashes its own distinct values, and the tables are those of a plain run."""

from __future__ import annotations

import hashlib
import hmac

import pandas as pd
import pytest

import pipeline.pseudonymise.stage as pseudo_stage
from pipeline.core.io import read_parquet, write_parquet_parts
from pipeline.core.paths import project_paths
from pipeline.privacy.actions import Privacy
from pipeline.privacy.tokens import TokenMaker
from pipeline.pseudonymise.tables import pseudonymise_table
from pipeline.sources.spec import Column, TableSpec

KEY = bytes(range(32))
EVENTS = TableSpec("event_table", "health", "", columns=(
    Column("event_id", "event_id", privacy=Privacy.RECORD_KEY),  # unique per row, as HES episode keys are
    Column("nhs_number", "nhs_number", privacy=Privacy.NHS_NUMBER),  # repeated across rows and batches
    Column("code", "code", privacy=Privacy.KEEP)))
PEOPLE = TableSpec("people_table", "health", "", columns=(
    Column("nhs_number", "nhs_number", privacy=Privacy.NHS_NUMBER),
    Column("surname", "surname", privacy=Privacy.SURNAME)))
NHS_NUMBERS = ["9434765919", "9434765870", "4010232137", None]  # valid check digits; held as staged text


def hmac_token(domain: str, value: str) -> str:
    """The contract's token, computed independently of TokenMaker."""
    return hmac.new(KEY, b"riskpipe/v1/" + domain.encode() + b"\x00" + value.encode(), hashlib.sha256).hexdigest()[:32]


@pytest.fixture
def project(tmp_path, monkeypatch):
    monkeypatch.setattr(pseudo_stage, "all_tables", lambda: {s.name: s for s in (EVENTS, PEOPLE)})
    staged = tmp_path / "data" / "staged"
    events = pd.DataFrame({"event_id": [f"E{i:03d}" for i in range(40)],
                           "nhs_number": [NHS_NUMBERS[i % 4] for i in range(40)],
                           "code": ["A", "B"] * 20, "_source_file": "events.csv", "_source_row": range(2, 42)})
    write_parquet_parts((events.iloc[i:i + 16] for i in range(0, 40, 16)), staged / "event_table.parquet")
    people = pd.DataFrame({"nhs_number": NHS_NUMBERS, "surname": ["Khan", "O'Brien", None, "Khan"],
                           "_source_file": "people.csv", "_source_row": range(2, 6)})
    write_parquet_parts([people], staged / "people_table.parquet")
    monkeypatch.setattr(pseudo_stage, "BATCH_ROWS", 7)  # 6 batches of events, across its 3 row groups
    return tmp_path


@pytest.mark.parametrize("workers", [1, 2])
def test_tables_in_batches_equal_a_plain_whole_table_computation(project, workers):
    report = pseudo_stage.run_pseudonymise(project_paths(project), KEY, workers=workers)
    assert report["failed"] == {}
    for spec in (EVENTS, PEOPLE):
        staged = read_parquet(project / "data" / "staged" / f"{spec.name}.parquet")
        written = read_parquet(project / "data" / "pseudo" / f"{spec.name}.parquet")
        pd.testing.assert_frame_equal(written, pseudonymise_table(staged, spec, TokenMaker(KEY), None))
    events = read_parquet(project / "data" / "pseudo" / "event_table.parquet")
    assert events["event_id_tok"].tolist() == [hmac_token("event_id", f"E{i:03d}") for i in range(40)]
    expected = [hmac_token("nhs_number", n) if n else None for n in NHS_NUMBERS]
    assert [t if pd.notna(t) else None for t in events["nhs_number_tok"]] == expected * 10
    assert report["tables"]["event_table"]["non_null_tokens"] == {"event_id_tok": 40, "nhs_number_tok": 30}


def test_each_batch_hashes_only_its_own_distinct_values(project, monkeypatch):
    """The work of a batch does not grow with the batches and tables before it (no lookup in all tokens so far)."""
    hashed: list[list[str]] = []
    real_hash = TokenMaker._hash
    monkeypatch.setattr(TokenMaker, "_hash", lambda self, values, domain: hashed.append(list(values))
                        or real_hash(self, values, domain))
    pseudo_stage.run_pseudonymise(project_paths(project), KEY, workers=1)
    event_ids = [h for h in hashed if h and h[0].startswith("E")]
    assert [len(h) for h in event_ids] == [7, 7, 7, 7, 7, 5]  # every key once, batch by batch
    nhs = [h for h in hashed if h and h[0].isdigit()]
    # each batch of events and the people table hash the distinct numbers they hold, again
    assert len(nhs) == 7 and all(sorted(h) == sorted(set(h)) for h in nhs)
