"""Document store: find_one and update_one by _id per second on MongoDB-wire servers holding 100,000 product
documents, beside bare PostgreSQL measured in the same run (SELECT and UPDATE by primary key on a jsonb table).

    .venv/bin/python -m bench.document_store --documents 100000 --clients 4

Candidates (``--backends``, comma-separated; all by default):
  stack                  the server at ``settings.mongo_url``, as the stack runs it
  ferretdb-postgresql    a FerretDB of our own on the stack's PostgreSQL, in a scratch database
  ferretdb-sqlite        a FerretDB of our own on SQLite with FerretDB's default pragmas
  ferretdb-sqlite-tuned  the same with the stack's pragmas and Go runtime settings (``SQLITE_PRAGMAS``, ``GO_RUNTIME``
                         in stack/services/ferretdb.py)
Our FerretDB processes run the stack's build (``lakehouse stack install``) and listen on free loopback ports.

Each candidate is loaded with ``--documents`` documents (insert_many in batches), then measured with one client
and with ``--clients`` concurrent clients, each call waiting for its answer: find_one by _id and update_one by _id
($set price, $inc version); then, as information, find_one by an indexed non-_id field (sku) and the catalog's
optimistic write (find_one, then update_one by _id *and* version). Each measurement stops after its count or
``--max-seconds``, whichever comes first. Every FerretDB started here is stopped at the end, and every scratch
collection, table, database and folder removed. Needs the stack's PostgreSQL (and for ``stack`` its mongo):
`lakehouse stack up postgres mongo`. Prints a table and writes bench/results/document_store.json.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg import sql
from psycopg.types.json import Jsonb
from pymongo import MongoClient
from pymongo.collection import Collection

from bench.report import Measurement, Report, Stopwatch, load_average
from lakehouse.settings import Settings, load_settings
from stack.services.ferretdb import (
    FERRETDB_BUILD,
    GO_RUNTIME,
    SQLITE_PRAGMAS,
    ferretdb_binary,
    ferretdb_command,
    sqlite_backend,
)

CATEGORIES = ("books", "electronics", "garden", "grocery", "toys", "fashion", "sports", "beauty")
CANDIDATES = ("stack", "ferretdb-postgresql", "ferretdb-sqlite", "ferretdb-sqlite-tuned")
BATCH = 1000
BASELINE_SELECT = "baseline: bare PostgreSQL SELECT by primary key (jsonb)"
BASELINE_UPDATE = "baseline: bare PostgreSQL UPDATE by primary key (jsonb)"
BASELINE_SKU = "baseline: bare PostgreSQL SELECT by indexed sku (jsonb)"


def product(number: int) -> dict[str, Any]:
    """A catalog product as the e-commerce app stores it, with one pending event (~600 bytes of BSON)."""
    product_id = f"p-{number:07d}"
    envelope = (
        f'{{"event_id":"e-{number:07d}-1","type":"ecommerce.product.upserted","version":1,'
        f'"key":"{product_id}","payload":{{"product_id":"{product_id}","price":"{number % 997}.99"}}}}'
    )
    return {
        "_id": product_id,
        "sku": f"SKU-{number:07d}",
        "name": f"Product {number} of the generated catalog",
        "category": CATEGORIES[number % len(CATEGORIES)],
        "price": f"{number % 997}.99",
        "currency": "EUR",
        "merchant_id": f"m-{number % 500:04d}",
        "version": 1,
        "pending_events": [
            {"event_id": f"e-{number:07d}-1", "seq": 1, "topic": "ecommerce.products", "envelope": envelope}
        ],
        "pending_count": 1,
    }


@dataclass(frozen=True)
class Workload:
    documents: int
    reads: int
    writes: int
    clients: int
    max_seconds: float
    seed: int

    def ids(self, count: int, salt: int) -> list[int]:
        picker = random.Random(self.seed + salt)
        return [picker.randrange(self.documents) for _ in range(count)]


Step = Callable[[int], None]


def timed_loop(items: list[int], max_seconds: float, steps: list[Step]) -> tuple[int, float]:
    """Run ``items`` over ``len(steps)`` clients (a thread each, the items dealt round-robin), each call waiting for
    its answer, until all are done or ``max_seconds`` pass; returns (calls done, seconds)."""
    done = [0] * len(steps)
    deadline = time.perf_counter() + max_seconds

    def client(index: int) -> None:
        for item in items[index :: len(steps)]:
            if time.perf_counter() > deadline:
                return
            steps[index](item)
            done[index] += 1

    with Stopwatch() as watch:
        if len(steps) == 1:
            client(0)
        else:
            with ThreadPoolExecutor(max_workers=len(steps)) as pool:
                list(pool.map(client, range(len(steps))))
    return sum(done), watch.seconds


def clients_label(clients: int) -> str:
    return "1 client" if clients == 1 else f"{clients} clients"


def baseline_name(what: str, clients: int) -> str:
    return f"baseline: bare PostgreSQL {what} ({clients_label(clients)})"


# --- the baseline: bare PostgreSQL ---------------------------------------------------------------------------------


def bench_bare_postgres(settings: Settings, run: str, workload: Workload, report: Report) -> None:
    """The same documents as jsonb rows with a text primary key, read and written by primary key over psycopg."""
    table = sql.Identifier(f"bench_documents_{run}")
    select = sql.SQL("SELECT body FROM {} WHERE id = %s").format(table)
    update = sql.SQL(
        "UPDATE {} SET body = body || jsonb_build_object('price', %s::text, 'version', (body->>'version')::int + 1) "
        "WHERE id = %s"
    ).format(table)
    by_sku = sql.SQL("SELECT body FROM {} WHERE body->>'sku' = %s").format(table)
    with ExitStack() as stack:
        conns = [
            stack.enter_context(psycopg.connect(settings.postgres_url, autocommit=True))
            for _ in range(max(1, workload.clients))
        ]
        conn = conns[0]
        conn.execute(sql.SQL("CREATE TABLE {} (id text PRIMARY KEY, body jsonb NOT NULL)").format(table))
        stack.callback(conn.execute, sql.SQL("DROP TABLE IF EXISTS {}").format(table))
        with Stopwatch() as loaded:
            with conn.cursor().copy(sql.SQL("COPY {} (id, body) FROM STDIN").format(table)) as copy:
                for number in range(workload.documents):
                    doc = product(number)
                    copy.write_row((doc["_id"], Jsonb(doc)))
            conn.execute(sql.SQL("CREATE UNIQUE INDEX ON {} ((body->>'sku'))").format(table))
            conn.execute(sql.SQL("ANALYZE {}").format(table))
        report.add(
            Measurement(
                "bare PostgreSQL: load (COPY + sku index)", workload.documents, loaded.seconds, "docs", compare_to=""
            )
        )

        def reader(c: psycopg.Connection) -> Step:
            return lambda n: c.execute(select, (f"p-{n:07d}",)).fetchone()

        def writer(c: psycopg.Connection) -> Step:
            return lambda n: c.execute(update, (f"{n % 89}.50", f"p-{n:07d}"))

        for clients in sorted({1, workload.clients}):
            done, seconds = timed_loop(
                workload.ids(workload.reads, 1), workload.max_seconds, [reader(c) for c in conns[:clients]]
            )
            report.add(Measurement(baseline_name("SELECT by primary key", clients), done, seconds, "ops", True))
            done, seconds = timed_loop(
                workload.ids(workload.writes, 2), workload.max_seconds, [writer(c) for c in conns[:clients]]
            )
            report.add(Measurement(baseline_name("UPDATE by primary key", clients), done, seconds, "ops", True))
        done, seconds = timed_loop(
            workload.ids(workload.reads, 3),
            workload.max_seconds,
            [lambda n: conn.execute(by_sku, (f"SKU-{n:07d}",)).fetchone()],
        )
        report.add(Measurement(baseline_name("SELECT by indexed sku", 1), done, seconds, "ops", True))


# --- the candidates -------------------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def ferretdb_process(
    settings: Settings, backend: list[str], folder: Path, environment: dict[str, str] | None = None
) -> Iterator[str]:
    """A FerretDB of our own on a free loopback port; yields its URL, stops it (and only it) at the end."""
    binary = ferretdb_binary(settings.cache_dir)
    if not binary.exists():
        raise SystemExit(f"FerretDB is not built at {binary}: run `lakehouse stack install`")
    port = free_port()
    log_path = folder / "ferretdb.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            ferretdb_command(binary, backend, "127.0.0.1", port, folder),
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            env={**os.environ, **(environment or {})},
        )
    url = f"mongodb://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + 30
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"FerretDB exited ({process.returncode}): {log_path.read_text()[-2000:]}")
            try:
                with MongoClient(url, serverSelectionTimeoutMS=1000) as client:
                    client.bench.command("ping")
                break
            except Exception:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.2)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextmanager
def candidate_url(settings: Settings, name: str, run: str) -> Iterator[str]:
    if name == "stack":
        yield settings.mongo_url
        return
    with ExitStack() as cleanup:
        folder = Path(tempfile.mkdtemp(prefix=f"bench-{name}-"))
        cleanup.callback(shutil.rmtree, folder, ignore_errors=True)
        environment: dict[str, str] = {}
        if name == "ferretdb-postgresql":
            database = f"bench_ferretdb_{run}"
            with psycopg.connect(settings.postgres_url, autocommit=True) as conn:
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database)))
            cleanup.callback(drop_database, settings.postgres_url, database)
            other_database = urlsplit(settings.postgres_url)._replace(path=f"/{database}")
            backend = ["--handler=postgresql", f"--postgresql-url={urlunsplit(other_database)}"]
        elif name == "ferretdb-sqlite":
            (folder / "data").mkdir()
            backend = sqlite_backend(folder / "data", pragmas=())
        elif name == "ferretdb-sqlite-tuned":
            (folder / "data").mkdir()
            backend = sqlite_backend(folder / "data", pragmas=SQLITE_PRAGMAS)
            environment = GO_RUNTIME
        else:
            raise SystemExit(f"unknown backend {name!r}; known: {', '.join(CANDIDATES)}")
        yield cleanup.enter_context(ferretdb_process(settings, backend, folder, environment))


def drop_database(postgres_url: str, database: str) -> None:
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(database)))


def describe(client: MongoClient) -> str:
    info = client.admin.command("buildInfo")
    return f"FerretDB {info['ferretdbVersion']}" if "ferretdbVersion" in info else f"MongoDB {info['version']}"


def bench_candidate(settings: Settings, name: str, run: str, workload: Workload, report: Report) -> None:
    with candidate_url(settings, name, run) as url, MongoClient(url, serverSelectionTimeoutMS=10_000) as client:
        print(f"{name}: {describe(client)} at {url}", flush=True)
        database = client[settings.mongo_database if name == "stack" else "bench"]
        collection = database[f"bench_documents_{run}"]
        try:
            measure_collection(name, collection, workload, report)
        finally:
            collection.drop()


def measure_collection(name: str, products: Collection, workload: Workload, report: Report) -> None:
    products.create_index("sku", unique=True)
    with Stopwatch() as loaded:
        for start in range(0, workload.documents, BATCH):
            products.insert_many([product(n) for n in range(start, min(start + BATCH, workload.documents))])
    report.add(
        Measurement(f"{name}: load (insert_many by {BATCH})", workload.documents, loaded.seconds, "docs", compare_to="")
    )

    def read(n: int) -> None:
        if products.find_one({"_id": f"p-{n:07d}"}) is None:
            raise AssertionError(f"p-{n:07d} is missing")

    def write(n: int) -> None:
        result = products.update_one({"_id": f"p-{n:07d}"}, {"$set": {"price": f"{n % 89}.50"}, "$inc": {"version": 1}})
        if result.matched_count != 1:
            raise AssertionError(f"p-{n:07d} was not updated")

    def read_by_sku(n: int) -> None:
        if products.find_one({"sku": f"SKU-{n:07d}"}) is None:
            raise AssertionError(f"SKU-{n:07d} is missing")

    def catalog_write(n: int) -> None:
        # The catalog's optimistic write filters on _id and version, after reading the version, as it does.
        current = products.find_one({"_id": f"p-{n:07d}"}, {"version": 1})
        assert current is not None
        result = products.update_one(
            {"_id": f"p-{n:07d}", "version": current["version"]}, {"$set": {"price": "1.00"}, "$inc": {"version": 1}}
        )
        if result.matched_count != 1:
            raise AssertionError(f"p-{n:07d} was not updated")

    for clients in sorted({1, workload.clients}):
        label = clients_label(clients)
        done, seconds = timed_loop(workload.ids(workload.reads, 1), workload.max_seconds, [read] * clients)
        baseline = baseline_name("SELECT by primary key", clients)
        report.add(Measurement(f"{name}: find_one by _id ({label})", done, seconds, "ops", compare_to=baseline))
        done, seconds = timed_loop(workload.ids(workload.writes, 2), workload.max_seconds, [write] * clients)
        baseline = baseline_name("UPDATE by primary key", clients)
        report.add(Measurement(f"{name}: update_one by _id ({label})", done, seconds, "ops", compare_to=baseline))
    done, seconds = timed_loop(workload.ids(workload.reads, 3), workload.max_seconds, [read_by_sku])
    baseline = baseline_name("SELECT by indexed sku", 1)
    report.add(Measurement(f"{name}: find_one by indexed sku (information)", done, seconds, "ops", compare_to=baseline))
    done, seconds = timed_loop(workload.ids(workload.writes, 4), workload.max_seconds, [catalog_write])
    report.add(
        Measurement(
            f"{name}: find_one + update_one by _id and version (information)",
            done,
            seconds,
            "ops",
            compare_to=baseline_name("UPDATE by primary key", 1),
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--documents", type=int, default=100_000)
    parser.add_argument("--reads", type=int, default=3000, help="find_one calls per measurement")
    parser.add_argument("--writes", type=int, default=2000, help="update_one calls per measurement")
    parser.add_argument("--clients", type=int, default=4, help="concurrent clients of the second round (1: none)")
    parser.add_argument("--max-seconds", type=float, default=5.0, help="cap of each measurement")
    parser.add_argument("--backends", default=",".join(CANDIDATES))
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    backends = [name.strip() for name in args.backends.split(",") if name.strip()]
    unknown = set(backends) - set(CANDIDATES)
    if unknown:
        parser.error(f"unknown backend(s) {sorted(unknown)}; known: {', '.join(CANDIDATES)}")
    settings, run = load_settings(), uuid.uuid4().hex[:8]
    workload = Workload(args.documents, args.reads, args.writes, max(1, args.clients), args.max_seconds, args.seed)
    report = Report(
        "document_store",
        {
            "documents": args.documents,
            "reads": args.reads,
            "writes": args.writes,
            "clients": args.clients,
            "ferretdb": FERRETDB_BUILD,
            "backends": ",".join(backends),
        },
    )
    load_before = load_average()
    print(f"run {run}: bare PostgreSQL first, then {', '.join(backends)}; load average {load_before}", flush=True)
    bench_bare_postgres(settings, run, workload, report)
    for name in backends:
        bench_candidate(settings, name, run, workload, report)
    report.parameters.update({"load_average_before": load_before, "load_average_after": load_average()})
    report.print_table()
    report.save()


if __name__ == "__main__":
    main()
