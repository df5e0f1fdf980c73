"""Device keys: the secret a device presents to the telemetry gateway with every batch.

A key is 32 random bytes (urlsafe base64), shown once when the device is registered or its key rotated; only its
hash is stored (``iot.devices.key_hash``), so a leaked table or audit log gives away no key.

Why a fast hash and not scrypt/argon2: slow hashes exist to make guessing *low-entropy* passwords expensive. A
device key has 256 bits of entropy, so guessing it is hopeless however fast the hash is, while the gateway checks
one key per request and cannot afford ~100 ms of scrypt each time. HMAC-SHA256 with a fixed domain-separation
label keeps these hashes distinct from any other SHA-256 of the same bytes elsewhere in the platform.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

KEY_BYTES = 32
# Not a secret (the key's entropy is what protects it): it only separates these hashes from other uses of SHA-256.
LABEL = b"lakehouse.iot.device-key.v1"
PREFIX = "hmac-sha256:"


def new_device_key() -> str:
    """A fresh random device key (43 urlsafe characters)."""
    return secrets.token_urlsafe(KEY_BYTES)


def hash_device_key(key: str) -> str:
    """The stored form of ``key``: ``hmac-sha256:<hex>`` (the prefix names the scheme, should it ever change)."""
    return PREFIX + hmac.new(LABEL, key.encode(), hashlib.sha256).hexdigest()


def key_matches(key: str, key_hash: str) -> bool:
    """True when ``key`` hashes to ``key_hash``; compared in constant time so timing reveals nothing."""
    return hmac.compare_digest(hash_device_key(key), key_hash)
