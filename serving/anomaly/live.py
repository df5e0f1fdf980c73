"""The live anomaly scorer: consumes ``iot.telemetry``, scores every reading causally with its device's state, and
produces the scores to ``iot.anomaly_scores`` and each alert to the device's maintenance ticket.

One poll is one unit: parse (malformed messages go to ``iot.telemetry.dlq`` with the reason and
``dead_lettered_by: iot-anomaly-scorer``), group the readings by (device, sensor) keeping their order, score each
with ``detector.score`` and the champion's settings for the device's model, produce one ``ScoresBatchV1`` per
group, record the alerts with ``record_alert`` in one PostgreSQL transaction, wait for Kafka's acknowledgements,
save the states to Redis, and only then commit the offsets. A reading not newer than its state's last one is
skipped (counted): a retried batch, a replay or a redelivery after a crash before the commit scores nothing twice,
so at-least-once delivery plus idempotent effects (alert ids derive from reading ids) gives exactly-once effects.

The states live in memory between polls (this scorer owns its partitions' devices) and are reloaded from Redis
when partitions move, so a restarted or rebalanced scorer continues with scores identical to an uninterrupted run.
The champion's settings are loaded once, at start (restart the scorer to pick up a new champion), and each device's
model and cadence once, when the scorer first sees the device.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

import psycopg
from kafka import ConsumerRebalanceListener, KafkaConsumer, KafkaProducer
from kafka.consumer.fetcher import ConsumerRecord
from kafka.errors import CommitFailedError
from redis import Redis

from features.anomaly.state_store import load_states, save_states
from ingest.core.envelope import EventEnvelope
from ingest.core.kafka_batch import assign_whole_topic, caught_up
from ingest.core.unit_of_work import set_actor
from ingest.iot.alerts import AlertInput, record_alert
from ingest.iot.contract import (
    DOMAIN,
    SCORES_BATCH,
    SCORES_TOPIC,
    TELEMETRY_TOPIC,
    ReadingScoreV1,
    ReadingV1,
    ScoresBatchV1,
)
from ingest.iot.registry import device_model_of
from ingest.iot.telemetry_io import parse_telemetry_message
from lakehouse.settings import Settings
from models.anomaly.detector import DetectorParams, reading_epoch_seconds, score
from models.anomaly.registry import ChampionParams
from models.anomaly.state import DeviceState
from serving.anomaly.device_settings import model_sampling_seconds
from stack.bootstrap.kafka_topics import dlq_name

log = logging.getLogger(__name__)
GROUP = "iot-anomaly-scorer"
ACTOR = "iot-anomaly-scorer"
# Batches per poll. An alert waits for its whole poll to be scored (~0.3 ms a reading with its share of the poll's
# Kafka, PostgreSQL and Redis work): live devices send small batches, so a poll is a few hundred readings and far
# under a second; a replay's 1,000-reading chunks make it ~20,000 readings, seconds, but those alerts are history.
MAX_POLL_RECORDS = 20
# A long-running member with no partition asks for the topic's metadata this often: one that joined before the
# topic existed (auto-created by the first send) otherwise only sees it at kafka-python's 5-minute refresh.
METADATA_NUDGE_S = 5.0
POLL_TIMEOUT_MS = 100  # small: an alert waits at most this long for its poll to close (latency goal p95 < 2 s)
SCORES_PER_MESSAGE = 1000  # ~150 kB of JSON: a replay's poll of one device stays far under Kafka's 1 MB request
SCORES_NAMESPACE = uuid.UUID("0f7c1a52-3d4b-4a8e-9b61-6f2e8a9d4c37")  # fixed: scores event ids must not change

Key = tuple[str, str]  # (device_id, sensor)


@dataclass(frozen=True)
class LiveTopics:
    source: str = TELEMETRY_TOPIC
    scores: str = SCORES_TOPIC
    dead_letters: str = dlq_name(TELEMETRY_TOPIC)
    group: str = GROUP


@dataclass
class ScorerTotals:
    messages: int = 0
    readings: int = 0
    scored: int = 0
    skipped: int = 0  # not newer than the device's state: a retry, a replay or a redelivery
    alerts: int = 0
    new_alerts: int = 0  # alerts record_alert had not seen (a redelivered alert is not new)
    unrecorded: int = 0  # alerts of devices the registry does not know: no ticket to record them on
    dead: int = 0
    reasons: list[str] = field(default_factory=list)  # the latest few dead-letter reasons, for the operator

    def add(self, other: ScorerTotals) -> None:
        for name in ("messages", "readings", "scored", "skipped", "alerts", "new_alerts", "unrecorded", "dead"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.reasons = (self.reasons + other.reasons)[-10:]


class LiveScorer:
    """The scoring of polled records: states, device settings, scores, alerts. Kafka-free but for the producer."""

    def __init__(
        self,
        champion: ChampionParams,
        redis: Redis,
        conn: psycopg.Connection,
        producer: KafkaProducer,
        topics: LiveTopics = LiveTopics(),
    ) -> None:
        self.champion, self.redis, self.conn, self.producer, self.topics = champion, redis, conn, producer, topics
        self.states: dict[Key, DeviceState] = {}
        self.params: dict[str, DetectorParams] = {}  # per device
        self.sampling: dict[str, float | None] = {}  # per device model
        self.unregistered: set[str] = set()  # devices the registry does not know (scored with default settings)

    def forget_states(self) -> None:
        """Drop the in-memory states (partitions moved: another scorer may have scored these devices since)."""
        self.states.clear()

    def process(self, records: Sequence[ConsumerRecord]) -> ScorerTotals:
        """Score one poll's records in full; returns once its effects are durable (then commit the offsets)."""
        totals, groups, sent = ScorerTotals(), dict[Key, list[ReadingV1]](), []
        for record in records:
            totals.messages += 1
            try:
                batch = parse_telemetry_message(record.value)
            except ValueError as error:
                totals.dead += 1
                totals.reasons.append(f"{record.topic}[{record.partition}]@{record.offset}: {error}")
                sent.append(self._dead_letter(record, str(error)))
                continue
            for reading in batch.readings:
                groups.setdefault((batch.device_id, reading.sensor), []).append(reading)
                totals.readings += 1
        self._load(list(groups))
        alerts, changed = [], {}
        scored_at = datetime.now(UTC)
        for key, readings in groups.items():
            scores, state = self._score_group(key, readings, totals)
            if not scores:
                continue
            changed[key] = self.states[key] = state
            for first in range(0, len(scores), SCORES_PER_MESSAGE):
                sent.append(self._produce_scores(key, scores[first : first + SCORES_PER_MESSAGE], scored_at))
            alerts += [self._alert(key, s) for s in scores if s.alert]
        totals.alerts = len(alerts)
        # A device the registry does not know has no ticket to count on: its alerts are scored, not recorded.
        recordable = [alert for alert in alerts if alert.device_id not in self.unregistered]
        totals.unrecorded = len(alerts) - len(recordable)
        if recordable:
            with self.conn.transaction():
                set_actor(self.conn, DOMAIN, ACTOR)
                totals.new_alerts = sum(record_alert(self.conn, alert, actor=ACTOR).new for alert in recordable)
        for future in sent:
            future.get(timeout=30)  # scores and dead letters are on Kafka before the states move on
        save_states(self.redis, changed)
        return totals

    def _score_group(
        self, key: Key, readings: Iterable[ReadingV1], totals: ScorerTotals
    ) -> tuple[list[ReadingScoreV1], DeviceState]:
        params, state = self._params_of(key[0]), self.states[key]
        last = float(state.times[-1]) if len(state.times) else float("-inf")
        scores = []
        for reading in readings:
            now = reading_epoch_seconds(reading.ts)
            if now <= last:
                totals.skipped += 1
                continue
            anomaly_score, alert, state = score(params, state, now, reading.value)
            last = now
            scores.append(
                ReadingScoreV1(
                    reading_id=reading.reading_id,
                    ts=reading.ts,
                    value=reading.value,
                    anomaly_score=anomaly_score,
                    alert=alert,
                )
            )
        totals.scored += len(scores)
        return scores, state

    def _load(self, keys: list[Key]) -> None:
        missing = [key for key in keys if key not in self.states]
        for key, state in load_states(self.redis, missing).items():
            self.states[key] = state or DeviceState()

    def _params_of(self, device_id: str) -> DetectorParams:
        if device_id not in self.params:
            model_id = device_model_of(self.conn, device_id)
            if model_id is None:
                self.unregistered.add(device_id)
                log.warning("device %s is not in the registry: scored with the default cadence", device_id)
            elif model_id not in self.sampling:
                self.sampling[model_id] = model_sampling_seconds(self.conn, model_id)
            sampling = self.sampling.get(model_id) if model_id else None
            self.params[device_id] = self.champion.params_for(model_id, sampling)
        return self.params[device_id]

    def _produce_scores(self, key: Key, scores: list[ReadingScoreV1], scored_at: datetime):  # noqa: ANN202
        device_id, sensor = key
        batch = ScoresBatchV1(
            device_id=device_id,
            sensor=sensor,
            model_version=self.champion.model_version,
            scored_at=scored_at,
            scores=scores,
        )
        # The same readings scored again (after a crash before the commit) carry the same event id.
        event_id = str(uuid.uuid5(SCORES_NAMESPACE, f"{scores[0].reading_id}|{scores[-1].reading_id}|{len(scores)}"))
        envelope = EventEnvelope(
            type=SCORES_BATCH[0],
            version=SCORES_BATCH[1],
            key=device_id,
            payload=batch.model_dump(mode="json"),
            event_id=event_id,
            occurred_at=scored_at.isoformat(),
        )
        return self.producer.send(self.topics.scores, key=device_id.encode(), value=envelope.to_json())

    def _alert(self, key: Key, scored: ReadingScoreV1) -> AlertInput:
        return AlertInput(
            device_id=key[0],
            sensor=key[1],
            reading_id=scored.reading_id,
            reading_at=scored.ts,
            value=scored.value,
            anomaly_score=scored.anomaly_score,
            model_version=self.champion.model_version,
        )

    def _dead_letter(self, record: ConsumerRecord, reason: str):  # noqa: ANN202
        """Forward ``record`` as it came, with why, where from and who dead-lettered it in its headers."""
        headers = [
            ("reason", reason.encode()[:1000]),
            ("dead_lettered_by", ACTOR.encode()),
            ("source_topic", record.topic.encode()),
            ("source_partition", str(record.partition).encode()),
            ("source_offset", str(record.offset).encode()),
        ]
        return self.producer.send(self.topics.dead_letters, key=record.key, value=record.value, headers=headers)


class _ForgetOnRebalance(ConsumerRebalanceListener):
    def __init__(self, scorer: LiveScorer) -> None:
        self.scorer = scorer

    def on_partitions_revoked(self, revoked: object) -> None:
        self.scorer.forget_states()

    def on_partitions_assigned(self, assigned: object) -> None:
        self.scorer.forget_states()


def open_producer(settings: Settings) -> KafkaProducer:
    return KafkaProducer(
        bootstrap_servers=settings.kafka_bootstrap_servers,
        client_id="iot-anomaly-scorer",
        acks="all",
        enable_idempotence=True,
        linger_ms=5,
        batch_size=512 * 1024,
    )


class ScorerError(RuntimeError):
    """The live scorer cannot make progress; the message says what it waited for."""


def _commit(consumer: KafkaConsumer, topics: LiveTopics, batch: bool) -> None:
    try:
        consumer.commit()
    except CommitFailedError as error:
        if not batch:
            raise
        raise ScorerError(
            f"group {topics.group} has a running member (a long-running scorer?), so this batch run cannot commit "
            f"its offsets on {topics.source}: stop that scorer first ({error})"
        ) from error


def run_live_scorer(
    settings: Settings,
    topics: LiveTopics = LiveTopics(),
    *,
    champion: ChampionParams | None = None,
    until_idle: bool = False,
    idle_polls: int = 10,
    max_records: int = MAX_POLL_RECORDS,
    on_poll: Callable[[ScorerTotals], None] | None = None,
) -> ScorerTotals:
    """Score until stopped, as a member of ``topics.group``; or with ``until_idle`` as a batch run (the whole topic
    assigned, see ``ingest.core.kafka_batch``) until ``idle_polls`` polls in a row bring nothing at the topic's end."""
    if champion is None:
        from models.anomaly.registry import load_champion_params

        champion = load_champion_params(settings)
    totals, idle = ScorerTotals(), 0
    consumer = KafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap_servers,
        group_id=topics.group,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        max_partition_fetch_bytes=8 * 1024 * 1024,
    )
    producer = open_producer(settings)
    redis = Redis.from_url(settings.redis_url)
    try:
        # Autocommit: lookups hold no transaction open; each poll's alerts are one explicit transaction.
        with psycopg.connect(settings.postgres_url, autocommit=True, connect_timeout=10) as conn:
            scorer = LiveScorer(champion, redis, conn, producer, topics)
            if until_idle:
                assign_whole_topic(consumer, topics.source)  # a batch run reads as the group without joining it
            else:
                consumer.subscribe([topics.source], listener=_ForgetOnRebalance(scorer))
            nudge_at = time.monotonic() + METADATA_NUDGE_S
            while not until_idle or idle < idle_polls:
                polled = consumer.poll(timeout_ms=POLL_TIMEOUT_MS, max_records=max_records)
                records = [record for batch in polled.values() for record in batch]
                done = scorer.process(records)
                if records:
                    _commit(consumer, topics, until_idle)
                totals.add(done)
                if until_idle:
                    idle = idle + 1 if not records and caught_up(consumer) else 0
                elif not consumer.assignment() and time.monotonic() > nudge_at:
                    consumer.partitions_for_topic(topics.source)  # asks the broker only if the topic is not cached
                    nudge_at = time.monotonic() + METADATA_NUDGE_S
                if done.dead:
                    log.warning("dead-lettered %d message(s): %s", done.dead, "; ".join(done.reasons))
                if on_poll is not None:
                    on_poll(done)
    finally:
        consumer.close()
        producer.close(timeout=30)
        redis.close()
    return totals
