"""The one place a SparkSession is made: Delta enabled, jars from the local cache, small-machine defaults.

Tests, assets and notebooks all call :func:`spark_session`, so what a test sees is what production runs.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlparse

import pyspark
from pyspark.sql import SparkSession

from lakehouse import jvm
from lakehouse.settings import Settings

LOG4J_CONFIG = Path(__file__).with_name("log4j2.properties")
_VERSIONED_JAR = re.compile(r"^(?P<artifact>.+?)-\d[\w.\-]*\.jar$")

# New tables use only the base Delta protocol (reader 1 / writer 2), which every Delta reader opens:
# Databricks, delta-rs, DuckDB, Trino. Features such as deletion vectors stay opt-in per table.
DELTA_TABLE_DEFAULTS = {
    "spark.databricks.delta.properties.defaults.minReaderVersion": "1",
    "spark.databricks.delta.properties.defaults.minWriterVersion": "2",
    "spark.databricks.delta.properties.defaults.enableDeletionVectors": "false",
}


# Without Hadoop's native library (not on PyPI or Maven Central) every file Hadoop creates on a local disk costs a
# `chmod` process, its default checksummed file system doubles them with a `.crc` side file per file, and a streaming
# checkpoint's FileContext rename adds a `readlink` process: 6,500 processes forked by the driver in one main-job
# run, ~3 ms of CPU each. The raw local file system writes no side files (nothing reads them: Delta, delta-rs and
# DuckDB keep their own checks), and a lake on a local disk gets the checkpoint manager that renames with the
# file system (atomic on a local disk). Other schemes (s3a, abfss, gs) are untouched.
RAW_LOCAL_FILES = {"spark.hadoop.fs.file.impl": "org.apache.hadoop.fs.RawLocalFileSystem"}
LOCAL_CHECKPOINTS = {
    "spark.sql.streaming.checkpointFileManagerClass": (
        "org.apache.spark.sql.execution.streaming.checkpointing.FileSystemBasedCheckpointFileManager"
    )
}


# No generated code (settings.spark_codegen): expressions are interpreted, as Spark's own tests run every one of them
# too. The factory mode is the switch the expression code generators read; whole-stage codegen has its own. Both are
# runtime settings, so a large batch can turn generated code back on for itself (:func:`generated_code`).
INTERPRETED = {"spark.sql.codegen.wholeStage": "false", "spark.sql.codegen.factoryMode": "NO_CODEGEN"}
GENERATED = {"spark.sql.codegen.wholeStage": "true", "spark.sql.codegen.factoryMode": "FALLBACK"}


@contextmanager
def generated_code(session: SparkSession) -> Iterator[None]:
    """Spark's generated code for the queries ``session`` runs inside, then its settings as they were. Meant for a
    session of one's own (a streaming batch's): on a shared one the other threads' queries get it too, which changes
    their speed, not their answers."""
    before = {key: session.conf.get(key, None) for key in GENERATED}
    for key, value in GENERATED.items():
        session.conf.set(key, value)
    try:
        yield
    finally:
        for key, value in before.items():
            if value is None:
                session.conf.unset(key)
            else:
                session.conf.set(key, value)


def lake_is_local(settings: Settings) -> bool:
    return urlparse(settings.lake_uri).scheme in ("", "file")


def _artifact(jar: Path) -> str:
    match = _VERSIONED_JAR.match(jar.name)
    return match.group("artifact") if match else jar.stem


def extra_jars(settings: Settings) -> list[Path]:
    """Delta and the Kafka source, minus artifacts pyspark already ships (its own versions must win)."""
    bundled = {_artifact(jar) for jar in (Path(pyspark.__file__).parent / "jars").glob("*.jar")}
    return [jar for jar in jvm.jars(settings.cache_dir, "spark") if _artifact(jar) not in bundled]


def spark_session(
    settings: Settings, app_name: str = "lakehouse", extra_conf: dict[str, str] | None = None
) -> SparkSession:
    """Get or create the session for ``settings.spark_master`` (``local[*]`` unless pointed at a cluster)."""
    warehouse = settings.home_dir / "spark-warehouse"
    conf = {
        "spark.jars": ",".join(str(jar) for jar in extra_jars(settings)),
        "spark.sql.extensions": "io.delta.sql.DeltaSparkSessionExtension",
        "spark.sql.catalog.spark_catalog": "org.apache.spark.sql.delta.catalog.DeltaCatalog",
        "spark.driver.memory": settings.spark_driver_memory,
        "spark.sql.shuffle.partitions": str(settings.spark_shuffle_partitions),
        "spark.default.parallelism": str(settings.spark_shuffle_partitions),
        "spark.sql.warehouse.dir": str(warehouse),
        "spark.driver.extraJavaOptions": (
            f"-Dderby.system.home={settings.home_dir / 'derby'} -Dlog4j2.configurationFile={LOG4J_CONFIG.as_uri()}"
        ),
        "spark.sql.session.timeZone": "UTC",
        # Parquet's own microsecond timestamps, not legacy INT96: delta-rs, DuckDB and Arrow read INT96 as
        # nanoseconds, where a valid year-1 or year-9999 timestamp (a client may send one) overflows.
        "spark.sql.parquet.outputTimestampType": "TIMESTAMP_MICROS",
        "spark.ui.showConsoleProgress": "false",
        # Wide Kafka/bronze plans otherwise log a truncation warning on every query.
        "spark.sql.debug.maxToStringFields": "200",
        # A few-row local job does not need 200 files per write.
        "spark.databricks.delta.snapshotPartitions": "2",
        **DELTA_TABLE_DEFAULTS,
        **RAW_LOCAL_FILES,
        **({} if settings.spark_codegen else INTERPRETED),
        **(LOCAL_CHECKPOINTS if lake_is_local(settings) else {}),
        # A local driver stays on loopback rather than whatever interface the hostname resolves to.
        **(
            {"spark.driver.host": "127.0.0.1", "spark.driver.bindAddress": "127.0.0.1"}
            if settings.spark_master.startswith("local")
            else {}
        ),
        **(extra_conf or {}),
    }
    if settings.spark_master.startswith("local"):
        # Read by the JVM at launch: keeps the driver on loopback instead of the hostname's interface.
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    builder = SparkSession.builder.master(settings.spark_master).appName(app_name)
    for key, value in conf.items():
        builder = builder.config(key, value)
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel("WARN")
    return session
