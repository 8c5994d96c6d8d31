"""Keys of the partner aggregate (partners, channels, their API keys, nonces and rate counters)."""

from __future__ import annotations


def partner_key(key_id: str) -> tuple[str, str]:
    return f"KEY#{key_id}", "KEY"


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
    return partner_pk(partner_id), "PARTNER"
