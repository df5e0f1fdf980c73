from __future__ import annotations

import pytest
from pydantic import ValidationError

from entrypoints.cli import main
from lakehouse.settings import Settings, host_port, is_loopback


@pytest.fixture(autouse=True)
def no_lakehouse_environment(monkeypatch):
    """These tests are about defaults and overrides: whatever LAKEHOUSE_* the caller exported must not leak in."""
    import os

    for name in [name for name in os.environ if name.startswith("LAKEHOUSE_")]:
        monkeypatch.delenv(name)


def test_defaults_point_every_service_at_loopback():
    settings = Settings()
    assert settings.address("kafka") == ("127.0.0.1", 9092)
    assert settings.address("postgres") == ("127.0.0.1", 5432)
    assert settings.address("mongo") == ("127.0.0.1", 27017)
    assert all(settings.is_local(name) for name in ("postgres", "redis", "kafka", "cassandra", "mongo", "nats"))


def test_environment_overrides_an_address_and_makes_it_external(monkeypatch):
    monkeypatch.setenv("LAKEHOUSE_KAFKA_BOOTSTRAP_SERVERS", "broker-1.example.com:9094,broker-2.example.com:9094")
    monkeypatch.setenv("LAKEHOUSE_MONGO_URL", "mongodb+srv://user:secret@cluster0.example.mongodb.net/")
    settings = Settings()
    assert settings.address("kafka") == ("broker-1.example.com", 9094)
    assert not settings.is_local("kafka")
    assert settings.address("mongo") == ("cluster0.example.mongodb.net", 27017)
    assert not settings.is_local("mongo")
    assert settings.is_local("redis")


def test_external_services_forces_loopback_addresses_external(monkeypatch):
    monkeypatch.setenv("LAKEHOUSE_EXTERNAL_SERVICES", "redis, cassandra")
    settings = Settings()
    assert settings.external_services == frozenset({"redis", "cassandra"})
    assert not settings.is_local("redis") and not settings.is_local("cassandra")
    assert settings.is_local("kafka")


def test_unknown_external_service_is_rejected_with_the_known_names(monkeypatch):
    monkeypatch.setenv("LAKEHOUSE_EXTERNAL_SERVICES", "kafak")
    with pytest.raises(ValidationError, match="kafak.*known: postgres"):
        Settings()


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        (
            "LAKEHOUSE_REDIS_URL",
            "127.0.0.1:6379",
            "LAKEHOUSE_REDIS_URL: Value error, '127.0.0.1:6379' is not a URL",
        ),
        (
            "LAKEHOUSE_KAFKA_BOOTSTRAP_SERVERS",
            " ",
            "LAKEHOUSE_KAFKA_BOOTSTRAP_SERVERS: Value error, at least one",
        ),
        (
            "LAKEHOUSE_SPARK_SHUFFLE_PARTITIONS",
            "0",
            "LAKEHOUSE_SPARK_SHUFFLE_PARTITIONS: Input should be greater",
        ),
    ],
)
def test_cli_names_the_invalid_setting(monkeypatch, capsys, variable, value, expected):
    monkeypatch.setenv(variable, value)
    assert main(["stack", "status"]) == 2
    assert f"invalid setting {expected}" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("address", "expected"),
    [
        ("postgresql://lakehouse@db.internal:6543/app", ("db.internal", 6543)),
        ("10.0.0.5:9042,10.0.0.6:9042", ("10.0.0.5", 9042)),
        ("redis://[::1]:6380/0", ("::1", 6380)),
        ("nats://127.0.0.1", ("127.0.0.1", 4222)),
    ],
)
def test_host_port_parses_urls_and_host_lists(address, expected):
    assert host_port(address, 4222) == expected


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.8.0.2", True),
        ("::1", True),
        ("localhost", True),
        ("10.1.2.3", False),
        ("kafka.prod", False),
    ],
)
def test_is_loopback(host, loopback):
    assert is_loopback(host) is loopback


def test_lake_root_defaults_under_home_and_accepts_object_store_uris(tmp_path):
    assert Settings(home=tmp_path).lake_uri == str(tmp_path / "lake")
    assert Settings(lake_root="s3a://bucket/lake").lake_uri == "s3a://bucket/lake"
