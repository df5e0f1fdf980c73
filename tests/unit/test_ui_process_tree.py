"""The UI command's stop reaches every process of its run: a child, and a grandchild that left the group and was
orphaned (no longer anyone's child), found by the run's variable."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import psutil

from entrypoints.ui import RUN_VARIABLE, marked, stop_tree

# The child starts a grandchild in a session of its own, prints its pid and exits: the grandchild is orphaned.
ORPHANING = (
    "import subprocess, sys; "
    "g = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'], start_new_session=True); "
    "print(g.pid, flush=True)"
)


def test_a_stop_finds_and_ends_an_orphaned_grandchild_by_the_runs_variable() -> None:
    run, other = "run-under-test", "another-run"
    env = {**os.environ, RUN_VARIABLE: run}
    parent = subprocess.Popen([sys.executable, "-c", ORPHANING], env=env, stdout=subprocess.PIPE, text=True)
    grandchild = psutil.Process(int(parent.stdout.readline()))
    parent.wait()
    stranger = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"], env={**env, RUN_VARIABLE: other})
    try:
        assert grandchild.ppid() != parent.pid  # orphaned: no parent of ours knows it
        assert {process.pid for process in marked(run)} == {grandchild.pid}
        holder = subprocess.Popen([sys.executable, "-c", "pass"], start_new_session=True)
        holder.wait()
        stop_tree(holder, set(), grace_s=5.0, run=run)
        deadline = time.monotonic() + 5
        while grandchild.is_running() and grandchild.status() != psutil.STATUS_ZOMBIE and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not grandchild.is_running() or grandchild.status() == psutil.STATUS_ZOMBIE
        assert stranger.poll() is None  # another run's process is left alone
    finally:
        stranger.kill()
        stranger.wait()
        if grandchild.is_running():
            grandchild.kill()
