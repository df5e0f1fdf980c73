"""NATS JetStream streams: how notification subjects are named, and the bootstrap that creates the streams.

Each domain that publishes notifications has one stream ``LAKEHOUSE_<DOMAIN>`` holding ``lakehouse.<domain>.>``,
file-backed (notifications survive a restart of nats-server) with a duplicate window: a message published again
with the same ``Nats-Msg-Id`` inside it (the relay republishing after a crash) is stored once. Messages a consumer
can never handle go to ``lakehouse.dead.<consumer>.<event type>``, kept by the stream ``LAKEHOUSE_DEAD_LETTER``
for longer, so someone has time to look at them. Creating a stream is idempotent; one whose subjects or limits
differ from its declaration is brought in line (JetStream allows these changes in place).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import TYPE_CHECKING

from lakehouse.settings import Settings
from stack.bootstrap.errors import BootstrapError
from stack.bootstrap.report import Progress, Report

STORE = "nats"
SUBJECT_PREFIX = "lakehouse"
DEAD_LETTER_PREFIX = f"{SUBJECT_PREFIX}.dead"
DAY_S = 24 * 60 * 60

if TYPE_CHECKING:  # nats-py is imported only when streams are applied: `lakehouse --help` does not load it
    from nats.js import JetStreamContext
    from nats.js.api import StreamConfig


@dataclass(frozen=True)
class StreamSpec:
    name: str
    subjects: tuple[str, ...]
    max_age_days: int = 7
    # Long enough to cover a relay restarting after a crash and republishing its unsent batch.
    duplicate_window_s: float = 120.0

    def config(self) -> StreamConfig:
        from nats.js.api import RetentionPolicy, StorageType, StreamConfig

        return StreamConfig(
            name=self.name,
            subjects=list(self.subjects),
            retention=RetentionPolicy.LIMITS,
            storage=StorageType.FILE,
            max_age=float(self.max_age_days * DAY_S),
            duplicate_window=self.duplicate_window_s,
            num_replicas=1,
        )


def stream_name(domain: str) -> str:
    return f"LAKEHOUSE_{domain.upper()}"


def domain_stream(domain: str) -> StreamSpec:
    """The stream of every notification ``domain`` publishes."""
    return StreamSpec(stream_name(domain), (f"{SUBJECT_PREFIX}.{domain}.>",))


DEAD_LETTER_STREAM = StreamSpec("LAKEHOUSE_DEAD_LETTER", (f"{DEAD_LETTER_PREFIX}.>",), max_age_days=30)


def apply_nats(
    settings: Settings, streams: list[StreamSpec], progress: Progress = print, timeout_s: float = 10.0
) -> list[str]:
    """Create (or bring in line) the dead-letter stream and ``streams``; returns the progress lines."""
    import nats

    report = Report(STORE, progress)
    specs = [DEAD_LETTER_STREAM, *(s for s in streams if s.name != DEAD_LETTER_STREAM.name)]
    try:
        changes = asyncio.run(_apply(settings.nats_url, specs, timeout_s))
    except (OSError, TimeoutError, nats.errors.Error) as error:
        raise BootstrapError(
            STORE, f"cannot set up streams at {settings.nats_url} ({error!r}); is `lakehouse stack up` done?"
        ) from error
    for line in changes:
        report(line)
    if not changes:
        report.up_to_date(len(specs), noun="stream")
    return report.lines


async def _apply(url: str, specs: list[StreamSpec], timeout_s: float) -> list[str]:
    import nats

    client = await nats.connect(url, connect_timeout=timeout_s, allow_reconnect=False, error_cb=_quiet)
    try:
        manager = client.jetstream(timeout=timeout_s)
        return [line for spec in specs if (line := await _ensure(manager, spec))]
    finally:
        await client.close()


async def _ensure(manager: JetStreamContext, spec: StreamSpec) -> str:
    from nats.js.errors import NotFoundError

    wanted = spec.config()
    try:
        found = (await manager.stream_info(spec.name)).config
    except NotFoundError:
        await manager.add_stream(wanted)
        return f"created stream {spec.name} ({', '.join(spec.subjects)})"
    same = (
        sorted(found.subjects or []) == sorted(spec.subjects)
        and found.duplicate_window == wanted.duplicate_window
        and found.max_age == wanted.max_age
    )
    if same:
        return ""
    await manager.update_stream(wanted)
    return f"updated stream {spec.name} to its declaration"


async def _quiet(_error: Exception) -> None:
    """The failure reaches the caller as an exception; nats-py would also print a traceback per attempt."""
