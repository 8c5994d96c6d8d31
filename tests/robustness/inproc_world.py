"""The objects an in-process (moto) run needs: a signing channel, a provider, a policy, targets.

The objects ops operations are pointed at (``fuzz-target`` channel, ``fuzz-ops-partner``) are not
the ones the signed calls use, so a generated "close channel" or "revoke key" cannot cut the
rest of the run off.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from petcover.api import Principal
from petcover.domain.catalog import InsuredFacts
from petcover.models.policies import Holder, UnderwriteRequest
from petcover.ports import Ports
from petcover.services import credentials, keys, policies
from tests.support.fixtures import channel_with_contracts, publish_seed_products

CHANNEL = "fuzz-shop"
TARGET_CHANNEL = "fuzz-target"
PROVIDER = "fuzz-clinic"
TARGET_PARTNER = "fuzz-ops-partner"


@dataclass
class InprocWorld:
    channel_key: tuple[str, str]
    provider_key: tuple[str, str]
    policy_number: str
    examples: dict[str, str] = field(default_factory=dict)


def provider(p: Ports, provider_id: str) -> tuple[str, str]:
    pk, sk = keys.partner(provider_id)
    p.store.put(
        {
            "pk": pk,
            "sk": sk,
            "kind": "partner",
            "state": "active",
            "data": json.dumps({"id": provider_id, "kind": "provider", "name": provider_id.title()}),
        }
    )
    k = credentials.issue(p, "provider", provider_id)
    return k.key_id, k.secret


def build(p: Ports) -> InprocWorld:
    publish_seed_products(p)
    channel_key = channel_with_contracts(p, CHANNEL, rate_limit=10_000)
    channel_with_contracts(p, TARGET_CHANNEL, rate_limit=10_000)
    provider_key = provider(p, PROVIDER)
    provider(p, TARGET_PARTNER)
    pol = policies.underwrite(
        p,
        Principal("channel", CHANNEL),
        UnderwriteRequest(
            product_code="pet-health",
            plan_code="basic",
            insured=InsuredFacts(insured_id="fuzz-pet", species="dog", breed_size="small", age_months=30, region="310115"),
            channel_order_id="fuzz-order-1",
            holder=Holder(name="Fuzz Owner"),
        ),
    )
    examples: dict[str, Any] = {
        "number": pol.number,
        "orderId": "fuzz-order-1",
        "channelId": TARGET_CHANNEL,
        "partnerId": TARGET_PARTNER,
        "providerId": TARGET_PARTNER,
        "code": "account-security",  # ops writes on it leave pet-health (the signed calls' product) alone
        "productCode": "account-security",
    }
    return InprocWorld(channel_key, provider_key, pol.number, examples)
