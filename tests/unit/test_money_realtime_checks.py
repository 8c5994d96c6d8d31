"""Real-time money checks on the claim payout: refused and ops alerted at once; paid claims indexed by day."""

from decimal import Decimal

import pytest

from petcover.config import reset_settings
from petcover.domain import calendar
from petcover.errors import BusinessRuleViolation
from petcover.identity import Principal
from petcover.models.claims import ApproveRequest, AssessRequest, PayRequest
from petcover.repositories import claims as claims_repo
from petcover.services.claims import payouts, review, submission
from tests.support.claims import SHOP_A, pet_policy, vet_claim
from tests.support.fixtures import catalogue

ASSESSOR = Principal("ops", "ann", ("underwriter",))
FINANCE = Principal("ops", "fay", ("finance",))


@pytest.fixture
def p(fake_ports, monkeypatch):
    monkeypatch.setenv("OPS_CHAT_URL", "http://127.0.0.1:9/chat")
    reset_settings()
    catalogue(fake_ports, ("shop-a",))
    yield fake_ports
    reset_settings()


def _approved(p, policy_number: str, amount: str) -> str:
    c = submission.submit(p, SHOP_A, policy_number, vet_claim(p, amount))
    review.assess(p, ASSESSOR, c.claim_number, AssessRequest())
    review.approve(p, ASSESSOR, c.claim_number, ApproveRequest(amount=Decimal(amount)))
    return c.claim_number


def test_a_payout_above_the_remaining_sum_insured_alerts_ops_at_once(p):
    pol = pet_policy(p)  # sum insured 5000
    first, second = _approved(p, pol.number, "3000.00"), _approved(p, pol.number, "3000.00")
    payouts.pay(p, FINANCE, first, PayRequest())
    p.publisher.drain("alert")
    with pytest.raises(BusinessRuleViolation) as err:
        payouts.pay(p, FINANCE, second, PayRequest())
    assert err.value.code == "SUM_INSURED_EXCEEDED"
    alerts = [str(m) for m in p.publisher.drain("alert")]
    assert len(alerts) == 1 and "payout_above_sum_insured" in alerts[0] and "3000" in alerts[0]


def test_a_payout_within_the_sum_insured_alerts_nobody_and_is_indexed_by_its_day(p):
    pol = pet_policy(p)
    number = _approved(p, pol.number, "1000.00")
    p.publisher.drain("alert")
    paid = payouts.pay(p, FINANCE, number, PayRequest())
    assert p.publisher.drain("alert") == []
    day = calendar.day_of(paid.paid_at).isoformat()
    assert [c.claim_number for c in claims_repo.paid_on(p.store, day)] == [number]
