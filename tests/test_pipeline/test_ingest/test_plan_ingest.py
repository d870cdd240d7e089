"""``plan_ingest``: the params' ``ingest.sources`` sections are checked against each source's own tables."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.core.config import IngestParams, IngestSource
from pipeline.ingest.files import plan_ingest
from pipeline.sources.errors import IngestError


def test_a_files_entry_for_another_sources_table_is_refused(tmp_path: Path):
    cfg = IngestParams(sources={"school": IngestSource(files={"lsoa_imd": "imd.csv"})})
    with pytest.raises(IngestError, match=r"ingest\.sources\.school names unknown table\(s\): lsoa_imd"):
        plan_ingest(cfg, tmp_path)


def test_a_files_entry_for_its_own_table_replaces_the_glob(tmp_path: Path):
    cfg = IngestParams(sources={"reference": IngestSource(files={"lsoa_imd": "imd_*.csv"})})
    plans = {p.spec.name: p for p in plan_ingest(cfg, tmp_path)}
    assert plans["lsoa_imd"].pattern == "imd_*.csv"
    assert plans["postcode_lsoa"].pattern == "postcode_lsoa.csv"
    assert plans["lsoa_imd"].raw_dir == tmp_path / "data/raw/reference"
