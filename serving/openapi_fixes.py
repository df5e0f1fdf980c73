"""The OpenAPI a model service serves, corrected where BentoML's contradicts its own answers or its version.

Schemathesis (``tests/service_fuzz.py``, run against each service) found four faults in what BentoML 1.4 generates:

- an error's ``detail`` is documented as a string, but a request the input model refuses is answered with a list
  of ``{loc, msg, type}`` (pydantic's errors), and our own 413 and 422 answers follow that shape so a client reads
  one form;
- the spec says OpenAPI 3.0, whose ``exclusiveMinimum`` is a flag beside ``minimum``, but pydantic writes the
  2020-12 form (``"exclusiveMinimum": 0``), which 3.0 tools reject;
- a response field that may be null (``model_id: str | None``) is documented as a plain string;
- answers a service gives itself (the fraud batch's 413, moderation's 422) are not documented at all.

This middleware corrects ``/docs.json`` as it is served, so clients generated from it (and the Swagger UI) expect
what they get.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from pydantic import BaseModel
from starlette.types import ASGIApp, Message, Receive, Scope, Send

SPEC_PATH = "/docs.json"
ERROR_DETAIL: dict[str, Any] = {
    "title": "Error Detail",
    "anyOf": [
        {"type": "string"},
        {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "loc": {"type": "array", "items": {"anyOf": [{"type": "string"}, {"type": "integer"}]}},
                    "msg": {"type": "string"},
                    "type": {"type": "string"},
                },
                "required": ["loc", "msg"],
            },
        },
    ],
}


def corrected_spec(
    spec: dict[str, Any],
    nullable_in: Iterable[type[BaseModel]] = (),
    responses: Mapping[tuple[str, int], str] | None = None,
) -> dict[str, Any]:
    """``spec`` with every error schema's ``detail`` documented as a string or a list of located errors, (in a 3.0
    spec) exclusive bounds written the 3.0 way, the optional fields of ``nullable_in`` marked nullable, and each
    ``(route, status)`` of ``responses`` documented on the route's POST with that description."""
    for schema in spec.get("components", {}).get("schemas", {}).values():
        detail = schema.get("properties", {}).get("detail")
        if isinstance(detail, dict) and detail.get("title") == "Error Detail":
            schema["properties"]["detail"] = ERROR_DETAIL
    if str(spec.get("openapi", "")).startswith("3.0"):
        _bounds_as_flags(spec)
    for model in nullable_in:
        _mark_nullable(spec, {model.__name__, f"{model.__name__}IODescriptor"}, _optional_fields(model))
    for (route, status), description in (responses or {}).items():
        documented = spec.get("paths", {}).get(route, {}).get("post", {}).setdefault("responses", {})
        error = {"schema": {"$ref": "#/components/schemas/InvalidArgument"}}
        documented[str(status)] = {"description": description, "content": {"application/json": error}}
    return spec


def _optional_fields(model: type[BaseModel]) -> set[str]:
    properties = model.model_json_schema().get("properties", {})
    return {
        name
        for name, schema in properties.items()
        if any(option.get("type") == "null" for option in schema.get("anyOf", ()))
    }


def _mark_nullable(spec: dict[str, Any], titles: set[str], fields: set[str]) -> None:
    for node in _objects(spec):
        if node.get("title") in titles and isinstance(node.get("properties"), dict):
            for name in fields & node["properties"].keys():
                node["properties"][name]["nullable"] = True


def _bounds_as_flags(spec: dict[str, Any]) -> None:
    for node in _objects(spec):
        for exclusive, inclusive in (("exclusiveMinimum", "minimum"), ("exclusiveMaximum", "maximum")):
            bound = node.get(exclusive)
            if isinstance(bound, int | float) and not isinstance(bound, bool):
                node[inclusive], node[exclusive] = bound, True


def _objects(node: Any) -> Iterator[dict[str, Any]]:
    """Every JSON object in ``node``, itself included, outermost first."""
    if isinstance(node, dict):
        yield node
        children: Iterable[Any] = node.values()
    elif isinstance(node, list):
        children = node
    else:
        return
    for child in children:
        yield from _objects(child)


class CorrectedSpec:
    """ASGI middleware rewriting the body of a successful ``GET /docs.json`` with :func:`corrected_spec`."""

    def __init__(
        self,
        app: ASGIApp,
        nullable_in: Iterable[type[BaseModel]] = (),
        responses: Mapping[tuple[str, int], str] | None = None,
    ) -> None:
        self.app = app
        self.nullable_in, self.responses = tuple(nullable_in), dict(responses or {})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != SPEC_PATH:
            await self.app(scope, receive, send)
            return
        start: Message = {}
        chunks: list[bytes] = []

        async def rewrite(message: Message) -> None:
            if message["type"] == "http.response.start":
                start.update(message)
                if start["status"] != 200:
                    await send(message)
                return
            if message["type"] != "http.response.body" or start["status"] != 200:
                await send(message)
                return
            chunks.append(message.get("body", b""))
            if message.get("more_body"):
                return
            spec = corrected_spec(json.loads(b"".join(chunks)), self.nullable_in, self.responses)
            body = json.dumps(spec).encode()
            headers = [(k, v) for k, v in start.get("headers", []) if k.lower() != b"content-length"]
            await send({**start, "headers": [*headers, (b"content-length", str(len(body)).encode())]})
            await send({"type": "http.response.body", "body": body})

        await self.app(scope, receive, rewrite)
