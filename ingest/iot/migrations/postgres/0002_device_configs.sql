-- Each device's configuration as decided (sampling period, per-sensor calibration and alert thresholds): the
-- source of the iot.device.configured events. MongoDB's iot_device_configs document is their projection, written
-- only when newer: `config_version` counts a device's changes so a replayed or late event never wins over a newer one.
CREATE TABLE iot.device_configs (
    device_id text PRIMARY KEY REFERENCES iot.devices,
    config_version integer NOT NULL CHECK (config_version > 0),
    sampling_seconds integer NOT NULL CHECK (sampling_seconds > 0),
    sensors jsonb NOT NULL,
    configured_at timestamptz NOT NULL,
    LIKE lakehouse_kit.audit_columns INCLUDING DEFAULTS INCLUDING CONSTRAINTS
);

SELECT lakehouse_kit.audit_table('iot', 'device_configs', 'device_id');
