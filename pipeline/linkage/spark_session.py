"""The Spark session Splink runs on when ``link.backend`` is ``spark``: started once, reused, stopped at exit.

A session riskpipe starts itself (``riskpipe link`` on a workstation, or on a cluster's driver) gets the
``link.spark`` settings: master, driver memory, shuffle partitions, a work directory for checkpoints and
spill, Splink's similarity-function jar (riskpipe's own comparisons do not need it; a council's added
comparison might) and a quiet log. Where a session already exists (a notebook on a managed service such as
Databricks) it is used as it is, with only the runtime settings applied (shuffle partitions, checkpoint
directory, log level), and it is never stopped here: it is not ours.

pyspark is optional (``pip install riskpipe[spark]``) and imported only here, only when asked for.
"""

from __future__ import annotations

import atexit
import logging
import os
import shutil
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)


class LinkageBackendError(RuntimeError):
    """The configured linkage backend cannot be used (unknown, its library or Java missing, or it did not start)."""


@dataclass(frozen=True)
class SparkSettings:
    """How riskpipe's Spark session is set up (``link.spark`` in params.yaml).

    Attributes:
        master: e.g. ``local[2]``; None: what spark-submit or the service gives, else Spark's ``local[*]``.
        shuffle_partitions: ``spark.sql.shuffle.partitions`` (Spark's 200 is far too many on a few cores).
        driver_memory: ``spark.driver.memory`` of a session started here (None: Spark's default).
        work_dir: checkpoints (Splink writes each large intermediate table there as parquet) and, in
            local mode, shuffle spill; a local path or, on a cluster, a shared URI.
        log_level: Spark's own log level once started.
    """

    master: str | None = None
    shuffle_partitions: int = 8
    driver_memory: str | None = "2g"
    work_dir: str = "data/.spark"
    log_level: str = "ERROR"


_state: dict[str, Any] = {"session": None, "checkpoints": None, "exit_hook": False}


def spark_session(settings: SparkSettings) -> Any:
    """The Spark session to run Splink on: the one already running, else one started with ``settings``.

    Raises:
        LinkageBackendError: pyspark is not installed, no Java runtime is found, or Spark did not start.
    """
    SparkSession = _import_spark_session()
    session = SparkSession.getActiveSession()
    if session is None:
        session = _start(SparkSession, settings)
    session.conf.set("spark.sql.shuffle.partitions", str(settings.shuffle_partitions))
    if session.sparkContext.getCheckpointDir() is None:
        session.sparkContext.setCheckpointDir(_join(settings.work_dir, "checkpoints"))
    session.sparkContext.setLogLevel(settings.log_level)
    return session


def stop_spark_session() -> None:
    """Stop the session started here, if any, and remove its checkpoints (local work directories only).

    A session found already running (a managed service's) is left alone.
    """
    session = _state["session"]
    if session is None:
        return
    _state["session"] = None
    try:
        checkpoints = session.sparkContext.getCheckpointDir()
        session.stop()
    except Exception as exc:  # the JVM already gone (killed, out of memory): nothing left to stop
        log.warning("Spark session could not be stopped cleanly (%s: %s)", type(exc).__name__, exc)
        return
    local = _local_path(checkpoints) if checkpoints else None
    if local is not None:
        shutil.rmtree(local, ignore_errors=True)


def _import_spark_session() -> Any:
    # pyspark warns on import and every conversion that it does not yet fully support pandas 3; what riskpipe
    # moves through it (string tokens, ids, probabilities) is checked against DuckDB by the Spark tests
    warnings.filterwarnings("ignore", message="PySpark does not yet fully support pandas", category=FutureWarning)
    try:
        from pyspark.sql import SparkSession
    except ImportError as exc:
        raise LinkageBackendError(
            "link.backend is 'spark' but pyspark is not installed: pip install 'riskpipe[spark]' "
            "(and a Java 17+ runtime), or set link.backend: duckdb"
        ) from exc
    return SparkSession


def _start(spark_session_class: Any, settings: SparkSettings) -> Any:
    if not _java_found():
        raise LinkageBackendError(
            "link.backend is 'spark' but no Java runtime was found (no `java` on PATH and JAVA_HOME unset): "
            "install Java 17+ (e.g. apt-get install openjdk-17-jre-headless), or set link.backend: duckdb"
        )
    from splink.backends.spark import similarity_jar_location

    builder = spark_session_class.builder.appName("riskpipe-link")
    if settings.master:
        builder = builder.master(settings.master)
    conf = {
        "spark.sql.shuffle.partitions": str(settings.shuffle_partitions),
        "spark.jars": similarity_jar_location(),
        "spark.sql.execution.arrow.pyspark.enabled": "true",  # pandas <-> Spark through Arrow, not row by row
        "spark.sql.session.timeZone": "UTC",
        "spark.ui.enabled": "false",  # no web UI port to collide with another session on the machine
        "spark.ui.showConsoleProgress": "false",
    }
    if settings.driver_memory:
        conf["spark.driver.memory"] = settings.driver_memory
    # a driver out of heap stops at once, saying so on stderr, rather than limping on until py4j loses it
    # ("Connection refused", with the cause never printed)
    conf["spark.driver.extraJavaOptions"] = "-XX:+ExitOnOutOfMemoryError"
    local_dir = _local_path(settings.work_dir)
    if local_dir is not None:
        conf["spark.local.dir"] = str(local_dir / "local")
        (local_dir / "local").mkdir(parents=True, exist_ok=True)
    for key, value in conf.items():
        builder = builder.config(key, value)
    try:
        session = builder.getOrCreate()
    except Exception as exc:  # py4j and pyspark raise several kinds when the JVM does not come up
        raise LinkageBackendError(f"Spark did not start ({type(exc).__name__}: {exc})") from exc
    _state["session"] = session
    if not _state["exit_hook"]:
        atexit.register(stop_spark_session)
        _state["exit_hook"] = True
    log.info("Spark %s session started (master %s)", session.version, session.sparkContext.master)
    return session


def _java_found() -> bool:
    java_home = os.environ.get("JAVA_HOME")
    if java_home and (Path(java_home) / "bin" / "java").exists():
        return True
    return shutil.which("java") is not None


def _local_path(location: str) -> Path | None:
    """``location`` as a local path (plain path or ``file:`` URI); None for a cluster URI (hdfs://, s3a://…)."""
    if location.startswith("file:"):
        return Path(location.removeprefix("file:").removeprefix("//"))
    if "://" in location or location.startswith("dbfs:"):
        return None
    return Path(location).resolve()


def _join(location: str, name: str) -> str:
    local = _local_path(location)
    return str(local / name) if local is not None else f"{location.rstrip('/')}/{name}"
