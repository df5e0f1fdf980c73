"""What each IoT table means to the business: shown on its asset in the Dagster catalog."""

SILVER = {
    "sites": "Every site devices are installed at, with its time zone.",
    "device_models": "Every device model: the sensors its devices report and their nominal sampling cadence.",
    "devices": "Every registered device as it stands now: model, site, owner (a user id) and newest status.",
    "device_status_changes": "Every status change of a device (provisioned, active, maintenance, retired), once.",
    "device_configurations": "Each device's current configuration: sampling cadence and per-sensor calibration.",
    "firmware_releases": "Every firmware version released per model, with its notes.",
    "firmware_installs": "Which device ran which firmware from when: one row per install of a rollout.",
    "tickets": "Every maintenance ticket as it stands now: status, how many alerts it gathered, last note.",
    "ticket_updates": "Every update of a maintenance ticket (status, alert count, notes), once.",
    "alerts": "Every reading the anomaly model alerted on, once, with the ticket it opened or updated.",
    "readings": "Every sensor reading the gateway accepted, once per reading id (retries dropped), flagged "
    "when it arrived more than 10 minutes after it was measured: the fleet's measured history.",
    "reading_scores": "The anomaly model's newest score of each reading, and whether it alerted.",
}

GOLD = {
    "device_minute_stats": "Per device, sensor and minute: count, min, max, mean, stddev, p50 and p95 of the "
    "readings: the resolution maintenance engineers zoom into around an alert.",
    "device_hour_stats": "Per device, sensor and hour: the same statistics, for trends over days.",
    "fleet_health_daily": "Per site and day: devices reporting, readings, alerts, devices with alerts, and the "
    "share of the readings the site's devices should have sent that arrived: is a site's fleet healthy.",
    "firmware_comparison": "Per model, firmware version and sensor: devices, readings, mean and stddev of the "
    "values and alerts per 1,000 readings, each reading counted under the firmware its device ran then: "
    "did a rollout make devices worse.",
}
