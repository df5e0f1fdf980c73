"""Notebooks run in turn share one kernel (what the kernel holds outside the namespace stays: the Spark session),
but each starts without the names the one before defined."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
from nbclient.exceptions import CellExecutionError

from entrypoints.notebooks import FIGURES_TAG, run_notebooks
from lakehouse.settings import Settings


def notebook(path: Path, *sources: str) -> Path:
    cells = [nbformat.v4.new_code_cell(source) for source in sources]
    cells[-1].metadata["tags"] = [FIGURES_TAG]
    nbformat.write(nbformat.v4.new_notebook(cells=cells), path)
    return path


def test_the_kernel_is_shared_and_each_notebook_starts_without_the_last_ones_names(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path / "home")
    first = notebook(
        tmp_path / "first.ipynb",
        "import json, os, sys\nsys.kept_by_the_kernel = os.getpid()\nleft_behind = 1",
        'print(json.dumps({"pid": os.getpid()}))',
    )
    second = notebook(
        tmp_path / "second.ipynb",
        "import json, os, sys",
        'print(json.dumps({"pid": os.getpid(), "kept": sys.kept_by_the_kernel, "names": "left_behind" in dir()}))',
    )
    one, two = run_notebooks([first, second], settings)
    assert two.figures == {"pid": one.figures["pid"], "kept": one.figures["pid"], "names": False}
    assert two.saved_to == settings.home_dir / "notebooks" / "second.ipynb" and two.saved_to.exists()


def test_a_notebook_using_a_name_only_the_one_before_defined_fails(tmp_path: Path) -> None:
    settings = Settings(home=tmp_path / "home")
    first = notebook(tmp_path / "first.ipynb", "import json\nshared = 41", "print(json.dumps({}))")
    second = notebook(tmp_path / "second.ipynb", "print(shared + 1)")
    runs = run_notebooks([first, second], settings)
    next(runs)
    with pytest.raises(CellExecutionError, match="NameError"):
        next(runs)
