"""The Spark backend run for real (``local[2]``): the same records linked on DuckDB and on Spark give the same people.

One Spark session serves the module (started by the first link, stopped by the fixture). The county is small
but its u estimation samples (``u_max_pairs`` below the county's pairs) and so does EM (``em_max_pairs``
below the blocked pairs), so the sampling hash both backends share (pipeline/linkage/backends.py) is
exercised: without it the two would train on different records and could differ by sampling error.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from pipeline.core.config import LinkParams, SparkParams
from pipeline.linkage.backends import (
    PORTABLE_HASH_SQL,
    LinkageEngine,
    engine_from_params,
    make_database_api,
    register_frame,
    with_work_dir_under,
)
from pipeline.linkage.pair import link_pair
from pipeline.linkage.spark_session import spark_session, stop_spark_session
from pipeline.linkage.stage import link_person_records

REPO = Path(__file__).resolve().parents[3]
JAVA = shutil.which("java") is not None or bool(os.environ.get("JAVA_HOME"))
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not JAVA and not os.environ.get("CI"), reason="no Java runtime (CI installs one: .ci/run)"),
]


@pytest.fixture(scope="module")
def spark_params(tmp_path_factory):
    """Link params on Spark ``local[2]`` with a work directory of the test's own; the session stops after."""
    pytest.importorskip("pyspark")
    work = tmp_path_factory.mktemp("spark_work")
    params = LinkParams(
        backend="spark", u_max_pairs=2e4, em_max_pairs=3e3, review_sample_size=10,
        spark=SparkParams(master="local[2]", shuffle_partitions=2, driver_memory="1g", work_dir=str(work)),
    )
    yield params
    stop_spark_session()
    assert not any((work / "checkpoints").iterdir()), "the session's checkpoints were left behind"


@pytest.fixture(scope="module")
def linked(person_tables, spark_params):
    """The link stage on DuckDB and on Spark: 300 noisy people, about 800 records in four sources (conftest.py)."""
    tables, truth = person_tables
    on_duckdb = link_person_records(tables, spark_params.model_copy(update={"backend": "duckdb"}), truth)
    on_spark = link_person_records(tables, spark_params, truth)
    return on_duckdb, on_spark


def _sorted_index(result) -> pd.DataFrame:
    return result.person_index.sort_values(["table", "record_key_tok"]).reset_index(drop=True)


def test_the_sample_is_large_enough_to_sample(person_tables):
    records = sum(len(t) for t in person_tables[0].values())
    assert records * (records - 1) / 2 > 2e4  # so u is estimated on a sample, not on every pair


def test_spark_and_duckdb_give_the_same_people(linked):
    on_duckdb, on_spark = linked
    pd.testing.assert_frame_equal(
        _sorted_index(on_spark)[["table", "record_key_tok", "person_id", "match_route"]],
        _sorted_index(on_duckdb)[["table", "record_key_tok", "person_id", "match_route"]],
    )
    assert on_spark.report["truth"] == on_duckdb.report["truth"]
    assert on_spark.report["scored_pairs"] == on_duckdb.report["scored_pairs"]


def test_spark_and_duckdb_train_the_same_model(linked):
    on_duckdb, on_spark = linked
    assert on_spark.report["training_notes"] == on_duckdb.report["training_notes"]
    duck, spark = on_duckdb.model, on_spark.model
    assert spark["probability_two_random_records_match"] == pytest.approx(
        duck["probability_two_random_records_match"], rel=1e-9
    )
    for c_duck, c_spark in zip(duck["comparisons"], spark["comparisons"], strict=True):
        for l_duck, l_spark in zip(c_duck["comparison_levels"], c_spark["comparison_levels"], strict=True):
            for key in ("m_probability", "u_probability"):
                assert (key in l_spark) == (key in l_duck)
                if key in l_duck:  # summation order differs (partitions), nothing else
                    assert l_spark[key] == pytest.approx(l_duck[key], rel=1e-9, abs=1e-12), (
                        c_duck["output_column_name"], l_duck.get("label_for_charts"), key)
    # the saved model is backend-independent: no dialect stamped in it
    assert "sql_dialect" not in json.dumps(spark)


def test_the_review_sample_and_pair_scores_agree(linked):
    on_duckdb, on_spark = linked
    keys = ["source_l", "record_key_tok_l", "source_r", "record_key_tok_r"]
    duck = on_duckdb.scored_pairs.sort_values(keys).reset_index(drop=True)
    spark = on_spark.scored_pairs.sort_values(keys).reset_index(drop=True)
    pd.testing.assert_frame_equal(spark[keys], duck[keys])
    assert (spark["match_probability"] - duck["match_probability"]).abs().max() < 1e-9
    review_duck, review_spark = (r.review.sort_values(keys).reset_index(drop=True) for r in (on_duckdb, on_spark))
    assert len(review_duck) > 0
    pd.testing.assert_frame_equal(review_spark[keys], review_duck[keys])  # the seeded draw picks the same pairs


def test_sampling_hash_is_the_same_number_on_both_backends(spark_params):
    ids = ["school-__-0f3a", "health-__-x", "nccis-__-\u00e9t\u00e9", "social_care-__-42_20260331"]
    values = ", ".join(f"('{i}')" for i in ids)
    duck = duckdb.sql(
        f"SELECT {PORTABLE_HASH_SQL['duckdb'].format(expr='id')} AS h FROM (VALUES {values}) t(id)"
    ).fetchall()
    session = spark_session(engine_from_params(spark_params).spark)
    spark = session.sql(
        f"SELECT {PORTABLE_HASH_SQL['spark'].format(expr='id')} AS h FROM VALUES {values} AS t(id)"
    ).collect()
    assert [row[0] for row in duck] == [row["h"] for row in spark]
    assert all(0 <= row[0] < 2**60 for row in duck)


def test_link_pair_runs_on_spark_as_on_duckdb(spark_params, test_key, noisy_people, noisy_record_copy):
    people = noisy_people(80, seed=31)
    left, right = noisy_record_copy(people, 32), noisy_record_copy(people.sample(frac=0.7, random_state=3), 33)
    mapping = {f: f for f in ("forename", "surname", "dob", "sex", "postcode")}
    kwargs = {"id_left": "record_id", "id_right": "record_id", "mapping": mapping, "key": test_key, "seed": 7}
    left, right = (t.assign(record_id=[f"r{i}" for i in range(len(t))]) for t in (left, right))
    on_duckdb = link_pair(left, right, backend=LinkageEngine("duckdb"), **kwargs)
    on_spark = link_pair(left, right, backend=engine_from_params(spark_params), **kwargs)
    assert len(on_duckdb) > 0
    pd.testing.assert_frame_equal(on_spark[["left_id", "right_id"]], on_duckdb[["left_id", "right_id"]])
    assert (on_spark["match_probability"] - on_duckdb["match_probability"]).abs().max() < 1e-9
    assert on_spark.attrs["threshold"] == pytest.approx(on_duckdb.attrs["threshold"], rel=1e-9)


def test_frames_reach_spark_as_parquet_not_as_rows_in_the_plan(spark_params):
    """A frame left as a local relation travels inside every plan that scans it (Splink's blocking scans its
    inputs twice a rule): slow, and it filled the driver's heap as records grew."""
    db_api = make_database_api(engine_from_params(spark_params))
    frame = pd.DataFrame({"unique_id": ["a", "b", None], "dob_tok": ["x", None, "y"]}, dtype="string")
    table = register_frame(db_api, frame, "records")
    spark_frame = db_api.spark.table(table.physical_name)
    plan = spark_frame._jdf.queryExecution().executedPlan().toString()
    assert "LocalTableScan" not in plan and "parquet" in plan.lower()
    assert {tuple(row) for row in spark_frame.collect()} == {("a", "x"), ("b", None), (None, "y")}
    assert "-XX:+ExitOnOutOfMemoryError" in db_api.spark.conf.get("spark.driver.extraJavaOptions")


def test_work_dir_is_taken_under_the_project_root(tmp_path):
    params = LinkParams(backend="spark")
    assert with_work_dir_under(params, tmp_path).spark.work_dir == str(tmp_path.resolve() / "data" / ".spark")
    shared = LinkParams(spark=SparkParams(work_dir="s3a://bucket/riskpipe"))
    assert with_work_dir_under(shared, tmp_path).spark.work_dir == "s3a://bucket/riskpipe"


def _spark_in_a_process(env: dict[str, str], prelude: str = "") -> subprocess.CompletedProcess:
    code = (
        f"{prelude}\nfrom pipeline.linkage.backends import LinkageEngine, make_database_api\n"
        "make_database_api(LinkageEngine('spark'))"
    )
    return subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True,
                          check=False, timeout=120)


def test_a_clear_error_without_java(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "JAVA_HOME"}
    env["PATH"] = str(Path(sys.executable).parent)  # python, and no java
    done = _spark_in_a_process(env)
    assert done.returncode != 0
    assert "LinkageBackendError" in done.stderr and "no Java runtime was found" in done.stderr


def test_a_clear_error_without_pyspark():
    done = _spark_in_a_process(dict(os.environ), prelude="import sys; sys.modules['pyspark'] = None")
    assert done.returncode != 0
    assert "pip install 'riskpipe[spark]'" in done.stderr
