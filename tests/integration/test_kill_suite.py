"""The kill suite (issue 12), e-commerce: while a shopper keeps placing orders over HTTP, each moving part is killed
with SIGKILL in turn and restarted with the project's own commands: the app, the relay, the Kafka broker,
Cassandra, the fraud service, and the Dagster/Spark run in the middle of the silver orders MERGE. Then count in =
count out at every layer, with no duplicate key: PostgreSQL, Kafka (after dedupe by event id), bronze (same), silver,
gold, and the Cassandra view; and every order ends with a fraud verdict.

The shopper is an ordinary client: an order that got no answer (the app died, or a worker was restarting) is sent
again with the same id until it is answered, as the app's idempotent commands allow. Each order is attributed to
the kill case during which it was first sent; the per-case figures go to ``var/reliability/kill_suite.json`` and
the README's reliability table.
"""

from __future__ import annotations

import json
import os
import subprocess
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import httpx
import psycopg
import pytest
from app_keys import dev_headers
from deltalake import DeltaTable
from fraud_served import Served
from kill_parts import (
    BIN,
    PROJECT_ROOT,
    batch_ids,
    crash,
    healthy,
    in_flight_batch,
    kafka_events,
    restart_service,
    sigkill_service,
    spawn,
    stop_group,
    tally,
    wait_for,
)
from kill_parts import materialize as materialize_selection
from ports import free_port

from ingest.ecommerce.commands import OrderLine, PlaceOrder, RegisterCustomer, UpsertProduct
from ingest.ecommerce.context import open_context
from ingest.ecommerce.projections import month_key, open_orders_by_customer
from ingest.ecommerce.service import handle
from lakehouse.settings import Settings
from serving.registry import served_model
from serving.server import settings_environment, start_server
from stack.processes import kill_tree

pytestmark = [pytest.mark.integration, pytest.mark.kill]

CUSTOMERS = 4
# The orders flow and what it needs (chargebacks are read by it), and one gold table: the e-commerce path of an
# order, without the rest of the domain's job (kept short: the suite runs it three times).
SELECTION = ",".join(
    [
        "ecommerce/bronze/orders",
        "ecommerce/bronze/payments",
        "ecommerce/silver/orders",
        "ecommerce/silver/order_lines",
        "ecommerce/silver/order_status_changes",
        "ecommerce/silver/payments",
        "ecommerce/silver/chargebacks",
        "ecommerce/gold/daily_sales_by_merchant",
    ]
)


class Shopper(threading.Thread):
    """Places orders one after another until stopped; an order is retried with its id until the app answers."""

    def __init__(self, base: str, merchant: str, product: str, customers: list[str]) -> None:
        super().__init__(daemon=True)
        self.base, self.merchant, self.product, self.customers = base, merchant, product, customers
        self.case = "start"
        self.first_sent: dict[str, str] = {}  # order id → kill case it was first sent in
        self.answered: set[str] = set()
        self.refused: list[str] = []
        self.retries = 0
        self._halt = threading.Event()
        self._answered_cases: set[str] = set()

    def command(self, n: int) -> dict:
        line = OrderLine(product_id=self.product, category="home", quantity=1, unit_price=Decimal("20.00"))
        order = PlaceOrder(
            order_id=f"{self.merchant}-o{n}",
            customer_id=self.customers[n % len(self.customers)],
            merchant_id=self.merchant,
            terminal_id=f"{self.merchant}-t",
            card_number="4111111111111111",
            lines=[line],
            placed_at=datetime.now(UTC) - timedelta(minutes=5),
        )
        return order.model_dump(mode="json")

    def run(self) -> None:
        n = 0
        with httpx.Client(headers=dev_headers("ecommerce"), timeout=30) as client:
            while not self._halt.is_set():
                body = self.command(n)
                self.first_sent[body["order_id"]] = self.case
                while True:
                    try:
                        response = client.post(f"{self.base}/orders", json=body)
                    except httpx.TransportError:
                        response = None
                    if response is not None and response.status_code in (200, 201):
                        self.answered.add(body["order_id"])
                        self._answered_cases.add(self.case)
                        break
                    if response is not None and response.status_code < 500:
                        self.refused.append(f"{body['order_id']}: {response.status_code} {response.text[:200]}")
                        break
                    self.retries += 1
                    time.sleep(0.2)
                n += 1
                time.sleep(0.05)

    def answered_in(self, case: str) -> bool:
        return case in self._answered_cases

    def stop(self) -> None:
        self._halt.set()
        self.join(120)


def materialize(env: dict[str, str], log: Path) -> subprocess.Popen:
    return materialize_selection(SELECTION, env, log)


@pytest.fixture
def shop_ids(stack_settings: Settings, unique_name: str) -> dict[str, object]:
    merchant = f"m-{unique_name}"
    customers = [f"c{i}-{unique_name}" for i in range(CUSTOMERS)]
    with open_context(stack_settings, actor="kill-suite") as ctx:
        for customer in customers:
            handle(RegisterCustomer(customer_id=customer, email="k@shop.test", full_name="K", country="DE"), ctx)
        product = UpsertProduct(
            product_id=f"p-{unique_name}",
            sku=f"sku-{unique_name}",
            name="Kettle",
            category="home",
            merchant_id=merchant,
            price=Decimal("20.00"),
        )
        handle(product, ctx)
    return {"merchant": merchant, "product": product.product_id, "customers": customers}


@pytest.fixture
def workdir(tmp_path: Path) -> Iterator[Path]:
    (tmp_path / "logs").mkdir()
    yield tmp_path


def test_orders_survive_a_kill_of_every_part(
    stack_settings: Settings, fraud_served: Served, shop_ids: dict[str, object], workdir: Path
) -> None:
    lake, logs = workdir / "lake", workdir / "logs"
    env = {
        **os.environ,
        **settings_environment(fraud_served.settings),  # the app scores with the session's fraud service
        "LAKEHOUSE_LAKE_ROOT": str(lake),
        "DAGSTER_HOME": str(workdir / "dagster"),
    }
    (workdir / "dagster").mkdir()
    stack_env = dict(os.environ)  # `lakehouse stack up` with the stack's own settings (not the app's home)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    app_args = [str(BIN / "lakehouse"), "ecommerce", "serve", "--port", str(port), "--workers", "1"]
    relay_args = [str(BIN / "lakehouse"), "ecommerce", "relay", "--poll-interval", "0.2"]
    prefix = f"{shop_ids['merchant']}-o"
    processes = [spawn(app_args, env, logs / "app.log"), spawn(relay_args, env, logs / "relay.log")]
    shopper = Shopper(base, shop_ids["merchant"], shop_ids["product"], shop_ids["customers"])
    cases: dict[str, dict[str, object]] = {}

    def steady(case: str, seconds: float = 4.0) -> None:
        """Traffic in ``case`` until the shopper has had answers for ``seconds`` (so the case holds orders)."""
        shopper.case = case
        wait_for(f"an order answered in case {case!r}", lambda: shopper.answered_in(case), 240)
        time.sleep(seconds)

    def killed(case: str, kill, restart, through: str) -> None:
        """Kill, restart, then time until an order first sent after the kill has passed the killed part."""
        shopper.case = case
        at = time.monotonic()
        kill()
        restart()
        wait_for(f"an order of case {case!r} {through}", lambda: passed(stack_settings, through, shopper, case), 300)
        cases[case] = {"recovery_s": time.monotonic() - at, "recovered_when": through}
        steady(case)

    def restart_app() -> None:
        processes[0] = spawn(app_args, env, logs / "app.log")

    def restart_relay() -> None:
        processes[1] = spawn(relay_args, env, logs / "relay.log")

    def restart_fraud() -> None:
        again = start_server(fraud_served.settings, served_model("fraud"), int(fraud_served.server.url.rsplit(":")[-1]))
        fraud_served.server.process = again.process  # the session's fixture stops this one at the end

    try:
        wait_for("the app's /health", lambda: healthy(f"{base}/health"), 120)
        shopper.start()
        steady("none (before the first kill)")
        cases["none (before the first kill)"] = {"recovery_s": 0.0, "recovered_when": "-"}
        killed("app", lambda: crash(processes[0]), restart_app, "answered by the app")
        killed("relay", lambda: crash(processes[1]), restart_relay, "published")
        killed(
            "kafka broker",
            lambda: sigkill_service(stack_settings, "kafka"),
            lambda: restart_service("kafka", stack_env),
            "published",
        )
        # A first lake run lands the orders so far (the run killed below then MERGEs into a non-empty table); the
        # next two kills happen while it runs, as neither is on its path.
        first = materialize(env, logs / "dagster-1.log")
        processes.append(first)
        killed(
            "cassandra",
            lambda: sigkill_service(stack_settings, "cassandra"),
            lambda: restart_service("cassandra", stack_env),
            "in the Cassandra view",
        )
        # The whole service (its BentoML workers run in sessions of their own), as when its host dies.
        killed("fraud service", lambda: kill_tree(fraud_served.server.process.pid), restart_fraud, "scored")
        assert first.wait(900) == 0, (logs / "dagster-1.log").read_text()[-3000:]

        # The lake run killed in the middle of a silver orders batch (its offsets written, its commit not).
        shopper.case = "spark mid-MERGE"
        checkpoint = lake / "_checkpoints" / "silver" / "ecommerce_orders"
        committed = batch_ids(checkpoint / "commits")
        run = materialize(env, logs / "dagster-2.log")
        wait_for(
            "a silver orders batch in flight (offsets without a commit)",
            lambda: in_flight_batch(checkpoint, after=max(committed)) is not None or run.poll() is not None,
            900,
        )
        assert run.poll() is None, "the lake run ended before a silver orders batch was seen in flight"
        killed_at = time.monotonic()
        crash(run)
        in_flight = in_flight_batch(checkpoint, after=max(committed))
        assert in_flight is not None  # killed before its commit
        steady("spark mid-MERGE")
        shopper.stop()
        assert not shopper.refused, shopper.refused[:5]
        assert shopper.answered == set(shopper.first_sent)

        # Drain: the relay publishes what is left, the rescoring job scores what the fraud outage left unscored.
        wait_for("the outbox drained", lambda: unsent(stack_settings, prefix) == 0, 300)
        rescore = subprocess.run(
            [str(BIN / "lakehouse"), "ecommerce", "rescore", "--grace-s", "0"], env=env, capture_output=True, text=True
        )
        assert rescore.returncode == 0, rescore.stdout + rescore.stderr
        wait_for("the outbox drained after rescoring", lambda: unsent(stack_settings, prefix) == 0, 300)
        last = materialize(env, logs / "dagster-3.log")
        assert last.wait(900) == 0, (logs / "dagster-3.log").read_text()[-3000:]
        assert in_flight in batch_ids(checkpoint / "commits")  # the interrupted batch was replayed
        cases["spark mid-MERGE"] = {"recovery_s": time.monotonic() - killed_at, "recovered_when": "in gold"}
    finally:
        for process in processes:
            stop_group(process)
        if shopper.is_alive():
            shopper.stop()

    sent = set(shopper.first_sent)
    counts = layer_counts(stack_settings, lake, shop_ids, prefix)
    report = per_case(shopper.first_sent, counts.pop("silver_ids"), cases)
    write_report(report, counts, shopper.retries)
    print(json.dumps({"layers": counts, "cases": report}, indent=2))
    for layer in ("postgres", "kafka", "bronze", "silver", "gold", "cassandra", "scored"):
        assert counts[layer]["distinct"] == len(sent), (layer, counts[layer], len(sent))
    for layer in ("postgres", "silver", "cassandra"):  # Kafka and bronze are at-least-once: deduped above
        assert counts[layer]["duplicates"] == 0, (layer, counts[layer])
    assert all(case["in_silver"] == case["sent"] > 0 for case in report), report


def passed(settings: Settings, through: str, shopper: Shopper, case: str) -> bool:
    """Whether an order first sent in ``case`` has got ``through`` the part that was killed."""
    ours = [order_id for order_id, sent_in in list(shopper.first_sent.items()) if sent_in == case]
    answered = [order_id for order_id in ours if order_id in shopper.answered]
    if not answered:
        return False
    if through == "answered by the app":
        return True
    with psycopg.connect(settings.postgres_url) as conn:
        if through == "published":
            sql = "SELECT count(*) FROM ecommerce.outbox WHERE message_key = ANY(%s) AND sent_at IS NOT NULL"
        elif through == "scored":
            sql = "SELECT count(*) FROM ecommerce.orders WHERE order_id = ANY(%s) AND fraud_decision IS NOT NULL"
        else:
            sql = None
        if sql is not None:
            return conn.execute(sql, (answered,)).fetchone()[0] > 0
    assert through == "in the Cassandra view", through
    try:
        with open_orders_by_customer(settings, timeout_s=5) as view:
            month = month_key(datetime.now(UTC) - timedelta(minutes=5))
            seen = {r["order_id"] for c in shopper.customers for r in view.orders_of(c, month)}
    except Exception:  # noqa: BLE001 - Cassandra still starting: not yet
        return False
    return bool(seen & set(answered))


def unsent(settings: Settings, prefix: str) -> int:
    with psycopg.connect(settings.postgres_url) as conn:
        return conn.execute(
            "SELECT count(*) FROM ecommerce.outbox WHERE message_key LIKE %s AND sent_at IS NULL", (prefix + "%",)
        ).fetchone()[0]


def layer_counts(settings: Settings, lake: Path, ids: dict[str, object], prefix: str) -> dict[str, object]:
    merchant = ids["merchant"]
    with psycopg.connect(settings.postgres_url) as conn:
        rows = conn.execute(
            "SELECT order_id, fraud_decision FROM ecommerce.orders WHERE merchant_id = %s", (merchant,)
        ).fetchall()
    postgres = [order_id for order_id, _ in rows]
    scored = [order_id for order_id, decision in rows if decision is not None]
    placed = kafka_events(settings, "ecommerce.orders", "ecommerce.order.placed", lambda e: e["key"].startswith(prefix))
    kafka = [event["event_id"] for event in placed]
    bronze_rows = DeltaTable(str(lake / "bronze" / "ecommerce_orders")).to_pyarrow_table(columns=["key", "value"])
    bronze = [
        json.loads(value)["event_id"]
        for key, value in zip(bronze_rows["key"].to_pylist(), bronze_rows["value"].to_pylist(), strict=True)
        if key and key.startswith(prefix) and json.loads(value)["type"] == "ecommerce.order.placed"
    ]
    silver_rows = DeltaTable(str(lake / "silver" / "ecommerce_orders")).to_pyarrow_table(
        columns=["order_id", "merchant_id"]
    )
    silver = [
        o
        for o, m in zip(*(silver_rows[c].to_pylist() for c in ("order_id", "merchant_id")), strict=True)
        if m == merchant
    ]
    gold_rows = DeltaTable(str(lake / "gold" / "ecommerce_daily_sales_by_merchant")).to_pyarrow_table()
    gold_orders = sum(
        o for o, m in zip(*(gold_rows[c].to_pylist() for c in ("orders", "merchant_id")), strict=True) if m == merchant
    )
    with open_orders_by_customer(settings) as view:
        month = month_key(datetime.now(UTC) - timedelta(minutes=5))
        cassandra = [
            r["order_id"]
            for c in ids["customers"]
            for r in view.orders_of(c, month)
            if r["order_id"].startswith(prefix)
        ]
    return {
        "postgres": tally(postgres),
        "kafka": tally(kafka),
        "bronze": tally(bronze),
        "silver": tally(silver),
        "silver_ids": set(silver),
        "gold": {"rows": gold_orders, "distinct": gold_orders, "duplicates": 0},
        "cassandra": tally(cassandra),
        "scored": tally(scored),
    }


def per_case(
    first_sent: dict[str, str], silver: set[str], cases: dict[str, dict[str, float]]
) -> list[dict[str, object]]:
    report = []
    for case, timing in cases.items():
        ours = [order_id for order_id, sent_in in first_sent.items() if sent_in == case]
        report.append(
            {
                "case": case,
                "sent": len(ours),
                "in_silver": sum(order_id in silver for order_id in ours),
                "recovery_s": round(timing["recovery_s"], 1),
                "recovered_when": timing["recovered_when"],
            }
        )
    return report


def write_report(report: list[dict[str, object]], counts: dict[str, object], retries: int) -> None:
    out = PROJECT_ROOT / "var" / "reliability"
    out.mkdir(parents=True, exist_ok=True)
    body = {"domain": "ecommerce", "cases": report, "layers": counts, "client_retries": retries, "at": time.time()}
    (out / "kill_suite_ecommerce.json").write_text(json.dumps(body, indent=2, default=str))
