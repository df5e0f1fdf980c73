"""Which messages of a relay batch may be marked sent once Kafka answered: the acknowledged ones, except those
whose key had an earlier failure in the batch (marking them would let them overtake the failed one)."""

from __future__ import annotations

import pytest
from kafka.errors import KafkaTimeoutError, MessageSizeTooLargeError

from ingest.core.relay import Delivery, PublishError
from ingest.core.relay_producer import publishable

BOOM = MessageSizeTooLargeError("too large")


def test_all_acknowledged_are_all_marked() -> None:
    assert publishable(["a", "b", "a"], [None, None, None]) == [True, True, True]


def test_a_failure_holds_back_its_key_from_there_on_and_nothing_else() -> None:
    keys = ["a", "b", "a", "c", "b", "a", "b"]
    errors = [None, BOOM, None, None, None, KafkaTimeoutError(), None]
    # a: its first event went before the failure of "a" (the 6th); b fails 2nd, so b's later events wait with it.
    assert publishable(keys, errors) == [True, False, True, True, False, False, False]


def test_keys_and_outcomes_must_line_up() -> None:
    with pytest.raises(ValueError):
        publishable(["a", "b"], [None])


def test_a_delivery_with_failures_raises_naming_the_first_key_and_the_count() -> None:
    failures = [(("t.orders", "o-7", "{}"), BOOM), (("t.orders", "o-9", "{}"), BOOM)]
    with pytest.raises(PublishError, match=r"2 message\(s\) not acknowledged.*'o-7' on t.orders") as raised:
        Delivery([False, False], failures).raise_failures()
    assert [message[1] for message, _ in raised.value.failures] == ["o-7", "o-9"]
    Delivery([True], []).raise_failures()  # nothing failed: nothing raised
