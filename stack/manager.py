"""`lakehouse stack up | down | status | logs`: the local servers as one idempotent unit.

``up`` reuses healthy services, restarts dead ones and waits for a real client round trip. On 2 cores the JVM
services (Cassandra, then Kafka) boot one at a time while the light ones start beside them.
"""

from __future__ import annotations

import contextlib
import fcntl
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from lakehouse.settings import Settings
from stack import processes
from stack.service import LocalService, ServiceError

Progress = Callable[[str], None]


@dataclass(frozen=True)
class ServiceStatus:
    name: str
    address: str
    local: bool
    pid: int | None
    healthy: bool
    rss_bytes: int
    detail: str


class Stack:
    def __init__(self, settings: Settings, services: list[LocalService] | None = None) -> None:
        self.settings = settings
        if services is None:
            from stack.registry import all_services  # the service modules import their client libraries

            services = all_services(settings)
        self.services = services

    def select(self, names: Iterable[str] | None) -> list[LocalService]:
        if not names:
            return list(self.services)
        known = {service.name: service for service in self.services}
        unknown = [name for name in names if name not in known]
        if unknown:
            raise ServiceError(", ".join(unknown), f"unknown service; known: {', '.join(known)}")
        wanted = set(names)
        return [service for service in self.services if service.name in wanted]

    @contextlib.contextmanager
    def _exclusive(self, progress: Progress) -> Iterator[None]:
        """One `up`/`down` at a time per data folder: two racing `up`s would start two servers on one data dir."""
        lock_file = self.settings.home_dir / "stack" / ".lock"
        lock_file.parent.mkdir(parents=True, exist_ok=True)
        with lock_file.open("w") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                progress("waiting for another `lakehouse stack` command to finish")
                fcntl.flock(handle, fcntl.LOCK_EX)
            yield

    def up(self, names: Iterable[str] | None = None, progress: Progress = print) -> list[ServiceStatus]:
        """Bring every selected service to healthy; returns their status, raises ServiceError on the first failure."""
        with self._exclusive(progress):
            self._up(list(self.select(names)), progress)
        return self.status(names)

    def _up(self, services: list[LocalService], progress: Progress) -> None:
        booting: list[tuple[LocalService, processes.OwnedProcess, float]] = []
        for service in services:
            if not self.settings.is_local(service.name):
                self._check_external(service, progress)
                continue
            if service.heavy:
                # Let the previous JVM finish booting before the next one competes for the cores.
                self._await_all(booting, progress)
                booting.clear()
            started = self._ensure_started(service, progress)
            if started is not None:
                booting.append((service, started, time.monotonic()))
                if not service.heavy:
                    self._await_all(booting[-1:], progress)
                    booting.pop()
        self._await_all(booting, progress)

    def down(self, names: Iterable[str] | None = None, progress: Progress = print) -> None:
        """Stop the services this project started (in reverse order); leaves external ones alone."""
        with self._exclusive(progress):
            for service in reversed(self.select(names)):
                owned = processes.read_pid_file(service.pid_file)
                if owned is not None and owned.alive():
                    progress(f"stopping {service.name} (pid {owned.pid})")
                    processes.stop(owned)
                service.pid_file.unlink(missing_ok=True)

    def status(self, names: Iterable[str] | None = None) -> list[ServiceStatus]:
        return [self._status_of(service) for service in self.select(names)]

    def logs(self, name: str, lines: int = 50) -> str:
        (service,) = self.select([name])
        if not service.log_file.exists():
            raise ServiceError(name, f"no log yet at {service.log_file} (has it been started?)")
        return processes.tail(service.log_file, lines)

    def _status_of(self, service: LocalService) -> ServiceStatus:
        local = self.settings.is_local(service.name)
        owned = processes.read_pid_file(service.pid_file) if local else None
        alive = owned is not None and owned.alive()
        if local and not alive:
            detail = "not running" if owned is None else f"dead (pid {owned.pid} is gone): run `lakehouse stack up`"
            return ServiceStatus(service.name, service.address, local, None, False, 0, detail)
        try:
            detail, healthy = service.check(timeout_s=5.0), True
        except Exception as error:  # any client failure means "not healthy"; the reason is shown
            detail, healthy = f"not answering: {error}", False
        pid = owned.pid if alive and owned else None
        rss = owned.rss_bytes() if alive and owned else 0
        return ServiceStatus(service.name, service.address, local, pid, healthy, rss, detail)

    def _check_external(self, service: LocalService, progress: Progress) -> None:
        try:
            detail = service.check(timeout_s=10.0)
        except Exception as error:
            raise ServiceError(
                service.name, f"external service at {service.address} does not answer: {error}"
            ) from error
        progress(f"{service.name}: external at {service.address}, healthy ({detail})")

    def _ensure_started(self, service: LocalService, progress: Progress) -> processes.OwnedProcess | None:
        """Start ``service`` unless a healthy instance of ours runs; returns the new process or None."""
        owned = processes.read_pid_file(service.pid_file)
        if owned is not None and owned.alive():
            try:
                detail = service.check(timeout_s=5.0)
                progress(f"{service.name}: already running at {service.address} (pid {owned.pid}, {detail})")
                return None
            except Exception:
                progress(f"{service.name}: pid {owned.pid} runs but does not answer; restarting it")
                processes.stop(owned)
        elif owned is not None:
            progress(f"{service.name}: previous process (pid {owned.pid}) died; restarting it")
        for port in service.ports():
            taker = processes.port_owner(service.host, port)
            if taker is not None:
                raise ServiceError(
                    service.name,
                    f"port {port} on {service.host} is already taken by {taker}; "
                    f"stop it or point LAKEHOUSE_* at another address",
                )
        service.prepare()
        command = service.command()
        progress(f"{service.name}: starting on {service.address} (log: {service.log_file})")
        return processes.spawn(
            command,
            cwd=service.folder,
            log_file=service.log_file,
            pid_file=service.pid_file,
            env=service.environment(),
            user=service.run_as_user(),
        )

    def _await_all(self, booting: list[tuple[LocalService, processes.OwnedProcess, float]], progress: Progress) -> None:
        for service, owned, started in booting:
            self._await_ready(service, owned, started, progress)

    def _await_ready(
        self, service: LocalService, owned: processes.OwnedProcess, started: float, progress: Progress
    ) -> None:
        deadline = started + self.settings.service_start_timeout_s
        last_error: Exception | None = None
        while time.monotonic() < deadline:
            if not owned.alive():
                code = processes.exit_code(owned)
                service.pid_file.unlink(missing_ok=True)
                raise ServiceError(
                    service.name,
                    f"the server exited during start-up (exit code {code})",
                    processes.tail(service.log_file),
                )
            try:
                detail = service.check(timeout_s=5.0)
                progress(f"{service.name}: healthy after {time.monotonic() - started:.1f}s ({detail})")
                return
            except Exception as error:
                last_error = error
                time.sleep(0.5)
        processes.stop(owned)
        service.pid_file.unlink(missing_ok=True)
        raise ServiceError(
            service.name,
            f"not ready after {self.settings.service_start_timeout_s:.0f}s (last check: {last_error})",
            processes.tail(service.log_file),
        )
