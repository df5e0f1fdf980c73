"""NATS with JetStream from Debian's ``nats-server``: cross-domain notifications."""

from __future__ import annotations

import asyncio
import shutil

import nats

from stack.service import LocalService, ServiceError


class NatsService(LocalService):
    name = "nats"
    typical_start_s = 0.5

    def command(self) -> list[str]:
        binary = shutil.which("nats-server")
        if binary is None:
            raise ServiceError(self.name, "nats-server is not installed: run `lakehouse stack install`")
        return [binary, "-a", self.host, "-p", str(self.port), "-js", "-sd", str(self.data_dir)]

    def check(self, timeout_s: float = 5.0) -> str:
        return asyncio.run(_jetstream_round_trip(self.settings.nats_url, timeout_s))


async def _jetstream_round_trip(url: str, timeout_s: float) -> str:
    client = await nats.connect(
        url, connect_timeout=timeout_s, allow_reconnect=False, max_reconnect_attempts=0, error_cb=_quiet
    )
    try:
        await client.jetstream().account_info()
        version = client.connected_server_version
        return f"NATS {version.major}.{version.minor}.{version.patch}, JetStream on"
    finally:
        await client.close()


async def _quiet(_error: Exception) -> None:
    """The failure reaches the caller as an exception; nats-py would also print a traceback per attempt."""
