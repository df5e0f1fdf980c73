"""The online feature store: one Redis hash per entity holding its feature values and the moment they hold for.

Every model's online features share this layout. A hash's fields are the feature values (``repr`` of a float, which
reads back exactly) and ``AS_OF_FIELD`` (ISO 8601, UTC). Keys expire ``ttl_s`` after writing, so Redis drops what
no job refreshes; a reader also checks ``as_of`` against its own age limit, so each entity it asks for is fresh,
stale or missing. A model declares its key templates and feature names (e.g. ``features.fraud.spec``).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Literal

from pyspark.sql import Row
from redis import Redis

AS_OF_FIELD = "as_of"
WRITE_BATCH = 500  # entities per pipelined round trip

Freshness = Literal["fresh", "stale", "missing"]


@dataclass(frozen=True)
class EntityFeatures:
    status: Freshness
    values: dict[str, float] | None = None  # None when missing; kept when stale, for logging
    as_of: datetime | None = None
    # Every field of the hash as stored (text), for a model whose entity also holds per-key fields (the fraud
    # customer's count per terminal); None when missing.
    fields: Mapping[str, str] | None = field(default=None, compare=False, repr=False)


def as_of_text(as_of: datetime) -> str:
    return as_of.astimezone(UTC).isoformat()


def entity_hashes(
    rows: Iterable[Row], key_template: str, entity_column: str, names: tuple[str, ...], as_of: str
) -> Iterator[tuple[str, dict[str, str]]]:
    """``(key, fields)`` per row: the key is ``key_template`` filled with the row's ``entity_column``."""
    for row in rows:
        fields = {name: repr(float(row[name])) for name in names} | {AS_OF_FIELD: as_of}
        yield key_template.format(**{entity_column: row[entity_column]}), fields


def write_entities(redis_client: Redis, hashes: Iterable[tuple[str, Mapping[str, str]]], ttl_s: int) -> int:
    """Write each hash (all fields replaced, TTL reset) in pipelined batches; returns entities written."""
    written = 0
    # A hash is deleted before it is written, so a field the new values lack (a terminal the customer no longer
    # used) goes; each batch is one MULTI/EXEC, so a reader never sees a hash between the two.
    pipe = redis_client.pipeline(transaction=True)
    for key, fields in hashes:
        pipe.delete(key)
        pipe.hset(key, mapping=fields)
        pipe.expire(key, ttl_s)
        written += 1
        if written % WRITE_BATCH == 0:
            pipe.execute()
    pipe.execute()
    return written


def read_entities(
    redis_client: Redis, wanted: Sequence[tuple[str, tuple[str, ...]]], now: datetime, max_age_s: float
) -> list[EntityFeatures]:
    """Each ``(key, feature names)`` in one round trip: fresh, stale (older than ``max_age_s`` at ``now``), missing."""
    if now.tzinfo is None:
        raise ValueError("now has no time zone; pass an aware datetime (UTC)")
    pipe = redis_client.pipeline(transaction=False)
    for key, _ in wanted:
        pipe.hgetall(key)
    stored = pipe.execute()
    return [_entity(found, names, now, max_age_s) for found, (_, names) in zip(stored, wanted, strict=True)]


def _text(value: str | bytes) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _entity(stored: Mapping, names: tuple[str, ...], now: datetime, max_age_s: float) -> EntityFeatures:
    # A client made with decode_responses=True (the services') hands back text: no copy to make.
    fields = stored if isinstance(next(iter(stored), ""), str) else {_text(k): _text(v) for k, v in stored.items()}
    if AS_OF_FIELD not in fields or any(name not in fields for name in names):  # absent, or an older layout
        return EntityFeatures("missing")
    try:
        as_of = datetime.fromisoformat(fields[AS_OF_FIELD])
        values = {name: float(fields[name]) for name in names}
    except ValueError:  # a garbled entry is as good as none: the caller's fallback recomputes it
        return EntityFeatures("missing")
    as_of = as_of.replace(tzinfo=UTC) if as_of.tzinfo is None else as_of
    status: Freshness = "stale" if (now - as_of).total_seconds() > max_age_s else "fresh"
    return EntityFeatures(status, values, as_of, fields)
