"""A detached model server is kept across main-job runs only while it serves the same code: any edit to a file a
service imports changes the fingerprint, so the next run restarts it."""

from __future__ import annotations

import os
from pathlib import Path

from serving.server import code_fingerprint


def test_the_code_fingerprint_follows_every_served_file(tmp_path: Path) -> None:
    module = tmp_path / "serving" / "fraud" / "service.py"
    module.parent.mkdir(parents=True)
    module.write_text("ANSWER = 1\n")
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "training.py").write_text("")
    (tmp_path / "tests").mkdir()
    first = code_fingerprint(tmp_path)
    assert code_fingerprint(tmp_path) == first

    (tmp_path / "tests" / "test_x.py").write_text("")  # not served: no change
    assert code_fingerprint(tmp_path) == first
    stat = module.stat()
    os.utime(module, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1))  # touched, same size
    touched = code_fingerprint(tmp_path)
    assert touched != first
    (tmp_path / "models" / "new.py").write_text("")  # a new module
    assert code_fingerprint(tmp_path) not in (first, touched)
