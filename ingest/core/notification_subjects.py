"""Where a notification lives in NATS: its subject, its stream, its dead-letter subject and its consumers' names.

An event type ``<domain>.<aggregate>.<what happened>`` is published on ``lakehouse.<event type>``, in the
publishing domain's stream. Names are derived, never configured, so a publisher and a consumer that share no code
agree on them.
"""

from __future__ import annotations

import re

from stack.bootstrap.nats_streams import DEAD_LETTER_PREFIX, SUBJECT_PREFIX, stream_name

# What a subject token may hold here: NATS forbids whitespace, '.', '*' and '>' inside one.
TOKEN = re.compile(r"^[A-Za-z0-9_-]+$")
MSG_ID = "Nats-Msg-Id"  # JetStream drops a second message with the same id inside the stream's duplicate window


def _check(event_type: str) -> list[str]:
    tokens = event_type.split(".")
    if len(tokens) < 2 or not all(TOKEN.match(token) for token in tokens):
        raise ValueError(f"event type {event_type!r} cannot name a subject: '<domain>.<name>', letters, digits, _ -")
    return tokens


def publishing_domain(event_type: str) -> str:
    return _check(event_type)[0]


def subject_for(event_type: str) -> str:
    """``chat.message.flagged`` -> ``lakehouse.chat.message.flagged``."""
    _check(event_type)
    return f"{SUBJECT_PREFIX}.{event_type}"


def stream_for(event_type: str) -> str:
    """The stream of the domain that publishes ``event_type``."""
    return stream_name(publishing_domain(event_type))


def dead_letter_subject(consumer_domain: str, event_type: str) -> str:
    """Where ``consumer_domain`` puts the ``event_type`` notifications it can never handle."""
    return f"{DEAD_LETTER_PREFIX}.{consumer_domain}.{event_type}"


def durable_name(consumer_domain: str, event_type: str) -> str:
    """One durable consumer per (consuming domain, event type): its position survives restarts."""
    _check(event_type)
    return f"{consumer_domain}__{event_type.replace('.', '_')}"
