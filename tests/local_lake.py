"""A domain's lake in a test's own folder: tables under ``root/<layer>/<name>``, checkpoints under ``root/_cp``."""

from __future__ import annotations

from pathlib import Path

from pipelines.core.tables import DomainLake


def local_lake(domain: str, root: Path) -> DomainLake:
    return DomainLake(
        domain,
        table=lambda layer, name: str(root / layer / name),
        checkpoint=lambda layer, name: str(root / "_cp" / layer / name),
    )
