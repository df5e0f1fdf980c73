"""The fraud features, defined once: names, windows, the Redis layout of the online store, and the label.

Offline (Spark over silver, point-in-time correct), online (Redis, latest values per customer and terminal)
and serving (the request plus the online values) all build the same ``FEATURE_COLUMNS``, in this order, which
is also the column order the model is trained on.

Point-in-time rules, for an order placed at ``t``:
- customer and terminal activity counts the entity's orders placed in ``[t - window, t)``: never the order
  itself, never anything later;
- terminal risk is the share of the terminal's *matured* orders, those placed in ``[t - delay - window, t - delay)``,
  whose chargeback was *filed* before ``t`` (a label is only known once its chargeback arrives: using later ones
  would leak the future). ``delay`` is the label delay: chargebacks take days to weeks, so the last days' orders
  have no label yet and, counted, would only dilute the share (with a 7-day delay a window ending at ``t`` would
  make the 1- and 7-day risks zero by construction). The windows shift back by it, as the Fraud Detection
  Handbook's do; it is recorded with every model trained on these features;
- the customer-terminal pair counts the customer's orders at this very terminal placed in ``[t - 30 days, t)``:
  a stolen card is used where its owner never shops, so a first use of a terminal is a strong signal (the
  backtest kept it; README "Fraud features" has the figures, and the other candidates it did not keep);
- request features come from the order itself.
"""

from __future__ import annotations

WINDOWS_DAYS = (1, 7, 30)
# Days for most chargebacks to arrive: the terminal-risk windows end this long before the order. One value for
# offline, online and fallback; a model records the delay its features used (``feature_definition``).
LABEL_DELAY_DAYS = 7

REQUEST_FEATURES = ("amount", "amount_to_customer_avg_30d", "hour_of_day", "is_weekend", "is_night")
CUSTOMER_FEATURES = (
    *(f"customer_orders_{d}d" for d in WINDOWS_DAYS),
    *(f"customer_spend_{d}d" for d in WINDOWS_DAYS),
    "customer_avg_amount_30d",
)
TERMINAL_FEATURES = (
    *(f"terminal_orders_{d}d" for d in WINDOWS_DAYS),
    *(f"terminal_risk_{d}d" for d in WINDOWS_DAYS),
)
PAIR_WINDOW_DAYS = 30
PAIR_FEATURES = (f"customer_terminal_orders_{PAIR_WINDOW_DAYS}d", f"new_terminal_for_customer_{PAIR_WINDOW_DAYS}d")
FEATURE_COLUMNS = (*REQUEST_FEATURES, *CUSTOMER_FEATURES, *TERMINAL_FEATURES, *PAIR_FEATURES)

ORDER_KEY = "order_id"
TIMESTAMP_COLUMN = "placed_at"
LABEL_COLUMN = "is_fraud"  # 1 when the order has a chargeback known at the training cut-off

# Online store (``features.online_store``): one Redis hash per customer and per terminal.
CUSTOMER_KEY = "features:fraud:customer:{customer_id}"
TERMINAL_KEY = "features:fraud:terminal:{terminal_id}"
# The pair counts live in the customer's hash, one field per terminal the customer used in the pair window (a
# terminal without a field counts 0): one read per customer, and always as of the same moment as its features.
PAIR_FIELD = "terminal_orders:{terminal_id}"
# Says the hash holds those counts: a hash written before they existed has none, which must not read as "first use".
PAIR_LAYOUT_FIELD = "pair_window_days"


def feature_definition(label_delay_days: float = LABEL_DELAY_DAYS) -> dict[str, object]:
    """What a model records about the features it was trained on, so serving can check it reads the same ones."""
    return {
        "feature_columns": list(FEATURE_COLUMNS),
        "windows_days": list(WINDOWS_DAYS),
        "label_delay_days": label_delay_days,
    }
