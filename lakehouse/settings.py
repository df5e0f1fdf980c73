"""The one typed settings object: every address, path and tuning knob, read from ``LAKEHOUSE_*`` variables.

Defaults describe the local stack on loopback. Pointing an address at another host (a Kafka cluster, Atlas, a
Cassandra ring, a Spark master) makes that service external: `lakehouse stack up` then starts nothing for it and
only checks that it answers. ``LAKEHOUSE_EXTERNAL_SERVICES`` forces the same for an address on loopback.
"""

from __future__ import annotations

import ipaddress
from functools import cached_property
from pathlib import Path
from typing import Annotated
from urllib.parse import urlsplit

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parents[1]
SERVICE_NAMES = ("postgres", "redis", "kafka", "cassandra", "mongo", "nats")
LOOPBACK_NAMES = {"localhost", "ip6-localhost"}
# The card-token key a fresh clone runs with: fine on loopback, refused by the e-commerce app anywhere else.
DEV_CARD_TOKEN_KEY = "dev-card-token-key"


def is_loopback(host: str) -> bool:
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def host_port(address: str, default_port: int) -> tuple[str, int]:
    """Host and port of ``scheme://user@host:port/...`` or ``host:port`` (the first one of a list)."""
    first = address.split(",")[0].strip()
    parsed = urlsplit(first if "://" in first else f"//{first}")
    return parsed.hostname or "127.0.0.1", parsed.port or default_port


class UnsafeSetting(ValueError):
    """A development default used where it is not safe (off loopback): the command stops and says which."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="LAKEHOUSE_", env_file=PROJECT_ROOT / ".env", extra="ignore", validate_default=True
    )

    # Where the local stack keeps data and logs, and where the lakehouse lives by default (git-ignored).
    home: Path = PROJECT_ROOT / "var"
    # Downloaded and built artifacts shared by every clone on this machine (jars, the FerretDB binary).
    cache_dir: Path = Path.home() / ".cache" / "lakehouse"
    # Reference data kept beside the repository, never in its history (the sentiment model's labelled texts).
    shared_data_dir: Path = PROJECT_ROOT.parent / "shared" / "data"
    # Root of the Delta tables: a local folder by default, an object-store URI (s3a://, abfss://) on a cluster.
    lake_root: str = ""

    postgres_url: str = "postgresql://lakehouse@127.0.0.1:5432/lakehouse"
    redis_url: str = "redis://127.0.0.1:6379/0"
    kafka_bootstrap_servers: str = "127.0.0.1:9092"
    cassandra_contact_points: str = "127.0.0.1:9042"
    cassandra_keyspace: str = "lakehouse"
    mongo_url: str = "mongodb://127.0.0.1:27017/"
    mongo_database: str = "lakehouse"
    nats_url: str = "nats://127.0.0.1:4222"
    external_services: Annotated[frozenset[str], NoDecode] = frozenset()

    # How far back a table can be read or restored: VACUUM keeps every file a version this recent needs. Delta's
    # safety check refuses less than 7 days.
    lake_time_travel_hours: int = Field(default=168, ge=168)

    spark_master: str = "local[*]"
    spark_driver_memory: str = "2g"
    spark_shuffle_partitions: int = Field(default=4, ge=1)
    # Spark compiles Java for the expressions of every new plan (Janino). The lake's runs are many small incremental
    # batches, where compiling costs more than the compiled code saves: off, the main job's Dagster run took 152 s
    # against 176-183 s on (same hour, fresh lake). A backfill of millions of rows gains from it: set it true.
    spark_codegen: bool = False
    # Dagster steps of a run in flight at once, sharing its Spark session (assets/core/executor.py): the kit's small
    # Spark jobs leave a core idle one at a time. 1 runs them in order, as Dagster's in-process executor does.
    dagster_max_concurrent: int = Field(default=2, ge=1)

    mlflow_tracking_uri: str = ""
    # Where people open the MLflow UI (`lakehouse ui mlflow`): links in Dagster metadata point there.
    mlflow_ui_url: str = "http://127.0.0.1:5000"

    # Fraud scoring: where the BentoML service listens, the key clients present, and how long the e-commerce
    # app waits before it accepts an order unscored and marks it for review.
    fraud_service_url: str = "http://127.0.0.1:3001"
    fraud_api_key: str = "dev-fraud-key"
    fraud_timeout_s: float = Field(default=0.5, gt=0)
    # Worker processes of the fraud service: one per core (each worker is one Python process, so one core at most).
    fraud_workers: int = Field(default=2, ge=1)
    # Single-order /score requests arriving while a batch is scored share the next one, up to this many (1: each
    # order alone, as BentoML's one-thread synchronous API did).
    fraud_max_coalesced_orders: int = Field(default=64, ge=1)
    # Online features older than this are stale: the service recomputes them from PostgreSQL.
    online_feature_ttl_s: int = Field(default=24 * 3600, gt=0)

    # Sentiment and moderation: the BentoML service's address, its key, and how long the chat and social apps wait
    # after commit before they accept the content unscored (a job scores the unscored later).
    sentiment_service_url: str = "http://127.0.0.1:3002"
    sentiment_api_key: str = "dev-sentiment-key"
    sentiment_timeout_s: float = Field(default=0.5, gt=0)

    # Moderation rule (serving.sentiment.decision): content is flagged when P(negative) reaches the first bar, or the
    # lower second bar when its author's last day is mostly negative (share over at least a few messages) or already
    # has flagged content. Raise the bars to flag less; moderators' reviews tell whether they are right.
    moderation_flag_negative: float = Field(default=0.9, gt=0, le=1)
    moderation_watch_negative: float = Field(default=0.7, gt=0, le=1)
    moderation_history_min_messages: int = Field(default=3, ge=1)
    moderation_history_negative_share: float = Field(default=0.5, gt=0, le=1)
    moderation_history_flagged: int = Field(default=2, ge=1)

    # Card numbers become keyed tokens at the e-commerce app (`ingest/core/cards.py`). Changing the key changes every
    # token from then on (one card then has two); the app refuses the development key off loopback.
    card_token_key: str = Field(default=DEV_CARD_TOKEN_KEY, min_length=16)

    # Outbox rows the relay sent longer ago than this are deleted by the daily maintenance job (Kafka and bronze hold
    # them; unsent rows are never touched).
    outbox_retention_hours: int = Field(default=168, ge=1)

    # Every domain app and the telemetry gateway refuse a larger request body with 413 before reading it.
    http_max_body_bytes: int = Field(default=4 * 1024 * 1024, ge=1024)

    # API keys of the domain apps (`lakehouse keys`, `ingest/core/api_keys.py`). `dev-<domain>-key` holds every
    # scope while api_dev_keys is on, and an app refuses to listen off loopback then. A key issued without its own
    # rate gets api_rate_per_minute; a verified key is trusted for api_key_cache_s (a revocation takes that long).
    api_dev_keys: bool = True
    api_rate_per_minute: int = Field(default=600, ge=1)
    api_key_cache_s: float = Field(default=5.0, ge=0)

    # IoT: the device registry app, the telemetry gateway devices post readings to (its batch limit), and the
    # BentoML anomaly service with its key. Telemetry bypasses the PostgreSQL outbox: the gateway produces to Kafka.
    iot_app_url: str = "http://127.0.0.1:8004"
    telemetry_gateway_url: str = "http://127.0.0.1:8005"
    telemetry_max_batch: int = Field(default=5000, ge=1)
    anomaly_service_url: str = "http://127.0.0.1:3003"
    anomaly_api_key: str = "dev-anomaly-key"
    anomaly_timeout_s: float = Field(default=1.0, gt=0)

    # Heaps of the local JVM services; together with the rest the stack stays within 5 GiB RSS.
    kafka_heap: str = "512m"
    cassandra_heap: str = "1g"
    service_start_timeout_s: float = Field(default=180.0, gt=0)

    @field_validator("external_services", mode="before")
    @classmethod
    def _split_services(cls, value: object) -> object:
        if isinstance(value, str):
            value = {part.strip() for part in value.split(",") if part.strip()}
        unknown = set(value) - set(SERVICE_NAMES) if isinstance(value, set | frozenset | list) else set()
        if unknown:
            raise ValueError(f"unknown service(s) {sorted(unknown)}; known: {', '.join(SERVICE_NAMES)}")
        return value

    @field_validator("postgres_url", "redis_url", "mongo_url", "nats_url")
    @classmethod
    def _needs_scheme(cls, value: str) -> str:
        if "://" not in value:
            raise ValueError(f"{value!r} is not a URL (expected scheme://host:port/...)")
        return value

    @field_validator("kafka_bootstrap_servers", "cassandra_contact_points")
    @classmethod
    def _needs_hosts(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("at least one host[:port] is required")
        return value

    @cached_property
    def home_dir(self) -> Path:
        return self.home.expanduser().resolve()

    @property
    def lake_uri(self) -> str:
        return self.lake_root or str(self.home_dir / "lake")

    @property
    def mlflow_uri(self) -> str:
        return self.mlflow_tracking_uri or f"sqlite:///{self.home_dir / 'mlflow' / 'mlflow.db'}"

    @property
    def mlflow_artifacts_dir(self) -> Path:
        return self.home_dir / "mlflow" / "artifacts"

    def address(self, service: str) -> tuple[str, int]:
        """The (host, port) a client of ``service`` connects to."""
        addresses = {
            "postgres": (self.postgres_url, 5432),
            "redis": (self.redis_url, 6379),
            "kafka": (self.kafka_bootstrap_servers, 9092),
            "cassandra": (self.cassandra_contact_points, 9042),
            "mongo": (self.mongo_url, 27017),
            "nats": (self.nats_url, 4222),
        }
        value, default_port = addresses[service]
        return host_port(value, default_port)

    def require_card_token_key(self, *hosts: str) -> str:
        """The card-token key, unless it is the development default and any of ``hosts`` is off loopback."""
        exposed = [host for host in hosts if not is_loopback(host)]
        if self.card_token_key == DEV_CARD_TOKEN_KEY and exposed:
            raise UnsafeSetting(
                f"LAKEHOUSE_CARD_TOKEN_KEY is the development key and {exposed[0]} is not loopback: "
                "set a secret of 16 characters or more (and keep it: tokens are only stable under one key)"
            )
        return self.card_token_key

    def is_local(self, service: str) -> bool:
        """True when the project starts and stops this service itself."""
        return service not in self.external_services and is_loopback(self.address(service)[0])


def load_settings(**overrides: object) -> Settings:
    return Settings(**overrides)
