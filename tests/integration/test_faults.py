"""Faults at integration level: handlers in-process against moto, faults injected under the SDK.

- DynamoDB throttling: retried with backoff by the SDK; a 503 with Retry-After and the error body
  only once retries are exhausted; a retry of the same request afterwards issues exactly once.
- A consumer that raises on some messages: partial batch failure, redrive to the DLQ after
  maxReceiveCount, re-run from the DLQ moves nothing twice.
- A handler killed between its state write and its message publish: which mechanism catches it
  (per-row markers and redelivery, quota reconciliation, the transactional outbox's minute sweeper).
- A webhook receiver down for the whole retry window (controlled clock, a real loopback receiver).
Every scenario records one row in bench/results/robustness.md.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest

from petcover import runtime, signing, tokens
from petcover.identity import Principal
from petcover.ports import Ports
from petcover.repositories import policies as policy_repo
from petcover.services import catalog, quota
from petcover.services.fulfilment import assignment, booking, closing, work_orders
from petcover.services.webhooks import dead_letters
from petcover.services.webhooks import events as webhook_events
from petcover.services.webhooks import messages as webhook_messages
from tests.robustness import report
from tests.robustness.config import BUDGET
from tests.robustness.e2e_world import care_spec
from tests.robustness.faults import DynamoFaults, Killed, crash_after, dynamo_faults, fail_on
from tests.support import events
from tests.support.calls import OPS_SECRET, handler_of
from tests.support.clock import Clock
from tests.support.fixtures import STAFF, channel_with_contracts, publish_seed_products

__all__ = ["dynamo_faults"]  # the fixture, imported for pytest

pytestmark = pytest.mark.robustness

CARE = "rb-care"
PET = {"species": "dog", "breed_size": "small", "age_months": 30, "region": "310115"}
ADDRESS = {
    "contact_name": "Li Lei",
    "phone": "+86 138 0000 0000",
    "line": "Room 1, 100 Century Avenue",
    "province": "310000",
    "city": "310100",
    "district": "310115",
}


def _row(
    row_id: str,
    scenario: str,
    injected: str,
    caught_by: str,
    outcome: str,
    *,
    invariants: int = 0,
    data_lost: int = 0,
    known_bug: str = "",
) -> None:
    report.record_row(
        "faults-integration",
        row_id,
        report.Row(
            scenario=scenario,
            injected=injected,
            caught_by=caught_by,
            outcome=outcome,
            mode=BUDGET.mode,
            command=report.command(),
            invariants=invariants,
            data_lost=data_lost,
            known_bug=known_bug,
        ),
    )


@dataclass
class World:
    names: dict[str, str]
    p: Ports
    clock: Clock
    key: tuple[str, str]
    sqs: Any

    def call(
        self,
        function: str,
        *,
        path: dict[str, str] | None = None,
        body: Any = None,
        idem: str | None = None,
        ops: tuple[str, ...] | None = None,
        query: dict[str, str] | None = None,
    ) -> tuple[int, Any, dict[str, str]]:
        headers: dict[str, str] = {}
        if idem:
            headers["Idempotency-Key"] = idem
        if ops is not None:
            tok = tokens.mint(OPS_SECRET, "rita", list(ops), now=int(self.clock().timestamp()))
            headers["Authorization"] = f"Bearer {tok}"
        ev = events.api(function, path_params=path, body=body, headers=headers, query=query)
        if ops is None:
            raw = (ev.get("body") or "").encode()
            ev["headers"].update(
                signing.signed_headers(
                    self.key[0],
                    self.key[1],
                    ev["httpMethod"],
                    ev["path"],
                    query,
                    raw,
                    now=int(self.clock().timestamp()),
                )
            )
        resp = handler_of(function)(ev, None)
        try:
            parsed = json.loads(resp["body"] or "null")
        except ValueError:
            parsed = resp["body"]
        return resp["statusCode"], parsed, resp.get("headers", {})

    def underwrite_body(self, order: str, pet: str) -> dict[str, Any]:
        return {
            "product_code": CARE,
            "plan_code": "basic",
            "insured": {"insured_id": pet, **PET},
            "channel_order_id": order,
            "holder": {"name": "Li Lei"},
        }

    def policy(self, order: str, pet: str) -> str:
        status, body, _ = self.call("UnderwriteFunction", body=self.underwrite_body(order, pet), idem=f"k-{order}")
        assert status == 201, body
        return str(body["number"])

    def url(self, logical: str) -> str:
        return self.names[logical]

    def receive(self, logical: str, max_messages: int = 10) -> list[dict[str, Any]]:
        got = self.sqs.receive_message(
            QueueUrl=self.url(logical),
            MaxNumberOfMessages=max_messages,
            WaitTimeSeconds=0,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        )
        return list(got.get("Messages") or [])

    def scan(self) -> list[dict[str, Any]]:
        ddb = boto3.resource("dynamodb", region_name="us-east-1")
        table = ddb.Table(self.names["MainTable"])
        items: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {}
        while True:
            page = table.scan(**kwargs)
            items.extend(page["Items"])
            if "LastEvaluatedKey" not in page:
                return items
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


@pytest.fixture
def world(aws: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> World:
    from petcover.config import reset_settings

    monkeypatch.setenv("OPS_CHAT_URL", "http://127.0.0.1:9/chat/ops")  # alerts are queued, never posted here
    reset_settings()
    p = runtime.ports()
    clock = Clock()
    p.clock = clock
    publish_seed_products(p)
    catalog.create_product(p, STAFF, care_spec())
    catalog.publish_product(p, STAFF, CARE, None)
    key = channel_with_contracts(p, "shop-a", products=("pet-health", "account-security", CARE))
    return World(aws, p, clock, key, boto3.client("sqs", region_name="us-east-1"))


def _error_body_ok(body: Any) -> bool:
    err = body.get("error") if isinstance(body, dict) else None
    return isinstance(err, dict) and isinstance(err.get("code"), str) and isinstance(err.get("message"), str)


def _policies_for(w: World, order: str) -> int:
    return sum(1 for i in w.scan() if i.get("sk") == "POLICY" and i.get("ref") == order)


# ---------------------------------------------------------------- DynamoDB throttling


def test_throttled_read_is_retried_with_backoff_then_503_with_retry_after(world, dynamo_faults: DynamoFaults):
    number = world.policy("th-read", "pet-th-read")
    dynamo_faults.throttle("Query", table="MainTable")
    status, body, headers = world.call("GetPolicyFunction", path={"number": number})
    attempts = dynamo_faults.injected["Query"]
    ok = (
        status == 503
        and headers.get("Retry-After") == "1"
        and _error_body_ok(body)
        and body["error"]["code"] == "UNAVAILABLE"
        and attempts > 1
        and len(dynamo_faults.sleeps) >= attempts - 1
        and all(s > 0 for s in dynamo_faults.sleeps)
    )
    _row(
        "throttle-read",
        "read throttled on every attempt (GET /policies/{n})",
        "ProvisionedThroughputExceededException on each Query",
        f"SDK retries ({attempts} attempts, backoff {', '.join(f'{s:.2f}' for s in dynamo_faults.sleeps)} s), "
        "then 503 + Retry-After",
        "caught" if ok else f"FAILED: {status} {body} {headers}",
    )
    assert status == 503, body
    assert headers.get("Retry-After") == "1"
    assert _error_body_ok(body) and body["error"]["code"] == "UNAVAILABLE"
    assert attempts > 1, "the SDK did not retry"
    assert len(dynamo_faults.sleeps) >= attempts - 1 and all(s > 0 for s in dynamo_faults.sleeps), "no backoff"


def test_transient_throttle_on_the_write_is_absorbed_by_retries(world, dynamo_faults: DynamoFaults):
    dynamo_faults.throttle("TransactWriteItems", table="MainTable", times=2)
    status, body, _ = world.call("UnderwriteFunction", body=world.underwrite_body("th-2", "pet-th-2"), idem="th-2")
    dynamo_faults.clear()
    n = _policies_for(world, "th-2")
    ok = status == 201 and n == 1 and dynamo_faults.injected["TransactWriteItems"] == 2
    _row(
        "throttle-transient",
        "write throttled twice, then accepted",
        "2 x ProvisionedThroughputExceeded on TransactWriteItems",
        "SDK retries with backoff; the caller sees 201",
        "caught" if ok else f"FAILED: {status} {body}",
        invariants=1,
        data_lost=0 if n == 1 else 1,
    )
    assert status == 201, body
    assert n == 1


def test_exhausted_throttle_on_the_write_is_503_and_the_retry_issues_once(world, dynamo_faults: DynamoFaults):
    dynamo_faults.throttle("TransactWriteItems", table="MainTable")
    req = world.underwrite_body("th-x", "pet-th-x")
    status, body, headers = world.call("UnderwriteFunction", body=req, idem="th-x")
    attempts = dynamo_faults.injected["TransactWriteItems"]
    dynamo_faults.clear()
    before = _policies_for(world, "th-x")
    again, body2, _ = world.call("UnderwriteFunction", body=req, idem="th-x")  # the channel retries, same key
    after = _policies_for(world, "th-x")
    stats = [
        i for i in world.scan() if str(i["pk"]).startswith(f"STAT#shop-a#{CARE}#") and str(i["sk"]).startswith("M#")
    ]
    counted = sum(int(i.get("n", 0)) for i in stats)
    ok = (
        status == 503
        and headers.get("Retry-After") == "1"
        and _error_body_ok(body)
        and attempts > 1
        and before == 0
        and again == 201
        and after == 1
        and counted == 1
    )
    _row(
        "throttle-exhausted",
        "write throttled on every attempt, then the channel retries",
        f"ProvisionedThroughputExceeded on all {attempts} TransactWriteItems attempts",
        "503 + Retry-After + error body; nothing written; the retry with the same Idempotency-Key issues once",
        "caught" if ok else f"FAILED: {status}/{again} policies {before}->{after} stats {counted}",
        invariants=3,
        data_lost=0,
    )
    assert status == 503 and headers.get("Retry-After") == "1", (status, body, headers)
    assert _error_body_ok(body) and body["error"]["code"] == "UNAVAILABLE"
    assert attempts > 1
    assert before == 0, "a refused write left a policy behind"
    assert again == 201, body2
    assert after == 1 and counted == 1


def test_throttled_idempotency_store_is_503_with_retry_after(world, dynamo_faults: DynamoFaults):
    dynamo_faults.throttle("PutItem", table="Idempotency")
    status, body, headers = world.call(
        "UnderwriteFunction", body=world.underwrite_body("th-i", "pet-th-i"), idem="th-i"
    )
    attempts = dynamo_faults.injected["PutItem"]
    ok = status == 503 and headers.get("Retry-After") == "1" and _error_body_ok(body) and attempts > 1
    _row(
        "throttle-idempotency",
        "idempotency store throttled on every attempt",
        f"ProvisionedThroughputExceeded on all {attempts} idempotency PutItem attempts",
        "SDK retries, then 503 + Retry-After",
        "caught" if ok else f"FAILED: {status} {body}",
    )
    assert status == 503 and headers.get("Retry-After") == "1", (status, body, headers)
    assert _error_body_ok(body)
    assert attempts > 1
    assert _policies_for(world, "th-i") == 0


def test_transaction_cancelled_for_throttling_is_503_not_a_conflict(world, dynamo_faults: DynamoFaults):
    """Regression for the suite's finding (a cancelled-for-throttling transaction answered 409), fixed in f5cb1d1."""
    dynamo_faults.cancel_transaction(["None", "ThrottlingError", "None"], table="MainTable")
    status, body, headers = world.call(
        "UnderwriteFunction", body=world.underwrite_body("th-c", "pet-th-c"), idem="th-c"
    )
    ok = status == 503 and headers.get("Retry-After") == "1"
    _row(
        "throttle-cancelled",
        "transaction cancelled by DynamoDB for throttling",
        "TransactionCanceledException, CancellationReasons [None, ThrottlingError, None]",
        "recognised as throttling: 503 + Retry-After + error body, nothing written (409 before f5cb1d1)",
        "caught" if ok else f"FAILED: answered {status} {body['error']['code']}",
    )
    assert status == 503, body
    assert headers.get("Retry-After") == "1"
    assert _error_body_ok(body)
    assert _policies_for(world, "th-c") == 0


# ---------------------------------------------------------------- poison message, DLQ, redrive


def _fulfilled_appointment(w: World, order: str, pet: str) -> tuple[str, str]:
    """(policy, appointment) with the appointment fulfilled through the services, as the API would."""
    number = w.policy(order, pet)
    who = Principal("channel", "shop-a")
    from petcover.models.fulfilment import BookingRequest

    req = BookingRequest.model_validate(
        {"benefit_code": "medicine-delivery", "pet": {"pet_id": pet, "name": "Bobo"}, "address": ADDRESS}
    )
    doc, _, _ = booking.book(w.p, who, number, req)
    assignment.assign(w.p, doc.appointment_id, "clinic-1", {"step": "weighted_random"})
    provider = Principal("provider", "clinic-1")
    work_orders.accept(w.p, provider, doc.appointment_id)
    from petcover.models.fulfilment import ShipRequest

    work_orders.ship(w.p, provider, doc.appointment_id, ShipRequest(carrier="SF", tracking_number="SF12345"))
    closing.confirm_receipt(w.p, who, doc.appointment_id)
    return number, doc.appointment_id


def _drain_quota_messages(w: World) -> None:
    """Fulfilment queued deduction messages on the real queue; this test sends its own."""
    for m in w.receive("QuotaQueue"):
        w.sqs.delete_message(QueueUrl=w.url("QuotaQueue"), ReceiptHandle=m["ReceiptHandle"])


def _consume(w: World, messages: list[dict[str, Any]]) -> dict[str, Any]:
    """What the SQS event source does: one invocation, delete what succeeded, leave the failures."""
    proto = events.sqs("QuotaDeductFunction", [{}])["Records"][0]
    records = [
        {
            **proto,
            "messageId": m["MessageId"],
            "receiptHandle": m["ReceiptHandle"],
            "body": m["Body"],
            "attributes": m.get("Attributes", {}),
            "messageAttributes": {},
        }
        for m in messages
    ]
    from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError

    try:
        out = handler_of("QuotaDeductFunction")({"Records": records}, None)
    except BatchProcessingError:  # every record failed: the invocation fails, SQS retries them all
        out = {"batchItemFailures": [{"itemIdentifier": m["MessageId"]} for m in messages]}
    failed = {f["itemIdentifier"] for f in out.get("batchItemFailures", [])}
    for m in messages:
        if m["MessageId"] in failed:
            # The consumer asked SQS to wait (30 s, 60 s, ...) before the next attempt: time passes.
            w.sqs.change_message_visibility(
                QueueUrl=w.url("QuotaQueue"), ReceiptHandle=m["ReceiptHandle"], VisibilityTimeout=0
            )
        else:
            w.sqs.delete_message(QueueUrl=w.url("QuotaQueue"), ReceiptHandle=m["ReceiptHandle"])
    return out


def _quota(w: World, number: str, benefit: str = "medicine-delivery") -> dict[str, int]:
    item = quota.balance(w.p, number, benefit) or {}
    return {k: int(item.get(k, 0)) for k in ("quota", "used", "held", "available")}


def test_poison_message_partial_batch_dlq_and_rerun_moves_nothing_twice(world):
    w = world
    good_policy, good = _fulfilled_appointment(w, "q-good", "pet-q-good")
    later_policy, later = _fulfilled_appointment(w, "q-later", "pet-q-later")
    _drain_quota_messages(w)
    # `later` looks not fulfilled yet while the poison circulates: its message must fail, then succeed.
    w.p.store.update(f"APPT#{later}", "APPT", set={"state": "fulfilling"})
    bodies = {
        "good": quota.deduction_message(good, good_policy, "medicine-delivery"),
        "missing": quota.deduction_message("AP-DOES-NOT-EXIST", good_policy, "medicine-delivery"),
        "later": quota.deduction_message(later, later_policy, "medicine-delivery"),
    }
    for b in bodies.values():
        w.sqs.send_message(QueueUrl=w.url("QuotaQueue"), MessageBody=json.dumps(b))

    first = _consume(w, w.receive("QuotaQueue"))
    partial = len(first.get("batchItemFailures", [])) == 2
    assert partial, first
    assert _quota(w, good_policy)["used"] == 1

    # Keep failing: every receive counts; past maxReceiveCount (5) SQS moves them to the DLQ.
    receives = 1
    while True:
        msgs = w.receive("QuotaQueue")
        if not msgs:
            break
        receives += 1
        _consume(w, msgs)
        assert receives < 20, "the poison never reached the DLQ"
    dlq = w.receive("QuotaDLQ")
    in_dlq = sorted(json.loads(m["Body"])["appointment_id"] for m in dlq)
    for m in dlq:  # a look, not a consume
        w.sqs.change_message_visibility(
            QueueUrl=w.url("QuotaDLQ"), ReceiptHandle=m["ReceiptHandle"], VisibilityTimeout=0
        )
    alerts = [json.loads(m["Body"]) for m in w.receive("AlertQueue")]
    alerted = any("QuotaDLQ" in json.dumps(a) for a in alerts)

    # The cause is fixed; a copy of the already-deducted message also sits in the DLQ (its delete was lost).
    w.p.store.update(f"APPT#{later}", "APPT", set={"state": "fulfilled"})
    w.sqs.send_message(QueueUrl=w.url("QuotaDLQ"), MessageBody=json.dumps(bodies["good"]))
    status, moved, _ = w.call("QuotaRedriveFunction", ops=("ops",))
    outcomes = []
    while msgs := w.receive("QuotaQueue"):
        outcomes.append(_consume(w, msgs))
    status2, moved2, _ = w.call("QuotaRedriveFunction", ops=("ops",))  # a second re-run
    while msgs := w.receive("QuotaQueue"):
        _consume(w, msgs)

    good_q, later_q = _quota(w, good_policy), _quota(w, later_policy)
    report_ok = (
        quota.reconcile(w.p, policy_number=good_policy).mismatches == []
        and quota.reconcile(w.p, policy_number=later_policy).mismatches == []
    )
    ok = (
        partial
        and in_dlq == sorted(["AP-DOES-NOT-EXIST", later])
        and alerted
        and status == 202
        and moved["moved"] == 3
        and good_q["used"] == 1
        and later_q["used"] == 1
        and report_ok
    )
    _row(
        "poison-quota",
        "consumer raises on 2 of 3 messages (QuotaQueue)",
        "a deduction for a missing appointment and one for an appointment not fulfilled yet",
        f"partial batch failure (1 done, 2 retried); DLQ after {receives} receives; ops alerted on the last "
        "attempt; POST /ops/quota/redrive re-runs the DLQ: the fixed one deducts once, the duplicate of a done "
        "one moves nothing (used stays 1), a second re-run moves nothing twice",
        "caught" if ok else f"FAILED: dlq={in_dlq} alerted={alerted} moved={moved} used={good_q}/{later_q}",
        invariants=4,
        data_lost=0,
    )
    assert in_dlq == sorted(["AP-DOES-NOT-EXIST", later]), in_dlq
    assert alerted, alerts
    assert status == 202 and moved["moved"] == 3, moved
    assert good_q["used"] == 1 and good_q["held"] == 0, good_q
    assert later_q["used"] == 1 and later_q["held"] == 0, later_q
    assert status2 == 202 and moved2["moved"] == 1  # only the poison that can never succeed comes back
    assert report_ok


# ---------------------------------------------------------------- killed between state write and publish


def test_killed_between_fulfilment_and_quota_message_is_caught_by_reconciliation(world, monkeypatch):
    w = world
    from petcover.messaging import AwsPublisher

    killed = fail_on(monkeypatch, AwsPublisher, "send", when=lambda self, queue, *a, **k: queue == quota.QUOTA_QUEUE)
    with pytest.raises(Killed):
        _fulfilled_appointment(w, "k-ful", "pet-k-ful")
    monkeypatch.undo()
    number = next(str(i["ref"]) for i in w.scan() if i.get("sk") == "ORDERREF" and "k-ful" in str(i["pk"]))
    appt = next(i for i in w.scan() if i.get("sk") == "APPT" and json.loads(i["data"])["policy_number"] == number)
    before = _quota(w, number)
    rep = quota.reconcile(w.p, policy_number=number, repair=True)  # what the daily job / ops run
    while msgs := w.receive("QuotaQueue"):
        _consume(w, msgs)
    quota.reconcile(w.p, policy_number=number, repair=True)  # a second run resends nothing more
    while msgs := w.receive("QuotaQueue"):
        _consume(w, msgs)
    after = _quota(w, number)
    ok = (
        killed["killed"] == 1
        and appt["state"] == "fulfilled"
        and before["used"] == 0
        and len(rep.mismatches) == 1
        and rep.resent == 1
        and after["used"] == 1
        and after["held"] == 0
    )
    _row(
        "kill-fulfil",
        "killed after an appointment is fulfilled, before the quota message is sent",
        "process dies at QuotaQueue send",
        "quota reconciliation (daily job, POST /ops/reconciliation repair=true) "
        "finds it fulfilled but not deducted and resends; deduction is idempotent",
        "caught" if ok else f"FAILED: {rep.model_dump_json()[:200]} used {before}->{after}",
        invariants=2,
    )
    assert appt["state"] == "fulfilled"
    assert rep.resent == 1, rep
    assert after["used"] == 1 and after["held"] == 0, after


def test_killed_after_a_bulk_row_commits_the_redelivery_issues_once(world, monkeypatch):
    w = world
    from petcover.services import bulk
    from petcover.storage.dynamo import DynamoStore

    status, started, _ = w.call(
        "BulkStartFunction",
        ops=("service",),
        idem="bulk-k",
        body={
            "channel_id": "shop-a",
            "product_code": "account-security",
            "plan_code": "basic",
            "content": "account_id,holder_name\nacc-k-1,Holder One\n",
        },
    )
    assert status == 202, started
    job = started["job_id"]
    while msgs := w.receive("BulkQueue"):  # the split message; leave the row messages
        for m in msgs:
            body = json.loads(m["Body"])
            if body.get("type") == "split":
                bulk.split(w.p, job)
            w.sqs.delete_message(QueueUrl=w.url("BulkQueue"), ReceiptHandle=m["ReceiptHandle"])
    row = {"account_id": "acc-k-1", "holder_name": "Holder One"}
    crash_after(monkeypatch, DynamoStore, "transact")
    with pytest.raises(Killed):
        bulk.issue_row(w.p, job, 0, row)  # the policy, the row marker and the counter committed; then death
    monkeypatch.undo()
    again = bulk.issue_row(w.p, job, 0, row)  # SQS redelivers the unacknowledged message
    third = bulk.issue_row(w.p, job, 0, row)
    st = bulk.status(w.p, job)
    n = _policies_for(w, f"bulk-{job}-0")
    done = ("already issued", "already recorded")  # refused before or at the transaction: either way, once
    ok = again in done and third in done and n == 1 and st.issued == 1 and st.rejected == 0
    _row(
        "kill-bulk-row",
        "killed after a bulk row's transaction, before the message is acknowledged",
        "process dies right after TransactWriteItems",
        "the per-row marker, order id and counter commit in one "
        f"transaction; SQS redelivers twice: `{again}`, `{third}`; one policy, issued 1, rejected 0",
        "caught" if ok else f"FAILED: {again}/{third} policies {n} issued {st.issued} rejected {st.rejected}",
        invariants=3,
        data_lost=0,
    )
    assert again in done and third in done, (again, third)
    assert n == 1 and st.issued == 1 and st.rejected == 0, st


def _sweep_after_a_minute(w: World) -> dict[str, Any]:
    """What the minute schedule does: the outbox sweeper, once the messages are a minute old."""
    w.clock.now += timedelta(seconds=61)
    return dict(handler_of("OutboxSweepFunction")(events.schedule("OutboxSweepFunction"), None))


def _recording_emit(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, dict[str, Any]]]:
    """EventBridge events published (moto accepts them but runs no rule targets): the test delivers them."""
    from petcover.messaging import AwsPublisher

    seen: list[tuple[str, dict[str, Any]]] = []
    real = AwsPublisher.emit

    def emit(self: Any, detail_type: str, details: Any) -> None:
        real(self, detail_type, details)
        seen.extend((detail_type, dict(d)) for d in details)

    monkeypatch.setattr(AwsPublisher, "emit", emit)
    return seen


def test_killed_between_policy_cancel_and_its_event_the_outbox_sweeper_still_closes_the_appointments(
    world, monkeypatch
):
    w = world
    from petcover.messaging import AwsPublisher
    from petcover.models.fulfilment import BookingRequest

    number = w.policy("k-cancel", "pet-k-cancel")
    req = BookingRequest.model_validate(
        {"benefit_code": "medicine-delivery", "pet": {"pet_id": "pet-k-cancel", "name": "Bobo"}, "address": ADDRESS}
    )
    doc, _, _ = booking.book(w.p, Principal("channel", "shop-a"), number, req)
    killed = fail_on(
        monkeypatch, AwsPublisher, "emit", when=lambda self, detail_type, *a, **k: detail_type == "PolicyCancelled"
    )
    with pytest.raises(Killed):
        w.call("CancelFunction", path={"number": number}, body={"reason": "customer"}, idem="c-1")
    monkeypatch.undo()
    pol = w.p.store.get(*policy_repo.policy_key(number)) or {}
    held_before = _quota(w, number)["held"]
    emitted = _recording_emit(monkeypatch)
    swept = _sweep_after_a_minute(w)
    again = _sweep_after_a_minute(w)  # a second sweep publishes nothing twice
    cancelled = [d for t, d in emitted if t == "PolicyCancelled" and d.get("policy_number") == number]
    for detail in cancelled:  # the EventBridge rule's target, as AWS would invoke it
        handler_of("PolicyCancelledAppointmentsFunction")(
            events.rule("PolicyCancelledAppointmentsFunction", detail), None
        )
    appt = w.p.store.get(f"APPT#{doc.appointment_id}", "APPT") or {}
    after = _quota(w, number)
    ok = (
        killed["killed"] == 1
        and pol.get("state") == "cancelled"
        and len(cancelled) == 1
        and swept.get("sent") == 1
        and again.get("sent") == 0
        and appt.get("state") == "cancelled"
        and held_before == 1
        and after["held"] == 0
    )
    _row(
        "kill-cancel",
        "killed after a policy cancel commits, before PolicyCancelled is emitted",
        "process dies at EventBridge PutEvents",
        "transactional outbox: the event was written with the cancellation; the minute sweeper publishes it "
        f"({swept.get('sent')} sent, then {again.get('sent')}); the open appointment is cancelled and its hold "
        "released",
        "caught" if ok else f"FAILED: swept {swept}/{again}, appointment {appt.get('state')}, held {after['held']}",
        invariants=3,
    )
    assert pol.get("state") == "cancelled"
    assert swept.get("sent") == 1 and again.get("sent") == 0, (swept, again)
    assert len(cancelled) == 1, emitted
    assert appt.get("state") == "cancelled", appt.get("state")
    assert held_before == 1 and after["held"] == 0, after


def test_killed_between_booking_and_dispatch_message_the_outbox_sweeper_still_dispatches(world, monkeypatch):
    w = world
    from petcover.messaging import AwsPublisher

    number = w.policy("k-book", "pet-k-book")
    body = {"benefit_code": "medicine-delivery", "pet": {"pet_id": "pet-k-book", "name": "Bobo"}, "address": ADDRESS}
    fail_on(monkeypatch, AwsPublisher, "send", when=lambda self, queue, *a, **k: queue == "dispatch")
    with pytest.raises(Killed):
        w.call("BookAppointmentFunction", path={"number": number}, body=body, idem="b-1")
    monkeypatch.undo()
    appts = [i for i in w.scan() if i.get("sk") == "APPT" and json.loads(i["data"])["policy_number"] == number]
    swept = _sweep_after_a_minute(w)
    again = _sweep_after_a_minute(w)
    queued = [json.loads(m["Body"]) for m in w.receive("DispatchQueue")]
    ids = sorted(q["appointment_id"] for q in queued)
    hooks = [json.loads(m["Body"])["event_id"] for m in w.receive("WebhookQueue")]
    booked = [i for i in w.scan() if i.get("kind") == "webhook_event" and i.get("ref") == f"appointment#{ids[0]}"]
    # Two messages were left: the dispatch request and the appointment.booked webhook's first delivery.
    ok = (
        len(appts) == 1
        and ids == [appts[0]["ref"]]
        and hooks == [str(booked[0]["pk"]).removeprefix("WEBHOOK#")]
        and swept.get("sent") == 2
        and again.get("sent") == 0
    )
    _row(
        "kill-booking",
        "killed after a booking commits, before the dispatch message is sent",
        "process dies at DispatchQueue send",
        "transactional outbox: the dispatch message and the booked webhook were written with the booking; the "
        "minute sweeper sends each once (a second sweep sends nothing); dispatch is idempotent by appointment",
        "caught" if ok else f"FAILED: appointments {len(appts)}, queued {ids}, swept {swept}/{again}",
        invariants=2,
    )
    assert len(appts) == 1
    assert ids == [appts[0]["ref"]], queued
    assert len(booked) == 1 and hooks == [str(booked[0]["pk"]).removeprefix("WEBHOOK#")], hooks
    assert swept.get("sent") == 2 and again.get("sent") == 0


def test_killed_between_webhook_record_and_its_message_the_outbox_sweeper_still_queues_it(world, monkeypatch):
    w = world
    from petcover.messaging import AwsPublisher

    fail_on(
        monkeypatch, AwsPublisher, "send", when=lambda self, queue, *a, **k: queue == webhook_messages.WEBHOOK_QUEUE
    )
    with pytest.raises(Killed):
        webhook_events.notify(
            w.p,
            channel_id="shop-a",
            object_type="claim",
            object_id="CL-K-1",
            event_type="claim.status_changed",
            payload={"status": "approved"},
        )
    monkeypatch.undo()
    events_ = [i for i in w.scan() if i.get("kind") == "webhook_event" and i.get("ref") == "claim#CL-K-1"]
    swept = _sweep_after_a_minute(w)
    again = _sweep_after_a_minute(w)
    queued = [json.loads(m["Body"]) for m in w.receive("WebhookQueue")]
    event_id = str(events_[0]["pk"]).removeprefix("WEBHOOK#") if events_ else ""
    ok = (
        len(events_) == 1
        and [q.get("event_id") for q in queued] == [event_id]
        and swept.get("sent") == 1
        and again.get("sent") == 0
    )
    _row(
        "kill-webhook",
        "killed after a webhook event is recorded, before its queue message is sent",
        "process dies at WebhookQueue send",
        "transactional outbox: the first delivery message was written with the event; the minute sweeper "
        "queues it once; delivery claims each attempt, so a duplicate posts once",
        "caught" if ok else f"FAILED: events {len(events_)}, queued {queued}, swept {swept}/{again}",
        invariants=2,
    )
    assert len(events_) == 1
    assert [q.get("event_id") for q in queued] == [event_id], queued
    assert swept.get("sent") == 1 and again.get("sent") == 0


# ---------------------------------------------------------------- webhook receiver down for the whole window


@pytest.fixture
def receiver(tmp_path: Path) -> Iterator[Any]:
    """A real HTTP receiver on loopback (the local cloud's sink), answering 503 until told otherwise."""
    from infra.localcloud import free_port
    from infra.sink import serve

    port = free_port()
    server = serve(port, tmp_path / "sink.jsonl")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    server.url = f"http://127.0.0.1:{port}"  # type: ignore[attr-defined]
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def _sink(url: str, path: str, body: Any = None) -> Any:
    import urllib.request

    req = urllib.request.Request(
        url + path,
        data=json.dumps(body).encode() if body is not None else None,
        method="POST" if body is not None else "GET",
    )
    with urllib.request.urlopen(req, timeout=5) as r:
        return json.loads(r.read())


def test_webhook_receiver_down_for_the_whole_window_goes_to_the_dlq_then_redrive_delivers_once(
    aws, receiver, monkeypatch
):
    from petcover.messaging import AwsPublisher

    p = runtime.ports()
    clock = Clock()
    p.clock = clock
    publish_seed_products(p)
    channel_with_contracts(p, "shop-w", callback_url=f"{receiver.url}/hooks/shop-w")
    stored = json.loads((p.store.get("CHANNEL#shop-w", "CHANNEL") or {})["data"])
    secret = p.box().open_secret(stored["webhook_secret_sealed"], {"purpose": "webhook-secret", "channel": "shop-w"})
    _sink(receiver.url, "/_sink/mode", {"status": 503})
    captured: list[tuple[dict[str, Any], int]] = []
    real_send = AwsPublisher.send

    def send(self: Any, queue: str, bodies: Any, *, delay_seconds: int = 0) -> None:
        if queue == webhook_messages.WEBHOOK_QUEUE:
            captured.extend((dict(b), delay_seconds) for b in bodies)  # we play SQS, with the clock
            return
        real_send(self, queue, bodies, delay_seconds=delay_seconds)

    monkeypatch.setattr(AwsPublisher, "send", send)
    event_id = webhook_events.notify(
        p,
        channel_id="shop-w",
        object_type="claim",
        object_id="CL-W-1",
        event_type="claim.status_changed",
        payload={"status": "approved"},
    )
    deliver = handler_of("WebhookDeliverFunction")
    start = clock.now
    outcomes: list[str] = []
    waits: list[float] = []
    while captured and len(outcomes) < 200:
        msg, delay = captured.pop(0)
        due = datetime.fromtimestamp(msg["not_before"], UTC) if msg.get("not_before") else clock.now
        before = clock.now
        clock.now = max(clock.now + timedelta(seconds=delay), due)
        if msg.get("attempt", 1) > 1:
            waits.append((clock.now - before).total_seconds())
        out = deliver(events.sqs("WebhookDeliverFunction", [msg]), None)
        assert not out.get("batchItemFailures"), out
        _, state = webhook_events.event(p, event_id)
        outcomes.append(state)
    window = (clock.now - start).total_seconds() / 3600
    posts = _sink(receiver.url, "/_sink/requests")
    attempts = [r for r in posts if r["path"] == "/hooks/shop-w"]
    signed_ok = all(
        signing.verify_webhook(secret, r["headers"], r["body"].encode(), now=int(r["headers"]["X-Pc-Timestamp"]))
        for r in attempts
    )
    dlq = [
        json.loads(m["Body"])
        for m in boto3.client("sqs", region_name="us-east-1")
        .receive_message(QueueUrl=aws["WebhookDLQ"], MaxNumberOfMessages=10)
        .get("Messages", [])
    ]
    _, state = webhook_events.event(p, event_id)
    dead_listed = [d.event_id for d in dead_letters.listing(p).items]

    # The receiver is fixed; ops redrive the dead letters twice: one delivery, not two.
    _sink(receiver.url, "/_sink/mode", {"status": 200})
    first = dead_letters.redrive(p, Principal("ops", "rita", ("ops",)))
    second = dead_letters.redrive(p, Principal("ops", "rita", ("ops",)))
    while captured:
        msg, _ = captured.pop(0)
        deliver(events.sqs("WebhookDeliverFunction", [msg]), None)
    _, final = webhook_events.event(p, event_id)
    delivered = [
        r for r in _sink(receiver.url, "/_sink/requests") if r["path"] == "/hooks/shop-w" and r["answered"] == 200
    ]
    ok = (
        state == "dead"
        and window >= 24
        and len(dlq) == 1
        and dlq[0]["event_id"] == event_id
        and event_id in dead_listed
        and signed_ok
        and first.requeued == 1
        and second.requeued == 0
        and final == "delivered"
        and len(delivered) == 1
    )
    _row(
        "webhook-down",
        "webhook receiver answers 503 for the whole retry window",
        f"loopback receiver in 503 mode; the clock advanced {window:.1f} h through {len(attempts)} attempts",
        f"backoff {int(waits[0]) if waits else 0} s doubling to {int(max(waits)) if waits else 0} s, every attempt "
        "signed afresh; after 24 h the event is dead: a copy in the webhook DLQ, listed in "
        "GET /ops/webhooks/dead-letters; redrive delivers it once, a second redrive moves nothing",
        "caught"
        if ok
        else f"FAILED: state={state} window={window:.1f}h dlq={len(dlq)} redrive="
        f"{first.requeued}/{second.requeued} final={final} delivered={len(delivered)}",
        invariants=4,
        data_lost=0 if state in ("dead", "delivered") else 1,
    )
    assert state == "dead", outcomes[-3:]
    assert window >= BUDGET_WEBHOOK_HOURS, window
    assert len(attempts) >= 20, len(attempts)
    assert all(r["answered"] == 503 for r in attempts)
    assert signed_ok, "an attempt was not signed with the channel's webhook secret"
    assert waits[0] >= 30 and max(waits) <= 3600 * 1.1 + 1
    assert len(dlq) == 1 and dlq[0]["event_id"] == event_id, dlq
    assert event_id in dead_listed
    assert first.requeued == 1 and second.requeued == 0
    assert final == "delivered" and len(delivered) == 1


BUDGET_WEBHOOK_HOURS = 24
_ = time  # keep the import for readers running the file directly
