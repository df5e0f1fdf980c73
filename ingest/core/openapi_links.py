"""OpenAPI links from a write to the read that shows what it wrote, declared in each app's OpenAPI: a client (and
/docs) learns where a created thing can be read, and a stateful fuzzer follows them to check that it can be.

A link names its target as ``"GET /path/{param}"`` and each target parameter by a runtime expression
(``$response.body#/id``, ``$request.path.room_id``, ``$request.header.X-User-Id``); it is added to the success
answers of a route's ``responses``, next to their model.
"""

from __future__ import annotations

from typing import Any

Responses = dict[int | str, dict[str, Any]]
CREATED_ID = "$response.body#/id"  # every app's command answer names what it wrote as `id`


def operation_ref(target: str) -> str:
    """``"GET /orders/{order_id}"`` as a JSON pointer to that operation in the same document."""
    method, path = target.split(" ", 1)
    escaped = path.replace("~", "~0").replace("/", "~1")
    return f"#/paths/{escaped}/{method.lower()}"


def read_link(target: str, parameters: dict[str, str], description: str) -> dict[str, Any]:
    """A link to the operation ``target``; ``parameters`` maps its parameters (a bare name, or ``header.X-Y``
    where a name alone is ambiguous) to runtime expressions."""
    return {"operationRef": operation_ref(target), "parameters": parameters, "description": description}


def with_links(responses: Responses, **links: dict[str, Any]) -> Responses:
    """``responses`` with ``links`` declared on each success it documents (models kept): 201 created, and 200, an
    identical retry or an update, which names the same thing, just as readable."""
    return {
        status: {**answer, "links": links} if status in (200, 201) else answer for status, answer in responses.items()
    }
