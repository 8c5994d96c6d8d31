"""Webhooks end to end in-process: handlers, moto SQS/DynamoDB, the real sink on loopback.

The clock is simulated: the SQS delay cap is set to 0 so retried messages come back at once,
and their ``not_before`` makes them hop until the simulated clock reaches the backoff.
"""

from __future__ import annotations

import json
import threading
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError

from petcover import signing, tokens
from petcover.ports import Ports
from petcover.repositories import catalog as channel_keys
from petcover.repositories import partners as keys
from petcover.services import audit
from tests.support import events
from tests.support.clock import Clock

SECRET = "whsec-integration-0123456789"
REGION = "us-east-1"


@dataclass
class Cloud:
    names: dict[str, str]
    ports: Ports
    clock: Clock
    sink_url: str
    sink_log: Path
    sqs: Any

    def receiver(self, status: int) -> None:
        req = urllib.request.Request(
            f"{self.sink_url}/_sink/mode", data=json.dumps({"status": status}).encode(), method="POST"
        )
        with urllib.request.urlopen(req, timeout=5) as r:
            assert r.status == 200

    def received(self, path_prefix: str = "/hooks") -> list[dict[str, Any]]:
        if not self.sink_log.exists():
            return []
        rows = [json.loads(x) for x in self.sink_log.read_text().splitlines() if x.strip()]
        return [r for r in rows if r["path"].startswith(path_prefix)]

    def token(self, *roles: str) -> dict[str, str]:
        t = tokens.mint(secret="test-ops-secret", subject="alice", roles=list(roles), now=int(self.clock().timestamp()))
        return {"Authorization": f"Bearer {t}"}

    def messages(self, queue: str) -> list[dict[str, Any]]:
        out = self.sqs.receive_message(QueueUrl=self.names[queue], MaxNumberOfMessages=10).get("Messages", [])
        return list(out)

    def pump(
        self,
        queue: str,
        function: str,
        handler: Callable[..., dict[str, Any]],
        *,
        until: datetime | None = None,
        step: float = 900,
        max_rounds: int = 1000,
    ) -> int:
        """Feed the queue to the handler in SQS-shaped batches; stop when empty (or at ``until``)."""
        handled = 0
        for _ in range(max_rounds):
            if until is not None and self.clock() >= until:
                return handled
            batch = self.messages(queue)
            if not batch:
                if until is None:
                    return handled
                self.clock.advance(step)
                continue
            result = handler(events.sqs(function, [json.loads(m["Body"]) for m in batch]), None)
            assert result["batchItemFailures"] == []
            self.sqs.delete_message_batch(
                QueueUrl=self.names[queue],
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(batch)],
            )
            handled += len(batch)
            self.clock.advance(step)
        raise AssertionError(f"{queue} did not drain")


@pytest.fixture
def cloud(aws: dict[str, str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Cloud]:
    from infra import sink
    from petcover import runtime
    from petcover.config import reset_settings
    from petcover.services.webhooks import messages

    server = sink.serve(0, tmp_path / "sink.jsonl")
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    monkeypatch.setenv("OPS_CHAT_URL", f"{url}/chat/ops")
    reset_settings()
    monkeypatch.setattr(messages, "SQS_MAX_DELAY_SECONDS", 0)
    clock = Clock()
    p = runtime.aws_ports()
    p.clock = clock
    runtime.install(p)
    pk, sk = keys.channel("ch1")
    sealed = p.box().seal_secret(SECRET, channel_keys.webhook_secret_context("ch1"))
    data = {"id": "ch1", "callback_url": f"{url}/hooks/ch1", channel_keys.WEBHOOK_SECRET: sealed, "rate_limit": 50}
    p.store.put({"pk": pk, "sk": sk, "kind": "channel", "state": "active", "data": json.dumps(data)})
    try:
        yield Cloud(aws, p, clock, url, tmp_path / "sink.jsonl", boto3.client("sqs", region_name=REGION))
    finally:
        server.shutdown()
        server.server_close()


def notify(p: Ports, object_type: str, object_id: str, status: str) -> str:
    from petcover.services.webhooks import events as webhook_events

    return webhook_events.notify(
        p,
        channel_id="ch1",
        object_type=object_type,
        object_id=object_id,
        event_type=f"{object_type}.status_changed",
        payload={"status": status},
    )


def api(handler: Callable[..., dict[str, Any]], function: str, **kwargs: Any) -> tuple[int, Any]:
    resp = handler(events.api(function, **kwargs), None)
    return resp["statusCode"], json.loads(resp["body"])


def test_receiver_down_then_up_everything_delivered_and_the_newest_version_wins(cloud: Cloud) -> None:
    from webhooks import deliver, deliveries

    cloud.receiver(503)
    claim_ids = [notify(cloud.ports, "claim", "C1", s) for s in ("submitted", "assessing", "approved")]
    other = notify(cloud.ports, "fulfilment", "F1", "booked")
    start = cloud.clock()
    cloud.pump("WebhookQueue", "WebhookDeliverFunction", deliver.handler, until=start + timedelta(hours=3))
    down = cloud.received()
    assert down and all(r["answered"] == 503 for r in down)
    per_event = {json.loads(r["body"])["event_id"] for r in down}
    assert per_event == {*claim_ids, other}  # every event was tried while the receiver was down

    cloud.receiver(200)
    cloud.pump("WebhookQueue", "WebhookDeliverFunction", deliver.handler)

    ok = [r for r in cloud.received() if r["answered"] == 200]
    ok_ids = [json.loads(r["body"])["event_id"] for r in ok]
    assert sorted(ok_ids) == sorted([*claim_ids, other])  # each delivered exactly once
    for r in cloud.received():
        ts = int(r["headers"]["X-Pc-Timestamp"])
        assert signing.verify_webhook(SECRET, r["headers"], r["body"].encode(), now=ts)

    # A receiver that follows the version rule ends on the newest state, whatever the order.
    applied: dict[tuple[str, str], dict[str, Any]] = {}
    for r in ok:
        ev = json.loads(r["body"])
        key = (ev["object_type"], ev["object_id"])
        if key not in applied or ev["version"] > applied[key]["version"]:
            applied[key] = ev
    assert applied[("claim", "C1")]["version"] == 3
    assert applied[("claim", "C1")]["data"] == {"status": "approved"}
    assert applied[("claim", "C1")]["event_id"] == claim_ids[-1]
    assert applied[("fulfilment", "F1")]["version"] == 1

    status, log = api(
        deliveries.handler,
        "WebhookDeliveriesFunction",
        path_params={"ref": "claim", "objectId": "C1"},
        headers=cloud.token("service"),
        query={"limit": "200"},
    )
    assert status == 200
    by_status: dict[str, list[dict[str, Any]]] = {}
    for e in log["items"]:
        by_status.setdefault(e["status"], []).append(e)
    assert len(by_status["queued"]) == 3
    assert {e["event_id"] for e in by_status["delivered"]} == set(claim_ids)
    assert all(e["status_code"] == 200 and e["latency_ms"] >= 0 for e in by_status["delivered"])
    assert by_status["failed"] and all(e["status_code"] == 503 for e in by_status["failed"])
    assert max(e["attempt"] for e in by_status["failed"]) >= 4


def test_a_dead_lettered_event_alerts_ops_and_is_redriven(cloud: Cloud) -> None:
    from alerts import deliver as alert_deliver
    from webhooks import dead_letters, deliver, redrive

    cloud.receiver(503)
    event_id = notify(cloud.ports, "claim", "C7", "approved")
    start = cloud.clock()
    cloud.pump("WebhookQueue", "WebhookDeliverFunction", deliver.handler, until=start + timedelta(hours=26))
    assert cloud.messages("WebhookQueue") == []  # no more retries once dead

    [dlq] = cloud.messages("WebhookDLQ")
    assert json.loads(dlq["Body"])["event_id"] == event_id
    attempts = cloud.received()
    first, last = (
        datetime.fromtimestamp(int(r["headers"]["X-Pc-Timestamp"]), UTC) for r in (attempts[0], attempts[-1])
    )
    assert last - first >= timedelta(hours=24)

    # The ops alert: refused while the chat endpoint answers 503 (SQS will retry it) ...
    [alert] = cloud.messages("AlertQueue")
    assert event_id in json.loads(alert["Body"])["text"]
    # A batch whose every record failed makes the invocation fail (Powertools), so SQS retries it.
    with pytest.raises(BatchProcessingError, match="HTTP 503"):
        alert_deliver.handler(events.sqs("AlertDeliverFunction", [json.loads(alert["Body"])]), None)
    # ... and posted once it answers.
    cloud.receiver(200)
    cloud.sqs.change_message_visibility(
        QueueUrl=cloud.names["AlertQueue"], ReceiptHandle=alert["ReceiptHandle"], VisibilityTimeout=0
    )
    cloud.pump("AlertQueue", "AlertDeliverFunction", alert_deliver.handler)
    chat = [r for r in cloud.received("/chat/ops") if r["answered"] == 200]
    assert len(chat) == 1 and event_id in json.loads(chat[0]["body"])["text"]

    status, body = api(dead_letters.handler, "WebhookDeadLettersFunction", headers=cloud.token("ops"))
    assert status == 200
    assert [(d["event_id"], d["last_status_code"]) for d in body["items"]] == [(event_id, 503)]
    status, body = api(redrive.handler, "WebhookRedriveFunction", headers=cloud.token("finance"))
    assert status == 403 and body["error"]["code"] == "ROLE_REQUIRED"
    status, body = api(redrive.handler, "WebhookRedriveFunction")
    assert status == 401

    status, body = api(redrive.handler, "WebhookRedriveFunction", headers=cloud.token("ops"))
    assert status == 202 and body == {"requeued": 1, "event_ids": [event_id], "more": False}
    cloud.pump("WebhookQueue", "WebhookDeliverFunction", deliver.handler)
    ok = [r for r in cloud.received() if r["answered"] == 200]
    assert [json.loads(r["body"])["event_id"] for r in ok] == [event_id]
    _, body = api(dead_letters.handler, "WebhookDeadLettersFunction", headers=cloud.token("ops"))
    assert body["items"] == []
    [rec] = audit.by_entity(cloud.ports, "webhook_dead_letters", "all")
    assert (rec.action, rec.actor) == ("redrive", "ops:alice")


def test_pause_holds_resume_sends_and_replay_resends(cloud: Cloud) -> None:
    from webhooks import deliver, pause, replay, resume

    status, body = api(
        pause.handler,
        "WebhookPauseFunction",
        path_params={"channelId": "ch1"},
        body={"reason": "partner maintenance"},
        headers=cloud.token("ops"),
    )
    assert status == 200 and body["state"] == "paused" and body["changed_by"] == "ops:alice"
    status, body = api(
        pause.handler,
        "WebhookPauseFunction",
        path_params={"channelId": "ch1"},
        body={"reason": "again"},
        headers=cloud.token("ops"),
    )
    assert status == 409 and body["error"]["code"] == "ILLEGAL_TRANSITION"

    event_id = notify(cloud.ports, "claim", "C3", "approved")
    cloud.pump("WebhookQueue", "WebhookDeliverFunction", deliver.handler)
    assert cloud.received() == []  # held, not sent

    status, body = api(
        resume.handler, "WebhookResumeFunction", path_params={"channelId": "ch1"}, headers=cloud.token("service")
    )
    assert status == 200 and (body["state"], body["requeued"]) == ("active", 1)
    cloud.pump("WebhookQueue", "WebhookDeliverFunction", deliver.handler)
    assert [json.loads(r["body"])["event_id"] for r in cloud.received()] == [event_id]

    status, body = api(
        replay.handler, "WebhookReplayFunction", path_params={"ref": event_id}, headers=cloud.token("ops")
    )
    assert status == 202 and (body["previous_state"], body["run"]) == ("delivered", 3)
    cloud.pump("WebhookQueue", "WebhookDeliverFunction", deliver.handler)
    assert [json.loads(r["body"])["event_id"] for r in cloud.received()] == [event_id, event_id]
    status, body = api(
        replay.handler, "WebhookReplayFunction", path_params={"ref": "evt_nope"}, headers=cloud.token("ops")
    )
    assert status == 404 and body["error"]["code"] == "WEBHOOK_EVENT_NOT_FOUND"
    actions = [r.action for r in audit.by_entity(cloud.ports, "webhook_endpoint", "ch1")]
    assert sorted(actions) == ["pause", "resume"]
    assert [r.action for r in audit.by_entity(cloud.ports, "webhook_event", event_id)] == ["replay"]


def test_one_refused_alert_in_a_batch_is_reported_alone_for_retry(cloud: Cloud) -> None:
    import socket

    from alerts import deliver as alert_deliver
    from petcover.domain.chat import ChatTarget
    from petcover.services import alerts

    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    dead_port = closed.getsockname()[1]
    closed.close()
    nowhere = ChatTarget(kind="slack", url=f"http://127.0.0.1:{dead_port}/hook")
    assert alerts.raise_alert(cloud.ports, target=None, text="to ops", dedupe_key="a1")
    assert alerts.raise_alert(cloud.ports, target=nowhere, text="to nowhere", dedupe_key="a2")
    assert not alerts.raise_alert(cloud.ports, target=None, text="to ops again", dedupe_key="a1")
    batch = cloud.messages("AlertQueue")
    bodies = sorted((json.loads(m["Body"]) for m in batch), key=lambda b: b["text"] != "to ops")
    result = alert_deliver.handler(events.sqs("AlertDeliverFunction", bodies), None)
    assert result["batchItemFailures"] == [{"itemIdentifier": "m-1"}]
    chat = cloud.received("/chat/ops")
    assert [json.loads(r["body"]) for r in chat] == [{"text": "to ops"}]


def test_the_consumer_accepts_the_correlation_attribute_every_published_message_carries(cloud: Cloud) -> None:
    from webhooks import deliver

    notify(cloud.ports, "claim", "C1", "submitted")
    [msg] = cloud.messages("WebhookQueue")
    event = events.sqs("WebhookDeliverFunction", [json.loads(msg["Body"])])
    assert "correlation_id" in event["Records"][0]["messageAttributes"]  # as AwsPublisher sends it
    result = deliver.handler(event, None)
    assert result["batchItemFailures"] == []
