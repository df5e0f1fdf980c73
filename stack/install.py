"""`lakehouse stack install`: everything the local stack needs, from the reachable registries only.

Debian packages (Redis, NATS, Maven, Java 17, Chromium), FerretDB built from the Go module proxy, and every JVM
classpath of ``jvm_artifacts.txt`` resolved from Maven Central. Each step checks first and does nothing when in place.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path

from lakehouse import jvm
from lakehouse.settings import Settings
from stack.service import ServiceError
from stack.services.ferretdb import FERRETDB_BUILD, FERRETDB_VERSION, ferretdb_binary

# Debian package -> a command it provides.
DEBIAN_PACKAGES = {
    "redis-server": "redis-server",
    "nats-server": "nats-server",
    "maven": "mvn",
    "openjdk-17-jre-headless": "java",
    # The end-to-end test looks at the Dagster, MLflow and Swagger pages in headless Chromium (tests/browser_checks.py).
    "chromium": "chromium",
}
FERRETDB_MODULE = "github.com/FerretDB/FerretDB"
# Fixes to FerretDB v1.24.2's SQLite backend and its per-request work, applied to its source before the build:
# (file, text, replacement, how many times the text occurs there).
# 1. The unique _id index is created on `_ferretdb_sjson->"_id"` but every query, update and delete by _id asked
#    for `_ferretdb_sjson->'$._id'`: the same value, yet SQLite uses an index only for the same expression, so each
#    of them scanned the whole collection (~0.1-0.3 s per find_one by _id at 100,000 documents). Ask for
#    `->'_id'`, which SQLite matches to the index.
# 2. A filter on _id *and* other fields ({_id, version}: the catalog's optimistic write) was not pushed down at
#    all. Push down its _id equality (in queries and in `explain`); FerretDB still checks every document it reads
#    against the whole filter, as it does for the PostgreSQL backend, which pushes down part of a filter too.
# 3. Every iterator, cursor and connection wrapper a request creates (~10 per find) is registered for leak
#    detection: a global pprof profile records the caller's stack and a finalizer is set, ~10% of FerretDB's CPU
#    per find_one by _id (its CPU profile). Keep that in FerretDB's debug builds (`debugbuild.Enabled`, the ones
#    its own tests run), where it catches leaks; skip it in ours, a release build.
FERRETDB_PATCHES = (
    (
        "internal/backends/sqlite/metadata/metadata.go",
        """IDColumn = DefaultColumn + "->'$._id'\"""",
        """IDColumn = DefaultColumn + "->'_id'\"""",
        1,
    ),
    ("internal/backends/sqlite/collection.go", "if params.Filter.Len() == 1 {", "if params.Filter.Len() >= 1 {", 2),
    *(
        (
            "internal/util/resource/resource.go",
            f"func {function}(obj any, token *Token) {{\n\tcheckArgs(obj, token)\n",
            f"func {function}(obj any, token *Token) {{\n\tif !debugbuild.Enabled {{\n\t\treturn\n\t}}\n\n"
            "\tcheckArgs(obj, token)\n",
            1,
        )
        for function in ("Track", "Untrack")
    ),
)

Progress = Callable[[str], None]


def install_all(settings: Settings, progress: Progress = print) -> None:
    install_debian_packages(progress)
    build_ferretdb(settings.cache_dir, progress)
    for name, coordinates in jvm.read_artifacts().items():
        folder = jvm.classpath_dir(settings.cache_dir, name, coordinates)
        if not (folder / jvm.READY_MARKER).exists():
            progress(f"resolving the {name} JVM classpath ({len(coordinates)} artifacts) from Maven Central")
        try:
            jvm.resolve_classpath(settings.cache_dir, name, coordinates)
        except RuntimeError as error:
            raise ServiceError(f"{name} classpath", str(error)) from error
        progress(f"{name} classpath: {len(list(folder.glob('*.jar')))} jars in {folder}")


def install_debian_packages(progress: Progress) -> None:
    missing = [package for package, command in DEBIAN_PACKAGES.items() if shutil.which(command) is None]
    if not missing:
        progress(f"Debian packages present: {', '.join(DEBIAN_PACKAGES)}")
        return
    if os.geteuid() != 0:
        raise ServiceError(
            "install", f"missing Debian packages {missing}: run `sudo apt-get install {' '.join(missing)}`"
        )
    progress(f"installing Debian packages: {', '.join(missing)}")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for command in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", *missing]):
        result = subprocess.run(command, capture_output=True, text=True, env=env)
        if result.returncode != 0:
            raise ServiceError("install", f"{' '.join(command)} failed", (result.stdout + result.stderr)[-3000:])


def build_ferretdb(cache_dir: Path, progress: Progress) -> Path:
    """Build FerretDB from its Go module with ``FERRETDB_PATCHES``; the module zip lacks the version file its build
    stamps, so write one."""
    binary = ferretdb_binary(cache_dir)
    if binary.exists():
        progress(f"FerretDB {FERRETDB_BUILD} present at {binary}")
        return binary
    if shutil.which("go") is None:
        raise ServiceError("mongo", "Go is needed to build FerretDB from the Go module proxy (apt-get install golang)")
    progress(f"building FerretDB {FERRETDB_BUILD} from the Go module proxy (a few minutes on 2 cores)")
    download = _go(["go", "mod", "download", "-json", f"{FERRETDB_MODULE}@{FERRETDB_VERSION}"], Path.cwd())
    module_dir = Path(json.loads(download)["Dir"])
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "ferretdb"
        shutil.copytree(module_dir, source)
        for path in source.rglob("*"):
            path.chmod(path.stat().st_mode | 0o200)
        (source / "build" / "version" / "version.txt").write_text(FERRETDB_BUILD + "\n")
        (source / "build" / "version" / "package.txt").write_text("lakehouse\n")
        apply_patches(source, FERRETDB_PATCHES)
        binary.parent.mkdir(parents=True, exist_ok=True)
        _go(["go", "build", "-trimpath", "-o", str(binary) + ".partial", "./cmd/ferretdb"], source)
    Path(str(binary) + ".partial").rename(binary)
    return binary


def apply_patches(source: Path, patches: tuple[tuple[str, str, str, int], ...]) -> None:
    """Apply each (file, text, replacement, count); a source that is not as expected fails the build, never a
    silently unpatched binary."""
    for relative, before, after, expected in patches:
        path = source / relative
        text = path.read_text()
        found = text.count(before)
        if found != expected:
            raise ServiceError("mongo", f"cannot patch {relative}: {before!r} occurs {found} times, not {expected}")
        path.write_text(text.replace(before, after))


def _go(command: list[str], cwd: Path) -> str:
    result = subprocess.run(
        command,
        cwd=cwd,
        capture_output=True,
        text=True,
        env={**os.environ, "GOFLAGS": "-mod=mod", "GOTOOLCHAIN": "local"},
    )
    if result.returncode != 0:
        raise ServiceError("mongo", f"{' '.join(command[:3])} failed", result.stderr[-3000:])
    return result.stdout
