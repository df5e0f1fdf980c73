"""Fraud checks that never finished: find the orders owed one, and score them now.

The app scores a new order after its transaction commits (`ordering.place_order`). If the app dies in between, the
order is durable but has no verdict; it was marked ``fraud_check_due`` when it was written, so it is found here.
Each owed order is scored as the app would have scored it, with the same request (its ``placed_at`` included), and
the verdict is acted on by the same use case: an approval is recorded, anything else holds the order for review
with its status change and ``order.held`` notification. The first verdict stands, so the app finishing late and
this job never both act. A service that keeps failing is retried on later runs up to ``max_attempts``; then the
order gets an ``unscored`` verdict saying so, which holds it for a person.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from ingest.ecommerce.context import EcommerceContext
from ingest.ecommerce.fraud_check import UNSCORED, ask_about, order_request, unscored
from ingest.ecommerce.ordering import act_on_fraud_verdict
from ingest.ecommerce.unit_of_work import Accepted, FraudVerdict

# An order younger than this may still be waiting for the app's own check: leave it to the app.
GRACE = timedelta(seconds=60)
MAX_ATTEMPTS = 5


@dataclass(frozen=True)
class OwedCheck:
    order_id: str
    customer_id: str
    terminal_id: str
    amount: Decimal
    placed_at: datetime
    attempts: int


@dataclass(frozen=True)
class RescoreReport:
    owed: int  # orders found owing a check
    outcomes: Counter[str]  # approve / review / decline: scored now; unscored: gave up; retry: failed, left for later

    @property
    def held(self) -> int:
        return sum(count for decision, count in self.outcomes.items() if decision not in ("approve", "retry"))


def owed_checks(ctx: EcommerceContext, written_before: datetime, limit: int) -> list[OwedCheck]:
    """Orders owed a check, written (``created_at``: ``placed_at`` may be history) before ``written_before``."""
    with ctx.pool.connection() as conn:
        rows = conn.execute(
            """SELECT order_id, customer_id, terminal_id, amount, placed_at, fraud_check_attempts
            FROM ecommerce.orders WHERE fraud_check_due AND fraud_decision IS NULL AND created_at < %s
            ORDER BY created_at LIMIT %s""",
            (written_before, limit),
        ).fetchall()
    return [OwedCheck(*row) for row in rows]


def ask(check: OwedCheck, ctx: EcommerceContext) -> FraudVerdict:
    """The service's verdict on the owed order, asked exactly as the app asks (its ``placed_at`` included)."""
    owed = (check.order_id, check.customer_id, check.terminal_id, check.amount, check.placed_at)
    return ask_about(lambda: order_request(*owed), ctx.fraud)


def note_failed_attempt(ctx: EcommerceContext, check: OwedCheck, error: str) -> None:
    with ctx.pool.connection() as conn:
        conn.execute(
            """UPDATE ecommerce.orders SET fraud_check_attempts = fraud_check_attempts + 1, fraud_error = %s,
            updated_by = %s WHERE order_id = %s AND fraud_decision IS NULL""",
            (error, ctx.actor, check.order_id),
        )


def rescore_owed(
    ctx: EcommerceContext,
    *,
    grace: timedelta = GRACE,
    max_attempts: int = MAX_ATTEMPTS,
    limit: int = 1000,
    now: datetime | None = None,
) -> RescoreReport:
    """Score every order owed a check for longer than ``grace``; needs ``ctx.fraud`` (scoring on)."""
    if ctx.fraud is None:
        raise ValueError("rescoring needs a context with fraud scoring on (open_context(..., fraud_scoring=True))")
    owed = owed_checks(ctx, (now or datetime.now(UTC)) - grace, limit)
    outcomes: Counter[str] = Counter()
    for check in owed:
        verdict = ask(check, ctx)
        if verdict.decision == UNSCORED and check.attempts + 1 < max_attempts:
            note_failed_attempt(ctx, check, verdict.error or "")
            outcomes["retry"] += 1
            continue
        if verdict.decision == UNSCORED:
            verdict = unscored(f"gave up after {max_attempts} attempts; last: {verdict.error}", verdict.checked_at)
        accepted = Accepted("order", check.order_id, "created", 1)
        done = act_on_fraud_verdict(accepted, verdict, ctx)
        outcomes[done.fraud.decision if done.fraud else verdict.decision] += 1
    return RescoreReport(len(owed), outcomes)
