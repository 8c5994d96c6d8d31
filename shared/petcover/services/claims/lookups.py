"""Reading claims: one claim (a channel sees only its own), its change records, a policy's claims,
and the staff queue (claims waiting for an assessor, with the reason)."""

from __future__ import annotations

from petcover.domain import claim_rules
from petcover.domain.catalog import Benefit, Plan
from petcover.errors import NotFound
from petcover.identity import Principal
from petcover.models.claims import Claim, ClaimChange, ClaimDetail, ClaimList, ClaimReviewEntry, ClaimReviewQueue
from petcover.models.policies import Policy
from petcover.ports import Item, Ports
from petcover.repositories import claims as claim_repo
from petcover.services import catalog, policies


def visible(p: Ports, who: Principal, number: str) -> tuple[Claim, Item]:
    """A channel sees only its own claims: another channel's claim is simply not found."""
    claim, item = claim_repo.load(p.store, number)
    if not who.is_staff and claim.channel_id != who.id:
        raise NotFound(f"Claim {number} does not exist.", code="CLAIM_NOT_FOUND")
    return claim, item


def policy_of(p: Ports, who: Principal, number: str) -> tuple[Policy, Item]:
    """The policy claimed on, without balances; another channel's policy is not found."""
    pol, item = policies.load_policy(p, number, balances=False)
    if not who.is_staff and pol.channel_id != who.id:
        raise NotFound(f"Policy {number} does not exist.", code="POLICY_NOT_FOUND")
    return pol, item


def plan_of(p: Ports, claim_or_policy: Claim | Policy) -> Plan:
    product = catalog.get_version(p, claim_or_policy.product_code, claim_or_policy.product_version)
    return product.plan(claim_or_policy.plan_code)


def benefit_of(p: Ports, claim: Claim) -> Benefit:
    """The benefit a claim is for, as its plan defines it."""
    return claim_rules.claimed_benefit(plan_of(p, claim), claim.benefit_code, claim.product_kind)


def get(p: Ports, who: Principal, number: str) -> Claim:
    return visible(p, who, number)[0]


def changes(p: Ports, number: str) -> list[ClaimChange]:
    return claim_repo.changes(p.store, number)


def detail(p: Ports, who: Principal, number: str) -> ClaimDetail:
    claim, _ = visible(p, who, number)
    return ClaimDetail.model_validate({**claim.model_dump(), "history": changes(p, number)})


def list_for_policy(
    p: Ports, who: Principal, policy_number: str, *, limit: int = 50, cursor: str | None = None
) -> ClaimList:
    policy_of(p, who, policy_number)
    items, next_cursor = claim_repo.of_policy(p.store, policy_number, limit=limit, cursor=cursor)
    return ClaimList(items=items, cursor=next_cursor)


def review_queue(p: Ports, *, limit: int = 50, cursor: str | None = None) -> ClaimReviewQueue:
    """Claims waiting for an assessor, oldest first, each with why it is there."""
    claims, next_cursor = claim_repo.review_page(p.store, limit=limit, cursor=cursor)
    items = [
        ClaimReviewEntry(
            claim_number=c.claim_number,
            policy_number=c.policy_number,
            channel_id=c.channel_id,
            product_code=c.product_code,
            benefit_code=c.benefit_code,
            status=c.status,
            auto=c.auto,
            amount=c.amount,
            currency=c.currency,
            review=c.review,
        )
        for c in claims
        if c.review is not None  # the index lags a decision by a moment
    ]
    return ClaimReviewQueue(items=items, cursor=next_cursor)
