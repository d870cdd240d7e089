"""Adult social care extracts: written from true lives, read back by ingest, reconciled, and made safe.

The hand-made lives of ``cld_lives`` go through ``adult_social_care_extracts`` into a temporary
project's ``data/raw``; ingest reads them back (every row accounted for), the CLD reading of
``pipeline.sources.cld_events`` recovers the true events from the stacked quarterly submissions, the
carer links give back the true carer pairs, and after pseudonymise scan-pii finds nothing.
"""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pipeline.core import io
from pipeline.core.config import IngestParams, IngestSource
from pipeline.core.paths import ProjectPaths
from pipeline.core.synth_params import SynthParams
from pipeline.ingest.stage import run_ingest
from pipeline.privacy.scan_pii import scan_paths
from pipeline.pseudonymise.stage import run_pseudonymise
from pipeline.sources import cld_codes as cld
from pipeline.sources.cld_events import carer_edges, cld_events
from pipeline.sources.registry import all_sources
from pipeline.synthetic.export_adult_social_care import adult_social_care_extracts

sys.path.insert(0, str(Path(__file__).parent))
from cld_lives import small_lives  # noqa: E402

SOURCE = "adult_social_care"
EXTRACT = date(2026, 3, 31)
KEY = b"cld-export-test-key-32-bytes-long!!"


def _write(root: Path, lives) -> dict:
    """Write the extracts under ``root/data/raw``; returns the truth frames by name."""
    truth = {}
    for kind, rel, obj in adult_social_care_extracts(np.random.default_rng(11), SynthParams(), lives):
        if kind == "csv":
            frame, encoding = obj
            io.write_csv(frame, root / "data" / "raw" / rel, encoding=encoding)
        else:
            truth[rel] = obj
    return truth


def _only_adult_social_care() -> IngestParams:
    others = {name: IngestSource(tables=[]) for name in all_sources() if name != SOURCE}
    return IngestParams(extract_date=EXTRACT, sources=others)


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    """A temporary project holding the extracts, ingested."""
    root = tmp_path_factory.mktemp("asc")
    lives = small_lives()
    truth = _write(root, lives)
    paths = ProjectPaths(root)
    summary = run_ingest(_only_adult_social_care(), paths)
    return {"root": root, "paths": paths, "lives": lives, "truth": truth, "summary": summary}


def _table(project, name: str) -> pd.DataFrame:
    return pd.read_parquet(project["paths"].staged_table(name))


def test_every_row_written_is_read_back_and_reconciled(project):
    raw = project["root"] / "data" / "raw" / SOURCE
    cld_files = sorted((raw / "cld").glob("CLD_*.csv"))
    assert [f.name for f in cld_files][:2] == ["CLD_2023_Q1.csv", "CLD_2023_Q2.csv"] and len(cld_files) == 12
    written = sum(len(pd.read_csv(f, dtype=str)) for f in cld_files)
    tables = project["summary"]["tables"]
    assert tables["cld_event"]["rows_read"] == written
    persons = pd.read_csv(raw / "asc_persons.csv", dtype=str, encoding="cp1252")
    assert tables["asc_person"]["rows_read"] == len(persons)
    for name in ("asc_person", "cld_event", "cld_carer_link"):
        rep = tables[name]
        assert rep["status"] == "ok"
        assert rep["rows_read"] == rep["rows_accepted"] + rep["rows_quarantined"]
    # a Release 1 file names no linked person: no link rows, and no "header only" warning for that
    assert not [w for w in project["summary"]["warnings"] if "header only" in w]
    # a clean export: nothing quarantined, no code outside the lists once Release 1 labels are mapped
    assert tables["cld_event"]["rows_quarantined"] == 0
    staged = _table(project, "cld_event")
    assert set(staged["service_type"].dropna()) <= cld.SERVICE_TYPE
    assert set(staged["event_outcome"].dropna()) <= cld.EVENT_OUTCOME
    assert set(staged["primary_support_reason"].dropna()) <= cld.PRIMARY_SUPPORT_REASON
    assert not staged["_flags"].fillna("").str.contains("unknown_code").any()


def test_release_1_before_2024_25_and_release_2_after(project):
    cld_dir = project["root"] / "data" / "raw" / SOURCE / "cld"
    r1 = pd.read_csv(cld_dir / "CLD_2023_Q4.csv", dtype=str)
    r2 = pd.read_csv(cld_dir / "CLD_2024_Q1.csv", dtype=str)
    assert "Adult_1_Linked_Person_ID" not in r1.columns and "Adult_1_Linked_Person_ID" in r2.columns
    assert set(r1["Service_Type"].dropna()) <= set(cld.SERVICE_TYPE_R1_TO_R2)
    assert set(r2["Service_Type"].dropna()) <= cld.SERVICE_TYPE
    assert r2["Der_Birth_Year"].notna().all() and "Date_of_Birth" not in r2.columns


def _expected_events(lives) -> pd.DataFrame:
    """The true events a CLD submission from April 2023 to the extract date reports (independent of riskpipe)."""
    ev = lives.asc_events
    done = ev["end"].fillna(ev["start"])
    first = pd.Timestamp("2023-04-01")
    service = ev["event_type"].eq("Service")
    reported = np.where(service, ev["end"].isna() | (ev["end"] >= first), done >= first)
    return ev[reported & (ev["start"] <= pd.Timestamp(EXTRACT))]


def test_the_cld_reading_recovers_the_true_events_from_stacked_submissions(project):
    staged = _table(project, "cld_event")
    keys = project["truth"]["adult_social_care_keys"].set_index("record_key")["person_id"]
    events = cld_events(staged)
    events["person_id"] = events["la_person_id"].map(keys)
    events = events[events["client_type"].ne("Carer known by association")]
    truth = _expected_events(project["lives"])
    # the quirks were there: rows outnumber events, resubmissions changed outcomes, references are unreliable
    assert len(staged) > len(events)
    assert (events["versions"] > 1).any()
    got = events.set_index(["person_id", "event_type", "event_start"]).sort_index()
    want = truth.set_index(["person_id", "event_type", "start"]).sort_index()
    assert len(got) == len(want) and got.index.equals(want.index)
    non_service = want.index.get_level_values("event_type") != "Service"
    outcomes = want["outcome"].replace(cld.EVENT_OUTCOME_R1_TO_R2).where(lambda s: s.ne(""))
    assert (got.loc[non_service, "event_outcome"].to_numpy() == outcomes[non_service].to_numpy()).all()
    # an ended service whose end was recorded ends on its true date; an unrecorded end is inferred later
    services = ~non_service & want["end"].notna().to_numpy() & (want["end"] <= pd.Timestamp("2025-12-31")).to_numpy()
    ends, true_ends = got.loc[services, "event_end"], want.loc[services, "end"]
    inferred = got.loc[services, "end_inferred"].to_numpy()
    assert (ends[~inferred] == true_ends[~inferred]).all()
    assert inferred.any() and (ends[inferred] >= true_ends[inferred]).all()
    assert ((ends[inferred] - true_ends[inferred]) <= pd.Timedelta(days=92)).all()


def test_references_and_nhs_numbers_are_as_unreliable_as_planted(project):
    staged = _table(project, "cld_event")
    read = cld_events(staged)
    per_event = staged.merge(read[["la_person_id", "event_start", "event_type", "event_id"]],
                             on=["la_person_id", "event_start", "event_type"])
    assert (per_event.groupby("event_id")["event_reference"].nunique() > 1).any()
    assert staged["nhs_number"].isna().any() and staged["nhs_number"].notna().mean() > 0.7
    assert read["person_key"].str.startswith("la:").any() and read["person_key"].str.startswith("nhs:").any()


def test_carer_links_give_back_the_true_carer_pairs(project):
    staged, links = _table(project, "cld_event"), _table(project, "cld_carer_link")
    keys = project["truth"]["adult_social_care_keys"].set_index("record_key")["person_id"]
    edges = carer_edges(staged, links)
    got = set(zip(edges["carer_id"].map(keys), edges["cared_for_id"].map(keys), strict=True))
    caring = project["lives"].caring
    true_pairs = set(zip(caring["carer_id"], caring["cared_for_id"], strict=True))
    carers = project["lives"].asc_events.query("client_type == 'Carer'")
    linked = set(zip(carers["person_id"], carers["linked_person_id"], strict=True))
    assert linked <= got <= true_pairs
    assert (edges["client_type"] == "Carer known by association").any()


def test_scan_pii_finds_nothing_after_pseudonymise(project):
    paths = project["paths"]
    summary = run_pseudonymise(paths, KEY, workers=1)
    assert not summary["failed"]
    pseudo = {n: pd.read_parquet(paths.pseudo / f"{n}.parquet") for n in ("asc_person", "cld_event", "cld_carer_link")}
    assert scan_paths([paths.pseudo]) == []
    assert not any(c.startswith("adult_") for c in pseudo["cld_event"].columns)
    # a linked person's token is a person key token: the cared-for person is found in the person table
    linked = set(pseudo["cld_carer_link"]["la_person_id_tok"])
    assert linked and linked <= set(pseudo["asc_person"]["la_person_id_tok"])
    edges = carer_edges(pseudo["cld_event"], pseudo["cld_carer_link"])
    assert len(edges) == len(carer_edges(_table(project, "cld_event"), _table(project, "cld_carer_link")))


def test_bad_rows_are_quarantined_with_file_row_and_column(tmp_path):
    lives = small_lives(n=20)
    _write(tmp_path, lives)
    path = tmp_path / "data" / "raw" / SOURCE / "cld" / "CLD_2024_Q2.csv"
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    frame.loc[0, "LA_Person_Unique_Identifier"] = ""
    frame.loc[1, "Event_End_Date"] = "2000-01-01"
    frame.loc[2, "Event_Start_Date"] = "31/02/2024"
    io.write_csv(frame, path)
    summary = run_ingest(_only_adult_social_care(), ProjectPaths(tmp_path))
    rep = summary["tables"]["cld_event"]
    assert rep["rows_read"] == rep["rows_accepted"] + rep["rows_quarantined"]
    assert rep["rows_quarantined"] == 3
    quarantined = pd.read_csv(ProjectPaths(tmp_path).quarantine_table("cld_event"), dtype=str)
    rows = quarantined.set_index("_source_row")
    assert set(rows["_source_file"]) == {"cld/CLD_2024_Q2.csv"}
    assert "la_person_id" in rows.loc["2", "reasons"]
    assert "event_end" in rows.loc["3", "reasons"] or "event_start" in rows.loc["3", "reasons"]
    assert "event_start" in rows.loc["4", "reasons"]
