-- The e-commerce schema: OLTP tables with audit fields, their audit trail and the transactional outbox.
--
-- The audit trail and the outbox come from the kit (ingest/core/migrations): the same in every domain.
-- `command_fingerprint` is the hash of the command that created or last changed the row: a retried command
-- with the same id is recognised by it (same hash: a replay; other hash: a conflict).
CREATE SCHEMA IF NOT EXISTS ecommerce;

CREATE TABLE ecommerce.customers (
    customer_id text PRIMARY KEY,
    email text NOT NULL,
    full_name text NOT NULL,
    country char(2) NOT NULL,
    registered_at timestamptz NOT NULL,
    command_fingerprint text NOT NULL,
    LIKE lakehouse_kit.audit_columns INCLUDING DEFAULTS INCLUDING CONSTRAINTS
);

CREATE TABLE ecommerce.carts (
    cart_id text PRIMARY KEY,
    customer_id text NOT NULL REFERENCES ecommerce.customers,
    command_fingerprint text NOT NULL,
    LIKE lakehouse_kit.audit_columns INCLUDING DEFAULTS INCLUDING CONSTRAINTS
);

CREATE TABLE ecommerce.cart_lines (
    cart_id text NOT NULL REFERENCES ecommerce.carts ON DELETE CASCADE,
    line_no integer NOT NULL,
    product_id text NOT NULL,
    quantity integer NOT NULL CHECK (quantity > 0),
    unit_price numeric(14, 2) NOT NULL CHECK (unit_price >= 0),
    LIKE lakehouse_kit.audit_columns INCLUDING DEFAULTS INCLUDING CONSTRAINTS,
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
    LIKE lakehouse_kit.audit_columns INCLUDING DEFAULTS INCLUDING CONSTRAINTS
);
CREATE INDEX orders_customer_placed ON ecommerce.orders (customer_id, placed_at);

CREATE TABLE ecommerce.order_lines (
    order_id text NOT NULL REFERENCES ecommerce.orders,
    line_no integer NOT NULL,
    product_id text NOT NULL,
    category text NOT NULL,
    quantity integer NOT NULL CHECK (quantity > 0),
    unit_price numeric(14, 2) NOT NULL CHECK (unit_price >= 0),
    LIKE lakehouse_kit.audit_columns INCLUDING DEFAULTS INCLUDING CONSTRAINTS,
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
    LIKE lakehouse_kit.audit_columns INCLUDING DEFAULTS INCLUDING CONSTRAINTS
);

CREATE TABLE ecommerce.chargebacks (
    chargeback_id text PRIMARY KEY,
    order_id text NOT NULL UNIQUE REFERENCES ecommerce.orders,
    reason text NOT NULL,
    amount numeric(14, 2) NOT NULL CHECK (amount > 0),
    filed_at timestamptz NOT NULL,
    command_fingerprint text NOT NULL,
    LIKE lakehouse_kit.audit_columns INCLUDING DEFAULTS INCLUDING CONSTRAINTS
);

SELECT lakehouse_kit.create_audit_log('ecommerce');
SELECT lakehouse_kit.create_outbox('ecommerce');

-- Stamp and audit triggers on every business table.
SELECT lakehouse_kit.audit_table('ecommerce', 'customers', 'customer_id');
SELECT lakehouse_kit.audit_table('ecommerce', 'carts', 'cart_id');
SELECT lakehouse_kit.audit_table('ecommerce', 'cart_lines', 'cart_id', 'line_no');
SELECT lakehouse_kit.audit_table('ecommerce', 'orders', 'order_id');
SELECT lakehouse_kit.audit_table('ecommerce', 'order_lines', 'order_id', 'line_no');
SELECT lakehouse_kit.audit_table('ecommerce', 'payments', 'payment_id');
SELECT lakehouse_kit.audit_table('ecommerce', 'chargebacks', 'chargeback_id');
