"""One writer per telemetry checkpoint: the long-running stream and the Dagster asset's available-now run share the
checkpoints, and two queries on one checkpoint corrupt it. An exclusive file lock beside the checkpoints decides.

The lock is advisory and local (``flock``): it protects a lake on this machine's disk. On an object store (an
``s3a://`` lake root) there is no lock and the rule is operational: run one or the other.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit


class StreamBusy(RuntimeError):
    """Another process holds the telemetry checkpoints (a long-running `lakehouse stream telemetry`)."""


def _local(path: str) -> Path | None:
    scheme = urlsplit(path).scheme
    if scheme in ("", "file"):
        return Path(urlsplit(path).path if scheme else path)
    return None


@contextmanager
def checkpoint_lock(checkpoint: str) -> Iterator[None]:
    """Hold ``<checkpoint>.lock`` while the block runs; StreamBusy at once if another process holds it."""
    local = _local(checkpoint)
    if local is None:
        yield
        return
    local.parent.mkdir(parents=True, exist_ok=True)
    handle = os.open(f"{local}.lock", os.O_CREAT | os.O_RDWR, 0o644)
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise StreamBusy(f"{checkpoint} is in use by another telemetry stream") from None
        yield
    finally:
        os.close(handle)  # closing releases the lock
