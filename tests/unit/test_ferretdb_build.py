"""How the stack builds and starts FerretDB: source patches applied exactly, SQLite pragmas passed in its URL."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from stack.install import FERRETDB_PATCHES, apply_patches
from stack.service import ServiceError
from stack.services.ferretdb import SQLITE_PRAGMAS, sqlite_backend


def test_sqlite_url_names_the_folder_and_carries_each_pragma(tmp_path: Path) -> None:
    handler, url_flag = sqlite_backend(tmp_path / "data", pragmas=("synchronous(normal)", "cache_size(-65536)"))
    assert handler == "--handler=sqlite"
    url = urlsplit(url_flag.removeprefix("--sqlite-url="))
    assert (url.scheme, url.path) == ("file", f"{tmp_path}/data/")
    assert parse_qs(url.query) == {"_pragma": ["synchronous(normal)", "cache_size(-65536)"]}


def test_sqlite_url_without_pragmas_has_no_query(tmp_path: Path) -> None:
    assert sqlite_backend(tmp_path, pragmas=()) == ["--handler=sqlite", f"--sqlite-url=file:{tmp_path}/"]


def test_stack_pragmas_keep_ferretdb_wal_and_relax_only_sync_and_checkpoints() -> None:
    names = {pragma.split("(")[0] for pragma in SQLITE_PRAGMAS}
    # journal_mode, busy_timeout and auto_vacuum are FerretDB's own; synchronous OFF could corrupt on a crash.
    assert not names & {"journal_mode", "busy_timeout", "auto_vacuum"}
    assert "synchronous(off)" not in SQLITE_PRAGMAS


def test_patches_replace_every_expected_occurrence(tmp_path: Path) -> None:
    (tmp_path / "a.go").write_text("x := f(1)\ny := f(1)\n")
    apply_patches(tmp_path, (("a.go", "f(1)", "f(2)", 2),))
    assert (tmp_path / "a.go").read_text() == "x := f(2)\ny := f(2)\n"


def test_a_patch_whose_text_is_not_found_as_expected_fails_the_build(tmp_path: Path) -> None:
    (tmp_path / "a.go").write_text("x := f(1)\n")
    with pytest.raises(ServiceError, match=r"mongo: cannot patch a.go: 'f\(1\)' occurs 1 times, not 2"):
        apply_patches(tmp_path, (("a.go", "f(1)", "f(2)", 2),))
    assert (tmp_path / "a.go").read_text() == "x := f(1)\n"


def _plan(id_expression: str) -> str:
    """SQLite's plan for a lookup by _id on a table and _id index shaped as FerretDB creates them."""
    db = sqlite3.connect(":memory:")
    db.execute("CREATE TABLE docs (_ferretdb_sjson TEXT NOT NULL) STRICT")
    db.execute('CREATE UNIQUE INDEX docs__id_ ON docs (_ferretdb_sjson->"_id")')
    db.executemany("INSERT INTO docs VALUES (?)", [(f'{{"_id":"p-{n}"}}',) for n in range(100)])
    query = f"EXPLAIN QUERY PLAN SELECT _ferretdb_sjson FROM docs WHERE _ferretdb_sjson{id_expression} = ?"
    return " ".join(row[-1] for row in db.execute(query, ('"p-7"',)))


def test_id_column_patch_asks_sqlite_for_the_expression_the_id_index_is_built_on() -> None:
    (path, before, after, count), *_ = FERRETDB_PATCHES
    assert path.endswith("sqlite/metadata/metadata.go") and count == 1
    upstream = before.split("DefaultColumn + ")[1].strip('"')
    patched = after.split("DefaultColumn + ")[1].strip('"')
    assert "SCAN docs" in _plan(upstream)
    assert "USING INDEX docs__id_" in _plan(patched)


# FerretDB v1.24.2's internal/util/resource/resource.go, as far as the patch reads it.
UPSTREAM_RESOURCE_GO = """import (
\t"github.com/FerretDB/FerretDB/internal/util/debugbuild"
)

func Track(obj any, token *Token) {
\tcheckArgs(obj, token)

\tname := profileName(obj)
}

func Untrack(obj any, token *Token) {
\tcheckArgs(obj, token)

\tp := pprof.Lookup(profileName(obj))
}
"""


def test_leak_tracking_patch_returns_first_from_both_functions_in_release_builds(tmp_path: Path) -> None:
    resource_patches = [patch for patch in FERRETDB_PATCHES if patch[0].endswith("util/resource/resource.go")]
    assert len(resource_patches) == 2
    (tmp_path / "internal/util/resource").mkdir(parents=True)
    source = tmp_path / "internal/util/resource/resource.go"
    source.write_text(UPSTREAM_RESOURCE_GO)
    apply_patches(tmp_path, tuple(resource_patches))
    patched = source.read_text()
    guard = "(obj any, token *Token) {\n\tif !debugbuild.Enabled {\n\t\treturn\n\t}\n\n\tcheckArgs(obj, token)\n"
    assert f"func Track{guard}" in patched and f"func Untrack{guard}" in patched
    # Applying twice must fail, not stack a second guard: the anchor is gone.
    with pytest.raises(ServiceError, match="occurs 0 times, not 1"):
        apply_patches(tmp_path, tuple(resource_patches))
