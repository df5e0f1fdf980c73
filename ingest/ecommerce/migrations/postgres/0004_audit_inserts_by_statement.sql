-- The tables a bulk import fills audit their inserts by statement (the kit's `audit_inserts_by_statement`):
-- the same audit rows, one INSERT … SELECT per statement instead of one per row.
SELECT lakehouse_kit.audit_inserts_by_statement('ecommerce', 'customers', 'customer_id');
SELECT lakehouse_kit.audit_inserts_by_statement('ecommerce', 'orders', 'order_id');
SELECT lakehouse_kit.audit_inserts_by_statement('ecommerce', 'order_lines', 'order_id', 'line_no');
SELECT lakehouse_kit.audit_inserts_by_statement('ecommerce', 'payments', 'payment_id');
SELECT lakehouse_kit.audit_inserts_by_statement('ecommerce', 'chargebacks', 'chargeback_id');
