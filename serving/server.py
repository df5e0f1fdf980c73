"""Starting and stopping a model's BentoML HTTP server (any of ``serving.registry``) as a subprocess, for the
``lakehouse serve`` command, the main job and the tests.

The server gets this process's settings through ``LAKEHOUSE_*`` variables, so it reads the same MLflow store,
Redis and PostgreSQL; it runs in its own process group, so stopping it also stops the workers it forked.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from lakehouse.settings import PROJECT_ROOT, Settings
from serving.registry import ServedModel

READY_TIMEOUT_S = 180.0  # two workers each loading the model on a busy 2-core machine took over 90 s


@dataclass
class ModelServer:
    name: str
    process: subprocess.Popen
    url: str
    log_path: Path
    started_in_s: float

    def stop(self, timeout_s: float = 20.0) -> None:
        if self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout_s)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout_s)


def serve_command(model: ServedModel, port: int, host: str = "127.0.0.1") -> list[str]:
    bentoml = str(Path(sys.executable).with_name("bentoml"))
    return [bentoml, "serve", model.service, "--host", host, "--port", str(port)]


def settings_environment(settings: Settings) -> dict[str, str]:
    """Every setting as the ``LAKEHOUSE_*`` variable that reproduces it in a child process."""
    environment = {}
    for name in Settings.model_fields:
        value = getattr(settings, name)
        text = ",".join(sorted(value)) if isinstance(value, frozenset) else str(value)
        environment[f"LAKEHOUSE_{name.upper()}"] = text
    environment["LAKEHOUSE_HOME"] = str(settings.home_dir)
    # MLflow reads this before our code runs; it must name the same store as the settings.
    environment["MLFLOW_TRACKING_URI"] = settings.mlflow_uri
    environment["BENTOML_HOME"] = str(settings.home_dir / "bentoml")
    return environment


def start_server(settings: Settings, model: ServedModel, port: int | None = None) -> ModelServer:
    """Start ``bentoml serve`` and return once ``/readyz`` answers 200; raises with the server's log otherwise."""
    port = port or model.port(settings)
    log_path = settings.home_dir / "logs" / f"{model.name}-service-{port}.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            serve_command(model, port),
            cwd=PROJECT_ROOT,
            env=os.environ | settings_environment(settings),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    server = ModelServer(model.name, process, f"http://127.0.0.1:{port}", log_path, 0.0)
    try:
        _wait_until_ready(server)
    except BaseException:
        server.stop()
        raise
    server.started_in_s = time.monotonic() - started
    return server


def _wait_until_ready(server: ModelServer) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            exited = f"the {server.name} service exited ({server.process.returncode})"
            raise RuntimeError(f"{exited}:\n{_tail(server.log_path)}")
        try:
            if httpx.get(f"{server.url}/readyz", timeout=1.0).status_code == 200:
                return
        except httpx.TransportError:
            pass  # not listening yet
        time.sleep(0.2)
    late = f"the {server.name} service was not ready within {READY_TIMEOUT_S:.0f}s"
    raise TimeoutError(f"{late}:\n{_tail(server.log_path)}")


def _tail(path: Path, lines: int = 40) -> str:
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])


def _pid_file(settings: Settings, model: ServedModel) -> Path:
    return settings.home_dir / "serving" / f"{model.name}-service.pid"


def stop_detached_server(settings: Settings, model: ServedModel) -> bool:
    """Stop the server a previous `start_detached_server` left running; False when there was none."""
    from stack.processes import read_pid_file, stop

    owned = read_pid_file(_pid_file(settings, model))
    _pid_file(settings, model).unlink(missing_ok=True)
    if owned is None or not owned.alive():
        return False
    stop(owned)
    return True


def start_detached_server(settings: Settings, model: ServedModel, port: int | None = None) -> ModelServer:
    """Start the server to outlive this process (the main job leaves it up for you to try); any server of the same
    model started this way before is stopped first, so the new one loads the current champion."""
    import psutil

    stop_detached_server(settings, model)
    server = start_server(settings, model, port)
    pid_file = _pid_file(settings, model)
    pid_file.parent.mkdir(parents=True, exist_ok=True)
    pid_file.write_text(f"{server.process.pid} {psutil.Process(server.process.pid).create_time()}\n")
    return server
