"""A function gets only the queues, bus, bucket and secrets template.yaml grants it: the runtime
builds adapters for those alone, and asking for anything else fails naming the variable."""

import json
import time

import pytest

from petcover import runtime, tokens
from petcover.config import QUEUES, NotConfigured, get_settings, reset_settings
from petcover.messaging import AwsPublisher
from tests.support import events

PER_FUNCTION = [
    "IDEMPOTENCY_TABLE",
    "EVENT_BUS",
    "DOCUMENT_BUCKET",
    "OPS_TOKEN_SECRET",
    "OPS_CHAT_URL",
    *(f"{q.upper()}_URL" if q.endswith("_dlq") else f"{q.upper()}_QUEUE_URL" for q in QUEUES),
]


class Recorder:
    def __init__(self):
        self.calls = []

    def send_message_batch(self, **kw):
        self.calls.append(kw)
        return {}

    def put_events(self, **kw):
        self.calls.append(kw)
        return {}


@pytest.fixture
def only(monkeypatch):
    """Run as a function given just these variables (plus what Globals give everyone)."""

    def given(**env: str) -> None:
        for var in PER_FUNCTION:
            monkeypatch.delenv(var, raising=False)
        for var, value in env.items():
            monkeypatch.setenv(var, value)
        monkeypatch.setenv("MAIN_TABLE", "main")
        reset_settings()
        runtime.install(None)

    yield given
    reset_settings()
    runtime.install(None)


def test_sending_to_a_queue_the_function_was_not_given_names_the_variable():
    sqs = Recorder()
    publisher = AwsPublisher(sqs, None, {"webhook": "https://sqs/webhook"}, "")
    with pytest.raises(NotConfigured, match="ALERT_QUEUE_URL is not set for this function"):
        publisher.send("alert", [{"text": "x"}])
    with pytest.raises(NotConfigured, match="EVENT_BUS is not set for this function"):
        publisher.emit("PolicyCancelled", [{"n": 1}])
    assert sqs.calls == []
    publisher.send("webhook", [{"id": 1}])
    assert [c["QueueUrl"] for c in sqs.calls] == ["https://sqs/webhook"]


def test_the_runtime_builds_only_what_the_function_was_given(only):
    only(WEBHOOK_QUEUE_URL="https://sqs/webhook")
    p = runtime.aws_ports()
    assert p.blobs is None
    assert p.publisher.queue_url("webhook") == "https://sqs/webhook"  # type: ignore[attr-defined]
    with pytest.raises(NotConfigured, match="DISPATCH_QUEUE_URL"):
        p.publisher.queue_url("dispatch")  # type: ignore[attr-defined]

    only(DOCUMENT_BUCKET="docs", EVENT_BUS="bus")
    p = runtime.aws_ports()
    assert p.blobs is not None
    with pytest.raises(NotConfigured, match="WEBHOOK_QUEUE_URL"):
        p.publisher.send("webhook", [{}])


def test_settings_granted_per_function_are_empty_until_given(only):
    only()
    s = get_settings()
    assert s.queue_urls() == {} and s.event_bus == "" and s.bucket == "" and s.ops_chat_url == ""
    with pytest.raises(NotConfigured, match="IDEMPOTENCY_TABLE"):
        s.idempotency_table  # noqa: B018
    with pytest.raises(NotConfigured, match="OPS_TOKEN_SECRET"):
        s.ops_token_secret  # noqa: B018
    only(IDEMPOTENCY_TABLE="idem", OPS_TOKEN_SECRET="s3cret", QUOTA_DLQ_URL="https://sqs/qdlq")
    s = get_settings()
    assert (s.idempotency_table, s.ops_token_secret.get_secret_value()) == ("idem", "s3cret")
    assert s.queue_urls() == {"quota_dlq": "https://sqs/qdlq"}


def test_an_ops_route_without_the_secret_refuses_every_token(only, fake_ports):
    """No well-known fallback secret: a function not given OPS_TOKEN_SECRET accepts no token."""
    from catalog import list_products

    only()
    runtime.install(fake_ports)
    token = tokens.mint("local-ops-secret-change-me", "mallory", ["admin"], now=int(time.time()))
    event = events.api("ListProductsFunction", headers={"Authorization": f"Bearer {token}"})
    response = list_products.handler(event)
    assert response["statusCode"] == 500
    assert "went wrong" in json.loads(response["body"])["error"]["message"]
