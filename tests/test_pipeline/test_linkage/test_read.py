"""The link stage reads one source at a time: the same person records as from all tables at once."""

from __future__ import annotations

import pandas as pd
import pytest

from pipeline.core.io import write_parquet
from pipeline.core.paths import project_paths
from pipeline.linkage.persons import build_person_records, count_records_without_key, person_input_columns
from pipeline.linkage.read import LinkInputError, read_person_records, read_truth


def test_person_records_read_source_by_source_match_the_whole_tables(person_tables, tmp_path):
    tables, _ = person_tables
    # a few social care rows without a key: counted, not linked
    care = tables["csc_person"]
    tables = {**tables, "csc_person": care.assign(la_child_id_tok=care["la_child_id_tok"].where(care.index % 7 > 0))}
    # a column the builders never read is not loaded (and cannot change the records)
    tables["school_pupil"] = tables["school_pupil"].assign(attendance_note="not read")
    assert "attendance_note" not in person_input_columns()
    paths = project_paths(tmp_path)
    for name, table in tables.items():
        write_parquet(table, paths.pseudo_table(name))

    persons, without_key = read_person_records(paths)

    pd.testing.assert_frame_equal(persons, build_person_records(tables))
    assert without_key == count_records_without_key(tables)
    assert without_key["csc_person"] == (care.index % 7 == 0).sum() > 0
    assert list(persons["source"].unique()) == ["school", "social_care", "health", "nccis"]


def test_no_person_table_is_a_clear_error(tmp_path):
    with pytest.raises(LinkInputError, match="school_pupil.*run pseudonymise"):
        read_person_records(project_paths(tmp_path))


def test_no_truth_file_means_no_truth_and_no_key_needed(tmp_path):
    assert read_truth(project_paths(tmp_path), tmp_path / "no.key") is None
