"""The README's main job: the whole flow on local defaults, with progress and a summary at the end.

stack up → storage bootstrap → generated e-commerce traffic through the app (PostgreSQL + outbox, MongoDB,
Cassandra) → relay to Kafka → Dagster materialises every asset (bronze → silver → gold, checks) → counts per
layer and quarantine reasons, read back from Delta.
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

from ingest.ecommerce.fraud_patterns import FraudConfig
from ingest.ecommerce.generator import generate
from ingest.ecommerce.population import PopulationConfig
from ingest.ecommerce.relay import relay_pass
from ingest.ecommerce.traffic import TrafficConfig, TrafficSummary
from ingest.ecommerce.traffic_cli import app_sink
from lakehouse import lake
from lakehouse.bootstrap import apply_all
from lakehouse.instances import dagster_command, dagster_environment
from lakehouse.settings import PROJECT_ROOT, Settings
from lakehouse.spark import spark_session
from pipelines.ecommerce.inventory import TableCount, count_tables, quarantine_reasons
from pipelines.ecommerce.tables import EcommerceLake
from stack.manager import Stack

Progress = Callable[[str], None]


class MainJobError(RuntimeError):
    pass


@dataclass(frozen=True)
class MainJobReport:
    traffic: TrafficSummary
    events_published: int
    tables: list[TableCount]
    quarantine: list[tuple[str, int]]
    seconds: float

    def rows(self, layer: str, table: str) -> int | None:
        return next((count.rows for count in self.tables if (count.layer, count.table) == (layer, table)), None)


def materialize_all_assets(settings: Settings, progress: Progress) -> None:
    """Run every asset through Dagster's own CLI, so the run shows in the Dagster UI like any other."""
    log_file = settings.home_dir / "logs" / "main-job-dagster.log"
    log_file.parent.mkdir(parents=True, exist_ok=True)
    command = dagster_command("asset", "materialize", "--select", "*")
    progress(f"running: dagster {' '.join(command[1:])} (log: {log_file})")
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


def traffic_config(orders: int, seed: int) -> TrafficConfig:
    # A small world so the first run is quick; `lakehouse generate ecommerce` makes bigger ones.
    return TrafficConfig(
        seed=seed,
        count=orders,
        days=30,
        fraud=FraudConfig(rate=0.02),
        population=PopulationConfig(customers=max(50, orders // 10), merchants=40),
        progress_every=max(1, orders // 5),
    )


def run_main_job(
    settings: Settings, *, orders: int = 1000, seed: int = 42, progress: Progress = print
) -> MainJobReport:
    started = time.monotonic()
    indent = lambda line: progress(f"      {line}")  # noqa: E731
    progress("[1/6] local stack")
    Stack(settings).up(progress=indent)
    progress("[2/6] storage bootstrap (PostgreSQL schemas and tables, Cassandra, MongoDB, Kafka topics)")
    apply_all(settings, progress=indent)
    progress(f"[3/6] generating {orders} e-commerce orders through the app (PostgreSQL + outbox, MongoDB catalog)")
    with app_sink(settings, actor="main-job") as sink:
        traffic = generate(traffic_config(orders, seed), sink, indent)
    indent(traffic.describe())
    progress("[4/6] outbox relay → Kafka (and the Cassandra orders_by_customer view)")
    published = relay_pass(settings)
    indent(f"published {published} events")
    progress("[5/6] materialising all Dagster assets: bronze → silver (checks) → gold")
    materialize_all_assets(settings, indent)
    progress("[6/6] reading the lake back")
    spark = spark_session(settings, app_name="lakehouse-main-job")
    ecommerce = EcommerceLake(partial(lake.table_path, settings), partial(lake.checkpoint_path, settings))
    return MainJobReport(
        traffic,
        published,
        count_tables(spark, ecommerce),
        quarantine_reasons(spark, ecommerce),
        time.monotonic() - started,
    )
