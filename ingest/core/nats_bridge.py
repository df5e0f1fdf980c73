"""A NATS connection for synchronous code: nats-py is asyncio-only, the relay and consumers are not.

One event loop runs in a dedicated daemon thread for the life of the connection; callers hand it coroutines and
block on their results (`NatsBridge.run`). Connecting once per relay or consumer run keeps a publish a round trip,
not a connection. Everything that touches the client runs on that loop, so nats-py's objects are never shared
across threads.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Coroutine, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import nats
from nats.aio.client import Client
from nats.js import JetStreamContext

from lakehouse.settings import Settings

log = logging.getLogger(__name__)
T = TypeVar("T")


class NatsBridge:
    """A connected client and the loop that owns it; ``run`` executes a coroutine there and returns its result."""

    def __init__(self, loop: asyncio.AbstractEventLoop, client: Client, timeout_s: float) -> None:
        self.loop = loop
        self.client = client
        self.jetstream: JetStreamContext = client.jetstream(timeout=timeout_s)
        self.timeout_s = timeout_s

    def run(self, coroutine: Coroutine[Any, Any, T], timeout_s: float | None = None) -> T:
        future = asyncio.run_coroutine_threadsafe(coroutine, self.loop)
        return future.result(timeout=self.timeout_s * 6 if timeout_s is None else timeout_s)


@contextmanager
def open_nats(settings: Settings, name: str, timeout_s: float = 10.0) -> Iterator[NatsBridge]:
    """Connect to ``settings.nats_url`` as ``name``; on exit pending acks are flushed and the connection closed."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name=f"nats-{name}", daemon=True)
    thread.start()
    try:
        connect = nats.connect(
            settings.nats_url,
            name=name,
            connect_timeout=timeout_s,
            max_reconnect_attempts=10,
            error_cb=_log_error,
        )
        client = asyncio.run_coroutine_threadsafe(connect, loop).result(timeout=timeout_s * 3)
        bridge = NatsBridge(loop, client, timeout_s)
        try:
            yield bridge
        finally:
            bridge.run(_close(client), timeout_s * 3)
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=timeout_s)
        loop.close()


async def _close(client: Client) -> None:
    if client.is_connected:
        await client.flush()  # acks are fire-and-forget: make sure the server has them before closing
    await client.close()


async def _log_error(error: Exception) -> None:
    # Connection trouble surfaces to callers as failed operations; nats-py would print a traceback per attempt.
    log.warning("nats: %s", error)
