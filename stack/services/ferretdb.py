"""FerretDB v1 with its SQLite backend: a real MongoDB-wire server that current pymongo talks to.

No real ``mongod`` can be installed here (every package that offers one downloads it from outside the reachable
registries); FerretDB is built from the Go module proxy by `lakehouse stack install`.
"""

from __future__ import annotations

from pymongo import MongoClient

from stack.service import LocalService, ServiceError

FERRETDB_VERSION = "v1.24.2"


class FerretDBService(LocalService):
    name = "mongo"
    typical_start_s = 1.0

    @property
    def binary(self):
        return self.settings.cache_dir / "bin" / f"ferretdb-{FERRETDB_VERSION}"

    def command(self) -> list[str]:
        if not self.binary.exists():
            raise ServiceError(self.name, f"FerretDB is not built at {self.binary}: run `lakehouse stack install`")
        return [
            str(self.binary),
            "--handler=sqlite",
            f"--sqlite-url=file:{self.data_dir}/",
            f"--listen-addr={self.host}:{self.port}",
            f"--state-dir={self.folder}",
            # Its metrics endpoint would otherwise take 8088 for itself.
            f"--debug-addr={self.host}:0",
            "--telemetry=disable",
            "--log-level=warn",
        ]

    def check(self, timeout_s: float = 5.0) -> str:
        timeout_ms = int(timeout_s * 1000)
        with MongoClient(
            self.settings.mongo_url, serverSelectionTimeoutMS=timeout_ms, connectTimeoutMS=timeout_ms
        ) as client:
            info = client.admin.command("buildInfo")
        ferret = info.get("ferretdbVersion")
        return f"FerretDB {ferret} (MongoDB {info.get('version')} wire)" if ferret else f"MongoDB {info['version']}"
