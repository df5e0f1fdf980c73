"""The CSV importer: the handbook's layout by default, renamed columns by mapping, bad rows reported and kept
out without stopping the good ones, and generated traffic surviving the trip through a CSV unchanged."""

from __future__ import annotations

import csv
import random
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from ingest.ecommerce.commands import (
    CapturePayment,
    Command,
    FileChargeback,
    OrderLine,
    PlaceOrder,
    RegisterCustomer,
    UpsertProduct,
)
from ingest.ecommerce.fraud_patterns import FraudConfig
from ingest.ecommerce.generator import TrafficConfig, generate, simulate, write_csv
from ingest.ecommerce.importer import ColumnMapping, ImportOptions, import_csv
from ingest.ecommerce.population import PopulationConfig

SAMPLE = Path(__file__).parent.parent / "data" / "transactions_sample.csv"
HEADER = ["TRANSACTION_ID", "TX_DATETIME", "CUSTOMER_ID", "TERMINAL_ID", "TX_AMOUNT", "TX_FRAUD"]
ORDER_FLOW = (PlaceOrder, CapturePayment, FileChargeback)


def imported(path: Path, mapping: ColumnMapping | None = None, **options: object) -> tuple[list[Command], object]:
    commands: list[Command] = []
    summary = import_csv(path, mapping, commands.append, options=ImportOptions(**options))  # type: ignore[arg-type]
    return commands, summary


def of_type(commands: list[Command], kind: type) -> list:
    return [c for c in commands if isinstance(c, kind)]


def write_rows(path: Path, header: list[str], rows: list[list[object]]) -> Path:
    with path.open("w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def event_time(command: Command) -> datetime:
    match command:
        case PlaceOrder(placed_at=at) | CapturePayment(captured_at=at) | FileChargeback(filed_at=at):
            return at
    raise AssertionError(f"no time on {command!r}")


def sample_rows() -> list[dict[str, str]]:
    with SAMPLE.open(newline="") as source:
        return list(csv.DictReader(source))


def test_the_handbook_layout_imports_as_the_commands_of_a_live_shop(tmp_path: Path) -> None:
    rows = sample_rows()
    commands, summary = imported(SAMPLE, rejects_path=tmp_path / "rejects.csv")
    orders = of_type(commands, PlaceOrder)
    assert summary.rejected == 0 and not summary.sorted_in_memory
    assert [o.order_id for o in orders] == [r["TRANSACTION_ID"] for r in rows]
    assert [o.amount for o in orders] == [Decimal(r["TX_AMOUNT"]) for r in rows]
    assert len(of_type(commands, RegisterCustomer)) == len({r["CUSTOMER_ID"] for r in rows})
    assert len(of_type(commands, CapturePayment)) == len(rows)
    first = orders[0]
    assert first.customer_id == "78" and first.terminal_id == "3" and first.merchant_id == "m-3"
    assert first.placed_at == datetime(2018, 4, 1, 0, 41, 54, tzinfo=UTC)
    assert first.lines == [
        OrderLine(product_id="p-general", category="general", quantity=1, unit_price=Decimal("28.49"))
    ]
    assert [u.product_id for u in of_type(commands, UpsertProduct)] == ["p-general"]


def test_fraud_rows_are_charged_back_after_the_delay_in_time_order() -> None:
    rows = sample_rows()
    commands, summary = imported(SAMPLE, chargeback_delay_days=0.1)
    fraud = {
        r["TRANSACTION_ID"]: datetime.fromisoformat(r["TX_DATETIME"]).replace(tzinfo=UTC)
        for r in rows
        if r["TX_FRAUD"] == "1"
    }
    chargebacks = of_type(commands, FileChargeback)
    assert {c.order_id: c.filed_at for c in chargebacks} == {k: v + timedelta(days=0.1) for k, v in fraud.items()}
    assert len(fraud) == 3 == summary.chargebacks_emitted
    times = [event_time(c) for c in commands if isinstance(c, ORDER_FLOW)]
    assert times == sorted(times)
    assert times.index(fraud["7"] + timedelta(days=0.1)) > times.index(fraud["7"]) + 1  # filed among later orders


def test_chargebacks_filed_after_known_at_stay_pending() -> None:
    commands, summary = imported(SAMPLE, chargeback_delay_days=7, known_at=datetime(2018, 4, 2, tzinfo=UTC))
    assert of_type(commands, FileChargeback) == [] and summary.chargebacks_pending == 3


def test_customers_and_cards_are_derived_from_the_ids_alone(tmp_path: Path) -> None:
    first, _ = imported(SAMPLE)
    again, _ = imported(SAMPLE)
    assert first == again
    cards = {o.customer_id: o.card_number for o in of_type(first, PlaceOrder)}
    assert all(len(card) == 16 for card in cards.values()) and len(set(cards.values())) == len(cards)
    registered = of_type(first, RegisterCustomer)
    assert all(c.email.endswith("@import.example.com") and c.country == "FR" for c in registered)


def test_a_mapping_renames_the_columns(tmp_path: Path) -> None:
    rows = sample_rows()
    renamed = write_rows(
        tmp_path / "renamed.csv",
        ["tx_id", "ts", "cust", "term", "amt", "label"],
        [[r[name] for name in HEADER] for r in rows],
    )
    mapping = ColumnMapping.parse(
        "transaction_id=tx_id, timestamp=ts,customer_id=cust,terminal_id=term,amount=amt,fraud=label"
    )
    commands, summary = imported(renamed, mapping)
    expected, _ = imported(SAMPLE)
    assert summary.orders == len(rows) and commands == expected


def test_a_merchant_column_stands_in_for_a_missing_terminal(tmp_path: Path) -> None:
    path = write_rows(
        tmp_path / "m.csv",
        ["id", "at", "who", "shop", "eur"],
        [["a1", "2024-01-01T10:00:00+01:00", "c1", "shop-9", "12.5"]],
    )
    mapping = ColumnMapping.parse("transaction_id=id,timestamp=at,customer_id=who,merchant_id=shop,amount=eur")
    (order,) = of_type(imported(path, mapping)[0], PlaceOrder)
    assert (order.merchant_id, order.terminal_id, order.amount) == ("shop-9", "shop-9", Decimal("12.50"))
    assert order.placed_at == datetime(2024, 1, 1, 9, tzinfo=UTC)


def test_mapping_mistakes_are_named() -> None:
    with pytest.raises(ValueError, match="colour"):
        ColumnMapping.parse("colour=red")
    with pytest.raises(ValueError, match="timestamp: column 'ts'"):
        import_csv(SAMPLE, ColumnMapping.parse("timestamp=ts"), lambda command: None)


def test_bad_rows_are_reported_with_line_and_reason_and_the_good_ones_flow(tmp_path: Path) -> None:
    rows = [
        ["t1", "2024-03-01 10:00:00", "c1", "7", "10.00", "0"],  # line 2
        ["t2", "2024-03-01 10:05:00", "", "7", "11.00", "0"],  # line 3
        ["t3", "yesterday", "c1", "7", "12.00", "0"],  # line 4
        ["t4", "2024-03-01 10:15:00", "c2", "7", "a lot", "0"],  # line 5
        ["t5", "2024-03-01 10:20:00", "c2", "7", "-3.00", "0"],  # line 6
        ["t6", "2024-03-01 10:25:00", "c2", "7", "9.00", "maybe"],  # line 7
        ["t7", "2024-03-01 10:30:00", "c2", "7"],  # line 8
        ["t8", "2024-03-01 10:35:00", "c3", "8", "13.00", "1"],  # line 9
    ]
    path = write_rows(tmp_path / "history.csv", HEADER, rows)
    commands, summary = imported(path)
    assert [o.order_id for o in of_type(commands, PlaceOrder)] == ["t1", "t8"]
    assert summary.rows == 8 and summary.orders == 2 and summary.rejected == 6
    reasons = {r.line: r.reason for r in summary.rejects}
    assert sorted(reasons) == [3, 4, 5, 6, 7, 8]
    assert reasons[3] == "customer_id: missing"
    assert "timestamp" in reasons[4] and "'yesterday'" in reasons[4]
    assert "amount" in reasons[5] and "amount" in reasons[6] and "positive" in reasons[6]
    assert "fraud" in reasons[7] and "fields" in reasons[8]
    with (tmp_path / "history.rejects.csv").open(newline="") as rejects:
        written = list(csv.DictReader(rejects))
    assert [(r["TRANSACTION_ID"], r["_line"]) for r in written] == [
        ("t2", "3"),
        ("t3", "4"),
        ("t4", "5"),
        ("t5", "6"),
        ("t6", "7"),
        ("t7", "8"),
    ]
    assert written[0]["_reason"] == "customer_id: missing"


def test_an_unordered_file_is_sorted_before_import(tmp_path: Path) -> None:
    rows = sample_rows()
    shuffled = [[r[name] for name in HEADER] for r in rows]
    random.Random(3).shuffle(shuffled)
    commands, summary = imported(write_rows(tmp_path / "shuffled.csv", HEADER, shuffled))
    expected, _ = imported(SAMPLE)
    assert summary.sorted_in_memory
    assert commands == expected


def test_generated_traffic_survives_the_trip_through_a_csv(tmp_path: Path) -> None:
    now = datetime(2024, 6, 1, tzinfo=UTC)
    config = TrafficConfig(
        seed=11,
        count=2000,
        days=20,
        now=now,
        fraud=FraudConfig(rate=0.05),
        friendly_chargeback_rate=0.01,
        population=PopulationConfig(customers=150, merchants=30),
    )
    generated: list[Command] = []
    summary = generate(config, generated.append)
    path = tmp_path / "traffic.csv"
    assert write_csv((order.transaction for order in simulate(config)), path, known_at=now) == 2000
    commands, import_summary = imported(path)
    assert import_summary.rejected == 0 and import_summary.chargebacks_pending == 0
    expected = [c for c in generated if isinstance(c, ORDER_FLOW)]
    assert [c for c in commands if isinstance(c, ORDER_FLOW)] == expected
    assert len(of_type(expected, FileChargeback)) == summary.chargebacks_emitted > 0


def test_a_rejected_row_keeps_its_card_number_out_of_the_rejects_file(tmp_path: Path) -> None:
    header = [*HEADER, "CARD_NUMBER", "NOTE"]
    rows = [
        ["t1", "2024-03-01 10:00:00", "c1", "7", "a lot", "0", "4111111111111111", "card 5500 0000 0000 0004"],
        ["t2", "2024-03-01 10:05:00", "c1", "7", "10.00", "0", "4111111111111111", "fine"],
    ]
    _, summary = imported(write_rows(tmp_path / "cards.csv", header, rows))
    assert summary.rejected == 1 and summary.orders == 1
    written = (tmp_path / "cards.rejects.csv").read_text()
    assert "4111111111111111" not in written and "5500 0000 0000 0004" not in written
    [row] = list(csv.DictReader(written.splitlines()))
    assert (row["CARD_NUMBER"], row["NOTE"], row["TX_AMOUNT"]) == ("************1111", "card ************0004", "a lot")
