"""The migration bookkeeping of `lakehouse bootstrap`, without any server: discovery, ordering, checksums."""

from __future__ import annotations

from pathlib import Path

import pytest

from stack.bootstrap.cql import split_statements
from stack.bootstrap.errors import MigrationError
from stack.bootstrap.kafka_topics import TopicSpec, declared_topics
from stack.bootstrap.plan import AppliedMigration, StorageDeclaration, checksum, discover, pending

# sha256 of the bytes, computed with `printf 'SELECT 1;\n' | sha256sum`.
SELECT_1_SHA256 = "b4e0497804e46e0a0b0b8c31975b062152d551bac49c3c2e80932567b4085dcd"


def write(folder: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        (folder / name).write_bytes(text.encode())
    return folder


def test_checksum_is_sha256_and_ignores_crlf() -> None:
    assert checksum(b"SELECT 1;\n") == SELECT_1_SHA256
    assert checksum(b"SELECT 1;\r\n") == SELECT_1_SHA256
    assert checksum(b"SELECT 2;\n") != SELECT_1_SHA256


def test_discover_orders_by_number_not_by_listing(tmp_path: Path) -> None:
    # Names chosen so alphabetical order of the whole name differs from version order.
    write(
        tmp_path,
        {
            "0010_zeta.sql": "SELECT 10;",
            "0002_beta.sql": "SELECT 2;",
            "0001_omega.sql": "SELECT 1;\n",
            "README.md": "not a migration",
            "0003_other_store.cql": "ignored: other extension",
        },
    )
    migrations = discover(tmp_path, "sql", "postgres")
    assert [(m.version, m.name) for m in migrations] == [(1, "omega"), (2, "beta"), (10, "zeta")]
    assert migrations[0].label == "0001_omega"
    assert migrations[0].checksum == SELECT_1_SHA256


@pytest.mark.parametrize(
    "bad_name",
    ["1_short.sql", "0001-dash.sql", "0001_Upper.sql", "0001_.sql", "0001_trailing_.sql", "abcd_x.sql"],
)
def test_discover_rejects_malformed_names(tmp_path: Path, bad_name: str) -> None:
    write(tmp_path, {"0001_fine.sql": "SELECT 1;", bad_name: "SELECT 2;"})
    with pytest.raises(MigrationError, match=bad_name):
        discover(tmp_path, "sql", "postgres")


def test_discover_rejects_duplicate_versions(tmp_path: Path) -> None:
    write(tmp_path, {"0002_first.sql": "SELECT 1;", "0002_second.sql": "SELECT 2;"})
    expected = "0002_first.sql and 0002_second.sql share version 0002"
    with pytest.raises(MigrationError, match=expected) as caught:
        discover(tmp_path, "sql", "postgres")
    assert str(caught.value).startswith("postgres: ")


def test_discover_rejects_version_zero_and_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(MigrationError, match="does not exist"):
        discover(tmp_path / "nope", "sql", "postgres")
    write(tmp_path, {"0000_init.sql": "SELECT 1;"})
    with pytest.raises(MigrationError, match="start at 0001"):
        discover(tmp_path, "sql", "postgres")


def test_pending_returns_unapplied_in_order(tmp_path: Path) -> None:
    write(tmp_path, {"0001_a.sql": "SELECT 1;\n", "0002_b.sql": "SELECT 2;", "0003_c.sql": "SELECT 3;"})
    migrations = discover(tmp_path, "sql", "postgres")
    assert [m.label for m in pending(migrations, [], "postgres")] == ["0001_a", "0002_b", "0003_c"]
    applied = [AppliedMigration(1, "a", SELECT_1_SHA256)]
    assert [m.label for m in pending(migrations, applied, "postgres")] == ["0002_b", "0003_c"]
    everything = [AppliedMigration(m.version, m.name, m.checksum) for m in migrations]
    assert pending(migrations, everything, "postgres") == []


def test_pending_rejects_an_edited_applied_migration(tmp_path: Path) -> None:
    write(tmp_path, {"0001_a.sql": "SELECT 1; -- edited\n", "0002_b.sql": "SELECT 2;"})
    migrations = discover(tmp_path, "sql", "postgres")
    with pytest.raises(MigrationError, match="0001_a.sql was changed after it was applied"):
        pending(migrations, [AppliedMigration(1, "a", SELECT_1_SHA256)], "postgres")


def test_pending_rejects_a_renamed_applied_migration(tmp_path: Path) -> None:
    write(tmp_path, {"0001_renamed.sql": "SELECT 1;\n"})
    migrations = discover(tmp_path, "sql", "postgres")
    with pytest.raises(MigrationError, match="0001_renamed.sql was changed"):
        pending(migrations, [AppliedMigration(1, "a", SELECT_1_SHA256)], "postgres")


def test_pending_rejects_applied_versions_without_a_file(tmp_path: Path) -> None:
    write(tmp_path, {"0001_a.sql": "SELECT 1;\n"})
    migrations = discover(tmp_path, "sql", "postgres")
    applied = [AppliedMigration(1, "a", SELECT_1_SHA256), AppliedMigration(2, "from_the_future", "ab" * 32)]
    with pytest.raises(MigrationError, match="0002_from_the_future has no file"):
        pending(migrations, applied, "postgres")


def test_pending_rejects_a_new_migration_older_than_an_applied_one(tmp_path: Path) -> None:
    write(tmp_path, {"0001_a.sql": "SELECT 1;\n", "0002_late.sql": "SELECT 2;", "0003_c.sql": "SELECT 3;"})
    migrations = discover(tmp_path, "sql", "postgres")
    applied = [AppliedMigration(1, "a", SELECT_1_SHA256), AppliedMigration(3, "c", migrations[2].checksum)]
    with pytest.raises(MigrationError, match="0002_late.sql is older than applied migration 0003"):
        pending(migrations, applied, "postgres")


def test_a_declaration_names_only_the_stores_it_has_folders_for(tmp_path: Path) -> None:
    (tmp_path / "postgres").mkdir()
    declaration = StorageDeclaration("shop", tmp_path)
    assert declaration.folder("postgres") == tmp_path / "postgres"
    assert declaration.folder("cassandra") is None


def test_cql_split_respects_quotes_and_comments() -> None:
    text = """
    -- a comment; with a semicolon
    CREATE TABLE IF NOT EXISTS t (k int PRIMARY KEY, v text);  // trailing; comment
    /* block; comment */
    INSERT INTO t (k, v) VALUES (1, 'it''s; fine');
    CREATE FUNCTION f(x int) RETURNS NULL ON NULL INPUT RETURNS int LANGUAGE java AS $$ return x; $$
    """
    assert split_statements(text) == [
        "CREATE TABLE IF NOT EXISTS t (k int PRIMARY KEY, v text)",
        "INSERT INTO t (k, v) VALUES (1, 'it''s; fine')",
        "CREATE FUNCTION f(x int) RETURNS NULL ON NULL INPUT RETURNS int LANGUAGE java AS $$ return x; $$",
    ]
    assert split_statements("  -- only a comment\n ;; ") == []
    with pytest.raises(ValueError, match="unterminated"):
        split_statements("INSERT INTO t (k, v) VALUES (1, 'open;")


def test_kafka_topics_get_dead_letter_twins() -> None:
    topics = declared_topics([TopicSpec("shop.orders", 3), TopicSpec("shop.audit", 1, dead_letter=False)])
    assert [(t.name, t.partitions) for t in topics] == [("shop.orders", 3), ("shop.orders.dlq", 3), ("shop.audit", 1)]
    assert topics[1].config["cleanup.policy"] == "delete"
    with pytest.raises(ValueError, match="declared twice: a.dlq"):
        declared_topics((TopicSpec("a", 1), TopicSpec("a.dlq", 1)))
