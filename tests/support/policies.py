"""Policies issued through the real underwriting, back-dated on a controlled clock."""

from __future__ import annotations

from datetime import timedelta

from petcover.domain.catalog import InsuredFacts
from petcover.identity import Principal
from petcover.models.policies import Holder, UnderwriteRequest
from petcover.ports import Ports
from petcover.services import policies
from tests.support.clock import Clock


def issue_policy(
    p: Ports, clock: Clock, channel: str = "shop-a", order: str = "o-1", pet: str = "pet-1", days_ago: int = 30
) -> str:
    """A pet-health basic policy that started ``days_ago`` (past the 15-day waiting period)."""
    saved = clock.now
    clock.now = saved - timedelta(days=days_ago)
    try:
        pol = policies.underwrite(
            p,
            Principal("channel", channel),
            UnderwriteRequest(
                product_code="pet-health",
                plan_code="basic",
                insured=InsuredFacts(insured_id=pet, species="dog", breed_size="small", age_months=30, region="310115"),
                channel_order_id=order,
                holder=Holder(name="Li Lei"),
            ),
        )
    finally:
        clock.now = saved
    return pol.number


def underwrite_request(order: str, pet: str = "pet-1", plan: str = "basic", **fields: object) -> UnderwriteRequest:
    """A pet-health request for a medium dog in Beijing; ``fields`` set other request fields (sold_at...)."""
    return UnderwriteRequest.model_validate(
        {
            "product_code": "pet-health",
            "plan_code": plan,
            "insured": {
                "insured_id": pet,
                "species": "dog",
                "breed_size": "medium",
                "age_months": 30,
                "region": "110105",
            },
            "channel_order_id": order,
            "holder": {"name": "Li Lei"},
            **fields,
        }
    )
