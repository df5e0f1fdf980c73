"""`lakehouse generate iot` and `lakehouse import iot`: a simulated fleet's telemetry, or a real series replayed."""

from __future__ import annotations

import argparse


def register_traffic(generators: argparse._SubParsersAction, importers: argparse._SubParsersAction) -> None:
    """Placeholder until the telemetry feed lands (its owner replaces this module)."""
