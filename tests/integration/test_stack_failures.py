"""Failure paths on a real server (Redis, the quickest to start): each message names the service."""

from __future__ import annotations

import os
import signal
import socket
import time

import pytest
from ports import free_port

from entrypoints.cli import main
from lakehouse.settings import Settings
from stack import processes
from stack.manager import Stack
from stack.services.redis import RedisService

pytestmark = pytest.mark.integration


@pytest.fixture
def redis_stack(tmp_path):
    settings = Settings(home=tmp_path, redis_url=f"redis://127.0.0.1:{free_port()}/0")
    stack = Stack(settings, services=[RedisService(settings)])
    yield stack
    stack.down(progress=lambda _: None)


def test_redis_that_dies_is_reported_and_restarted(redis_stack):
    (status,) = redis_stack.up(progress=lambda _: None)
    assert status.healthy and status.detail.startswith("Redis ")
    os.kill(status.pid, signal.SIGKILL)
    time.sleep(0.3)
    processes.exit_code(processes.read_pid_file(redis_stack.services[0].pid_file))
    (dead,) = redis_stack.status()
    assert not dead.healthy and dead.detail.startswith("dead (pid")
    (again,) = redis_stack.up(progress=lambda _: None)
    assert again.healthy and again.pid != status.pid


def test_port_taken_by_another_process_is_named(redis_stack):
    port = redis_stack.settings.address("redis")[1]
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", port))
        squatter.listen()
        with pytest.raises(Exception, match=rf"^redis: port {port} on 127.0.0.1 is already taken by pid {os.getpid()}"):
            redis_stack.up(progress=lambda _: None)


def test_cli_status_names_a_service_that_is_down(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("LAKEHOUSE_HOME", str(tmp_path))
    monkeypatch.setenv("LAKEHOUSE_REDIS_URL", f"redis://127.0.0.1:{free_port()}/0")
    assert main(["stack", "status", "redis"]) == 1
    assert "redis " in (out := capsys.readouterr().out) and "DOWN: not running" in out
