"""A device's side of the gateway: post readings, retry what may be retried, drop only what the gateway refused.

The fleet feed and the replay post through this. A 503 or a lost connection is retried with the same body (the
batch and reading ids repeat, so nothing doubles downstream). A 422 listing bad readings by index drops those,
reports them, and sends the rest again: good readings always flow. Any other refusal (401, 403, 413) is final.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from typing import Any

import httpx

ATTEMPTS = 5
READING_PROBLEM = re.compile(r"^readings\[(\d+)\]: (.*)$")


class TelemetryRefused(Exception):
    """The gateway refused the device or the batch as a whole (the message says why)."""


@dataclass
class Posted:
    accepted: int = 0
    batches: int = 0
    rejected: list[tuple[int, str]] = field(default_factory=list)  # (index in the readings sent, the problem)


def post_readings(client: httpx.Client, device_id: str, key: str, readings: list[dict[str, Any]]) -> Posted:
    """Post ``readings`` as one batch (the gateway names it by content); what it accepted and what it rejected."""
    posted, positions = Posted(), list(range(len(readings)))
    headers = {"X-Device-Id": device_id, "X-Device-Key": key}
    while positions:
        answer = _post(client, headers, {"readings": [readings[i] for i in positions]})
        if answer.status_code == 202:
            posted.accepted += answer.json()["accepted"]
            posted.batches += 1
            return posted
        bad = _bad_readings(answer)
        if not bad:
            raise TelemetryRefused(f"{device_id}: HTTP {answer.status_code}: {answer.text[:500]}")
        posted.rejected += [(positions[index], problem) for index, problem in bad.items()]
        positions = [position for index, position in enumerate(positions) if index not in bad]
    return posted


def _post(client: httpx.Client, headers: dict[str, str], body: dict[str, Any]) -> httpx.Response:
    for attempt in range(ATTEMPTS):
        try:
            answer = client.post("/telemetry", json=body, headers=headers)
            if answer.status_code != 503:
                return answer
        except httpx.TransportError:
            if attempt == ATTEMPTS - 1:
                raise
        time.sleep(0.2 * 2**attempt)
    return answer


def _bad_readings(answer: httpx.Response) -> dict[int, str]:
    """Index -> problem when the gateway refused some readings (422 listing each), else empty."""
    if answer.status_code != 422:
        return {}
    problems = answer.json().get("problems", [])
    matched = [READING_PROBLEM.match(problem) for problem in problems]
    if not matched or not all(matched):
        return {}
    return {int(m.group(1)): m.group(2) for m in matched if m}
