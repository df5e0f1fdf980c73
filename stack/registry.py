"""The local servers, in start order: Cassandra (slowest JVM) first, light servers beside it, then Kafka."""

from __future__ import annotations

from lakehouse.settings import Settings
from stack.service import LocalService
from stack.services.cassandra import CassandraService
from stack.services.ferretdb import FerretDBService
from stack.services.kafka import KafkaService
from stack.services.nats import NatsService
from stack.services.postgres import PostgresService
from stack.services.redis import RedisService

SERVICE_CLASSES: tuple[type[LocalService], ...] = (
    CassandraService,
    PostgresService,
    RedisService,
    NatsService,
    FerretDBService,
    KafkaService,
)


def all_services(settings: Settings) -> list[LocalService]:
    return [service_class(settings) for service_class in SERVICE_CLASSES]
