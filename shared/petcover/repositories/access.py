"""Keys every signed call reads: the API key record, the nonce, the rate counter, and the
channel or partner item whose status decides whether the caller may call at all.

Kept apart from ``repositories.partners`` and free of models, so the adapter's cold start
does not load the partner aggregate's shapes on every route.
"""

from __future__ import annotations

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
