"""Step times read from a Dagster run's log, as the main job prints them."""

from __future__ import annotations

import pytest

from entrypoints.step_times import duration_seconds, slowest_steps, step_times

LOG = """2026-12-04 16:00:01 - dagster - DEBUG - r1 - a_step - STEP_START - Started execution of step "a_step".
2026-12-04 16:00:02 - dagster - DEBUG - r1 - a_step - STEP_SUCCESS - Finished execution of step "a_step" in 533ms.
2026-12-04 16:00:09 - dagster - DEBUG - r1 - b - STEP_SUCCESS - Finished execution of step "b" in 6.25s.
2026-12-04 16:05:00 - dagster - DEBUG - r1 - c - STEP_SUCCESS - Finished execution of step "c" in 4m52s.
2026-12-04 16:05:00 - dagster - DEBUG - r1 - d - STEP_FAILURE - Execution of step "d" failed.
"""


@pytest.mark.parametrize(
    ("text", "seconds"), [("0.83ms", 0.00083), ("533ms", 0.533), ("5.6s", 5.6), ("4m52s", 292.0), ("1h4m", 3840.0)]
)
def test_durations_as_dagster_writes_them(text: str, seconds: float) -> None:
    assert duration_seconds(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["", "5", "s", "5.6 s", "4m52"])
def test_anything_else_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="not a Dagster duration"):
        duration_seconds(text)


def test_finished_steps_and_the_slowest_of_them() -> None:
    assert step_times(LOG) == [("a_step", 0.533), ("b", 6.25), ("c", 292.0)]
    assert slowest_steps(LOG, count=2) == "3 steps, 299 s in all; slowest: c 292.0 s, b 6.2 s"
    assert slowest_steps("no steps here") == ""
