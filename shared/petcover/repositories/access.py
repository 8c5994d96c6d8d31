"""Keys every signed call reads: the API key record, the nonce, the rate counter, and the
channel or partner item whose status decides whether the caller may call at all.

Kept apart from ``repositories.partners`` and free of models, so the adapter's cold start
does not load the partner aggregate's shapes on every route.
"""

from __future__ import annotations

import json
from typing import Any

ACCOUNT_SK = "PARTNER"
KEY_PREFIX = "KEY#"


def partner_key(key_id: str) -> tuple[str, str]:
    """The API key record (of a partner or a channel)."""
    return f"{KEY_PREFIX}{key_id}", "KEY"


def nonce(key_id: str, value: str) -> tuple[str, str]:
    return f"NONCE#{key_id}#{value}", "NONCE"


def rate(owner: str, second: int) -> tuple[str, str]:
    return f"RATE#{owner}#{second}", "RATE"


def channel_pk(channel_id: str) -> str:
    return f"CHANNEL#{channel_id}"


def channel(channel_id: str) -> tuple[str, str]:
    return channel_pk(channel_id), "CHANNEL"


def partner_pk(partner_id: str) -> str:
    return f"PARTNER#{partner_id}"


def partner(partner_id: str) -> tuple[str, str]:
    return partner_pk(partner_id), ACCOUNT_SK


def key_owner(kind: str, owner_id: str) -> str:
    """The ``owner`` attribute of a key item."""
    return f"{kind}:{owner_id}"


def signing_key_context(key_id: str, kind: str, owner_id: str) -> dict[str, str]:
    """What a key's sealed secret is bound to: it opens for this key id and owner only."""
    return {"purpose": "signing-key", "key_id": key_id, "owner": key_owner(kind, owner_id)}


def key_secret(item: dict[str, Any]) -> tuple[str, dict[str, str]]:
    """A key item's sealed secret and the context it opens with."""
    d = json.loads(str(item["data"]))
    key_id = str(item["pk"]).removeprefix(KEY_PREFIX)
    return str(d["sealed_secret"]), signing_key_context(key_id, d["owner_kind"], d["owner_id"])
