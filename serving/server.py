"""Starting and stopping a model's BentoML HTTP server (any of ``serving.registry``) as a subprocess, for the
``lakehouse serve`` command, the main job and the tests.

The server gets this process's settings through ``LAKEHOUSE_*`` variables, so it reads the same MLflow store,
Redis and PostgreSQL; it runs in its own process group, so stopping it also stops the workers it forked.
"""

from __future__ import annotations

import hashlib
import json
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
    process: subprocess.Popen | None  # None: a detached server an earlier process started (``reused``)
    url: str
    log_path: Path
    started_in_s: float  # from spawning to ready; 0 for a reused server
    reused: bool = False
    spawned_at: float = 0.0  # time.monotonic() when the process was started

    def stop(self, timeout_s: float = 20.0) -> None:
        """SIGTERM, then SIGKILL after ``timeout_s``; the workers too (they run in sessions of their own)."""
        from stack.processes import descendants, reap

        if self.process is None or self.process.poll() is not None:
            return
        workers = descendants(self.process.pid)
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout_s)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout_s)
        reap(workers, timeout_s)


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
    server = _spawn(settings, model, port or model.port(settings))
    _ready(server)
    return server


def _log_path(settings: Settings, model: ServedModel, port: int) -> Path:
    return settings.home_dir / "logs" / f"{model.name}-service-{port}.log"


def _spawn(settings: Settings, model: ServedModel, port: int) -> ModelServer:
    log_path = _log_path(settings, model, port)
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
    return ModelServer(model.name, process, f"http://127.0.0.1:{port}", log_path, 0.0, spawned_at=started)


def _ready(server: ModelServer) -> None:
    """Wait for ``server`` and record how long it took to be ready."""
    try:
        _wait_until_ready(server)
    except BaseException:
        server.stop()
        raise
    server.started_in_s = time.monotonic() - server.spawned_at


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


def _identity_file(settings: Settings, model: ServedModel) -> Path:
    return settings.home_dir / "serving" / f"{model.name}-service.json"


# The packages a service imports: a change to any of their files means a running server runs old code.
_SERVED_CODE = ("serving", "models", "features", "lakehouse", "ingest", "pipelines")


def code_fingerprint(root: Path = PROJECT_ROOT) -> str:
    """A digest of the path, size and modification time of every Python file a service may import."""
    digest = hashlib.sha256()
    for package in _SERVED_CODE:
        for path in sorted((root / package).rglob("*.py")):
            stat = path.stat()
            digest.update(f"{path.relative_to(root)} {stat.st_size} {stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()


def _identity(settings: Settings, model: ServedModel, port: int, champion: str) -> dict[str, object]:
    """What a detached server was started for: a running one is kept only when all of it is the same."""
    environment = json.dumps(settings_environment(settings), sort_keys=True)
    return {
        "champion": champion,
        "port": port,
        "settings_sha256": hashlib.sha256(environment.encode()).hexdigest(),
        "code": code_fingerprint(),
    }


def stop_detached_server(settings: Settings, model: ServedModel) -> bool:
    """Stop the server a previous `start_detached_server` left running; False when there was none."""
    from stack.processes import read_pid_file, stop

    owned = read_pid_file(_pid_file(settings, model))
    _pid_file(settings, model).unlink(missing_ok=True)
    _identity_file(settings, model).unlink(missing_ok=True)
    if owned is None or not owned.alive():
        return False
    stop(owned)
    return True


def _running_for(settings: Settings, model: ServedModel, identity: dict[str, object]) -> ModelServer | None:
    """The detached server of ``model`` if it is alive, ready and was started for ``identity``."""
    from stack.processes import read_pid_file

    owned = read_pid_file(_pid_file(settings, model))
    try:
        recorded = json.loads(_identity_file(settings, model).read_text())
    except (OSError, ValueError):
        return None
    if owned is None or not owned.alive() or recorded != identity:
        return None
    url = f"http://127.0.0.1:{identity['port']}"
    try:
        if httpx.get(f"{url}/readyz", timeout=2.0).status_code != 200:
            return None
    except httpx.TransportError:
        return None
    return ModelServer(model.name, None, url, _log_path(settings, model, int(identity["port"])), 0.0, reused=True)


def start_detached_server(
    settings: Settings, model: ServedModel, port: int | None = None, *, champion: str | None = None
) -> ModelServer:
    """Start the server to outlive this process (the main job leaves it up for you to try); any server of the same
    model started this way before is stopped first, so the new one loads the current champion.

    With ``champion`` (the version the caller expects it to serve), a detached server started earlier for the same
    champion, port, settings and code is kept as it is (``reused``): a re-run of the main job does not bounce the
    services it left up. Without it, the server always restarts (``lakehouse serve``)."""
    [server] = _start_detached(settings, [(model, champion, port or model.port(settings))])
    return server


def start_detached_servers(settings: Settings, wanted: list[tuple[ServedModel, str | None]]) -> list[ModelServer]:
    """``start_detached_server`` for several models (each on its configured port) at once: the ones that must start
    load side by side (each takes 20-30 s, mostly imports and model loading); returns when all of them answer."""
    return _start_detached(settings, [(model, champion, model.port(settings)) for model, champion in wanted])


def _start_detached(settings: Settings, wanted: list[tuple[ServedModel, str | None, int]]) -> list[ModelServer]:
    from stack.processes import owned_process

    servers: list[ModelServer] = []
    for model, champion, chosen_port in wanted:
        identity = _identity(settings, model, chosen_port, champion) if champion is not None else None
        if identity is not None and (running := _running_for(settings, model, identity)) is not None:
            servers.append(running)
            continue
        stop_detached_server(settings, model)
        server = _spawn(settings, model, chosen_port)
        pid_file = _pid_file(settings, model)
        pid_file.parent.mkdir(parents=True, exist_ok=True)
        pid_file.write_text(owned_process(server.process.pid).line())
        if identity is not None:
            _identity_file(settings, model).write_text(json.dumps(identity, sort_keys=True))
        servers.append(server)
    try:
        for server in servers:
            if not server.reused:
                _ready(server)
    except BaseException:
        for model, _, _ in wanted:
            stop_detached_server(settings, model)
        raise
    return servers
