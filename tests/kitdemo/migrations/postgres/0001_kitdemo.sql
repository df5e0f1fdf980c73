-- The badges domain of the kit test: one table with audit fields, its audit trail and its outbox from the kit.
CREATE SCHEMA IF NOT EXISTS kitdemo;

CREATE TABLE kitdemo.badges (
    badge_id text PRIMARY KEY,
    holder text NOT NULL,
    revoked boolean NOT NULL DEFAULT false,
    command_fingerprint text NOT NULL,
    LIKE lakehouse_kit.audit_columns INCLUDING DEFAULTS INCLUDING CONSTRAINTS
);

SELECT lakehouse_kit.create_audit_log('kitdemo');
SELECT lakehouse_kit.create_outbox('kitdemo');
SELECT lakehouse_kit.audit_table('kitdemo', 'badges', 'badge_id');
