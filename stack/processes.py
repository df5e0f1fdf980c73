"""Start, find and stop the server processes this project owns, and nothing else.

A pid file records the pid *and* its start time, so a recycled pid never makes us adopt or kill a stranger. On
Linux the start is also kept as the kernel counts it, in clock ticks since boot: a wall-clock start time (psutil's
``create_time``, boot time + ticks) moves when the clock is stepped (a laptop waking up, a paused VM resumed), and
a server that was running would then look dead: `stack down` left it running and `stack up` found its port taken.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import psutil


def start_ticks(pid: int) -> int | None:
    """When ``pid`` started, in clock ticks since boot (``/proc/<pid>/stat`` field 22); None off Linux or when gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name (field 2) is in parentheses and may hold spaces or ')': count fields after the last ')'.
    return int(stat[stat.rindex(")") + 2 :].split()[19])


@dataclass(frozen=True)
class OwnedProcess:
    pid: int
    started_at: float
    ticks: int | None = None  # start_ticks at spawn; None in pid files written before it was recorded

    def alive(self) -> bool:
        try:
            process = psutil.Process(self.pid)
            if process.status() == psutil.STATUS_ZOMBIE:
                return False
            if self.ticks is not None:
                return start_ticks(self.pid) == self.ticks
            return abs(process.create_time() - self.started_at) < 1.0
        except psutil.Error:
            return False

    def line(self) -> str:
        """The pid file's content."""
        return f"{self.pid} {self.started_at}" + ("" if self.ticks is None else f" {self.ticks}") + "\n"

    def rss_bytes(self) -> int:
        """Resident memory of the server and its children (PostgreSQL forks a process per backend)."""
        try:
            root = psutil.Process(self.pid)
            tree = [root, *root.children(recursive=True)]
        except psutil.Error:
            return 0
        total = 0
        for process in tree:
            with contextlib.suppress(psutil.Error):
                total += process.memory_info().rss
        return total


def owned_process(pid: int) -> OwnedProcess:
    """A running process as a pid file records it."""
    return OwnedProcess(pid, psutil.Process(pid).create_time(), start_ticks(pid))


def read_pid_file(path: Path) -> OwnedProcess | None:
    try:
        pid, started_at, *ticks = path.read_text().split()
        return OwnedProcess(int(pid), float(started_at), int(ticks[0]) if ticks else None)
    except (OSError, ValueError, IndexError):
        return None


def spawn(
    command: list[str],
    *,
    cwd: Path,
    log_file: Path,
    pid_file: Path,
    env: dict[str, str] | None = None,
    user: str | None = None,
) -> OwnedProcess:
    """Start ``command`` detached in its own session, appending output to ``log_file``."""
    log_file.parent.mkdir(parents=True, exist_ok=True)
    with log_file.open("ab") as log:
        log.write(f"\n=== {time.strftime('%Y-%m-%d %H:%M:%S')} starting: {' '.join(command)}\n".encode())
        log.flush()
        process = subprocess.Popen(
            command,
            cwd=cwd,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env={**os.environ, **(env or {})},
            start_new_session=True,
            user=user,
        )
    owned = owned_process(process.pid)
    pid_file.write_text(owned.line())
    return owned


def exit_code(owned: OwnedProcess) -> int | None:
    """Reap a child we started so it does not linger as a zombie; its exit code when it has one."""
    with contextlib.suppress(ChildProcessError, OSError):
        pid, status = os.waitpid(owned.pid, os.WNOHANG)
        if pid == owned.pid:
            return os.waitstatus_to_exitcode(status)
    return None


def descendants(pid: int) -> list[psutil.Process]:
    """Every process below ``pid``, wherever it moved: BentoML starts its workers in sessions of their own, so a
    signal to the server's process group misses them, and a worker left behind keeps serving on the inherited
    socket."""
    try:
        return psutil.Process(pid).children(recursive=True)
    except psutil.Error:
        return []


def reap(tree: list[psutil.Process], timeout_s: float) -> None:
    """Wait up to ``timeout_s`` for ``tree`` to exit, then SIGKILL what is left of it."""
    _, left = psutil.wait_procs(tree, timeout=timeout_s)
    for member in left:
        with contextlib.suppress(psutil.Error):
            member.kill()
    psutil.wait_procs(left, timeout=10)


def kill_tree(pid: int) -> None:
    """SIGKILL ``pid``'s group and every descendant at once (a crash of the whole server, not of its parent)."""
    tree = descendants(pid)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)
    reap(tree, 0)


def stop(owned: OwnedProcess, grace_s: float = 30.0) -> None:
    """SIGTERM the process group, then SIGKILL whatever is left of it and its descendants after ``grace_s``."""
    if not owned.alive():
        return
    tree = descendants(owned.pid)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(owned.pid, signal.SIGTERM)
    deadline = time.monotonic() + grace_s
    while owned.alive() and time.monotonic() < deadline:
        exit_code(owned)
        time.sleep(0.2)
    if owned.alive():
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(owned.pid, signal.SIGKILL)
        time.sleep(0.2)
    exit_code(owned)
    reap(tree, max(1.0, deadline - time.monotonic()))


def port_owner(host: str, port: int) -> str | None:
    """Who already listens on ``host:port`` ("pid 123 (java)"), or None when the port is free."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
            return None
        except OSError:
            pass
    for conn in psutil.net_connections(kind="tcp"):
        if conn.status == psutil.CONN_LISTEN and conn.laddr and conn.laddr.port == port:
            try:
                return f"pid {conn.pid} ({psutil.Process(conn.pid).name()})" if conn.pid else "another process"
            except psutil.Error:
                return f"pid {conn.pid}"
    return "another process"


def tail(path: Path, lines: int = 30) -> str:
    try:
        with path.open("rb") as handle:
            handle.seek(0, os.SEEK_END)
            handle.seek(max(0, handle.tell() - 64_000))
            text = handle.read().decode(errors="replace")
        # Our own start-up header carries the whole classpath: cut long lines so the reason stays readable.
        return "\n".join(line if len(line) <= 400 else line[:400] + " …" for line in text.splitlines()[-lines:])
    except OSError:
        return ""
