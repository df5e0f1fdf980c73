-- Orders whose fraud check is owed: placed where scoring is on, so a verdict must follow the commit. If the app
-- dies between the commit and the verdict, the order keeps `fraud_check_due` with no `fraud_decision`, and the
-- rescoring job (`lakehouse ecommerce rescore`, Dagster job `ecommerce_fraud_rescoring`) scores it later.
-- `fraud_check_attempts` counts the job's failed tries (its last error in `fraud_error`); after the limit it records
-- an 'unscored' verdict, which holds the order for a person like any other.
ALTER TABLE ecommerce.orders
    ADD COLUMN fraud_check_due boolean NOT NULL DEFAULT false,
    ADD COLUMN fraud_check_attempts integer NOT NULL DEFAULT 0 CHECK (fraud_check_attempts >= 0);

CREATE INDEX IF NOT EXISTS orders_fraud_check_owed ON ecommerce.orders (placed_at)
    WHERE fraud_check_due AND fraud_decision IS NULL;
