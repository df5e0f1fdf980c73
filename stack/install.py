"""`lakehouse stack install`: everything the local stack needs, from the reachable registries only.

Debian packages (Redis, NATS, Maven, Java 17), FerretDB built from the Go module proxy, and every JVM classpath of
``jvm_artifacts.txt`` resolved from Maven Central. Each step checks first and does nothing when in place.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path

from lakehouse.settings import Settings
from stack import jvm
from stack.service import ServiceError
from stack.services.ferretdb import FERRETDB_VERSION

# Debian package -> a command it provides.
DEBIAN_PACKAGES = {
    "redis-server": "redis-server",
    "nats-server": "nats-server",
    "maven": "mvn",
    "openjdk-17-jre-headless": "java",
}
FERRETDB_MODULE = "github.com/FerretDB/FerretDB"

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
    """Build FerretDB from its Go module; the module zip lacks the version file its build stamps, so write one."""
    binary = cache_dir / "bin" / f"ferretdb-{FERRETDB_VERSION}"
    if binary.exists():
        progress(f"FerretDB {FERRETDB_VERSION} present at {binary}")
        return binary
    if shutil.which("go") is None:
        raise ServiceError("mongo", "Go is needed to build FerretDB from the Go module proxy (apt-get install golang)")
    progress(f"building FerretDB {FERRETDB_VERSION} from the Go module proxy (a few minutes on 2 cores)")
    download = _go(["go", "mod", "download", "-json", f"{FERRETDB_MODULE}@{FERRETDB_VERSION}"], Path.cwd())
    module_dir = Path(json.loads(download)["Dir"])
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "ferretdb"
        shutil.copytree(module_dir, source)
        for path in source.rglob("*"):
            path.chmod(path.stat().st_mode | 0o200)
        (source / "build" / "version" / "version.txt").write_text(FERRETDB_VERSION + "\n")
        (source / "build" / "version" / "package.txt").write_text("lakehouse\n")
        binary.parent.mkdir(parents=True, exist_ok=True)
        _go(["go", "build", "-trimpath", "-o", str(binary) + ".partial", "./cmd/ferretdb"], source)
    Path(str(binary) + ".partial").rename(binary)
    return binary


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
