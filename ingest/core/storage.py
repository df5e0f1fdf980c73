"""The kit's own storage: the PostgreSQL functions every domain's migrations call (audit trail, outbox).

Bootstrapped before any domain, as the pseudo-domain ``kit``, with its own migration versions.
"""

from __future__ import annotations

from pathlib import Path

from stack.bootstrap.plan import StorageDeclaration

KIT_STORAGE = StorageDeclaration("kit", Path(__file__).with_name("migrations"))
