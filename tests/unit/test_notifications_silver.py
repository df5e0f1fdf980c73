"""The held-order notification rides the orders topic: silver's orders flow parses and validates it like any of the
topic's events (not quarantined as unknown), keeps it out of every silver table, and still quarantines a broken one.
"""

from __future__ import annotations

from datetime import UTC, datetime

from ingest.ecommerce.contract import ORDERS_TOPIC, build_event
from pipelines.core.parse import split_events
from pipelines.ecommerce.flows import FLOWS

AT = datetime(2026, 1, 1, tzinfo=UTC)
HELD = ("ecommerce.order.held", 1)
BRONZE_SCHEMA = "key string, value string, topic string, partition int, offset long"


def test_a_held_order_on_the_orders_topic_is_a_valid_event_and_a_broken_one_is_quarantined(spark):
    payload = {"order_id": "o-1", "customer_id": "c-1", "decision": "review", "score": 0.41, "held_at": AT}
    good = build_event(HELD[0], "o-1", payload, AT).text
    broken = good.replace('"decision":"review"', '"decision":"approve"')
    flow = FLOWS["orders"]
    bronze = spark.createDataFrame(
        [("o-1", good, ORDERS_TOPIC, 0, 0), ("o-1", broken, ORDERS_TOPIC, 0, 1)], BRONZE_SCHEMA
    )

    parsed = split_events(bronze, flow.handled, flow.known)

    (held,) = parsed.events[HELD].collect()
    assert (held.payload.order_id, held.payload.decision, held.payload.score) == ("o-1", "review", 0.41)
    (quarantined,) = parsed.quarantine.collect()
    assert (quarantined.offset, quarantined.reason) == (1, "payload.decision must match ^(review|decline|unscored)$")
    assert all(target.event != HELD for target in flow.targets)  # bronze only: the hold is silver's status change
