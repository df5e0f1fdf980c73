"""The stack manager's logic, driven with a real (tiny) server process: Python's http.server."""

from __future__ import annotations

import os
import signal
import socket
import sys
import time
import urllib.request

import psutil
import pytest
from ports import free_port

from lakehouse.settings import Settings
from stack import processes
from stack.manager import Stack
from stack.service import LocalService, ServiceError


class HttpService(LocalService):
    """Stands in for a server: a real process, a real port, a real round trip."""

    name = "redis"  # borrows redis's settings slot so the address comes from settings like any service

    def command(self) -> list[str]:
        return [sys.executable, "-m", "http.server", str(self.port), "--bind", self.host]

    def check(self, timeout_s: float = 5.0) -> str:
        with urllib.request.urlopen(f"http://{self.address}/", timeout=timeout_s) as response:
            return f"HTTP {response.status}"


class CrashingService(HttpService):
    def command(self) -> list[str]:
        return [sys.executable, "-c", "import sys; print('config file is broken'); sys.exit(3)"]


@pytest.fixture
def settings(tmp_path) -> Settings:
    return Settings(home=tmp_path, redis_url=f"redis://127.0.0.1:{free_port()}/0", service_start_timeout_s=20)


@pytest.fixture
def stack(settings):
    stack = Stack(settings, services=[HttpService(settings)])
    yield stack
    stack.down(progress=lambda _: None)


def quiet(_line: str) -> None:
    pass


def test_up_starts_and_waits_for_a_real_round_trip(stack):
    (status,) = stack.up(progress=quiet)
    assert status.healthy and status.local and status.pid
    assert status.detail == "HTTP 200"
    assert status.rss_bytes > 1_000_000


def test_up_is_idempotent_and_reuses_the_healthy_process(stack):
    first = stack.up(progress=quiet)[0].pid
    lines: list[str] = []
    second = stack.up(progress=lines.append)[0].pid
    assert first == second
    assert any("already running" in line for line in lines)


def test_dead_service_is_reported_then_restarted_by_up(stack):
    pid = stack.up(progress=quiet)[0].pid
    os.kill(pid, signal.SIGKILL)
    time.sleep(0.3)
    processes.exit_code(processes.read_pid_file(stack.services[0].pid_file))
    (status,) = stack.status()
    assert not status.healthy and "dead" in status.detail
    lines: list[str] = []
    (restarted,) = stack.up(progress=lines.append)
    assert restarted.healthy and restarted.pid != pid
    assert any("died; restarting" in line for line in lines)


def test_taken_port_names_the_service_port_and_owner(settings, stack):
    with socket.socket() as squatter:
        squatter.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        squatter.bind(("127.0.0.1", settings.address("redis")[1]))
        squatter.listen()
        with pytest.raises(ServiceError) as caught:
            stack.up(progress=quiet)
    message = str(caught.value)
    assert message.startswith("redis: port ")
    assert f"pid {os.getpid()}" in message


def test_crash_during_start_reports_exit_code_and_log_tail(settings):
    stack = Stack(settings, services=[CrashingService(settings)])
    with pytest.raises(ServiceError) as caught:
        stack.up(progress=quiet)
    assert caught.value.service == "redis"
    assert "exit code 3" in caught.value.reason
    assert "config file is broken" in caught.value.log_tail


def test_down_stops_only_what_the_project_started(stack, settings):
    stranger = processes.spawn(
        [sys.executable, "-c", "import time; time.sleep(60)"],
        cwd=settings.home_dir,
        log_file=settings.home_dir / "stranger.log",
        pid_file=settings.home_dir / "s.pid",
    )
    try:
        pid = stack.up(progress=quiet)[0].pid
        stack.down(progress=quiet)
        assert not _running(pid)
        assert stranger.alive()
    finally:
        processes.stop(stranger)


def test_unknown_service_name_lists_the_known_ones(stack):
    with pytest.raises(ServiceError, match="kafak: unknown service; known: redis"):
        stack.status(["kafak"])


def test_external_service_is_checked_not_started(tmp_path):
    settings = Settings(home=tmp_path, redis_url=f"redis://127.0.0.1:{free_port()}/0", external_services="redis")
    stack = Stack(settings, services=[HttpService(settings)])
    with pytest.raises(ServiceError, match="redis: external service at 127.0.0.1:.* does not answer"):
        stack.up(progress=quiet)
    assert not stack.services[0].pid_file.exists()


def _running(pid: int, within_s: float = 5.0) -> bool:
    """Still executing ``within_s`` from now. A process that exited but that its parent has not reaped (a zombie, as
    one caught mid-exit by ``stop``'s reap becomes) has stopped, as ``OwnedProcess.alive`` also says."""
    deadline = time.monotonic() + within_s
    while True:
        try:
            if psutil.Process(pid).status() == psutil.STATUS_ZOMBIE:
                return False
        except psutil.NoSuchProcess:
            return False
        if time.monotonic() > deadline:
            return True
        time.sleep(0.1)


def test_concurrent_ups_start_one_server_not_two(settings):
    from concurrent.futures import ThreadPoolExecutor

    stacks = [Stack(settings, services=[HttpService(settings)]) for _ in range(2)]
    try:
        with ThreadPoolExecutor(max_workers=2) as pool:
            results = list(pool.map(lambda stack: stack.up(progress=quiet)[0], stacks))
        assert results[0].pid == results[1].pid
        assert all(result.healthy for result in results)
    finally:
        stacks[0].down(progress=quiet)


def test_a_stepped_clock_does_not_make_a_running_server_look_dead(stack, settings):
    status = stack.up(progress=quiet)[0]
    (service,) = stack.services
    owned = processes.read_pid_file(service.pid_file)
    assert owned is not None and owned.ticks == processes.start_ticks(status.pid) and owned.alive()
    # The wall clock was stepped an hour since the pid file was written (a laptop woke up): the boot-relative start
    # still names the same process, so it is still ours, and `down` stops it.
    service.pid_file.write_text(processes.OwnedProcess(owned.pid, owned.started_at - 3600, owned.ticks).line())
    assert stack.status()[0].pid == status.pid
    stack.down(progress=quiet)
    assert not _running(status.pid)


def test_a_recycled_pid_is_not_ours_and_an_old_pid_file_still_reads(settings):
    me = processes.owned_process(os.getpid())
    assert me.alive()
    assert not processes.OwnedProcess(me.pid, me.started_at, me.ticks + 1).alive()  # same pid, another start
    legacy = settings.home_dir / "legacy.pid"
    legacy.write_text(f"{me.pid} {me.started_at}\n")  # written before ticks were recorded
    assert processes.read_pid_file(legacy) == processes.OwnedProcess(me.pid, me.started_at) and me.alive()
