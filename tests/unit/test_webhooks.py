"""Webhooks service with fake_ports: versions, signing, retries, the 24 h window, pause, replay."""

from __future__ import annotations

import heapq
import itertools
import json
import re
import socket
import threading
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from petcover import signing
from petcover.config import reset_settings
from petcover.errors import IllegalTransition, NotFound
from petcover.identity import Principal
from petcover.ports import Ports
from petcover.repositories import catalog as channel_keys
from petcover.repositories import partners as keys
from petcover.repositories import webhooks as webhook_keys
from petcover.services import audit
from petcover.services.alerts import HttpResult, http_post
from petcover.services.webhooks import dead_letters, delivery, endpoints, events, messages, requeue
from petcover.services.webhooks import log as webhook_log
from tests.support.clock import Clock

T0 = datetime(2026, 11, 22, 2, 0, tzinfo=UTC)
SECRET = "whsec-test-0123456789"
OPS = Principal("ops", "alice", ("ops",))
DOCS = Path(__file__).resolve().parents[2] / "docs" / "webhooks.md"


class Receiver:
    """An injected sender: answers ``status`` and records every POST with the clock time."""

    def __init__(self, clock: Clock, status: int = 200) -> None:
        self.clock = clock
        self.status = status
        self.posts: list[dict[str, Any]] = []

    def __call__(self, url: str, body: bytes, headers: Mapping[str, str], timeout: float) -> HttpResult:
        self.posts.append({"url": url, "body": body, "headers": dict(headers), "at": self.clock()})
        self.clock.advance(0.012)  # the POST takes 12 ms
        status = self.status
        return HttpResult(status, 12, None if 200 <= status < 300 else f"HTTP {status}")

    def event_ids(self) -> list[str]:
        return [json.loads(x["body"])["event_id"] for x in self.posts]


@pytest.fixture
def clock(fake_ports: Ports) -> Clock:
    c = Clock(T0)
    fake_ports.clock = c
    return c


@pytest.fixture
def settings_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., None]]:
    def set_env(**values: str) -> None:
        for k, v in values.items():
            monkeypatch.setenv(k, v)
        reset_settings()

    reset_settings()
    yield set_env
    monkeypatch.undo()
    reset_settings()


@pytest.fixture
def ops_chat(settings_env: Callable[..., None]) -> None:
    settings_env(OPS_CHAT_URL="https://hooks.slack.example/services/T0/B0/x")


def add_channel(p: Ports, channel_id: str = "ch1", url: str = "https://partner.example/hook", **extra: Any) -> None:
    pk, sk = keys.channel(channel_id)
    sealed = p.box().seal_secret(SECRET, channel_keys.webhook_secret_context(channel_id))
    data = {"id": channel_id, "callback_url": url, channel_keys.WEBHOOK_SECRET: sealed}
    p.store.put({"pk": pk, "sk": sk, "kind": "channel", "state": "active", "data": json.dumps({**data, **extra})})


def notify(p: Ports, object_id: str = "C1", status: str = "submitted", channel_id: str = "ch1") -> str:
    return events.notify(
        p,
        channel_id=channel_id,
        object_type="claim",
        object_id=object_id,
        event_type="claim.status_changed",
        payload={"status": status},
    )


def take(p: Ports, queue: str = "webhook") -> list[dict[str, Any]]:
    return p.publisher.drain(queue)  # type: ignore[attr-defined,no-any-return]


def body_of(message: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in message.items() if not k.startswith("_")}


def pump(p: Ports, clock: Clock, send: Any, *, max_steps: int = 5000) -> list[str]:
    """Play the webhook queue like SQS would: each message becomes visible after its delay."""
    heap: list[tuple[datetime, int, dict[str, Any]]] = []
    seq = 0

    def collect() -> None:
        nonlocal seq
        for m in take(p):
            seq += 1
            heapq.heappush(heap, (clock() + timedelta(seconds=m["_delay"]), seq, body_of(m)))

    collect()
    outcomes: list[str] = []
    for _ in range(max_steps):
        if not heap:
            return outcomes
        visible_at, _, msg = heapq.heappop(heap)
        clock.now = max(clock(), visible_at) + timedelta(milliseconds=1)  # queue latency
        outcomes.append(delivery.handle_message(p, msg, send=send))
        collect()
    raise AssertionError("webhook queue did not drain")


def state_of(p: Ports, event_id: str) -> str:
    return events.event(p, event_id)[1]


# ---------------------------------------------------------------- schedule and versions


def test_backoff_doubles_from_30_seconds_and_caps_at_one_hour() -> None:
    assert [delivery.backoff_seconds(n) for n in range(1, 10)] == [30, 60, 120, 240, 480, 960, 1920, 3600, 3600]
    assert delivery.backoff_seconds(500) == 3600
    assert delivery.retry_delay(3, rng=lambda: 0.0) == 120
    assert 120 <= delivery.retry_delay(3, rng=lambda: 0.999) <= 132  # jitter only adds, at most 10 %


def test_notify_records_the_event_and_a_queued_log_entry_then_queues_one_message(fake_ports, clock) -> None:
    event_id = notify(fake_ports, status="submitted")
    event, state = events.event(fake_ports, event_id)
    assert state == "pending"
    assert (event.object_type, event.object_id, event.version) == ("claim", "C1", 1)
    assert event.data == {"status": "submitted"}
    assert event.occurred_at == "2026-11-22T02:00:00.000000Z"
    [msg] = take(fake_ports)
    assert body_of(msg) | {"window_start": 0} == {
        "kind": "deliver",
        "event_id": event_id,
        "channel_id": "ch1",
        "run": 1,
        "attempt": 1,
        "window_start": 0,
        "not_before": None,
    }
    assert msg["window_start"] == T0.timestamp()
    log = webhook_log.delivery_log(fake_ports, "claim", "C1").items
    assert [(e.status, e.event_id, e.version) for e in log] == [("queued", event_id, 1)]


def test_versions_only_grow_per_object_even_under_concurrent_notifies(fake_ports, clock) -> None:
    ids: list[str] = []
    lock = threading.Lock()

    def burst() -> None:
        for _ in range(10):
            eid = notify(fake_ports, "C1")
            with lock:
                ids.append(eid)

    threads = [threading.Thread(target=burst) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    versions = sorted(events.event(fake_ports, eid)[0].version for eid in ids)
    assert versions == list(range(1, 81))  # no version given twice, none skipped
    # Sequential calls are strictly increasing; another object has its own sequence.
    a = events.event(fake_ports, notify(fake_ports, "C1"))[0].version
    b = events.event(fake_ports, notify(fake_ports, "C1"))[0].version
    assert 80 < a < b
    assert events.event(fake_ports, notify(fake_ports, "C2"))[0].version == 1


def test_notify_refuses_bad_input(fake_ports, clock) -> None:
    with pytest.raises(ValueError):
        events.notify(fake_ports, channel_id="ch1", object_type="Claim#", object_id="C1", event_type="x", payload={})
    with pytest.raises(ValueError):
        events.notify(
            fake_ports,
            channel_id="ch1",
            object_type="claim",
            object_id="C1",
            event_type="claim.status_changed",
            payload={"blob": "x" * 70_000},
        )


# ---------------------------------------------------------------- a delivery over real HTTP


def test_delivery_posts_the_stored_body_signed_over_loopback_and_logs_code_and_latency(
    fake_ports, clock, tmp_path
) -> None:
    from infra import sink

    server = sink.serve(0, tmp_path / "sink.jsonl")
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        port = server.server_address[1]
        add_channel(fake_ports, url=f"http://127.0.0.1:{port}/hooks/petcover")
        event_id = notify(fake_ports, status="approved")
        [msg] = take(fake_ports)
        assert delivery.handle_message(fake_ports, body_of(msg)) == "delivered"
    finally:
        server.shutdown()
        server.server_close()

    [req] = [json.loads(line) for line in (tmp_path / "sink.jsonl").read_text().splitlines()]
    body = req["body"].encode()
    assert req["path"] == "/hooks/petcover"
    assert json.loads(body)["event_id"] == event_id
    assert signing.verify_webhook(SECRET, req["headers"], body, now=int(T0.timestamp()))
    assert not signing.verify_webhook("another-secret", req["headers"], body, now=int(T0.timestamp()))
    assert req["headers"]["X-Pc-Event-Type"] == "claim.status_changed"
    assert state_of(fake_ports, event_id) == "delivered"
    delivered = [e for e in webhook_log.delivery_log(fake_ports, "claim", "C1").items if e.status == "delivered"]
    assert len(delivered) == 1
    assert delivered[0].status_code == 200 and delivered[0].attempt == 1
    assert isinstance(delivered[0].latency_ms, int) and delivered[0].latency_ms >= 0


def test_docs_snippet_verifies_our_signature() -> None:
    code = re.search(r"```python\n(import hashlib.*?)```", DOCS.read_text(), re.S)
    assert code, "the verification snippet is missing from docs/webhooks.md"
    scope: dict[str, Any] = {}
    exec(code.group(1), scope)
    verify = scope["verify"]
    body = b'{"event_id":"evt_1","version":3}'
    now = int(datetime.now(UTC).timestamp())
    headers = signing.webhook_headers([SECRET], body, event_id="evt_1", now=now)
    assert verify(SECRET, headers, body) is True
    assert verify(SECRET, headers, body + b" ") is False
    assert verify(SECRET, {**headers, "X-Pc-Event-Id": "evt_2"}, body) is False
    old = signing.webhook_headers([SECRET], body, event_id="evt_1", now=now - 3600)
    assert verify(SECRET, old, body) is False
    # during a rotation's overlap: two signatures, and a receiver holding either secret (or both) verifies
    rotating = signing.webhook_headers(["whsec-new-9876543210", SECRET], body, event_id="evt_1", now=now)
    assert verify(SECRET, rotating, body) is True
    assert verify("whsec-new-9876543210", rotating, body) is True
    assert verify(["whsec-new-9876543210", SECRET], rotating, body) is True
    assert verify(["not-ours-00000000000"], rotating, body) is False


# ---------------------------------------------------------------- idempotency


def test_the_same_message_twice_posts_once(fake_ports, clock) -> None:
    add_channel(fake_ports)
    receiver = Receiver(clock)
    event_id = notify(fake_ports)
    [msg] = take(fake_ports)
    assert delivery.handle_message(fake_ports, body_of(msg), send=receiver) == "delivered"
    assert delivery.handle_message(fake_ports, body_of(msg), send=receiver) == "already delivered"
    clock.advance(3600)
    assert delivery.handle_message(fake_ports, body_of(msg), send=receiver) == "already delivered"
    assert receiver.event_ids() == [event_id]


def test_a_delivery_reads_once_and_writes_its_outcome_in_one_transaction(fake_ports, clock) -> None:
    add_channel(fake_ports)
    receiver = Receiver(clock, status=204)
    endpoints.count_failure(fake_ports, "ch1", clock())  # an event before this one died
    assert endpoints.status(fake_ports, "ch1").consecutive_failures == 1
    event_id = notify(fake_ports, "C1")
    [msg] = take(fake_ports)
    fake_ports.store.calls.clear()  # type: ignore[attr-defined]

    assert delivery.handle_message(fake_ports, body_of(msg), send=receiver) == "delivered"

    # the event, its channel and the endpoint read together; the claim; then one transaction marks
    # the event delivered, closes the attempt and resets the endpoint's failures
    assert fake_ports.store.calls == {"get_many": 1, "put": 1, "transact": 1}  # type: ignore[attr-defined]
    assert state_of(fake_ports, event_id) == "delivered"
    assert endpoints.status(fake_ports, "ch1").consecutive_failures == 0
    [entry] = [e for e in webhook_log.delivery_log(fake_ports, "claim", "C1").items if e.status == "delivered"]
    assert (entry.run, entry.attempt, entry.status_code) == (1, 1, 204)


def test_a_run_started_while_posting_keeps_its_state_and_the_attempt_still_closes(fake_ports, clock) -> None:
    add_channel(fake_ports)
    event_id = notify(fake_ports)
    [msg] = take(fake_ports)
    receiver = Receiver(clock)

    def ops_start_a_run_meanwhile(*args: Any) -> HttpResult:
        fake_ports.store.update(*webhook_keys.delivery_key(event_id), set={"fence": 2})
        return receiver(*args)

    assert delivery.handle_message(fake_ports, body_of(msg), send=ops_start_a_run_meanwhile) == "delivered"

    assert state_of(fake_ports, event_id) == "pending"  # the new run decides
    attempts = [e.status for e in webhook_log.delivery_log(fake_ports, "claim", "C1").items if e.run == 1]
    assert "sending" not in attempts and "delivered" in attempts


def test_a_concurrent_duplicate_is_refused_and_a_crashed_claim_is_taken_over(fake_ports, clock) -> None:
    add_channel(fake_ports)
    notify(fake_ports)
    [msg] = take(fake_ports)
    inner: list[str] = []
    posts: list[int] = []

    def slow_receiver(url: str, body: bytes, headers: Mapping[str, str], timeout: float) -> HttpResult:
        posts.append(1)
        # The same SQS message handled by another invocation while this POST is in flight.
        inner.append(delivery.handle_message(fake_ports, body_of(msg), send=slow_receiver))
        return HttpResult(200, 5)

    assert delivery.handle_message(fake_ports, body_of(msg), send=slow_receiver) == "delivered"
    assert inner == ["duplicate"] and len(posts) == 1

    # A crash mid-POST leaves the claim "sending"; SQS gives the message back later.
    event_id = notify(fake_ports, "C2")
    [msg2] = take(fake_ports)

    def crash(*_: Any) -> HttpResult:
        raise RuntimeError("Lambda died")

    with pytest.raises(RuntimeError):
        delivery.handle_message(fake_ports, body_of(msg2), send=crash)
    receiver = Receiver(clock)
    assert delivery.handle_message(fake_ports, body_of(msg2), send=receiver) == "duplicate"
    clock.advance(delivery.STALE_CLAIM_SECONDS + 1)
    assert delivery.handle_message(fake_ports, body_of(msg2), send=receiver) == "delivered"
    assert receiver.event_ids() == [event_id]


# ---------------------------------------------------------------- retries and the 24 h window


def test_a_failure_reenqueues_the_next_attempt_with_backoff_and_returns_normally(fake_ports, clock) -> None:
    add_channel(fake_ports)
    receiver = Receiver(clock, status=503)
    event_id = notify(fake_ports)
    [msg] = take(fake_ports)
    assert delivery.handle_message(fake_ports, body_of(msg), send=receiver) == "retrying"
    [nxt] = take(fake_ports)
    assert (nxt["attempt"], nxt["run"], nxt["window_start"]) == (2, 1, T0.timestamp())
    assert 30 <= nxt["_delay"] <= 33
    assert nxt["not_before"] - T0.timestamp() == pytest.approx(nxt["_delay"], abs=1)
    failed = [e for e in webhook_log.delivery_log(fake_ports, "claim", "C1").items if e.status == "failed"]
    assert [(e.attempt, e.status_code) for e in failed] == [(1, 503)]
    assert failed[0].next_attempt_at is not None
    assert state_of(fake_ports, event_id) == "pending"


def test_waits_longer_than_15_minutes_hop_until_due_without_posting(fake_ports, clock) -> None:
    add_channel(fake_ports)
    receiver = Receiver(clock, status=503)
    notify(fake_ports)
    [msg] = take(fake_ports)
    late = {**body_of(msg), "attempt": 9}
    assert delivery.handle_message(fake_ports, late, send=receiver) == "retrying"
    [nxt] = take(fake_ports)
    assert nxt["_delay"] == messages.SQS_MAX_DELAY_SECONDS  # SQS caps delays at 15 minutes
    assert nxt["not_before"] - clock().timestamp() >= 3600
    posts = len(receiver.posts)
    clock.advance(900)
    assert delivery.handle_message(fake_ports, body_of(nxt), send=receiver) == "waiting"
    [hop] = take(fake_ports)
    assert hop["attempt"] == 10 and hop["not_before"] == nxt["not_before"]
    assert 0 < hop["_delay"] <= 900
    assert len(receiver.posts) == posts


def test_failing_for_24_hours_ends_in_the_dlq_with_one_alert(fake_ports, clock, ops_chat) -> None:
    add_channel(fake_ports)
    receiver = Receiver(clock, status=503)
    event_id = notify(fake_ports)
    outcomes = pump(fake_ports, clock, receiver)

    assert outcomes[-1] == "dead"
    assert state_of(fake_ports, event_id) == "dead"
    attempts = [x["at"] for x in receiver.posts]
    window = timedelta(hours=24)
    assert attempts[0] - T0 < timedelta(seconds=1)
    assert attempts[-2] - T0 < window <= attempts[-1] - T0  # retried until the window was over
    assert 25 <= len(attempts) <= 40
    gaps = [(b - a).total_seconds() for a, b in itertools.pairwise(attempts)]
    assert gaps[0] >= 30 and max(gaps) <= 3600 * 1.1 + 1

    [dlq] = take(fake_ports, "webhook_dlq")
    assert dlq["event_id"] == event_id and dlq["reason"] == "HTTP 503"
    [alert] = take(fake_ports, "alert")
    assert event_id in alert["text"] and "dead letter" in alert["text"]
    assert alert["target"] is None  # the ops group, resolved when sending
    [dead] = dead_letters.listing(fake_ports).items
    assert (dead.event_id, dead.last_status_code, dead.attempts) == (event_id, 503, len(attempts))
    assert endpoints.status(fake_ports, "ch1").consecutive_failures == 1
    assert take(fake_ports) == []  # nothing left retrying


def test_the_window_is_configurable(fake_ports, clock, settings_env) -> None:
    settings_env(WEBHOOK_MAX_AGE_HOURS="2")
    add_channel(fake_ports)
    receiver = Receiver(clock, status=500)
    notify(fake_ports)
    assert pump(fake_ports, clock, receiver)[-1] == "dead"
    assert timedelta(hours=2) <= receiver.posts[-1]["at"] - T0 < timedelta(hours=3, minutes=10)


# ---------------------------------------------------------------- pause and resume


def test_pause_after_20_consecutive_dead_events_holds_new_ones_and_resume_sends_them(
    fake_ports, clock, ops_chat, settings_env
) -> None:
    settings_env(WEBHOOK_MAX_AGE_HOURS="0")  # every first failure is final
    add_channel(fake_ports)
    receiver = Receiver(clock, status=503)
    for i in range(endpoints.PAUSE_AFTER_CONSECUTIVE_FAILURES - 1):
        notify(fake_ports, f"C{i}")
    assert set(pump(fake_ports, clock, receiver)) == {"dead"}
    assert endpoints.status(fake_ports, "ch1").state == "active"

    notify(fake_ports, "C19")
    assert pump(fake_ports, clock, receiver) == ["dead"]
    status = endpoints.status(fake_ports, "ch1")
    assert (status.state, status.consecutive_failures, status.changed_by) == ("paused", 20, "system:webhooks")
    texts = [a["text"] for a in take(fake_ports, "alert")]
    assert sum("PAUSED" in t for t in texts) == 1
    assert sum("dead letter" in t for t in texts) == 1  # one per channel and hour, not twenty

    posts = len(receiver.posts)
    held_id = notify(fake_ports, "C-new", status="approved")
    assert pump(fake_ports, clock, receiver) == ["held"]
    assert len(receiver.posts) == posts
    assert state_of(fake_ports, held_id) == "held"

    receiver.status = 200
    clock.advance(3600)
    resumed = endpoints.resume(fake_ports, OPS, "ch1")
    assert (resumed.state, resumed.requeued, resumed.consecutive_failures) == ("active", 1, 0)
    assert pump(fake_ports, clock, receiver) == ["delivered"]
    assert receiver.event_ids()[-1] == held_id
    assert state_of(fake_ports, held_id) == "delivered"
    actions = [(r.action, r.actor) for r in audit.by_entity(fake_ports, "webhook_endpoint", "ch1")]
    assert ("resume", "ops:alice") in actions and ("pause", "system:webhooks") in actions
    statuses = [e.status for e in webhook_log.delivery_log(fake_ports, "claim", "C-new").items]
    assert statuses == ["delivered", "released", "held", "queued"]


def test_a_success_resets_the_consecutive_failure_count(fake_ports, clock, settings_env) -> None:
    settings_env(WEBHOOK_MAX_AGE_HOURS="0")
    add_channel(fake_ports)
    receiver = Receiver(clock, status=503)
    for i in range(3):
        notify(fake_ports, f"C{i}")
    pump(fake_ports, clock, receiver)
    assert endpoints.status(fake_ports, "ch1").consecutive_failures == 3
    receiver.status = 204
    notify(fake_ports, "C9")
    assert pump(fake_ports, clock, receiver) == ["delivered"]
    assert endpoints.status(fake_ports, "ch1").consecutive_failures == 0


def test_manual_pause_and_resume_follow_the_state_machine_and_are_audited(fake_ports, clock) -> None:
    add_channel(fake_ports)
    with pytest.raises(NotFound):
        endpoints.pause(fake_ports, OPS, "nope", "maintenance")
    with pytest.raises(IllegalTransition):
        endpoints.resume(fake_ports, OPS, "ch1")
    assert endpoints.pause(fake_ports, OPS, "ch1", "partner maintenance").state == "paused"
    with pytest.raises(IllegalTransition, match="already paused"):
        endpoints.pause(fake_ports, OPS, "ch1", "again")
    [rec] = audit.by_entity(fake_ports, "webhook_endpoint", "ch1")
    assert (rec.action, rec.actor, rec.reason) == ("pause", "ops:alice", "partner maintenance")


def test_a_resume_that_failed_half_way_can_be_retried(fake_ports, clock) -> None:
    add_channel(fake_ports)
    endpoints.pause(fake_ports, OPS, "ch1", "maintenance")
    held = notify(fake_ports)
    assert pump(fake_ports, clock, Receiver(clock)) == ["held"]
    # The endpoint went active, then the Lambda died before re-enqueuing the held events.
    fake_ports.store.update(*webhook_keys.endpoint_key("ch1"), set={"state": "active"})
    result = endpoints.resume(fake_ports, OPS, "ch1")
    assert (result.state, result.requeued) == ("active", 1)
    receiver = Receiver(clock)
    assert pump(fake_ports, clock, receiver) == ["delivered"]
    assert receiver.event_ids() == [held]
    with pytest.raises(IllegalTransition, match="not paused"):  # nothing left: refused again
        endpoints.resume(fake_ports, OPS, "ch1")


def test_an_event_held_just_after_resume_releases_itself(fake_ports, clock) -> None:
    add_channel(fake_ports)
    event_id = notify(fake_ports)
    [msg] = take(fake_ports)
    d = webhook_keys.load_delivery(fake_ports.store.get(*webhook_keys.delivery_key(event_id)))
    # The deliverer read "paused", then ops resumed and listed held events before this hold landed.
    delivery.hold(fake_ports, d, messages.DeliveryMessage.model_validate(body_of(msg)), clock())
    assert state_of(fake_ports, event_id) == "pending"
    [again] = take(fake_ports)
    assert again["run"] == 2 and again["attempt"] == 1
    assert pump_one(fake_ports, again, Receiver(clock)) == "delivered"


def pump_one(p: Ports, msg: dict[str, Any], send: Any) -> str:
    return delivery.handle_message(p, body_of(msg), send=send)


def test_resume_with_more_than_a_batch_continues_in_the_background(fake_ports, clock, monkeypatch) -> None:
    monkeypatch.setattr(requeue, "REQUEUE_BATCH", 3)
    add_channel(fake_ports)
    endpoints.pause(fake_ports, OPS, "ch1", "maintenance")
    ids = [notify(fake_ports, f"C{i}") for i in range(7)]
    receiver = Receiver(clock)
    assert pump(fake_ports, clock, receiver) == ["held"] * 7
    result = endpoints.resume(fake_ports, OPS, "ch1")
    assert (result.requeued, result.more) == (3, True)
    outcomes = pump(fake_ports, clock, receiver)
    assert outcomes.count("delivered") == 7
    assert sorted(receiver.event_ids()) == sorted(ids)


# ---------------------------------------------------------------- replay, redrive, skips


def test_replay_resends_a_delivered_event_once_and_is_audited(fake_ports, clock) -> None:
    add_channel(fake_ports)
    receiver = Receiver(clock)
    event_id = notify(fake_ports)
    [first] = take(fake_ports)
    clock.advance(1)
    assert pump_one(fake_ports, first, receiver) == "delivered"
    clock.advance(60)
    result = requeue.replay(fake_ports, OPS, event_id)
    assert (result.previous_state, result.state, result.run) == ("delivered", "pending", 2)
    [replay_msg] = take(fake_ports)
    clock.advance(1)
    assert (replay_msg["run"], replay_msg["attempt"]) == (2, 1)
    assert pump_one(fake_ports, replay_msg, receiver) == "delivered"
    assert pump_one(fake_ports, replay_msg, receiver) == "already delivered"
    assert pump_one(fake_ports, first, receiver) == "stale"  # a late copy of the first run
    assert receiver.event_ids() == [event_id, event_id]

    [rec] = audit.by_entity(fake_ports, "webhook_event", event_id)
    assert (rec.action, rec.actor) == ("replay", "ops:alice")
    assert rec.before == {"state": "delivered", "run": 1} and rec.after == {"state": "pending", "run": 2}
    log = webhook_log.delivery_log(fake_ports, "claim", "C1").items
    assert [(e.status, e.run) for e in log] == [("delivered", 2), ("replayed", 2), ("delivered", 1), ("queued", 1)]
    assert log[1].actor == "ops:alice"
    with pytest.raises(NotFound):
        requeue.replay(fake_ports, OPS, "evt_missing")


def test_redrive_sends_every_dead_letter_again_with_a_fresh_window(fake_ports, clock, settings_env) -> None:
    settings_env(WEBHOOK_MAX_AGE_HOURS="0")
    add_channel(fake_ports)
    receiver = Receiver(clock, status=502)
    ids = [notify(fake_ports, "C1", s) for s in ("submitted", "approved")]
    assert pump(fake_ports, clock, receiver) == ["dead", "dead"]
    assert {d.event_id for d in dead_letters.listing(fake_ports).items} == set(ids)

    receiver.status = 200
    clock.advance(86400 * 3)
    result = dead_letters.redrive(fake_ports, OPS)
    assert (result.requeued, set(result.event_ids), result.more) == (2, set(ids), False)
    assert dead_letters.listing(fake_ports).items == []
    assert pump(fake_ports, clock, receiver) == ["delivered", "delivered"]
    assert [state_of(fake_ports, i) for i in ids] == ["delivered", "delivered"]
    [rec] = audit.by_entity(fake_ports, "webhook_dead_letters", "all")
    assert rec.action == "redrive" and rec.after["requeued"] == 2


@pytest.mark.parametrize(
    ("state", "data", "reason"),
    [
        ("closed", {}, "channel is closed"),
        ("active", {"callback_url": ""}, "channel has no callback_url"),
        ("active", {channel_keys.WEBHOOK_SECRET: ""}, "channel has no webhook secret"),
    ],
)
def test_closed_or_unconfigured_channels_are_skipped_without_posting(fake_ports, clock, state, data, reason) -> None:
    add_channel(fake_ports, **data)
    fake_ports.store.update(*keys.channel("ch1"), set={"state": state})
    receiver = Receiver(clock)
    event_id = notify(fake_ports)
    assert pump(fake_ports, clock, receiver) == ["skipped"]
    assert receiver.posts == []
    assert state_of(fake_ports, event_id) == "skipped"
    [skipped] = [e for e in webhook_log.delivery_log(fake_ports, "claim", "C1").items if e.status == "skipped"]
    assert skipped.error == reason


# ---------------------------------------------------------------- the HTTP sender itself


def test_http_post_reports_timeouts_refusals_and_redirects_as_failures() -> None:
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(1)  # accepts the connection, never answers
    try:
        r = http_post(f"http://127.0.0.1:{silent.getsockname()[1]}/", b"{}", {}, 0.3)
        assert r.status is None and not r.ok and "timed out" in (r.error or "")
    finally:
        silent.close()

    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()
    refused = http_post(f"http://127.0.0.1:{port}/", b"{}", {}, 1.0)
    assert refused.status is None and not refused.ok

    class Redirect(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            return

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            self.send_response(302)
            self.send_header("Location", "http://127.0.0.1:1/elsewhere")
            self.send_header("Content-Length", "0")
            self.end_headers()

    server = ThreadingHTTPServer(("127.0.0.1", 0), Redirect)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        moved = http_post(f"http://127.0.0.1:{server.server_address[1]}/", b"{}", {}, 2.0)
        assert moved.status == 302 and not moved.ok
    finally:
        server.shutdown()
        server.server_close()
    assert not http_post("file:///etc/passwd", b"", {}, 1.0).ok
