"""Bronze records → typed events or quarantine rows: every record ends up in exactly one of the two.

A record is quarantined with a reason a person can act on ("invalid JSON", "unknown event type X v7",
"missing required field payload.amount", ...) and everything needed to find and replay it: raw value, topic,
partition, offset. Good records keep flowing whatever their neighbours look like.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field

from pydantic import BaseModel
from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql import types as T

from ingest.core.contract import EventKey
from pipelines.core.schemas import contract_violations, first_violation, spark_schema

ENVELOPE_SCHEMA = T.StructType(
    [
        T.StructField("event_id", T.StringType()),
        T.StructField("type", T.StringType()),
        T.StructField("version", T.IntegerType()),
        T.StructField("occurred_at", T.TimestampType()),
        T.StructField("key", T.StringType()),
        # Kept as JSON text: its schema depends on (type, version), known only after this parse.
        T.StructField("payload", T.StringType()),
    ]
)
REQUIRED_ENVELOPE_FIELDS = ("event_id", "type", "version", "occurred_at", "payload")
# A valid event's payload fields its version's schema does not know, as a JSON object (null: none); silver keeps it.
RESCUED = "_rescued_data"
PROVENANCE = ("value", "topic", "partition", "offset")
QUARANTINE_SCHEMA = T.StructType(
    [
        T.StructField("reason", T.StringType()),
        T.StructField("value", T.StringType()),
        T.StructField("topic", T.StringType()),
        T.StructField("partition", T.IntegerType()),
        T.StructField("offset", T.LongType()),
        T.StructField("event_type", T.StringType()),
        T.StructField("event_version", T.IntegerType()),
        T.StructField("quarantined_at", T.TimestampType()),
    ]
)


@dataclass(frozen=True)
class ParsedBatch:
    """Valid events per (type, version), payload parsed into a struct; and everything else, with reasons."""

    events: dict[EventKey, DataFrame]
    quarantine: DataFrame
    # How many valid events of each type, when the caller counted them (lets it skip empty MERGEs).
    valid: dict[EventKey, int] = field(default_factory=dict)
    # How many of those carry fields their schema does not know (``RESCUED`` set), when the caller counted them.
    rescued: dict[EventKey, int] = field(default_factory=dict)


def typed_event_schema(model: type[BaseModel]) -> T.StructType:
    """The columns of a valid event of ``model`` as :func:`split_events` returns it (for empty tables)."""
    provenance = [f for f in QUARANTINE_SCHEMA.fields if f.name in PROVENANCE]
    renamed = {"type": "event_type", "version": "event_version"}
    envelope = [T.StructField(renamed.get(f.name, f.name), f.dataType) for f in ENVELOPE_SCHEMA.fields[:-1]]
    rescued = T.StructField(RESCUED, T.StringType())
    return T.StructType([*provenance, *envelope, rescued, T.StructField("payload", spark_schema(model))])


def _raw(json_text: Column, field: str) -> Column:
    return F.get_json_object(json_text, f"$.{field}")


def _is_one_of(envelope: Column, keys: Collection[EventKey]) -> Column:
    found = F.lit(False)
    for event_type, version in keys:
        found = found | F.coalesce((envelope["type"] == event_type) & (envelope["version"] == version), F.lit(False))
    return found


def _envelope_reason(
    envelope: Column, value: Column, handled: Collection[EventKey], known: Collection[EventKey]
) -> Column:
    checks = [(F.try_parse_json(value).isNull(), F.lit("invalid JSON"))]
    checks.append((F.json_object_keys(value).isNull(), F.lit("envelope is not a JSON object")))
    for name in REQUIRED_ENVELOPE_FIELDS:
        checks.append((_raw(value, name).isNull(), F.lit(f"missing required field {name}")))
        checks.append((envelope[name].isNull(), F.lit(f"invalid value for {name}")))
    named = F.format_string("%s v%d", envelope["type"], envelope["version"])
    # Known to the contract but not routed to this flow: published on the wrong topic.
    routed = _is_one_of(envelope, handled)
    wrong_topic = F.concat(F.lit("event type "), named, F.lit(" does not belong on this topic"))
    # Known to the contract but not routed to this flow: it was published on the wrong topic.
    checks.append((~routed & _is_one_of(envelope, known), wrong_topic))
    checks.append((~routed, F.concat(F.lit("unknown event type "), named)))
    checks.append((F.json_object_keys(envelope["payload"]).isNull(), F.lit("payload is not a JSON object")))
    return F.coalesce(*[F.when(broken, reason) for broken, reason in checks])


def parse_envelopes(bronze: DataFrame, handled: Collection[EventKey], known: Collection[EventKey] = ()) -> DataFrame:
    """Bronze rows with the envelope's fields beside them and ``reason`` set when the envelope is unusable.

    ``handled`` are the (type, version) pairs this flow routes; ``known`` all those the contract defines.
    """
    envelope = F.from_json("value", ENVELOPE_SCHEMA)
    return (
        bronze.select(*PROVENANCE, envelope.alias("envelope"))
        .withColumn("reason", _envelope_reason(F.col("envelope"), F.col("value"), handled, known))
        .select(*PROVENANCE, "envelope.*", "reason")
        .withColumnRenamed("type", "event_type")
        .withColumnRenamed("version", "event_version")
    )


def _payload_reason(model: type[BaseModel], payload: Column, raw: Column) -> Column:
    # A value present in the JSON but unreadable as its declared type parses to null: say so, not "missing".
    unreadable = [
        F.when(payload[name].isNull() & _raw(raw, name).isNotNull(), F.lit(f"invalid value for payload.{name}"))
        for name in model.model_fields
    ]
    return F.coalesce(*unreadable, first_violation(payload, contract_violations(model)))


def rescued_fields(model: type[BaseModel], raw: Column) -> Column:
    """The top-level fields of the JSON object ``raw`` that ``model`` does not declare, as a JSON object keeping
    their values and JSON types (numbers read as a variant: one past a double's range loses precision); null when
    there are none. Unknown fields nested inside a known one (a line's extra key) are not looked for: a nested
    struct would need the same walk as :func:`pipelines.core.schemas.contract_violations`, for a rare case."""
    known = F.array(*[F.lit(name) for name in spark_schema(model).fieldNames()])
    # Listing the keys is cheap; the second parse, to a map, runs only for the rare payload that has extras.
    extra = F.array_except(F.json_object_keys(raw), known)
    values = F.from_json(raw, T.MapType(T.StringType(), T.VariantType()))
    unknown = F.map_filter(values, lambda name, _value: ~F.array_contains(known, name))
    return F.when(F.size(extra) > 0, F.to_json(unknown))


def _is(key: EventKey) -> Column:
    return (F.col("event_type") == key[0]) & (F.col("event_version") == key[1])


def classify(
    bronze: DataFrame, handled: Mapping[EventKey, type[BaseModel]], known: Collection[EventKey] = ()
) -> DataFrame:
    """Every bronze row once, with ``reason`` (null: valid) and its payload parsed in the column of its type.

    One pass over the batch; :func:`split` then reads valid events and quarantine off it (cache it first).
    """
    classified = parse_envelopes(bronze, list(handled), known)
    payload_reasons, rescued = [], []
    for position, (key, model) in enumerate(handled.items()):
        # Each type's checks see only the envelope's verdict, so the plan grows linearly with the types.
        routed = F.col("reason").isNull() & _is(key)
        payload = F.col(f"_payload_{position}")
        classified = classified.withColumn(
            f"_payload_{position}", F.when(routed, F.from_json("payload", spark_schema(model)))
        )
        classified = classified.withColumn(
            f"_reason_{position}", F.when(routed, _payload_reason(model, payload, F.col("payload")))
        )
        payload_reasons.append(f"_reason_{position}")
        rescued.append(F.when(routed, rescued_fields(model, F.col("payload"))))
    reason = F.coalesce("reason", *payload_reasons) if payload_reasons else F.col("reason")
    classified = classified.withColumn(RESCUED, F.coalesce(*rescued, F.lit(None).cast(T.StringType())))
    return classified.withColumn("reason", reason).drop(*payload_reasons)


def quarantine_rows(rejected: DataFrame) -> DataFrame:
    stamped = rejected.withColumn("quarantined_at", F.current_timestamp())
    return stamped.select(*[F.col(f.name).cast(f.dataType) for f in QUARANTINE_SCHEMA.fields])


def split(classified: DataFrame, handled: Mapping[EventKey, type[BaseModel]]) -> ParsedBatch:
    """Valid events per (type, version), payload as a struct; and quarantine rows with their reasons."""
    common = [c for c in classified.columns if c != "payload" and not c.startswith("_payload_") and c != "reason"]
    events = {
        key: classified.filter(F.col("reason").isNull() & _is(key)).select(
            *common, F.col(f"_payload_{i}").alias("payload")
        )
        for i, key in enumerate(handled)
    }
    return ParsedBatch(events=events, quarantine=quarantine_rows(classified.filter(F.col("reason").isNotNull())))


def split_events(
    bronze: DataFrame, handled: Mapping[EventKey, type[BaseModel]], known: Collection[EventKey] = ()
) -> ParsedBatch:
    """Route each bronze record to its typed event table or to quarantine."""
    return split(classify(bronze, handled, known), handled)
