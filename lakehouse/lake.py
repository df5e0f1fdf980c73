"""Where each Delta table and its streaming checkpoint live under the lake root (a folder or an object store)."""

from __future__ import annotations

from lakehouse.settings import Settings

LAYERS = ("bronze", "silver", "gold", "quarantine", "features")


def table_path(settings: Settings, layer: str, table: str) -> str:
    if layer not in LAYERS:
        raise ValueError(f"unknown layer {layer!r}; expected one of {LAYERS}")
    return f"{settings.lake_uri.rstrip('/')}/{layer}/{table}"


def checkpoint_path(settings: Settings, layer: str, table: str) -> str:
    # Beside the tables, not inside them: Delta readers must never see checkpoint files.
    return f"{settings.lake_uri.rstrip('/')}/_checkpoints/{layer}/{table}"
