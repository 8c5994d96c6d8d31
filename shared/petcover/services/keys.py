"""Key layout of the single main table: one place that names every partition and sort key."""

from __future__ import annotations


def partner_key(key_id: str) -> tuple[str, str]:
    return f"KEY#{key_id}", "KEY"


def nonce(key_id: str, value: str) -> tuple[str, str]:
    return f"NONCE#{key_id}#{value}", "NONCE"


def rate(owner: str, second: int) -> tuple[str, str]:
    return f"RATE#{owner}#{second}", "RATE"


def channel(channel_id: str) -> tuple[str, str]:
    return f"CHANNEL#{channel_id}", "CHANNEL"


def partner(partner_id: str) -> tuple[str, str]:
    return f"PARTNER#{partner_id}", "PARTNER"
