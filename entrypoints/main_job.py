"""The README's main job: every domain end to end on local defaults, with progress and a summary at the end.

stack up → storage bootstrap → the sentiment and anomaly models trained (Dagster, MLflow, champion gate) and served →
generated e-commerce orders, chat conversations and social posts through the domains' use cases (PostgreSQL +
outbox, MongoDB, Cassandra) → a simulated IoT fleet and a real NAB series through the telemetry gateway (Kafka),
written to Cassandra and scored live (alerts, maintenance tickets) → relay to Kafka (and NATS), the moderation
backlog decided by the sentiment service, notifications consumed → Dagster materialises every other asset (bronze →
silver → gold, checks, telemetry stream, fraud features, model, online features) → counts per layer and quarantine
reasons read back from Delta → the fraud service started with the champion → a few orders placed through the app and
a few chat messages moderated live, with the decisions taken, the held orders told in the customers' support chats
(e-commerce → NATS → chat) and the device alerts in their owners' chats (IoT → NATS → chat).
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from importlib import import_module

from entrypoints.community_demo import (
    ModeratedMessage,
    SupportNotice,
    generate_community,
    moderate_backlog,
    moderate_live_messages,
    support_notices,
)
from entrypoints.fraud_demo import DemoOrder, place_demo_orders
from entrypoints.instances import dagster_environment
from entrypoints.iot_demo import DeviceNotice, IotReport, device_notices, run_iot
from entrypoints.materialize import materialize_command
from entrypoints.model_reuse import REUSABLE, registered_champions
from entrypoints.phases import PhaseClock
from entrypoints.step_times import slowest_steps
from ingest.core.relay import relay_pass
from ingest.domains import DOMAINS, consume_notifications, relay_sources, storage_declarations
from ingest.ecommerce.fraud_patterns import FraudConfig
from ingest.ecommerce.generator import generate
from ingest.ecommerce.population import PopulationConfig
from ingest.ecommerce.traffic import TrafficConfig, TrafficSummary
from ingest.ecommerce.traffic_cli import app_sink
from lakehouse.settings import PROJECT_ROOT, Settings
from pipelines.core.domain import DomainLakehouse
from pipelines.core.inventory import TableCount, count_tables, quarantine_reasons
from pipelines.core.tables import domain_lake
from stack.bootstrap import apply_all
from stack.manager import Stack

Progress = Callable[[str], None]
SENTIMENT_GROUP, ANOMALY_GROUP = "sentiment", "anomaly"  # trained (and served) before the traffic that needs them
MAINTENANCE_GROUP = "maintenance"  # OPTIMIZE and VACUUM: a daily job of their own, not part of a run


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
    community: list[str] = field(default_factory=list)
    moderated: dict[str, int] = field(default_factory=dict)
    sentiment_version: str | None = None
    sentiment_service_url: str | None = None
    live_messages: list[ModeratedMessage] = field(default_factory=list)
    notices: list[SupportNotice] = field(default_factory=list)
    iot: IotReport | None = None
    device_notices: list[DeviceNotice] = field(default_factory=list)
    anomaly_version: str | None = None
    anomaly_service_url: str | None = None

    def rows(self, layer: str, table: str) -> int | None:
        return next((count.rows for count in self.tables if (count.layer, count.table) == (layer, table)), None)


def materialize_assets(settings: Settings, progress: Progress, selection: str, log_name: str) -> None:
    """Run the selected assets as one Dagster run in the project's instance (`lakehouse materialize`), so it shows in
    the Dagster UI like any other."""
    log_file = settings.home_dir / "logs" / f"main-job-{log_name}.log"
    log_file.parent.mkdir(parents=True, exist_ok=True)
    # `lakehouse materialize`, not `dagster asset materialize`: that refuses daily gold without a day range.
    command = materialize_command(selection)
    progress(f"running: lakehouse materialize '{selection}' (log: {log_file})")
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
    steps = slowest_steps(log_file.read_text())
    if steps:
        progress(steps)


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
    settings: Settings,
    *,
    orders: int = 1000,
    messages: int = 600,
    posts: int = 200,
    devices: int = 12,
    days: int = 3,
    seed: int = 42,
    progress: Progress = print,
    now: datetime | None = None,
    retrain: bool = False,
) -> MainJobReport:
    """``now`` ends the simulated windows: e-commerce and telemetry (default: the start of this hour, so re-runs
    within it replay the same orders and readings), chat and social (default: today 00:00 UTC). The sentiment and
    anomaly champions of an earlier run are served again unless ``retrain`` (`entrypoints/model_reuse.py`)."""
    started = time.monotonic()
    config = traffic_config(orders, seed, now)
    indent = lambda line: progress(f"      {line}")  # noqa: E731
    phases = PhaseClock(progress)
    phases.start("[1/11] local stack")
    Stack(settings).up(progress=indent)
    phases.start(
        "[2/11] storage bootstrap (PostgreSQL schemas and tables, Cassandra, MongoDB, Kafka topics, NATS streams)"
    )
    apply_all(settings, storage_declarations(), progress=indent)
    phases.start(
        "[3/11] sentiment and anomaly models: Dagster trains them (MLflow, champion gate), BentoML serves them"
    )
    champions = {} if retrain else registered_champions(settings)
    if len(champions) == len(REUSABLE):
        found = ", ".join(f"{name} v{version}" for name, version in champions.items())
        indent(f"reusing the champions an earlier run registered ({found}); `lakehouse run --retrain` trains again")
    else:
        materialize_assets(settings, indent, f"group:{SENTIMENT_GROUP} or group:{ANOMALY_GROUP}", "models")
    (sentiment_version, sentiment_url), (anomaly_version, anomaly_url) = serve_sentiment_and_anomaly(settings, indent)
    phases.start(f"[4/11] generating {orders} e-commerce orders through the app (PostgreSQL + outbox, MongoDB catalog)")
    with app_sink(settings, actor="main-job") as sink:
        traffic = generate(config, sink, indent)
    indent(traffic.describe())
    phases.start(f"[5/11] generating {messages} chat messages and {posts} social posts from real labelled sentences")
    community = generate_community(settings, messages=messages, posts=posts, seed=seed, progress=indent, now=now)
    for line in community:
        indent(line)
    phases.start(f"[6/11] IoT: {devices} simulated devices and a real NAB series through the telemetry gateway")
    iot = run_iot(settings, devices=devices, days=days, seed=seed, end=config.window_end(), progress=indent)
    for line in iot.lines():
        indent(line)
    phases.start(
        "[7/11] outbox relay → Kafka and NATS, moderation of the queued content, notifications between domains"
    )
    published = relay_all(settings)
    moderated = moderate_backlog(settings, indent)
    published += settle(settings)
    indent(f"published {published} events; moderated {', '.join(f'{n} {d}' for d, n in moderated.items())}")
    phases.start(
        "[8/11] materialising the other Dagster assets: bronze → silver (checks) → gold, telemetry, fraud model"
    )
    others = f"not group:{SENTIMENT_GROUP} and not group:{ANOMALY_GROUP} and not group:{MAINTENANCE_GROUP}"
    materialize_assets(settings, indent, others, "dagster")
    phases.start("[9/11] reading the lake back")
    tables, quarantine = read_lake_back(settings)
    phases.start("[10/11] fraud service (BentoML) with the champion of the MLflow registry; a few new orders")
    champion, url = serve_champion(settings, indent)
    demos = place_demo_orders(settings, config)
    phases.start("[11/11] chat messages moderated live; held orders and device alerts told in chat (NATS)")
    live = moderate_live_messages(settings)
    notices = support_notices(settings, sorted({demo.customer_id for demo in demos if demo.decision != "approve"}))
    devices_told = device_notices(settings, iot.replay_device)
    settle(settings)  # what the demos set moving (flag notices, trust changes) reaches Kafka now, not next run
    phases.finish()
    progress("seconds per step:")
    for line in phases.summary():
        indent(line)
    return MainJobReport(
        traffic,
        published,
        tables,
        quarantine,
        champion,
        url,
        demos,
        time.monotonic() - started,
        community,
        moderated,
        sentiment_version,
        sentiment_url,
        live,
        notices,
        iot,
        devices_told,
        anomaly_version,
        anomaly_url,
    )


def relay_all(settings: Settings) -> int:
    return sum(relay_pass(settings, relay_sources(domain)) for domain in DOMAINS)


def settle(settings: Settings, rounds: int = 4) -> int:
    """Relay and consume notifications until nothing moves: a notification's handler may emit events that notify
    another domain (a flag in chat → a trust change in social). Returns the events published."""
    published = 0
    for _ in range(rounds):
        handled = sum(consume_notifications(settings, domain).handled for domain in DOMAINS)
        moved = relay_all(settings)
        published += moved
        if handled == 0 and moved == 0:
            break
    return published


def read_lake_back(settings: Settings) -> tuple[list[TableCount], list[tuple[str, int]]]:
    """Rows per table and quarantine reasons of every registered domain, in registration order."""
    tables: list[TableCount] = []
    quarantine: list[tuple[str, int]] = []
    for domain in DOMAINS:
        lakehouse: DomainLakehouse = import_module(f"pipelines.{domain}.lakehouse").LAKEHOUSE
        lake = domain_lake(settings, domain)
        tables += count_tables(lakehouse, lake)
        quarantine += quarantine_reasons(lake)
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
    server = start_detached_server(settings, served_model("fraud"), champion=champion.version)
    progress(f"serving {champion.name} v{champion.version} at {server.url} ({_readiness(server)})")
    return champion.version, server.url


def _readiness(server) -> str:  # noqa: ANN001 - serving.server is imported lazily (BentoML's httpx)
    return "already running, kept" if server.reused else f"ready in {server.started_in_s:.0f}s"


def serve_sentiment_and_anomaly(settings: Settings, progress: Progress) -> tuple[tuple[str, str], tuple[str, str]]:
    """Start the sentiment service (the chat and social apps call it) and the anomaly service (``POST /score`` for a
    device) with the champions the models step registered, side by side; ``((version, url), (version, url))``."""
    from models.anomaly.registry import load_champion_params
    from models.sentiment.scorer import load_champion
    from serving.registry import served_model
    from serving.server import start_detached_servers

    sentiment = load_champion(settings)  # a clear error when training registered nothing
    anomaly = load_champion_params(settings)
    wanted = [
        (served_model("sentiment"), str(sentiment.model_version)),
        (served_model("anomaly"), str(anomaly.model_version)),
    ]
    sentiment_server, anomaly_server = start_detached_servers(settings, wanted)
    progress(
        f"serving {sentiment.model_name} v{sentiment.model_version} at {sentiment_server.url} "
        f"({_readiness(sentiment_server)})"
    )
    progress(
        f"serving the anomaly detector v{anomaly.model_version} at {anomaly_server.url} ({_readiness(anomaly_server)})"
    )
    return (sentiment.model_version, sentiment_server.url), (anomaly.model_version, anomaly_server.url)
