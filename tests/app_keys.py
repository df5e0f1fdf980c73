"""The development key of a domain's app as request headers: tests act as a client holding every scope (the keys
and scopes themselves are tested in ``tests/integration/test_api_keys.py``)."""

from __future__ import annotations

from ingest.core.api_keys import dev_key


def dev_headers(domain: str, **extra: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {dev_key(domain)}", **extra}
