"""The link command reads one source at a time: the same person records as from all tables at once."""

from __future__ import annotations

import pandas as pd

from pipeline.cli.linkage import read_person_records
from pipeline.core.io import write_parquet
from pipeline.core.paths import project_paths
from pipeline.linkage.persons import build_person_records, count_records_without_key


def test_person_records_read_source_by_source_match_the_whole_tables(person_tables, tmp_path):
    tables, _ = person_tables
    # a few social care rows without a key: counted, not linked
    care = tables["csc_person"]
    tables = {**tables, "csc_person": care.assign(la_child_id_tok=care["la_child_id_tok"].where(care.index % 7 > 0))}
    paths = project_paths(tmp_path)
    for name, table in tables.items():
        write_parquet(table, paths.pseudo_table(name))

    persons, without_key = read_person_records(paths)

    pd.testing.assert_frame_equal(persons, build_person_records(tables))
    assert without_key == count_records_without_key(tables)
    assert without_key["csc_person"] > 0
