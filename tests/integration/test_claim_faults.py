"""Faults on the instant-claims path, in-process against moto, each recorded as a row of
bench/results/robustness.md:

- the decision step dies right after the payout transaction commits: SQS delivers the message
  again (and again); nothing is paid twice and the ``claim.paid`` webhook the dead attempt left
  in the outbox is queued once;
- the channel's webhook receiver is down: the payout stands, the webhooks retry with backoff and
  are delivered, signed, once the receiver is back.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest

from petcover import runtime, signing
from petcover.domain import calendar
from petcover.ports import Ports
from petcover.repositories import webhooks as webhook_repo
from petcover.repositories.catalog import WEBHOOK_SECRET, webhook_secret_context
from petcover.services.webhooks import events as webhook_events
from petcover.services.webhooks import messages as webhook_messages
from petcover.services.webhooks.log import delivery_log
from tests.robustness import report
from tests.robustness.config import BUDGET
from tests.robustness.faults import Killed, crash_after
from tests.support import events
from tests.support.calls import call, handler_of
from tests.support.claims import payouts, remaining, rs_policy
from tests.support.clock import Clock
from tests.support.fixtures import channel_with_contracts, publish_seed_products
from tests.support.sink import running_sink, sink_call

pytestmark = pytest.mark.robustness


def _row(row_id: str, scenario: str, injected: str, caught_by: str, ok: bool, failure: str, invariants: int) -> None:
    report.record_row(
        "faults-integration",
        row_id,
        report.Row(
            scenario=scenario,
            injected=injected,
            caught_by=caught_by,
            outcome="caught" if ok else f"FAILED: {failure}",
            mode=BUDGET.mode,
            command=report.command(),
            invariants=invariants,
            data_lost=0 if ok else 1,
        ),
    )


@dataclass
class World:
    names: dict[str, str]
    p: Ports
    clock: Clock
    key: tuple[str, str]
    sqs: Any

    def submit(self, policy: str, idem: str) -> str:
        body = {
            "incident_date": calendar.today(self.clock.now).isoformat(),
            "incident_type": "return_shipment",
            "amount": "12.00",
            "evidence": {"tracking_number": "SF555666777"},
        }
        status, claim, _ = call("SubmitClaimFunction", path={"number": policy}, body=body, key=self.key, idem=idem)
        assert status == 201, claim
        return str(claim["claim_number"])

    def receive(self) -> list[dict[str, Any]]:
        got = self.sqs.receive_message(
            QueueUrl=self.names["ClaimDecisionQueue"], MaxNumberOfMessages=10, AttributeNames=["All"]
        )
        return list(got.get("Messages") or [])

    def consume(self, messages: list[dict[str, Any]]) -> dict[str, Any]:
        """What the SQS event source does: invoke the consumer, delete what it handled."""
        proto = events.sqs("ClaimDecideFunction", [{}])["Records"][0]
        records = [
            {**proto, "messageId": m["MessageId"], "receiptHandle": m["ReceiptHandle"], "body": m["Body"]}
            | {"attributes": m.get("Attributes", {})}
            for m in messages
        ]
        out = handler_of("ClaimDecideFunction")({"Records": records}, None)
        failed = {f["itemIdentifier"] for f in out.get("batchItemFailures", [])}
        for m in messages:
            if m["MessageId"] not in failed:
                self.sqs.delete_message(QueueUrl=self.names["ClaimDecisionQueue"], ReceiptHandle=m["ReceiptHandle"])
        return dict(out)

    def time_out(self, messages: list[dict[str, Any]]) -> None:
        """The queue's visibility timeout passes: SQS shows the messages again."""
        self.clock.advance(91)
        for m in messages:
            self.sqs.change_message_visibility(
                QueueUrl=self.names["ClaimDecisionQueue"], ReceiptHandle=m["ReceiptHandle"], VisibilityTimeout=0
            )

    def webhook_events(self, claim: str) -> list[webhook_repo.Delivery]:
        """The webhook events recorded for a claim (from its delivery log)."""
        ids = {e.event_id for e in delivery_log(self.p, "claim", claim, limit=200).items}
        return [webhook_events.load(self.p, event_id) for event_id in sorted(ids)]


def _world(aws: dict[str, str], callback_url: str) -> World:
    p = runtime.ports()
    clock = Clock()
    p.clock = clock
    publish_seed_products(p)
    key = channel_with_contracts(p, "shop-a", products=("return-shipping",), callback_url=callback_url)
    return World(aws, p, clock, key, boto3.client("sqs", region_name="us-east-1"))


@pytest.fixture
def world(aws: dict[str, str]) -> World:
    return _world(aws, "http://127.0.0.1:9/hooks")


def _sets_paid(_store: Any, ops: Any) -> bool:
    return any(getattr(o, "sk", None) == "CLAIM" and o.set.get("state") == "paid" for o in ops)


def test_the_decision_dying_after_the_payout_commits_pays_nothing_on_redelivery(world, monkeypatch):
    from petcover.storage.dynamo import DynamoStore

    w = world
    pol = rs_policy(w.p, "k-pay")
    claim = w.submit(pol.number, "k-pay")
    first = w.receive()
    assert len(first) == 1
    crash_after(monkeypatch, DynamoStore, "transact", when=_sets_paid)
    with pytest.raises(Killed):
        w.consume(first)  # the invocation dies: SQS keeps the message
    monkeypatch.undo()
    paid_after_crash = len(payouts(w.p, pol.number))
    hooks_before = [e.event.event_type for e in w.webhook_events(claim)]
    w.time_out(first)
    again = w.receive()
    out = w.consume(again)
    # at-least-once: a copy of the same message comes once more
    third = w.sqs.send_message(QueueUrl=w.names["ClaimDecisionQueue"], MessageBody=first[0]["Body"])
    out3 = w.consume(w.receive())
    got = call("GetClaimFunction", path={"claimNumber": claim}, key=w.key)[1]
    hooks_after = sorted(e.event.event_type for e in w.webhook_events(claim))
    ok = (
        paid_after_crash == 1
        and "claim.paid" not in hooks_before
        and int(again[0]["Attributes"]["ApproximateReceiveCount"]) == 2
        and not out.get("batchItemFailures")
        and not out3.get("batchItemFailures")
        and bool(third.get("MessageId"))
        and len(payouts(w.p, pol.number)) == 1
        and remaining(w.p, pol.number) == 2500 - 1200
        and got["status"] == "paid"
        and hooks_after == ["claim.approved", "claim.assessing", "claim.paid", "claim.submitted"]
    )
    _row(
        "kill-claim-decision",
        "the claim decision step dies right after the payout commits",
        "process killed right after the payout TransactWriteItems (claim paid + ledger entry + counters)",
        "the payout is one transaction conditional on the claim's state and version; SQS redelivers after "
        "the visibility timeout (receive 2, then a duplicate): the claim is no longer queued, nothing moves; "
        "the redelivery queues the claim.paid webhook the dead attempt left in the outbox, once",
        ok,
        f"payouts {len(payouts(w.p, pol.number))}, hooks {hooks_after}, status {got.get('status')}",
        invariants=4,
    )
    assert paid_after_crash == 1 and "claim.paid" not in hooks_before
    assert int(again[0]["Attributes"]["ApproximateReceiveCount"]) == 2
    assert not out.get("batchItemFailures") and not out3.get("batchItemFailures")
    assert len(payouts(w.p, pol.number)) == 1 and remaining(w.p, pol.number) == 2500 - 1200
    assert got["status"] == "paid" and got["decision"]["rule"] == "all_rules_passed"
    assert hooks_after == ["claim.approved", "claim.assessing", "claim.paid", "claim.submitted"]


@pytest.fixture
def receiver(tmp_path: Path) -> Iterator[str]:
    with running_sink(tmp_path) as url:
        yield url


def _deliver_until(w: World, captured: list[tuple[dict[str, Any], int]], done: Any, limit: int = 60) -> int:
    """Play the WebhookQueue with the clock (delays honoured) until ``done()``; returns the deliveries run."""
    deliver = handler_of("WebhookDeliverFunction")
    runs = 0
    while captured and not done() and runs < limit:
        captured.sort(key=lambda c: c[1])
        msg, delay = captured.pop(0)
        for other in captured:  # time passes for the messages still waiting too
            other_delay = max(0, other[1] - delay)
            captured[captured.index(other)] = (other[0], other_delay)
        w.clock.advance(delay)
        out = deliver(events.sqs("WebhookDeliverFunction", [msg]), None)
        assert not out.get("batchItemFailures"), out
        runs += 1
    return runs


def test_the_webhook_receiver_down_leaves_the_payout_standing_and_the_webhook_retries(aws, receiver, monkeypatch):
    from petcover.messaging import AwsPublisher

    w = _world(aws, f"{receiver}/hooks/shop-a")
    sealed = json.loads((w.p.store.get("CHANNEL#shop-a", "CHANNEL") or {})["data"])[WEBHOOK_SECRET]
    secret = w.p.box().open_secret(sealed, webhook_secret_context("shop-a"))
    sink_call(receiver, "/_sink/mode", {"status": 503})
    captured: list[tuple[dict[str, Any], int]] = []
    real_send = AwsPublisher.send

    def send(self: Any, queue: str, bodies: Any, *, delay_seconds: int = 0) -> None:
        if queue == webhook_messages.WEBHOOK_QUEUE:
            captured.extend((dict(b), delay_seconds) for b in bodies)  # we play SQS, with the clock
            return
        real_send(self, queue, bodies, delay_seconds=delay_seconds)

    monkeypatch.setattr(AwsPublisher, "send", send)
    pol = rs_policy(w.p, "down-1")
    claim = w.submit(pol.number, "down-1")
    assert not w.consume(w.receive()).get("batchItemFailures")

    def posts(status: int | None = None) -> list[dict[str, Any]]:
        got = [r for r in sink_call(receiver, "/_sink/requests") if r["path"] == "/hooks/shop-a"]
        return [r for r in got if status is None or r["answered"] == status]

    def paid_attempts() -> int:
        return sum(1 for r in posts(503) if json.loads(r["body"])["event_type"] == "claim.paid")

    _deliver_until(w, captured, lambda: paid_attempts() >= 3)
    refused = posts(503)
    standing = len(payouts(w.p, pol.number)) == 1 and remaining(w.p, pol.number) == 2500 - 1200
    status_while_down = call("GetClaimFunction", path={"claimNumber": claim}, key=w.key)[1].get("status")
    waiting = {e.event.event_type: e.state for e in w.webhook_events(claim)}

    sink_call(receiver, "/_sink/mode", {"status": 200})
    _deliver_until(w, captured, lambda: False, limit=200)
    delivered = [json.loads(r["body"]) for r in posts(200)]
    by_type = sorted(d["event_type"] for d in delivered)
    signed = all(
        signing.verify_webhook(secret, r["headers"], r["body"].encode(), now=int(r["headers"]["X-Pc-Timestamp"]))
        for r in posts()
    )
    paid = next(d for d in delivered if d["event_type"] == "claim.paid")
    final = {e.event.event_type: e.state for e in w.webhook_events(claim)}
    ok = (
        paid_attempts() >= 3
        and standing
        and status_while_down == "paid"
        and waiting.get("claim.paid") == "pending"
        and by_type == ["claim.approved", "claim.assessing", "claim.paid", "claim.submitted"]
        and signed
        and paid["data"]["decision"]["rule"] == "all_rules_passed"
        and set(final.values()) == {"delivered"}
        and len(payouts(w.p, pol.number)) == 1
    )
    _row(
        "claim-webhook-down",
        "the channel's webhook receiver is down when an automatic claim is paid",
        f"loopback receiver answering 503: {len(refused)} refused attempts, claim.paid refused {paid_attempts()} times",
        "the payout committed before any webhook and stands (claim paid, one ledger entry, remaining sum down); "
        "each webhook retries with backoff; once the receiver is back every event is delivered once, signed, "
        "claim.paid with its deciding rule",
        ok,
        f"standing={standing} status={status_while_down} delivered={by_type} final={final}",
        invariants=4,
    )
    assert paid_attempts() >= 3 and standing and status_while_down == "paid"
    assert waiting.get("claim.paid") == "pending", waiting
    assert by_type == ["claim.approved", "claim.assessing", "claim.paid", "claim.submitted"], by_type
    assert signed, "a webhook was not signed with the channel's secret"
    assert paid["data"]["decision"]["rule"] == "all_rules_passed" and paid["data"]["status"] == "paid"
    assert set(final.values()) == {"delivered"}, final
    assert len(payouts(w.p, pol.number)) == 1
