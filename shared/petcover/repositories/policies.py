"""Keys of the policy aggregate: the policy document, its versions, and its lookups."""

from __future__ import annotations


def policy_pk(number: str) -> str:
    return f"POLICY#{number}"


def policy_key(number: str) -> tuple[str, str]:
    return policy_pk(number), "POLICY"
