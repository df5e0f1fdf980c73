-- The e-commerce OLTP tables, their audit trail and the transactional outbox.
--
-- Every business table carries the same audit columns. Triggers keep them honest: an UPDATE bumps `version`
-- (the optimistic-lock counter the application compares against) and `updated_at`, and can never rewrite who
-- created the row; every INSERT/UPDATE/DELETE is copied to `audit_log` inside the same transaction.
-- `command_fingerprint` is the hash of the command that created or last changed the row: a retried command
-- with the same id is recognised by it (same hash: a replay; other hash: a conflict).

CREATE TABLE ecommerce.customers (
    customer_id text PRIMARY KEY,
    email text NOT NULL,
    full_name text NOT NULL,
    country char(2) NOT NULL,
    registered_at timestamptz NOT NULL,
    command_fingerprint text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    created_by text NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now(),
    updated_by text NOT NULL,
    version integer NOT NULL DEFAULT 1
);

CREATE TABLE ecommerce.carts (
    cart_id text PRIMARY KEY,
    customer_id text NOT NULL REFERENCES ecommerce.customers,
    command_fingerprint text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    created_by text NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now(),
    updated_by text NOT NULL,
    version integer NOT NULL DEFAULT 1
);

CREATE TABLE ecommerce.cart_lines (
    cart_id text NOT NULL REFERENCES ecommerce.carts ON DELETE CASCADE,
    line_no integer NOT NULL,
    product_id text NOT NULL,
    quantity integer NOT NULL CHECK (quantity > 0),
    unit_price numeric(14, 2) NOT NULL CHECK (unit_price >= 0),
    created_at timestamptz NOT NULL DEFAULT now(),
    created_by text NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now(),
    updated_by text NOT NULL,
    version integer NOT NULL DEFAULT 1,
    PRIMARY KEY (cart_id, line_no)
);

CREATE TABLE ecommerce.orders (
    order_id text PRIMARY KEY,
    customer_id text NOT NULL REFERENCES ecommerce.customers,
    merchant_id text NOT NULL,
    terminal_id text NOT NULL,
    -- The clear card number travels only in the event (hashed in silver); the OLTP row keeps what support needs.
    card_last4 char(4) NOT NULL,
    card_fingerprint text NOT NULL,
    amount numeric(14, 2) NOT NULL CHECK (amount > 0),
    currency char(3) NOT NULL,
    status text NOT NULL,
    placed_at timestamptz NOT NULL,
    command_fingerprint text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    created_by text NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now(),
    updated_by text NOT NULL,
    version integer NOT NULL DEFAULT 1
);
CREATE INDEX orders_customer_placed ON ecommerce.orders (customer_id, placed_at);

CREATE TABLE ecommerce.order_lines (
    order_id text NOT NULL REFERENCES ecommerce.orders,
    line_no integer NOT NULL,
    product_id text NOT NULL,
    category text NOT NULL,
    quantity integer NOT NULL CHECK (quantity > 0),
    unit_price numeric(14, 2) NOT NULL CHECK (unit_price >= 0),
    created_at timestamptz NOT NULL DEFAULT now(),
    created_by text NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now(),
    updated_by text NOT NULL,
    version integer NOT NULL DEFAULT 1,
    PRIMARY KEY (order_id, line_no)
);

CREATE TABLE ecommerce.payments (
    payment_id text PRIMARY KEY,
    -- One capture per order: a second payment id for the same order is a conflict, not a second charge.
    order_id text NOT NULL UNIQUE REFERENCES ecommerce.orders,
    amount numeric(14, 2) NOT NULL CHECK (amount > 0),
    method text NOT NULL,
    captured_at timestamptz NOT NULL,
    command_fingerprint text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    created_by text NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now(),
    updated_by text NOT NULL,
    version integer NOT NULL DEFAULT 1
);

CREATE TABLE ecommerce.chargebacks (
    chargeback_id text PRIMARY KEY,
    order_id text NOT NULL UNIQUE REFERENCES ecommerce.orders,
    reason text NOT NULL,
    amount numeric(14, 2) NOT NULL CHECK (amount > 0),
    filed_at timestamptz NOT NULL,
    command_fingerprint text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    created_by text NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now(),
    updated_by text NOT NULL,
    version integer NOT NULL DEFAULT 1
);

-- Append-only history of every business row change, written by trigger in the changing transaction.
CREATE TABLE ecommerce.audit_log (
    audit_id bigserial PRIMARY KEY,
    table_name text NOT NULL,
    row_key text NOT NULL,
    action text NOT NULL CHECK (action IN ('INSERT', 'UPDATE', 'DELETE')),
    actor text NOT NULL,
    at timestamptz NOT NULL DEFAULT now(),
    before jsonb,
    after jsonb
);
CREATE INDEX audit_log_row ON ecommerce.audit_log (table_name, row_key);

-- Events waiting for the relay. `envelope` is the exact text published; `sent_at` is set once Kafka acked it.
CREATE TABLE ecommerce.outbox (
    id bigserial PRIMARY KEY,
    event_id uuid NOT NULL UNIQUE,
    topic text NOT NULL,
    message_key text NOT NULL,
    event_type text NOT NULL,
    event_version integer NOT NULL,
    envelope text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    sent_at timestamptz
);
-- The relay only ever scans the unsent tail; a partial index keeps that scan small however long the table gets.
CREATE INDEX outbox_unsent ON ecommerce.outbox (id) WHERE sent_at IS NULL;

CREATE FUNCTION ecommerce.stamp_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.version := OLD.version + 1;
    NEW.updated_at := now();
    NEW.created_at := OLD.created_at;
    NEW.created_by := OLD.created_by;
    RETURN NEW;
END;
$$;

-- TG_ARGV holds the key columns of the table; the row key is their values joined by '/'.
CREATE FUNCTION ecommerce.audit_row() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    row_image jsonb := to_jsonb(CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END);
    key_parts text[] := ARRAY[]::text[];
    key_column text;
BEGIN
    FOREACH key_column IN ARRAY TG_ARGV LOOP
        key_parts := key_parts || (row_image ->> key_column);
    END LOOP;
    INSERT INTO ecommerce.audit_log (table_name, row_key, action, actor, before, after)
    VALUES (
        TG_TABLE_NAME,
        array_to_string(key_parts, '/'),
        TG_OP,
        -- The use case names its actor for the whole transaction; a hand-written change falls back to the row.
        coalesce(nullif(current_setting('ecommerce.actor', true), ''), row_image ->> 'updated_by', current_user),
        CASE WHEN TG_OP = 'INSERT' THEN NULL ELSE to_jsonb(OLD) END,
        CASE WHEN TG_OP = 'DELETE' THEN NULL ELSE to_jsonb(NEW) END
    );
    RETURN NULL;
END;
$$;

CREATE FUNCTION ecommerce.reject_audit_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'ecommerce.audit_log is append-only (% refused)', TG_OP;
END;
$$;

CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON ecommerce.audit_log
    FOR EACH ROW EXECUTE FUNCTION ecommerce.reject_audit_change();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON ecommerce.audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION ecommerce.reject_audit_change();

CREATE TRIGGER customers_stamp BEFORE UPDATE ON ecommerce.customers
    FOR EACH ROW EXECUTE FUNCTION ecommerce.stamp_update();
CREATE TRIGGER customers_audit AFTER INSERT OR UPDATE OR DELETE ON ecommerce.customers
    FOR EACH ROW EXECUTE FUNCTION ecommerce.audit_row('customer_id');

CREATE TRIGGER carts_stamp BEFORE UPDATE ON ecommerce.carts
    FOR EACH ROW EXECUTE FUNCTION ecommerce.stamp_update();
CREATE TRIGGER carts_audit AFTER INSERT OR UPDATE OR DELETE ON ecommerce.carts
    FOR EACH ROW EXECUTE FUNCTION ecommerce.audit_row('cart_id');

CREATE TRIGGER cart_lines_stamp BEFORE UPDATE ON ecommerce.cart_lines
    FOR EACH ROW EXECUTE FUNCTION ecommerce.stamp_update();
CREATE TRIGGER cart_lines_audit AFTER INSERT OR UPDATE OR DELETE ON ecommerce.cart_lines
    FOR EACH ROW EXECUTE FUNCTION ecommerce.audit_row('cart_id', 'line_no');

CREATE TRIGGER orders_stamp BEFORE UPDATE ON ecommerce.orders
    FOR EACH ROW EXECUTE FUNCTION ecommerce.stamp_update();
CREATE TRIGGER orders_audit AFTER INSERT OR UPDATE OR DELETE ON ecommerce.orders
    FOR EACH ROW EXECUTE FUNCTION ecommerce.audit_row('order_id');

CREATE TRIGGER order_lines_stamp BEFORE UPDATE ON ecommerce.order_lines
    FOR EACH ROW EXECUTE FUNCTION ecommerce.stamp_update();
CREATE TRIGGER order_lines_audit AFTER INSERT OR UPDATE OR DELETE ON ecommerce.order_lines
    FOR EACH ROW EXECUTE FUNCTION ecommerce.audit_row('order_id', 'line_no');

CREATE TRIGGER payments_stamp BEFORE UPDATE ON ecommerce.payments
    FOR EACH ROW EXECUTE FUNCTION ecommerce.stamp_update();
CREATE TRIGGER payments_audit AFTER INSERT OR UPDATE OR DELETE ON ecommerce.payments
    FOR EACH ROW EXECUTE FUNCTION ecommerce.audit_row('payment_id');

CREATE TRIGGER chargebacks_stamp BEFORE UPDATE ON ecommerce.chargebacks
    FOR EACH ROW EXECUTE FUNCTION ecommerce.stamp_update();
CREATE TRIGGER chargebacks_audit AFTER INSERT OR UPDATE OR DELETE ON ecommerce.chargebacks
    FOR EACH ROW EXECUTE FUNCTION ecommerce.audit_row('chargeback_id');

-- Belt and braces for roles other than the owner: nobody but the trigger path writes the log.
REVOKE UPDATE, DELETE, TRUNCATE ON ecommerce.audit_log FROM PUBLIC;
