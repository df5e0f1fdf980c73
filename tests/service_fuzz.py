"""Schemathesis against the OpenAPI a model service serves (BentoML's ``/docs.json``), over real HTTP to the real
server: generated requests, valid and invalid, for every route; no 5xx, every status code documented, every
response shaped as documented. Each service's test module calls :func:`fuzz` with the server it already started
(schemathesis' pytest loader cannot take a fixture's server in this pytest); the apps' fuzzing is
``tests/integration/test_app_fuzzing.py``. Importable: tests/ is on sys.path.
"""

from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.specs.openapi.checks import positive_data_acceptance

EXAMPLES = 40
# Derandomized: the same cases every run, so CI fails only on a change, never on a lucky draw.
FUZZ = settings(max_examples=EXAMPLES, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))


def fuzz(base_url: str, headers: dict[str, str]) -> list[str]:
    """Every operation of the served spec, fuzzed; returns the operations (with the mode) that ran.

    A schema-valid request may still be refused (an order in a currency the model was not trained on), so the
    "valid data is accepted" check is left out. With the service's key: its refusals (401) are tested on their own.
    """
    schema = schemathesis.openapi.from_url(f"{base_url}/docs.json")
    ran = []
    for result in schema.get_all_operations():
        operation = result.ok()
        # Requests the schema allows, then (where there is a body to break) requests it does not.
        for mode in GenerationMode if len(operation.body) else [GenerationMode.POSITIVE]:

            @given(case=operation.as_strategy(generation_mode=mode))
            @FUZZ
            def run(case) -> None:  # noqa: ANN001 - a schemathesis Case
                case.call_and_validate(headers=headers, excluded_checks=[positive_data_acceptance])

            run()
            ran.append(f"{operation.label} ({mode.value})")
    return ran


def fuzzed_routes(ran: list[str], *routes: str) -> bool:
    """Whether each of ``routes`` ran with valid and with invalid bodies."""
    return {f"{route} ({mode})" for route in routes for mode in ("positive", "negative")} <= set(ran)
