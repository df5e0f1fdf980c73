"""`lakehouse ui dagster` as a person runs it: it says where the UI answers, and a SIGTERM stops every process it
started (dagster dev's webserver, daemon and code server used to outlive it). Needs no stack: Dagster only loads
the code location, with its storage in a throwaway folder."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import psutil
import pytest
from ports import free_port

pytestmark = pytest.mark.slow

LAKEHOUSE = Path(sys.executable).parent / "lakehouse"


def test_the_dagster_ui_reports_its_address_and_stops_whole_on_sigterm(tmp_path):
    port = free_port()
    env = {**os.environ, "LAKEHOUSE_HOME": str(tmp_path / "home"), "LAKEHOUSE_LAKE_ROOT": str(tmp_path / "lake")}
    command = subprocess.Popen(
        [str(LAKEHOUSE), "ui", "dagster", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        lines = []
        while not any("answered after" in line for line in lines):
            line = command.stdout.readline()
            assert line, f"the command ended before the UI answered: {lines}"
            lines.append(line.strip())
        said = next(line for line in lines if "answered after" in line)
        assert said.startswith(f"the dagster UI is at http://127.0.0.1:{port} ")
        assert httpx.get(f"http://127.0.0.1:{port}/server_info", timeout=10).status_code == 200
        started = psutil.Process(command.pid).children(recursive=True)
        assert len(started) >= 3  # dagster dev, its webserver and daemon (and code servers)

        command.send_signal(signal.SIGTERM)
        rest = command.communicate(timeout=120)[0]
        assert command.returncode == 0
        assert rest.strip().splitlines()[-1] == "the dagster UI stopped"
        deadline = time.monotonic() + 5  # the last kill has been reaped by now; allow the kernel a moment
        while any(process.is_running() and process.status() != psutil.STATUS_ZOMBIE for process in started):
            assert time.monotonic() < deadline, [process.pid for process in started if process.is_running()]
            time.sleep(0.2)
        with pytest.raises(httpx.TransportError):
            httpx.get(f"http://127.0.0.1:{port}/server_info", timeout=2)
    finally:
        if command.poll() is None:
            command.kill()
