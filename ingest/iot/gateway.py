"""The telemetry gateway: devices post batches of readings; each accepted batch goes to Kafka as one message.

``POST /telemetry`` with headers ``X-Device-Id`` and ``X-Device-Key`` and a body ``{batch_id?, readings: [{sensor,
ts, value, seq?}]}``. The answer is 202 once Kafka acknowledged the batch (topic ``iot.telemetry``, keyed by device,
as ``iot.telemetry.batch`` v1; batches over 1,000 readings go as chunks ``<batch_id>/<n>``). A retry is safe: the
batch id is the client's (or a hash of the readings) and every reading's id comes from the device, its sensor and
its ``seq`` (or timestamp), which everything downstream deduplicates on.

**A batch is accepted or refused as a whole.** When any reading is bad, nothing is produced and the answer lists
every bad reading by index: fix those and resend the batch. Refusals: 401 missing headers, unknown device or wrong
key; 403 retired device; 413 more readings than LAKEHOUSE_TELEMETRY_MAX_BATCH; 422 a body that is not the shape
above, or a reading with a sensor its device model does not have, a timestamp before 1970 or more than 5 minutes
ahead of the gateway's clock (past readings are welcome: replays, devices that were offline), a value that is not a
finite number, a negative seq, a reading twice in the batch (same sensor and seq, or ts without seq); 503 Kafka
did not acknowledge (nothing to fix: retry the same batch).

A verified device key is trusted for 30 seconds per gateway process: a rotated key or a retired device stops
working within 30 seconds.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import FastAPI, Header, Request
from fastapi.responses import JSONResponse
from kafka import KafkaProducer
from kafka.producer.future import FutureRecordMetadata
from psycopg_pool import AsyncConnectionPool

from ingest.core.http import install_input_limits
from ingest.iot.contract import TELEMETRY_TOPIC
from ingest.iot.gateway_api import Refused, TelemetryAccepted, request_body_schema
from ingest.iot.gateway_auth import KEY_TTL_S, AuthRefused, DeviceKeyCache, authenticate
from ingest.iot.telemetry_batches import BatchRefused, accept_batch, chunks
from ingest.iot.telemetry_io import encode_batch, iso_utc
from ingest.iot.telemetry_producer import open_telemetry_producer, send_encoded
from lakehouse.settings import Settings, load_settings

ACK_TIMEOUT_S = 30.0
DeviceHeader = Annotated[str | None, Header(alias="X-Device-Id", description="the registered device")]
KeyHeader = Annotated[str | None, Header(alias="X-Device-Key", description="the device's key")]
REFUSALS = {code: {"model": Refused} for code in (401, 403, 413, 422, 503)}


@dataclass
class Gateway:
    settings: Settings
    pool: AsyncConnectionPool
    producer: KafkaProducer
    keys: DeviceKeyCache
    topic: str


def refused(status: int, detail: str, problems: tuple[str, ...] = ()) -> JSONResponse:
    return JSONResponse({"detail": detail, "problems": list(problems)}, status_code=status)


def acknowledged(future: FutureRecordMetadata) -> asyncio.Future[Any]:
    """An asyncio future resolved when the producer's sender thread hears the broker's ack (no flush)."""
    loop = asyncio.get_running_loop()
    done: asyncio.Future[Any] = loop.create_future()

    def settle(result: Any = None, error: BaseException | None = None) -> None:
        if not done.done():
            done.set_exception(error) if error is not None else done.set_result(result)

    future.add_callback(lambda meta: loop.call_soon_threadsafe(settle, meta))
    future.add_errback(lambda error: loop.call_soon_threadsafe(settle, None, error))
    return done


async def post_telemetry(gateway: Gateway, device_id: str, key: str, raw: bytes) -> JSONResponse:
    try:
        sensors = await authenticate(gateway.pool, gateway.keys, device_id, key)
        body = json.loads(raw)
        accepted_at = datetime.now(UTC)
        batch = accept_batch(
            device_id, body, accepted_at=accepted_at, max_batch=gateway.settings.telemetry_max_batch, sensors=sensors
        )
    except AuthRefused as error:
        return refused(error.status, error.detail)
    except ValueError as error:  # not JSON (json.JSONDecodeError and UnicodeDecodeError are ValueErrors)
        return refused(422, f"body is not JSON: {error}")
    except BatchRefused as error:
        detail = f"batch refused: {len(error.problems)} problem(s), nothing accepted"
        return refused(error.status, detail, error.problems)
    messages = [(chunk_id, encode_batch(chunk_id, device_id, accepted_at, rs)) for chunk_id, rs in chunks(batch)]
    try:  # a chunk acked before another failed is sent again on the retry: its reading ids repeat, nothing doubles
        sent = [send_encoded(gateway.producer, device_id, value, gateway.topic) for _, value in messages]
        await asyncio.wait_for(asyncio.gather(*map(acknowledged, sent)), ACK_TIMEOUT_S)
    except Exception as error:  # noqa: BLE001 - any producer failure is the same answer: not accepted, retry
        return refused(503, f"Kafka did not acknowledge the batch ({type(error).__name__}: {error}); retry it")
    accepted = {"batch_id": batch.batch_id, "device_id": device_id, "accepted": len(batch.readings)}
    body_out = accepted | {"messages": [chunk_id for chunk_id, _ in messages], "accepted_at": iso_utc(accepted_at)}
    return JSONResponse(body_out, status_code=202)


def create_app(settings: Settings, *, key_ttl_s: float = KEY_TTL_S, topic: str = TELEMETRY_TOPIC) -> FastAPI:
    """The gateway producing to ``topic``; verified keys are trusted for ``key_ttl_s`` seconds."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with AsyncConnectionPool(settings.postgres_url, min_size=1, max_size=4, open=False) as pool:
            producer = open_telemetry_producer(settings)
            try:
                await asyncio.to_thread(producer.partitions_for, topic)  # metadata now, not on the first request
                app.state.gateway = Gateway(settings, pool, producer, DeviceKeyCache(key_ttl_s), topic)
                yield
            finally:
                await asyncio.to_thread(producer.close, 30)  # close flushes what is still queued

    app = FastAPI(title="lakehouse IoT telemetry gateway", description=__doc__, lifespan=lifespan)
    install_input_limits(app, settings.http_max_body_bytes)

    @app.post(
        "/telemetry",
        status_code=202,
        response_model=TelemetryAccepted,
        responses=REFUSALS,
        openapi_extra=request_body_schema(),
        summary="post a batch of one device's readings",
    )
    async def telemetry(request: Request, x_device_id: DeviceHeader = None, x_device_key: KeyHeader = None):
        if not x_device_id or not x_device_key:
            return refused(401, "X-Device-Id and X-Device-Key headers are required")
        return await post_telemetry(request.app.state.gateway, x_device_id, x_device_key, await request.body())

    @app.get("/health")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    return app


def app_from_environment() -> FastAPI:
    """The app configured from ``LAKEHOUSE_*`` variables: the factory each uvicorn worker process calls."""
    return create_app(load_settings())
