"""A family carer on the learning-disability register has no living arrangement of their own: the register's
carer rows date them, so an index linked as of a day holds the carers recorded by then (and the older-carer
register can be rebuilt as the records stood on the test index date, issue #18)."""

from __future__ import annotations

from datetime import date

import pandas as pd

from pipeline.core.io import write_parquet
from pipeline.core.paths import project_paths
from pipeline.linkage.as_of import existing_keys
from pipeline.linkage.read import read_dated_keys
from pipeline.sources.ld_register import SOURCE


def test_carers_recorded_before_the_day_are_in_the_as_of_index(tmp_path):
    paths = project_paths(tmp_path)
    key = SOURCE.person_key_token
    write_parquet(pd.DataFrame({key: ["T-person"], "recorded_date": pd.to_datetime(["2019-05-01"])}),
                  paths.pseudo_table("ld_arrangement"))
    write_parquet(pd.DataFrame({key: ["T-carer", "T-later-carer"],
                                "recorded_date": pd.to_datetime(["2019-05-20", "2025-06-01"])}),
                  paths.pseudo_table("ld_carer"))
    keys = set(existing_keys(read_dated_keys(paths, SOURCE), key, date(2025, 4, 1)))
    assert keys == {"T-person", "T-carer"}
