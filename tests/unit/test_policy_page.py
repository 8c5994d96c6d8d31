"""A policy's page for the console, and the staff lookup by number."""

from __future__ import annotations

from decimal import Decimal

import pytest

from petcover.errors import NotFound
from petcover.models.policies import CancelRequest
from petcover.services import policies, policy_page
from petcover.services.claims import submission
from petcover.services.fulfilment import booking
from tests.support.bookings import SHOP, online, setup_world
from tests.support.claims import vet_claim


def test_the_page_holds_versions_balances_ledger_appointments_claims_and_webhooks(fake_ports):
    p = fake_ports
    _, number = setup_world(p)
    aid = booking.book_appointment(p, SHOP, number, online()).appointment_id
    claim = submission.submit(p, SHOP, number, vet_claim(p, "200.00"))
    page = policy_page.policy_page(p, number)
    assert page.policy.number == number and [v.version for v in page.versions] == [1]
    medicine = next(b for b in page.policy.benefits if b.code == "medicine-delivery")
    assert medicine.held == 1
    assert [(e.event, e.amount) for e in page.ledger] == [("issue", page.policy.premium)]
    assert [a.appointment_id for a in page.appointments] == [aid]
    assert [c.claim_number for c in page.claims] == [claim.claim_number]
    hooked = {(h.object_type, h.object_id) for h in page.webhooks}
    assert ("claim", claim.claim_number) in hooked
    assert all(h.deliveries and h.log_path.endswith("/deliveries") for h in page.webhooks)


def test_a_cancelled_policy_shows_its_refund_line_and_second_version(fake_ports):
    p = fake_ports
    _, number = setup_world(p)
    policies.cancel(p, SHOP, number, CancelRequest(reason="moved abroad"))
    page = policy_page.policy_page(p, number)
    assert [v.version for v in page.versions] == [1, 2] and page.policy.status == "cancelled"
    assert [e.event for e in page.ledger] == ["refund", "issue"]
    assert page.ledger[0].amount < Decimal(0)


def test_unknown_policy_and_lookup_by_number(fake_ports):
    p = fake_ports
    _, number = setup_world(p)
    with pytest.raises(NotFound):
        policy_page.policy_page(p, "PC-none")
    assert [x.number for x in policies.find_by_number(p, f" {number} ")] == [number]
    assert policies.find_by_number(p, "PC-none") == []
