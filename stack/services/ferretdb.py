"""FerretDB v1 with its SQLite backend: a real MongoDB-wire server that current pymongo talks to.

No real ``mongod`` can be installed here (every package that offers one downloads it from outside the reachable
registries); FerretDB is built from the Go module proxy by `lakehouse stack install`, with two fixes to its SQLite
backend that let a query, update or delete by _id use the _id index and one that drops per-request leak tracking
(``stack/install.py``: ``FERRETDB_PATCHES``), and run with a less eager garbage collector (``GO_RUNTIME``).
SQLite on this build beat FerretDB's PostgreSQL backend, which scans the collection for every filter
(``bench/document_store.py``; figures in the README).
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

from pymongo import MongoClient

from stack.service import LocalService, ServiceError

FERRETDB_VERSION = "v1.24.2"
# What our build reports (buildInfo's ferretdbVersion) and is named after: upstream plus stack/install.py's patches.
FERRETDB_BUILD = f"{FERRETDB_VERSION}-lakehouse.3"
# Added to the pragmas FerretDB sets itself (busy_timeout, journal_mode(wal), auto_vacuum(none)). With WAL,
# synchronous NORMAL syncs at checkpoints instead of at every commit (a power cut can lose the last commits, never
# corrupt the file); a 64 MiB page cache keeps the _id index and hot documents in memory; and a checkpoint every
# 10,000 WAL pages instead of 1,000 stops single-document updates from spending a quarter of their time in
# checkpoints (measured with FerretDB's CPU profile).
SQLITE_PRAGMAS = ("synchronous(normal)", "cache_size(-65536)", "wal_autocheckpoint(10000)")
# Go's default (a collection at every doubling of a heap of a few MiB) spent a quarter of FerretDB's CPU per find_one
# by _id in the garbage collector and its background sweeper (its CPU profile). GOGC=400 collects at 5x the live heap,
# which is a few tens of MiB here; GOMEMLIMIT makes it collect sooner again if that ever nears 1 GiB.
GO_RUNTIME = {"GOGC": "400", "GOMEMLIMIT": "1GiB"}


def ferretdb_binary(cache_dir: Path) -> Path:
    return cache_dir / "bin" / f"ferretdb-{FERRETDB_BUILD}"


def sqlite_backend(data_dir: Path, pragmas: tuple[str, ...] = SQLITE_PRAGMAS) -> list[str]:
    """FerretDB's flags for SQLite files under ``data_dir`` (one file per database), opened with ``pragmas``."""
    query = "&".join(f"_pragma={quote(pragma)}" for pragma in pragmas)
    return ["--handler=sqlite", f"--sqlite-url=file:{data_dir}/" + (f"?{query}" if query else "")]


def ferretdb_command(binary: Path, backend: list[str], host: str, port: int, state_dir: Path) -> list[str]:
    return [
        str(binary),
        *backend,
        f"--listen-addr={host}:{port}",
        f"--state-dir={state_dir}",
        # Its metrics endpoint would otherwise take 8088 for itself.
        f"--debug-addr={host}:0",
        "--telemetry=disable",
        "--log-level=warn",
    ]


class FerretDBService(LocalService):
    name = "mongo"
    typical_start_s = 1.0

    @property
    def binary(self) -> Path:
        return ferretdb_binary(self.settings.cache_dir)

    def environment(self) -> dict[str, str]:
        return dict(GO_RUNTIME)

    def command(self) -> list[str]:
        if not self.binary.exists():
            raise ServiceError(self.name, f"FerretDB is not built at {self.binary}: run `lakehouse stack install`")
        return ferretdb_command(self.binary, sqlite_backend(self.data_dir), self.host, self.port, self.folder)

    def check(self, timeout_s: float = 5.0) -> str:
        timeout_ms = int(timeout_s * 1000)
        with MongoClient(
            self.settings.mongo_url, serverSelectionTimeoutMS=timeout_ms, connectTimeoutMS=timeout_ms
        ) as client:
            # FerretDB answers `ping` only after a round trip to its storage; buildInfo alone never touches it.
            client[self.settings.mongo_database].command("ping")
            info = client.admin.command("buildInfo")
        ferret = info.get("ferretdbVersion")
        return f"FerretDB {ferret} (MongoDB {info.get('version')} wire)" if ferret else f"MongoDB {info['version']}"
