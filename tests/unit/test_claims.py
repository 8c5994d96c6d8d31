"""Claims with fakes: the state machine, payouts against the remaining sum insured, automatic
return-shipping claims, the webhook outbox and the statistics counters."""

from __future__ import annotations

import json
import threading
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from petcover.domain import calendar, money
from petcover.errors import BusinessRuleViolation, Conflict, IllegalTransition, InvalidInput, NotFound
from petcover.identity import Principal
from petcover.models.claims import (
    ApproveRequest,
    AssessRequest,
    ClaimCreate,
    ClaimUpdate,
    OpsClaimCreate,
    PayRequest,
    RejectRequest,
)
from petcover.models.policies import Policy, UnderwriteRequest
from petcover.ports import Ports
from petcover.repositories import claims as claim_repo
from petcover.repositories import outbox as outbox_repo
from petcover.repositories import policies as policy_records
from petcover.services import audit, ledger, policies
from petcover.services.claims import auto, lookups, notices, review, submission, updates
from petcover.services.claims import payouts as claim_payouts
from tests.support.claims import (
    SHOP_A,
    decision_requests,
    deliver_decisions,
    in_review,
    payouts,
    pet_policy,
    queued,
    remaining,
    rs_claim,
    rs_policy,
    vet_claim,
)
from tests.support.fixtures import catalogue

SHOP_B = Principal("channel", "shop-b")
SERVICE = Principal("ops", "sam", ("service",))
ASSESSOR = Principal("ops", "ann", ("underwriter",))
FINANCE = Principal("ops", "fay", ("finance",))


@pytest.fixture
def p(fake_ports: Ports) -> Ports:
    catalogue(fake_ports, ("shop-a", "shop-b"))
    return fake_ports


@pytest.fixture
def hooks(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str, dict[str, Any]]]:
    """Every webhook events.notify call (object id, event type, payload); the real notify still runs."""
    seen: list[tuple[str, str, dict[str, Any]]] = []
    real = notices.webhook_events.notify

    def spy(p: Ports, **kw: Any) -> str:
        seen.append((kw["object_id"], kw["event_type"], dict(kw["payload"])))
        return real(p, **kw)

    monkeypatch.setattr(notices.webhook_events, "notify", spy)
    return seen


# ------------------------------------------------------------------ apply, read, isolation
def test_apply_answers_with_a_claim_number_counts_it_and_notifies(p, hooks):
    pol = rs_policy(p)
    c = submission.submit(p, SHOP_A, pol.number, rs_claim(p))
    assert c.claim_number.startswith(f"CL{p.now().year}") and len(c.claim_number) == 15
    assert c.status == "submitted" and c.version == 1 and c.auto and c.benefit_code == "return-freight"
    assert lookups.get(p, SHOP_A, c.claim_number) == c
    assert queued(p) == [f"CLAIM#{c.claim_number}"] and in_review(p) == []
    # its automatic decision was asked for in the same transaction and sent after the commit
    assert decision_requests(p) == [{"claim_number": c.claim_number, "version": 1}]
    assert outbox_repo.pending(p.store) == []
    assert hooks == [(c.claim_number, "claim.submitted", hooks[0][2])]
    assert hooks[0][2]["status"] == "submitted" and hooks[0][2]["policy_number"] == pol.number
    assert len(p.publisher.sent["webhook"]) == 1
    # the outbox entry was removed once the webhook was queued
    assert p.store.query(claim_repo.HOOK_QUEUE, index="gsi3").items == []
    stats = ledger.statistics(p, ["shop-a"], {"return-shipping": ["standard"]}, "day", "2000-01-01", "2999-12-31")
    assert [r.claims for r in stats] == [1]
    assert [a.action for a in audit.by_entity(p, "claim", c.claim_number)] == ["submit"]
    second = submission.submit(p, SHOP_A, pol.number, rs_claim(p))
    assert int(second.claim_number[-9:]) == int(c.claim_number[-9:]) + 1


def test_a_channel_sees_and_changes_only_its_own_claims(p):
    pol = rs_policy(p)
    c = submission.submit(p, SHOP_A, pol.number, rs_claim(p))
    with pytest.raises(NotFound) as err:
        lookups.get(p, SHOP_B, c.claim_number)
    assert err.value.code == "CLAIM_NOT_FOUND"
    with pytest.raises(NotFound):
        updates.update(p, SHOP_B, c.claim_number, ClaimUpdate(reason="x", tracking_number="SF999999"))
    with pytest.raises(NotFound) as err:
        lookups.list_for_policy(p, SHOP_B, pol.number)
    assert err.value.code == "POLICY_NOT_FOUND"
    with pytest.raises(NotFound):
        submission.submit(p, SHOP_B, pol.number, rs_claim(p))
    assert [x.claim_number for x in lookups.list_for_policy(p, SHOP_A, pol.number).items] == [c.claim_number]
    assert lookups.get(p, ASSESSOR, c.claim_number).claim_number == c.claim_number


def test_the_channel_reference_is_idempotent_and_refuses_other_details(p):
    pol = rs_policy(p)
    first = submission.submit(p, SHOP_A, pol.number, rs_claim(p, channel_claim_id="ret-77"))
    again = submission.submit(p, SHOP_A, pol.number, rs_claim(p, channel_claim_id="ret-77"))
    assert again.claim_number == first.claim_number
    with pytest.raises(Conflict) as err:
        submission.submit(p, SHOP_A, pol.number, rs_claim(p, amount="13.00", channel_claim_id="ret-77"))
    assert err.value.code == "CLAIM_REF_REUSED" and err.value.details == {"claim_number": first.claim_number}
    assert len(lookups.list_for_policy(p, SHOP_A, pol.number).items) == 1
    stats = ledger.statistics(p, ["shop-a"], {"return-shipping": ["standard"]}, "day", "2000-01-01", "2999-12-31")
    assert stats[0].claims == 1


def test_submission_refusals(p):
    pol = pet_policy(p)
    future = calendar.today(p.now() + timedelta(days=2)).isoformat()
    with pytest.raises(InvalidInput):
        submission.submit(
            p,
            SHOP_A,
            pol.number,
            ClaimCreate.model_validate({"incident_date": future, "incident_type": "illness", "amount": "10"}),
        )
    with pytest.raises(BusinessRuleViolation) as err:
        submission.submit(
            p,
            SHOP_A,
            pol.number,
            ClaimCreate.model_validate(
                {
                    "incident_date": calendar.today(p.now()).isoformat(),
                    "incident_type": "x",
                    "amount": "10",
                    "benefit_code": "annual-checkup",
                }
            ),
        )
    assert err.value.code == "BENEFIT_NOT_CLAIMABLE"
    with pytest.raises(NotFound):
        submission.submit(p, SHOP_A, "PC0000", vet_claim(p, "1"))


def test_service_staff_open_a_claim_for_a_caller_only_after_the_identity_check(p):
    pol = policies.underwrite(
        p,
        SHOP_A,
        UnderwriteRequest.model_validate(
            {
                "product_code": "account-security",
                "plan_code": "basic",
                "insured": {"insured_id": "acct-1"},
                "channel_order_id": "acc-1",
                "holder": {"name": "Han Meimei"},
            }
        ),
    )
    body = {
        "incident_date": calendar.today(p.now()).isoformat(),
        "incident_type": "account_takeover",
        "amount": "300.00",
        "caller_name": "Han Meimei",
    }
    with pytest.raises(BusinessRuleViolation) as err:
        submission.open_for_customer(
            p, SERVICE, pol.number, OpsClaimCreate.model_validate({**body, "identity_verified": False})
        )
    assert err.value.code == "IDENTITY_NOT_VERIFIED"
    c = submission.open_for_customer(
        p, SERVICE, pol.number, OpsClaimCreate.model_validate({**body, "identity_verified": True})
    )
    assert c.source == "ops" and c.opened_by == "ops:sam" and c.channel_id == "shop-a" and not c.auto
    assert lookups.get(p, SHOP_A, c.claim_number).benefit_code == "account-recovery"
    assert audit.by_entity(p, "claim", c.claim_number)[0].actor == "ops:sam"


# ------------------------------------------------------------------ state machine (manual claims)
def test_manual_claim_moves_through_the_machine_and_refuses_illegal_moves(p, hooks):
    pol = pet_policy(p)
    c = submission.submit(p, SHOP_A, pol.number, vet_claim(p, "800.00"))
    assert not c.auto and queued(p) == [] and decision_requests(p) == []
    # straight to the staff queue, with the reason
    assert in_review(p) == [f"CLAIM#{c.claim_number}"]
    assert c.review and c.review.rule == "manual_benefit" and "treatment" in c.review.reason
    with pytest.raises(IllegalTransition) as err:
        review.approve(p, ASSESSOR, c.claim_number, ApproveRequest(amount=Decimal("800")))
    assert err.value.status == 409 and err.value.message == "Claim has not been assessed yet, cannot approve."
    with pytest.raises(IllegalTransition):
        claim_payouts.pay(p, FINANCE, c.claim_number, PayRequest())
    review.assess(p, ASSESSOR, c.claim_number, AssessRequest(note="invoice checked"))
    approved = review.approve(p, ASSESSOR, c.claim_number, ApproveRequest(amount=Decimal("750.00"), note="ok"))
    assert approved.status == "approved" and approved.approved_amount == Decimal("750.00")
    assert approved.decision and approved.decision.rule == "assessor" and approved.decision.by == "ops:ann"
    assert approved.review is None and in_review(p) == []
    with pytest.raises(IllegalTransition) as err:
        review.reject(p, ASSESSOR, c.claim_number, RejectRequest(reason="changed my mind"))
    assert err.value.message == "Claim already approved, cannot reject."
    with pytest.raises(IllegalTransition) as err:
        updates.update(p, SHOP_A, c.claim_number, ClaimUpdate(reason="more", amount=Decimal("900")))
    assert err.value.message == "Claim already approved, cannot update."
    paid = claim_payouts.pay(p, FINANCE, c.claim_number, PayRequest(reference="TX-1"))
    assert paid.status == "paid" and paid.paid_amount == Decimal("750.00") and paid.payment_reference == "TX-1"
    assert remaining(p, pol.number) == 500000 - 75000
    assert policies.get_for(p, SHOP_A, pol.number).remaining_sum_insured == Decimal("4250")
    for move in (
        lambda: claim_payouts.pay(p, FINANCE, c.claim_number, PayRequest()),
        lambda: review.reject(p, ASSESSOR, c.claim_number, RejectRequest(reason="x")),
        lambda: review.assess(p, ASSESSOR, c.claim_number, AssessRequest()),
    ):
        with pytest.raises(IllegalTransition) as err:
            move()
        assert err.value.message.startswith("Claim already paid, cannot")
    [entry] = payouts(p, pol.number)
    assert entry.amount == Decimal("-750.00") and entry.commission == 0 and entry.status == "payable"
    assert [h[1] for h in hooks] == ["claim.submitted", "claim.assessing", "claim.approved", "claim.paid"]
    assert [h[2]["claim_version"] for h in hooks] == [1, 2, 3, 4]
    actions = [a.action for a in reversed(audit.by_entity(p, "claim", c.claim_number))]
    assert actions == ["submit", "assess", "approve", "pay"]


def test_rejected_is_final(p, hooks):
    pol = pet_policy(p)
    c = submission.submit(p, SHOP_A, pol.number, vet_claim(p, "100"))
    review.assess(p, ASSESSOR, c.claim_number, AssessRequest())
    r = review.reject(p, ASSESSOR, c.claim_number, RejectRequest(reason="pre-existing condition"))
    assert r.status == "rejected" and r.decision and r.decision.note == "pre-existing condition"
    with pytest.raises(IllegalTransition) as err:
        review.approve(p, ASSESSOR, c.claim_number, ApproveRequest(amount=Decimal("100")))
    assert err.value.message == "Claim already rejected, cannot approve."
    with pytest.raises(IllegalTransition):
        updates.update(p, SHOP_A, c.claim_number, ClaimUpdate(reason="x", amount=Decimal("1")))
    assert hooks[-1][1] == "claim.rejected" and remaining(p, pol.number) == 500000


def test_approve_refuses_amounts_above_the_claim_the_benefit_limit_or_the_remaining_sum(p):
    pol = rs_policy(p)  # sum insured 25, benefit limit 25
    c = submission.submit(p, SHOP_A, pol.number, rs_claim(p, amount="30.00"))
    review.assess(p, ASSESSOR, c.claim_number, AssessRequest())
    with pytest.raises(BusinessRuleViolation) as err:
        review.approve(p, ASSESSOR, c.claim_number, ApproveRequest(amount=Decimal("31")))
    assert err.value.code == "AMOUNT_ABOVE_CLAIMED" and err.value.status == 422
    with pytest.raises(BusinessRuleViolation) as err:
        review.approve(p, ASSESSOR, c.claim_number, ApproveRequest(amount=Decimal("26")))
    assert err.value.code == "AMOUNT_ABOVE_LIMIT"
    p.store.update(*policy_records.policy_key(pol.number), add={"remaining": -2000})  # 5.00 left
    with pytest.raises(BusinessRuleViolation) as err:
        review.approve(p, ASSESSOR, c.claim_number, ApproveRequest(amount=Decimal("6")))
    assert err.value.code == "SUM_INSURED_EXCEEDED" and err.value.details["remaining"] == "5"
    assert lookups.get(p, ASSESSOR, c.claim_number).status == "assessing"


# ------------------------------------------------------------------ payouts and the remaining sum insured
def _approved_pair(p: Ports) -> tuple[Policy, str, str]:
    pol = pet_policy(p)
    numbers = []
    for _ in range(2):
        c = submission.submit(p, SHOP_A, pol.number, vet_claim(p, "3000.00"))
        review.assess(p, ASSESSOR, c.claim_number, AssessRequest())
        review.approve(p, ASSESSOR, c.claim_number, ApproveRequest(amount=Decimal("3000.00")))
        numbers.append(c.claim_number)
    return pol, numbers[0], numbers[1]


def test_a_payout_above_the_remaining_sum_insured_is_refused(p):
    pol, first, second = _approved_pair(p)  # 2 x 3000 approved on a 5000 policy
    claim_payouts.pay(p, FINANCE, first, PayRequest())
    with pytest.raises(BusinessRuleViolation) as err:
        claim_payouts.pay(p, FINANCE, second, PayRequest())
    assert err.value.code == "SUM_INSURED_EXCEEDED" and err.value.status == 422
    assert remaining(p, pol.number) == 200000
    assert lookups.get(p, FINANCE, second).status == "approved"
    assert len(payouts(p, pol.number)) == 1


class StalePolicyReads:
    """A store whose first read of one policy returns an old copy: the pre-check passes, so only
    the conditional write stands between the payout and a negative remaining sum."""

    def __init__(self, inner: Any, pk: str, old: dict[str, Any]) -> None:
        self.inner, self.pk, self.old, self.stale_reads = inner, pk, old, 1

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def get(self, pk: str, sk: str, *, consistent: bool = True) -> Any:
        if pk == self.pk and sk == "POLICY" and self.stale_reads:
            self.stale_reads -= 1
            return dict(self.old)
        return self.inner.get(pk, sk, consistent=consistent)

    def query(self, pk: str, **kwargs: Any) -> Any:
        """The policy read with its balances (one Query) sees the old copy too."""
        page = self.inner.query(pk, **kwargs)
        if pk == self.pk and self.stale_reads and any(i["sk"] == "POLICY" for i in page.items):
            self.stale_reads -= 1
            page.items[:] = [dict(self.old) if i["sk"] == "POLICY" else i for i in page.items]
        return page


def test_the_conditional_write_refuses_an_overdraw_even_after_a_stale_read(p):
    pol, first, second = _approved_pair(p)
    pk, sk = policy_records.policy_key(pol.number)
    before = p.store.get(pk, sk)
    claim_payouts.pay(p, FINANCE, first, PayRequest())
    p.store = StalePolicyReads(p.store, pk, before)  # type: ignore[assignment]
    with pytest.raises(BusinessRuleViolation) as err:
        claim_payouts.pay(p, FINANCE, second, PayRequest())
    assert err.value.code == "SUM_INSURED_EXCEEDED"
    assert p.store.stale_reads == 0  # the pre-check did see the stale copy
    p.store = p.store.inner  # type: ignore[attr-defined]
    assert remaining(p, pol.number) == 200000
    assert lookups.get(p, FINANCE, second).status == "approved" and len(payouts(p, pol.number)) == 1


def test_concurrent_payouts_never_overdraw(p):
    pol, first, second = _approved_pair(p)
    results: dict[str, str] = {}
    barrier = threading.Barrier(2)

    def work(n: str) -> None:
        barrier.wait()
        try:
            claim_payouts.pay(p, FINANCE, n, PayRequest())
            results[n] = "paid"
        except (BusinessRuleViolation, Conflict) as exc:
            results[n] = exc.code

    threads = [threading.Thread(target=work, args=(n,)) for n in (first, second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results.values()) == ["SUM_INSURED_EXCEEDED", "paid"]
    assert remaining(p, pol.number) == 200000 and len(payouts(p, pol.number)) == 1


# ------------------------------------------------------------------ update
def test_update_keeps_a_change_record_and_requeues_for_assessment(p, hooks):
    pol = rs_policy(p)
    c = submission.submit(p, SHOP_A, pol.number, rs_claim(p, tracking="WRONG1"))
    with pytest.raises(InvalidInput) as err:
        updates.update(p, SHOP_A, c.claim_number, ClaimUpdate(reason="same", tracking_number="WRONG1"))
    assert err.value.code == "NOTHING_TO_CHANGE"
    u = updates.update(p, SHOP_A, c.claim_number, ClaimUpdate(reason="typo in tracking", tracking_number="SF777777"))
    assert u.status == "assessing" and u.version == 2 and u.changes == 1
    assert u.evidence.tracking_number == "SF777777" and u.amount == c.amount
    d = lookups.detail(p, ASSESSOR, c.claim_number)
    [change] = d.history
    assert change.before == {"tracking_number": "WRONG1"} and change.after == {"tracking_number": "SF777777"}
    assert change.by == "channel:shop-a" and change.reason == "typo in tracking" and change.version == 2
    assert queued(p) == [f"CLAIM#{c.claim_number}"]
    assert decision_requests(p) == [
        {"claim_number": c.claim_number, "version": 1},
        {"claim_number": c.claim_number, "version": 2},
    ]
    assert [h[1] for h in hooks] == ["claim.submitted", "claim.assessing"]
    updates.update(p, SHOP_A, c.claim_number, ClaimUpdate(reason="more", amount=Decimal("11.50")))
    assert len(hooks) == 2  # assessing -> assessing is no status change
    assert len(lookups.detail(p, SHOP_A, c.claim_number).history) == 2


# ------------------------------------------------------------------ automatic claims
def test_an_eligible_return_shipping_claim_is_paid_by_rule(p, hooks):
    pol = rs_policy(p)
    c = submission.submit(p, SHOP_A, pol.number, rs_claim(p, amount="12.00"))
    assert deliver_decisions(p) == ["paid"]
    got = lookups.get(p, SHOP_A, c.claim_number)
    assert got.status == "paid" and got.paid_amount == Decimal("12.00")
    assert got.decision and got.decision.rule == "all_rules_passed" and got.decision.failed == []
    assert set(got.decision.passed) == {
        "policy_active",
        "incident_in_term",
        "claimed_within_30_days",
        "amount_within_benefit_limit",
        "amount_within_remaining_sum",
        "tracking_number_present",
    }
    assert remaining(p, pol.number) == 2500 - 1200 and queued(p) == [] and in_review(p) == []
    assert [h[1] for h in hooks] == ["claim.submitted", "claim.assessing", "claim.approved", "claim.paid"]
    for _, _, body in hooks[2:]:  # approved and paid carry the deciding rule
        assert body["decision"]["rule"] == "all_rules_passed" and body["decision"]["ruleset"] == "return_shipping.v1"
    assert {a.action for a in audit.by_entity(p, "claim", c.claim_number)} == {"submit", "assess", "approve", "pay"}
    assert {a.actor for a in audit.by_entity(p, "claim", c.claim_number)} == {"channel:shop-a", auto.SYSTEM_ACTOR}


def test_a_redelivered_request_and_the_schedule_pay_nothing_twice(p):
    pol = rs_policy(p)
    c = submission.submit(p, SHOP_A, pol.number, rs_claim(p))
    [request] = decision_requests(p)
    assert auto.decide_request(p, request) == "paid"
    assert auto.decide_request(p, request) == "skipped"  # SQS delivered it again
    later = p.now() + auto.SAFETY_NET_AFTER + timedelta(seconds=1)
    p.clock = lambda: later
    assert auto.run_auto_claims(p).examined == 0  # the schedule finds nothing left
    assert auto.auto_decide(p, c.claim_number) == "skipped"  # fired on demand for the same claim
    assert len(payouts(p, pol.number)) == 1 and remaining(p, pol.number) == 1300


def test_the_request_and_the_schedule_at_once_pay_each_claim_once(p):
    pols = [rs_policy(p, f"o-{i}") for i in range(6)]
    for pol in pols:
        submission.submit(p, SHOP_A, pol.number, rs_claim(p, amount="10.00"))
    requests = decision_requests(p)
    outcomes: list[str] = []
    runs: list[Any] = []
    barrier = threading.Barrier(3)

    def consumer() -> None:
        barrier.wait()
        outcomes.extend(auto.auto_decide(p, r["claim_number"]) for r in requests)

    def schedule() -> None:
        barrier.wait()
        runs.append(auto.run_auto_claims(p, settled_for=timedelta(0)))

    threads = [threading.Thread(target=f) for f in (consumer, consumer, schedule)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert outcomes.count("paid") + sum(r.paid for r in runs) == 6
    for pol in pols:
        assert len(payouts(p, pol.number)) == 1 and remaining(p, pol.number) == 1500


def test_a_missing_tracking_number_sends_the_claim_to_the_staff_queue_until_updated(p, hooks):
    pol = rs_policy(p)
    c = submission.submit(p, SHOP_A, pol.number, rs_claim(p, tracking=None))
    assert deliver_decisions(p) == ["held"]
    assert queued(p) == [] and in_review(p) == [f"CLAIM#{c.claim_number}"]
    held = lookups.get(p, SHOP_A, c.claim_number)
    assert held.status == "assessing" and held.decision and held.decision.outcome == "hold"
    assert held.decision.rule == "tracking_number_present" and held.decision.failed == ["tracking_number_present"]
    assert held.review and held.review.rule == "tracking_number_present" and "tracking number" in held.review.reason
    assert hooks[-1][1] == "claim.assessing" and "tracking number" in hooks[-1][2]["note"]
    assert hooks[-1][2]["decision"]["rule"] == "tracking_number_present"
    [entry] = lookups.review_queue(p).items
    assert entry.claim_number == c.claim_number and entry.review.reason == held.review.reason and entry.auto
    later = p.now() + auto.SAFETY_NET_AFTER + timedelta(seconds=1)
    p.clock = lambda: later
    assert auto.run_auto_claims(p).examined == 0  # not re-examined until updated
    updates.update(p, SHOP_A, c.claim_number, ClaimUpdate(reason="tracking added", tracking_number="YT55555"))
    fixed = lookups.get(p, SHOP_A, c.claim_number)
    assert fixed.decision is None and fixed.review is None and in_review(p) == []
    assert deliver_decisions(p) == ["paid"]
    assert lookups.get(p, SHOP_A, c.claim_number).status == "paid"


def test_an_amount_above_the_cap_is_held_for_staff_not_paid(p):
    pol = rs_policy(p)
    c = submission.submit(p, SHOP_A, pol.number, rs_claim(p, amount="30.00"))
    assert deliver_decisions(p) == ["held"]
    got = lookups.get(p, SHOP_A, c.claim_number)
    assert got.decision and got.decision.rule == "amount_within_benefit_limit"
    assert set(got.decision.failed) == {"amount_within_benefit_limit", "amount_within_remaining_sum"}
    assert got.review and "benefit limit" in got.review.reason and "remaining sum insured" in got.review.reason
    assert remaining(p, pol.number) == 2500
    # an assessor approves what the cover allows: the claim leaves the staff queue
    approved = review.approve(p, ASSESSOR, c.claim_number, ApproveRequest(amount=Decimal("25.00")))
    assert approved.status == "approved" and approved.review is None and lookups.review_queue(p).items == []


def test_a_claim_outside_the_window_is_rejected_with_the_rule(p, hooks):
    t0 = datetime.now(UTC)
    p.clock = lambda: t0
    pol = rs_policy(p)
    p.clock = lambda: t0 + timedelta(days=45)
    incident = calendar.today(t0 + timedelta(days=5)).isoformat()
    c = submission.submit(p, SHOP_A, pol.number, rs_claim(p, incident_date=incident))
    assert deliver_decisions(p) == ["rejected"]
    got = lookups.get(p, SHOP_A, c.claim_number)
    assert got.status == "rejected" and got.decision and got.decision.rule == "claimed_within_30_days"
    assert "40 days after the incident" in (got.note or "")
    assert hooks[-1][1] == "claim.rejected" and hooks[-1][2]["decision"]["rule"] == "claimed_within_30_days"
    assert queued(p) == [] and in_review(p) == [] and remaining(p, pol.number) == 2500


def test_a_cancelled_policy_rejects_by_rule(p):
    pol = rs_policy(p)
    c = submission.submit(p, SHOP_A, pol.number, rs_claim(p))
    p.store.update(*policy_records.policy_key(pol.number), set={"state": "cancelled"})
    assert deliver_decisions(p) == ["rejected"]
    got = lookups.get(p, SHOP_A, c.claim_number)
    assert got.decision and got.decision.rule == "policy_active"


def test_the_schedule_leaves_young_claims_to_their_message_and_is_bounded_and_paginated(p):
    for i in range(7):
        pol = rs_policy(p, f"b-{i}")
        submission.submit(p, SHOP_A, pol.number, rs_claim(p, tracking=None))
    decision_requests(p)  # the messages are lost: only the schedule is left
    assert auto.run_auto_claims(p).examined == 0  # younger than SAFETY_NET_AFTER: their message decides
    later = p.now() + auto.SAFETY_NET_AFTER + timedelta(seconds=1)
    p.clock = lambda: later
    first = auto.run_auto_claims(p, limit=5, page_size=2)
    assert (first.examined, first.held, first.more) == (5, 5, True)
    rest = auto.run_auto_claims(p, limit=5, page_size=2)
    assert (rest.examined, rest.held, rest.more) == (2, 2, False)
    assert p.store.calls.get("scan") is None
    assert len(in_review(p)) == 7


# ------------------------------------------------------------------ races: an update against the automatic decision
class Interleave:
    """Runs ``action`` once, right before the first transaction ``when`` picks."""

    def __init__(self, inner: Any, when: Any, action: Any) -> None:
        self.inner, self.when, self.action, self.fired = inner, when, action, False

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def transact(self, ops: Any) -> None:
        if not self.fired and self.when(ops):
            self.fired = True
            self.action()
        self.inner.transact(ops)


def _sets_state(state: str) -> Any:
    return lambda ops: any(getattr(o, "sk", None) == "CLAIM" and o.set.get("state") == state for o in ops)


def test_an_update_landing_between_assess_and_approve_wins_and_the_job_reruns(p):
    pol = rs_policy(p)
    c = submission.submit(p, SHOP_A, pol.number, rs_claim(p, amount="12.00"))
    updated: list[Any] = []
    p.store = Interleave(  # type: ignore[assignment]
        p.store,
        _sets_state("approved"),
        lambda: updated.append(
            updates.update(p, SHOP_A, c.claim_number, ClaimUpdate(reason="wrong amount", amount=Decimal("9.50")))
        ),
    )
    outcome = auto.auto_decide(p, c.claim_number)
    assert updated and updated[0].amount == Decimal("9.50")
    assert outcome == "paid"
    got = lookups.get(p, SHOP_A, c.claim_number)
    assert got.status == "paid" and got.paid_amount == Decimal("9.50") and got.changes == 1
    [entry] = payouts(p, pol.number)
    assert entry.amount == Decimal("-9.50") and remaining(p, pol.number) == 2500 - 950


def test_an_update_losing_to_the_automatic_decision_gets_409_claim_changed(p):
    pol = rs_policy(p)
    c = submission.submit(p, SHOP_A, pol.number, rs_claim(p, amount="12.00"))
    p.store = Interleave(  # type: ignore[assignment]
        p.store,
        lambda ops: any(str(getattr(o, "item", {}).get("sk", "")).startswith("CHANGE#") for o in ops),
        lambda: auto.auto_decide(p, c.claim_number),
    )
    with pytest.raises(Conflict) as err:
        updates.update(p, SHOP_A, c.claim_number, ClaimUpdate(reason="wrong amount", amount=Decimal("9.50")))
    assert err.value.code == "CLAIM_CHANGED" and err.value.status == 409
    got = lookups.get(p, SHOP_A, c.claim_number)
    assert got.status == "paid" and got.amount == Decimal("12.00") and got.changes == 0
    assert lookups.detail(p, ASSESSOR, c.claim_number).history == []
    assert len(payouts(p, pol.number)) == 1 and remaining(p, pol.number) == 1300


class Jitter:
    """Small random pauses before every store call, so threads interleave differently each time."""

    def __init__(self, inner: Any, seed: int) -> None:
        import random

        self.inner, self.rng, self.lock = inner, random.Random(seed), threading.Lock()

    def _pause(self) -> None:
        with self.lock:
            wait = self.rng.random() * 0.002
        time.sleep(wait)

    def __getattr__(self, name: str) -> Any:
        target = getattr(self.inner, name)
        if not callable(target):
            return target

        def call(*a: Any, **kw: Any) -> Any:
            self._pause()
            return target(*a, **kw)

        return call


def _race(p: Ports, number: str, delay: float) -> dict[str, Any]:
    """The job and a channel update at the same time; the update starts ``delay`` seconds late."""
    result: dict[str, Any] = {}
    barrier = threading.Barrier(2)

    def job() -> None:
        barrier.wait()
        auto.auto_decide(p, number)

    def change() -> None:
        barrier.wait()
        time.sleep(delay)
        try:
            result["update"] = updates.update(p, SHOP_A, number, ClaimUpdate(reason="fix", amount=Decimal("8.00")))
        except Conflict as exc:
            result["refused"] = exc.code

    threads = [threading.Thread(target=job), threading.Thread(target=change)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return result


def test_updates_racing_the_job_have_exactly_one_outcome_and_never_pay_twice(p):
    outcomes: dict[str, int] = {"update_won": 0, "job_won": 0}
    delays = [i * 0.006 for i in range(11)] + [0.3]
    inner = p.store
    for trial, delay in enumerate(delays):
        p.store = inner
        pol = rs_policy(p, f"race-{trial}")
        c = submission.submit(p, SHOP_A, pol.number, rs_claim(p, amount="12.00"))
        p.store = Jitter(inner, trial)  # type: ignore[assignment]
        result = _race(p, c.claim_number, delay)
        p.store = inner
        deliver_decisions(p)  # an update that came last asked for a new decision
        got = lookups.get(p, SHOP_A, c.claim_number)
        assert ("update" in result) != ("refused" in result)
        assert got.status == "paid" and len(payouts(p, pol.number)) == 1
        if "update" in result:
            outcomes["update_won"] += 1
            assert got.paid_amount == Decimal("8.00") and remaining(p, pol.number) == 1700
        else:
            outcomes["job_won"] += 1
            assert result["refused"] in ("CLAIM_CHANGED", "ILLEGAL_TRANSITION")
            assert got.paid_amount == Decimal("12.00") and remaining(p, pol.number) == 1300
    # the spread of start delays makes both orders happen: the update first, the job first
    assert outcomes["update_won"] >= 1 and outcomes["job_won"] >= 1, outcomes


# ------------------------------------------------------------------ webhook outbox and statistics
def test_a_failed_notify_is_resent_by_the_job(p, monkeypatch):
    pol = pet_policy(p)
    calls: list[str] = []
    real = notices.webhook_events.notify

    def broken(p: Ports, **kw: Any) -> str:
        raise RuntimeError("SQS unavailable")

    monkeypatch.setattr(notices.webhook_events, "notify", broken)
    c = submission.submit(p, SHOP_A, pol.number, vet_claim(p, "10"))
    assert lookups.get(p, SHOP_A, c.claim_number).status == "submitted"  # the state change stands
    [hook] = p.store.query(claim_repo.HOOK_QUEUE, index="gsi3").items
    assert json.loads(hook["data"])["event_type"] == "claim.submitted"

    def working(p: Ports, **kw: Any) -> str:
        calls.append(kw["event_type"])
        return real(p, **kw)

    monkeypatch.setattr(notices.webhook_events, "notify", working)
    assert auto.run_auto_claims(p).webhooks_resent == 0  # still within the writer's grace period
    later = datetime.now(UTC) + timedelta(seconds=notices.HOOK_GRACE_SECONDS + 5)
    p.clock = lambda: later
    assert auto.run_auto_claims(p).webhooks_resent == 1
    assert calls == ["claim.submitted"]
    assert p.store.query(claim_repo.HOOK_QUEUE, index="gsi3").items == []
    assert auto.run_auto_claims(p).webhooks_resent == 0


def test_statistics_counters_match_claims_and_payout_totals(p):
    paid_cents = 0
    for i, amount in enumerate(("10.00", "7.25", "30.00")):  # the last is held (above the cap)
        pol = rs_policy(p, f"s-{i}")
        submission.submit(p, SHOP_A, pol.number, rs_claim(p, amount=amount))
    assert sorted(deliver_decisions(p)) == ["held", "paid", "paid"]
    paid_cents += 1000 + 725
    pet = pet_policy(p)
    c = submission.submit(p, SHOP_A, pet.number, vet_claim(p, "400.00"))
    submission.submit(p, SHOP_A, pet.number, vet_claim(p, "50.00"))  # never decided
    review.assess(p, ASSESSOR, c.claim_number, AssessRequest())
    review.approve(p, ASSESSOR, c.claim_number, ApproveRequest(amount=Decimal("380.00")))
    claim_payouts.pay(p, FINANCE, c.claim_number, PayRequest())
    paid_cents += 38000
    rows = ledger.statistics(
        p, ["shop-a"], {"return-shipping": ["standard"], "pet-health": ["basic"]}, "day", "2000-01-01", "2999-12-31"
    )
    by_product = {r.product_code: r for r in rows}
    assert by_product["return-shipping"].claims == 3 and by_product["pet-health"].claims == 2
    assert by_product["return-shipping"].claim_amount == Decimal("17.25")
    assert by_product["pet-health"].claim_amount == Decimal("380")
    assert sum(money.cents(r.claim_amount) for r in rows) == paid_cents
    monthly = ledger.statistics(
        p, ["shop-a"], {"return-shipping": ["standard"], "pet-health": ["basic"]}, "month", "2000-01", "2999-12"
    )
    assert sum(r.claims for r in monthly) == 5 and sum(money.cents(r.claim_amount) for r in monthly) == paid_cents
    month = calendar.month_of(p.now())
    entries = [e for e in ledger.statement_entries(p, "shop-a", month) if e.event == "claim_payout"]
    assert sum(money.cents(-e.amount) for e in entries) == paid_cents
