"""`lakehouse ui dagster|mlflow`: the UI as a child process group that says where it answers and stops whole.

`dagster dev` starts a webserver, a daemon and a code server; on SIGTERM it left them running, and they ignored
SIGTERM and SIGINT for over 40 s. So the UI runs in its own process group: on SIGTERM or Ctrl-C (or when the UI
exits by itself) the whole group gets SIGTERM, and whatever is left after a grace period gets SIGKILL, including
any descendant that moved to a group of its own. The command returns only once none of them is left.

Descendants are found twice over: as children of the UI's process (polled while it runs), and by a variable only
this UI's processes inherit (``LAKEHOUSE_UI_RUN``). A code server started, or orphaned by its parent's exit, in
the moment of the stop is no child any more; it still carries the variable (found in a CI run: one outlived the stop
by 45 s, until its heartbeat timed out).
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
import uuid
from collections.abc import Callable

import httpx
import psutil

from lakehouse.settings import PROJECT_ROOT

GRACE_S = 10.0
READY_TIMEOUT_S = 300.0
RUN_VARIABLE = "LAKEHOUSE_UI_RUN"


class Stop(Exception):
    """SIGTERM or SIGINT reached the command."""


def _raise_stop(signum: int, _frame: object) -> None:
    raise Stop(signal.Signals(signum).name)


def answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code < 500
    except httpx.HTTPError:
        return False


def marked(run: str) -> set[psutil.Process]:
    """The processes whose environment holds ``LAKEHOUSE_UI_RUN=<run>``: one UI's, wherever they moved."""
    found = set()
    for candidate in psutil.process_iter():
        with contextlib.suppress(psutil.Error):
            if candidate.pid != os.getpid() and candidate.environ().get(RUN_VARIABLE) == run:
                found.add(candidate)
    return found


def stop_tree(
    process: subprocess.Popen, known: set[psutil.Process], grace_s: float = GRACE_S, run: str | None = None
) -> list[int]:
    """SIGTERM to the group, every known descendant and every process marked with ``run``, SIGKILL to what outlives
    ``grace_s``; the pids killed."""
    with contextlib.suppress(psutil.NoSuchProcess):
        known |= set(psutil.Process(process.pid).children(recursive=True))
        if process.poll() is None:
            known.add(psutil.Process(process.pid))
    if run is not None:
        known |= marked(run)
    tree = [member for member in known if member.is_running()]
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGTERM)
    for member in tree:
        with contextlib.suppress(psutil.NoSuchProcess):
            member.terminate()
    _, alive = psutil.wait_procs(tree, timeout=grace_s)
    for member in alive:
        with contextlib.suppress(psutil.NoSuchProcess):
            member.kill()
    psutil.wait_procs(alive, timeout=grace_s)
    process.wait()
    return [member.pid for member in alive]


def run_ui(name: str, command: list[str], env: dict[str, str], url: str, say: Callable[[str], None] = print) -> int:
    """Start ``command``, say ``url`` once it answers, and run until it exits or the command is stopped."""
    say(f"starting {name}: {' '.join(command)}")
    started = time.monotonic()
    run = uuid.uuid4().hex
    environment = {**os.environ, **env, RUN_VARIABLE: run}
    process = subprocess.Popen(command, cwd=PROJECT_ROOT, env=environment, start_new_session=True)
    known: set[psutil.Process] = set()
    previous = {sig: signal.signal(sig, _raise_stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        while not answers(url):
            if process.poll() is not None:
                say(f"{name} exited with {process.returncode} before answering")
                return process.returncode or 1
            if time.monotonic() - started > READY_TIMEOUT_S:
                say(f"{name} did not answer at {url} within {READY_TIMEOUT_S:.0f}s; stopping it")
                return 1
            time.sleep(0.5)
        say(f"{name} is at {url} (answered after {time.monotonic() - started:.1f}s); Ctrl-C stops it")
        while process.poll() is None:  # remember the descendants: one may leave the group before the end
            known |= set(psutil.Process(process.pid).children(recursive=True))
            time.sleep(1.0)
        return process.returncode
    except Stop as stop:
        say(f"{stop}: stopping {name}")
        return 0
    finally:
        killed = stop_tree(process, known, run=run)
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        if killed:
            say(f"{name}: {len(killed)} processes ignored SIGTERM for {GRACE_S:.0f}s and were killed")
        say(f"{name} stopped")
