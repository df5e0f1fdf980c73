"""MongoDB (FerretDB locally): each domain's numbered JSON files of commands, recorded in ``domain_migrations``.

A file is ``{"commands": [{"create": ...}, {"createIndexes": ...}]}``; each command runs as given with
``db.command``. FerretDB v1 has no transactions, so a file that fails half-way is re-run from its first
command next time: keep commands idempotent (creating an existing collection is tolerated here, an identical
index is a no-op on the server).
"""

from __future__ import annotations

import json
from contextlib import suppress
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pymongo import MongoClient
from pymongo.database import Database
from pymongo.errors import DuplicateKeyError, OperationFailure, PyMongoError

from lakehouse.settings import Settings
from stack.bootstrap.errors import BootstrapError, MigrationError
from stack.bootstrap.plan import AppliedMigration, Migration, discover, pending
from stack.bootstrap.report import Progress, Report

STORE = "mongo"
MIGRATIONS_COLLECTION = "domain_migrations"
NAMESPACE_EXISTS = 48


def apply_mongo(
    settings: Settings,
    folder: Path,
    domain: str,
    progress: Progress = print,
    database: str | None = None,
    timeout_s: float = 10.0,
) -> list[str]:
    report = Report(STORE, progress, domain)
    migrations = discover(folder, "json", STORE)
    timeout_ms = int(timeout_s * 1000)
    with MongoClient(settings.mongo_url, serverSelectionTimeoutMS=timeout_ms, connectTimeoutMS=timeout_ms) as client:
        db = client[database or settings.mongo_database]
        try:
            db.command("ping")
        except PyMongoError as error:
            host, port = settings.address(STORE)
            raise BootstrapError(
                STORE, f"cannot connect to {host}:{port} ({error}); is `lakehouse stack up` done?"
            ) from error
        records = db[MIGRATIONS_COLLECTION]
        # _id is "<domain>:<version>", so two domains' records never collide (a handful of documents: a scan is fine).
        applied = [
            AppliedMigration(doc["version"], doc["name"], doc["checksum"]) for doc in records.find({"domain": domain})
        ]
        todo = pending(migrations, applied, STORE)
        # Every file is parsed before the first command runs: a malformed later file must not stop us midway.
        planned = [(migration, commands_of(migration)) for migration in todo]
        for migration, commands in planned:
            for number, command in enumerate(commands, start=1):
                _run(db, command, migration.path.name, number)
            # A concurrent bootstrap may have recorded it first; both ran the same idempotent commands.
            with suppress(DuplicateKeyError):
                records.insert_one(
                    {
                        "_id": f"{domain}:{migration.version:04d}",
                        "domain": domain,
                        "version": migration.version,
                        "name": migration.name,
                        "checksum": migration.checksum,
                        "applied_at": datetime.now(UTC),
                    }
                )
            report(f"applied {migration.label}")
    if not todo:
        report.up_to_date(len(migrations))
    return report.lines


def commands_of(migration: Migration) -> list[dict[str, Any]]:
    """The commands of a JSON migration file, checked for shape so a typo fails before anything runs."""
    try:
        spec = json.loads(migration.text)
    except json.JSONDecodeError as error:
        raise MigrationError(STORE, f"{migration.path.name} is not valid JSON: {error}") from error
    commands = spec.get("commands") if isinstance(spec, dict) else None
    if not isinstance(commands, list) or not all(isinstance(c, dict) and c for c in commands):
        raise MigrationError(STORE, f'{migration.path.name} needs a "commands" list of non-empty objects')
    return commands


def _run(db: Database, command: dict[str, Any], file_name: str, number: int) -> None:
    try:
        db.command(command)
    except OperationFailure as error:
        if error.code == NAMESPACE_EXISTS and next(iter(command)) == "create":
            return
        raise BootstrapError(STORE, f"{file_name} command {number} ({next(iter(command))}) failed: {error}") from error
