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


def start_ui(which: str, port: int, env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen(
        [str(LAKEHOUSE), "ui", which, "--port", str(port)],
        env={**os.environ, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )


def answered(command: subprocess.Popen) -> str:
    """The line where the command says the UI answers (it prints the address then)."""
    lines = []
    while not any("answered after" in line for line in lines):
        line = command.stdout.readline()
        assert line, f"the command ended before the UI answered: {lines}"
        lines.append(line.strip())
    return lines[-1]


def test_the_dagster_ui_reports_its_address_and_stops_whole_on_sigterm(tmp_path):
    port = free_port()
    env = {"LAKEHOUSE_HOME": str(tmp_path / "home"), "LAKEHOUSE_LAKE_ROOT": str(tmp_path / "lake")}
    command = start_ui("dagster", port, env)
    try:
        said = answered(command)
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


def test_the_notebooks_ui_opens_the_projects_notebooks_behind_a_token_and_stops_whole(tmp_path):
    port = free_port()
    command = start_ui(
        "notebooks", port, {"LAKEHOUSE_HOME": str(tmp_path / "home"), "JUPYTER_RUNTIME_DIR": str(tmp_path)}
    )
    try:
        said = answered(command)
        assert said.startswith(f"the notebooks UI is at http://127.0.0.1:{port}/lab?token=")
        token = said.split("token=")[1].split()[0]
        contents = httpx.get(f"http://127.0.0.1:{port}/api/contents", params={"token": token}, timeout=10)
        assert {"lakehouse_tour.ipynb", "fraud.ipynb"} <= {item["name"] for item in contents.json()["content"]}
        assert httpx.get(f"http://127.0.0.1:{port}/api/contents", timeout=10).status_code == 403  # no token
        started = psutil.Process(command.pid).children(recursive=True)

        command.send_signal(signal.SIGTERM)
        rest = command.communicate(timeout=60)[0]
        assert command.returncode == 0 and rest.strip().splitlines()[-1] == "the notebooks UI stopped"
        deadline = time.monotonic() + 5
        while any(process.is_running() and process.status() != psutil.STATUS_ZOMBIE for process in started):
            assert time.monotonic() < deadline, [process.pid for process in started if process.is_running()]
            time.sleep(0.2)
    finally:
        if command.poll() is None:
            command.kill()
