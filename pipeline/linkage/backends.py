"""Where Splink runs: the one place that builds its database API from the ``link`` params.

``link.backend: duckdb`` (the default) runs in-process with DuckDB's thread and memory limits: a county on one
machine. ``link.backend: spark`` runs on a Spark session (pipeline/linkage/spark_session.py): national scale,
on a cluster or, for tests and benchmarks, ``local[N]``. ``riskpipe link`` (and ``--as-of``), ``link-pair``
and the clustering into people all take their API from :func:`make_database_api`, with the same settings
JSON on either backend (pipeline/linkage/model.py).

What keeps the two backends' results the same:

* Sampling. Splink samples records for u (``estimate_u_using_random_sampling``, with the seed) and blocked
  pairs for EM (``max_pairs``) by a hash of each record's id; DuckDB's ``hash()`` (64-bit) and Spark's
  (Murmur3, 32-bit) pick different records, so u and m would differ by sampling error. Here both dialects
  hash with the first 60 bits of the id's MD5 (:data:`PORTABLE_HASH_SQL`), so a seed samples the same
  records on either.
* Inputs. Frames reach Spark through Arrow with every token column a string and nulls kept as nulls
  (:func:`register_frame`), as DuckDB reads them; they are then written as parquet to the work directory and
  read back, so no query plan carries their rows.
* Term frequencies are counted over the same registered records on either, so they agree by themselves.

What may still differ is floating-point summation order (EM sums over partitions on Spark): parameters
agree to about 1e-12, which moves a pair across a threshold only if it sits on it.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pandas as pd
from splink.internals.dialects import DuckDBDialect, SparkDialect

from pipeline.core.config import LinkParams
from pipeline.linkage.spark_session import LinkageBackendError, SparkSettings, spark_session

BACKENDS = ("duckdb", "spark")


@dataclass(frozen=True)
class LinkageEngine:
    """Where Splink runs: the backend, DuckDB's thread and memory limits, and the Spark session's settings.

    DuckDB takes 80% of the machine's memory and every core unless told otherwise; a county-sized
    prediction then grows until the OOM killer stops it, where with a limit DuckDB spills to disk.
    """

    backend: str = "duckdb"
    threads: int | None = None
    memory_limit: str | None = None
    spark: SparkSettings = field(default_factory=SparkSettings)

    def duckdb_config(self) -> dict[str, Any]:
        """DuckDB connection settings (insertion order is not needed, and keeping it costs memory)."""
        config: dict[str, Any] = {"preserve_insertion_order": False}
        if self.threads is not None:
            config["threads"] = self.threads
        if self.memory_limit is not None:
            config["memory_limit"] = self.memory_limit
        return config


def engine_from_params(params: LinkParams) -> LinkageEngine:
    """The engine ``params`` (the ``link`` section) describe."""
    spark = params.spark
    return LinkageEngine(
        params.backend,
        params.duckdb_threads,
        params.duckdb_memory_limit,
        SparkSettings(spark.master, spark.shuffle_partitions, spark.driver_memory, spark.work_dir, spark.log_level),
    )


def with_work_dir_under(params: LinkParams, root: Path) -> LinkParams:
    """``params`` with a relative ``spark.work_dir`` made absolute under the project ``root``.

    The commands take ``--root``; without this a relative work directory would land wherever the
    command was started from.
    """
    work_dir = params.spark.work_dir
    if "://" in work_dir or ":" in work_dir.split("/")[0] or Path(work_dir).is_absolute():
        return params
    spark = params.spark.model_copy(update={"work_dir": str(Path(root).resolve() / work_dir)})
    return params.model_copy(update={"spark": spark})


def spark_engine(engine: LinkageEngine, **settings: Any) -> LinkageEngine:
    """``engine`` on Spark, with ``settings`` (``SparkSettings`` fields) changed."""
    return replace(engine, backend="spark", spark=replace(engine.spark, **settings))


# 60 bits of MD5 as a BIGINT, written for each dialect: the same number for the same string on either.
PORTABLE_HASH_SQL = {
    "duckdb": "CAST(('0x' || substr(md5({expr}), 1, 15)) AS BIGINT)",
    "spark": "CAST(conv(substr(md5({expr}), 1, 15), 16, 10) AS BIGINT)",
}


class _PortableHashDuckDB(DuckDBDialect):
    """DuckDB's dialect with the sampling hash Spark computes too."""

    def hash_function_expression(self, col_expression: str) -> str:
        return PORTABLE_HASH_SQL["duckdb"].format(expr=col_expression)

    def hash_bucket_expression(self, col_expression: str, modulus: int) -> str:
        if modulus <= 0:
            raise ValueError("modulus must be positive")
        return f"({self.hash_function_expression(col_expression)} % {modulus})"  # the hash is never negative


class _PortableHashSpark(SparkDialect):
    """Spark's dialect with the sampling hash DuckDB computes too."""

    def hash_function_expression(self, col_expression: str) -> str:
        return PORTABLE_HASH_SQL["spark"].format(expr=col_expression)

    def hash_bucket_expression(self, col_expression: str, modulus: int) -> str:
        if modulus <= 0:
            raise ValueError("modulus must be positive")
        return f"({self.hash_function_expression(col_expression)} % {modulus})"


def _use_portable_hash() -> None:
    """Make Splink's DuckDB and Spark dialects hash portably wherever Splink makes one.

    The database API's dialect is not the only one: blocking rules build theirs from the dialect's name
    (``SplinkDialect.from_string``), and EM's pair sampling and chunking hash through that one. Splink keeps
    one instance per dialect class and hands it out on every construction, so the portable instances are
    put in its place.
    """
    from splink.internals.dialects import SplinkDialect

    SplinkDialect._dialect_instances[DuckDBDialect] = _PortableHashDuckDB()
    SplinkDialect._dialect_instances[SparkDialect] = _PortableHashSpark()


def make_database_api(engine: LinkageEngine | None = None) -> Any:
    """A Splink database API for ``engine.backend`` (``duckdb`` or ``spark``), sampling portably.

    Raises:
        LinkageBackendError: unknown backend; for ``spark``, pyspark or Java missing, or Spark did not start.
    """
    engine = engine or LinkageEngine()
    _use_portable_hash()
    if engine.backend == "duckdb":
        import duckdb
        from splink import DuckDBAPI

        db_api = DuckDBAPI(duckdb.connect(config=engine.duckdb_config()))
        db_api.sql_dialect = _PortableHashDuckDB()
        return db_api
    if engine.backend == "spark":
        session = spark_session(engine.spark)
        from splink.backends.spark import SparkAPI

        # parquet: Splink writes each large intermediate table to the checkpoint directory and reads
        # it back, so a long lineage of SQL steps is never recomputed (Splink's default off Databricks)
        db_api = SparkAPI(spark_session=session, break_lineage_method="parquet")
        db_api.sql_dialect = _PortableHashSpark()
        # the session (and its table names) outlives this API: one prefix per API keeps its tables apart
        db_api.riskpipe_table_prefix = f"__riskpipe_{uuid.uuid4().hex[:8]}_"
        return db_api
    raise LinkageBackendError(f"unknown link.backend {engine.backend!r}; expected one of {BACKENDS}")


def register_frame(db_api: Any, frame: pd.DataFrame, name: str) -> Any:
    """Register ``frame`` with ``db_api`` as ``name``; returns Splink's handle on the table.

    On Spark the frame goes through Arrow, its text columns as plain strings and nulls kept, rather than
    through pyspark's pandas conversion (row by row without Arrow, and not written for pandas 3). Its
    table is ``name`` behind the API's prefix: one prefix for all of an API's tables keeps their names'
    order, which decides the left and right sides of a two-table link.
    """
    if not hasattr(db_api, "spark"):
        return db_api.register(frame, dataset_display_name=name)
    import pyarrow as pa

    table = pa.Table.from_pandas(frame, preserve_index=False)
    schema = pa.schema(
        [f.with_type(pa.string()) if pa.types.is_large_string(f.type) or pa.types.is_string(f.type) else f
         for f in table.schema]
    ).remove_metadata()
    table_name = db_api.riskpipe_table_prefix + name
    return db_api.register(
        _as_parquet(db_api.spark, db_api.spark.createDataFrame(table.cast(schema)), table_name),
        dataset_display_name=name,
        table_name=table_name,
    )


def _as_parquet(spark: Any, frame: Any, table_name: str) -> Any:
    """``frame`` written as parquet to the session's checkpoint directory and read back from there.

    A frame made from driver memory is a local relation: its rows travel inside every query plan that reads
    it, once per scan. Splink's blocking reads its inputs twice for each of a dozen rules, so at 20,000
    records a prediction spent most of its time shipping those rows (117 s, against 46 s from parquet, on
    local[2]), and the copies fill the driver's heap as records grow. From parquet each scan is a file read,
    split over the cores.
    """
    location = f"{spark.sparkContext.getCheckpointDir().rstrip('/')}/{table_name}"
    partitions = max(int(spark.conf.get("spark.sql.shuffle.partitions")) // 2, 1)
    frame.repartition(partitions).write.mode("overwrite").parquet(location)
    return spark.read.parquet(location)


def release_database_api(db_api: Any) -> None:
    """Close a DuckDB API's connection, returning its memory now; a Spark session is shared and stays up
    (stopped at exit, pipeline/linkage/spark_session.py)."""
    connection = getattr(db_api, "duckdb_con", None)
    if connection is not None:
        connection.close()
