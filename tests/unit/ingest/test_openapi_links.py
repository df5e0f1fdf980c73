"""Every domain app's OpenAPI declares, on the answers of each create (201, and 200 for a retry or an update), links
to the reads that show what was created, and every link holds together: its target operation exists, each parameter
it sets is one of the target's, and each runtime expression reads something the source operation has (a path
parameter, a header, a field of its answer). The apps are built, not started: nothing connects."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import FastAPI

from ingest.core.openapi_links import operation_ref
from lakehouse.settings import Settings

# (create, read), written out here: the links a reader of /docs should find.
EXPECTED = {
    "ecommerce": {
        ("POST /customers", "GET /customers/{customer_id}/orders"),
        ("POST /orders", "GET /orders/{order_id}"),
        ("PUT /products/{product_id}", "GET /products/{product_id}"),
    },
    "chat": {
        ("POST /users", "GET /users/{user_id}/profile"),
        ("POST /rooms", "GET /rooms/{room_id}/messages"),
        ("POST /rooms/{room_id}/messages", "GET /rooms/{room_id}/messages"),
    },
    "social": {
        ("POST /users", "GET /users/{user_id}/feed"),
        ("POST /posts", "GET /posts/{post_id}"),
        ("POST /posts/{post_id}/comments", "GET /posts/{post_id}"),
    },
    "iot": {
        ("POST /devices", "GET /devices/{device_id}"),
        ("POST /devices", "GET /devices/{device_id}/tickets"),
        ("POST /devices", "GET /devices/{device_id}/alerts"),
        ("POST /sites", "GET /sites/{site_id}/devices"),
    },
}


def app(domain: str) -> FastAPI:
    from ingest.chat.app import create_app as chat
    from ingest.ecommerce.app import create_app as ecommerce
    from ingest.iot.app import create_app as iot
    from ingest.social.app import create_app as social

    return {"ecommerce": ecommerce, "chat": chat, "social": social, "iot": iot}[domain](Settings())


def operations(spec: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {f"{method.upper()} {path}": op for path, item in spec["paths"].items() for method, op in item.items()}


def resolve(spec: dict[str, Any], ref: str) -> dict[str, Any]:
    """A local JSON pointer (``#/paths/~1orders/get``) in ``spec``."""
    assert ref.startswith("#/"), ref
    node: Any = spec
    for token in ref[2:].split("/"):
        node = node[token.replace("~1", "/").replace("~0", "~")]
    return node


def declared_links(spec: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    """(source, status, link) for every link in the document."""
    return [
        (label, status, link)
        for label, op in operations(spec).items()
        for status, response in op["responses"].items()
        for link in response.get("links", {}).values()
    ]


def parameters(op: dict[str, Any]) -> set[tuple[str, str]]:
    return {(p["in"], p["name"].lower()) for p in op.get("parameters", [])}


def body_fields(spec: dict[str, Any], content: dict[str, Any] | None) -> set[str]:
    schema = (content or {}).get("application/json", {}).get("schema", {})
    if "$ref" in schema:
        schema = resolve(spec, schema["$ref"])
    return set(schema.get("properties", {}))


def expression_source_exists(spec: dict[str, Any], source: dict[str, Any], status: str, expression: str) -> bool:
    kind, _, rest = expression.partition("#/")
    if kind == "$response.body":
        return rest in body_fields(spec, source["responses"][status].get("content"))
    if kind == "$request.body":
        return rest in body_fields(spec, source.get("requestBody", {}).get("content"))
    _, where, name = expression.split(".", 2)  # $request.path.room_id, $request.header.X-User-Id
    return (where, name.lower()) in parameters(source)


@pytest.mark.parametrize("domain", list(EXPECTED))
def test_every_create_links_to_the_reads_of_what_it_created(domain: str) -> None:
    spec = app(domain).openapi()
    by_ref = {operation_ref(label): label for label in operations(spec)}
    found = {(source, by_ref[link["operationRef"]]) for source, status, link in declared_links(spec)}
    assert found == EXPECTED[domain]
    assert {status for _, status, _ in declared_links(spec)} == {"200", "201"}


@pytest.mark.parametrize("domain", list(EXPECTED))
def test_every_link_resolves_and_its_parameters_and_expressions_exist(domain: str) -> None:
    spec = app(domain).openapi()
    for source_label, status, link in declared_links(spec):
        source, target = operations(spec)[source_label], resolve(spec, link["operationRef"])
        assert link["parameters"], link
        for name, expression in link["parameters"].items():
            where, _, bare = name.rpartition(".")
            wanted = {(where, bare.lower())} if where else {(p, bare.lower()) for p in ("path", "query", "header")}
            assert wanted & parameters(target), (source_label, name)
            assert expression_source_exists(spec, source, status, expression), (source_label, expression)
        # A required path parameter the link does not set would make the read fail whatever was created.
        linked = {name.rpartition(".")[2].lower() for name in link["parameters"]}
        path_parameters = {name for where, name in parameters(target) if where == "path"}
        assert path_parameters <= linked, (source_label, link["operationRef"])
