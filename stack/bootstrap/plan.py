"""Which migrations exist, in which order, and which of them a store still needs: pure, no connections.

Each domain declares its own migrations: a folder with one subfolder per store (``postgres/``, ``cassandra/``,
``mongo/``), versioned per domain, so two domains never compete for a number. A migration is a file
``NNNN_snake_name.<ext>`` in a store's folder. Its checksum is taken over the text
with line endings normalised, so a checkout with CRLF endings does not count as an edit.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from stack.bootstrap.errors import MigrationError
from stack.bootstrap.kafka_topics import TopicSpec
from stack.bootstrap.nats_streams import StreamSpec

FILE_NAME = re.compile(r"^(?P<version>\d{4})_(?P<name>[a-z0-9]+(?:_[a-z0-9]+)*)\.(?P<ext>[a-z]+)$")


@dataclass(frozen=True)
class StorageDeclaration:
    """What one domain keeps in the stores: its migrations folder (``<store>/`` inside), its Kafka topics and the
    JetStream streams of the notifications it publishes."""

    domain: str
    migrations: Path
    topics: tuple[TopicSpec, ...] = ()
    streams: tuple[StreamSpec, ...] = ()

    def folder(self, store: str) -> Path | None:
        """The domain's migrations for ``store``, or None when it keeps nothing there."""
        folder = self.migrations / store
        return folder if folder.is_dir() else None


def checksum(body: bytes) -> str:
    return hashlib.sha256(body.replace(b"\r\n", b"\n")).hexdigest()


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    path: Path
    body: bytes

    @property
    def label(self) -> str:
        return f"{self.version:04d}_{self.name}"

    @property
    def checksum(self) -> str:
        return checksum(self.body)

    @property
    def text(self) -> str:
        return self.body.decode("utf-8")


@dataclass(frozen=True)
class AppliedMigration:
    version: int
    name: str
    checksum: str


def discover(folder: Path, suffix: str, store: str) -> list[Migration]:
    """The migrations in ``folder`` with extension ``suffix`` ("sql"), ordered by version.

    A file with that extension but a malformed name, or two files sharing a version, is an error rather than
    silently skipped: either would change what gets applied without anyone noticing.
    """
    if not folder.is_dir():
        raise MigrationError(store, f"migration folder {folder} does not exist")
    by_version: dict[int, Migration] = {}
    for path in sorted(folder.iterdir()):
        if not path.is_file() or path.suffix != f".{suffix}":
            continue
        match = FILE_NAME.match(path.name)
        if match is None:
            raise MigrationError(store, f"{path.name}: migration files are named NNNN_snake_name.{suffix}")
        version = int(match["version"])
        if version == 0:
            raise MigrationError(store, f"{path.name}: versions start at 0001")
        if version in by_version:
            first = by_version[version].path.name
            raise MigrationError(store, f"{first} and {path.name} share version {version:04d}")
        by_version[version] = Migration(version, match["name"], path, path.read_bytes())
    return [by_version[version] for version in sorted(by_version)]


def pending(migrations: Sequence[Migration], applied: Iterable[AppliedMigration], store: str) -> list[Migration]:
    """The migrations still to apply, in order; raises if the applied history contradicts the files."""
    known = {migration.version: migration for migration in migrations}
    applied_by_version = {record.version: record for record in applied}
    for version, record in sorted(applied_by_version.items()):
        migration = known.get(version)
        if migration is None:
            raise MigrationError(
                store,
                f"applied migration {version:04d}_{record.name} has no file here "
                f"(was it applied by newer code, or was the file deleted?)",
            )
        if migration.name != record.name or migration.checksum != record.checksum:
            raise MigrationError(
                store,
                f"{migration.path.name} was changed after it was applied "
                f"(checksum {record.checksum[:12]} recorded, {migration.checksum[:12]} "
                f"now); add a new migration instead of editing an applied one",
            )
    newest_applied = max(applied_by_version, default=0)
    todo = [migration for migration in migrations if migration.version not in applied_by_version]
    late = [migration for migration in todo if migration.version < newest_applied]
    if late:
        # Applying it after a newer one would run the files in a different order than on a fresh store.
        raise MigrationError(
            store,
            f"{late[0].path.name} is older than applied migration "
            f"{newest_applied:04d}; renumber it after the newest one",
        )
    return todo
