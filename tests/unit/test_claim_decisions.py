"""The automatic decision run from the claim's own committed event, with fakes: the decision request
written through the outbox with the submission, the consumer's crashes and redeliveries (one payout
per claim whatever happens), the staff queue for what does not qualify."""

from __future__ import annotations

import threading
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from pydantic import ValidationError

from petcover.errors import Conflict
from petcover.identity import Principal
from petcover.models.claims import ClaimUpdate, RejectRequest
from petcover.ports import Ports
from petcover.repositories import claims as claim_repo
from petcover.repositories import policies as policy_records
from petcover.services import audit, outbox
from petcover.services.claims import auto, lookups, notices, review, submission, updates
from petcover.services.claims.transitions import DECISION_QUEUE
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
from tests.support.clock import Clock
from tests.support.fixtures import catalogue

ASSESSOR = Principal("ops", "ann", ("underwriter",))


class Killed(BaseException):
    """The process died here: no ``except Exception`` catches it."""


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def p(fake_ports: Ports, clock: Clock) -> Ports:
    fake_ports.clock = clock
    catalogue(fake_ports, ("shop-a", "shop-b"))
    return fake_ports


@pytest.fixture
def hooks(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str, dict[str, Any]]]:
    """Every webhook queued for a claim (object id, event type, payload); the real notify still runs."""
    seen: list[tuple[str, str, dict[str, Any]]] = []
    real = notices.webhook_events.notify

    def spy(p: Ports, **kw: Any) -> str:
        seen.append((kw["object_id"], kw["event_type"], dict(kw["payload"])))
        return real(p, **kw)

    monkeypatch.setattr(notices.webhook_events, "notify", spy)
    return seen


class DiesAfter:
    """A store on which the process dies right after the first transaction ``when`` picks commits."""

    def __init__(self, inner: Any, when: Any) -> None:
        self.inner, self.when, self.died = inner, when, False

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def transact(self, ops: Any) -> None:
        self.inner.transact(ops)
        if not self.died and self.when(ops):
            self.died = True
            raise Killed("process killed right after the transaction committed")


def _sets_state(state: str) -> Any:
    return lambda ops: any(getattr(o, "sk", None) == "CLAIM" and o.set.get("state") == state for o in ops)


def _pending_outbox(p: Ports) -> list[dict[str, Any]]:
    return outbox.repo.pending(p.store)


# ------------------------------------------------------------------ the request travels with the commit
def test_an_sqs_outage_at_submission_leaves_the_request_to_the_minute_sweeper(p, clock, monkeypatch):
    pol = rs_policy(p)
    real = p.publisher.send

    def down(queue: str, bodies: Any, **kw: Any) -> None:
        if queue == DECISION_QUEUE:
            raise RuntimeError("SQS unavailable")
        real(queue, bodies, **kw)

    with monkeypatch.context() as m:
        m.setattr(p.publisher, "send", down)
        c = submission.submit(p, SHOP_A, pol.number, rs_claim(p))  # the channel still gets its claim number
    assert lookups.get(p, SHOP_A, c.claim_number).status == "submitted"
    assert decision_requests(p) == [] and len(_pending_outbox(p)) == 1
    assert outbox.sweep(p) == {"sent": 0}  # its writer may still release it
    clock.advance(61)
    assert outbox.sweep(p) == {"sent": 1} and outbox.sweep(p) == {"sent": 0}
    assert deliver_decisions(p) == ["paid"]
    assert len(payouts(p, pol.number)) == 1


def test_a_process_dying_between_commit_and_release_loses_no_decision(p, clock, monkeypatch, hooks):
    pol = rs_policy(p)
    real = outbox.release

    def release(p: Ports, *ids: str) -> bool:
        items = [p.store.get(*outbox.repo.outbox_key(i)) or {} for i in ids]
        if any(DECISION_QUEUE in str(i.get("data")) for i in items):
            raise Killed("process killed before the decision request was sent")
        return real(p, *ids)

    with monkeypatch.context() as m:
        m.setattr(outbox, "release", release)
        with pytest.raises(Killed):
            submission.submit(p, SHOP_A, pol.number, rs_claim(p))
    [item] = p.store.query(claim_repo.AUTO_QUEUE, index="gsi3").items
    number = claim_repo.number_of(item["pk"])
    assert [h[1] for h in hooks] == ["claim.submitted"]  # the channel heard of it before the death
    assert decision_requests(p) == [] and len(_pending_outbox(p)) == 1
    clock.advance(61)
    assert outbox.sweep(p) == {"sent": 1}
    assert deliver_decisions(p) == ["paid"]
    assert lookups.get(p, SHOP_A, number).status == "paid" and len(payouts(p, pol.number)) == 1
    assert [h[1] for h in hooks] == ["claim.submitted", "claim.assessing", "claim.approved", "claim.paid"]


def test_an_update_asks_for_its_decision_in_its_own_transaction(p, monkeypatch):
    pol = rs_policy(p)
    c = submission.submit(p, SHOP_A, pol.number, rs_claim(p, tracking=None))
    assert deliver_decisions(p) == ["held"]
    seen: list[Any] = []
    real = p.store.transact

    def spy(ops: Any) -> None:
        seen.append(list(ops))
        real(ops)

    monkeypatch.setattr(p.store, "transact", spy)
    updates.update(p, SHOP_A, c.claim_number, ClaimUpdate(reason="tracking added", tracking_number="YT12345"))
    [update_ops] = [ops for ops in seen if any(getattr(o, "item", {}).get("kind") == "claim_change" for o in ops)]
    kinds = {getattr(o, "item", {}).get("kind") for o in update_ops}
    assert {"claim_change", "outbox", "audit"} <= kinds  # with the claim's own conditional update
    assert decision_requests(p) == [{"claim_number": c.claim_number, "version": 3}]


# ------------------------------------------------------------------ crashes and redeliveries: one payout
def test_the_decision_dying_after_the_payout_commits_pays_nothing_on_redelivery(p, clock, hooks):
    pol = rs_policy(p)
    c = submission.submit(p, SHOP_A, pol.number, rs_claim(p, amount="12.00"))
    [request] = decision_requests(p)
    inner = p.store
    p.store = DiesAfter(inner, _sets_state("paid"))  # type: ignore[assignment]
    with pytest.raises(Killed):
        auto.decide_request(p, request)
    p.store = inner
    assert lookups.get(p, SHOP_A, c.claim_number).status == "paid"
    assert len(payouts(p, pol.number)) == 1 and remaining(p, pol.number) == 1300
    assert "claim.paid" not in [h[1] for h in hooks]  # committed with the payout, never queued
    clock.advance(91)  # SQS shows the message again after the queue's visibility timeout
    assert auto.decide_request(p, request) == "skipped"
    assert auto.decide_request(p, request) == "skipped"  # and once more
    assert len(payouts(p, pol.number)) == 1 and remaining(p, pol.number) == 1300
    paid = [h for h in hooks if h[1] == "claim.paid"]
    assert len(paid) == 1 and paid[0][2]["decision"]["rule"] == "all_rules_passed"
    assert claim_repo.hooks_of(p.store, c.claim_number) == []
    actions = [a.action for a in reversed(audit.by_entity(p, "claim", c.claim_number))]
    assert sorted(actions) == ["approve", "assess", "pay", "submit"]  # the audit committed with the payout


def test_the_decision_dying_between_approval_and_payout_pays_once_on_redelivery(p, clock):
    pol = rs_policy(p)
    c = submission.submit(p, SHOP_A, pol.number, rs_claim(p, amount="7.50"))
    [request] = decision_requests(p)
    inner = p.store
    p.store = DiesAfter(inner, _sets_state("approved"))  # type: ignore[assignment]
    with pytest.raises(Killed):
        auto.decide_request(p, request)
    p.store = inner
    assert lookups.get(p, SHOP_A, c.claim_number).status == "approved" and payouts(p, pol.number) == []
    clock.advance(91)
    assert auto.decide_request(p, request) == "paid"
    assert auto.decide_request(p, request) == "skipped"
    assert len(payouts(p, pol.number)) == 1 and remaining(p, pol.number) == 2500 - 750


def test_sixteen_concurrent_deliveries_and_the_schedule_pay_once(p, clock):
    pol = rs_policy(p)
    c = submission.submit(p, SHOP_A, pol.number, rs_claim(p, amount="10.00"))
    [request] = decision_requests(p)
    outcomes: list[str] = []
    barrier = threading.Barrier(17)

    def deliver() -> None:
        barrier.wait()
        try:
            outcomes.append(auto.decide_request(p, request))
        except Conflict:
            outcomes.append("retried")  # SQS would deliver it again

    def schedule() -> None:
        barrier.wait()
        run = auto.run_auto_claims(p, settled_for=timedelta(0))
        outcomes.extend(["paid"] * run.paid)

    threads = [threading.Thread(target=deliver) for _ in range(16)] + [threading.Thread(target=schedule)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert outcomes.count("paid") == 1, outcomes
    assert lookups.get(p, SHOP_A, c.claim_number).status == "paid"
    assert len(payouts(p, pol.number)) == 1 and remaining(p, pol.number) == 1500


def test_a_claim_that_keeps_changing_sends_the_message_back(p):
    pol = rs_policy(p)
    c = submission.submit(p, SHOP_A, pol.number, rs_claim(p))
    [request] = decision_requests(p)
    inner = p.store

    class Meddling:
        def __getattr__(self, name: str) -> Any:
            return getattr(inner, name)

        def transact(self, ops: Any) -> None:
            inner.update(*claim_repo.claim_key(c.claim_number), add={"version": 1})  # someone else wrote first
            inner.transact(ops)

    p.store = Meddling()  # type: ignore[assignment]
    with pytest.raises(Conflict) as err:
        auto.decide_request(p, request)
    p.store = inner
    assert err.value.code == "CLAIM_CHANGED" and payouts(p, pol.number) == []
    assert queued(p) == [f"CLAIM#{c.claim_number}"]  # still queued: the redelivery or the schedule decides


def test_a_malformed_message_is_refused_for_the_dead_letter_queue(p):
    with pytest.raises(ValidationError):
        auto.decide_request(p, {"claim": "CL1"})
    assert auto.decide_request(p, {"claim_number": "CL2026999999999", "version": 1}) == "skipped"


# ------------------------------------------------------------------ the staff queue
def test_the_staff_queue_lists_what_does_not_qualify_with_the_reason_oldest_first(p, clock):
    vet = pet_policy(p)
    manual = submission.submit(p, SHOP_A, vet.number, vet_claim(p, "300.00"))
    clock.advance(1)
    held = submission.submit(p, SHOP_A, rs_policy(p, "o-2").number, rs_claim(p, tracking=None))
    clock.advance(1)
    paid = submission.submit(p, SHOP_A, rs_policy(p, "o-3").number, rs_claim(p))
    assert sorted(deliver_decisions(p)) == ["held", "paid"]
    first = lookups.review_queue(p, limit=1)
    assert [e.claim_number for e in first.items] == [manual.claim_number] and first.cursor
    assert first.items[0].review.rule == "manual_benefit" and not first.items[0].auto
    rest = lookups.review_queue(p, limit=10, cursor=first.cursor)
    assert [e.claim_number for e in rest.items] == [held.claim_number]
    assert rest.items[0].review.rule == "tracking_number_present" and rest.items[0].status == "assessing"
    assert paid.claim_number not in in_review(p)
    review.reject(p, ASSESSOR, held.claim_number, RejectRequest(reason="no return parcel"))
    assert [e.claim_number for e in lookups.review_queue(p).items] == [manual.claim_number]


def test_a_payout_refused_after_the_approval_goes_to_the_staff_queue(p, hooks):
    pol = rs_policy(p)
    c = submission.submit(p, SHOP_A, pol.number, rs_claim(p, amount="20.00"))
    [request] = decision_requests(p)
    inner = p.store

    class Drained:
        """Another payout lowers the remaining sum insured between the approval and this payout."""

        done = False

        def __getattr__(self, name: str) -> Any:
            return getattr(inner, name)

        def transact(self, ops: Any) -> None:
            if not Drained.done and _sets_state("paid")(ops):
                Drained.done = True
                inner.update(*policy_records.policy_key(pol.number), add={"remaining": -1000})
            inner.transact(ops)

    p.store = Drained()  # type: ignore[assignment]
    assert auto.decide_request(p, request) == "unpayable"
    p.store = inner
    got = lookups.get(p, SHOP_A, c.claim_number)
    assert got.status == "approved" and got.review and got.review.rule == "payout_refused"
    assert "remaining sum insured" in got.review.reason and in_review(p) == [f"CLAIM#{c.claim_number}"]
    assert payouts(p, pol.number) == [] and remaining(p, pol.number) == 1500 and queued(p) == []
    assert [h[1] for h in hooks] == ["claim.submitted", "claim.assessing", "claim.approved"]
    assert hooks[-1][2]["decision"]["rule"] == "all_rules_passed"
    assert auto.decide_request(p, request) == "skipped"  # the redelivery leaves it to staff
    assert queued(p) == [] and Decimal(str(got.approved_amount)) == Decimal("20.00")
