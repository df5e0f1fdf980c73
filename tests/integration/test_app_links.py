"""Stateful Schemathesis over the OpenAPI links of every domain app, on the real stack: scenarios of a few steps
that create something and follow the links its answer declares (``ingest.core.openapi_links``) to the read that
shows it. Every step is held to the same checks as ``test_app_fuzzing.py`` (no 5xx, every status and answer as
documented; a schema-valid request the domain refuses is no failure). On top: a read reached by a link from a
create's answer, with every link parameter applied and no other optional value added, must answer 2xx: what was
created is readable. The scenarios count those reads per app, so a run where the creates were all refused fails instead of
passing on nothing.

Only the declared links are followed: Schemathesis' own link inference is off, since every command answer shares
one ``AcceptedOut`` whose ``id`` it would feed into unrelated reads (a site's id as a device's).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

import hypothesis
import pytest
from app_fuzz import build_apps, running_on_tenant, served_schema
from app_keys import dev_headers
from hypothesis import HealthCheck, Phase, settings
from hypothesis.errors import FlakyStrategyDefinition
from schemathesis.specs.openapi.checks import positive_data_acceptance

from lakehouse.settings import Settings

pytestmark = [pytest.mark.integration, pytest.mark.slow]

APPS = build_apps()
SCENARIOS = 25  # per app, of up to STEPS steps each
STEPS = 5
SEEDS = range(8)  # suites to reach SCENARIOS (see run_scenarios); the same seeds every run, no example database
SUITE = settings(
    stateful_step_count=STEPS,
    deadline=None,
    database=None,
    phases=[Phase.generate],
    suppress_health_check=list(HealthCheck),
)


@pytest.fixture(scope="module", autouse=True)
def running_apps(stack_settings: Settings) -> Iterator[None]:
    with running_on_tenant(stack_settings, APPS):
        yield


def linked_read(step) -> bool:  # noqa: ANN001 - schemathesis' StepInput
    """Whether this step is a read reached by a declared link, every link parameter applied and no optional value
    of the fuzzer's own added (a random cursor is refused, rightly): such a read must find what was created."""
    transition, case = step.transition, step.case
    if transition is None or transition.is_inferred or case.meta.generation.mode.is_negative:
        return False
    linked = {name.lower() for values in transition.parameters.values() for name in values}
    applied = {str(name).lower() for _, name in step.applied_parameters}
    if not linked <= applied:
        return False
    for parameter in case.operation.iter_parameters():
        sent = {str(name).lower() for name in (getattr(case, parameter.location.container_name) or {})}
        if not parameter.is_required and parameter.name.lower() not in linked and parameter.name.lower() in sent:
            return False
    return True


def state_machine(domain: str, tally: Counter[str], failures: list[str]) -> type:
    """The app's state machine (one rule per declared link, and the creates that start a scenario), counting in
    ``tally`` its scenarios, steps, reads after a create and those that answered 2xx, and keeping every failure."""
    schema = served_schema(APPS[domain])
    schema.config.phases.stateful.inference.algorithms = []
    headers = dev_headers(domain)

    class Links(schema.as_state_machine()):
        def setup(self) -> None:
            tally["scenarios"] += 1

        def get_call_kwargs(self, case) -> dict[str, object]:  # noqa: ANN001 - a schemathesis Case
            return {"headers": headers}

        def validate_response(self, response, case, additional_checks=None, **kwargs) -> None:  # noqa: ANN001
            case.validate_response(
                response,
                additional_checks=additional_checks,
                excluded_checks=[positive_data_acceptance],
                transport_kwargs=kwargs or None,
                recorder=self.recorder,
            )

        def step(self, input):  # noqa: ANN001, ANN202 - schemathesis' StepInput and StepOutput
            try:
                output = super().step(input)
            except BaseException as failure:  # kept: a suite ended by Hypothesis' replay must not hide it
                failures.append(f"{input.case.operation.label}: {failure}")
                raise
            tally["steps"] += 1
            if linked_read(input):
                tally["reads after a create"] += 1
                answer = output.response
                if not 200 <= answer.status_code < 300:
                    failures.append(
                        f"not readable after its create: {input.transition.id}: {answer.status_code} "
                        f"{answer.text[:300]} ({input.case.path_parameters} {input.case.query})"
                    )
                    raise AssertionError(failures[-1])
                tally["readable"] += 1
            return output

    return Links


def run_scenarios(machine: type, tally: Counter[str]) -> None:
    """SCENARIOS scenarios, in suites of fixed seeds. Hypothesis replays choices it has made before and expects
    the same steps to be possible; the apps keep state, so a create that answered 201 in one scenario answers 200
    (an identical retry) in the next, and a suite can stop there (``FlakyStrategyDefinition``). Like Schemathesis'
    own runner, count the scenarios that ran and go on with the next seed. A check that fails, even once, fails."""
    for seed in SEEDS:
        remaining = SCENARIOS - tally["scenarios"]
        if remaining <= 0:
            return
        try:
            hypothesis.seed(seed)(machine).run(settings=settings(SUITE, max_examples=remaining))
        except FlakyStrategyDefinition:
            continue


@pytest.mark.parametrize("domain", list(APPS))
def test_created_things_are_readable_through_their_links(domain: str) -> None:
    tally: Counter[str] = Counter()
    failures: list[str] = []
    run_scenarios(state_machine(domain, tally, failures), tally)
    print(f"{domain}: {dict(tally)}")
    assert failures == []
    assert tally["scenarios"] >= SCENARIOS, f"the suites ended before {SCENARIOS} scenarios: {dict(tally)}"
    assert tally["reads after a create"] > 0, f"no link from a create was followed to its read: {dict(tally)}"
