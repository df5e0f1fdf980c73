"""Schema evolution in the kit's silver: payload fields the contract does not know land in ``_rescued_data``, a new
optional field of a version 2 leaves version 1 rows null, and a type change is quarantined with the field named.

A two-version contract of its own (a note, whose version 2 adds an optional ``tag``), and e-commerce's orders for
a real domain's tables (an order row and its exploded lines).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from local_lake import local_lake
from pydantic import Field
from pyspark.sql import DataFrame, SparkSession
from test_ecommerce_silver import order

from ingest.core.contract import DomainContract, EventPayload
from ingest.core.envelope import EventEnvelope
from ingest.ecommerce import contract as ev
from pipelines.core.flow import SilverFlow, SilverTarget
from pipelines.core.incremental import run_silver_flow
from pipelines.core.tables import DomainLake
from pipelines.ecommerce.flows import FLOWS, ORDER_PLACED
from stack.bootstrap.kafka_topics import TopicSpec

T0 = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)
TOPIC = "notes.notes"
WRITTEN_V1 = ("notes.note.written", 1)
WRITTEN_V2 = ("notes.note.written", 2)
BRONZE_SCHEMA = "key string, value string, topic string, partition int, offset long, kafka_timestamp timestamp, ingested_at timestamp"


class NoteWrittenV1(EventPayload):
    note_id: str
    amount: Decimal = Field(ge=0)
    written_at: datetime


class NoteWrittenV2(NoteWrittenV1):
    tag: str | None = None  # the new optional field


CONTRACT = DomainContract(
    name="notes",
    events={WRITTEN_V1: (NoteWrittenV1, TOPIC), WRITTEN_V2: (NoteWrittenV2, TOPIC)},
    topics=(TopicSpec(TOPIC, partitions=1),),
    migrations=Path("unused"),
    entities={"notes": TOPIC},
)


def note_rows(events: DataFrame) -> DataFrame:
    return events.select("payload.note_id", "payload.amount", "payload.written_at", "event_id", "occurred_at")


def note_rows_v2(events: DataFrame) -> DataFrame:
    return events.select("payload.note_id", "payload.amount", "payload.tag", "payload.written_at", "event_id")


NOTES_V1 = SilverFlow(CONTRACT, "notes", (SilverTarget("notes", WRITTEN_V1, note_rows, ("note_id",), "occurred_at"),))
NOTES_V2 = SilverFlow(
    CONTRACT,
    "notes",
    (SilverTarget("notes", WRITTEN_V2, note_rows_v2, ("note_id",), versions=((WRITTEN_V1, note_rows),)),),
)


def note(note_id: str, **fields: object) -> dict:
    return {"note_id": note_id, "amount": "2.50", "written_at": T0.isoformat(), **fields}


def envelope(event: tuple[str, int], payload: dict, event_id: str | None = None) -> str:
    extra = {"event_id": event_id} if event_id else {}
    built = EventEnvelope(
        type=event[0], version=event[1], key="k", payload=payload, occurred_at=T0.isoformat(), **extra
    )
    return built.to_json().decode()


@pytest.fixture
def lake(tmp_path) -> DomainLake:
    return local_lake("notes", tmp_path)


def land(spark: SparkSession, lake: DomainLake, entity: str, topic: str, values: list[str], first: int = 0) -> None:
    rows = [(None, value, topic, 0, first + i, T0, T0) for i, value in enumerate(values)]
    spark.createDataFrame(rows, BRONZE_SCHEMA).write.format("delta").mode("append").save(lake.bronze(entity))


def silver(spark: SparkSession, lake: DomainLake, table: str, key: str) -> dict[str, object]:
    return {row[key]: row for row in spark.read.format("delta").load(lake.silver(table)).collect()}


def rescued(row: object) -> dict | None:
    text = row["_rescued_data"]
    return None if text is None else json.loads(text)


def test_unknown_fields_land_in_rescued_data_known_fields_intact(spark, lake):
    extras = {"colour": "teal", "pages": 12, "meta": {"draft": True, "by": ["a", "b"]}}
    with_extras = envelope(WRITTEN_V1, note("n1", **extras), event_id="e1")
    # Delivered twice in the batch (at-least-once): still one row, its fields rescued once.
    land(spark, lake, "notes", TOPIC, [with_extras, with_extras, envelope(WRITTEN_V1, note("n2"))])
    report = run_silver_flow(spark, NOTES_V1, lake)

    rows = silver(spark, lake, "notes", "note_id")
    assert (report.merged["notes"], sorted(rows)) == (2, ["n1", "n2"])
    assert rescued(rows["n1"]) == extras
    assert rescued(rows["n2"]) is None
    for row in rows.values():
        assert (row.amount, row.written_at.replace(tzinfo=UTC)) == (Decimal("2.50"), T0)


def test_version_1_beside_a_version_2_with_a_new_optional_field(spark, lake):
    """A field sent before the contract knew it is rescued; once version 2 declares it, it is a column, and the
    version 1 rows read null in it (their rescued copy stays)."""
    land(spark, lake, "notes", TOPIC, [envelope(WRITTEN_V1, note("n0", tag="early"))])
    run_silver_flow(spark, NOTES_V1, lake)
    assert "tag" not in spark.read.format("delta").load(lake.silver("notes")).columns
    land(spark, lake, "notes", TOPIC, [envelope(WRITTEN_V1, note("n1")), envelope(WRITTEN_V2, note("n2", tag="x"))], 1)
    run_silver_flow(spark, NOTES_V2, lake)

    rows = silver(spark, lake, "notes", "note_id")
    assert {k: (r.tag, rescued(r)) for k, r in rows.items()} == {
        "n0": (None, {"tag": "early"}),
        "n1": (None, None),
        "n2": ("x", None),
    }


def test_a_breaking_change_is_quarantined_with_the_field_named(spark, lake):
    breaking = {
        "invalid value for payload.amount": note("n1", amount={"value": "2.50"}),  # number → object
        "invalid value for payload.written_at": note("n2", written_at="yesterday"),
        "missing required field payload.written_at": {"note_id": "n3", "amount": "2.50"},
    }
    land(spark, lake, "notes", TOPIC, [envelope(WRITTEN_V1, payload) for payload in breaking.values()])
    report = run_silver_flow(spark, NOTES_V1, lake)

    quarantined = spark.read.format("delta").load(lake.quarantine()).collect()
    assert {row.offset: row.reason for row in quarantined} == dict(enumerate(breaking))
    assert (report.quarantined, spark.read.format("delta").load(lake.silver("notes")).count()) == (3, 0)


def test_an_order_and_its_lines_keep_the_rescued_fields_an_old_table_gains_the_column(spark, lake):
    payload = order("o1")
    payload["lines"] *= 2  # each line is a row of order_lines: each keeps the order's rescued fields
    land(spark, lake, "orders", ev.ORDERS_TOPIC, [envelope(ORDER_PLACED, {**payload, "order_id": "o0"})])
    run_silver_flow(spark, FLOWS["orders"], lake)
    # As a table written before the kit kept rescued fields.
    old = spark.read.format("delta").load(lake.silver("orders")).drop("_rescued_data")
    old.write.format("delta").mode("overwrite").option("overwriteSchema", "true").save(lake.silver("orders"))
    land(spark, lake, "orders", ev.ORDERS_TOPIC, [envelope(ORDER_PLACED, {**payload, "gift": "wrap"})], 1)
    run_silver_flow(spark, FLOWS["orders"], lake)

    orders = silver(spark, lake, "orders", "order_id")
    assert {k: (r.amount, rescued(r)) for k, r in orders.items()} == {
        "o0": (Decimal("10.00"), None),
        "o1": (Decimal("10.00"), {"gift": "wrap"}),
    }
    lines = spark.read.format("delta").load(lake.silver("order_lines")).collect()
    got = sorted((r.order_id, r.line_number, rescued(r)) for r in lines)
    assert got == [("o0", 1, None), ("o0", 2, None), ("o1", 1, {"gift": "wrap"}), ("o1", 2, {"gift": "wrap"})]
