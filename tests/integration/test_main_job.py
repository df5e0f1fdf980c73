"""End to end: the README's main job on the real stack, twice, through Dagster's own CLI."""

from __future__ import annotations

import pytest

from lakehouse.main_job import run_main_job
from lakehouse.settings import Settings

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_main_job_lands_every_event_once_and_reruns_add_only_new_ones(stack_settings, tmp_path):
    settings = Settings(lake_root=str(tmp_path / "lake"))
    lines: list[str] = []

    first = run_main_job(settings, events=60, progress=lines.append)
    assert (first.published, first.landed_this_run) == (60, 60)

    second = run_main_job(settings, events=25, progress=lines.append)
    assert (second.published, second.landed_this_run) == (25, 25)
    # The topic is shared with earlier runs; the checkpoint makes each record land exactly once.
    assert second.bronze_rows == first.bronze_rows + 25
    assert any(line.startswith("[4/5] materialising all Dagster assets") for line in lines)
