"""Resolve the JVM classpaths listed in ``jvm_artifacts.txt`` into the local cache, once.

Each classpath (spark, kafka, cassandra) becomes a folder of jars under ``<cache>/jars/<name>-<hash>``; the hash
covers the coordinates, so changing a version resolves a new folder and an unchanged list does nothing.
Maven does the resolving (with its own ``~/.m2`` cache), so a re-run on a warm machine costs no network.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import tempfile
from collections import defaultdict
from pathlib import Path
from xml.sax.saxutils import escape

ARTIFACTS_FILE = Path(__file__).with_name("jvm_artifacts.txt")
READY_MARKER = ".resolved"


def read_artifacts(path: Path = ARTIFACTS_FILE) -> dict[str, list[str]]:
    """Classpath name -> Maven coordinates, in file order."""
    classpaths: dict[str, list[str]] = defaultdict(list)
    for number, raw in enumerate(path.read_text().splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        parts = line.split()
        if len(parts) != 2 or parts[1].count(":") != 2:
            raise ValueError(f"{path}:{number}: expected '<classpath> <group:artifact:version>', got {raw!r}")
        classpaths[parts[0]].append(parts[1])
    return dict(classpaths)


def classpath_dir(cache_dir: Path, name: str, coordinates: list[str]) -> Path:
    digest = hashlib.sha256("\n".join(coordinates).encode()).hexdigest()[:12]
    return cache_dir / "jars" / f"{name}-{digest}"


def pom_for(name: str, coordinates: list[str]) -> str:
    deps = []
    for coordinate in coordinates:
        group, artifact, version = (escape(p) for p in coordinate.split(":"))
        deps.append(
            f"<dependency><groupId>{group}</groupId><artifactId>{artifact}</artifactId>"
            f"<version>{version}</version></dependency>"
        )
    return (
        '<project xmlns="http://maven.apache.org/POM/4.0.0"><modelVersion>4.0.0</modelVersion>'
        f"<groupId>lakehouse.local</groupId><artifactId>classpath-{escape(name)}</artifactId>"
        "<version>0</version><packaging>pom</packaging>"
        f"<dependencies>{''.join(deps)}</dependencies></project>"
    )


def resolve_classpath(cache_dir: Path, name: str, coordinates: list[str]) -> Path:
    """Copy the runtime closure of ``coordinates`` into the cache; a no-op when already resolved."""
    target = classpath_dir(cache_dir, name, coordinates)
    if (target / READY_MARKER).exists():
        return target
    if shutil.which("mvn") is None:
        raise RuntimeError("Maven ('mvn') is needed to resolve JVM artifacts: apt-get install maven")
    staging = target.with_name(target.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "pom.xml").write_text(pom_for(name, coordinates))
        result = subprocess.run(
            [
                "mvn",
                "-B",
                "-q",
                "dependency:copy-dependencies",
                "-DincludeScope=runtime",
                f"-DoutputDirectory={staging}",
            ],
            cwd=tmp,
            capture_output=True,
            text=True,
        )
    if result.returncode != 0:
        tail = "\n".join((result.stdout + result.stderr).splitlines()[-20:])
        raise RuntimeError(f"resolving the {name} classpath failed:\n{tail}")
    (staging / READY_MARKER).write_text("\n".join(coordinates) + "\n")
    shutil.rmtree(target, ignore_errors=True)
    staging.rename(target)
    return target


def jars(cache_dir: Path, name: str) -> list[Path]:
    """The resolved jars of one classpath; raises with the fix when ``stack install`` has not run."""
    coordinates = read_artifacts()[name]
    folder = classpath_dir(cache_dir, name, coordinates)
    if not (folder / READY_MARKER).exists():
        raise RuntimeError(f"the {name} JVM classpath is not installed: run `lakehouse stack install`")
    return sorted(folder.glob("*.jar"))
