"""The notebooks in `notebooks/`, run headless: each executed top to bottom on the project's environment, the
executed copy (outputs, plots) written to `var/notebooks/`, and the key figures a notebook prints from its cell
tagged ``figures`` (one line of JSON) returned, for CI to check against the tables.

`lakehouse notebooks run` does this for every notebook; `lakehouse ui notebooks` opens them in JupyterLab.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import nbformat
from nbclient import NotebookClient

from lakehouse.settings import PROJECT_ROOT, Settings

NOTEBOOKS_DIR = PROJECT_ROOT / "notebooks"
FIGURES_TAG = "figures"
CELL_TIMEOUT_S = 900


@dataclass(frozen=True)
class Executed:
    name: str
    seconds: float
    figures: dict[str, object]
    images: int  # plots among the outputs
    saved_to: Path


def notebooks() -> list[Path]:
    return sorted(NOTEBOOKS_DIR.glob("*.ipynb"))


@contextmanager
def _environment(overrides: dict[str, str]) -> Iterator[None]:
    """The kernel inherits this process's environment: the LAKEHOUSE_* settings the notebook reads."""
    before = {key: os.environ.get(key) for key in overrides}
    os.environ.update(overrides)
    try:
        yield
    finally:
        for key, value in before.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def figures_of(notebook: nbformat.NotebookNode) -> dict[str, object]:
    for cell in notebook.cells:
        if cell.cell_type == "code" and FIGURES_TAG in cell.metadata.get("tags", []):
            text = "".join(out.get("text", "") for out in cell.outputs if out.output_type == "stream")
            return json.loads(text.strip().splitlines()[-1])
    return {}


def run_notebook(path: Path, settings: Settings, env: dict[str, str] | None = None) -> Executed:
    """Execute ``path`` in a fresh kernel; a failing cell raises (nbclient's CellExecutionError names it)."""
    return next(run_notebooks([path], settings, env))


def run_notebooks(paths: list[Path], settings: Settings, env: dict[str, str] | None = None) -> Iterator[Executed]:
    """Execute ``paths`` in turn in one kernel, its namespace reset (``%reset -f``) before each but the first.

    As notebooks attached to one Databricks cluster: each starts without the last one's names, so one that leans on
    another's variable or import still fails, while the Spark session the first started stays up and the next
    notebook's own ``spark_session`` call gets it back (``getOrCreate``) instead of starting a JVM (~20 s each).
    Yields each notebook once run. A failing cell raises (nbclient's CellExecutionError names it); the kernel is
    shut down either way.
    """
    client = NotebookClient(
        nbformat.v4.new_notebook(),
        timeout=CELL_TIMEOUT_S,
        kernel_name="python3",
        resources={"metadata": {"path": str(NOTEBOOKS_DIR)}},
    )
    client.km = client.create_kernel_manager()
    try:
        with _environment(env or {}):  # the kernel inherits this environment as it starts
            client.start_new_kernel()
        for position, path in enumerate(paths):
            if position:
                _execute(client, nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("%reset -f")]))
            notebook = nbformat.read(path, as_version=4)
            started = time.monotonic()
            _execute(client, notebook)
            yield _saved(path, notebook, time.monotonic() - started, settings)
    finally:
        if client.km is not None:
            client._cleanup_kernel()  # nbclient's own shutdown (kernel and channels); public API has none for this


def _execute(client: NotebookClient, notebook: nbformat.NotebookNode) -> None:
    client.nb = notebook
    client.execute(cleanup_kc=False)  # keep the kernel for the next notebook


def _saved(path: Path, notebook: nbformat.NotebookNode, seconds: float, settings: Settings) -> Executed:
    out_dir = settings.home_dir / "notebooks"
    out_dir.mkdir(parents=True, exist_ok=True)
    saved_to = out_dir / path.name
    nbformat.write(notebook, saved_to)
    outputs = [out for cell in notebook.cells if cell.cell_type == "code" for out in cell.outputs]
    images = sum("image/png" in out.get("data", {}) for out in outputs)
    return Executed(path.stem, seconds, figures_of(notebook), images, saved_to)


def notebooks_ui_command(port: int, token: str) -> list[str]:
    """JupyterLab on this environment's kernel, on loopback, opened at `notebooks/`, behind ``token``."""
    jupyter = Path(sys.executable).with_name("jupyter")
    return [
        str(jupyter),
        "lab",
        "--no-browser",
        "--ip=127.0.0.1",
        f"--port={port}",
        f"--ServerApp.root_dir={NOTEBOOKS_DIR}",
        f"--IdentityProvider.token={token}",
        # Jupyter refuses root unless told; containers and CI machines often are root.
        *(["--allow-root"] if os.geteuid() == 0 else []),
    ]


def register(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser("notebooks", help="run every notebook headless (outputs saved under var/notebooks)")
    actions = parser.add_subparsers(dest="action", required=True)
    run = actions.add_parser("run", help="execute the notebooks on the main job's lake and print their figures")
    run.add_argument("names", nargs="*", help="notebook names (default: all)")
    run.set_defaults(handler=cmd_run)


def cmd_run(settings: Settings, args: argparse.Namespace) -> int:
    chosen = [p for p in notebooks() if not args.names or p.stem in args.names]
    if not chosen:
        print(f"no notebook named {args.names}; there are {[p.stem for p in notebooks()]}")
        return 2
    for done in run_notebooks(chosen, settings):
        print(f"{done.name}: ran in {done.seconds:.0f}s, {done.images} plot(s), saved to {done.saved_to}")
        print(f"  figures: {json.dumps(done.figures)}")
    return 0
