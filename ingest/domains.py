"""The registered domains. Adding a domain is one line in `DOMAINS`; everything else is found by convention:

- ``ingest/<domain>/contract.py``   ``CONTRACT``: events, topics, migrations (read by the bootstrap)
- ``ingest/<domain>/relay.py``      ``open_relay_sources(settings)``: what the kit's relay drains
- ``ingest/<domain>/cli.py``        ``register(subparsers)``: ``lakehouse <domain> ...``
- ``pipelines/<domain>/lakehouse.py`` ``LAKEHOUSE``: silver flows, gold tables, expectations
- ``assets/<domain>/__init__.py``   ``defs``: its Dagster definitions, built by the kit's factories
- ``ingest/<domain>/notifications.py`` ``SUBSCRIPTIONS`` (optional): the NATS notifications it acts on
"""

from __future__ import annotations

from importlib import import_module

from ingest.core.contract import DomainContract
from ingest.core.notifications import ConsumeReport, Subscription, consume_pass, subscriptions_of
from ingest.core.relay import OpenSources, sources_in
from ingest.core.storage import KIT_STORAGE
from lakehouse.settings import Settings
from stack.bootstrap.plan import StorageDeclaration

DOMAINS: tuple[str, ...] = ("ecommerce", "social", "chat", "iot")


def contract(domain: str) -> DomainContract:
    return import_module(f"ingest.{domain}.contract").CONTRACT


def storage_declarations(domains: tuple[str, ...] = DOMAINS) -> list[StorageDeclaration]:
    """What the bootstrap creates: the kit's functions first, then each domain's stores and topics."""
    return [KIT_STORAGE, *(contract(domain).storage for domain in domains)]


def relay_sources(domain: str) -> OpenSources:
    return sources_in(f"ingest.{domain}.relay")


def subscriptions(domain: str) -> tuple[Subscription, ...]:
    """The notifications ``domain`` consumes; empty when it has no ``notifications`` module."""
    return subscriptions_of(domain)


def consume_notifications(settings: Settings, domain: str) -> ConsumeReport:
    """Handle every notification waiting for ``domain`` now (none to do without subscriptions); returns counts."""
    return consume_pass(settings, domain, subscriptions(domain))
