"""The fraud check of a newly placed order: ask the fraud service, and read or write its verdict on the order row.

The service is a runtime HTTP dependency of the app, not a code one: this module is the only place in `ingest/` that
imports `serving/`, and only the fraud service's wire contract (`serving/fraud/contract.py`: pydantic and httpx, no
BentoML, no model, nothing else of ours).
Every way the service can fail to give a score becomes an ``unscored`` verdict with the reason, never an error:
the order was accepted before the service was asked, and a human reviews what the model could not judge.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal

import psycopg
from pydantic import ValidationError

from ingest.ecommerce.commands import OrderFields
from ingest.ecommerce.context import FraudScoring
from ingest.ecommerce.order_store import OrderRow
from ingest.ecommerce.unit_of_work import FraudVerdict
from serving.fraud.contract import FraudScoreRequest, FraudServiceError, score_order

APPROVE = "approve"
UNSCORED = "unscored"


def score_request(command: OrderFields, placed_at: datetime) -> FraudScoreRequest:
    return order_request(command.order_id, command.customer_id, command.terminal_id, command.amount, placed_at)


def order_request(
    order_id: str, customer_id: str, terminal_id: str, amount: Decimal, placed_at: datetime
) -> FraudScoreRequest:
    return FraudScoreRequest(
        order_id=order_id, customer_id=customer_id, terminal_id=terminal_id, amount=amount, placed_at=placed_at
    )


def ask_fraud_service(command: OrderFields, placed_at: datetime, scoring: FraudScoring) -> FraudVerdict:
    """The service's verdict on the order, or ``unscored`` saying why there is none (down, timeout, error)."""
    return ask_about(lambda: score_request(command, placed_at), scoring)


def ask_about(request: Callable[[], FraudScoreRequest], scoring: FraudScoring) -> FraudVerdict:
    """The verdict on the order ``request`` builds (built inside the check: an order the service's contract cannot
    express, say an amount over its limit, is unscored too). Also used by the rescoring job."""
    try:
        settings = scoring.settings
        result = score_order(
            request(),
            url=settings.fraud_service_url,
            api_key=settings.fraud_api_key,
            timeout_s=settings.fraud_timeout_s,
            client=scoring.client,
        )
    except (FraudServiceError, ValidationError) as error:
        return unscored(str(error), datetime.now(UTC))
    return FraudVerdict(
        decision=result.decision,
        checked_at=datetime.now(UTC),
        score=result.score,
        model_version=result.model_version,
        features_source=result.features_source,
    )


def unscored(reason: str, at: datetime) -> FraudVerdict:
    return FraudVerdict(decision=UNSCORED, checked_at=at, error=reason)


def holds_for_review(verdict: FraudVerdict) -> bool:
    """Anything but an approval (review, decline, unscored) puts the order in front of a human before it is paid."""
    return verdict.decision != APPROVE


def record_verdict(conn: psycopg.Connection, order: OrderRow, verdict: FraudVerdict, actor: str) -> OrderRow:
    """Store ``verdict`` on the (locked) order; returns the order as it now is (the update bumped its version)."""
    # The caller holds the row lock, so the row is there and no one else moved its version.
    (version,) = conn.execute(
        """UPDATE ecommerce.orders SET fraud_score = %s, fraud_decision = %s, fraud_model_version = %s,
        fraud_features_source = %s, fraud_checked_at = %s, fraud_error = %s, updated_by = %s
        WHERE order_id = %s RETURNING version""",
        (verdict.score, verdict.decision, verdict.model_version, verdict.features_source, verdict.checked_at)
        + (verdict.error, actor, order.order_id),
    ).fetchone()
    return replace(order, version=version)


def stored_verdict(conn: psycopg.Connection, order_id: str) -> FraudVerdict | None:
    """The verdict recorded on the order; None when it was never checked (or its check has not finished yet)."""
    row = conn.execute(
        """SELECT fraud_decision, fraud_checked_at, fraud_score, fraud_model_version, fraud_features_source,
        fraud_error FROM ecommerce.orders WHERE order_id = %s AND fraud_decision IS NOT NULL""",
        (order_id,),
    ).fetchone()
    return None if row is None else FraudVerdict(*row)
