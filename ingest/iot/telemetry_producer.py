"""The producer of ``iot.telemetry``: one message per accepted batch, keyed by device, idempotent and batched.

Telemetry bypasses the PostgreSQL outbox (too voluminous): the gateway sends each batch straight to Kafka and
answers only once the broker acknowledged it. Idempotence (with acks from all in-sync replicas) keeps a producer
retry from writing a message twice; a client retry of the same batch repeats its batch and reading ids, which
downstream deduplicates on. Throughput comes from batching in the producer (``linger_ms``, ``batch_size``), never
from flushing per request: a caller waits on its own message's future only.
"""

from __future__ import annotations

from kafka import KafkaProducer
from kafka.producer.future import FutureRecordMetadata

from ingest.iot.contract import TELEMETRY_TOPIC, TelemetryBatchV1
from ingest.iot.telemetry_io import encode_model
from lakehouse.settings import Settings

# A 1,000-reading chunk is ~120 kB of JSON: batches of 512 kB hold a few of them per partition request.
BATCH_BYTES = 512 * 1024
MAX_REQUEST_BYTES = 4 * 1024 * 1024
# Each request waits for its ack, so lingering adds straight to its latency (and devices post one batch at a time):
# 5 ms cost a third of the throughput of 100-reading batches (bench/telemetry_ingest.py). Concurrent requests still
# share producer requests: whatever queues while one is in flight goes in the next.
LINGER_MS = 1


def open_telemetry_producer(settings: Settings, client_id: str = "iot-telemetry-gateway") -> KafkaProducer:
    """An idempotent producer (acks=all) that waits up to 1 ms to fill a batch; the caller closes it."""
    return KafkaProducer(
        bootstrap_servers=settings.kafka_bootstrap_servers,
        client_id=client_id,
        acks="all",
        enable_idempotence=True,
        linger_ms=LINGER_MS,
        batch_size=BATCH_BYTES,
        max_request_size=MAX_REQUEST_BYTES,
    )


def send_encoded(
    producer: KafkaProducer, device_id: str, value: bytes, topic: str = TELEMETRY_TOPIC
) -> FutureRecordMetadata:
    """Queue one encoded batch; the future resolves when the broker acknowledged it (or fails)."""
    return producer.send(topic, key=device_id.encode(), value=value)


def produce_batch(
    producer: KafkaProducer, batch: TelemetryBatchV1, topic: str = TELEMETRY_TOPIC, timeout_s: float = 30.0
) -> None:
    """Send ``batch`` and return once Kafka acknowledged it; raises the producer's error otherwise."""
    send_encoded(producer, batch.device_id, encode_model(batch), topic).get(timeout=timeout_s)
