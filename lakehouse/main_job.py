"""The README's main job: the whole flow on local defaults, with progress and a summary at the end.

Until the domain slices land this is the smoke flow: stack up → storage bootstrap → events to Kafka →
Dagster materialises the assets (Spark reads the topic into Delta) → read back and count.
"""

from __future__ import annotations

import os
import subprocess
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from pyspark.sql import functions as F

from ingest.smoke import SMOKE_TOPIC, publish, smoke_events
from lakehouse import lake
from lakehouse.bootstrap import apply_all
from lakehouse.instances import dagster_command, dagster_environment
from lakehouse.settings import PROJECT_ROOT, Settings
from lakehouse.spark import spark_session
from stack.manager import Stack

Progress = Callable[[str], None]


class MainJobError(RuntimeError):
    pass


@dataclass(frozen=True)
class MainJobReport:
    run_id: str
    published: int
    landed_this_run: int
    bronze_rows: int
    seconds: float


def materialize_all_assets(settings: Settings, progress: Progress) -> None:
    """Run every asset through Dagster's own CLI, so the run shows in the Dagster UI like any other."""
    log_file = settings.home_dir / "logs" / "main-job-dagster.log"
    log_file.parent.mkdir(parents=True, exist_ok=True)
    command = dagster_command("asset", "materialize", "--select", "*")
    progress(f"running: {' '.join(command[1:])} (log: {log_file})")
    with log_file.open("w") as log:
        result = subprocess.run(
            command,
            cwd=PROJECT_ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, **dagster_environment(settings)},
        )
    if result.returncode != 0:
        tail = "\n".join(log_file.read_text().splitlines()[-40:])
        raise MainJobError(f"Dagster materialisation failed (exit {result.returncode}); log tail:\n{tail}")


def run_main_job(settings: Settings, *, events: int = 1000, progress: Progress = print) -> MainJobReport:
    started = time.monotonic()
    run_id = uuid.uuid4().hex[:8]
    progress("[1/5] local stack")
    Stack(settings).up(progress=lambda line: progress(f"      {line}"))
    progress("[2/5] storage bootstrap (PostgreSQL schemas, Cassandra keyspace, MongoDB, Kafka topics)")
    apply_all(settings, progress=lambda line: progress(f"      {line}"))
    progress(f"[3/5] publishing {events} events to Kafka topic {SMOKE_TOPIC} (run {run_id})")
    published = publish(settings.kafka_bootstrap_servers, SMOKE_TOPIC, smoke_events(events, run_id))
    progress("[4/5] materialising all Dagster assets (Spark: Kafka → Delta bronze)")
    materialize_all_assets(settings, progress=lambda line: progress(f"      {line}"))
    progress("[5/5] reading the Delta table back")
    spark = spark_session(settings, app_name="lakehouse-main-job")
    bronze = spark.read.format("delta").load(lake.table_path(settings, "bronze", "smoke_events"))
    landed = bronze.filter(F.get_json_object("value", "$.payload.run_id") == run_id).count()
    report = MainJobReport(run_id, published, landed, bronze.count(), time.monotonic() - started)
    if landed != published:
        raise MainJobError(f"published {published} events but {landed} reached bronze for run {run_id}")
    return report
