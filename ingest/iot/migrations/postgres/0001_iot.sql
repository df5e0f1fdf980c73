-- The IoT schema: sites, device models, devices (with each device's key, stored hashed), firmware releases and
-- rollouts, maintenance tickets and anomaly alerts, with audit fields, their audit trail and the kit's outbox.
--
-- PostgreSQL is the registry and the system of record for tickets and alerts; telemetry never passes through it (the
-- gateway produces readings to Kafka; Cassandra and the lake keep them). MongoDB holds each device's configuration
-- document, a projection of iot.device.configured events. `command_fingerprint` is the hash of the command that
-- created a row; `commands` records other applied commands by their client-chosen id, so a retry is recognised.
CREATE SCHEMA IF NOT EXISTS iot;

CREATE TABLE iot.sites (
    site_id text PRIMARY KEY,
    name text NOT NULL,
    timezone text NOT NULL,
    command_fingerprint text NOT NULL,
    LIKE lakehouse_kit.audit_columns INCLUDING DEFAULTS INCLUDING CONSTRAINTS
);

CREATE TABLE iot.device_models (
    model_id text PRIMARY KEY,
    name text NOT NULL,
    sensors text[] NOT NULL CHECK (cardinality(sensors) > 0),
    sampling_seconds integer NOT NULL CHECK (sampling_seconds > 0),
    command_fingerprint text NOT NULL,
    LIKE lakehouse_kit.audit_columns INCLUDING DEFAULTS INCLUDING CONSTRAINTS
);

CREATE TABLE iot.firmware_releases (
    model_id text NOT NULL REFERENCES iot.device_models,
    firmware_version text NOT NULL CHECK (firmware_version ~ '^\d+\.\d+\.\d+$'),
    notes text NOT NULL DEFAULT '',
    released_at timestamptz NOT NULL,
    LIKE lakehouse_kit.audit_columns INCLUDING DEFAULTS INCLUDING CONSTRAINTS,
    PRIMARY KEY (model_id, firmware_version)
);

-- `key_hash` is the device key's hash (the key itself is shown once, when the device is registered); the gateway
-- checks a presented key against it. `firmware_version` is what the device runs now (history in firmware_installs).
CREATE TABLE iot.devices (
    device_id text PRIMARY KEY,
    serial text NOT NULL UNIQUE,
    model_id text NOT NULL REFERENCES iot.device_models,
    site_id text NOT NULL REFERENCES iot.sites,
    owner_id text NOT NULL,
    status text NOT NULL DEFAULT 'provisioned'
        CHECK (status IN ('provisioned', 'active', 'maintenance', 'retired')),
    key_hash text NOT NULL,
    firmware_version text,
    registered_at timestamptz NOT NULL,
    command_fingerprint text NOT NULL,
    LIKE lakehouse_kit.audit_columns INCLUDING DEFAULTS INCLUDING CONSTRAINTS
);
CREATE INDEX devices_site ON iot.devices (site_id);

-- Which device ran what since when: one row per install, a rollout groups the installs of one release.
CREATE TABLE iot.firmware_installs (
    device_id text NOT NULL REFERENCES iot.devices,
    installed_at timestamptz NOT NULL,
    model_id text NOT NULL,
    firmware_version text NOT NULL,
    previous_version text,
    rollout_id text NOT NULL,
    LIKE lakehouse_kit.audit_columns INCLUDING DEFAULTS INCLUDING CONSTRAINTS,
    PRIMARY KEY (device_id, installed_at),
    FOREIGN KEY (model_id, firmware_version) REFERENCES iot.firmware_releases
);

-- At most one ticket per device is not closed: a new alert on a device with an open ticket updates that ticket.
CREATE TABLE iot.maintenance_tickets (
    ticket_id text PRIMARY KEY,
    device_id text NOT NULL REFERENCES iot.devices,
    status text NOT NULL CHECK (status IN ('open', 'in_progress', 'closed')),
    reason text NOT NULL,
    alert_count integer NOT NULL DEFAULT 0,
    last_alert_at timestamptz,
    opened_at timestamptz NOT NULL,
    closed_at timestamptz,
    LIKE lakehouse_kit.audit_columns INCLUDING DEFAULTS INCLUDING CONSTRAINTS
);
CREATE UNIQUE INDEX maintenance_tickets_one_open ON iot.maintenance_tickets (device_id) WHERE status <> 'closed';

-- One row per alerted reading: `alert_id` is derived from the reading id, so a rescored reading never alerts twice.
CREATE TABLE iot.anomaly_alerts (
    alert_id text PRIMARY KEY,
    device_id text NOT NULL REFERENCES iot.devices,
    sensor text NOT NULL,
    reading_id text NOT NULL UNIQUE,
    reading_at timestamptz NOT NULL,
    value double precision NOT NULL,
    anomaly_score double precision NOT NULL CHECK (anomaly_score BETWEEN 0 AND 1),
    model_version text NOT NULL,
    ticket_id text NOT NULL REFERENCES iot.maintenance_tickets,
    alerted_at timestamptz NOT NULL,
    LIKE lakehouse_kit.audit_columns INCLUDING DEFAULTS INCLUDING CONSTRAINTS
);
CREATE INDEX anomaly_alerts_device ON iot.anomaly_alerts (device_id, reading_at);

CREATE TABLE iot.commands (
    command_id text PRIMARY KEY,
    kind text NOT NULL,
    command_fingerprint text NOT NULL,
    resource_id text NOT NULL,
    resource_version integer NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
);

SELECT lakehouse_kit.create_audit_log('iot');
SELECT lakehouse_kit.create_outbox('iot');

SELECT lakehouse_kit.audit_table('iot', 'sites', 'site_id');
SELECT lakehouse_kit.audit_table('iot', 'device_models', 'model_id');
SELECT lakehouse_kit.audit_table('iot', 'firmware_releases', 'model_id', 'firmware_version');
SELECT lakehouse_kit.audit_table('iot', 'devices', 'device_id');
SELECT lakehouse_kit.audit_table('iot', 'firmware_installs', 'device_id', 'installed_at');
SELECT lakehouse_kit.audit_table('iot', 'maintenance_tickets', 'ticket_id');
SELECT lakehouse_kit.audit_table('iot', 'anomaly_alerts', 'alert_id');
