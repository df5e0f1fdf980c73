"""The IoT app's surface without a stack: every use case has a route, writes require ``X-Actor``, and the OpenAPI
document describes the device key as shown once (the app is built but its lifespan, which opens the stores, is
not entered)."""

from __future__ import annotations

from ingest.iot.app import create_app
from ingest.iot.service import USE_CASES
from lakehouse.settings import Settings


def test_the_openapi_document_lists_every_route_and_the_actor_header() -> None:
    spec = create_app(Settings()).openapi()
    paths = spec["paths"]
    expected = {
        "/sites": {"post"},
        "/device-models": {"post"},
        "/devices": {"post"},
        "/devices/{device_id}": {"get"},
        "/devices/{device_id}/status": {"put"},
        "/devices/{device_id}/key-rotations": {"post"},
        "/devices/{device_id}/config": {"put"},
        "/devices/{device_id}/tickets": {"post", "get"},
        "/devices/{device_id}/alerts": {"get"},
        "/sites/{site_id}/devices": {"get"},
        "/tickets/{ticket_id}": {"patch"},
        "/device-models/{model_id}/firmware": {"post"},
        "/device-models/{model_id}/firmware/{version}/rollouts": {"post"},
    }
    for path, methods in expected.items():
        assert methods <= set(paths[path]), path
    for path, operations in paths.items():
        for method, operation in operations.items():
            headers = {p["name"] for p in operation.get("parameters", []) if p["in"] == "header"}
            assert ("X-Actor" in headers) == (method != "get"), (method, path)
    key = spec["components"]["schemas"]["AcceptedOut"]["properties"]["device_key"]
    assert "store it now" in key["description"]
    assert len(USE_CASES) == 10
