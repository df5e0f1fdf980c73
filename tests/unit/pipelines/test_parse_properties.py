"""Property-based tests (Hypothesis) of event parsing: whatever a topic carries, every record ends up once, either
as a typed event or in quarantine with a reason, and the flow over it finishes with good events landed.

Records are drawn from arbitrary bytes (decoded as bronze decodes Kafka's), and from a good ``order.placed``
envelope broken one way: an unknown version, a required field missing, a field of the wrong JSON type, an oversized
text, unknown extra fields. Each example is one bronze batch of many records through Spark, so a few examples
cover hundreds of records (the count is printed: `fuzzed N records`).
"""

from __future__ import annotations

import json
import shutil
import tempfile
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from local_lake import local_lake
from pyspark.sql import functions as F

from ingest.core.envelope import EventEnvelope
from ingest.ecommerce import contract as ev
from pipelines.core.incremental import run_silver_flow
from pipelines.core.parse import classify
from pipelines.ecommerce.flows import FLOWS

FLOW = FLOWS["orders"]
PLACED = ("ecommerce.order.placed", 2)
T0 = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)
REQUIRED = [name for name, f in ev.OrderPlacedV2.model_fields.items() if f.is_required()]
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=5,
)


def good_payload(order_id: str) -> dict:
    line = ev.OrderLineV1(product_id="p1", category="books", quantity=2, unit_price=Decimal("5.00"))
    model = ev.OrderPlacedV2(
        order_id=order_id,
        customer_id="c1",
        merchant_id="m1",
        terminal_id="t1",
        card_token="ab" * 32,
        card_last4="1111",
        card_brand="visa",
        amount=Decimal("10.00"),
        currency="EUR",
        lines=[line],
        placed_at=T0,
    )
    return json.loads(model.model_dump_json())


def envelope(payload: dict, version: int = 2) -> bytes:
    return EventEnvelope(
        type=PLACED[0], version=version, key="k", payload=payload, occurred_at=T0.isoformat()
    ).to_json()


@st.composite
def records(draw: st.DrawFn, n: int) -> tuple[bytes, str]:
    """(raw bytes, what was done to them): ``good`` must land, anything else may land or be quarantined."""
    order_id = f"o{n}"
    kind = draw(st.sampled_from(["bytes", "version", "missing", "wrong type", "oversized", "extra", "good"]))
    payload = good_payload(order_id)
    if kind == "bytes":
        return draw(st.binary(max_size=200)), kind
    if kind == "version":
        return envelope(payload, draw(st.integers(-5, 50).filter(lambda v: v not in (1, 2)))), kind
    if kind == "missing":
        del payload[draw(st.sampled_from(REQUIRED))]
    elif kind == "wrong type":
        payload[draw(st.sampled_from(REQUIRED))] = draw(JSON_VALUES)
    elif kind == "oversized":
        payload[draw(st.sampled_from(["customer_id", "merchant_id"]))] = "x" * draw(st.integers(100_000, 300_000))
    elif kind == "extra":
        payload |= draw(st.dictionaries(st.text(min_size=1, max_size=8).map(lambda k: f"x_{k}"), JSON_VALUES))
    return envelope(payload), kind


# Each example is one Spark job: no shrinking (minutes per failure); derandomized, so a failure reproduces as found.
PHASES = (Phase.explicit, Phase.generate)
SPARK_EXAMPLES = settings(
    database=None, derandomize=True, deadline=None, phases=PHASES, suppress_health_check=list(HealthCheck)
)
BATCHES = st.integers(10, 40).flatmap(lambda size: st.tuples(*[records(n) for n in range(size)]))
fuzzed: list[int] = []


@settings(SPARK_EXAMPLES, max_examples=4)
@given(batch=BATCHES)
def test_every_record_is_an_event_or_quarantined_with_a_reason(spark, batch) -> None:
    raw = spark.createDataFrame(
        [(bytearray(value), FLOW.topic, 0, offset) for offset, (value, _) in enumerate(batch)],
        "raw binary, topic string, partition int, offset long",
    )
    # As bronze stores a Kafka record: the value cast to a string (invalid UTF-8 replaced, never refused).
    bronze = raw.select(F.col("raw").cast("string").alias("value"), "topic", "partition", "offset")
    # One Spark job: the route of each record (reason null: a typed event; `split` filters on exactly this).
    classified = classify(bronze, FLOW.handled, FLOW.known).select("offset", "reason")
    routes = {row.offset: row.reason for row in classified.collect()}
    quarantined = {offset: reason for offset, reason in routes.items() if reason is not None}
    valid = set(routes) - set(quarantined)
    assert sorted(routes) == list(range(len(batch)))  # every record routed, once
    assert all(reason and reason.strip() for reason in quarantined.values())
    for offset, (_, kind) in enumerate(batch):
        if kind in ("good", "extra"):  # unknown extra fields are ignored, not a reason to refuse the event
            assert offset in valid, quarantined.get(offset)
        elif kind in ("bytes", "version", "missing"):
            assert offset in quarantined
    fuzzed.append(len(batch))


@settings(SPARK_EXAMPLES, max_examples=1)
@given(batch=BATCHES)
def test_a_flow_over_fuzzed_bronze_finishes_and_lands_the_good_events(spark, batch) -> None:
    """The real silver flow (streaming from a Delta bronze) over a fuzzed batch plus five good orders: it does not
    stop, the good orders are in silver and the rest is in quarantine, once each."""
    good = {f"o{n}" for n, (_, kind) in enumerate(batch) if kind in ("good", "extra")}
    good |= {f"g{n}" for n in range(5)}
    batch = [*batch, *[(envelope(good_payload(f"g{n}")), "good") for n in range(5)]]
    root = Path(tempfile.mkdtemp(prefix="fuzzed-flow-"))
    lake = local_lake("ecommerce", root)
    try:
        rows = [(None, bytearray(value), FLOW.topic, 0, offset, T0, T0) for offset, (value, _) in enumerate(batch)]
        schema = "key string, raw binary, topic string, partition int, offset long, kafka_timestamp timestamp"
        bronze = spark.createDataFrame(rows, f"{schema}, ingested_at timestamp")
        bronze = bronze.withColumn("value", F.col("raw").cast("string")).drop("raw")
        bronze.write.format("delta").save(lake.bronze(FLOW.entity))

        report = run_silver_flow(spark, FLOW, lake)
        silver = [row.order_id for row in spark.read.format("delta").load(lake.silver("orders")).collect()]
        quarantine = spark.read.format("delta").load(lake.quarantine()).count()
    finally:
        shutil.rmtree(root, ignore_errors=True)
    assert good <= set(silver)
    assert report.quarantined == quarantine
    assert len(silver) + quarantine == len(batch)  # every record once (order ids are unique, nothing to dedupe)
    fuzzed.append(len(batch))


@pytest.fixture(scope="module", autouse=True)
def _report_count():
    yield
    print(f"\nfuzzed {sum(fuzzed)} records through event parsing")
