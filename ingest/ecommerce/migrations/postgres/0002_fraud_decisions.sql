-- The fraud check of an order placed through the HTTP app, recorded on the order once its placement has committed.
--
-- All columns stay NULL for an order that was never scored (generated or imported history, or an order whose
-- check was interrupted). `fraud_decision` is the service's decision, or 'unscored' when the service gave no usable
-- answer (down, too slow, an error); `fraud_error` then says why. Writing them is an ordinary UPDATE: it bumps
-- `version` and lands in `audit_log` like any other change.
ALTER TABLE ecommerce.orders
    ADD COLUMN fraud_score double precision CHECK (fraud_score BETWEEN 0 AND 1),
    ADD COLUMN fraud_decision text CHECK (fraud_decision IN ('approve', 'review', 'decline', 'unscored')),
    ADD COLUMN fraud_model_version text,
    ADD COLUMN fraud_features_source text,
    ADD COLUMN fraud_checked_at timestamptz,
    ADD COLUMN fraud_error text;

-- The scoring service's PostgreSQL fallback counts a customer's and a terminal's recent orders as of a moment.
CREATE INDEX IF NOT EXISTS orders_customer_placed ON ecommerce.orders (customer_id, placed_at);
CREATE INDEX IF NOT EXISTS orders_terminal_placed ON ecommerce.orders (terminal_id, placed_at);
