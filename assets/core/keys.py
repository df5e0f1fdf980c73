"""Asset keys read by domain in the UI's catalog and lineage: ``[domain or model, layer, table]``."""

from __future__ import annotations

from dagster import AssetKey


def table_key(owner: str, layer: str, table: str) -> AssetKey:
    """The key of ``owner``'s (a domain's or a model's) ``table`` in ``layer``, e.g. ecommerce / silver / orders."""
    return AssetKey([owner, layer, table])
