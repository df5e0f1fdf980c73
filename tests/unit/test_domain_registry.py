"""The registered domains as the bootstrap, the relay and Dagster see them: storage, topics, lakehouse declaration."""

from __future__ import annotations

import pytest

from ingest.core.contract import DomainContract, EventPayload
from ingest.domains import DOMAINS, contract, storage_declarations
from stack.bootstrap.kafka_topics import TopicSpec, declared_topics
from stack.bootstrap.plan import discover


class Ping(EventPayload):
    ping_id: str


def test_the_kit_is_bootstrapped_before_every_domain_each_with_its_own_versions() -> None:
    declarations = storage_declarations()
    assert [d.domain for d in declarations] == ["kit", *DOMAINS]
    kit_postgres = discover(declarations[0].folder("postgres"), "sql", "postgres")
    assert [m.label for m in kit_postgres] == [
        "0001_audit_and_outbox",
        "0002_moderation",
        "0003_inbox",
        "0004_audit_inserts_by_statement",
        "0005_api_keys",
    ]
    assert declarations[0].folder("cassandra") is None and declarations[0].topics == ()


def test_ecommerce_creates_its_own_schema_with_the_kits_audit_trail_and_outbox() -> None:
    storage = contract("ecommerce").storage
    first, *later = discover(storage.folder("postgres"), "sql", "postgres")
    assert [m.label for m in [first, *later]] == [
        "0001_ecommerce",
        "0002_fraud_decisions",
        "0003_import_checkpoints",
        "0004_audit_inserts_by_statement",
        "0005_fraud_rescoring",
        "0006_card_tokens",
    ]
    assert "CREATE SCHEMA IF NOT EXISTS ecommerce;" in first.text
    assert "SELECT lakehouse_kit.create_outbox('ecommerce');" in first.text
    assert "SELECT lakehouse_kit.audit_table('ecommerce', 'orders', 'order_id');" in first.text
    # Audit columns come from the kit's template, not retyped per table.
    assert first.text.count("LIKE lakehouse_kit.audit_columns INCLUDING DEFAULTS") == 7
    assert "created_by text NOT NULL" not in first.text
    mongo = discover(storage.folder("mongo"), "json", "mongo")
    assert [m.label for m in mongo] == [
        "0001_catalog_products",
        "0002_catalog_pending_events",
        "0003_catalog_pending_markers",
    ]
    # The keyspace itself is created in code; CQL files hold the wide tables.
    cassandra = discover(storage.folder("cassandra"), "cql", "cassandra")
    assert [m.label for m in cassandra] == ["0001_orders_by_customer"]


def test_topics_are_collected_from_the_contracts_with_dead_letter_twins() -> None:
    topics = declared_topics(t for d in storage_declarations() for t in d.topics)
    expected = []
    for name in ["customers", "products", "carts", "orders", "payments"]:
        expected += [(f"ecommerce.{name}", 3), (f"ecommerce.{name}.dlq", 3)]
    assert [(t.name, t.partitions) for t in topics if t.name.startswith("ecommerce.")] == expected
    assert all(t.config["cleanup.policy"] == "delete" for t in topics)
    # Every registered domain's topics are there, each with its dead-letter twin.
    names = {t.name for t in topics}
    for domain in DOMAINS:
        own = {spec.name for spec in contract(domain).topics}
        assert own and all(f"{name}.dlq" in names for name in own) and own <= names, domain


def test_a_contract_refuses_topics_it_does_not_own_or_declare(tmp_path) -> None:
    events = {("shop.ping", 1): (Ping, "shop.pings")}
    with pytest.raises(ValueError, match="undeclared topic"):
        DomainContract("shop", events, topics=(), migrations=tmp_path)
    with pytest.raises(ValueError, match="must start with 'shop.'"):
        DomainContract(
            "shop", events, topics=(TopicSpec("shop.pings", 1), TopicSpec("other.x", 1)), migrations=tmp_path
        )
    shop = DomainContract("shop", events, topics=(TopicSpec("shop.pings", 1),), migrations=tmp_path)
    assert shop.topic_for("shop.ping", 1) == "shop.pings"
    with pytest.raises(KeyError, match=r"unknown event shop\.ping v2; known: shop\.ping v1"):
        shop.topic_for("shop.ping", 2)
