"""The README's main job: the whole flow on local defaults, with progress and a summary at the end.

stack up → storage bootstrap → generated e-commerce traffic through the app (PostgreSQL + outbox, MongoDB,
Cassandra) → relay to Kafka → Dagster materialises every asset (bronze → silver → gold, checks, fraud features, model,
online features) → counts per layer and quarantine reasons read back from Delta → the fraud service started with
the champion → a few orders placed through the app, with the fraud decisions it stored.
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from importlib import import_module

from pyspark.sql import SparkSession

from entrypoints.fraud_demo import DemoOrder, place_demo_orders
from entrypoints.instances import dagster_command, dagster_environment
from ingest.core.relay import relay_pass
from ingest.domains import DOMAINS, relay_sources, storage_declarations
from ingest.ecommerce.fraud_patterns import FraudConfig
from ingest.ecommerce.generator import generate
from ingest.ecommerce.population import PopulationConfig
from ingest.ecommerce.traffic import TrafficConfig, TrafficSummary
from ingest.ecommerce.traffic_cli import app_sink
from lakehouse.settings import PROJECT_ROOT, Settings
from lakehouse.spark import spark_session
from pipelines.core.domain import DomainLakehouse
from pipelines.core.inventory import TableCount, count_tables, quarantine_reasons
from pipelines.core.tables import domain_lake
from stack.bootstrap import apply_all
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
    champion_version: str | None
    fraud_service_url: str | None
    demo_orders: list[DemoOrder]
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


def traffic_config(orders: int, seed: int, now: datetime | None = None) -> TrafficConfig:
    # A small world so the first run is quick (`lakehouse generate ecommerce` makes bigger ones); 60 days at 5%
    # fraud, so that enough chargebacks have arrived by the end for a time-split model to learn from.
    return TrafficConfig(
        seed=seed,
        count=orders,
        days=60,
        fraud=FraudConfig(rate=0.05),
        population=PopulationConfig(customers=max(50, orders // 10), merchants=40),
        progress_every=max(1, orders // 5),
        now=now,
    )


def run_main_job(
    settings: Settings, *, orders: int = 1000, seed: int = 42, progress: Progress = print, now: datetime | None = None
) -> MainJobReport:
    """``now`` ends the simulated window (default: the start of this hour, so re-runs within it replay)."""
    started = time.monotonic()
    config = traffic_config(orders, seed, now)
    indent = lambda line: progress(f"      {line}")  # noqa: E731
    progress("[1/8] local stack")
    Stack(settings).up(progress=indent)
    progress("[2/8] storage bootstrap (PostgreSQL schemas and tables, Cassandra, MongoDB, Kafka topics)")
    apply_all(settings, storage_declarations(), progress=indent)
    progress(f"[3/8] generating {orders} e-commerce orders through the app (PostgreSQL + outbox, MongoDB catalog)")
    with app_sink(settings, actor="main-job") as sink:
        traffic = generate(config, sink, indent)
    indent(traffic.describe())
    progress("[4/8] outbox relay → Kafka (and the Cassandra orders_by_customer view)")
    published = sum(relay_pass(settings, relay_sources(domain)) for domain in DOMAINS)
    indent(f"published {published} events")
    progress("[5/8] materialising all Dagster assets: bronze → silver (checks) → gold → fraud features and model")
    materialize_all_assets(settings, indent)
    progress("[6/8] reading the lake back")
    tables, quarantine = read_lake_back(spark_session(settings, app_name="lakehouse-main-job"), settings)
    progress("[7/8] fraud service (BentoML) with the champion of the MLflow registry")
    champion, url = serve_champion(settings, indent)
    progress("[8/8] placing a few new orders through the e-commerce app, which asks the fraud service")
    demos = place_demo_orders(settings, config)
    return MainJobReport(traffic, published, tables, quarantine, champion, url, demos, time.monotonic() - started)


def read_lake_back(spark: SparkSession, settings: Settings) -> tuple[list[TableCount], list[tuple[str, int]]]:
    """Rows per table and quarantine reasons of every registered domain, in registration order."""
    tables: list[TableCount] = []
    quarantine: list[tuple[str, int]] = []
    for domain in DOMAINS:
        lakehouse: DomainLakehouse = import_module(f"pipelines.{domain}.lakehouse").LAKEHOUSE
        lake = domain_lake(settings, domain)
        tables += count_tables(spark, lakehouse, lake)
        quarantine += quarantine_reasons(spark, lake)
    return tables, quarantine


def serve_champion(settings: Settings, progress: Progress) -> tuple[str | None, str | None]:
    """Start the fraud service when a champion exists; without one, orders are accepted unscored for review."""
    from lakehouse.mlflow_store import configure_mlflow
    from models.fraud.registry import current_champion
    from serving.registry import served_model
    from serving.server import start_detached_server

    configure_mlflow(settings)
    champion = current_champion()
    if champion is None:
        progress("no champion model yet (too few chargebacks to train on): orders will be accepted for review")
        return None, None
    server = start_detached_server(settings, served_model("fraud"))
    progress(f"serving {champion.name} v{champion.version} at {server.url} (ready in {server.started_in_s:.0f}s)")
    return champion.version, server.url
