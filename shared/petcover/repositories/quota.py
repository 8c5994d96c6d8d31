"""Keys of a policy's benefit quota: one counter item per benefit, in the policy's partition."""

from __future__ import annotations

from petcover.repositories.policies import policy_pk

QUOTA_PREFIX = "QUOTA#"


def quota_key(policy_number: str, benefit_code: str) -> tuple[str, str]:
    return policy_pk(policy_number), f"{QUOTA_PREFIX}{benefit_code}"
