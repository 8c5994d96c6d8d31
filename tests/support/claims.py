"""Claims worlds: return-shipping and pet-health policies, claim requests, and the ClaimDecisionQueue
played in-process (what the SQS event source would deliver to the decision consumer)."""

from __future__ import annotations

from typing import Any

from petcover.domain import calendar, money
from petcover.identity import Principal
from petcover.messaging import MemoryPublisher
from petcover.models.claims import ClaimCreate
from petcover.models.policies import Policy, UnderwriteRequest
from petcover.ports import Ports
from petcover.repositories import claims as claim_repo
from petcover.repositories import policies as policy_records
from petcover.services import ledger, policies
from petcover.services.claims import auto
from petcover.services.claims.transitions import DECISION_QUEUE

SHOP_A = Principal("channel", "shop-a")


def rs_policy(p: Ports, order: str = "o-1", who: Principal = SHOP_A) -> Policy:
    """Return-shipping cover: 25.00 sum insured, a 25.00 limit on the return-freight benefit."""
    return policies.underwrite(
        p,
        who,
        UnderwriteRequest.model_validate(
            {
                "product_code": "return-shipping",
                "plan_code": "standard",
                "insured": {"insured_id": f"order-{order}"},
                "channel_order_id": order,
                "holder": {"name": "Li Lei"},
            }
        ),
    )


def pet_policy(p: Ports, order: str = "pet-o-1", pet: str = "pet-1") -> Policy:
    return policies.underwrite(
        p,
        SHOP_A,
        UnderwriteRequest.model_validate(
            {
                "product_code": "pet-health",
                "plan_code": "basic",
                "insured": {"insured_id": pet, "species": "dog", "breed_size": "medium", "age_months": 30},
                "channel_order_id": order,
                "holder": {"name": "Li Lei"},
            }
        ),
    )


def rs_claim(p: Ports, amount: str = "12.00", tracking: str | None = "SF1234567890", **kw: Any) -> ClaimCreate:
    evidence = {"tracking_number": tracking} if tracking else {}
    return ClaimCreate.model_validate(
        {
            "incident_date": calendar.today(p.now()).isoformat(),
            "incident_type": "return_shipment",
            "amount": amount,
            "evidence": evidence,
            **kw,
        }
    )


def vet_claim(p: Ports, amount: str) -> ClaimCreate:
    return ClaimCreate.model_validate(
        {
            "incident_date": calendar.today(p.now()).isoformat(),
            "incident_type": "illness",
            "amount": amount,
            "description": "Gastroenteritis, two days at the clinic",
            "evidence": {"documents": ["docs/invoice-1.pdf"]},
        }
    )


def remaining(p: Ports, number: str) -> int:
    """The policy's remaining sum insured, in cents."""
    return int(p.store.get(*policy_records.policy_key(number))["remaining"])  # type: ignore[index]


def payouts(p: Ports, policy_number: str, channel: str = "shop-a") -> list[money.LedgerEntry]:
    month = calendar.month_of(p.now())
    return [
        e
        for e in ledger.statement_entries(p, channel, month)
        if e.policy_number == policy_number and e.event == "claim_payout"
    ]


def queued(p: Ports) -> list[str]:
    """Partition keys of the claims waiting for their automatic decision."""
    return [i["pk"] for i in p.store.query(claim_repo.AUTO_QUEUE, index="gsi3", limit=1000).items]


def in_review(p: Ports) -> list[str]:
    """Partition keys of the claims in the staff queue."""
    return [i["pk"] for i in p.store.query(claim_repo.REVIEW_QUEUE, index="gsi3", limit=1000).items]


def decision_requests(p: Ports) -> list[dict[str, Any]]:
    """The ClaimDecisionQueue messages published so far (taken off the fake queue)."""
    assert isinstance(p.publisher, MemoryPublisher)
    return [{k: v for k, v in m.items() if not k.startswith("_")} for m in p.publisher.drain(DECISION_QUEUE)]


def deliver_decisions(p: Ports) -> list[str]:
    """Run the decision consumer on every queued request, as SQS would; the outcomes in order."""
    out: list[str] = []
    while bodies := decision_requests(p):
        out += [auto.decide_request(p, body) for body in bodies]
    return out
