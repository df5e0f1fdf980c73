"""`lakehouse iot gateway|telemetry-writer`: the telemetry gateway and the Cassandra writer."""

from __future__ import annotations

import argparse


def register_telemetry(actions: argparse._SubParsersAction) -> None:
    """Placeholder until the gateway lands (its owner replaces this module); ``actions`` are `lakehouse iot`'s."""
