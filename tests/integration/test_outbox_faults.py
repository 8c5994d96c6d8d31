"""Nothing best-effort after a commit: the process dies between a commit and its first publish.

For every kind of message a change announces (the appointment webhooks booked, dispatched,
accepted, shipped, checked-in, fulfilled and cancelled, the timeline nodes the SLA check reads,
the quota deduction request, the audit record of an ops change) the change is made through its
handler in-process against moto and the process is killed at its first publish (or right after
its transaction). Then the minute sweeper runs twice: every message is out exactly once, under
the correlation id of the request that wrote it, and the consumers move nothing twice.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import boto3
import pytest

from petcover import runtime, signing, tokens
from petcover.identity import Principal
from petcover.messaging import AwsPublisher
from petcover.observability import set_correlation_id
from petcover.ports import Ports
from petcover.repositories import appointments as records
from petcover.repositories import outbox as outbox_repo
from petcover.services import audit, credentials, quota, timeline
from petcover.services.fulfilment import assignment, ownership, views
from petcover.services.webhooks import log as webhook_log
from petcover.storage.dynamo import DynamoStore
from tests.robustness.faults import Killed, crash_after, fail_on
from tests.support import events
from tests.support.calls import OPS_SECRET, handler_of
from tests.support.clock import Clock
from tests.support.fixtures import catalogue
from tests.support.policies import issue_policy
from tests.support.providers import provider_account

ADDRESS = {
    "contact_name": "Li Lei",
    "phone": "+86 138 0000 0000",
    "line": "Room 1, 100 Century Avenue",
    "province": "310000",
    "city": "310100",
    "district": "310115",
}
SHOP = Principal("channel", "shop-a")
ONLINE = {"benefit_code": "medicine-delivery", "pet": {"pet_id": "pet-1", "name": "Bobo"}, "address": ADDRESS}


@dataclass
class World:
    p: Ports
    clock: Clock
    names: dict[str, str]
    shop: tuple[str, str]
    clinic: tuple[str, str]
    number: str
    sqs: Any

    def call(
        self,
        function: str,
        *,
        path: dict[str, str] | None = None,
        body: Any = None,
        key: tuple[str, str] | None = None,
        ops: tuple[str, ...] | None = None,
        idem: str | None = None,
        cid: str | None = None,
    ) -> tuple[int, Any]:
        headers = {"X-Correlation-Id": cid} if cid else {}
        if idem:
            headers["Idempotency-Key"] = idem
        if ops is not None:
            token = tokens.mint(OPS_SECRET, "rita", list(ops), now=int(self.clock().timestamp()))
            headers["Authorization"] = f"Bearer {token}"
        ev = events.api(function, path_params=path, body=body, headers=headers)
        if key is not None:
            raw = (ev.get("body") or "").encode()
            now = int(self.clock().timestamp())
            ev["headers"].update(signing.signed_headers(*key, ev["httpMethod"], ev["path"], None, raw, now=now))
        resp = handler_of(function)(ev, None)
        return resp["statusCode"], json.loads(resp["body"] or "null")

    def take(self, logical: str) -> list[tuple[dict[str, Any], str | None]]:
        """Every message on the queue (body, correlation id attribute), removed from it."""
        out = []
        while True:
            got = self.sqs.receive_message(
                QueueUrl=self.names[logical], MaxNumberOfMessages=10, MessageAttributeNames=["All"]
            )
            msgs = got.get("Messages") or []
            if not msgs:
                return out
            for m in msgs:
                cid = (m.get("MessageAttributes") or {}).get("correlation_id", {}).get("StringValue")
                out.append((json.loads(m["Body"]), cid))
                self.sqs.delete_message(QueueUrl=self.names[logical], ReceiptHandle=m["ReceiptHandle"])

    def drain(self) -> None:
        for logical in ("DispatchQueue", "WebhookQueue", "QuotaQueue"):
            self.take(logical)

    def sweep(self) -> dict[str, Any]:
        """The minute schedule: the sweeper, once the messages are a minute old."""
        self.clock.advance(seconds=61)
        return dict(handler_of("OutboxSweepFunction")(events.schedule("OutboxSweepFunction"), None))

    def pending(self) -> int:
        return len(outbox_repo.pending(self.p.store, limit=500 * outbox_repo.PENDING_SHARDS))


@pytest.fixture
def world(aws: dict[str, str]) -> World:
    p = runtime.ports()
    clock = Clock()
    p.clock = clock
    now = clock.now
    clock.now = now - timedelta(days=60)
    keys = catalogue(p, ("shop-a",))
    clock.now = now
    provider_account(p, "clinic-a")
    clinic = credentials.issue(p, "provider", "clinic-a")
    number = issue_policy(p, clock)
    sqs = boto3.client("sqs", region_name="us-east-1")
    return World(p, clock, aws, keys["shop-a"], (clinic.key_id, clinic.secret), number, sqs)


# ---------------------------------------------------------------- the steps of an appointment


def book(w: World, cid: str | None = None, body: dict[str, Any] | None = None) -> tuple[int, Any]:
    return w.call(
        "BookAppointmentFunction", path={"number": w.number}, body=body or ONLINE, key=w.shop, idem="b-1", cid=cid
    )


def dispatch(w: World, aid: str, cid: str | None = None) -> tuple[int, Any]:
    set_correlation_id(cid)  # the dispatch consumer runs under the message's correlation id
    assignment.assign(w.p, aid, "clinic-a", {"step": "share", "reason": "test"})
    return 200, None


def work(action: str, body: Callable[[World, str], Any] | None = None) -> Callable[..., tuple[int, Any]]:
    function = {
        "accept": "AcceptWorkOrderFunction",
        "ship": "ShipWorkOrderFunction",
        "confirm-time": "ConfirmWorkOrderTimeFunction",
        "check-in": "CheckInWorkOrderFunction",
    }[action]

    def step(w: World, aid: str, cid: str | None = None) -> tuple[int, Any]:
        data = body(w, aid) if body else None
        return w.call(function, path={"appointmentId": aid}, body=data, key=w.clinic, cid=cid)

    return step


def receipt(w: World, aid: str, cid: str | None = None) -> tuple[int, Any]:
    return w.call("ConfirmReceiptFunction", path={"appointmentId": aid}, key=w.shop, cid=cid)


def cancel(w: World, aid: str, cid: str | None = None) -> tuple[int, Any]:
    body = {"reason": "plans changed"}
    return w.call("CancelAppointmentFunction", path={"appointmentId": aid}, body=body, key=w.shop, idem="c-1", cid=cid)


accept = work("accept")
ship = work("ship", lambda w, aid: {"carrier": "SF", "tracking_number": "SF12345"})
confirm_time = work("confirm-time", lambda w, aid: {"appointment_time": (w.clock.now + timedelta(days=1)).isoformat()})
check_in = work("check-in", lambda w, aid: {"code": views.get_for_channel(w.p, SHOP, aid).checkin.code})  # type: ignore[union-attr]


def offline(w: World) -> dict[str, Any]:
    when = (w.clock.now + timedelta(days=2)).isoformat()
    return {**ONLINE, "benefit_code": "annual-checkup", "preferred_time": when}


def booked(w: World, offline_service: bool = False) -> str:
    status, out = book(w, body=offline(w) if offline_service else None)
    assert status == 201, out
    return str(out["appointment_id"])


Step = Callable[..., tuple[int, Any]]
# kind: (prepare the appointment, the step killed after its commit, webhook event, timeline node, state after)
KINDS: dict[str, tuple[Callable[[World], str | None], Step, str, str | None, str]] = {
    "booked": (lambda w: None, lambda w, aid, cid: book(w, cid), "appointment.booked", None, "pending"),
    "dispatched": (booked, dispatch, "appointment.assigned", "assigned", "booking"),
    "accepted": (lambda w: _after(w, booked(w), dispatch), accept, "appointment.accepted", "accepted", "booked"),
    "shipped": (lambda w: _after(w, booked(w), dispatch, accept), ship, "appointment.shipped", "shipped", "fulfilling"),
    "checked-in": (
        lambda w: _after(w, booked(w, True), dispatch, accept, confirm_time),
        check_in,
        "appointment.served",
        "served",
        "fulfilling",
    ),
    "fulfilled": (
        lambda w: _after(w, booked(w), dispatch, accept, ship),
        receipt,
        "appointment.fulfilled",
        "completed",
        "fulfilled",
    ),
    "cancelled": (
        lambda w: _after(w, booked(w), dispatch, accept),
        cancel,
        "appointment.cancelled",
        "cancelled",
        "cancelled",
    ),
}


def _after(w: World, aid: str, *steps: Step) -> str:
    for step in steps:
        status, out = step(w, aid)
        assert status == 200, out
        w.clock.advance(seconds=30)
    return aid


def _appointment_of(w: World) -> str:
    items = records.policy_appointments_page(w.p, w.number, limit=10, cursor=None).items
    assert len(items) == 1, items
    return records.appointment_from_item(items[0]).appointment_id


def _queued(w: World, aid: str, event_type: str) -> list[str]:
    entries = webhook_log.delivery_log(w.p, "appointment", aid, limit=100).items
    return [e.event_id for e in entries if e.event_type == event_type and e.status == "queued"]


@pytest.mark.parametrize("kind", list(KINDS))
def test_killed_between_commit_and_publish_the_sweeper_sends_each_message_once(world: World, kind: str) -> None:
    w = world
    prepare, step, event_type, node, state = KINDS[kind]
    aid = prepare(w)
    w.drain()
    cid = f"cid-{kind}"
    with pytest.MonkeyPatch.context() as mp:
        killed = fail_on(mp, AwsPublisher, "send", when=lambda *a, **k: True)  # dies at its first publish
        with pytest.raises(Killed):
            step(w, aid, cid)
    assert killed["killed"] == 1
    aid = aid or _appointment_of(w)

    # The change and everything it announces committed together; nothing was published.
    assert ownership.load(w.p, aid).status == state
    hooks = _queued(w, aid, event_type)
    assert len(hooks) == 1, hooks
    if node is not None:
        assert [n.node for n in timeline.nodes(w.p, aid)].count(node) == 1
    assert w.take("WebhookQueue") == [] and w.pending() >= 1

    first, second = w.sweep(), w.sweep()
    assert second == {"sent": 0} and w.pending() == 0
    delivered = w.take("WebhookQueue")
    assert [(m["event_id"], c) for m, c in delivered] == [(hooks[0], cid)]  # once, under the writer's id
    sent = 1
    if kind == "booked":
        assert [(m["appointment_id"], c) for m, c in w.take("DispatchQueue")] == [(aid, cid)]
        sent += 1
    if kind == "fulfilled":
        sent += _deducted_once(w, aid, cid)
    assert first == {"sent": sent}
    if node is not None:  # the sweep wrote no node again
        assert [n.node for n in timeline.nodes(w.p, aid)].count(node) == 1


def _deducted_once(w: World, aid: str, cid: str) -> int:
    """The deduction request went out once; consumed twice (SQS may deliver twice) it deducts once."""
    messages = w.take("QuotaQueue")
    assert [(m["appointment_id"], c) for m, c in messages] == [(aid, cid)]
    body = messages[0][0]
    for _ in range(2):
        out = handler_of("QuotaDeductFunction")(events.sqs("QuotaDeductFunction", [body]), None)
        assert not out.get("batchItemFailures"), out
    q = quota.balance(w.p, w.number, "medicine-delivery") or {}
    assert (int(q["used"]), int(q["held"])) == (1, 0), q
    assert quota.reconcile(w.p, policy_number=w.number).mismatches == []
    return 1


def test_killed_after_publishing_but_before_the_delete_the_duplicate_moves_nothing_twice(world: World) -> None:
    """The other side of the window: published, then dead before the outbox item went. The sweeper
    publishes it again (at least once); the consumer's business key makes the second one a no-op."""
    w = world
    aid = _after(w, booked(w), dispatch, accept, ship)
    w.drain()
    with pytest.MonkeyPatch.context() as mp:
        crash_after(mp, AwsPublisher, "send", when=lambda self, queue, *a, **k: queue == quota.QUOTA_QUEUE)
        with pytest.raises(Killed):
            receipt(w, aid)
    assert w.sweep()["sent"] >= 1 and w.sweep() == {"sent": 0}
    messages = [m for m, _ in w.take("QuotaQueue")]
    assert [m["appointment_id"] for m in messages] == [aid, aid]  # the release's copy and the sweeper's
    outcomes = [quota.deduct(w.p, m) for m in messages]
    assert outcomes == ["deducted", "duplicate"]
    q = quota.balance(w.p, w.number, "medicine-delivery") or {}
    assert (int(q["used"]), int(q["held"])) == (1, 0)


# ---------------------------------------------------------------- the audit record of an ops change


def _replay(w: World) -> tuple[str, dict[str, Any], str]:
    aid = booked(w)
    w.drain()
    return "WebhookReplayFunction", {"ref": _queued(w, aid, "appointment.booked")[0]}, "webhook_event"


OPS_CHANGES: dict[str, Callable[[World], tuple[str, dict[str, Any], str]]] = {
    "close channel": lambda w: ("CloseChannelFunction", {"channelId": "shop-a"}, "channel"),
    "issue channel key": lambda w: ("IssueChannelKeyFunction", {"channelId": "shop-a"}, "channel"),
    "replay webhook": _replay,
}
# Closing needs a reason; the other changes take no body.
REASONS = {"CloseChannelFunction": {"reason": "the shop stopped trading"}}


@pytest.mark.parametrize("change", list(OPS_CHANGES))
def test_an_ops_change_killed_after_its_commit_keeps_its_audit_record(world: World, change: str) -> None:
    w = world
    function, path, entity_type = OPS_CHANGES[change](w)
    entity_id = next(iter(path.values()))
    before = len(audit.by_entity(w.p, entity_type, entity_id))
    with pytest.MonkeyPatch.context() as mp:
        crash_after(mp, DynamoStore, "transact")  # the change committed, then the process died
        with pytest.raises(Killed):
            w.call(function, path=path, body=REASONS.get(function), ops=("admin",), cid=f"cid-{change}")
    records = audit.by_entity(w.p, entity_type, entity_id)
    assert len(records) == before + 1, records  # written with the change, in its transaction
    assert records[0].actor == "ops:rita"
    swept = w.sweep()
    assert len(audit.by_entity(w.p, entity_type, entity_id)) == before + 1  # not twice
    if change == "replay webhook":  # its delivery message was in the same transaction: swept once
        assert swept == {"sent": 1}
        assert [(m["event_id"], m["run"], c) for m, c in w.take("WebhookQueue")] == [(entity_id, 2, f"cid-{change}")]
    assert w.sweep() == {"sent": 0}
