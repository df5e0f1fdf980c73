"""API keys without a stack: their shape, scopes, the development key's refusal off loopback, and every app's
OpenAPI declaring the bearer scheme on each route but /health."""

from __future__ import annotations

import pytest

from entrypoints.cli import main
from ingest.chat.app import create_app as chat_app
from ingest.core.api_keys import (
    ALL_SCOPES,
    KeyRefused,
    Principal,
    check_scopes,
    dev_principal,
    new_key,
    parse_key,
    require_no_dev_keys,
    secret_sha256,
)
from ingest.core.auth import scope_dependency
from ingest.domains import DOMAINS, contract
from ingest.ecommerce.app import create_app as ecommerce_app
from ingest.iot.app import create_app as iot_app
from ingest.social.app import create_app as social_app
from lakehouse.settings import Settings

APPS = {"ecommerce": ecommerce_app, "chat": chat_app, "social": social_app, "iot": iot_app}


def test_a_new_key_parses_back_to_its_id_and_secret_and_only_the_hash_is_kept() -> None:
    key, key_id, secret = new_key()
    assert parse_key(key) == (key_id, secret)
    assert key.startswith("lhk_") and len(key_id) == 12 and len(secret) >= 40
    assert secret_sha256(secret) != secret and len(secret_sha256(secret)) == 64
    assert new_key()[0] != key


@pytest.mark.parametrize("text", ["", "Bearer", "dev-ecommerce-key", "lhk_", "lhk_abc_secret", "xyz_0123456789ab_s"])
def test_a_malformed_key_is_refused_saying_what_a_key_looks_like(text: str) -> None:
    with pytest.raises(KeyRefused, match="lhk_<12 hex digits>_<secret>"):
        parse_key(text)


def test_scopes_must_be_the_domains_own() -> None:
    declared = contract("ecommerce").scopes
    assert check_scopes(["orders:write", "read"], declared, "ecommerce") == {"orders:write", "read"}
    assert check_scopes([ALL_SCOPES], declared, "ecommerce") == {ALL_SCOPES}
    with pytest.raises(ValueError, match="unknown scope\\(s\\) messages:write for ecommerce; its scopes: "):
        check_scopes(["orders:write", "messages:write"], declared, "ecommerce")
    with pytest.raises(ValueError, match="no scope given"):
        check_scopes([], declared, "ecommerce")


def test_a_principal_holds_its_scopes_or_all_of_them() -> None:
    shop = Principal("k1", "ecommerce", "shop-front", frozenset({"orders:write"}), 60)
    assert shop.allows("orders:write") and not shop.allows("payments:write")
    assert dev_principal("chat").allows("moderation:write") and dev_principal("chat").rate_per_minute is None


def test_development_keys_are_refused_off_loopback() -> None:
    require_no_dev_keys(Settings(), "127.0.0.1", "localhost", "::1")
    with pytest.raises(ValueError, match="0.0.0.0 is not loopback and LAKEHOUSE_API_DEV_KEYS is on"):
        require_no_dev_keys(Settings(), "127.0.0.1", "0.0.0.0")
    require_no_dev_keys(Settings(api_dev_keys=False), "0.0.0.0")


@pytest.mark.parametrize("domain", ["chat", "social", "iot", "ecommerce"])
def test_serve_refuses_an_address_off_loopback_while_development_keys_work(domain, monkeypatch, capsys) -> None:
    monkeypatch.setenv("LAKEHOUSE_CARD_TOKEN_KEY", "a-real-secret-of-some-length")  # e-commerce checks that first
    assert main([domain, "serve", "--host", "0.0.0.0", "--port", "1"]) == 2
    assert "set LAKEHOUSE_API_DEV_KEYS=false" in capsys.readouterr().err


def test_a_route_cannot_need_a_scope_the_contract_lacks() -> None:
    needs = scope_dependency({"read": "read things"})
    needs("read")
    with pytest.raises(ValueError, match="scope 'orders:write' is not declared in the contract; declared: read"):
        needs("orders:write")


@pytest.mark.parametrize("domain", DOMAINS)
def test_every_route_but_health_declares_the_bearer_scheme_and_a_declared_scope(domain: str) -> None:
    spec = APPS[domain](Settings()).openapi()
    assert spec["components"]["securitySchemes"]["apiKey"] == {
        "type": "http",
        "scheme": "bearer",
        "description": spec["components"]["securitySchemes"]["apiKey"]["description"],
    }
    used = set()
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            if path == "/health":
                assert "security" not in operation
                continue
            # OpenAPI 3.1 lets a non-OAuth scheme name roles: the scope the route needs is in its requirement.
            [requirement] = operation["security"]
            [scope] = requirement["apiKey"]
            used.add(scope)
            assert {"401", "403", "429"} <= set(operation["responses"]), (method, path)
    assert used == set(contract(domain).scopes)  # each declared scope guards a route; no route needs another
