"""How long each step of a Dagster run took, read from the run's log (Dagster's STEP_SUCCESS lines): the main job
prints the slowest after each materialisation, so a slow run says where its time went."""

from __future__ import annotations

import re

STEP = re.compile(r'Finished execution of step "(?P<step>[^"]+)" in (?P<duration>[0-9.hms]+)\.')
PART = re.compile(r"(?P<value>[0-9.]+)(?P<unit>ms|h|m|s)")
SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}


def duration_seconds(text: str) -> float:
    """Seconds of a duration as Dagster writes it: ``0.83ms``, ``533ms``, ``5.6s``, ``4m52s``, ``1h4m``."""
    parts = list(PART.finditer(text))
    if not parts or "".join(part.group(0) for part in parts) != text:
        raise ValueError(f"not a Dagster duration: {text!r}")
    return sum(float(part["value"]) * SECONDS[part["unit"]] for part in parts)


def step_times(log_text: str) -> list[tuple[str, float]]:
    """Each finished step with its seconds, in the order they finished."""
    return [(match["step"], duration_seconds(match["duration"])) for match in STEP.finditer(log_text)]


def slowest_steps(log_text: str, count: int = 5) -> str:
    """One line: how many steps, their total, and the ``count`` slowest (empty when the log has no step)."""
    times = step_times(log_text)
    if not times:
        return ""
    ranked = sorted(times, key=lambda item: -item[1])[:count]
    listed = ", ".join(f"{step} {seconds:.1f} s" for step, seconds in ranked)
    return f"{len(times)} steps, {sum(seconds for _, seconds in times):.0f} s in all; slowest: {listed}"
