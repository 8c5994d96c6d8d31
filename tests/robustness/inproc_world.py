"""The objects an in-process (moto) run needs: a signing channel, a provider, a policy, targets.

The objects ops operations are pointed at (``fuzz-target`` channel, ``fuzz-ops-partner``) are not
the ones the signed calls use, so a generated "close channel" or "revoke key" cannot cut the
rest of the run off.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from petcover.domain.catalog import InsuredFacts
from petcover.identity import Principal
from petcover.models.partners import PartnerCreate
from petcover.models.policies import Holder, UnderwriteRequest
from petcover.ports import Ports
from petcover.services import policies
from petcover.services.claims import submission
from petcover.services.partners import accounts
from tests.support.claims import rs_claim
from tests.support.fixtures import STAFF, channel_with_contracts, publish_seed_products

CHANNEL = "fuzz-shop"
TARGET_CHANNEL = "fuzz-target"
PROVIDER = "Fuzz Clinic"
TARGET_PARTNER = "Fuzz Ops Partner"


@dataclass
class InprocWorld:
    channel_key: tuple[str, str]
    provider_key: tuple[str, str]
    policy_number: str
    provider_id: str = ""
    examples: dict[str, str] = field(default_factory=dict)
    stand_ins: dict[str, str] = field(default_factory=dict)  # signing account -> the one ops calls act on


def provider(p: Ports, name: str) -> tuple[str, tuple[str, str]]:
    """A provider account opened the way ops open it, with a signing key: (id, (key id, secret))."""
    acc = accounts.create_partner(p, STAFF, PartnerCreate(kind="provider", name=name, agreement_ref=f"AGR-{name[:12]}"))
    k = accounts.issue_key(p, STAFF, acc.id)
    return acc.id, (k.key_id, k.secret)


def build(p: Ports) -> InprocWorld:
    publish_seed_products(p)
    channel_key = channel_with_contracts(p, CHANNEL, rate_limit=10_000)
    channel_with_contracts(p, TARGET_CHANNEL, rate_limit=10_000)
    provider_id, provider_key = provider(p, PROVIDER)
    target_partner, _ = provider(p, TARGET_PARTNER)
    rs = policies.underwrite(
        p,
        Principal("channel", CHANNEL),
        UnderwriteRequest.model_validate(
            {
                "product_code": "return-shipping",
                "plan_code": "standard",
                "insured": {"insured_id": "fuzz-order-rs"},
                "channel_order_id": "fuzz-order-rs",
                "holder": {"name": "Fuzz Owner"},
            }
        ),
    )
    pol = policies.underwrite(
        p,
        Principal("channel", CHANNEL),
        UnderwriteRequest(
            product_code="pet-health",
            plan_code="basic",
            insured=InsuredFacts(
                insured_id="fuzz-pet", species="dog", breed_size="small", age_months=30, region="310115"
            ),
            channel_order_id="fuzz-order-1",
            holder=Holder(name="Fuzz Owner"),
        ),
    )
    claim = submission.submit(p, Principal("channel", CHANNEL), rs.number, rs_claim(p))
    examples: dict[str, Any] = {
        "number": pol.number,
        "claimNumber": claim.claim_number,
        "orderId": "fuzz-order-1",
        "channelId": TARGET_CHANNEL,
        "partnerId": target_partner,
        "providerId": target_partner,
        "code": "account-security",  # ops writes on it leave pet-health (the signed calls' product) alone
        "productCode": "account-security",
        "product_code": "pet-health",
        "plan_code": "basic",
    }
    return InprocWorld(
        channel_key,
        provider_key,
        pol.number,
        examples=examples,
        provider_id=provider_id,
        stand_ins={CHANNEL: TARGET_CHANNEL, provider_id: target_partner},
    )
